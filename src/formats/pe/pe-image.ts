import { FormatError } from '../../io/errors.js';
import { Reader, cString } from '../../io/reader.js';
import { readCodeView, type CodeView } from './codeview.js';
import { DOS_SIGNATURE, Limits, Machine, NT_SIGNATURE, PE32_MAGIC, PE32_PLUS_MAGIC, SectionFlags } from './constants.js';
import { readExportTable, type ExportTable } from './exports.js';
import {
  FunctionTable,
  loadFunctionTable,
  type Arm64RuntimeFunction,
  type ArmRuntimeFunction,
  type FunctionLookup,
  type RuntimeFunction,
} from './function-table.js';

/**
 * Bytes of an image. `layout` says where sections are: 'file' as on disk (at PointerToRawData),
 * 'memory' as loaded (at their RVA), e.g. captured in a full-memory dump. `read` returns undefined
 * when those bytes are not available (holes in dump memory, past the end of a file).
 */
export interface ImageBytes {
  readonly name: string;
  readonly layout: 'file' | 'memory';
  read(offset: number, length: number): Promise<Uint8Array | undefined>;
}

/** IMAGE_SECTION_HEADER, 40 bytes. */
export interface PeSection {
  readonly name: string;
  readonly virtualAddress: number;
  readonly virtualSize: number;
  /** PointerToRawData: where the section's bytes start in the file. */
  readonly rawDataOffset: number;
  /** SizeOfRawData: how many of them the file holds (the rest of the section is zeros). */
  readonly rawDataSize: number;
  readonly characteristics: number;
}

/** IMAGE_DATA_DIRECTORY. */
export interface DataDirectory {
  readonly rva: number;
  readonly size: number;
}

/** A PE32 or PE32+ image (PE format, "Overview"): headers parsed at once, tables read when asked for. */
export class PeImage {
  readonly bytes: ImageBytes;
  readonly machine: number;
  readonly is64: boolean;
  readonly timeDateStamp: number;
  readonly sizeOfImage: number;
  readonly sizeOfHeaders: number;
  readonly sectionAlignment: number;
  readonly imageBase: bigint;
  readonly checksum: number;
  readonly sections: readonly PeSection[];
  readonly directories: readonly DataDirectory[];
  private exportsLoad: Promise<ExportTable> | undefined;
  private codeViewLoad: Promise<CodeView | undefined> | undefined;
  private x64Table: Promise<FunctionTable | 'unreadable'> | undefined;
  /** The 8-byte .pdata table (BeginAddress, UnwindData) of an ARM64 or ARM image: an image has one machine. */
  private pairTable: Promise<FunctionTable | 'unreadable'> | undefined;

  private constructor(bytes: ImageBytes, headers: Headers) {
    this.bytes = bytes;
    this.machine = headers.machine;
    this.is64 = headers.is64;
    this.timeDateStamp = headers.timeDateStamp;
    this.sizeOfImage = headers.sizeOfImage;
    this.sizeOfHeaders = headers.sizeOfHeaders;
    this.sectionAlignment = headers.sectionAlignment;
    this.imageBase = headers.imageBase;
    this.checksum = headers.checksum;
    this.sections = headers.sections;
    this.directories = headers.directories;
  }

  /** Reads the DOS and NT headers, the section table and the data directories; throws FormatError when they are not a PE image's. */
  static async parse(bytes: ImageBytes): Promise<PeImage> {
    return new PeImage(bytes, await readHeaders(bytes));
  }

  get name(): string {
    return this.bytes.name;
  }

  /** The data directory at `index` (see `Directory`), or undefined when absent or empty. */
  directory(index: number): DataDirectory | undefined {
    const d = this.directories[index];
    return d && d.rva !== 0 && d.size !== 0 ? d : undefined;
  }

  /** The section whose loaded range holds `rva`. */
  sectionAt(rva: number): PeSection | undefined {
    for (const s of this.sections) {
      if (rva >= s.virtualAddress && rva - s.virtualAddress < this.mappedSize(s)) return s;
    }
    return undefined;
  }

