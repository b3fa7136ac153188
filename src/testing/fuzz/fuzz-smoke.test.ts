// The fuzzers' CI smoke: every target fuzzed briefly from a fixed seed (deterministic: a fixed
// number of executions; 10 s caps it on a slow machine), and every saved regression input, the
// malformed corpus and rust-minidump's invalid dumps replayed through their target. A target may
// only throw FormatError. What made a saved input slow is bounded as work (pages read, entries
// kept, bytes asked of the file), not timed; the workers' watchdog only catches hangs, well inside
// each test's timeout. `npm run fuzz` runs the long version, where a slow run is a finding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { analyzeMinidump } from '../../analyze/process.js';
import { loadFunctionTable } from '../../formats/pe/function-table.js';
import { PeImage } from '../../formats/pe/pe-image.js';
import { imageBytes } from '../../formats/pe/testing.js';
import { BufferSource } from '../../io/byte-source.js';
import { renderText } from '../../report/text.js';
import { corpusPath, hasCorpus, needsCorpus } from '../corpus.js';
import { CountingSource, countingImageBytes, type ReadCounts } from '../counting.js';
import { fuzz, regressionInputs, replay } from './runner.js';
import { isExpectedError, TARGET_NAMES, TARGETS, type TargetName } from './targets.js';

const SEED = 0x5eed;
/** About 7 s of executions each on a developer machine. */
const EXECS: Record<TargetName, number> = { minidump: 8000, 'kernel-dump': 3000, 'user-dump': 3000, 'breakpad-sym': 8000, pe: 12000, 'windbg-text': 5000, pdb: 2000 };
/** A run this long is a hang: the worker is ended (well inside the test's timeout, so none outlives it). */
const HANG_MS = 20_000;
const TIMEOUT = { timeout: 60_000 };

for (const target of TARGET_NAMES) {
  // A target whose seeds all come from the corpus has nothing to start from without it.
  const options = !hasCorpus() && TARGETS[target].seeds().length === 0 ? { ...needsCorpus, ...TIMEOUT } : TIMEOUT;
  test(`fuzz smoke: ${target}, seed ${SEED}, ${EXECS[target]} executions (10 s at most): nothing but FormatError, no hang`, options, async () => {
    const [result] = await fuzz({ targets: [target], seconds: 10, maxExecs: EXECS[target], seed: SEED, timeoutMs: HANG_MS, progressSeconds: 0 });
    assert.ok(result);
    assert.deepEqual(
      result.findings.map((f) => `${f.kind}: ${f.message}\n${f.stack}`),
      [],
    );
    // The seeds alone are more than a hundred runs for every target; fewer means the harness broke.
    assert.ok(result.execs >= 100, `only ${result.execs} executions`);
    assert.ok(result.features > 0, 'coverage feedback saw no code run');
  });
}

const saved = regressionInputs();
for (const target of TARGET_NAMES) {
  const inputs = saved.filter((r) => r.target === target);
  if (inputs.length === 0) continue;
  test(`fuzz regressions: ${inputs.length} saved ${target} input(s) replay with nothing but FormatError, no hang`, TIMEOUT, async () => {
    const outcomes = await replay(target, inputs, HANG_MS);
    const failed = outcomes.filter((o) => o.outcome !== 'ok').map((o) => `${o.name}: ${o.outcome}: ${o.message}\n${o.stack ?? ''}`);
    assert.deepEqual(failed, []);
  });
}

const PAGE = 0x1000;

// The saved pe inputs declare exception directories of up to 2^24 entries over a few KiB: they took
// 1.2-4 s when the table was read page by page to its declared end (up to 49 152 reads) and kept
// entry by entry (16 777 216 entries). Bounded, it reads at most the input's own pages and a short
// run of missing ones past them (function-table.ts stops after 16), and keeps no more entries.
const savedPe = saved.filter((r) => r.target === 'pe');
if (savedPe.length > 0) {
  test(`fuzz regressions: the ${savedPe.length} saved pe inputs load their exception directory with a few page reads, in both layouts`, TIMEOUT, async () => {
    for (const { name, bytes } of savedPe) {
      const pages = Math.ceil(bytes.length / PAGE) + 20;
      for (const layout of ['file', 'memory'] as const) {
        for (const entrySize of [12, 8] as const) {
          const counts: ReadCounts = { reads: 0, bytes: 0 };
          let image: PeImage;
          try {
            image = await PeImage.parse(countingImageBytes(imageBytes(bytes, layout, name), counts));
          } catch (e) {
            if (isExpectedError(e)) continue;
            throw e;
          }
          const before = counts.reads;
          const table = await loadFunctionTable(image, entrySize);
          const what = `${name} (${layout}, ${entrySize}-byte entries)`;
          assert.ok(counts.reads - before <= pages, `${what}: ${counts.reads - before} reads of the table`);
          if (table !== 'unreadable') assert.ok(table.count * entrySize <= pages * PAGE, `${what}: ${table.count} entries kept`);
        }
      }
    }
  });
}

test('fuzz regressions: the malformed corpus and rust-minidump\'s invalid dumps give FormatError or an analysis, reading each file at most twice over', { ...needsCorpus, ...TIMEOUT }, async () => {
  const files = [
    ...readdirSync(corpusPath('malformed')).map((n) => corpusPath('malformed', n)),
    ...readdirSync(corpusPath('rust-minidump'))
      .filter((n) => n.startsWith('invalid-') && n.endsWith('.dmp'))
      .map((n) => corpusPath('rust-minidump', n)),
  ];
  assert.ok(files.length >= 7, `corpus files: ${files.join(', ')}`);
  const inputs = files.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(f)) }));
  const outcomes = await replay('minidump', inputs, HANG_MS);
  assert.deepEqual(
    outcomes.filter((o) => o.outcome !== 'ok').map((o) => `${o.name}: ${o.outcome}: ${o.message}`),
    [],
  );
  // None hangs; now the work, in this process: the bytes the analysis asks of each file.
  for (const { name, bytes } of inputs) {
    const bound = 2 * bytes.length + PAGE;
    const source = new CountingSource(new BufferSource(bytes, name), bound);
    try {
      renderText(await analyzeMinidump(source));
    } catch (e) {
      if (!isExpectedError(e)) throw e;
    }
    assert.ok(source.counts.bytes <= bound, `${name}: ${source.counts.reads} reads asked for ${source.counts.bytes} bytes of ${bytes.length}`);
  }
});
