import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { Reader } from '../../io/reader.js';
import type { HeaderField } from '../../model/kernel.js';
import { PAGE_U32, PAGE_U64, readFields, type DumpHeader, type FieldSpec } from './header.js';

export const PAGE_SIZE = 0x1000;

/** Where a kernel dump keeps each physical page it holds. */
export interface PhysicalMemory {
  /** How the pages are laid out, in words. */
  readonly layout: 'runs' | 'bitmap' | 'rdmp';
  /** Pages the dump holds. */
  readonly pageCount: number;
  /** The file offset of a physical page's bytes, or undefined when the dump does not hold the page. */
  pageOffset(pfn: bigint): number | undefined;
  /** The bitmap/summary/RDMP header's fields, when there is one. */
  readonly fields: readonly HeaderField[] | undefined;
  readonly warnings: readonly string[];
}

interface Run {
  readonly basePage: bigint;
  readonly pageCount: bigint;
  /** File page index of the run's first page. */
  readonly filePage: number;
}

/** Physical memory as a sorted list of runs of pages, stored back to back from `firstOffset`. */
class RunMemory implements PhysicalMemory {
  readonly layout;
  readonly pageCount: number;
  readonly fields;
  readonly warnings: string[];
  private readonly runs: Run[];
  private readonly firstOffset: number;

  constructor(layout: 'runs' | 'rdmp', runs: Run[], firstOffset: number, fields: readonly HeaderField[] | undefined, warnings: string[]) {
    this.layout = layout;
    this.runs = [...runs].sort((a, b) => (a.basePage < b.basePage ? -1 : a.basePage > b.basePage ? 1 : 0));
    this.firstOffset = firstOffset;
    this.pageCount = runs.reduce((n, r) => n + Number(r.pageCount), 0);
    this.fields = fields;
    this.warnings = warnings;
  }

  pageOffset(pfn: bigint): number | undefined {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.runs[mid]!;
      if (pfn < r.basePage) hi = mid - 1;
      else if (pfn >= r.basePage + r.pageCount) lo = mid + 1;
      else return this.firstOffset + (r.filePage + Number(pfn - r.basePage)) * PAGE_SIZE;
    }
    return undefined;
  }
}

/** Physical memory as a bitmap of present pages, stored in page order from `firstOffset`. */
class BitmapMemory implements PhysicalMemory {
  readonly layout = 'bitmap' as const;
  readonly pageCount: number;
  readonly fields;
  readonly warnings: string[];
  private readonly bitmap: Uint8Array;
  /** Set bits before each 64-byte (512-page) block: rank in O(64) byte reads. */
  private readonly rank: Uint32Array;
  private readonly firstOffset: number;
  private readonly storedPages: number;

  constructor(bitmap: Uint8Array, bits: number, firstOffset: number, storedPages: number, fields: readonly HeaderField[], warnings: string[]) {
    this.bitmap = bitmap;
    this.firstOffset = firstOffset;
    this.storedPages = storedPages;
    this.fields = fields;
    this.warnings = warnings;
    const blocks = Math.ceil(bitmap.length / 64);
    this.rank = new Uint32Array(blocks + 1);
    let total = 0;
    for (let b = 0; b < blocks; b++) {
      this.rank[b] = total;
      const end = Math.min(bitmap.length, (b + 1) * 64);
      for (let i = b * 64; i < end; i++) total += POPCOUNT[bitmap[i]!]!;
    }
    this.rank[blocks] = total;
    void bits;
    this.pageCount = Math.min(total, storedPages);
  }

  pageOffset(pfn: bigint): number | undefined {
    if (pfn < 0n || pfn >= BigInt(this.bitmap.length * 8)) return undefined;
    const page = Number(pfn);
    const byte = page >>> 3;
    const bit = page & 7;
    if ((this.bitmap[byte]! & (1 << bit)) === 0) return undefined;
    let index = this.rank[byte >>> 6]!;
    for (let i = byte & ~63; i < byte; i++) index += POPCOUNT[this.bitmap[i]!]!;
    index += POPCOUNT[this.bitmap[byte]! & ((1 << bit) - 1)]!;
    if (index >= this.storedPages) return undefined;
    return this.firstOffset + index * PAGE_SIZE;
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});

