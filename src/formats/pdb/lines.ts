/**
 * C13 line information: the subsections after a module stream's symbols (DEBUG_S_LINES,
 * DEBUG_S_FILECHKSMS, DEBUG_S_INLINEELINES; cvinfo.h's DEBUG_S_SUBSECTION_TYPE and LLVM's "The
 * Module Information Stream" / CodeView line docs), and the `/names` string table they point into.
 */
import { Reader, cString } from '../../io/reader.js';

/** DEBUG_S_SUBSECTION_TYPE values read here; 0x80000000 marks a subsection to ignore. */
const DEBUG_S_LINES = 0xf2;
const DEBUG_S_FILECHKSMS = 0xf4;
const DEBUG_S_INLINEELINES = 0xf6;
const DEBUG_S_CROSSSCOPEIMPORTS = 0xf7;
const DEBUG_S_CROSSSCOPEEXPORTS = 0xf8;
const DEBUG_S_IGNORE = 0x80000000;
/** CV_LINES_HAVE_COLUMNS in a DEBUG_S_LINES header's flags. */
const CV_LINES_HAVE_COLUMNS = 1;
/** The `/names` stream's signature (PDBStringTableHeader). */
const NAMES_SIGNATURE = 0xeffeeffe;

/** The `/names` stream: NUL-terminated strings addressed by byte offset into its buffer. */
export class StringTable {
  private readonly buffer: Uint8Array;
  private readonly cache = new Map<number, string>();

  private constructor(buffer: Uint8Array) {
    this.buffer = buffer;
  }

  /** Parses the header (signature, hash version, buffer size) and keeps the buffer; the hash is not needed. */
  static parse(r: Reader): StringTable {
    if (r.length < 12) throw r.error(0, 'the /names stream is shorter than its 12-byte header');
    const signature = r.u32(0);
    if (signature !== NAMES_SIGNATURE) throw r.error(0, `/names signature 0x${signature.toString(16)} is not 0xeffeeffe`);
    const size = r.u32(8);
    return new StringTable(r.slice(size, 12));
  }

  static empty(): StringTable {
    return new StringTable(new Uint8Array(0));
  }

  /** A table over string bytes alone (the buffer after the header). */
  static fromStrings(buffer: Uint8Array): StringTable {
    return new StringTable(buffer);
  }

  get byteSize(): number {
    return this.buffer.length;
  }

  /** The string at a byte offset, or undefined when the offset is past the buffer. */
  get(offset: number): string | undefined {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.buffer.length) return undefined;
    let s = this.cache.get(offset);
    if (s === undefined) {
      s = cString(this.buffer.subarray(offset));
      this.cache.set(offset, s);
    }
    return s;
  }

  /** As `get`, but a string that runs to the end of the buffer without its NUL is no string. */
  at(offset: number): string | undefined {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.buffer.length || this.buffer.indexOf(0, offset) < 0) return undefined;
    return this.get(offset);
  }
}

/** One line entry: code at [address, address + size) (section-relative) comes from `line` of the file at checksum offset `fileId`; size 0 when a later entry starts at the same offset. */
export interface LineEntry {
  readonly section: number;
  readonly offset: number;
  readonly size: number;
  /** Offset of the file's entry in DEBUG_S_FILECHKSMS. */
  readonly fileId: number;
  readonly line: number;
  readonly isStatement: boolean;
}

/** An inlinee's first source line (DEBUG_S_INLINEELINES), keyed by its IPI id. */
export interface InlineeSourceLine {
  readonly fileId: number;
  readonly line: number;
}

export interface C13Lines {
  /** Line entries sorted by section then offset (stable: empty entries before the one covering their offset). */
  readonly lines: readonly LineEntry[];
  /** DEBUG_S_FILECHKSMS: checksum entry offset -> `/names` offset of the file name. */
  readonly fileNameOffsets: ReadonlyMap<number, number>;
  readonly inlinees: ReadonlyMap<number, InlineeSourceLine>;
  /**
   * DEBUG_S_CROSSSCOPEIMPORTS: ids this module uses from others. An id with the top bit set names
   * import `(id >> 20) & 0x7ff` and entry `id & 0xfffff`, a local id of the module whose name is at
   * `scope` in `/names`; that module's exports map it to the IPI id.
   */
  readonly imports: readonly { readonly scope: number; readonly ids: readonly number[] }[];
  /** DEBUG_S_CROSSSCOPEEXPORTS: local id -> IPI (global) id. */
  readonly exports: ReadonlyMap<number, number>;
  /** Subsections skipped as malformed (their bytes did not fit their declared sizes). */
  readonly skipped: number;
}

/**
 * Reads the C13 subsections of one module. A subsection whose contents do not fit is skipped
 * (counted in `skipped`); a subsection header that runs past the data ends the walk.
 */
