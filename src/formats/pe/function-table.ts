import { Directory, Limits } from './constants.js';
import type { PeImage } from './pe-image.js';

/** RUNTIME_FUNCTION of x64 .pdata, 12 bytes (x64 exception handling, "struct RUNTIME_FUNCTION"). */
export interface RuntimeFunction {
  readonly begin: number;
  readonly end: number;
  /** RVA of the UNWIND_INFO; with bit 0 set, of another RUNTIME_FUNCTION (an indirect entry). */
  readonly unwindInfo: number;
}

/** ARM64 .pdata entry, 8 bytes: BeginAddress and UnwindData (packed unwind data, or the RVA of .xdata). */
export interface Arm64RuntimeFunction {
  readonly begin: number;
  readonly unwindData: number;
}

/** ARM (ARMNT) .pdata entry, 8 bytes: BeginAddress (bit 0 set for Thumb code) and UnwindData. */
export interface ArmRuntimeFunction {
  readonly begin: number;
  readonly unwindData: number;
}

/** A function table answer that tells a missing entry from a table that could not be read there. */
export type FunctionLookup<E> =
  | { readonly kind: 'found'; readonly entry: E }
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable' };

/** Missing pages in a row that end a partly captured table. */
const MAX_MISSING_PAGES = 16;
const PAGE = 0x1000;

/** The exception directory's entries as 32-bit words, sorted by BeginAddress, searched by bisection. */
export class FunctionTable {
  private readonly words: Uint32Array;
  private readonly stride: number;
  /** Per entry, 1 when its bytes were read; undefined when all were. */
  private readonly present: Uint8Array | undefined;

  constructor(words: Uint32Array, entrySize: 8 | 12, present: Uint8Array | undefined) {
    this.words = words;
    this.stride = entrySize / 4;
    this.present = present;
  }

  get count(): number {
    return this.words.length / this.stride;
  }

  lookupX64(rva: number): FunctionLookup<RuntimeFunction> {
    const i = this.lastAtOrBelow(rva);
    if (i === 'unreadable') return { kind: 'unreadable' };
    if (i < 0) return { kind: 'none' };
    const w = i * 3;
    const entry = { begin: this.words[w]!, end: this.words[w + 1]!, unwindInfo: this.words[w + 2]! };
    return rva < entry.end ? { kind: 'found', entry } : { kind: 'none' };
  }

  lookupArm64(rva: number): FunctionLookup<Arm64RuntimeFunction> {
    return this.lookupBeginAndUnwindData(rva, -1);
  }

  /** Like lookupArm64, comparing BeginAddress without its Thumb bit (a function starts at begin & ~1). */
  lookupArm(rva: number): FunctionLookup<ArmRuntimeFunction> {
    return this.lookupBeginAndUnwindData(rva, ~1);
  }

  /** The 8-byte entry (BeginAddress, UnwindData) whose BeginAddress & `mask` is the last at or below rva. */
  private lookupBeginAndUnwindData(rva: number, mask: number): FunctionLookup<{ readonly begin: number; readonly unwindData: number }> {
    const i = this.lastAtOrBelow(rva, mask);
    if (i === 'unreadable') return { kind: 'unreadable' };
    if (i < 0) return { kind: 'none' };
    return { kind: 'found', entry: { begin: this.words[i * 2]!, unwindData: this.words[i * 2 + 1]! } };
  }

  /**
   * Index of the last entry whose BeginAddress (& `mask`) is at or below rva (-1 if none);
   * 'unreadable' if the search met a hole.
   */
  private lastAtOrBelow(rva: number, mask = -1): number | 'unreadable' {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.present && this.present[mid] === 0) return 'unreadable';
      if ((this.words[mid * this.stride]! & mask) >>> 0 <= rva) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

/**
 * Reads the exception directory once. When it cannot be read whole (a 'memory' image with holes),
 * it is read page by page and the entries on missing pages are marked; 'unreadable' when nothing of
 * it can be read.
 */
export async function loadFunctionTable(image: PeImage, entrySize: 8 | 12): Promise<FunctionTable | 'unreadable'> {
  const dir = image.directory(Directory.Exception);
  if (!dir || dir.rva >= image.sizeOfImage) return new FunctionTable(new Uint32Array(0), entrySize, undefined);
  // The table can hold no more entries than the bytes behind it: in a file, the section's raw data
  // (a hostile directory may claim 2^24 entries over zero-filled virtual space).
  let available = image.sizeOfImage - dir.rva;
  if (image.bytes.layout === 'file') {
    const section = image.sectionAt(dir.rva);
    available = section ? Math.max(0, Math.min(available, section.rawDataSize - (dir.rva - section.virtualAddress))) : 0;
  }
  const count = Math.min(Math.floor(dir.size / entrySize), Limits.functionEntries, Math.floor(available / entrySize));
  const length = count * entrySize;
  if (length === 0) return new FunctionTable(new Uint32Array(0), entrySize, undefined);
  const whole = await image.readRva(dir.rva, length);
  if (whole) return new FunctionTable(sortedWords(whole, entrySize), entrySize, undefined);

  // Dump memory with holes: read page by page and keep the entries whose bytes were all captured.
  // A long run of missing pages ends the table (a hostile size must not cost a page read per 4 KiB).
  const pages: { from: number; bytes: Uint8Array | undefined }[] = [];
  let misses = 0;
  let any = false;
  let visited = 0;
  for (let at = dir.rva; at < dir.rva + length && misses < MAX_MISSING_PAGES; ) {
    const next = Math.min(dir.rva + length, (Math.floor(at / PAGE) + 1) * PAGE);
    const got = await image.readRva(at, next - at);
    pages.push({ from: at - dir.rva, bytes: got });
    misses = got ? 0 : misses + 1;
    any ||= got !== undefined;
    visited = next - dir.rva;
    at = next;
  }
  if (!any) return 'unreadable';
  // Entries in missing pages stay in the table as unreadable; past a long gap the table ends.
  const kept = Math.ceil(visited / entrySize) > count ? count : Math.ceil(visited / entrySize);
  const bytes = new Uint8Array(kept * entrySize);
  const present = new Uint8Array(kept).fill(1);
  for (const page of pages) {
    if (page.from >= bytes.length) break;
    if (page.bytes) bytes.set(page.bytes.subarray(0, bytes.length - page.from), page.from);
    else present.fill(0, Math.floor(page.from / entrySize), Math.min(kept, Math.ceil((page.from + PAGE) / entrySize)));
  }
  return new FunctionTable(words(bytes, entrySize), entrySize, present);
}

function words(bytes: Uint8Array, entrySize: 8 | 12): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(Math.floor(bytes.length / entrySize) * (entrySize / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** The entries as words, sorted by BeginAddress: the format requires it, and bisection relies on it. */
function sortedWords(bytes: Uint8Array, entrySize: 8 | 12): Uint32Array {
  const w = words(bytes, entrySize);
  const stride = entrySize / 4;
  const count = w.length / stride;
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) sorted = w[(i - 1) * stride]! <= w[i * stride]!;
  if (sorted) return w;
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => w[a * stride]! - w[b * stride]!);
  const out = new Uint32Array(w.length);
  order.forEach((from, to) => out.set(w.subarray(from * stride, from * stride + stride), to * stride));
  return out;
}
