/**
 * CodeView symbol records (cvinfo.h's SYM_ENUM_e and record structs; LLVM's "CodeView Symbol
 * Records"): procedures, thunks, blocks and inline sites in a module's symbol stream, their
 * binary annotations, and S_PUB32 in the symbol record stream. Every record is `u16 length, u16
 * kind`, the length counting the kind and the body. Structure is followed by walking records in
 * order and matching scope openers with their ends; parent/end pointers are only checked against
 * that walk, so a cycle in them costs nothing.
 */
import { Reader, cString } from '../../io/reader.js';

/** SYM_ENUM_e values read here. */
export const SymbolKind = {
  S_END: 0x0006,
  S_THUNK32: 0x1102,
  S_BLOCK32: 0x1103,
  S_WITH32: 0x1104,
  S_LPROC32: 0x110f,
  S_GPROC32: 0x1110,
  S_PUB32: 0x110e,
  S_REGREL32: 0x1111,
  S_BPREL32: 0x110b,
  S_REGISTER: 0x1106,
  S_SEPCODE: 0x1132,
  S_LPROC32_ID: 0x1146,
  S_GPROC32_ID: 0x1147,
  S_INLINESITE: 0x114d,
  S_INLINESITE_END: 0x114e,
  S_PROC_ID_END: 0x114f,
  S_LPROC32_DPC: 0x1155,
  S_LPROC32_DPC_ID: 0x1156,
  S_INLINESITE2: 0x115d,
} as const;

/** CV_SIGNATURE_C13: the u32 that starts a module symbol stream. */
export const CV_SIGNATURE_C13 = 4;

const PROC_KINDS: ReadonlySet<number> = new Set([
  SymbolKind.S_LPROC32,
  SymbolKind.S_GPROC32,
  SymbolKind.S_LPROC32_ID,
  SymbolKind.S_GPROC32_ID,
  SymbolKind.S_LPROC32_DPC,
  SymbolKind.S_LPROC32_DPC_ID,
]);
const SCOPE_OPENERS: ReadonlySet<number> = new Set([
  ...PROC_KINDS,
  SymbolKind.S_THUNK32,
  SymbolKind.S_BLOCK32,
  SymbolKind.S_WITH32,
  SymbolKind.S_SEPCODE,
  SymbolKind.S_INLINESITE,
  SymbolKind.S_INLINESITE2,
]);
const SCOPE_ENDS: ReadonlySet<number> = new Set([SymbolKind.S_END, SymbolKind.S_PROC_ID_END, SymbolKind.S_INLINESITE_END]);

/** One record's place in its stream. */
export interface RecordHeader {
  /** Offset of the record's length field. */
  readonly offset: number;
  readonly kind: number;
  /** Offset just past the record. */
  readonly end: number;
}

/**
 * Walks records from `start` to `limit`, calling `visit` for each. A record whose length runs past
 * `limit` or is too short to hold its kind ends the walk; the count of such endings is returned.
 * Work is bounded by the stream: every record consumes at least 4 bytes.
 */
export function walkRecords(r: Reader, start: number, limit: number, visit: (h: RecordHeader) => boolean | void): number {
  let at = start;
  while (at + 4 <= limit) {
    const length = r.u16(at);
    if (length < 2 || at + 2 + length > limit) return 1;
    if (visit({ offset: at, kind: r.u16(at + 2), end: at + 2 + length }) === false) return 0;
    at += 2 + length;
  }
  return 0;
}

/** A procedure or thunk as the index keeps it: where it is and where its record is. */
export interface CodeSymbol {
  readonly kind: 'procedure' | 'thunk';
  readonly recordOffset: number;
  readonly section: number;
  readonly offset: number;
  readonly size: number;
}

