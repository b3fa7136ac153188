import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeCorpusDump, breakpadExpectations, compareWithBreakpad } from '../testing/breakpad-parity.js';

// Every corpus minidump Breakpad could walk: the crashing thread must agree frame for frame (address,
// way found, symbol and line) up to the last frame Breakpad found by context, CFI or frame pointer.
for (const [key, expected] of Object.entries(breakpadExpectations())) {
  test(`crashing thread matches Breakpad: ${key}`, async () => {
    const analysis = await analyzeCorpusDump(key);
    const result = compareWithBreakpad(analysis, expected);
    assert.deepEqual(result.mismatches, [], `${key}: ${result.mismatches.join('; ')}`);
  });
}