export function parseC13Lines(r: Reader): C13Lines {
  const lines: LineEntry[] = [];
  const fileNameOffsets = new Map<number, number>();
  const inlinees = new Map<number, InlineeSourceLine>();
  const imports: { scope: number; ids: number[] }[] = [];
  const exports = new Map<number, number>();
  let skipped = 0;
  let at = 0;
  while (at + 8 <= r.length) {
    const kind = r.u32(at);
    const length = r.u32(at + 4);
    if (length > r.length - at - 8) {
      skipped++;
      break;
    }
    const body = r.sub(at + 8, length, 'C13 subsection');
    if ((kind & DEBUG_S_IGNORE) === 0) {
      try {
        if (kind === DEBUG_S_LINES) parseLines(body, lines);
        else if (kind === DEBUG_S_FILECHKSMS) parseFileChecksums(body, fileNameOffsets);
        else if (kind === DEBUG_S_INLINEELINES) parseInlineeLines(body, inlinees);
        else if (kind === DEBUG_S_CROSSSCOPEIMPORTS) parseImports(body, imports);
        else if (kind === DEBUG_S_CROSSSCOPEEXPORTS) for (let i = 0; i + 8 <= body.length; i += 8) exports.set(body.u32(i), body.u32(i + 4));
      } catch {
        skipped++;
      }
    }
    at += 8 + ((length + 3) & ~3);
  }
  lines.sort((a, b) => a.section - b.section || a.offset - b.offset);
  return { lines, fileNameOffsets, inlinees, imports, exports, skipped };
}

// CV_DebugSLinesHeader_t (offCon u32, segCon u16, flags u16, cbCon u32), then blocks of
// CV_DebugSLinesFileBlockHeader_t (fileid, nLines, cbBlock) with nLines CV_Line_t (offset u32,
// linenumStart:24 deltaLineEnd:7 fStatement:1) and, with columns, nLines CV_Column_t.
function parseLines(r: Reader, out: LineEntry[]): void {
  const base = r.u32(0);
  const section = r.u16(4);
  const hasColumns = (r.u16(6) & CV_LINES_HAVE_COLUMNS) !== 0;
  const end = base + r.u32(8);
  const entries: { offset: number; fileId: number; line: number; isStatement: boolean }[] = [];
  let at = 12;
  while (at + 12 <= r.length) {
    const fileId = r.u32(at);
    const count = r.u32(at + 4);
    const blockSize = r.u32(at + 8);
    const needed = 12 + count * (hasColumns ? 12 : 8);
    if (blockSize < needed || blockSize > r.length - at) throw r.error(at, `line block of ${count} lines does not fit its ${blockSize} bytes`);
    for (let i = 0; i < count; i++) {
      const bits = r.u32(at + 16 + i * 8);
      entries.push({ offset: base + r.u32(at + 12 + i * 8), fileId, line: bits & 0xffffff, isStatement: (bits & 0x80000000) !== 0 });
    }
    at += blockSize;
  }
  // A line runs to the next line's offset in the same contribution, the last one to its end. Of
  // lines at one offset (a function's opening brace and its first statement), the last covers the
  // code: the earlier ones are empty (size 0), as DIA reports them and dump_syms prints them;
  // findLine passes over them.
  entries.sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const next = i + 1 < entries.length ? entries[i + 1]!.offset : end;
    out.push({ section, offset: e.offset, size: Math.max(0, next - e.offset), fileId: e.fileId, line: e.line, isStatement: e.isStatement });
  }
}

// FileChecksumEntryHeader: FileNameOffset u32, ChecksumSize u8, ChecksumKind u8, checksum, aligned to 4.
function parseFileChecksums(r: Reader, out: Map<number, number>): void {
  let at = 0;
  while (at + 6 <= r.length) {
    out.set(at, r.u32(at));
    const size = r.u8(at + 4);
    at = (at + 6 + size + 3) & ~3;
  }
}

// CV_INLINEE_SOURCE_LINE_SIGNATURE (0) entries: inlinee u32, fileId u32, sourceLineNum u32;
// the _EX signature (1) adds countOfExtraFiles u32 and that many file ids.
function parseInlineeLines(r: Reader, out: Map<number, InlineeSourceLine>): void {
  const signature = r.u32(0);
  if (signature !== 0 && signature !== 1) throw r.error(0, `inlinee lines signature ${signature} is neither 0 nor 1`);
  let at = 4;
  while (at + 12 <= r.length) {
    out.set(r.u32(at), { fileId: r.u32(at + 4), line: r.u32(at + 8) });
    at += 12;
    if (signature === 1) at += 4 + r.u32(at) * 4;
  }
}

// CrossModuleImport: ModuleNameOffset u32, Count u32, Count referenced local ids.
function parseImports(r: Reader, out: { scope: number; ids: number[] }[]): void {
  let at = 0;
  while (at + 8 <= r.length) {
    const count = r.u32(at + 4);
    if (count > (r.length - at - 8) / 4) throw r.error(at, `cross-scope import of ${count} ids does not fit`);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(r.u32(at + 8 + i * 4));
    out.push({ scope: r.u32(at), ids });
    at += 8 + count * 4;
  }
}

/** Index of the line entry covering section:offset, or -1 (lines sorted as parseC13Lines leaves them). */
export function findLine(lines: readonly LineEntry[], section: number, offset: number): number {
  let lo = 0;
  let hi = lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const l = lines[mid]!;
    if (l.section < section || (l.section === section && l.offset <= offset)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return -1;
  const l = lines[found]!;
  return l.section === section && offset - l.offset < l.size ? found : -1;
}
