// Test support: small PE32/PE32+ images assembled in code, so a test states exactly the bytes it
// needs: sections, data directories, .pdata/.xdata, export and debug directories, in the 'file'
// or the 'memory' layout.
import { Machine } from './constants.js';
import type { ImageBytes } from './pe-image.js';

export interface SectionSpec {
  readonly name: string;
  readonly data: Uint8Array | readonly number[];
  readonly characteristics?: number;
  /** VirtualSize; defaults to the data's length. Larger than the data: the rest reads as zeros. */
  readonly virtualSize?: number;
}

export interface BuilderOptions {
  readonly is64?: boolean;
  readonly machine?: number;
  readonly imageBase?: bigint;
  readonly timeDateStamp?: number;
  readonly checksum?: number;
  readonly sectionAlignment?: number;
  readonly fileAlignment?: number;
}

/** Header space reserved whatever the section count, so section RVAs and file offsets are known as soon as a section is added. */
const HEADER_BYTES = 0x400;
const NT_OFFSET = 0x40;
const MAX_SECTIONS = 16;

export const TEXT = 0x60000020; // CNT_CODE | MEM_EXECUTE | MEM_READ
export const RDATA = 0x40000040; // CNT_INITIALIZED_DATA | MEM_READ
export const DATA = 0xc0000040; // CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE

interface PlacedSection {
  readonly name: string;
  readonly data: Uint8Array;
  readonly rva: number;
  readonly fileOffset: number;
  readonly rawSize: number;
  readonly virtualSize: number;
  readonly characteristics: number;
}

export class PeBuilder {
  readonly is64: boolean;
  readonly machine: number;
  readonly imageBase: bigint;
  readonly timeDateStamp: number;
  readonly checksum: number;
  readonly sectionAlignment: number;
  readonly fileAlignment: number;
  private readonly sections: PlacedSection[] = [];
  private readonly directories: { rva: number; size: number }[] = Array.from({ length: 16 }, () => ({ rva: 0, size: 0 }));

  constructor(options: BuilderOptions = {}) {
    this.is64 = options.is64 ?? true;
    this.machine = options.machine ?? (this.is64 ? Machine.AMD64 : Machine.I386);
    this.imageBase = options.imageBase ?? (this.is64 ? 0x140000000n : 0x400000n);
    this.timeDateStamp = options.timeDateStamp ?? 0x5f000000;
    this.checksum = options.checksum ?? 0;
    this.sectionAlignment = options.sectionAlignment ?? 0x1000;
    this.fileAlignment = options.fileAlignment ?? 0x200;
  }

  /** The RVA the next section will get. */
  get nextRva(): number {
    const last = this.sections[this.sections.length - 1];
    return last ? alignUp(last.rva + Math.max(last.virtualSize, 1), this.sectionAlignment) : alignUp(HEADER_BYTES, this.sectionAlignment);
  }

  /** The file offset the next section's data will get. */
  get nextFileOffset(): number {
    const last = this.sections[this.sections.length - 1];
    return last ? last.fileOffset + last.rawSize : HEADER_BYTES;
  }

  get sizeOfImage(): number {
    return this.nextRva;
  }

  /** Adds a section after the last one; returns its RVA. */
  section(spec: SectionSpec): number {
    if (this.sections.length >= MAX_SECTIONS) throw new Error('PeBuilder: too many sections');
    const data = Uint8Array.from(spec.data);
    const rva = this.nextRva;
    this.sections.push({
      name: spec.name,
      data,
      rva,
      fileOffset: this.nextFileOffset,
      rawSize: alignUp(data.length, this.fileAlignment),
      virtualSize: spec.virtualSize ?? data.length,
      characteristics: spec.characteristics ?? RDATA,
    });
    return rva;
  }

  directory(index: number, rva: number, size: number): this {
    this.directories[index] = { rva, size };
    return this;
  }

