/**
 * Bit-flip candidates for a crash address, scored as rust-minidump's processor scores them
 * (minidump-processor's `bitflip::try_bit_flips` and `PossibleBitFlip::calculate_heuristics`):
 * every address one flipped bit away that the memory map says the access could have touched.
 */
import type { BitFlipDetails, PossibleBitFlip } from './types.js';

/** A region of the memory map: Windows MemoryInfoList entries or Linux /proc/self/maps lines. */
export interface MappedRegion {
  readonly start: bigint;
  /** Inclusive, as rust-minidump's memory_range. */
  readonly end: bigint;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
}

/** The access the crash reason names; `undetermined` allows every region. */
export type MemoryOperation = 'read' | 'write' | 'execute' | 'undetermined';

/** Which bits to flip: the 48 canonical ones, the 16 non-canonical ones, or all 64 (other 64-bit CPUs). */
export type BitRange = 'amd64-canonical' | 'amd64-non-canonical' | 'all';

/** A memory map sorted by address. */
export class MemoryMapRegions {
  readonly regions: readonly MappedRegion[];
  constructor(regions: readonly MappedRegion[]) {
    this.regions = [...regions].filter((r) => r.end >= r.start).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }
  at(address: bigint): MappedRegion | undefined {
    let lo = 0;
    let hi = this.regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.regions[mid]!;
      if (address < r.start) hi = mid - 1;
      else if (address > r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }
}

export function possiblyAllowed(op: MemoryOperation, r: MappedRegion): boolean {
  return op === 'undetermined' || (op === 'read' ? r.readable : op === 'write' ? r.writable : r.executable);
}

/** Distance to registers counted as "nearby" a candidate, and the cut-off for "low" addresses. */
const NEARBY_REGISTER_DISTANCE = 1n << 12n;
const LOW_ADDRESS_CUTOFF = NEARBY_REGISTER_DISTANCE * 2n;

// Poison bytes (Mozilla's js/src/util/Poison.h, jemalloc's 0xa5 and 0xe5) that fill a register when memory was freed.
const POISON_BYTES = new Set([0x2b, 0x2d, 0x2f, 0x49, 0x4b, 0x4d, 0x4f, 0x6b, 0x8b, 0x9b, 0x9f, 0xa5, 0xbb, 0xcc, 0xcd, 0xce, 0xdb, 0xe5]);

const f32 = Math.fround;
const HIGH = f32(0.9);
const MEDIUM = f32(0.5);
const LOW = f32(0.25);
const NEARBY_REGISTER = [MEDIUM, f32(MEDIUM + f32(0.05)), f32(MEDIUM + f32(0.1)), f32(MEDIUM + f32(0.15))];

/** rust-minidump's confidence, in single precision: 1 − ∏(1 − v) over the heuristics that apply, halved by poison. */
export function bitFlipConfidence(d: BitFlipDetails): number {
  const values = [LOW];
  if (d.wasNonCanonical) values.push(HIGH);
  if (d.isNull) values.push(d.wasLow ? f32(MEDIUM * MEDIUM) : MEDIUM);
  if (d.nearbyRegisters > 0) values.push(NEARBY_REGISTER[Math.min(d.nearbyRegisters, NEARBY_REGISTER.length) - 1]!);
  let product = f32(1);
  for (const v of values) product = f32(product * f32(1 - v));
  let confidence = f32(1 - product);
  if (d.poisonRegisters) confidence = f32(confidence * MEDIUM);
  return confidence;
}

/** The shortest decimal that reads back as the same single-precision value (how serde_json prints an f32). */
export function shortestF32(value: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (f32(candidate) === value) return candidate;
  }
  return value;
}

function repeatedByte(v: bigint): boolean {
  return v === (v & 0xffn) * 0x0101010101010101n;
}

function details(candidate: bigint, original: bigint, nonCanonical: boolean, registers: readonly bigint[] | undefined): BitFlipDetails {
  const isNull = candidate === 0n;
  let nearbyRegisters = 0;
  let poisonRegisters = false;
  for (const value of registers ?? []) {
    // Low addresses would find nearby registers everywhere.
    if (candidate > LOW_ADDRESS_CUTOFF) {
      const distance = candidate > value ? candidate - value : value - candidate;
      if (distance <= NEARBY_REGISTER_DISTANCE) nearbyRegisters++;
    }
    if (!poisonRegisters && repeatedByte(value) && POISON_BYTES.has(Number(value & 0xffn))) poisonRegisters = true;
  }
  return { wasNonCanonical: nonCanonical, isNull, wasLow: isNull && original <= LOW_ADDRESS_CUTOFF, nearbyRegisters, poisonRegisters };
}

/** How far `address` is from the nearest region the operation could touch; undefined when there is none. */
function distanceToClosestMapping(address: bigint, op: MemoryOperation, map: MemoryMapRegions): bigint | undefined {
  let best: bigint | undefined;
  for (const r of map.regions) {
    if (!possiblyAllowed(op, r)) continue;
    const d = address < r.start ? r.start - address : address > r.end ? address - r.end : 0n;
    if (best === undefined || d < best) best = d;
  }
  return best;
}

export interface BitFlipQuery {
  readonly address: bigint;
  readonly sourceRegister: string | undefined;
  readonly range: BitRange;
  /** The crash context's register values (for the nearby and poison heuristics). */
  readonly registers: readonly bigint[] | undefined;
  readonly map: MemoryMapRegions;
  readonly operation: MemoryOperation;
  /** The size of the faulting access, when known: a fault within it of a mapping is an overrun, not a flip. */
  readonly accessSize: number | undefined;
}

/** Addresses one bit away from `address` that the map allows, null included; none when `address` itself is allowed. */
export function tryBitFlips(q: BitFlipQuery): PossibleBitFlip[] {
  const found: PossibleBitFlip[] = [];
  const here = q.map.at(q.address);
  if (here && possiblyAllowed(q.operation, here)) return found;
  const distance = distanceToClosestMapping(q.address, q.operation, q.map);
  if (distance !== undefined && q.accessSize !== undefined && distance < BigInt(q.accessSize)) return found;
  const [from, to] = q.range === 'amd64-canonical' ? [0, 48] : q.range === 'amd64-non-canonical' ? [48, 64] : [0, 64];
  const candidate = (address: bigint): PossibleBitFlip => {
    const d = details(address, q.address, q.range === 'amd64-non-canonical', q.registers);
    return { address, sourceRegister: q.sourceRegister, details: d, confidence: bitFlipConfidence(d) };
  };
  for (let bit = from; bit < to; bit++) {
    const flipped = q.address ^ (1n << BigInt(bit));
    // A flip to null is taken as the intended value (a null check gone the wrong way).
    if (flipped === 0n) found.push(candidate(flipped));
    const region = q.map.at(flipped);
    if (region && possiblyAllowed(q.operation, region)) found.push(candidate(flipped));
  }
  return found;
}
