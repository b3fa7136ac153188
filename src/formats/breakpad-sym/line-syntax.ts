// Byte-level tokenizing and number parsing for Breakpad .sym lines, with the semantics of the C
// helpers Breakpad's parser uses (processor/tokenize.cc Tokenize, strtoull/strtol + IsValidAfterNumber).
// A "line" is the span [start, end) of a buffer; it never contains '\r' or '\n'.

export const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Breakpad's Tokenize(line, " \r\n", maxTokens): up to maxTokens - 1 space-separated tokens, then the
 * rest of the line after the single separator that ended the last one (leading spaces kept) as the
 * final token. Token i is [tokens[2i], tokens[2i+1]). Returns the number of tokens found; Breakpad
 * treats anything other than exactly maxTokens as a failure.
 */
export function tokenize(buf: Uint8Array, start: number, end: number, maxTokens: number, tokens: number[]): number {
  let count = 0;
  let pos = start;
  while (count < maxTokens - 1) {
    while (pos < end && buf[pos] === SPACE) pos++;
    if (pos >= end) return count;
    const tokenStart = pos;
    while (pos < end && buf[pos] !== SPACE) pos++;
    tokens[2 * count] = tokenStart;
    tokens[2 * count + 1] = pos;
    count++;
    // strtok_r resumes after the one separator that ended the token.
    if (pos < end) pos++;
  }
  if (pos >= end) return count;
  tokens[2 * count] = pos;
  tokens[2 * count + 1] = end;
  return count + 1;
}

/** All space-separated words of [start, end), at most maxWords; returns the count. */
export function splitWords(buf: Uint8Array, start: number, end: number, maxWords: number, words: number[]): number {
  let count = 0;
  let pos = start;
  while (count < maxWords) {
    while (pos < end && buf[pos] === SPACE) pos++;
    if (pos >= end) break;
    const wordStart = pos;
    while (pos < end && buf[pos] !== SPACE) pos++;
    words[2 * count] = wordStart;
    words[2 * count + 1] = pos;
    count++;
  }
  return count;
}