/** Top-level procedures and thunks of one module's symbols (PROCSYM32, THUNKSYM32), in stream order. */
export function scanCodeSymbols(r: Reader, limit: number): { symbols: CodeSymbol[]; skipped: number } {
  const symbols: CodeSymbol[] = [];
  let skipped = 0;
  let depth = 0;
  const cut = walkRecords(r, 4, limit, (h) => {
    if (depth === 0 && PROC_KINDS.has(h.kind)) {
      // PROCSYM32: pParent, pEnd, pNext, len, DbgStart, DbgEnd, typind, off, seg, flags, name.
      if (h.end - h.offset < 39) skipped++;
      else symbols.push({ kind: 'procedure', recordOffset: h.offset, size: r.u32(h.offset + 16), offset: r.u32(h.offset + 32), section: r.u16(h.offset + 36) });
    } else if (depth === 0 && h.kind === SymbolKind.S_THUNK32) {
      // THUNKSYM32: pParent, pEnd, pNext, off, seg, len (u16), ord, name.
      if (h.end - h.offset < 25) skipped++;
      else symbols.push({ kind: 'thunk', recordOffset: h.offset, offset: r.u32(h.offset + 16), section: r.u16(h.offset + 20), size: r.u16(h.offset + 22) });
    }
    if (SCOPE_OPENERS.has(h.kind)) depth++;
    else if (SCOPE_ENDS.has(h.kind) && depth > 0) depth--;
  });
  return { symbols, skipped: skipped + cut };
}

/** The name and type of a procedure or thunk record. */
export function codeSymbolName(r: Reader, symbol: CodeSymbol): { name: string; typeIndex: number; isLocal: boolean } {
  const end = r.u16(symbol.recordOffset) + 2 + symbol.recordOffset;
  const nameAt = symbol.recordOffset + (symbol.kind === 'procedure' ? 39 : 25);
  const kind = r.u16(symbol.recordOffset + 2);
  return {
    name: cString(r.bytes.subarray(nameAt, Math.min(end, r.length))),
    typeIndex: symbol.kind === 'procedure' ? r.u32(symbol.recordOffset + 28) : 0,
    isLocal: kind === SymbolKind.S_LPROC32 || kind === SymbolKind.S_LPROC32_ID,
  };
}

/**
 * The first six bytes of a code symbol's name as one number, ordered as the names are (a shorter
 * name first): enough to order most folded procedures by name without keeping the names.
 */
export function codeSymbolNameKey(r: Reader, symbol: CodeSymbol): number {
  const end = Math.min(r.u16(symbol.recordOffset) + 2 + symbol.recordOffset, r.length);
  const at = symbol.recordOffset + (symbol.kind === 'procedure' ? 39 : 25);
  let key = 0;
  let ended = false;
  for (let k = 0; k < 6; k++) {
    const b = ended || at + k >= end ? 0 : r.bytes[at + k]!;
    if (b === 0) ended = true;
    key = key * 256 + b;
  }
  return key;
}

/** A range of an inlined call's code, with the inlinee's source line there (offsets relative to the procedure start). */
export interface InlineRange {
  readonly start: number;
  readonly size: number;
  /** DEBUG_S_FILECHKSMS offset, or undefined when the module gives no start line for the inlinee. */
  readonly fileId: number | undefined;
  readonly line: number | undefined;
}

/** An S_INLINESITE in a procedure: the inlinee's IPI id, its parent site and its ranges. */
export interface InlineSite {
  readonly recordOffset: number;
  readonly inlinee: number;
  /** Index of the enclosing inline site in the same list, or -1 when the procedure calls it directly. */
  readonly parent: number;
  readonly depth: number;
  readonly ranges: readonly InlineRange[];
}

export interface ProcedureScopes {
  readonly inlineSites: readonly InlineSite[];
  /** Records visited (the work done), and records skipped because they did not parse. */
  readonly records: number;
  readonly skipped: number;
}

/**
 * The inline sites nested in a procedure, found by walking its records to the matching S_END.
 * `startLine` gives an inlinee's first line (DEBUG_S_INLINEELINES). A site whose end pointer does
 * not match the walk is still read (the walk is the truth); one whose annotations do not decode
 * keeps the ranges decoded so far.
 */
