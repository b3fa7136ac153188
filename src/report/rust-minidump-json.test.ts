import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsCorpus } from '../testing/corpus.js';
import { RUST_MINIDUMP_CASES, compareWithRustMinidump, readRustSnapshot, stackhogJson } from '../testing/rust-minidump-parity.js';

// rust-minidump's own JSON for four dumps: every key it writes is in ours, at the same path, with
// the same value (frames up to each thread's first scanned one).
for (const c of RUST_MINIDUMP_CASES) {
  test(`JSON equals rust-minidump's on every key: ${c.snapshot} (${c.dump})`, needsCorpus, async () => {
    const differences = compareWithRustMinidump(readRustSnapshot(c.snapshot), await stackhogJson(c));
    assert.deepEqual(differences, []);
  });
}

test('the comparison catches a missing key, a changed value and a changed frame before the first scan', () => {
  const theirs = {
    a: null,
    t: [{ frame_count: 2, frames: [{ trust: 'context', x: 1 }, { trust: 'cfi', x: 2 }] }],
  };
  assert.deepEqual(compareWithRustMinidump(theirs, theirs), []);
  const ours = { t: [{ frame_count: 3, frames: [{ trust: 'context', x: 1 }, { trust: 'cfi', x: 3 }] }] };
  assert.deepEqual(compareWithRustMinidump(theirs, ours), [
    '$.a: missing (rust-minidump null)',
    '$.t[0].frame_count: ours 3, rust-minidump 2',
    '$.t[0].frames[1].x: ours 3, rust-minidump 2',
  ]);
});

test('past the first scanned frame, frames and frame_count may differ; the scanned frame itself may not', () => {
  const theirs = { frame_count: 3, frames: [{ trust: 'context' }, { trust: 'scan', x: 1 }, { trust: 'scan', x: 2 }] };
  assert.deepEqual(compareWithRustMinidump(theirs, { frame_count: 2, frames: [{ trust: 'context' }, { trust: 'scan', x: 1 }] }), []);
  assert.equal(compareWithRustMinidump(theirs, { frame_count: 3, frames: [{ trust: 'context' }, { trust: 'scan', x: 9 }] }).length, 1);
});