/** Value of each byte as a hex digit, or -1. */
const HEX_DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_DIGIT['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_DIGIT['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * Reads space-separated numeric fields of one line, left to right, the way strtoull/strtol followed
 * by Breakpad's IsValidAfterNumber read them: leading spaces skipped, at least one digit, then a
 * space or the end of the line. Each read leaves `pos` just after the number.
 */
export class FieldCursor {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;

  reset(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  /**
   * A hex number with an optional 0x; NaN when invalid or beyond 2^53 (stackhog keeps
   * module-relative addresses as plain numbers; Breakpad would accept up to 2^64 - 2).
   */
  hex(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    while (pos < end && buf[pos] === SPACE) pos++;
    if (pos + 2 < end && buf[pos] === 0x30 && (buf[pos + 1]! | 0x20) === 0x78 && HEX_DIGIT[buf[pos + 2]!]! >= 0) pos += 2;
    const digitsStart = pos;
    let value = 0;
    for (let d: number; pos < end && (d = HEX_DIGIT[buf[pos]!]!) >= 0; pos++) value = value * 16 + d;
    this.pos = pos;
    if (pos === digitsStart || (pos < end && buf[pos] !== SPACE)) return NaN;
    return value > Number.MAX_SAFE_INTEGER ? NaN : value;
  }

  /** A decimal number with an optional sign; NaN when invalid or not a safe integer. */
  dec(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    while (pos < end && buf[pos] === SPACE) pos++;
    let negative = false;
    if (pos < end && (buf[pos] === 0x2b || buf[pos] === 0x2d)) {
      negative = buf[pos] === 0x2d;
      pos++;
    }
    const digitsStart = pos;
    let value = 0;
    for (let c: number; pos < end && (c = buf[pos]!) >= 0x30 && c <= 0x39; pos++) value = value * 10 + (c - 0x30);
    this.pos = pos;
    if (pos === digitsStart || (pos < end && buf[pos] !== SPACE)) return NaN;
    if (value > Number.MAX_SAFE_INTEGER) return NaN;
    return negative ? -value : value;
  }
}

/** Reusable working memory for parsing lines, so that indexing a large file allocates little. */
export class Scratch {
  /** Token boundaries from tokenize/splitWords. */
  readonly tok: number[] = [];
  readonly cursor = new FieldCursor();

  /** The hex number at the start of [start, end) (strtoull base 16 + IsValidAfterNumber); NaN when invalid. */
  hex(buf: Uint8Array, start: number, end: number): number {
    return this.cursor.reset(buf, start, end).hex();
  }

  /** The decimal number at the start of [start, end) (strtol base 10 + IsValidAfterNumber); NaN when invalid. */
  dec(buf: Uint8Array, start: number, end: number): number {
    return this.cursor.reset(buf, start, end).dec();
  }
}

/** True when buf[start..] begins with the ASCII bytes of prefix (given as char codes). */
export function startsWith(buf: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (buf[start + i] !== prefix[i]) return false;
  }
  return true;
}

/** True when [start, end) is exactly the ASCII text of word. */
export function equalsAscii(buf: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  return end - start === word.length && startsWith(buf, start, end, word);
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

const utf8 = new TextDecoder('utf-8');

/** Text of a span; Breakpad replaces NUL bytes inside symbol data with '_'. */
export function decodeText(buf: Uint8Array, start: number, end: number): string {
  const text = utf8.decode(buf.subarray(start, end));
  return text.includes('\0') ? text.replaceAll('\0', '_') : text;
}

/**
 * Iterates the lines of a buffer the way Breakpad's strtok_r(buffer, "\r\n") does: both '\r' and
 * '\n' end a line and empty lines are skipped. `start`/`end` are the current line after next().
 */
export class LineSplitter {
  start = 0;
  end = 0;
  private pos: number;
  private readonly limit: number;
  private nextCr = -1;
  private nextLf = -1;
  /** The buffer as 32-bit words when it is 4-byte aligned: line ends are then found a word at a time. */
  private readonly words: Uint32Array | undefined;

  constructor(
    private readonly buf: Uint8Array,
    from = 0,
    to = buf.length,
  ) {
    this.pos = from;
    this.limit = to;
    this.words = buf.byteOffset % 4 === 0 && to === buf.length ? new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2) : undefined;
  }

  /**
   * Advances to the next non-empty line. With `needTerminator`, a final line that runs to the end
   * of the buffer without '\r' or '\n' is not returned (the caller has more bytes coming) and
   * `pos` stays at its start.
   */
  next(needTerminator = false): boolean {
    const buf = this.buf;
    for (;;) {
      if (this.pos >= this.limit) return false;
      let lineEnd: number;
      if (this.words) {
        lineEnd = this.wordSearchEnd(this.pos);
      } else {
        // Cache the next '\r' and '\n' positions so that scanning stays linear.
        if (this.nextLf < this.pos) this.nextLf = indexOrLimit(buf, LF, this.pos, this.limit);
        if (this.nextCr < this.pos) this.nextCr = indexOrLimit(buf, CR, this.pos, this.limit);
        lineEnd = Math.min(this.nextLf, this.nextCr);
      }
      if (lineEnd === this.pos) {
        this.pos++;
        continue;
      }
      if (lineEnd === this.limit && needTerminator) return false;
      this.start = this.pos;
      this.end = lineEnd;
      this.pos = lineEnd + 1;
      return true;
    }
  }

  /**
   * The next '\n' or '\r' at or after p (or the limit), four bytes at a time: a word holds the
   * byte b exactly when (x − 0x01010101) & ~x & 0x80808080 is non-zero for x = word ^ (b × 0x01010101).
   * A call per line to indexOf costs more than the search itself on lines of a few dozen bytes.
   */
  private wordSearchEnd(p: number): number {
    const buf = this.buf;
    const words = this.words!;
    const limit = this.limit;
    while ((p & 3) !== 0 && p < limit) {
      const b = buf[p];
      if (b === LF || b === CR) return p;
      p++;
    }
    let w = p >> 2;
    const count = words.length;
    for (; w < count; w++) {
      const word = words[w]!;
      const lf = word ^ 0x0a0a0a0a;
      const cr = word ^ 0x0d0d0d0d;
      if ((((lf - 0x01010101) & ~lf) | ((cr - 0x01010101) & ~cr)) & 0x80808080) break;
    }
    for (p = Math.max(p, w << 2); p < limit; p++) {
      const b = buf[p];
      if (b === LF || b === CR) return p;
    }
    return limit;
  }

  /** Start of the bytes not yet returned as lines. */
  get position(): number {
    return Math.min(this.pos, this.limit);
  }
}

function indexOrLimit(buf: Uint8Array, byte: number, from: number, limit: number): number {
  const at = buf.indexOf(byte, from);
  return at < 0 || at > limit ? limit : at;
}
