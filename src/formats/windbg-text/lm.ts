// WinDbg's lm output (lm, lm k, lmv, lm m <pattern>): `start end module_name [flags] (symbol state) [path]`.
import { parseHexWord, promptCommand, splitLines } from './tokens.js';

export interface LmModule {
  readonly start: bigint;
  /** Exclusive, as lm prints it. */
  readonly end: bigint;
  readonly name: string;
}

const HEADER = /^\s*start\s+end\s+module\s+name\b/i;
const UNLOADED = /^\s*Unloaded modules:/i;
const MODULE_LINE = /^\s*(\S+)\s+(\S+)\s+(\S+)/;

/**
 * The loaded modules listed in lm output, sorted by start. Skips headers, lmv's detail lines and
 * the `Unloaded modules:` section (until the next prompt or header); a module listed twice is kept once.
 */
export function parseLm(text: string): LmModule[] {
  const modules = new Map<string, LmModule>();
  let unloaded = false;
  for (const line of splitLines(text)) {
    if (promptCommand(line) !== undefined || HEADER.test(line)) {
      unloaded = false;
      continue;
    }
    if (UNLOADED.test(line)) {
      unloaded = true;
      continue;
    }
    if (unloaded) continue;
    const m = MODULE_LINE.exec(line);
    if (m === null) continue;
    const start = parseHexWord(m[1]!);
    const end = parseHexWord(m[2]!);
    const name = m[3]!;
    if (start === undefined || end === undefined || start.value >= end.value || name.startsWith('(')) continue;
    const key = `${start.value}:${name.toLowerCase()}`;
    if (!modules.has(key)) modules.set(key, { start: start.value, end: end.value, name });
  }
  return [...modules.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}
