import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import { openFileSource } from '../node/index.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { RUST_MINIDUMP_CASES, readRustSnapshot, stackhogJson } from '../testing/rust-minidump-parity.js';
import { toJson } from './json.js';

const KEYS = ['adjusted_address', 'instruction', 'memory_accesses', 'instruction_pointer_update', 'possible_bit_flips', 'crash_inconsistencies'];

function pick(crashInfo: unknown): Record<string, unknown> {
  const c = crashInfo as Record<string, unknown>;
  return Object.fromEntries(KEYS.map((k) => [k, c[k]]));
}

for (const c of RUST_MINIDUMP_CASES) {
  test(`crash_info's instruction analysis of ${c.dump} is rust-minidump's (${c.snapshot})`, needsCorpus, async () => {
    const expected = pick((readRustSnapshot(c.snapshot) as { crash_info: unknown }).crash_info);
    assert.deepEqual(pick((await stackhogJson(c) as { crash_info: unknown }).crash_info), expected);
  });
}

test('the snapshots exercise what they should: a decoded write, a bit flip, and x86 left undecoded', needsCorpus, () => {
  const linux = pick((readRustSnapshot('linux_json_pretty') as { crash_info: unknown }).crash_info);
  assert.equal(linux.instruction, 'mov dword [0x45], 0x5');
  assert.equal((linux.possible_bit_flips as unknown[]).length, 1);
  assert.equal(pick((readRustSnapshot('json-pretty') as { crash_info: unknown }).crash_info).instruction, null);
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