  /** Whether the section holding `rva` is code or executable (section characteristics). */
  isExecutable(rva: number): boolean {
    const s = this.sectionAt(rva);
    return s !== undefined && (s.characteristics & (SectionFlags.MEM_EXECUTE | SectionFlags.CNT_CODE)) !== 0;
  }

  /**
   * Bytes at an RVA as the loader maps them: through the section table for a 'file' image (the
   * part of a section past its raw data reads as zeros), directly for a 'memory' image. Undefined
   * when any byte is outside SizeOfImage, in no section or headers, or not available.
   */
  async readRva(rva: number, length: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(rva) || !Number.isSafeInteger(length) || rva < 0 || length < 0) return undefined;
    if (rva + length > this.sizeOfImage) return undefined;
    if (length === 0) return new Uint8Array(0);
    if (this.bytes.layout === 'memory') return exactly(await this.bytes.read(rva, length), length);
    const pieces: Uint8Array[] = [];
    let at = rva;
    while (at < rva + length) {
      const piece = this.mapFileRva(at);
      if (!piece) return undefined;
      const n = Math.min(piece.available, rva + length - at);
      if (piece.fileOffset === undefined) {
        pieces.push(new Uint8Array(n));
      } else {
        const got = exactly(await this.bytes.read(piece.fileOffset, n), n);
        if (!got) return undefined;
        pieces.push(got);
      }
      at += n;
    }
    if (pieces.length === 1) return pieces[0];
    const out = new Uint8Array(length);
    let pos = 0;
    for (const p of pieces) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }

  /** The CodeView record of the debug directory (RSDS or NB10), naming the PDB and its Breakpad-style debug id. */
  codeView(): Promise<CodeView | undefined> {
    this.codeViewLoad ??= readCodeView(this);
    return this.codeViewLoad;
  }

  /** The export directory: names, ordinals and forwarders, sorted by RVA; empty when the image has none. */
  exports(): Promise<ExportTable> {
    this.exportsLoad ??= readExportTable(this);
    return this.exportsLoad;
  }

  /** The x64 RUNTIME_FUNCTION (.pdata, 12 bytes) whose [begin, end) holds `rva`; the table is read once, on first use. */
  async functionEntry(rva: number): Promise<RuntimeFunction | undefined> {
    const found = await this.lookupFunctionEntry(rva);
    return found.kind === 'found' ? found.entry : undefined;
  }

  /**
   * Like `functionEntry`, but tells "no entry covers rva" (a leaf function, for an unwinder) from
   * "the part of the table that would say is not available" (holes in dump memory).
   */
  async lookupFunctionEntry(rva: number): Promise<FunctionLookup<RuntimeFunction>> {
    if (this.machine !== Machine.AMD64) return { kind: 'none' };
    this.x64Table ??= loadFunctionTable(this, 12);
    const table = await this.x64Table;
    if (table === 'unreadable') return { kind: 'unreadable' };
    return table.lookupX64(rva);
  }

  /**
   * The ARM64 .pdata entry (8 bytes: BeginAddress, UnwindData) with the greatest BeginAddress at or
   * below `rva`: the candidate function; whether it extends to `rva` is in its unwind data.
   */
  async arm64FunctionEntry(rva: number): Promise<Arm64RuntimeFunction | undefined> {
    const found = await this.lookupArm64FunctionEntry(rva);
    return found.kind === 'found' ? found.entry : undefined;
  }

  async lookupArm64FunctionEntry(rva: number): Promise<FunctionLookup<Arm64RuntimeFunction>> {
    if (this.machine !== Machine.ARM64) return { kind: 'none' };
    this.pairTable ??= loadFunctionTable(this, 8);
    const table = await this.pairTable;
    if (table === 'unreadable') return { kind: 'unreadable' };
    return table.lookupArm64(rva);
  }

  /**
   * The ARM (ARMNT, Thumb-2) .pdata entry (8 bytes: BeginAddress with the Thumb bit, UnwindData)
   * whose function start (BeginAddress & ~1) is the greatest at or below `rva`: the candidate
   * function; whether it extends to `rva` is in its unwind data (`armFunctionLength`).
   */
  async armFunctionEntry(rva: number): Promise<ArmRuntimeFunction | undefined> {
    const found = await this.lookupArmFunctionEntry(rva);
    return found.kind === 'found' ? found.entry : undefined;
  }

  async lookupArmFunctionEntry(rva: number): Promise<FunctionLookup<ArmRuntimeFunction>> {
    if (this.machine !== Machine.ARMNT) return { kind: 'none' };
    this.pairTable ??= loadFunctionTable(this, 8);
    const table = await this.pairTable;
    if (table === 'unreadable') return { kind: 'unreadable' };
    return table.lookupArm(rva);
  }

  /** How many bytes of the section the loader maps: VirtualSize (or SizeOfRawData when 0), to the section alignment, within the image. */
  private mappedSize(s: PeSection): number {
    const size = alignUp(s.virtualSize || s.rawDataSize, this.sectionAlignment);
    return Math.max(0, Math.min(size, this.sizeOfImage - s.virtualAddress));
  }

  /** Where the bytes at `rva` of a file image are: a file offset, or zero fill (fileOffset undefined), and for how many bytes. */
  private mapFileRva(rva: number): { fileOffset: number | undefined; available: number } | undefined {
    if (rva < this.sizeOfHeaders) return { fileOffset: rva, available: this.sizeOfHeaders - rva };
    for (const s of this.sections) {
      const into = rva - s.virtualAddress;
      const mapped = this.mappedSize(s);
      if (into < 0 || into >= mapped) continue;
      const raw = Math.min(s.rawDataSize, mapped);
      if (into < raw) return { fileOffset: s.rawDataOffset + into, available: raw - into };
      return { fileOffset: undefined, available: mapped - into };
    }
    return undefined;
  }
}

