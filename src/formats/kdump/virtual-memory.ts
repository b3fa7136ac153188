import type { ByteSource } from '../../io/byte-source.js';
import { concatBytes } from '../../io/bytes.js';
import { findRegion, MemoryBlock, type DumpMemory } from '../../model/memory.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical.js';

/** How virtual addresses map to physical ones: the kernel's paging mode. */
export type PagingMode = 'amd64' | 'x86' | 'x86-pae' | 'arm64' | 'none';

/** Virtual memory a file holds directly (small dumps: the call stack, data blocks, the debugger data copy). */
export interface DirectRegion {
  readonly base: bigint;
  readonly size: number;
  readonly fileOffset: number;
}

const ADDRESS_MASK = 0x000ffffffffff000n;
/** ARM64 descriptors: output address bits 47:12; 51:48 are reserved with a 4 KiB granule. */
const ARM64_ADDRESS_MASK = 0x0000fffffffff000n;
/** Page-table pages kept decoded (a walk touches at most four per translation). */
const TABLE_CACHE = 256;
/** At most this many bytes are joined into one block. */
const MAX_BLOCK = 64 * 1024 * 1024;

/**
 * A kernel dump's memory by virtual address: regions the file holds directly, else the page
 * tables from DirectoryTableBase through the dump's physical pages. Reads are positional; a
 * page the dump does not hold (or whose tables are missing) is absent, never an error.
 */
export class KernelVirtualMemory implements DumpMemory {
  readonly regions: readonly DirectRegion[];
  /** Translations done and page-table entries read, for tests that bound the work. */
  readonly counters = { translations: 0, tableReads: 0 };
  private readonly source: ByteSource;
  private readonly physical: PhysicalMemory | undefined;
  private readonly mode: PagingMode;
  private readonly root: bigint;
  private readonly tables = new Map<bigint, Uint8Array | undefined>();

  constructor(source: ByteSource, physical: PhysicalMemory | undefined, mode: PagingMode, directoryTableBase: bigint, direct: readonly DirectRegion[]) {
    this.source = source;
    this.physical = physical;
    this.mode = physical ? mode : 'none';
    this.root = directoryTableBase;
    this.regions = [...direct].filter((r) => r.size > 0).sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  }

  /** The physical address behind a virtual one, or undefined when unmapped or not in the dump. */
  async translate(va: bigint): Promise<bigint | undefined> {
    this.counters.translations++;
    switch (this.mode) {
      case 'amd64':
        return this.walk64(va, [39n, 30n, 21n, 12n], this.root & ADDRESS_MASK, 'x86');
      case 'arm64':
        return this.walk64(va, [39n, 30n, 21n, 12n], this.root & ARM64_ADDRESS_MASK, 'arm64');
      case 'x86-pae': {
        const pdpte = await this.entry(this.root & 0xffffffe0n, (va >> 30n) & 3n, 8);
        if (pdpte === undefined || (pdpte & 1n) === 0n) return undefined;
        return this.walk64(va, [21n, 12n], pdpte & ADDRESS_MASK, 'x86');
      }
      case 'x86': {
        const pde = await this.entry(this.root & 0xfffff000n, (va >> 22n) & 0x3ffn, 4);
        if (pde === undefined || (pde & 1n) === 0n) return undefined;
        if ((pde & 0x80n) !== 0n) return (pde & 0xffc00000n) | (va & 0x3fffffn);
        const pte = await this.entry(pde & 0xfffff000n, (va >> 12n) & 0x3ffn, 4);
        if (pte === undefined || !pteValid(pte)) return undefined;
        return (pte & 0xfffff000n) | (va & 0xfffn);
      }
      default:
        return undefined;
    }
  }

  /** A 64-bit-entry walk with 9-bit indices at the given shifts; large pages at the upper levels. */
  private async walk64(va: bigint, shifts: readonly bigint[], table: bigint, kind: 'x86' | 'arm64'): Promise<bigint | undefined> {
    let base = table;
    for (let level = 0; level < shifts.length; level++) {
      const shift = shifts[level]!;
      const e = await this.entry(base, (va >> shift) & 0x1ffn, 8);
      if (e === undefined) return undefined;
      const last = level === shifts.length - 1;
      if (kind === 'arm64') {
        // VMSAv8-64 descriptors: bit 0 valid, bit 1 table (levels 0-2) or page (level 3); else a block.
        if ((e & 1n) === 0n) return undefined;
        const table = (e & 2n) !== 0n;
        if (last && !table) return undefined;
        if (last || !table) {
          if (!last && level === 0) return undefined; // no blocks at level 0 with a 4 KiB granule
          const span = 1n << shift;
          return (e & ARM64_ADDRESS_MASK & ~(span - 1n)) | (va & (span - 1n));
        }
        base = e & ARM64_ADDRESS_MASK;
        continue;
      }
      if (last) return pteValid(e) ? (e & ADDRESS_MASK) | (va & 0xfffn) : undefined;
      if ((e & 1n) === 0n) return undefined;
      // PS (bit 7) in a PDPTE (1 GiB) or PDE (2 MiB) maps a large page; never in the PML4.
      if ((e & 0x80n) !== 0n && shift !== 39n) {
        const span = 1n << shift;
        return (e & ADDRESS_MASK & ~(span - 1n)) | (va & (span - 1n));
      }
      base = e & ADDRESS_MASK;
    }
    return undefined;
  }