  /** The image as bytes: headers, then each section's data (file layout) or at its RVA (memory layout). */
  bytes(layout: 'file' | 'memory'): Uint8Array {
    const headers = this.headers();
    if (layout === 'memory') {
      const out = new Uint8Array(this.sizeOfImage);
      out.set(headers, 0);
      for (const s of this.sections) out.set(s.data.subarray(0, Math.min(s.data.length, s.virtualSize)), s.rva);
      return out;
    }
    const out = new Uint8Array(this.nextFileOffset);
    out.set(headers, 0);
    for (const s of this.sections) out.set(s.data, s.fileOffset);
    return out;
  }

  /** ImageBytes over the built image; `holes` (memory layout) are ranges whose reads come back undefined. */
  build(layout: 'file' | 'memory', options: { name?: string; holes?: readonly { rva: number; size: number }[] } = {}): ImageBytes {
    return imageBytes(this.bytes(layout), layout, options.name ?? `test.${layout === 'file' ? 'exe' : 'mem'}`, options.holes);
  }

  private headers(): Uint8Array {
    const optSize = this.is64 ? 240 : 224;
    const out = new Uint8Array(HEADER_BYTES);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0x5a4d, true); // MZ
    v.setUint32(0x3c, NT_OFFSET, true);
    v.setUint32(NT_OFFSET, 0x4550, true); // PE\0\0
    const fh = NT_OFFSET + 4;
    v.setUint16(fh, this.machine, true);
    v.setUint16(fh + 2, this.sections.length, true);
    v.setUint32(fh + 4, this.timeDateStamp, true);
    v.setUint16(fh + 16, optSize, true);
    v.setUint16(fh + 18, this.is64 ? 0x0022 : 0x0102, true);
    const oh = fh + 20;
    v.setUint16(oh, this.is64 ? 0x20b : 0x10b, true);
    if (this.is64) v.setBigUint64(oh + 24, this.imageBase, true);
    else v.setUint32(oh + 28, Number(this.imageBase), true);
    v.setUint32(oh + 32, this.sectionAlignment, true);
    v.setUint32(oh + 36, this.fileAlignment, true);
    v.setUint32(oh + 56, this.sizeOfImage, true);
    v.setUint32(oh + 60, HEADER_BYTES, true);
    v.setUint32(oh + 64, this.checksum, true);
    const dirs = oh + (this.is64 ? 112 : 96);
    v.setUint32(dirs - 4, 16, true); // NumberOfRvaAndSizes
    this.directories.forEach((d, i) => {
      v.setUint32(dirs + i * 8, d.rva, true);
      v.setUint32(dirs + i * 8 + 4, d.size, true);
    });
    let at = oh + optSize;
    for (const s of this.sections) {
      for (let i = 0; i < Math.min(8, s.name.length); i++) out[at + i] = s.name.charCodeAt(i);
      v.setUint32(at + 8, s.virtualSize, true);
      v.setUint32(at + 12, s.rva, true);
      v.setUint32(at + 16, s.rawSize, true);
      v.setUint32(at + 20, s.fileOffset, true);
      v.setUint32(at + 36, s.characteristics, true);
      at += 40;
    }
    return out;
  }
}