interface Headers {
  machine: number;
  is64: boolean;
  timeDateStamp: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  sectionAlignment: number;
  imageBase: bigint;
  checksum: number;
  sections: PeSection[];
  directories: DataDirectory[];
}

async function readStructure(bytes: ImageBytes, offset: number, length: number, structure: string): Promise<Reader> {
  const got = exactly(await bytes.read(offset, length), length);
  if (!got) throw new FormatError(bytes.name, structure, offset, `needs ${length} bytes that are not available (truncated?)`);
  return new Reader(got, bytes.name, offset, structure);
}

async function readHeaders(bytes: ImageBytes): Promise<Headers> {
  const dos = await readStructure(bytes, 0, 64, 'IMAGE_DOS_HEADER');
  if (dos.u16(0) !== DOS_SIGNATURE) throw dos.error(0, 'not a PE image (signature is not "MZ")');
  const ntOffset = dos.u32(0x3c);
  if (ntOffset < 64 || ntOffset > Limits.ntHeadersOffset) throw dos.error(0x3c, `implausible e_lfanew 0x${ntOffset.toString(16)}`);

  const file = await readStructure(bytes, ntOffset, 24, 'IMAGE_NT_HEADERS');
  if (file.u32(0) !== NT_SIGNATURE) throw file.error(0, 'not a PE image (no "PE\\0\\0" signature)');
  // IMAGE_FILE_HEADER, 20 bytes after the signature
  const machine = file.u16(4);
  const sectionCount = file.u16(6);
  const timeDateStamp = file.u32(8);
  const optionalSize = file.u16(20);

  const opt = await readStructure(bytes, ntOffset + 24, optionalSize, 'IMAGE_OPTIONAL_HEADER');
  if (optionalSize < 2) throw opt.error(0, `SizeOfOptionalHeader ${optionalSize} has no room for the magic`);
  const magic = opt.u16(0);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) throw opt.error(0, `unknown optional header magic 0x${magic.toString(16)}`);
  const is64 = magic === PE32_PLUS_MAGIC;
  // The fixed part ends where the data directories begin: 96 bytes in PE32, 112 in PE32+.
  const fixed = is64 ? 112 : 96;
  if (optionalSize < fixed) throw opt.error(0, `SizeOfOptionalHeader ${optionalSize} is smaller than the ${fixed} bytes of a ${is64 ? 'PE32+' : 'PE32'} header`);
  const imageBase = is64 ? opt.u64(24) : BigInt(opt.u32(28));
  const sectionAlignment = opt.u32(32);
  const sizeOfImage = opt.u32(56);
  const sizeOfHeaders = opt.u32(60);
  const checksum = opt.u32(64);
  const directoryCount = Math.min(opt.u32(fixed - 4), Limits.dataDirectories, Math.floor((optionalSize - fixed) / 8));
  if (sectionAlignment === 0 || (sectionAlignment & (sectionAlignment - 1)) !== 0) {
    throw opt.error(32, `SectionAlignment 0x${sectionAlignment.toString(16)} is not a power of two`);
  }
  const directories: DataDirectory[] = [];
  for (let i = 0; i < directoryCount; i++) directories.push({ rva: opt.u32(fixed + i * 8), size: opt.u32(fixed + i * 8 + 4) });

  const tableOffset = ntOffset + 24 + optionalSize;
  const table = await readStructure(bytes, tableOffset, sectionCount * 40, 'IMAGE_SECTION_HEADER');
  const symbolTable = file.u32(12);
  const symbolCount = file.u32(16);
  const sections: PeSection[] = [];
  for (let i = 0; i < Math.min(sectionCount, Limits.sections); i++) {
    const at = i * 40;
    sections.push({
      name: cString(table.slice(8, at)),
      virtualSize: table.u32(at + 8),
      virtualAddress: table.u32(at + 12),
      rawDataSize: table.u32(at + 16),
      rawDataOffset: table.u32(at + 20),
      characteristics: table.u32(at + 36),
    });
  }
  return {
    machine,
    is64,
    timeDateStamp,
    sizeOfImage,
    sizeOfHeaders: Math.min(sizeOfHeaders, sizeOfImage),
    sectionAlignment,
    imageBase,
    checksum,
    sections: await resolveLongNames(bytes, sections, symbolTable, symbolCount),
    directories,
  };
}

