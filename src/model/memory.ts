import type { ByteSource } from '../io/byte-source.js';
import { readExact } from '../io/byte-source.js';

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

/** Largest single region loaded at once; bigger ones are read in part. */
const MAX_BLOCK = 64 * 1024 * 1024;

/** All captured memory of a snapshot, sorted by address, read from the file on demand. */
export class SnapshotMemory {
  readonly regions: readonly MemoryRegion[];
  private readonly source: ByteSource;

  constructor(source: ByteSource, regions: MemoryRegion[]) {
    this.source = source;
    this.regions = [...regions].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  }

  /** The region containing an address, by binary search. */
  find(address: bigint): MemoryRegion | undefined {
    let lo = 0;
    let hi = this.regions.length - 1;
    let best: MemoryRegion | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.regions[mid]!;
      if (r.base <= address) {
        best = r;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (best && address < best.base + BigInt(best.size)) return best;
    // Overlapping regions (some writers emit them): fall back to a scan near the hit.
    for (let i = Math.max(0, lo - 8); i < Math.min(this.regions.length, lo + 1); i++) {
      const r = this.regions[i]!;
      if (r.base <= address && address < r.base + BigInt(r.size)) return r;
    }
    return undefined;
  }

  /** Loads a region (or the first MAX_BLOCK bytes of it) as a block. */
  async load(region: MemoryRegion): Promise<MemoryBlock> {
    const size = Math.min(region.size, MAX_BLOCK, Math.max(0, this.source.size - region.fileOffset));
    const bytes = await readExact(this.source, region.fileOffset, size, `memory at 0x${region.base.toString(16)}`);
    return new MemoryBlock(region.base, bytes);
  }

  /** Reads bytes at an address if one region holds all of them. */
  async read(address: bigint, length: number): Promise<Uint8Array | undefined> {
    const region = this.find(address);
    if (!region) return undefined;
    const offset = Number(address - region.base);
    if (offset + length > region.size) return undefined;
    if (region.fileOffset + offset + length > this.source.size) return undefined;
    return this.source.read(region.fileOffset + offset, length);
  }
}
