import type { ByteSource } from '../io/byte-source.js';
import { readExact } from '../io/byte-source.js';
import { concatBytes } from '../io/bytes.js';

/** A range of the process's memory captured in the dump, and where its bytes are in the file. */
export interface MemoryRegion {
  readonly base: bigint;
  readonly size: number;
  readonly fileOffset: number;
}

/** A loaded copy of a region: synchronous reads for walkers and expression evaluators. */
export class MemoryBlock {
  readonly base: bigint;
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(base: bigint, bytes: Uint8Array) {
    this.base = base;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get end(): bigint {
    return this.base + BigInt(this.bytes.length);
  }

  contains(address: bigint, length = 1): boolean {
    return address >= this.base && address + BigInt(length) <= this.end;
  }

  u32(address: bigint): number | undefined {
    if (!this.contains(address, 4)) return undefined;
    return this.view.getUint32(Number(address - this.base), true);
  }

  u64(address: bigint): bigint | undefined {
    if (!this.contains(address, 8)) return undefined;
    return this.view.getBigUint64(Number(address - this.base), true);
  }

  word(address: bigint, width: 4 | 8): bigint | undefined {
    if (width === 8) return this.u64(address);
    const v = this.u32(address);
    return v === undefined ? undefined : BigInt(v);
  }
}

/**
 * A snapshot's memory as walkers and analyses see it, whatever the format stores: a minidump's
 * captured ranges, or a kernel dump's physical pages behind page tables.
 */
export interface DumpMemory {
  /** Ranges known to be captured, by address (for probes that look for images); may be partial. */
  readonly regions: readonly { readonly base: bigint; readonly size: number }[];
  /** Bytes at an address when all of them are present; undefined otherwise. */
  read(address: bigint, length: number): Promise<Uint8Array | undefined>;
  /** As `read`, for a few bytes nothing will read near again: no cache is filled for them. */
  probe?(address: bigint, length: number): Promise<Uint8Array | undefined>;
  /** The present memory from `base` onward, at most `size` bytes, as one block that stops at the first gap. */
  loadRange(base: bigint, size: number): Promise<MemoryBlock | undefined>;
  /** A thread's stack: from its own file location when it has one, else by address. */
  loadStack(stack: { readonly base: bigint; readonly size: number; readonly fileOffset: number | undefined }): Promise<MemoryBlock | undefined>;
}

/**
 * The range of a list sorted by base that contains an address, by binary search; a few ranges back
 * are checked too, for lists with overlapping ranges (some writers emit them).
 */
export function findRegion<R extends { readonly base: bigint; readonly size: number }>(regions: readonly R[], address: bigint): R | undefined {
  let lo = 0;
  let hi = regions.length - 1;
  let best: R | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = regions[mid]!;
    if (r.base <= address) {
      best = r;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best && address < best.base + BigInt(best.size)) return best;
  for (let i = Math.max(0, lo - 8); i < Math.min(regions.length, lo + 1); i++) {
    const r = regions[i]!;
    if (r.base <= address && address < r.base + BigInt(r.size)) return r;
  }
  return undefined;
}

/** Largest single region loaded at once; bigger ones are read in part. */
const MAX_BLOCK = 64 * 1024 * 1024;

/** All captured memory of a snapshot, sorted by address, read from the file on demand. */
export class SnapshotMemory implements DumpMemory {
  readonly regions: readonly MemoryRegion[];
  private readonly source: ByteSource;

  constructor(source: ByteSource, regions: MemoryRegion[]) {
    this.source = source;
    this.regions = [...regions].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  }

  /** The region containing an address, by binary search. */
  find(address: bigint): MemoryRegion | undefined {
    return findRegion(this.regions, address);
  }

  /** Loads a region (or the first MAX_BLOCK bytes of it) as a block. */
  async load(region: MemoryRegion): Promise<MemoryBlock> {
    const size = Math.min(region.size, MAX_BLOCK, Math.max(0, this.source.size - region.fileOffset));
    const bytes = await readExact(this.source, region.fileOffset, size, `memory at 0x${region.base.toString(16)}`);
    return new MemoryBlock(region.base, bytes);
  }

  /** A thread's stack: from its own descriptor in the file, or else found by address in the captured memory. */
  async loadStack(stack: { readonly base: bigint; readonly size: number; readonly fileOffset: number | undefined }): Promise<MemoryBlock | undefined> {
    if (stack.fileOffset !== undefined) return this.load({ base: stack.base, size: stack.size, fileOffset: stack.fileOffset });
    return this.loadRange(stack.base, stack.size);
  }

  /**
   * Loads the captured memory from `base` onward, at most `size` bytes, as one block: adjacent
   * regions are joined, and the block stops at the first gap. Undefined when `base` is not captured.
   */
  async loadRange(base: bigint, size: number): Promise<MemoryBlock | undefined> {
    let end = base;
    const limit = base + BigInt(Math.min(size, MAX_BLOCK));
    while (end < limit) {
      const region = this.find(end);
      if (!region) break;
      end = region.base + BigInt(region.size);
    }
    if (end > limit) end = limit;
    if (end <= base) return undefined;
    const bytes = await this.read(base, Number(end - base));
    return bytes ? new MemoryBlock(base, bytes) : undefined;
  }

  async probe(address: bigint, length: number): Promise<Uint8Array | undefined> {
    const region = this.find(address);
    if (!region || !this.source.readUncached || length <= 0) return this.read(address, length);
    const offset = Number(address - region.base);
    if (offset + length > region.size) return this.read(address, length);
    if (region.fileOffset + offset + length > this.source.size) return undefined;
    const bytes = await this.source.readUncached(region.fileOffset + offset, length);
    return bytes.length === length ? bytes : undefined;
  }

  /**
   * Reads bytes at an address when captured memory holds all of them, across adjacent regions
   * (some writers split memory into thousands of small ranges).
   */
  async read(address: bigint, length: number): Promise<Uint8Array | undefined> {
    if (length <= 0) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let at = address;
    let left = length;
    while (left > 0) {
      const region = this.find(at);
      if (!region) return undefined;
      const offset = Number(at - region.base);
      const n = Math.min(left, region.size - offset);
      if (region.fileOffset + offset + n > this.source.size) return undefined;
      const bytes = await this.source.read(region.fileOffset + offset, n);
      if (bytes.length !== n) return undefined;
      parts.push(bytes);
      at += BigInt(n);
      left -= n;
    }
    return concatBytes(parts);
  }
}