/** Largest bitmap read (a 2 TiB machine has 2^29 pages: 64 MiB of bitmap). */
const MAX_BITMAP_BYTES = 64 * 1024 * 1024;
const MAX_RDMP_RANGES = 1 << 20;

// _SUMMARY_DUMP / BMP_HEADER: the same layout follows DUMP_HEADER32 (at 0x1000) and DUMP_HEADER64
// (at 0x2000). kdmp-parser and volatility3 agree on FirstPage/HeaderSize at +0x20 and the bitmap at
// +0x38; for +0x28/+0x30 we follow kdmp-parser and volatility3's own correction (present pages, then
// bitmap size in bits), which the bitmap's popcount confirms on real files.
const BITMAP_HEADER: readonly FieldSpec[] = [
  ['Signature', 0x00, 'char4'],
  ['ValidDump', 0x04, 'char4'],
  ['FirstPage', 0x20, 'u64'],
  ['TotalPresentPages', 0x28, 'u64'],
  ['Pages', 0x30, 'u64'],
];

// RDMP_HEADER64 (DumpType 8, 9, 10) as kdmp-parser documents it: Marker 0x40, 'RDMP', 'DUMP',
// MetadataSize, FirstPageOffset; then 16 bytes, then PFN ranges {BasePage, PageCount} up to the first page.
const RDMP_HEADER: readonly FieldSpec[] = [
  ['Marker', 0x00, 'u32'],
  ['Signature', 0x04, 'char4'],
  ['ValidDump', 0x08, 'char4'],
  ['MetadataSize', 0x10, 'u64'],
  ['FirstPageOffset', 0x18, 'u64'],
];

/**
 * Finds where each physical page is: the header's runs (DumpType 1), the summary/bitmap header
 * (2, 5, 6, 7), or the RDMP ranges (8, 9, 10). Undefined for small dumps (4), which hold no physical memory.
 */
export async function readPhysicalMemory(source: ByteSource, header: DumpHeader, dumpType: number | undefined): Promise<PhysicalMemory | undefined> {
  switch (dumpType) {
    case 1:
      return readRuns(source, header);
    case 2:
    case 5:
    case 6:
    case 7: // an automatic memory dump is a kernel memory dump with a bitmap
      return readBitmap(source, header);
    case 8:
    case 9:
    case 10:
      return readRdmp(source, header);
    default:
      return undefined;
  }
}