/** ImageBytes over a buffer; reads past its end or touching a hole return undefined. */
export function imageBytes(bytes: Uint8Array, layout: 'file' | 'memory', name = 'test.exe', holes: readonly { rva: number; size: number }[] = []): ImageBytes {
  return {
    name,
    layout,
    read(offset: number, length: number): Promise<Uint8Array | undefined> {
      if (offset < 0 || length < 0 || offset + length > bytes.length) return Promise.resolve(undefined);
      if (holes.some((h) => offset < h.rva + h.size && h.rva < offset + length)) return Promise.resolve(undefined);
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
  };
}

/** Little-endian bytes from a list of [width, value] pairs, for hand-built structures. */
export function le(...fields: readonly (readonly [1 | 2 | 4 | 8, number | bigint])[]): Uint8Array {
  const size = fields.reduce((n, [w]) => n + w, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const [w, value] of fields) {
    if (w === 1) v.setUint8(at, Number(value));
    else if (w === 2) v.setUint16(at, Number(value), true);
    else if (w === 4) v.setUint32(at, Number(value), true);
    else v.setBigUint64(at, BigInt(value), true);
    at += w;
  }
  return out;
}

export function concat(...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RUNTIME_FUNCTION entries, 12 bytes each. */
export function runtimeFunctions(entries: readonly { begin: number; end: number; unwindInfo: number }[]): Uint8Array {
  return concat(...entries.map((e) => le([4, e.begin], [4, e.end], [4, e.unwindInfo])));
}

/** UNWIND_CODE slots (u16 each), by operation, in the encodings of "x64 exception handling". */
export const uw = {
  slot: (codeOffset: number, op: number, info: number): number => (codeOffset & 0xff) | ((op & 0xf) << 8) | ((info & 0xf) << 12),
  pushNonvol: (codeOffset: number, register: number): number[] => [uw.slot(codeOffset, 0, register)],
  /** Size / 8 in one slot (info 0), or the unscaled size in two (info 1). */
  allocLarge: (codeOffset: number, size: number, form: 'scaled' | '32bit' = 'scaled'): number[] =>
    form === 'scaled' ? [uw.slot(codeOffset, 1, 0), size / 8] : [uw.slot(codeOffset, 1, 1), size & 0xffff, size >>> 16],
  allocSmall: (codeOffset: number, size: number): number[] => [uw.slot(codeOffset, 2, size / 8 - 1)],
  setFpreg: (codeOffset: number): number[] => [uw.slot(codeOffset, 3, 0)],
  saveNonvol: (codeOffset: number, register: number, offset: number): number[] => [uw.slot(codeOffset, 4, register), offset / 8],
  saveNonvolFar: (codeOffset: number, register: number, offset: number): number[] => [uw.slot(codeOffset, 5, register), offset & 0xffff, offset >>> 16],
  saveXmm128: (codeOffset: number, register: number, offset: number): number[] => [uw.slot(codeOffset, 8, register), offset / 16],
  saveXmm128Far: (codeOffset: number, register: number, offset: number): number[] => [uw.slot(codeOffset, 9, register), offset & 0xffff, offset >>> 16],
  pushMachframe: (codeOffset: number, errorCode: boolean): number[] => [uw.slot(codeOffset, 10, errorCode ? 1 : 0)],
  /** The first UWOP_EPILOG: every epilog's size, and whether one ends the function. */
  epilogHead: (size: number, atEnd: boolean): number[] => [uw.slot(size, 6, atEnd ? 1 : 0)],
  /** A further UWOP_EPILOG: an epilog's offset from the function's end (0 is padding). */
  epilogAt: (offsetFromEnd: number): number[] => [uw.slot(offsetFromEnd & 0xff, 6, offsetFromEnd >> 8)],
} as const;

export interface UnwindInfoSpec {
  readonly version?: number;
  readonly flags?: number;
  readonly sizeOfProlog?: number;
  readonly frameRegister?: number;
  readonly frameOffset?: number;
  /** Slots, in array order (the reverse of the prologue's). */
  readonly codes?: readonly (readonly number[])[];
  readonly handler?: number;
  readonly handlerData?: readonly number[];
  readonly chained?: { begin: number; end: number; unwindInfo: number };
}

/** An UNWIND_INFO: header, codes padded to an even count, then the handler or the chained entry. */
export function unwindInfo(spec: UnwindInfoSpec): Uint8Array {
  const slots = (spec.codes ?? []).flat();
  const flags = (spec.flags ?? 0) | (spec.chained ? 4 : 0);
  const header = le(
    [1, (spec.version ?? 1) | (flags << 3)],
    [1, spec.sizeOfProlog ?? 0],
    [1, slots.length],
    [1, (spec.frameRegister ?? 0) | ((spec.frameOffset ?? 0) << 4)],
  );
  const codes = concat(...slots.map((s) => le([2, s])), slots.length % 2 ? le([2, 0]) : []);
  const tail = spec.chained
    ? runtimeFunctions([spec.chained])
    : spec.handler !== undefined
      ? concat(le([4, spec.handler]), spec.handlerData ?? [])
      : new Uint8Array(0);
  return concat(header, codes, tail);
}

/** A GUID's 16 bytes from its usual dashed text. */
export function guidBytes(text: string): Uint8Array {
  const h = text.replace(/-/g, '');
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setUint32(0, parseInt(h.slice(0, 8), 16), true);
  v.setUint16(4, parseInt(h.slice(8, 12), 16), true);
  v.setUint16(6, parseInt(h.slice(12, 16), 16), true);
  for (let i = 0; i < 8; i++) out[8 + i] = parseInt(h.slice(16 + i * 2, 18 + i * 2), 16);
  return out;
}

/** CodeView RSDS record: signature, GUID, age, NUL-terminated PDB path. */
export function rsdsRecord(guid: string, age: number, path: string): Uint8Array {
  return concat(le([4, 0x53445352]), guidBytes(guid), le([4, age]), new TextEncoder().encode(path + '\0'));
}

/** CodeView NB10 record: signature, offset, timestamp signature, age, NUL-terminated PDB path. */
export function nb10Record(signature: number, age: number, path: string): Uint8Array {
  return concat(le([4, 0x3031424e], [4, 0], [4, signature], [4, age]), new TextEncoder().encode(path + '\0'));
}

/**
 * A debug directory section: one IMAGE_DEBUG_DIRECTORY per record, then the records. `rva` and
 * `fileOffset` are where the section will be (PeBuilder's nextRva and nextFileOffset).
 */
export function debugDirectory(rva: number, fileOffset: number, records: readonly { type: number; data: Uint8Array }[]): Uint8Array {
  let dataAt = records.length * 28;
  const entries: Uint8Array[] = [];
  for (const r of records) {
    entries.push(le([4, 0], [4, 0], [2, 0], [2, 0], [4, r.type], [4, r.data.length], [4, rva + dataAt], [4, fileOffset + dataAt]));
    dataAt += r.data.length;
  }
  return concat(...entries, ...records.map((r) => r.data));
}

export type ExportSpec =
  | { readonly rva: number; readonly names?: readonly string[] }
  | { readonly forwarder: string; readonly names?: readonly string[] }
  | undefined;

/**
 * An export directory section at `rva`: IMAGE_EXPORT_DIRECTORY, the address, name pointer and
 * ordinal tables, then the strings. `functions[i]` has ordinal base + i; undefined leaves a gap.
 */
export function exportDirectory(rva: number, dllName: string, base: number, functions: readonly ExportSpec[]): { bytes: Uint8Array; size: number } {
  const named = functions.flatMap((f, index) => (f?.names ?? []).map((name) => ({ name, index }))).sort((a, b) => (a.name < b.name ? -1 : 1));
  const eat = 40;
  const npt = eat + functions.length * 4;
  const ot = npt + named.length * 4;
  const strings = ot + named.length * 2;
  const text: number[] = [];
  const addString = (s: string): number => {
    const at = strings + text.length;
    text.push(...new TextEncoder().encode(s), 0);
    return rva + at;
  };
  const nameRva = addString(dllName);
  const addresses = functions.map((f) => (f === undefined ? 0 : 'forwarder' in f ? addString(f.forwarder) : f.rva));
  const namePointers = named.map((n) => addString(n.name));
  const header = le([4, 0], [4, 0], [2, 0], [2, 0], [4, nameRva], [4, base], [4, functions.length], [4, named.length], [4, rva + eat], [4, rva + npt], [4, rva + ot]);
  const bytes = concat(
    header,
    ...addresses.map((a) => le([4, a])),
    ...namePointers.map((p) => le([4, p])),
    ...named.map((n) => le([2, n.index])),
    text,
  );
  return { bytes, size: bytes.length };
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
