import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import { openFileSource, FileDirectories } from '../node/index.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { toJson } from './json.js';

const KEYS = ['adjusted_address', 'instruction', 'memory_accesses', 'instruction_pointer_update', 'possible_bit_flips', 'crash_inconsistencies'];

/** An insta snapshot's document: the JSON after its second `---` line. */
function snapshot(name: string): Record<string, unknown> {
  const text = readFileSync(corpusPath('external', 'expected', 'rust-minidump-snapshots', name), 'utf8');
  const lines = text.split('\n');
  const second = lines.reduce<number[]>((at, line, i) => (line === '---' ? [...at, i] : at), [])[1];
  assert.ok(second !== undefined, `${name}: two --- lines`);
  return JSON.parse(lines.slice(second + 1).join('\n')) as Record<string, unknown>;
}

function pick(crashInfo: unknown): Record<string, unknown> {
  const c = crashInfo as Record<string, unknown>;
  return Object.fromEntries(KEYS.map((k) => [k, c[k]]));
}

async function crashInfo(dump: string, symbols?: string): Promise<Record<string, unknown>> {
  const file = await openFileSource(corpusPath('rust-minidump', dump));
  const dirs = symbols ? new FileDirectories([symbols]) : undefined;
  try {
    const analysis = await analyze(file.source, dirs ? { symbols: new SymbolStoreProvider(dirs.openers) } : {});
    return pick((toJson(analysis) as { crash_info: unknown }).crash_info);
  } finally {
    await file.close();
  }
}

const cases: [snap: string, dump: string, symbols: boolean][] = [
  ['test_minidump_stackwalk__json-pretty.snap', 'test.dmp', false],
  ['test_minidump_stackwalk__json-pretty-symbols.snap', 'test.dmp', true],
  ['test_minidump_stackwalk__linux_json_pretty.snap', 'linux-mini.dmp', false],
  ['test_minidump_stackwalk__macos_inlines_json_pretty.snap', 'pipeline-inlines-macos-segv.dmp', true],
];

for (const [snap, dump, symbols] of cases) {
  test(`crash_info's instruction analysis of ${dump} is rust-minidump's (${snap})`, needsCorpus, async () => {
    const expected = pick((snapshot(snap) as { crash_info: unknown }).crash_info);
    assert.deepEqual(await crashInfo(dump, symbols ? corpusPath('rust-minidump', 'symbols') : undefined), expected);
  });
}

test('the snapshots exercise what they should: a decoded write, a bit flip, and x86 left undecoded', needsCorpus, () => {
  const linux = pick((snapshot('test_minidump_stackwalk__linux_json_pretty.snap') as { crash_info: unknown }).crash_info);
  assert.equal(linux.instruction, 'mov dword [0x45], 0x5');
  assert.equal((linux.possible_bit_flips as unknown[]).length, 1);
  assert.equal(pick((snapshot('test_minidump_stackwalk__json-pretty.snap') as { crash_info: unknown }).crash_info).instruction, null);
});

test('no exception: every key is null', needsCorpus, async () => {
  const file = await openFileSource(corpusPath('breakpad', 'tiny-exe-with-cet-xsave.dmp'));
  try {
    const json = toJson(await analyze(file.source)) as { crash_info: unknown };
    assert.deepEqual(pick(json.crash_info), Object.fromEntries(KEYS.map((k) => [k, null])));
  } finally {
    await file.close();
  }
});