function readRuns(source: ByteSource, header: DumpHeader): PhysicalMemory {
  const r = header.reader;
  const at = header.physicalMemoryBlock;
  const wide = header.width === 64;
  const warnings: string[] = [];
  const numberOfRuns = r.u32(at);
  // PHYSICAL_MEMORY_DESCRIPTOR64: NumberOfRuns u32, pad, NumberOfPages u64, runs of two u64;
  // the 32-bit form has a u32 NumberOfPages and runs of two u32.
  const runsAt = at + (wide ? 16 : 8);
  const runSize = wide ? 16 : 8;
  const room = Math.floor((header.contextRecord - runsAt) / runSize);
  if (numberOfRuns === PAGE_U32) throw r.error(at, 'PHYSICAL_MEMORY_DESCRIPTOR is the "PAGE" filler: this dump says it has physical memory runs but gives none');
  if (numberOfRuns > room) throw r.error(at, `PHYSICAL_MEMORY_DESCRIPTOR: ${numberOfRuns} runs do not fit in the header (room for ${room})`);
  const numberOfPages = wide ? r.u64(at + 8) : BigInt(r.u32(at + 4));
  const runs: Run[] = [];
  let filePage = 0;
  const filePages = Math.floor(Math.max(0, source.size - header.size) / PAGE_SIZE);
  for (let i = 0; i < numberOfRuns; i++) {
    const o = runsAt + i * runSize;
    const basePage = wide ? r.u64(o) : BigInt(r.u32(o));
    let pageCount = wide ? r.u64(o + 8) : BigInt(r.u32(o + 4));
    if (BigInt(filePage) + pageCount > BigInt(filePages)) {
      warnings.push(`${source.name}: PHYSICAL_MEMORY_RUN ${i} (pages 0x${basePage.toString(16)}+0x${pageCount.toString(16)}) runs past the end of the file: truncated dump, the rest of physical memory is missing`);
      pageCount = BigInt(Math.max(0, filePages - filePage));
    }
    if (pageCount > 0n) runs.push({ basePage, pageCount, filePage });
    filePage += Number(pageCount);
    if (filePage >= filePages) break;
  }
  const counted = runs.reduce((n, run) => n + run.pageCount, 0n);
  if (numberOfPages !== PAGE_U64 && numberOfPages !== counted && warnings.length === 0) {
    warnings.push(`${source.name}: PHYSICAL_MEMORY_DESCRIPTOR: NumberOfPages 0x${numberOfPages.toString(16)} differs from the runs' 0x${counted.toString(16)}`);
  }
  return new RunMemory('runs', runs, header.size, undefined, warnings);
}

// SUMMARY_DUMP32 (the 32-bit DumpType 2 of NT 5, in the old DDK's and ReactOS's headers): Signature,
// ValidDump, DumpOptions, HeaderSize (file offset of the first page), BitmapSize (bits), Pages, an
// RTL_BITMAP, then the bitmap at +0x20. Newer 32-bit dumps use the 64-bit layout instead.
const SUMMARY32_HEADER: readonly FieldSpec[] = [
  ['Signature', 0x00, 'char4'],
  ['ValidDump', 0x04, 'char4'],
  ['DumpOptions', 0x08, 'u32'],
  ['HeaderSize', 0x0c, 'u32'],
  ['BitmapSize', 0x10, 'u32'],
  ['Pages', 0x14, 'u32'],
];

/** The SUMMARY_DUMP32 form, when its fields describe a bitmap that fits before its first page. */
async function readSummary32(source: ByteSource, header: DumpHeader, r: Reader): Promise<PhysicalMemory | undefined> {
  if (header.width !== 32) return undefined;
  const headerSize = r.u32(0x0c);
  const bits = r.u32(0x10);
  const bytes = Math.ceil(bits / 8);
  const at = header.size;
  if (headerSize % 0x1000 !== 0 || headerSize <= at || bits === 0 || at + 0x20 + bytes > headerSize || headerSize > source.size) return undefined;
  const bitmap = await readExact(source, at + 0x20, bytes, 'SUMMARY_DUMP32 bitmap');
  const warnings: string[] = [];
  const stored = Math.floor((source.size - headerSize) / PAGE_SIZE);
  if (r.u32(0x14) > stored) warnings.push(`${source.name}: SUMMARY_DUMP32: ${r.u32(0x14)} pages present but the file holds ${stored}: truncated dump`);
  return new BitmapMemory(bitmap, bits, headerSize, stored, readFields(r, SUMMARY32_HEADER), warnings);
}

