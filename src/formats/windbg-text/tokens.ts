// Pieces shared by the WinDbg text parsers: hex words as the debugger prints them, prompts and
// symbol text. Text pasted from web pages carries no-break spaces; JavaScript's \s and trim() treat
// U+00A0 as whitespace, so every split below tolerates it.

/** A pointer-sized hex word: 8 digits (4 bytes) or 16 digits, optionally split by a backtick (8 bytes). */
export interface HexWord {
  readonly value: bigint;
  readonly width: 4 | 8;
}

const WORD = /^(?:0x)?([0-9a-f]{8})(?:`?([0-9a-f]{8}))?$/i;
const HOLE = /^\?{8}(?:`?\?{8})?$/;

/** `b8ae6100`, `0xb8ae6100`, `fffff800``01234567`, `fffff80001234567`; anything else is undefined. */
export function parseHexWord(token: string): HexWord | undefined {
  const m = WORD.exec(token);
  if (m === null) return undefined;
  const high = m[1]!;
  const low = m[2];
  return low === undefined ? { value: BigInt('0x' + high), width: 4 } : { value: BigInt('0x' + high + low), width: 8 };
}

/** `????????` (or `????????``????????`): memory the debugger could not read. */
export function parseHole(token: string): { width: 4 | 8 } | undefined {
  if (!HOLE.test(token)) return undefined;
  return { width: token.length > 8 ? 8 : 4 };
}

// `kd>`, `3: kd>`, `lkd>`, `0:000>`, `0:000:x86>`, `1: kd:x86>`; group 1 is the command typed after it.
const PROMPT = /^\s*(?:\d+:\s*)?(?:l?kd|\d+:\d+)(?::[a-z0-9_]+)?>\s?(.*)$/i;

/** The command typed at a debugger prompt (empty for a bare prompt), or undefined when the line is no prompt. */
export function promptCommand(line: string): string | undefined {
  const m = PROMPT.exec(line);
  return m === null ? undefined : m[1]!.trim();
}

/** A WinDbg symbol as printed next to an address: `module!function+0xN`, `module!function`, `module+0xN`, `module`. */
export interface WindbgSymbol {
  readonly module: string;
  readonly function: string | undefined;
  readonly offset: bigint;
  /** Canonical text: no spaces around `+`, offset as lowercase `0x` hex, omitted when 0 and absent. */
  readonly text: string;
}

// Source annotations (`[d:\src\file.c @ 123]`) that .lines adds after a symbol.
const SOURCE_SUFFIX = /\s*\[[^\]]*@\s*\d+\]\s*$/;
const SYMBOL = /^([^\s!+]+)(?:!(.+?))?(?:\+(?:0x)?([0-9a-f]+))?$/i;

/**
 * Reads symbol text; tolerates spaces around `+` (`BabyHog +0x30d0`, as some pastes show it) and a
 * trailing source annotation. Undefined when the text is not a symbol.
 */
export function parseSymbol(raw: string): WindbgSymbol | undefined {
  const text = raw.replace(SOURCE_SUFFIX, '').trim().replace(/\s*\+\s*/g, '+');
  if (text === '') return undefined;
  const m = SYMBOL.exec(text);
  if (m === null) return undefined;
  const module = m[1]!;
  const fn = m[2];
  const offset = m[3] === undefined ? 0n : BigInt('0x' + m[3]);
  if (fn !== undefined && /\s/.test(undecorated(fn))) return undefined;
  const canonical = module + (fn === undefined ? '' : '!' + fn) + (m[3] === undefined ? '' : '+0x' + offset.toString(16));
  return { module, function: fn, offset, text: canonical };
}

/** A function name without what may hold spaces in C++ names: `<…>`, `(…)` and `` `…' `` quotes. */
function undecorated(name: string): string {
  let out = name.replace(/`[^`']*'/g, '');
  for (let before = ''; before !== out; ) {
    before = out;
    out = out.replace(/<[^<>]*>|\([^()]*\)/g, '');
  }
  return out;
}

/** Whitespace-separated tokens with their start columns. */
export function tokens(line: string): { text: string; column: number }[] {
  const out: { text: string; column: number }[] = [];
  for (const m of line.matchAll(/\S+/g)) out.push({ text: m[0], column: m.index });
  return out;
}

export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}
