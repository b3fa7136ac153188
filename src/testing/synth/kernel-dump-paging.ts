// Test support: physical memory and the page tables of a synthetic kernel dump. Pages are 4 KiB and
// allocated zero-filled on first touch; tables are built as the tests map virtual memory, so a
// test knows where every entry lives (for hostile patches) before the file is laid out.
// Paging formats: Intel SDM vol. 3A ch. 4 (4-level IA-32e, 32-bit, PAE) and the Arm ARM's VMSAv8-64
// translation tables (4 KiB granule, 48-bit VA, as Windows on ARM64 uses for TTBR1).

export type KernelArch = 'amd64' | 'x86' | 'x86-pae' | 'arm64';

/** '4k' pages, 'large' (2 MiB; 4 MiB on x86 without PAE) or 'huge' (1 GiB; amd64 and arm64). */
export type PageSize = '4k' | 'large' | 'huge';

export const PAGE_SIZE = 0x1000;
const PAGE = BigInt(PAGE_SIZE);

interface Level {
  /** The lowest VA bit this level indexes. */
  readonly shift: number;
  readonly bits: number;
  readonly entrySize: 4 | 8;
}

interface Scheme {
  readonly levels: readonly Level[];
  /** VA bits the walk looks at (32-bit kernels: the low 32). */
  readonly vaMask: bigint;
  /** Output-address bits of an entry. */
  readonly addressMask: bigint;
  tableEntry(pa: bigint, level: number): bigint;
  pageEntry(pa: bigint): bigint;
  /** An entry mapping a block at this level; undefined where the format has none. */
  blockEntry(pa: bigint, level: number): bigint | undefined;
  isPresent(entry: bigint, level: number): boolean;
  isBlock(entry: bigint, level: number): boolean;
}

const X86_PS = 0x80n; // PS, bit 7: this PDE (PDPTE on amd64) maps a large page
const PRESENT_WRITE = 0x3n;
const ARM64_VALID = 0x1n;
const ARM64_TABLE_OR_PAGE = 0x2n;
const ARM64_AF = 0x400n; // access flag: a clear AF faults on first use

function schemeFor(arch: KernelArch): Scheme {
  switch (arch) {
    case 'amd64':
      return {
        levels: [39, 30, 21, 12].map((shift) => ({ shift, bits: 9, entrySize: 8 as const })),
        vaMask: (1n << 48n) - 1n,
        addressMask: 0x000ffffffffff000n,
        tableEntry: (pa) => pa | PRESENT_WRITE,
        pageEntry: (pa) => pa | PRESENT_WRITE,
        blockEntry: (pa, level) => (level === 1 || level === 2 ? pa | PRESENT_WRITE | X86_PS : undefined),
        isPresent: (e) => (e & 1n) !== 0n,
        isBlock: (e, level) => (level === 1 || level === 2) && (e & X86_PS) !== 0n,
      };
    case 'x86':
      return {
        levels: [
          { shift: 22, bits: 10, entrySize: 4 },
          { shift: 12, bits: 10, entrySize: 4 },
        ],
        vaMask: 0xffffffffn,
        addressMask: 0xfffff000n,
        tableEntry: (pa) => pa | PRESENT_WRITE,
        pageEntry: (pa) => pa | PRESENT_WRITE,
        blockEntry: (pa, level) => (level === 0 ? pa | PRESENT_WRITE | X86_PS : undefined),
        isPresent: (e) => (e & 1n) !== 0n,
        isBlock: (e, level) => level === 0 && (e & X86_PS) !== 0n,
      };
    case 'x86-pae':
      return {
        levels: [
          { shift: 30, bits: 2, entrySize: 8 },
          { shift: 21, bits: 9, entrySize: 8 },
          { shift: 12, bits: 9, entrySize: 8 },
        ],
        vaMask: 0xffffffffn,
        addressMask: 0x000ffffffffff000n,
        // PDPTEs have only P among the low bits; R/W there is reserved and faults.
        tableEntry: (pa, level) => (level === 0 ? pa | 1n : pa | PRESENT_WRITE),
        pageEntry: (pa) => pa | PRESENT_WRITE,
        blockEntry: (pa, level) => (level === 1 ? pa | PRESENT_WRITE | X86_PS : undefined),
        isPresent: (e) => (e & 1n) !== 0n,
        isBlock: (e, level) => level === 1 && (e & X86_PS) !== 0n,
      };
    case 'arm64':
      return {
        levels: [39, 30, 21, 12].map((shift) => ({ shift, bits: 9, entrySize: 8 as const })),
        vaMask: (1n << 48n) - 1n,
        addressMask: 0x0000fffffffff000n,
        tableEntry: (pa) => pa | ARM64_VALID | ARM64_TABLE_OR_PAGE,
        pageEntry: (pa) => pa | ARM64_VALID | ARM64_TABLE_OR_PAGE | ARM64_AF,
        blockEntry: (pa, level) => (level === 1 || level === 2 ? pa | ARM64_VALID | ARM64_AF : undefined),
        isPresent: (e) => (e & ARM64_VALID) !== 0n,
        isBlock: (e, level) => level < 3 && (e & ARM64_TABLE_OR_PAGE) === 0n,
      };
  }
}

