import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from './byte-source.js';
import { ReadProgressSource } from './read-progress.js';

test('progress: the running total of bytes returned, told once per step crossed', async () => {
  const told: number[] = [];
  const source = new ReadProgressSource(new BufferSource(new Uint8Array(1000), 'x.dmp'), (n) => told.push(n), 100);
  assert.equal(source.name, 'x.dmp');
  assert.equal(source.size, 1000);
  for (let i = 0; i < 9; i++) await source.read(i * 30, 30);
  assert.deepEqual(told, [120, 210]);
  assert.equal((await source.read(270, 500)).length, 500);
  assert.deepEqual(told, [120, 210, 770], 'one call for a read that crosses several steps');
  assert.equal((await source.read(990, 100)).length, 10, 'a short read at the end counts what it returned');
  assert.equal(source.bytesRead, 780);
});