async function readBitmap(source: ByteSource, header: DumpHeader): Promise<PhysicalMemory> {
  const at = header.size;
  const r = new Reader(await readExact(source, at, 0x38, 'BITMAP_DUMP_HEADER'), source.name, at, 'BITMAP_DUMP_HEADER');
  const fields = readFields(r, BITMAP_HEADER);
  const signature = String.fromCharCode(...r.slice(4, 0));
  const valid = String.fromCharCode(...r.slice(4, 4));
  if ((signature !== 'SDMP' && signature !== 'FDMP') || valid !== 'DUMP') {
    throw r.error(0, `signature "${signature}${valid}" is not "SDMPDUMP" or "FDMPDUMP"`);
  }
  const summary = await readSummary32(source, header, r);
  if (summary) return summary;
  const firstPage = r.u64(0x20);
  const present = r.u64(0x28);
  const bits = r.u64(0x30);
  const bitmapBytes = (bits + 7n) / 8n;
  const warnings: string[] = [];
  if (bitmapBytes > BigInt(Math.min(MAX_BITMAP_BYTES, source.size - at - 0x38))) {
    throw r.error(0x30, `bitmap of 0x${bits.toString(16)} pages needs 0x${bitmapBytes.toString(16)} bytes, more than the file holds`);
  }
  if (firstPage > BigInt(source.size) || firstPage < BigInt(at + 0x38) + bitmapBytes) {
    throw r.error(0x20, `first page offset 0x${firstPage.toString(16)} is outside the file or inside the bitmap`);
  }
  const bitmap = await readExact(source, at + 0x38, Number(bitmapBytes), 'BITMAP_DUMP_HEADER bitmap');
  const first = Number(firstPage);
  const stored = Math.floor((source.size - first) / PAGE_SIZE);
  const memory = new BitmapMemory(bitmap, Number(bits), first, stored, fields, warnings);
  if (present > BigInt(stored)) warnings.push(`${source.name}: BITMAP_DUMP_HEADER: ${present} pages present but the file holds ${stored}: truncated dump`);
  return memory;
}

async function readRdmp(source: ByteSource, header: DumpHeader): Promise<PhysicalMemory> {
  const at = header.size;
  const r = new Reader(await readExact(source, at, 0x30, 'RDMP_HEADER64'), source.name, at, 'RDMP_HEADER64');
  const fields = readFields(r, RDMP_HEADER);
  const signature = String.fromCharCode(...r.slice(4, 4));
  const valid = String.fromCharCode(...r.slice(4, 8));
  if (signature !== 'RDMP' || valid !== 'DUMP') throw r.error(4, `signature "${signature}${valid}" is not "RDMPDUMP"`);
  const firstPageOffset = r.u64(0x18);
  const rangesAt = at + 0x30;
  if (firstPageOffset < BigInt(rangesAt) || firstPageOffset > BigInt(source.size)) {
    throw r.error(0x18, `FirstPageOffset 0x${firstPageOffset.toString(16)} is outside the file`);
  }
  // The ranges end at FirstPageOffset, and MetadataSize bounds them too (kdmp-parser reads MetadataSize / 16).
  const metadata = r.u64(0x10);
  const byMetadata = metadata < BigInt(source.size) ? Math.floor(Number(metadata) / 16) : MAX_RDMP_RANGES;
  const count = Math.min(MAX_RDMP_RANGES, byMetadata, Math.floor((Number(firstPageOffset) - rangesAt) / 16));
  const list = new Reader(await readExact(source, rangesAt, count * 16, 'RDMP PFN ranges'), source.name, rangesAt, 'RDMP PFN ranges');
  const warnings: string[] = [];
  const runs: Run[] = [];
  let filePage = 0;
  const filePages = Math.floor((source.size - Number(firstPageOffset)) / PAGE_SIZE);
  for (let i = 0; i < count; i++) {
    const basePage = list.u64(i * 16);
    let pageCount = list.u64(i * 16 + 8);
    if (basePage === 0n) break; // the list ends at a zero PFN
    if (BigInt(filePage) + pageCount > BigInt(filePages)) {
      warnings.push(`${source.name}: RDMP range ${i} runs past the end of the file: truncated dump`);
      pageCount = BigInt(Math.max(0, filePages - filePage));
    }
    if (pageCount > 0n) runs.push({ basePage, pageCount, filePage });
    filePage += Number(pageCount);
    if (filePage >= filePages) break;
  }
  return new RunMemory('rdmp', runs, Number(firstPageOffset), fields, warnings);
}