export function readProcedureScopes(
  r: Reader,
  procOffset: number,
  limit: number,
  startLine: (inlinee: number) => { fileId: number; line: number } | undefined,
): ProcedureScopes {
  const sites: InlineSite[] = [];
  // The open scopes: -1 for a procedure/block/thunk, else the inline site's index.
  const open: number[] = [];
  let records = 0;
  let skipped = 0;
  const cut = walkRecords(r, procOffset, limit, (h) => {
    records++;
    if (SCOPE_OPENERS.has(h.kind)) {
      if (h.kind === SymbolKind.S_INLINESITE || h.kind === SymbolKind.S_INLINESITE2) {
        // INLINESITESYM: pParent, pEnd, inlinee, annotations; INLINESITESYM2 adds invocations before them.
        const annotationsAt = h.offset + (h.kind === SymbolKind.S_INLINESITE ? 16 : 20);
        if (annotationsAt > h.end) {
          skipped++;
          open.push(-1);
          return;
        }
        const inlinee = r.u32(h.offset + 12);
        let parent = -1;
        for (let i = open.length - 1; i >= 0 && parent < 0; i--) parent = open[i]!;
        const start = startLine(inlinee);
        sites.push({
          recordOffset: h.offset,
          inlinee,
          parent,
          depth: parent < 0 ? 0 : sites[parent]!.depth + 1,
          ranges: decodeAnnotations(r.bytes.subarray(annotationsAt, h.end), start?.fileId, start?.line),
        });
        open.push(sites.length - 1);
      } else open.push(-1);
    } else if (SCOPE_ENDS.has(h.kind)) {
      open.pop();
      if (open.length === 0) return false;
    }
    return true;
  });
  return { inlineSites: sites, records, skipped: skipped + cut };
}

/** An S_REGREL32 directly in a procedure's scope: a parameter or local at register + offset. */
export interface RegisterRelative {
  readonly register: number;
  readonly offset: number;
  readonly typeIndex: number;
}

/**
 * The procedure's parameters that are S_REGREL32 records. MSVC writes each parameter and local
 * twice: as S_LOCAL with live ranges, and as one S_REGISTER, S_REGREL32 or S_BPREL32 in the
 * procedure's own scope, parameters first (`this` included); those first `parameters` records
 * are the ones DIA lists as parameters with a register-relative location.
 */
export function procedureRegisterParameters(r: Reader, procOffset: number, limit: number, parameters: number): RegisterRelative[] {
  const out: RegisterRelative[] = [];
  let depth = 0;
  let seen = 0;
  walkRecords(r, procOffset, limit, (h) => {
    if (depth === 1 && (h.kind === SymbolKind.S_REGREL32 || h.kind === SymbolKind.S_BPREL32 || h.kind === SymbolKind.S_REGISTER)) {
      if (seen++ >= parameters) return false;
      // REGREL32: off i32, typind u32, reg u16, name.
      if (h.kind === SymbolKind.S_REGREL32 && h.end - h.offset >= 14) out.push({ offset: r.u32(h.offset + 4) | 0, typeIndex: r.u32(h.offset + 8), register: r.u16(h.offset + 12) });
    }
    if (SCOPE_OPENERS.has(h.kind)) depth++;
    else if (SCOPE_ENDS.has(h.kind) && --depth <= 0) return false;
    return true;
  });
  return out;
}

/** BinaryAnnotationOpcode (cvinfo.h). */
const BA = {
  Invalid: 0,
  CodeOffset: 1,
  ChangeCodeOffsetBase: 2,
  ChangeCodeOffset: 3,
  ChangeCodeLength: 4,
  ChangeFile: 5,
  ChangeLineOffset: 6,
  ChangeLineEndDelta: 7,
  ChangeRangeKind: 8,
  ChangeColumnStart: 9,
  ChangeColumnEndDelta: 10,
  ChangeCodeOffsetAndLineOffset: 11,
  ChangeCodeLengthAndCodeOffset: 12,
  ChangeColumnEnd: 13,
} as const;

/** CVUncompressData: 1, 2 or 4 bytes by the top bits of the first; undefined when malformed or cut. */
function uncompress(bytes: Uint8Array, at: { pos: number }): number | undefined {
  const b0 = bytes[at.pos];
  if (b0 === undefined) return undefined;
  if ((b0 & 0x80) === 0) {
    at.pos += 1;
    return b0;
  }
  if ((b0 & 0xc0) === 0x80) {
    if (at.pos + 2 > bytes.length) return undefined;
    at.pos += 2;
    return ((b0 & 0x3f) << 8) | bytes[at.pos - 1]!;
  }
  if ((b0 & 0xe0) === 0xc0) {
    if (at.pos + 4 > bytes.length) return undefined;
    const v = (((b0 & 0x1f) << 24) | (bytes[at.pos + 1]! << 16) | (bytes[at.pos + 2]! << 8) | bytes[at.pos + 3]!) >>> 0;
    at.pos += 4;
    return v;
  }
  return undefined;
}