  /** One page-table entry, from a cached table page. */
  private async entry(tablePa: bigint, index: bigint, width: 4 | 8): Promise<bigint | undefined> {
    this.counters.tableReads++;
    const page = tablePa & ~0xfffn;
    let bytes = this.tables.get(page);
    if (!this.tables.has(page)) {
      bytes = await this.physicalPage(page >> 12n);
      if (this.tables.size >= TABLE_CACHE) this.tables.delete(this.tables.keys().next().value!);
      this.tables.set(page, bytes);
    }
    if (!bytes) return undefined;
    const at = Number(tablePa & 0xfffn) + Number(index) * width;
    if (at + width > bytes.length) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, width);
    return width === 8 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
  }

  private physicalPage(pfn: bigint): Promise<Uint8Array | undefined> {
    return this.readPhysical(pfn << 12n, PAGE_SIZE);
  }

  /** Physical bytes, when the dump holds every page of them. */
  async readPhysical(pa: bigint, length: number): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = [];
    let at = pa;
    let left = length;
    while (left > 0) {
      const offset = this.physical?.pageOffset(at >> 12n);
      if (offset === undefined) return undefined;
      const within = Number(at & 0xfffn);
      const n = Math.min(left, PAGE_SIZE - within);
      if (offset + within + n > this.source.size) return undefined;
      const bytes = await this.source.read(offset + within, n);
      if (bytes.length !== n) return undefined;
      parts.push(bytes);
      at += BigInt(n);
      left -= n;
    }
    return concatBytes(parts);
  }

  private direct(address: bigint): DirectRegion | undefined {
    return findRegion(this.regions, address);
  }

  /** How many bytes from `address` are readable in one piece, and how to read them. */
  private async piece(address: bigint, max: number): Promise<{ length: number; read: () => Promise<Uint8Array | undefined> } | undefined> {
    const region = this.direct(address);
    if (region) {
      const within = Number(address - region.base);
      const length = Math.min(max, region.size - within);
      const offset = region.fileOffset + within;
      return { length, read: async () => (offset + length <= this.source.size ? this.source.read(offset, length) : undefined) };
    }
    const pa = await this.translate(address);
    if (pa === undefined) return undefined;
    const length = Math.min(max, PAGE_SIZE - Number(address & 0xfffn));
    return { length, read: () => this.readPhysical(pa, length) };
  }

  async read(address: bigint, length: number): Promise<Uint8Array | undefined> {
    if (length <= 0) return new Uint8Array(0);
    if (length > MAX_BLOCK) return undefined;
    const parts: Uint8Array[] = [];
    let at = address;
    let left = length;
    while (left > 0) {
      const p = await this.piece(at, left);
      if (!p) return undefined;
      const bytes = await p.read();
      if (!bytes || bytes.length !== p.length) return undefined;
      parts.push(bytes);
      at += BigInt(p.length);
      left -= p.length;
    }
    return parts.length === 1 ? parts[0]! : concatBytes(parts);
  }

  async loadRange(base: bigint, size: number): Promise<MemoryBlock | undefined> {
    const parts: Uint8Array[] = [];
    let at = base;
    let left = Math.min(size, MAX_BLOCK);
    while (left > 0) {
      const p = await this.piece(at, left);
      if (!p) break;
      const bytes = await p.read();
      if (!bytes || bytes.length !== p.length) break;
      parts.push(bytes);
      at += BigInt(p.length);
      left -= p.length;
    }
    if (parts.length === 0) return undefined;
    return new MemoryBlock(base, concatBytes(parts));
  }

  async loadStack(stack: { readonly base: bigint; readonly size: number; readonly fileOffset: number | undefined }): Promise<MemoryBlock | undefined> {
    if (stack.fileOffset !== undefined && stack.fileOffset + stack.size <= this.source.size) {
      return new MemoryBlock(stack.base, await this.source.read(stack.fileOffset, stack.size));
    }
    return this.loadRange(stack.base, stack.size);
  }
}

/** A PTE maps a page when valid, or in transition (bit 11 set, not a prototype: the page is still in memory). */
function pteValid(pte: bigint): boolean {
  return (pte & 1n) !== 0n || ((pte & 0x800n) !== 0n && (pte & 0x400n) === 0n);
}
