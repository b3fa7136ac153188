// Mutations in the manner of AFL's havoc stage: a random stack of small edits on one input. Binary
// edits (bit flips, byte sets, interesting integers, arithmetic, truncation, chunk duplication,
// deletion and copying, splicing with another input) apply to every target; text edits (line
// duplication, deletion and moves, number tweaks, dictionary tokens) to the text formats.
import { concatBytes } from '../../io/bytes.js';
import type { Rng } from './rng.js';

export interface MutationContext {
  readonly rng: Rng;
  /** Another corpus input, for splicing. */
  other(): Uint8Array;
  /** Offsets of fields worth hitting in this input (header fields, counts, RVAs), when the target knows them. */
  readonly hotspots: readonly number[];
  /** Line-oriented text (.sym, WinDbg output): text edits are used too. */
  readonly text: boolean;
  /** Tokens of the format ('MDMP', 'STACK CFI', '.cfa:', ...) to insert or overwrite with. */
  readonly dictionary: readonly Uint8Array[];
  /** Mutants never grow past this many bytes. */
  readonly maxLength: number;
}

const U8 = [0, 1, 2, 0x10, 0x20, 0x40, 0x7f, 0x80, 0xfe, 0xff];
const U16 = [0, 1, 0x80, 0xff, 0x100, 0x1000, 0x7fff, 0x8000, 0xfffe, 0xffff];
// 0, small counts, sizes around the limits of 32-bit arithmetic, and what `x * 12` or `x * 48` overflows on.
const U32 = [
  0, 1, 2, 3, 4, 8, 16, 32, 64, 100, 255, 256, 1000, 4096, 0xffff, 0x10000, 0x100000, 0x1555556, 0x5555556,
  0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
];
const U64 = [
  0n, 1n, 0x7fffffffn, 0xffffffffn, 0x100000000n, 0x1fffffffffffffn, 0x20000000000000n, 0x7fffffffffffffffn,
  0x8000000000000000n, 0xfffffffffffffffen, 0xffffffffffffffffn,
];
const NUMBER_TEXT = [
  '0', '1', '2', '-1', '7f', '80', 'ff', '100', '1000', 'ffff', '10000', '7fffffff', '80000000', 'fffffffe', 'ffffffff',
  '100000000', '1fffffffffffff', '20000000000000', '7fffffffffffffff', '8000000000000000', 'ffffffffffffffff',
  '10000000000000000', '99999999999999999999999999', '-0', '0x10', '1e9', 'NaN',
];


const encoder = new TextEncoder();

type Mutator = (input: Uint8Array, ctx: MutationContext) => Uint8Array;

/** An offset to write `width` bytes at: often a known field (or just after it), else anywhere, often aligned. */
function offsetFor(input: Uint8Array, width: number, ctx: MutationContext): number {
  const { rng } = ctx;
  const limit = input.length - width;
  if (limit < 0) return -1;
  if (ctx.hotspots.length > 0 && rng.chance(0.6)) {
    const at = rng.pick(ctx.hotspots) + (rng.chance(0.7) ? 0 : rng.pick([-8, -4, 4, 8, 12]));
    if (at >= 0 && at <= limit) return at;
  }
  const at = rng.below(limit + 1);
  return rng.chance(0.5) ? at - (at % width) : at;
}

const bitFlip: Mutator = (input, { rng }) => {
  if (input.length === 0) return input;
  const out = input.slice();
  for (let n = rng.small(4); n > 0; n--) {
    const at = rng.below(out.length);
    out[at]! ^= 1 << rng.below(8);
  }
  return out;
};

const byteSet: Mutator = (input, ctx) => {
  const { rng } = ctx;
  if (input.length === 0) return input;
  const out = input.slice();
  for (let n = rng.small(4); n > 0; n--) {
    const at = offsetFor(out, 1, ctx);
    out[at] = rng.chance(0.5) ? rng.pick(U8) : rng.below(256);
  }
  return out;
};

const interestingInteger: Mutator = (input, ctx) => {
  const { rng } = ctx;
  const width = rng.pick([2, 4, 4, 4, 8] as const);
  const at = offsetFor(input, width, ctx);
  if (at < 0) return input;
  const out = input.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (width === 2) view.setUint16(at, rng.pick(U16), true);
  else if (width === 4) view.setUint32(at, rng.pick(U32), true);
  else view.setBigUint64(at, rng.pick(U64), true);
  return out;
};

const arithmetic: Mutator = (input, ctx) => {
  const { rng } = ctx;
  const width = rng.pick([1, 2, 4] as const);
  const at = offsetFor(input, width, ctx);
  if (at < 0) return input;
  const out = input.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const delta = (rng.chance(0.5) ? 1 : -1) * rng.small(35);
  if (width === 1) view.setUint8(at, (view.getUint8(at) + delta) & 0xff);
  else if (width === 2) view.setUint16(at, (view.getUint16(at, true) + delta) & 0xffff, true);
  else view.setUint32(at, (view.getUint32(at, true) + delta) >>> 0, true);
  return out;
};

