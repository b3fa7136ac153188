import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findRecursion } from './recursion.js';

test('one function recursing', () => {
  const keys = ['top', ...Array(240).fill('f+0x10'), 'main', 'start'];
  assert.deepEqual(findRecursion(keys), [{ start: 1, length: 240, cycle: ['f+0x10'], repeats: 240 }]);
});

test('a cycle of several frames (drivers re-entering each other), with a partial last cycle', () => {
  const cycle = ['IofCallDriver', 'FltpDispatch', 'IofCallDriver', 'BabyHog', 'BossHog', 'BossHog01'];
  const keys = ['crash', ...cycle, ...cycle, ...cycle, 'IofCallDriver', 'FltpDispatch', 'user'];
  const found = findRecursion(keys);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.cycle, cycle);
  assert.equal(found[0]!.start, 1);
  assert.equal(found[0]!.length, 20);
  assert.equal(found[0]!.repeats, 3.33);
});

test('two repetitions are not recursion; distinct runs are reported separately', () => {
  assert.deepEqual(findRecursion(['a', 'b', 'a', 'b', 'c']), []);
  const keys = [...Array(5).fill('x'), 'y', 'z', ...Array(4).fill('w')];
  assert.deepEqual(
    findRecursion(keys).map((r) => [r.start, r.length, r.cycle.join()]),
    [
      [0, 5, 'x'],
      [7, 4, 'w'],
    ],
  );
});

test('a period of 1 is preferred to its multiples', () => {
  const found = findRecursion(Array(12).fill('r'));
  assert.deepEqual(found.map((r) => r.cycle), [['r']]);
});

test('a block re-entered further down, with other frames in between', async () => {
  const { findRepeatedBlock } = await import('./recursion.js');
  const hogs = ['nt!IofCallDriver', 'fltmgr!FltpDispatch', 'nt!IofCallDriver', 'BabyHog!HogFarm', 'nt!IofCallDriver', 'BossHog!Dispatch', 'nt!IofCallDriver', 'BossHog01!Dispatch'];
  const keys = ['top', ...hogs, 'nt!IoPageRead', 'Ntfs!NtfsRead', 'Ntfs!NtfsFsdRead', ...hogs, 'nt!NtClose', 'user'];
  const found = findRepeatedBlock(keys)!;
  assert.deepEqual(found.block, hogs);
  assert.deepEqual(found.starts, [1, 12]);
  assert.equal(findRepeatedBlock(['a', 'b', 'c', 'a', 'b', 'x']), undefined, 'blocks under four frames are noise');
});
