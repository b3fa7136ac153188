// Parsers for single .sym records, following Breakpad's SymbolParseHelper and
// WindowsFrameInfo::ParseFromString (docs/symbol_files.md). Each takes one line [start, end) and
// returns plain numbers plus the byte spans of its strings, or undefined when Breakpad would reject
// the line. Strings are decoded only by the caller that needs them.

import { ascii, equalsAscii, splitWords, tokenize, SPACE, type Scratch } from './line-syntax.js';

export const PREFIX = {
  FILE: ascii('FILE '),
  FUNC: ascii('FUNC '),
  PUBLIC: ascii('PUBLIC '),
  MODULE: ascii('MODULE '),
  INFO: ascii('INFO '),
  INLINE: ascii('INLINE '),
  INLINE_ORIGIN: ascii('INLINE_ORIGIN '),
  STACK: ascii('STACK '),
} as const;

const WORD_M = ascii('m');
const WORD_WIN = ascii('WIN');
const WORD_CFI = ascii('CFI');
const WORD_INIT = ascii('INIT');
const WORD_CODE_ID = ascii('CODE_ID');

/** Breakpad rejects ids equal to LONG_MAX; stackhog also rejects anything beyond 2^53. */
function isId(n: number, min: number): boolean {
  return Number.isSafeInteger(n) && n >= min;
}

export interface FuncRecord {
  isMultiple: boolean;
  address: number;
  size: number;
  parameterSize: number;
  nameStart: number;
  nameEnd: number;
}

export interface PublicRecord {
  isMultiple: boolean;
  address: number;
  parameterSize: number;
  nameStart: number;
  nameEnd: number;
}

export interface LineRecord {
  address: number;
  size: number;
  line: number;
  fileId: number;
}

export interface InlineRecord {
  nestLevel: number;
  callSiteLine: number;
  /** undefined in the old form, which has no call-site file. */
  callSiteFileId: number | undefined;
  originId: number;
  /** Flat [address, size, address, size, ...]. */
  ranges: number[];
}

/** FILE and INLINE_ORIGIN: an id and a name. */
export interface NamedIdRecord {
  id: number;
  nameStart: number;
  nameEnd: number;
}

export interface StackWinRecord {
  type: number;
  rva: number;
  codeSize: number;
  prologueSize: number;
  epilogueSize: number;
  parameterSize: number;
  savedRegisterSize: number;
  localSize: number;
  maxStackSize: number;
  hasProgramString: boolean;
  allocatesBasePointer: boolean;
  programStart: number;
  programEnd: number;
}

export type StackCfiRecord =
  | { kind: 'init'; address: number; size: number; rulesStart: number; rulesEnd: number }
  | { kind: 'delta'; address: number; rulesStart: number; rulesEnd: number };

export type StackRecord = { kind: 'win'; win: StackWinRecord } | StackCfiRecord;

export interface ModuleRecord {
  os: [number, number];
  arch: [number, number];
  debugId: [number, number];
  debugFile: [number, number];
}

/**
 * TokenizeWithOptionalField(line, "m", ...): tokenize for maxTokens - 1 fields; when the first is
 * "m", split the final remainder once more.
 */
function tokenizeWithOptionalM(buf: Uint8Array, start: number, end: number, maxTokens: number, scratch: Scratch): boolean {
  const tok = scratch.tok;
  if (tokenize(buf, start, end, maxTokens - 1, tok) !== maxTokens - 1) return false;
  if (!equalsAscii(buf, tok[0]!, tok[1]!, WORD_M)) return true;
  const last = maxTokens - 2;
  const split: number[] = [];
  if (tokenize(buf, tok[2 * last]!, tok[2 * last + 1]!, 2, split) !== 2) return false;
  tok[2 * last] = split[0]!;
  tok[2 * last + 1] = split[1]!;
  tok[2 * last + 2] = split[2]!;
  tok[2 * last + 3] = split[3]!;
  return true;
}