/** Where page tables and data pages are taken from: tables low (the real x64 triage dump's DTB is 0x1ad000), data from 16 MiB. */
const FIRST_TABLE_PFN = 0x1a0n;
const FIRST_DATA_PFN = 0x1000n;

/** Physical pages and the translation tables over them, for one address space (the kernel's). */
export class AddressSpace {
  readonly arch: KernelArch;
  /** DirectoryTableBase: the root table's physical address (CR3, or TTBR1 on ARM64). */
  readonly dtb: bigint;
  private readonly scheme: Scheme;
  private readonly pages = new Map<bigint, Uint8Array>();
  /** Frames taken by a large or huge mapping but never touched: no bytes, not in the dump. */
  private readonly reserved: { first: bigint; count: bigint }[] = [];
  private tableCursor = FIRST_TABLE_PFN;
  private dataCursor = FIRST_DATA_PFN;

  constructor(arch: KernelArch) {
    this.arch = arch;
    this.scheme = schemeFor(arch);
    this.dtb = this.allocateTable();
  }

  /** Frame numbers of every page with bytes, ascending. */
  presentFrames(): bigint[] {
    return [...this.pages.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The 4 KiB of a present frame (the live array: writes go into the dump). */
  frame(pfn: bigint): Uint8Array | undefined {
    return this.pages.get(pfn);
  }

  /** Maps [va, va + size) where it is not mapped yet; pages come zero-filled. */
  ensure(va: bigint, size: number, pageSize: PageSize = '4k'): void {
    const start = this.norm(va) & ~(PAGE - 1n);
    const end = this.norm(va) + BigInt(Math.max(size, 1));
    for (let page = start; page < end; page += PAGE) this.translateOrMap(page, pageSize);
  }

  /** Maps and writes bytes at a virtual address. */
  writeVirtual(va: bigint, bytes: Uint8Array, pageSize: PageSize = '4k'): void {
    this.ensure(va, bytes.length, pageSize);
    let done = 0;
    while (done < bytes.length) {
      const at = this.norm(va) + BigInt(done);
      const pa = this.translate(at);
      if (pa === undefined) throw new Error(`0x${at.toString(16)} did not map`);
      const chunk = Math.min(bytes.length - done, PAGE_SIZE - Number(at % PAGE));
      this.writePhysical(pa, bytes.subarray(done, done + chunk));
      done += chunk;
    }
  }

  /** Bytes at a virtual address; unmapped or absent pages read as zero. */
  readVirtual(va: bigint, size: number): Uint8Array {
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const at = this.norm(va) + BigInt(done);
      const chunk = Math.min(size - done, PAGE_SIZE - Number(at % PAGE));
      const pa = this.translate(at);
      const page = pa === undefined ? undefined : this.pages.get(pa / PAGE);
      if (page && pa !== undefined) out.set(page.subarray(Number(pa % PAGE), Number(pa % PAGE) + chunk), done);
      done += chunk;
    }
    return out;
  }

  isMapped(va: bigint): boolean {
    const pa = this.translate(va);
    return pa !== undefined && this.pages.has(pa / PAGE);
  }

  writePhysical(pa: bigint, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = pa + BigInt(done);
      const chunk = Math.min(bytes.length - done, PAGE_SIZE - Number(at % PAGE));
      this.materialize(at / PAGE).set(bytes.subarray(done, done + chunk), Number(at % PAGE));
      done += chunk;
    }
  }

  /** The physical address a walk from the DTB gives, as a reader would find it; undefined if not present. */
  translate(va: bigint): bigint | undefined {
    const v = this.norm(va);
    let table = this.dtb;
    const levels = this.scheme.levels;
    for (let level = 0; level < levels.length; level++) {
      const entry = this.readEntry(this.entryAt(table, v, level), level);
      if (!this.scheme.isPresent(entry, level)) return undefined;
      const shift = BigInt(levels[level]!.shift);
      if (level === levels.length - 1 || this.scheme.isBlock(entry, level)) {
        const span = 1n << shift;
        return (entry & this.scheme.addressMask & ~(span - 1n)) + (v & (span - 1n));
      }
      table = entry & this.scheme.addressMask;
    }
    return undefined;
  }

  /**
   * Physical address of the entry a walk for `va` reads at `level` (0 is the root: PML4, PD, PDPT or
   * L0), for tests that corrupt tables; undefined when a level above does not lead there.
   */
  entryAddress(va: bigint, level: number): bigint | undefined {
    const v = this.norm(va);
    let table = this.dtb;
    for (let l = 0; l < this.scheme.levels.length; l++) {
      const at = this.entryAt(table, v, l);
      if (l === level) return at;
      const entry = this.readEntry(at, l);
      if (!this.scheme.isPresent(entry, l) || this.scheme.isBlock(entry, l)) return undefined;
      table = entry & this.scheme.addressMask;
    }
    return undefined;
  }

