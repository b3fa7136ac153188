// WinDbg's dps / dds / dqs output: one stack slot per line, `ADDRESS  VALUE [symbol]`.
import { parseHexWord, parseHole, parseSymbol, promptCommand, splitLines, type WindbgSymbol } from './tokens.js';

/** The symbol WinDbg printed next to a value. */
export type DpsSymbol = WindbgSymbol;

/** A maximal run of consecutive slots (words or holes) in a capture; `end` is exclusive. */
export interface DpsRange {
  readonly start: bigint;
  readonly end: bigint;
}

export interface DpsCapture {
  readonly wordSize: 4 | 8;
  /** Slot address → value, for every readable slot. */
  readonly words: Map<bigint, bigint>;
  /** Symbol text by value (as printed next to any slot holding it; the first printing wins). */
  readonly symbols: Map<bigint, DpsSymbol>;
  /** Slots printed as `????????`: listed by the debugger but unreadable. */
  readonly holes: Set<bigint>;
  /** The captured stretches, sorted; an `<omitting output>` gap or a second command splits them. */
  readonly ranges: DpsRange[];
  /** Address lines read (words and holes). */
  readonly lines: number;
  /** Non-blank lines not understood: neither address lines, symbol continuations, prompts nor dps commands. */
  readonly skipped: number;
}

const ADDRESS_LINE = /^\s*(\S+)\s+(\S+)(?:\s+(.*?))?\s*$/;
const DUMP_COMMAND = /^d([pdq])s(?:\s|$)/i;
// What a wrapped symbol's second part may hold: symbol characters only, no spaces.
const CONTINUATION = /^[\w:!+~<>`'.$@?\-[\]()*&,]+$/;

/**
 * Reads the text of one or more dps/dds/dqs commands. Tolerates prompts and the command lines,
 * blank lines, `<omitting output>` and other chatter (counted in `skipped`), symbols wrapped onto
 * the next line, `????????` holes and dqs's backticks. Word size: dds → 4, dqs → 8, else the width
 * of the first value; lines of another width are skipped.
 */
export function parseDps(text: string): DpsCapture {
  const words = new Map<bigint, bigint>();
  const symbols = new Map<bigint, DpsSymbol>();
  const holes = new Set<bigint>();
  let wordSize: 4 | 8 | undefined;
  let lines = 0;
  let skipped = 0;
  // The previous line when it was an address line with a readable value: a wrapped symbol continues it.
  let last: { value: bigint; symbolText: string; ownsSymbol: boolean } | undefined;

  for (const line of splitLines(text)) {
    if (line.trim() === '') {
      last = undefined;
      continue;
    }
    const command = promptCommand(line) ?? (DUMP_COMMAND.test(line.trim()) ? line.trim() : undefined);
    if (command !== undefined) {
      const dump = DUMP_COMMAND.exec(command);
      if (dump !== null && wordSize === undefined) {
        const kind = dump[1]!.toLowerCase();
        if (kind === 'd') wordSize = 4;
        else if (kind === 'q') wordSize = 8;
      }
      last = undefined;
      continue;
    }

    const slot = readAddressLine(line);
    if (slot !== undefined) {
      wordSize ??= slot.width;
      if (slot.width !== wordSize) {
        skipped++;
        last = undefined;
        continue;
      }
      lines++;
      if (slot.value === undefined) {
        holes.add(slot.address);
        words.delete(slot.address);
        last = undefined;
        continue;
      }
      words.set(slot.address, slot.value);
      holes.delete(slot.address);
      const symbol = slot.rest === '' ? undefined : symbolAfterValue(slot.rest);
      const owns = symbol !== undefined && !symbols.has(slot.value);
      if (owns) symbols.set(slot.value, symbol);
      last = { value: slot.value, symbolText: symbol === undefined ? '' : slot.rest, ownsSymbol: owns };
      continue;
    }

    if (last !== undefined && continueSymbol(last, line.trim(), symbols)) continue;
    skipped++;
    last = undefined;
  }

  const size = wordSize ?? 4;
  return { wordSize: size, words, symbols, holes, ranges: capturedRanges(words, holes, size), lines, skipped };
}

interface AddressLine {
  readonly address: bigint;
  /** Undefined for a `????????` hole. */
  readonly value: bigint | undefined;
  readonly width: 4 | 8;
  readonly rest: string;
}

function readAddressLine(line: string): AddressLine | undefined {
  const m = ADDRESS_LINE.exec(line);
  if (m === null) return undefined;
  const address = parseHexWord(m[1]!);
  if (address === undefined) return undefined;
  const rest = m[3] ?? '';
  const value = parseHexWord(m[2]!);
  if (value !== undefined) return { address: address.value, value: value.value, width: value.width, rest };
  const hole = parseHole(m[2]!);
  if (hole !== undefined) return { address: address.value, value: undefined, width: hole.width, rest };
  return undefined;
}

/** The whole rest of the line as a symbol, else its first token when that has `!` or `+` (a note may follow). */
function symbolAfterValue(rest: string): DpsSymbol | undefined {
  const whole = parseSymbol(rest);
  if (whole !== undefined) return whole;
  const first = rest.replace(/\s*\+\s*/g, '+').split(/\s+/)[0] ?? '';
  return /[!+]/.test(first) ? parseSymbol(first) : undefined;
}

/** A terminal wraps long lines: a lone symbol fragment on the next line belongs to the previous value. */
function continueSymbol(
  last: { value: bigint; symbolText: string; ownsSymbol: boolean },
  fragment: string,
  symbols: Map<bigint, DpsSymbol>,
): boolean {
  if (!CONTINUATION.test(fragment) || !/[a-z0-9]/i.test(fragment) || fragment.endsWith(':')) return false;
  if (last.symbolText === '') {
    // Wrapped right after the value: the fragment must be a symbol by itself.
    if (!/[!+]/.test(fragment)) return false;
    const symbol = parseSymbol(fragment);
    if (symbol === undefined) return false;
    if (!symbols.has(last.value)) {
      symbols.set(last.value, symbol);
      last.ownsSymbol = true;
    }
    last.symbolText = fragment;
    return true;
  }
  const joined = last.symbolText + fragment;
  const symbol = parseSymbol(joined);
  if (symbol === undefined) return false;
  if (last.ownsSymbol) symbols.set(last.value, symbol);
  last.symbolText = joined;
  return true;
}

function capturedRanges(words: Map<bigint, bigint>, holes: Set<bigint>, wordSize: 4 | 8): DpsRange[] {
  const slots = [...words.keys(), ...holes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: DpsRange[] = [];
  const step = BigInt(wordSize);
  let start: bigint | undefined;
  let end = 0n;
  for (const address of slots) {
    if (start !== undefined && address === end) {
      end += step;
      continue;
    }
    if (start !== undefined && address < end) continue;
    if (start !== undefined) ranges.push({ start, end });
    start = address;
    end = address + step;
  }
  if (start !== undefined) ranges.push({ start, end });
  return ranges;
}
