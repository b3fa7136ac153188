// WinDbg's k-family listings (k, kf, kn, kfn, kv, x64 Child-SP/Call Site), to compare ours with theirs.
import { parseHexWord, promptCommand, splitLines, tokens } from './tokens.js';

export interface KfRow {
  /** kf's Memory column: bytes from the previous row's frame to this one (hex in the text); blank on the first row. */
  readonly memory: number | undefined;
  /** ChildEBP (x86) or Child-SP (x64/arm64). */
  readonly childFrame: bigint;
  readonly returnAddress: bigint;
  /** The Location / Call Site text without kv's `(FPO: …)`-style notes or a source `[file @ line]`. */
  readonly location: string;
}

const HEADER = /\b(?:ChildEBP|Child-SP|ChildSP)\b/i;
const HEX_DIGITS = /^[0-9a-f]+$/i;
const NOTE = /\s+\((?:FPO|CONV|TrapFrame|Inline Function|Frame)\b.*$/i;
const SOURCE = /\s*\[[^\]]*@\s*\d+\]\s*$/;

interface RawRow {
  readonly leading: string[];
  /** From the latest header: whether it has the `#` column; undefined before any header. */
  readonly numbered: boolean | undefined;
  readonly childFrame: bigint;
  readonly returnAddress: bigint;
  readonly location: string;
}

/**
 * Rows of a k-family listing. Frame numbers (kn) and the Memory column (kf) are both optional;
 * without a header, a leading column counting 0, 1, 2… is taken for frame numbers. Warnings,
 * prompts, inline-frame lines and other text are skipped.
 */
export function parseKf(text: string): KfRow[] {
  const raw: RawRow[] = [];
  let numbered: boolean | undefined;
  let hasArgs = false;
  for (const line of splitLines(text)) {
    if (promptCommand(line) !== undefined) continue;
    if (HEADER.test(line)) {
      numbered = /^\s*#/.test(line);
      hasArgs = /Args to Child/i.test(line);
      continue;
    }
    const row = readRow(line, numbered, hasArgs);
    if (row !== undefined) raw.push(row);
  }

  const headerless = raw.filter((r) => r.numbered === undefined);
  const counted =
    headerless.some((r) => r.leading.length === 2) ||
    (headerless.length > 0 && headerless.every((r, i) => r.leading.length === 1 && parseInt(r.leading[0]!, 16) === i));
  return raw.map((r) => {
    const isNumbered = r.numbered ?? counted;
    const memoryText = isNumbered ? r.leading[1] : r.leading[r.leading.length - 1];
    return {
      memory: memoryText === undefined ? undefined : parseInt(memoryText, 16),
      childFrame: r.childFrame,
      returnAddress: r.returnAddress,
      location: r.location,
    };
  });
}

function readRow(line: string, numbered: boolean | undefined, hasArgs: boolean): RawRow | undefined {
  const toks = tokens(line);
  // ChildEBP and RetAddr: the first two adjacent full-width words, after at most two short columns.
  let j = -1;
  for (let i = 0; i + 1 < toks.length && i <= 2; i++) {
    const a = parseHexWord(toks[i]!.text);
    const b = parseHexWord(toks[i + 1]!.text);
    if (a !== undefined && b !== undefined && a.width === b.width) {
      j = i;
      break;
    }
  }
  if (j < 0) return undefined;
  const leading = toks.slice(0, j).map((t) => t.text);
  if (!leading.every((t) => HEX_DIGITS.test(t))) return undefined;
  let k = j + 2;
  if (toks[k]?.text === ':') {
    // x64 kv: `Child-SP RetAddr : Args to Child : Call Site`.
    k++;
    while (k < toks.length && toks[k]!.text !== ':') k++;
    k++;
  } else if (hasArgs) {
    let args = 0;
    while (args < 3 && toks[k] !== undefined && parseHexWord(toks[k]!.text) !== undefined) {
      k++;
      args++;
    }
  }
  const location = toks[k] === undefined ? '' : cleanLocation(line.slice(toks[k]!.column));
  return {
    leading,
    numbered,
    childFrame: parseHexWord(toks[j]!.text)!.value,
    returnAddress: parseHexWord(toks[j + 1]!.text)!.value,
    location,
  };
}

function cleanLocation(text: string): string {
  return text.replace(NOTE, '').replace(SOURCE, '').trim().replace(/\s*\+\s*/g, '+');
}
