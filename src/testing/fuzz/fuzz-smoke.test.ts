// The fuzzers' CI smoke: every target fuzzed briefly from a fixed seed (deterministic: a fixed
// number of executions; 10 s caps it on a slow machine), and every saved regression input, the
// malformed corpus and rust-minidump's invalid dumps replayed through their target. A target may
// only throw FormatError, and within the time limit. `npm run fuzz` runs the long version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { corpusPath } from '../corpus.js';
import { DEFAULT_TIMEOUT_MS, fuzz, regressionInputs, replay } from './runner.js';
import { TARGET_NAMES, type TargetName } from './targets.js';

const SEED = 0x5eed;
/** About 7 s of executions each on a developer machine. */
const EXECS: Record<TargetName, number> = { minidump: 8000, 'breakpad-sym': 8000, pe: 12000, 'windbg-text': 5000 };
/** A regression input was a hang or a slow run: replayed, it must take well under the fuzzing limit. */
const REPLAY_LIMIT_MS = DEFAULT_TIMEOUT_MS / 2;

for (const target of TARGET_NAMES) {
  test(`fuzz smoke: ${target}, seed ${SEED}, ${EXECS[target]} executions (10 s at most): nothing but FormatError, no run over ${DEFAULT_TIMEOUT_MS} ms`, async () => {
    const [result] = await fuzz({ targets: [target], seconds: 10, maxExecs: EXECS[target], seed: SEED, progressSeconds: 0 });
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
  test(`fuzz regressions: ${inputs.length} saved ${target} input(s) replay with nothing but FormatError, each under ${REPLAY_LIMIT_MS} ms`, async () => {
    const outcomes = await replay(target, inputs, REPLAY_LIMIT_MS);
    const failed = outcomes.filter((o) => o.outcome !== 'ok').map((o) => `${o.name}: ${o.outcome}: ${o.message}\n${o.stack ?? ''}`);
    assert.deepEqual(failed, []);
  });
}

test('fuzz regressions: the malformed corpus and rust-minidump\'s invalid dumps give FormatError or an analysis, each under a second', async () => {
  const files = [
    ...readdirSync(corpusPath('malformed')).map((n) => corpusPath('malformed', n)),
    ...readdirSync(corpusPath('rust-minidump'))
      .filter((n) => n.startsWith('invalid-') && n.endsWith('.dmp'))
      .map((n) => corpusPath('rust-minidump', n)),
  ];
  assert.ok(files.length >= 7, `corpus files: ${files.join(', ')}`);
  const outcomes = await replay(
    'minidump',
    files.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(f)) })),
    1000,
  );
  assert.deepEqual(
    outcomes.filter((o) => o.outcome !== 'ok').map((o) => `${o.name}: ${o.outcome}: ${o.message}`),
    [],
  );
});