/** DecodeSignedInt32: the sign is the low bit. */
function signed(v: number): number {
  return v & 1 ? -(v >>> 1) : v >>> 1;
}

/**
 * Runs an inline site's binary annotations: each code offset change starts a range at the current
 * line and file; ChangeCodeLength closes the open range and moves the offset past it;
 * ChangeCodeLengthAndCodeOffset is a whole range; a range left open when the next one starts ends there. Work is bounded by the bytes: every opcode consumes one.
 */
export function decodeAnnotations(bytes: Uint8Array, startFile: number | undefined, startLine: number | undefined): InlineRange[] {
  const ranges: { start: number; size: number | undefined; fileId: number | undefined; line: number | undefined }[] = [];
  let codeOffset = 0;
  let fileId = startFile;
  let line = startLine;
  const at = { pos: 0 };
  const open = (start: number, size: number | undefined): void => {
    const last = ranges[ranges.length - 1];
    if (last && last.size === undefined) last.size = Math.max(0, start - last.start);
    ranges.push({ start, size, fileId, line });
  };
  const close = (size: number): void => {
    const last = ranges[ranges.length - 1];
    if (last && last.size === undefined) last.size = size;
  };
  decode: while (at.pos < bytes.length) {
    const op = uncompress(bytes, at);
    if (op === undefined || op === BA.Invalid) break;
    const a = uncompress(bytes, at);
    if (a === undefined) break;
    switch (op) {
      case BA.CodeOffset:
        codeOffset = a;
        break;
      case BA.ChangeCodeOffsetBase:
        break;
      case BA.ChangeCodeOffset:
        codeOffset += a;
        open(codeOffset, undefined);
        break;
      case BA.ChangeCodeLength:
        close(a);
        codeOffset += a;
        break;
      case BA.ChangeFile:
        fileId = a;
        break;
      case BA.ChangeLineOffset:
        if (line !== undefined) line += signed(a);
        break;
      case BA.ChangeLineEndDelta:
      case BA.ChangeRangeKind:
      case BA.ChangeColumnStart:
      case BA.ChangeColumnEndDelta:
      case BA.ChangeColumnEnd:
        break;
      case BA.ChangeCodeOffsetAndLineOffset:
        codeOffset += a & 0xf;
        if (line !== undefined) line += signed(a >>> 4);
        open(codeOffset, undefined);
        break;
      case BA.ChangeCodeLengthAndCodeOffset: {
        const delta = uncompress(bytes, at);
        if (delta === undefined) break decode;
        // The next delta counts from this range's start, not its end: with that reading every
        // nested site's ranges lie inside its parent's in the corpus PDBs (advancing breaks that).
        codeOffset += delta;
        open(codeOffset, a);
        break;
      }
      default:
        break decode;
    }
  }
  return ranges.filter((x): x is InlineRange & { size: number } => x.size !== undefined && x.size > 0);
}

/** An S_PUB32 record: name and section:offset, and PUBSYMFLAGS. */
export interface PublicSymbol {
  readonly name: string;
  readonly section: number;
  readonly offset: number;
  readonly isCode: boolean;
  readonly isFunction: boolean;
}

/** PUBSYMFLAGS bits. */
const CVPSF_CODE = 1;
const CVPSF_FUNCTION = 2;

/** Every S_PUB32 in the symbol record stream (the publics hash stream is not needed to list them). */
export function scanPublics(r: Reader): { publics: PublicSymbol[]; skipped: number } {
  const publics: PublicSymbol[] = [];
  let skipped = 0;
  const cut = walkRecords(r, 0, r.length, (h) => {
    if (h.kind !== SymbolKind.S_PUB32) return;
    // PUBSYM32: pubsymflags u32, off u32, seg u16, name.
    if (h.end - h.offset < 14) {
      skipped++;
      return;
    }
    const flags = r.u32(h.offset + 4);
    publics.push({
      name: cString(r.bytes.subarray(h.offset + 14, h.end)),
      offset: r.u32(h.offset + 8),
      section: r.u16(h.offset + 12),
      isCode: (flags & CVPSF_CODE) !== 0,
      isFunction: (flags & CVPSF_FUNCTION) !== 0,
    });
  });
  return { publics, skipped: skipped + cut };
}