/** FUNC [m] <address> <size> <parameter_size> <name> */
export function parseFunc(buf: Uint8Array, start: number, end: number, scratch: Scratch): FuncRecord | undefined {
  const tok = scratch.tok;
  if (!tokenizeWithOptionalM(buf, start + PREFIX.FUNC.length, end, 5, scratch)) return undefined;
  const isMultiple = equalsAscii(buf, tok[0]!, tok[1]!, WORD_M);
  let t = isMultiple ? 1 : 0;
  const address = scratch.hex(buf, tok[2 * t]!, tok[2 * t + 1]!);
  t++;
  const size = scratch.hex(buf, tok[2 * t]!, tok[2 * t + 1]!);
  t++;
  const parameterSize = scratch.hex(buf, tok[2 * t]!, tok[2 * t + 1]!);
  t++;
  if (Number.isNaN(address) || Number.isNaN(size) || Number.isNaN(parameterSize)) return undefined;
  return { isMultiple, address, size, parameterSize, nameStart: tok[2 * t]!, nameEnd: tok[2 * t + 1]! };
}

/** PUBLIC [m] <address> <parameter_size> <name> */
export function parsePublic(buf: Uint8Array, start: number, end: number, scratch: Scratch): PublicRecord | undefined {
  const tok = scratch.tok;
  if (!tokenizeWithOptionalM(buf, start + PREFIX.PUBLIC.length, end, 4, scratch)) return undefined;
  const isMultiple = equalsAscii(buf, tok[0]!, tok[1]!, WORD_M);
  let t = isMultiple ? 1 : 0;
  const address = scratch.hex(buf, tok[2 * t]!, tok[2 * t + 1]!);
  t++;
  const parameterSize = scratch.hex(buf, tok[2 * t]!, tok[2 * t + 1]!);
  t++;
  if (Number.isNaN(address) || Number.isNaN(parameterSize)) return undefined;
  return { isMultiple, address, parameterSize, nameStart: tok[2 * t]!, nameEnd: tok[2 * t + 1]! };
}

/** <address> <size> <line> <file_id>: fills `out`, returns false when malformed. */
export function parseLineRecord(buf: Uint8Array, start: number, end: number, scratch: Scratch, out: LineRecord): boolean {
  const cursor = scratch.cursor;
  cursor.reset(buf, start, end);
  const address = cursor.hex();
  const size = cursor.hex();
  const line = cursor.dec();
  // Tokenize(line, 4) hands over the rest of the line after one separator as the file id field,
  // so anything after the file id is ignored.
  if (cursor.pos + 1 >= end) return false;
  cursor.pos++;
  const fileId = cursor.dec();
  if (Number.isNaN(address) || Number.isNaN(size) || !isId(line, 0) || !isId(fileId, 0)) return false;
  out.address = address;
  out.size = size;
  out.line = line;
  out.fileId = fileId;
  return true;
}

/** FILE <id> <name> */
export function parseFile(buf: Uint8Array, start: number, end: number, scratch: Scratch): NamedIdRecord | undefined {
  const tok = scratch.tok;
  if (tokenize(buf, start + PREFIX.FILE.length, end, 2, tok) !== 2) return undefined;
  const id = scratch.dec(buf, tok[0]!, tok[1]!);
  if (!isId(id, 0)) return undefined;
  return { id, nameStart: tok[2]!, nameEnd: tok[3]! };
}

/**
 * INLINE_ORIGIN <id> <name> (new) or INLINE_ORIGIN <id> <file_id> <name> (old). Like Breakpad, the
 * old form is recognised by the word after the id being all digits (a leading '-' allowed, for -1).
 */
