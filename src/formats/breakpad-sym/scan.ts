// One streaming pass over a .sym file that records, per record, only the numbers lookups search by
// and the file offsets to re-read it from, in growable typed arrays. Names, line records, INLINE
// records and rule strings stay in the file until a lookup needs them.

import { readExact, type ByteSource } from '../../io/byte-source.js';
import { concatBytes } from '../../io/bytes.js';
import { decodeText, LineSplitter, Scratch, startsWith } from './line-syntax.js';
import {
  parseFile,
  parseFunc,
  parseInfoCodeId,
  parseInlineOrigin,
  parseModule,
  parsePublic,
  parseStack,
  PREFIX,
} from './records.js';

/** A growable Float64Array. */
export class Column {
  private data: Float64Array;
  length = 0;

  constructor(capacity = 256) {
    this.data = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  set(index: number, value: number): void {
    this.data[index] = value;
  }

  /** A right-sized copy of the filled part. */
  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/** Records with a start address, the byte span to re-read them from, and optionally a size. */
export class RecordColumns {
  readonly address = new Column();
  readonly size = new Column();
  readonly start = new Column();
  readonly end = new Column();

  get length(): number {
    return this.address.length;
  }

  push(address: number, size: number, start: number, end: number): number {
    this.address.push(address);
    this.size.push(size);
    this.start.push(start);
    this.end.push(end);
    return this.address.length - 1;
  }
}

export interface ModuleInfo {
  os: string;
  arch: string;
  debugId: string;
  debugFile: string;
}

/** What the scan found: typed columns in file order, plus the few header strings. */
export interface ScanResult {
  module: ModuleInfo | undefined;
  codeId: string | undefined;
  parseErrors: number;
  /** FUNC: address, size, span = the FUNC line through the last line/INLINE record of its block. */
  funcs: RecordColumns;
  /** PUBLIC with a non-zero address: address, span of the line. */
  publics: RecordColumns;
  /** FILE: address = id, span of the name. */
  files: RecordColumns;
  /** INLINE_ORIGIN: address = id, span of the name. */
  inlineOrigins: RecordColumns;
  /** STACK WIN type 4 (FrameData) and type 0 (FPO): rva, code size, span of the line. */
  frameData: RecordColumns;
  fpo: RecordColumns;
  /** STACK CFI INIT: address, size, span of the rules. */
  cfiInit: RecordColumns;
  /** STACK CFI deltas: address, span of the rules. */
  cfiDelta: RecordColumns;
}

const CHUNK_SIZE = 1 << 20;
const CR = 0x0d;
const LF = 0x0a;

class Scanner {
  readonly result: ScanResult = {
    module: undefined,
    codeId: undefined,
    parseErrors: 0,
    funcs: new RecordColumns(),
    publics: new RecordColumns(),
    files: new RecordColumns(),
    inlineOrigins: new RecordColumns(),
    frameData: new RecordColumns(),
    fpo: new RecordColumns(),
    cfiInit: new RecordColumns(),
    cfiDelta: new RecordColumns(),
  };
  /** The FUNC that line and INLINE records attach to; -1 after a PUBLIC or a bad FUNC, as in Breakpad. */
  private currentFunc = -1;
  private readonly scratch = new Scratch();

  /** One line [s, e) of buf, which starts at file offset `base`. */
  handleLine(buf: Uint8Array, s: number, e: number, base: number): void {
    const r = this.result;
    const scratch = this.scratch;
    switch (buf[s]) {
      case 0x46: // F
        if (startsWith(buf, s, e, PREFIX.FUNC)) {
          const f = parseFunc(buf, s, e, scratch);
          if (!f) {
            this.currentFunc = -1;
            r.parseErrors++;
          } else {
            this.currentFunc = r.funcs.push(f.address, f.size, base + s, base + e);
          }
          return;
        }
        if (startsWith(buf, s, e, PREFIX.FILE)) {
          const f = parseFile(buf, s, e, scratch);
          if (!f) r.parseErrors++;
          else r.files.push(f.id, 0, base + f.nameStart, base + f.nameEnd);
          return;
        }
        break;
      case 0x50: // P
        if (startsWith(buf, s, e, PREFIX.PUBLIC)) {
          this.currentFunc = -1;
          const p = parsePublic(buf, s, e, scratch);
          if (!p) r.parseErrors++;
          // Breakpad accepts PUBLICs at address 0 (seen in ntdll.pdb) but never stores them.
          else if (p.address !== 0) r.publics.push(p.address, 0, base + s, base + e);
          return;
        }
        break;
      case 0x53: // S
        if (startsWith(buf, s, e, PREFIX.STACK)) {
          this.handleStack(buf, s, e, base);
          return;
        }
        break;
      case 0x49: // I
        if (startsWith(buf, s, e, PREFIX.INLINE)) {
          // Decoded (and checked) only when a lookup lands in this FUNC's block.
          if (this.currentFunc < 0) r.parseErrors++;
          else r.funcs.end.set(this.currentFunc, base + e);
          return;
        }
        if (startsWith(buf, s, e, PREFIX.INLINE_ORIGIN)) {
          const o = parseInlineOrigin(buf, s, e, scratch);
          if (!o) r.parseErrors++;
          else r.inlineOrigins.push(o.id, 0, base + o.nameStart, base + o.nameEnd);
          return;
        }
        if (startsWith(buf, s, e, PREFIX.INFO)) {
          const codeId = parseInfoCodeId(buf, s, e, scratch);
          if (codeId === undefined) r.parseErrors++;
          else if (codeId !== null && r.codeId === undefined) r.codeId = decodeText(buf, codeId[0], codeId[1]);
          return;
        }
        break;
      case 0x4d: // M
        if (startsWith(buf, s, e, PREFIX.MODULE)) {
          const m = parseModule(buf, s, e, scratch);
          if (!m) r.parseErrors++;
          else if (r.module === undefined) {
            r.module = {
              os: decodeText(buf, m.os[0], m.os[1]),
              arch: decodeText(buf, m.arch[0], m.arch[1]),
              debugId: decodeText(buf, m.debugId[0], m.debugId[1]),
              debugFile: decodeText(buf, m.debugFile[0], m.debugFile[1]),
            };
          }
          return;
        }
        break;
    }
    // Anything else is a line record of the current FUNC, decoded (and checked) only when a lookup lands here.
    if (this.currentFunc < 0) r.parseErrors++;
    else r.funcs.end.set(this.currentFunc, base + e);
  }

  private handleStack(buf: Uint8Array, s: number, e: number, base: number): void {
    const r = this.result;
    const stack = parseStack(buf, s, e, this.scratch);
    if (!stack) {
      r.parseErrors++;
      return;
    }
    switch (stack.kind) {
      case 'win':
        // Types 1-3 (TRAP, TSS, STANDARD) are valid but never used for unwinding.
        if (stack.win.type === 4) r.frameData.push(stack.win.rva, stack.win.codeSize, base + s, base + e);
        else if (stack.win.type === 0) r.fpo.push(stack.win.rva, stack.win.codeSize, base + s, base + e);
        return;
      case 'init':
        r.cfiInit.push(stack.address, stack.size, base + stack.rulesStart, base + stack.rulesEnd);
        return;
      case 'delta':
        r.cfiDelta.push(stack.address, 0, base + stack.rulesStart, base + stack.rulesEnd);
        return;
    }
  }
}


/** The first line end ('\r' or '\n') in bytes, or -1. */
function firstLineEnd(bytes: Uint8Array): number {
  const lf = bytes.indexOf(LF);
  const cr = lf < 0 ? bytes.indexOf(CR) : bytes.subarray(0, lf).indexOf(CR);
  return cr >= 0 ? cr : lf;
}

/**
 * Reads the whole source in chunks, indexing each complete line as it goes. The next chunk is
 * read while this one is scanned; chunks are scanned where they lie, and only a line that
 * straddles two chunks is copied. Only I/O failures throw.
 */
export async function scanSymbolFile(source: ByteSource, chunkSize = CHUNK_SIZE): Promise<ScanResult> {
  const scanner = new Scanner();
  const read = (offset: number): Promise<Uint8Array> | undefined =>
    offset < source.size ? readExact(source, offset, Math.min(chunkSize, source.size - offset), 'breakpad symbol file') : undefined;
  // The unfinished line carried over from earlier chunks (pieces), and its file offset.
  let pending: Uint8Array[] = [];
  let pendingOffset = 0;
  let offset = 0;
  let next = read(0);
  while (next) {
    const chunk = await next;
    const chunkOffset = offset;
    offset += chunk.length;
    const atEnd = offset >= source.size;
    next = read(offset);
    let from = 0;
    if (pending.length > 0) {
      const end = firstLineEnd(chunk);
      if (end < 0 && !atEnd) {
        // A line longer than a chunk: keep collecting its pieces.
        pending.push(chunk);
        continue;
      }
      // The straddling line: its pieces and this chunk's bytes up to the line end, copied once.
      const upTo = end < 0 ? chunk.length : end;
      const line = concatBytes([...pending, chunk.subarray(0, upTo)]);
      const splitter = new LineSplitter(line);
      while (splitter.next(false)) scanner.handleLine(line, splitter.start, splitter.end, pendingOffset);
      pending = [];
      from = upTo;
    }
    const lines = new LineSplitter(chunk, from);
    while (lines.next(!atEnd)) scanner.handleLine(chunk, lines.start, lines.end, chunkOffset);
    const rest = lines.position;
    if (rest < chunk.length) {
      pending = [chunk.subarray(rest)];
      pendingOffset = chunkOffset + rest;
    }
  }
  return scanner.result;
}