  /** Width of a table entry at a level, in bytes. */
  entrySize(level: number): 4 | 8 {
    const l = this.scheme.levels[level];
    if (!l) throw new Error(`${this.arch} has no paging level ${level}`);
    return l.entrySize;
  }

  /** The highest frame number taken (present or reserved), for the size of a bitmap or descriptor. */
  highestFrame(): bigint {
    let high = 0n;
    for (const pfn of this.pages.keys()) if (pfn > high) high = pfn;
    for (const r of this.reserved) if (r.first + r.count - 1n > high) high = r.first + r.count - 1n;
    return high;
  }

  private norm(va: bigint): bigint {
    return BigInt.asUintN(64, va) & this.scheme.vaMask;
  }

  private entryAt(table: bigint, va: bigint, level: number): bigint {
    const l = this.scheme.levels[level]!;
    const index = (va >> BigInt(l.shift)) & ((1n << BigInt(l.bits)) - 1n);
    return table + index * BigInt(l.entrySize);
  }

  private readEntry(pa: bigint, level: number): bigint {
    const page = this.pages.get(pa / PAGE);
    if (!page) return 0n;
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const at = Number(pa % PAGE);
    return this.entrySize(level) === 8 ? view.getBigUint64(at, true) : BigInt(view.getUint32(at, true));
  }

  private writeEntry(pa: bigint, level: number, value: bigint): void {
    const page = this.materialize(pa / PAGE);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const at = Number(pa % PAGE);
    if (this.entrySize(level) === 8) view.setBigUint64(at, value, true);
    else view.setUint32(at, Number(value), true);
  }

  private translateOrMap(page: bigint, pageSize: PageSize): void {
    const levels = this.scheme.levels;
    const leaf = this.leafLevel(pageSize);
    let table = this.dtb;
    for (let level = 0; level < levels.length; level++) {
      const at = this.entryAt(table, page, level);
      const entry = this.readEntry(at, level);
      const span = 1n << BigInt(levels[level]!.shift);
      if (this.scheme.isPresent(entry, level)) {
        if (level === levels.length - 1 || this.scheme.isBlock(entry, level)) {
          // Already mapped: give the page bytes so it is in the dump.
          const pa = (entry & this.scheme.addressMask & ~(span - 1n)) + (page & (span - 1n));
          this.materialize(pa / PAGE);
          return;
        }
        if (level === leaf) throw new Error(`0x${page.toString(16)}: already mapped with smaller pages, cannot map a ${pageSize} page`);
        table = entry & this.scheme.addressMask;
        continue;
      }
      if (level === leaf) {
        const frames = span / PAGE;
        const first = this.allocateData(frames);
        const pa = first * PAGE;
        const value = level === levels.length - 1 ? this.scheme.pageEntry(pa) : this.scheme.blockEntry(pa, level);
        if (value === undefined) throw new Error(`${this.arch} has no ${pageSize} pages`);
        this.writeEntry(at, level, value);
        this.materialize(first + (page & (span - 1n)) / PAGE);
        return;
      }
      const next = this.allocateTable();
      this.writeEntry(at, level, this.scheme.tableEntry(next, level));
      table = next;
    }
  }

  private leafLevel(pageSize: PageSize): number {
    const levels = this.scheme.levels;
    if (pageSize === '4k') return levels.length - 1;
    const shift = pageSize === 'huge' ? 30 : this.arch === 'x86' ? 22 : 21;
    const level = levels.findIndex((l) => l.shift === shift);
    if (level < 0 || this.scheme.blockEntry(0n, level) === undefined) throw new Error(`${this.arch} has no ${pageSize} pages`);
    return level;
  }

  private allocateTable(): bigint {
    while (this.taken(this.tableCursor)) this.tableCursor++;
    const pfn = this.tableCursor++;
    this.materialize(pfn);
    return pfn * PAGE;
  }

  /** `count` free frames aligned to `count` (a large page's frames are contiguous and aligned). */
  private allocateData(count: bigint): bigint {
    let first = ((this.dataCursor + count - 1n) / count) * count;
    while (this.rangeTaken(first, count)) first += count;
    this.dataCursor = first + count;
    if (count > 1n) this.reserved.push({ first, count });
    return first;
  }

  private taken(pfn: bigint): boolean {
    return this.pages.has(pfn) || this.reserved.some((r) => pfn >= r.first && pfn < r.first + r.count);
  }

  private rangeTaken(first: bigint, count: bigint): boolean {
    for (const pfn of this.pages.keys()) if (pfn >= first && pfn < first + count) return true;
    return this.reserved.some((r) => r.first < first + count && first < r.first + r.count);
  }

  private materialize(pfn: bigint): Uint8Array {
    let page = this.pages.get(pfn);
    if (!page) {
      page = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, page);
    }
    return page;
  }
}