const truncate: Mutator = (input, { rng }) => {
  if (input.length === 0) return input;
  // Mostly a little off the end, sometimes down to a header.
  const keep = rng.chance(0.7) ? input.length - rng.small(Math.min(input.length, 4096)) : rng.below(input.length);
  return input.slice(0, Math.max(0, keep));
};

function chunk(input: Uint8Array, rng: Rng): [number, number] {
  const length = rng.small(Math.max(1, Math.min(input.length, rng.chance(0.8) ? 64 : 4096)));
  const start = rng.below(Math.max(1, input.length - length + 1));
  return [start, Math.min(input.length, start + length)];
}

const duplicateChunk: Mutator = (input, ctx) => {
  const { rng } = ctx;
  if (input.length === 0) return input;
  const [start, end] = chunk(input, rng);
  if (input.length + (end - start) > ctx.maxLength) return input;
  const at = rng.below(input.length + 1);
  return concatBytes([input.subarray(0, at), input.subarray(start, end), input.subarray(at)]);
};

const deleteChunk: Mutator = (input, { rng }) => {
  if (input.length === 0) return input;
  const [start, end] = chunk(input, rng);
  return concatBytes([input.subarray(0, start), input.subarray(end)]);
};

const copyChunk: Mutator = (input, { rng }) => {
  if (input.length < 2) return input;
  const [start, end] = chunk(input, rng);
  const to = rng.below(input.length - (end - start) + 1);
  const out = input.slice();
  out.set(input.subarray(start, end), to);
  return out;
};

const insertBytes: Mutator = (input, ctx) => {
  const { rng } = ctx;
  const n = rng.small(32);
  if (input.length + n > ctx.maxLength) return input;
  const bytes = new Uint8Array(n);
  const fill = rng.chance(0.5) ? rng.pick(U8) : -1;
  for (let i = 0; i < n; i++) bytes[i] = fill >= 0 ? fill : rng.below(256);
  const at = rng.below(input.length + 1);
  return concatBytes([input.subarray(0, at), bytes, input.subarray(at)]);
};

const splice: Mutator = (input, ctx) => {
  const { rng } = ctx;
  const other = ctx.other();
  if (rng.chance(0.5)) {
    // Head of this input, tail of the other.
    const cut = rng.below(input.length + 1);
    const from = rng.below(other.length + 1);
    const out = concatBytes([input.subarray(0, cut), other.subarray(from)]);
    return out.length > ctx.maxLength ? out.subarray(0, ctx.maxLength) : out;
  }
  // A chunk of the other input over this one.
  if (other.length === 0 || input.length === 0) return input;
  const [start, end] = chunk(other, rng);
  const n = Math.min(end - start, input.length);
  const to = rng.below(input.length - n + 1);
  const out = input.slice();
  out.set(other.subarray(start, start + n), to);
  return out;
};

const dictionaryToken: Mutator = (input, ctx) => {
  const { rng } = ctx;
  if (ctx.dictionary.length === 0) return input;
  const token = rng.pick(ctx.dictionary);
  const at = rng.below(input.length + 1);
  if (rng.chance(0.5) && at + token.length <= input.length) {
    const out = input.slice();
    out.set(token, at);
    return out;
  }
  if (input.length + token.length > ctx.maxLength) return input;
  return concatBytes([input.subarray(0, at), token, input.subarray(at)]);
};

// Text edits. Lines are found around a random position, so a 4 MB .sym file is never split whole.
const NL = 0x0a;

function lineAt(input: Uint8Array, pos: number): [number, number] {
  let start = pos;
  while (start > 0 && input[start - 1] !== NL) start--;
  let end = pos;
  while (end < input.length && input[end] !== NL) end++;
  return [start, Math.min(input.length, end + 1)];
}

function randomLine(input: Uint8Array, rng: Rng): [number, number] {
  return lineAt(input, rng.below(input.length));
}

function lineBoundary(input: Uint8Array, rng: Rng): number {
  return input.length === 0 ? 0 : randomLine(input, rng)[rng.chance(0.5) ? 0 : 1];
}

const duplicateLines: Mutator = (input, ctx) => {
  const { rng } = ctx;
  if (input.length === 0) return input;
  let [start, end] = randomLine(input, rng);
  // Sometimes a block of lines (a FUNC with its line records), sometimes one line many times.
  for (let extra = rng.chance(0.3) ? rng.small(8) : 0; extra > 0 && end < input.length; extra--) end = lineAt(input, end)[1];
  const times = rng.chance(0.9) ? rng.small(4) : rng.small(2000);
  const block = input.subarray(start, end);
  const copies = Math.min(times, Math.floor((ctx.maxLength - input.length) / Math.max(1, block.length)));
  if (copies <= 0) return input;
  const at = rng.chance(0.5) ? end : lineBoundary(input, rng);
  const repeated = new Uint8Array(block.length * copies);
  for (let i = 0; i < copies; i++) repeated.set(block, i * block.length);
  const needsNewline = block.length > 0 && block[block.length - 1] !== NL;
  const sep = needsNewline ? Uint8Array.of(NL) : new Uint8Array(0);
  return concatBytes([input.subarray(0, at), sep, repeated, input.subarray(at)]);
};

