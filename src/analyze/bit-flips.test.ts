import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bitFlipConfidence, MemoryMapRegions, shortestF32, tryBitFlips, type BitFlipQuery, type MappedRegion } from './bit-flips.js';
import type { BitFlipDetails } from './types.js';

const rw = (start: bigint, size: bigint): MappedRegion => ({ start, end: start + size - 1n, readable: true, writable: true, executable: false });
const none: BitFlipDetails = { wasNonCanonical: false, isNull: false, wasLow: false, nearbyRegisters: 0, poisonRegisters: false };
const score = (d: Partial<BitFlipDetails>): number => shortestF32(bitFlipConfidence({ ...none, ...d }));

test("confidence is rust-minidump's, in single precision, printed as serde_json prints an f32", () => {
  assert.equal(score({}), 0.25);
  // 1 − 0.75 × (1 − 0.9f32) rounds to 0.92499995 in single precision, and serde_json prints exactly that.
  assert.equal(score({ wasNonCanonical: true }), 0.92499995);
  assert.equal(score({ isNull: true }), 0.625);
  assert.equal(score({ isNull: true, wasLow: true }), 0.4375);
  assert.equal(score({ nearbyRegisters: 1 }), 0.625);
  assert.equal(score({ nearbyRegisters: 2 }), 0.6625);
  assert.equal(score({ nearbyRegisters: 3 }), 0.70000005);
  assert.equal(score({ nearbyRegisters: 9 }), 0.73749995, 'four or more count as four');
  assert.equal(score({ poisonRegisters: true }), 0.125);
  assert.equal(score({ wasNonCanonical: true, nearbyRegisters: 1 }), 0.9625);
});

const query = (q: Partial<BitFlipQuery> & Pick<BitFlipQuery, 'address' | 'map'>): BitFlipQuery => ({
  sourceRegister: undefined,
  range: 'amd64-canonical',
  registers: [],
  operation: 'undetermined',
  accessSize: undefined,
  ...q,
});

test("rust-minidump's test_bit_flip: 0x80400 is one bit from the 8-byte region at 0x80000", () => {
  const map = new MemoryMapRegions([{ start: 0x80000n, end: 0x80007n, readable: false, writable: false, executable: false }]);
  const flips = tryBitFlips(query({ address: 0x80400n, map, registers: Array(17).fill(0n) }));
  assert.deepEqual(
    flips.map((f) => [f.address, f.details]),
    [[0x80000n, none]],
  );
});

test('an address the operation may touch is no bit flip; nor is one within the access size of a mapping', () => {
  const map = new MemoryMapRegions([rw(0x80000n, 0x10000n)]);
  assert.deepEqual(tryBitFlips(query({ address: 0x80010n, map })), []);
  // rust-minidump's test_no_bit_flip_obvious_off_by_one: 2 bytes past the end, an 8-byte access.
  assert.deepEqual(tryBitFlips(query({ address: 0x90001n, map, operation: 'read', accessSize: 8 })), []);
  assert.equal(tryBitFlips(query({ address: 0x90001n, map, operation: 'read', accessSize: 1 })).length, 1, 'a 1-byte access 2 bytes out may be a flip');
});

test('the operation chooses the regions: a write cannot have meant a read-only page', () => {
  const map = new MemoryMapRegions([{ start: 0x400000n, end: 0x400fffn, readable: true, writable: false, executable: true }]);
  assert.equal(tryBitFlips(query({ address: 0x400045n ^ (1n << 30n), map, operation: 'read' })).length, 1);
  assert.deepEqual(tryBitFlips(query({ address: 0x400045n ^ (1n << 30n), map, operation: 'write' })), []);
});

test('a flip to null is always a candidate, low originals lower its confidence', () => {
  const map = new MemoryMapRegions([]);
  const low = tryBitFlips(query({ address: 0x1000n, map }));
  assert.deepEqual(low.map((f) => [f.address, f.details.isNull, f.details.wasLow, shortestF32(f.confidence)]), [[0n, true, true, 0.4375]]);
  const high = tryBitFlips(query({ address: 1n << 40n, map }));
  assert.deepEqual(high.map((f) => [f.address, f.details.wasLow, shortestF32(f.confidence)]), [[0n, false, 0.625]]);
  assert.deepEqual(tryBitFlips(query({ address: 1n << 50n, map })), [], 'bit 50 is outside the canonical range');
  assert.equal(tryBitFlips(query({ address: 1n << 50n, map, range: 'all' })).length, 1);
});

test('nearby registers (within 4 KiB, for addresses above 8 KiB) and poison patterns', () => {
  const map = new MemoryMapRegions([rw(0x7f0000000000n, 0x10000n)]);
  const address = 0x7f0000001000n | (1n << 20n);
  const [flip] = tryBitFlips(query({ address, map, registers: [0x7f0000000800n, 0x7f0000001fffn, 0x7f0000003000n, 0xe5e5e5e5e5e5e5e5n], sourceRegister: 'rax' }));
  assert.ok(flip);
  assert.equal(flip.address, 0x7f0000001000n);
  assert.equal(flip.sourceRegister, 'rax');
  assert.equal(flip.details.nearbyRegisters, 2);
  assert.equal(flip.details.poisonRegisters, true);
  assert.equal(shortestF32(flip.confidence), 0.33125);
});

test('non-canonical flips search the top 16 bits only', () => {
  const map = new MemoryMapRegions([rw(0x7ff700000000n, 0x1000n)]);
  const flips = tryBitFlips(query({ address: 0x7ff700000000n | (1n << 60n), map, range: 'amd64-non-canonical' }));
  assert.deepEqual(flips.map((f) => [f.address, f.details.wasNonCanonical, shortestF32(f.confidence)]), [[0x7ff700000000n, true, 0.92499995]]);
});
