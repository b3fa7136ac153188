import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeCorpusDump, breakpadExpectations, compareThread } from '../testing/breakpad-parity.js';
import { needsCorpus } from '../testing/corpus.js';

// Every corpus minidump Breakpad can walk: each thread must agree frame for frame (address, way
// found, symbol and line) up to the last frame Breakpad found by context, CFI or frame pointer.
// Frames found by scanning beyond that may differ (later issues improve on Breakpad there).
for (const [key, expected] of Object.entries(breakpadExpectations())) {
  test(`threads match Breakpad: ${key}`, needsCorpus, async () => {
    const analysis = await analyzeCorpusDump(key);
    assert.equal(analysis.crashingThreadIndex ?? null, expected.crashed, 'crashing thread');
    assert.equal(analysis.threads.length, expected.threads.length, 'thread count');
    expected.threads.forEach((frames, i) => {
      const result = compareThread(analysis.threads[i], frames);
      assert.deepEqual(result.mismatches, [], `${key} thread ${i}: ${result.mismatches.join('; ')}`);
    });
  });
}

test('scanning drops the stale pointers Breakpad takes for frames: driver + 0x1edd follows a jmp, not a call', needsCorpus, async () => {
  const expected = breakpadExpectations()['breakpad--linux_divide_by_zero']!;
  const breakpadIps = expected.threads[0]!.map((f) => f.ip);
  assert.ok(breakpadIps.includes('0x0000000000401edd'), 'Breakpad has the stale frame');
  const analysis = await analyzeCorpusDump('breakpad--linux_divide_by_zero');
  const ours = analysis.threads[0]!.frames.map((f) => f.ip);
  assert.ok(!ours.includes(0x401eddn));
  assert.ok(!ours.includes(0x401f2fn));
  assert.ok(ours.includes(0x401df4n), 'the call-preceded return addresses remain');
});