const deleteLines: Mutator = (input, { rng }) => {
  if (input.length === 0) return input;
  let [start, end] = randomLine(input, rng);
  for (let extra = rng.small(8) - 1; extra > 0 && end < input.length; extra--) end = lineAt(input, end)[1];
  return concatBytes([input.subarray(0, start), input.subarray(end)]);
};

const moveLine: Mutator = (input, { rng }) => {
  if (input.length === 0) return input;
  const [start, end] = randomLine(input, rng);
  const line = input.subarray(start, end);
  const rest = concatBytes([input.subarray(0, start), input.subarray(end)]);
  const at = lineBoundary(rest, rng);
  return concatBytes([rest.subarray(0, at), line, rest.subarray(at)]);
};

const lineFromOther: Mutator = (input, ctx) => {
  const { rng } = ctx;
  const other = ctx.other();
  if (other.length === 0) return input;
  const [start, end] = randomLine(other, rng);
  if (input.length + (end - start) > ctx.maxLength) return input;
  const at = lineBoundary(input, rng);
  return concatBytes([input.subarray(0, at), other.subarray(start, end), input.subarray(at)]);
};

function isHexDigit(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
}

const tweakNumber: Mutator = (input, ctx) => {
  const { rng } = ctx;
  if (input.length === 0) return input;
  // The next run of hex digits after a random position (decimal numbers are hex digits too).
  let start = rng.below(input.length);
  const stop = Math.min(input.length, start + 512);
  while (start < stop && !isHexDigit(input[start]!)) start++;
  if (start >= stop) return input;
  let end = start;
  while (end < input.length && end - start < 40 && isHexDigit(input[end]!)) end++;
  let replacement: string;
  const old = new TextDecoder().decode(input.subarray(start, end));
  if (rng.chance(0.4) && end - start <= 13) {
    const value = Number.parseInt(old, 16) + (rng.chance(0.5) ? 1 : -1) * rng.small(16);
    replacement = value < 0 ? `-${(-value).toString(16)}` : value.toString(16);
  } else if (rng.chance(0.8)) {
    replacement = rng.pick(NUMBER_TEXT);
  } else {
    replacement = rng.u32().toString(rng.chance(0.5) ? 16 : 10);
  }
  return concatBytes([input.subarray(0, start), encoder.encode(replacement), input.subarray(end)]);
};

const truncateLine: Mutator = (input, { rng }) => {
  if (input.length === 0) return input;
  const [start, end] = randomLine(input, rng);
  const cut = start + rng.below(Math.max(1, end - start));
  return concatBytes([input.subarray(0, cut), Uint8Array.of(NL), input.subarray(end)]);
};

interface Weighted {
  readonly weight: number;
  readonly mutate: Mutator;
}

const BINARY: readonly Weighted[] = [
  { weight: 6, mutate: bitFlip },
  { weight: 6, mutate: byteSet },
  { weight: 10, mutate: interestingInteger },
  { weight: 5, mutate: arithmetic },
  { weight: 2, mutate: truncate },
  { weight: 3, mutate: duplicateChunk },
  { weight: 3, mutate: deleteChunk },
  { weight: 3, mutate: copyChunk },
  { weight: 2, mutate: insertBytes },
  { weight: 2, mutate: splice },
  { weight: 2, mutate: dictionaryToken },
];

const TEXT: readonly Weighted[] = [
  { weight: 2, mutate: bitFlip },
  { weight: 2, mutate: byteSet },
  { weight: 1, mutate: truncate },
  { weight: 1, mutate: deleteChunk },
  { weight: 1, mutate: splice },
  { weight: 6, mutate: dictionaryToken },
  { weight: 5, mutate: duplicateLines },
  { weight: 4, mutate: deleteLines },
  { weight: 3, mutate: moveLine },
  { weight: 4, mutate: lineFromOther },
  { weight: 10, mutate: tweakNumber },
  { weight: 3, mutate: truncateLine },
];

function choose(table: readonly Weighted[], rng: Rng): Mutator {
  let total = 0;
  for (const w of table) total += w.weight;
  let r = rng.below(total);
  for (const w of table) {
    r -= w.weight;
    if (r < 0) return w.mutate;
  }
  return table[0]!.mutate;
}

/** A mutant of `input`: a stack of 1 to 16 edits, few more often than many. */
export function mutate(input: Uint8Array, ctx: MutationContext): Uint8Array {
  const table = ctx.text ? TEXT : BINARY;
  let out = input;
  for (let n = ctx.rng.small(16); n > 0; n--) out = choose(table, ctx.rng)(out, ctx);
  return out.length > ctx.maxLength ? out.subarray(0, ctx.maxLength) : out;
}

/** Dictionary entries from strings (UTF-8) and raw byte lists. */
export function dictionary(...entries: readonly (string | readonly number[])[]): Uint8Array[] {
  return entries.map((e) => (typeof e === 'string' ? encoder.encode(e) : Uint8Array.from(e)));
}
