import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../io/byte-source.js';
import { SnapshotMemory } from './memory.js';

// File bytes 0..31 hold the values 0..31; three regions map parts of them into memory.
const file = new BufferSource(Uint8Array.from({ length: 32 }, (_, i) => i), 'mem.bin');
const memory = new SnapshotMemory(file, [
  { base: 0x1000n, size: 8, fileOffset: 0 },
  { base: 0x1008n, size: 8, fileOffset: 8 },
  { base: 0x2000n, size: 8, fileOffset: 16 },
]);

test('read joins adjacent regions', async () => {
  assert.deepEqual(await memory.read(0x1006n, 4), Uint8Array.from([6, 7, 8, 9]));
});

test('read fails across a gap or outside captured memory', async () => {
  assert.equal(await memory.read(0x100en, 4), undefined);
  assert.equal(await memory.read(0x3000n, 1), undefined);
});

test('loadRange joins adjacent regions and stops at the first gap', async () => {
  const block = await memory.loadRange(0x1004n, 0x100);
  assert.equal(block?.base, 0x1004n);
  assert.equal(block?.bytes.length, 12);
  assert.equal(block?.u32(0x1008n), 0x0b0a0908);
  assert.equal(await memory.loadRange(0x1800n, 16), undefined);
});
