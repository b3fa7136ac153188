import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { repoPath } from '../testing/corpus.js';
import { analyzeMinidump } from './process.js';

async function overflow(options: { timeoutMs?: number; maxStackBytes?: number }): ReturnType<typeof analyzeMinidump> {
  const file = await openFileSource(repoPath('test-data', 'fixtures', 'overflow.dmp'));
  const dirs = new FileDirectories([repoPath('test-data', 'fixtures')]);
  try {
    return await analyzeMinidump(file.source, { images: dirs.openers, ...options });
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

test('a spent time budget stops the walks and says so; the rest of the report is still there', async () => {
  const a = await overflow({ timeoutMs: 0 });
  const crashed = a.threads[a.crashingThreadIndex!]!;
  assert.ok(crashed.frames.length < 1810, `${crashed.frames.length} frames`);
  assert.equal(crashed.stoppedBy, 'time');
  assert.match(a.limits[0]!, /^time budget of 0 ms ran out/);
  assert.equal(a.crash?.reason, 'EXCEPTION_STACK_OVERFLOW');
});

test('--max-stack-bytes keeps the innermost part of each stack, and says so for every stack it cut', async () => {
  const a = await overflow({ maxStackBytes: 0x10000 });
  const crashed = a.threads[a.crashingThreadIndex!]!;
  assert.equal(crashed.stackMemory!.size, 0x10000);
  // 0x10000 bytes hold about 0x10000 / 0x240 frames of the recursion.
  assert.ok(crashed.frames.length > 100 && crashed.frames.length < 0x10000 / 0x240 + 3, `${crashed.frames.length} frames`);
  // Both threads' stacks are larger than the cap: each cut is a limit hit (the CLI exits 4).
  assert.deepEqual(a.limits, [
    'thread 0x104: only the innermost 65536 of 1043344 stack bytes were loaded and searched (the stack byte limit)',
    'thread 0x108: only the innermost 65536 of 1040384 stack bytes were loaded and searched (the stack byte limit)',
  ]);
});