export function parseInlineOrigin(buf: Uint8Array, start: number, end: number, scratch: Scratch): NamedIdRecord | undefined {
  const tok = scratch.tok;
  if (tokenize(buf, start + PREFIX.INLINE_ORIGIN.length, end, 2, tok) !== 2) return undefined;
  const id = scratch.dec(buf, tok[0]!, tok[1]!);
  if (!isId(id, 0)) return undefined;
  const restStart = tok[2]!;
  const restEnd = tok[3]!;
  let hasFileId = true;
  for (let i = restStart; i < restEnd && buf[i] !== SPACE && hasFileId; i++) {
    if (i === restStart && buf[i] === 0x2d) continue;
    const c = buf[i]!;
    hasFileId = c >= 0x30 && c <= 0x39;
  }
  if (!hasFileId) return { id, nameStart: restStart, nameEnd: restEnd };
  if (tokenize(buf, restStart, restEnd, 2, tok) !== 2) return undefined;
  const fileId = scratch.dec(buf, tok[0]!, tok[1]!);
  if (!isId(fileId, -1)) return undefined;
  return { id, nameStart: tok[2]!, nameEnd: tok[3]! };
}

/** Breakpad tokenizes INLINE lines into at most 512 fields and ignores what lies beyond. */
const MAX_INLINE_FIELDS = 512;

function countWords(buf: Uint8Array, start: number, end: number, max: number): number {
  let count = 0;
  let inWord = false;
  for (let i = start; i < end && count <= max; i++) {
    const space = buf[i] === SPACE;
    if (!space && !inWord) count++;
    inWord = !space;
  }
  return Math.min(count, max);
}

/**
 * INLINE <nest_level> <call_site_line> [<call_site_file_id>] <origin_id> [<address> <size>]+ into
 * `out`; false when malformed. Without `collectRanges` the ranges are only checked. Like Breakpad, the new form (with the
 * file id) is the one with an even number of fields.
 */
export function parseInline(
  buf: Uint8Array,
  start: number,
  end: number,
  scratch: Scratch,
  out: InlineRecord,
  collectRanges = true,
): boolean {
  const cursor = scratch.cursor;
  const fieldsStart = start + PREFIX.INLINE.length;
  const n = countWords(buf, fieldsStart, end, MAX_INLINE_FIELDS);
  if (n < 5) return false;
  cursor.reset(buf, fieldsStart, end);
  out.nestLevel = cursor.dec();
  out.callSiteLine = cursor.dec();
  out.callSiteFileId = undefined;
  if (n % 2 === 0) {
    const fileId = cursor.dec();
    if (!isId(fileId, -1)) return false;
    out.callSiteFileId = fileId;
  }
  out.originId = cursor.dec();
  if (!isId(out.nestLevel, 0) || !isId(out.callSiteLine, 0) || !isId(out.originId, 0)) return false;
  if (collectRanges) out.ranges = [];
  for (let t = n % 2 === 0 ? 4 : 3; t < n; t++) {
    const v = cursor.hex();
    if (Number.isNaN(v)) return false;
    if (collectRanges) out.ranges.push(v);
  }
  return true;
}

/** A fresh record for parseInline to fill. */
export function emptyInline(): InlineRecord {
  return { nestLevel: 0, callSiteLine: 0, callSiteFileId: undefined, originId: 0, ranges: [] };
}

/** STACK WIN <type> <rva> <code_size> <prologue> <epilogue> <params> <saved_regs> <locals> <max_stack> <has_program> <program|allocates_bp> */
function parseStackWin(buf: Uint8Array, start: number, end: number, scratch: Scratch): StackWinRecord | undefined {
  const tok = scratch.tok;
  if (tokenize(buf, start, end, 11, tok) !== 11) return undefined;
  const v: number[] = [];
  for (let i = 0; i < 10; i++) {
    const n = scratch.hex(buf, tok[2 * i]!, tok[2 * i + 1]!);
    if (Number.isNaN(n)) return undefined;
    v.push(n);
  }
  const type = v[0]!;
  // WindowsFrameInfo::StackInfoTypes: FPO, TRAP, TSS, STANDARD, FRAME_DATA.
  if (type > 4) return undefined;
  const hasProgramString = v[9] !== 0;
  let allocatesBasePointer = false;
  if (!hasProgramString) {
    const n = scratch.hex(buf, tok[20]!, tok[21]!);
    if (Number.isNaN(n)) return undefined;
    allocatesBasePointer = n !== 0;
  }
  return {
    type,
    rva: v[1]!,
    codeSize: v[2]!,
    prologueSize: v[3]!,
    epilogueSize: v[4]!,
    parameterSize: v[5]!,
    savedRegisterSize: v[6]!,
    localSize: v[7]!,
    maxStackSize: v[8]!,
    hasProgramString,
    allocatesBasePointer,
    programStart: tok[20]!,
    programEnd: tok[21]!,
  };
}

