import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoPath } from '../../testing/corpus.js';
import { listingKind } from './listing.js';

const read = (name: string): string => readFileSync(repoPath('test-data', 'windbg', name), 'utf8');

test('listingKind: the blog captures by their commands, headers or rows', () => {
  assert.equal(listingKind(read('blog-dps.txt')), 'dps');
  assert.equal(listingKind(read('blog-dps-2.txt')), 'dps');
  assert.equal(listingKind(read('blog-lm.txt')), 'lm');
  // No prompt, no header: kf rows with the Memory column.
  assert.equal(listingKind(read('blog-kf.txt')), 'k');
});

test('listingKind: a k header, an lm list without its header, bare dps lines', () => {
  assert.equal(listingKind(' # ChildEBP RetAddr\n00 0012f8e4 7c90e9ab ntdll!KiFastSystemCallRet\n'), 'k');
  assert.equal(listingKind('0:000> kn\n00 0012f8e4 7c90e9ab ntdll!KiFastSystemCallRet\n'), 'k');
  assert.equal(listingKind('80800000 80a5b000   nt         (pdb symbols)\nf7a29000 f7a48000   fltmgr     (deferred)\n'), 'lm');
  assert.equal(listingKind('b8ae6000  80a5b000 hal!HalpClockInterrupt+0x10\nb8ae6004  00000000\n'), 'dps');
  assert.equal(listingKind(''), 'dps');
});