/**
 * Section names longer than 8 bytes are written "/<offset>" into the COFF string table, after the
 * symbol table (PE format, "Section Table"); mingw-w64 does this for its .debug_* sections. Only a
 * file has that table; elsewhere, or if it cannot be read, the names stay as written.
 */
async function resolveLongNames(bytes: ImageBytes, sections: PeSection[], symbolTable: number, symbolCount: number): Promise<PeSection[]> {
  const long = (name: string): number | undefined => {
    const m = /^\/(\d{1,7})$/.exec(name);
    return m ? Number(m[1]) : undefined;
  };
  if (bytes.layout !== 'file' || symbolTable === 0 || !sections.some((s) => long(s.name) !== undefined)) return sections;
  const at = symbolTable + symbolCount * 18;
  const head = await bytes.read(at, 4);
  if (!head || head.length !== 4) return sections;
  const size = Math.min(new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true), MAX_STRING_TABLE);
  const table = size > 4 ? await bytes.read(at, size) : undefined;
  if (!table || table.length !== size) return sections;
  return sections.map((s) => {
    const offset = long(s.name);
    if (offset === undefined || offset < 4 || offset >= size || !table.subarray(offset).includes(0)) return s;
    return { ...s, name: cString(table.subarray(offset)) };
  });
}

const MAX_STRING_TABLE = 1 << 20;

/** The read's bytes if all `length` came back (a short read is as good as none). */
function exactly(got: Uint8Array | undefined, length: number): Uint8Array | undefined {
  return got !== undefined && got.length === length ? got : undefined;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