/** STACK CFI INIT <address> <size> <rules> | STACK CFI <address> <rules> */
function parseStackCfi(buf: Uint8Array, start: number, end: number, scratch: Scratch): StackCfiRecord | undefined {
  const tok = scratch.tok;
  if (tokenize(buf, start, end, 2, tok) !== 2) return undefined;
  if (equalsAscii(buf, tok[0]!, tok[1]!, WORD_INIT)) {
    if (tokenize(buf, start, end, 4, tok) !== 4) return undefined;
    const address = scratch.hex(buf, tok[2]!, tok[3]!);
    const size = scratch.hex(buf, tok[4]!, tok[5]!);
    if (Number.isNaN(address) || Number.isNaN(size)) return undefined;
    return { kind: 'init', address, size, rulesStart: tok[6]!, rulesEnd: tok[7]! };
  }
  const address = scratch.hex(buf, tok[0]!, tok[1]!);
  if (Number.isNaN(address)) return undefined;
  return { kind: 'delta', address, rulesStart: tok[2]!, rulesEnd: tok[3]! };
}

/** STACK WIN ... | STACK CFI ...; other platforms are rejected, as Breakpad does. */
export function parseStack(buf: Uint8Array, start: number, end: number, scratch: Scratch): StackRecord | undefined {
  let pos = start + PREFIX.STACK.length;
  while (pos < end && buf[pos] === SPACE) pos++;
  const platformStart = pos;
  while (pos < end && buf[pos] !== SPACE) pos++;
  const platformEnd = pos;
  if (pos >= end) return undefined;
  pos++;
  if (equalsAscii(buf, platformStart, platformEnd, WORD_WIN)) {
    const win = parseStackWin(buf, pos, end, scratch);
    return win ? { kind: 'win', win } : undefined;
  }
  if (equalsAscii(buf, platformStart, platformEnd, WORD_CFI)) return parseStackCfi(buf, pos, end, scratch);
  return undefined;
}

/** MODULE <os> <arch> <debug_id> <debug_file> */
export function parseModule(buf: Uint8Array, start: number, end: number, scratch: Scratch): ModuleRecord | undefined {
  const tok = scratch.tok;
  if (tokenize(buf, start + PREFIX.MODULE.length, end, 4, tok) !== 4) return undefined;
  return {
    os: [tok[0]!, tok[1]!],
    arch: [tok[2]!, tok[3]!],
    debugId: [tok[4]!, tok[5]!],
    debugFile: [tok[6]!, tok[7]!],
  };
}

/**
 * INFO CODE_ID <code_id> [<code_file>]: the span of the code id; null for other INFO lines (which
 * are housekeeping); undefined when malformed.
 */
export function parseInfoCodeId(buf: Uint8Array, start: number, end: number, scratch: Scratch): [number, number] | null | undefined {
  const tok = scratch.tok;
  const n = splitWords(buf, start + PREFIX.INFO.length, end, 2, tok);
  if (n === 0) return undefined;
  if (!equalsAscii(buf, tok[0]!, tok[1]!, WORD_CODE_ID)) return null;
  if (n < 2) return undefined;
  return [tok[2]!, tok[3]!];
}
