import { TRAP_ENTRY } from '../unwind/trap-frame.js';
import { parseDps, parseLm, type DpsCapture, type LmModule } from '../formats/windbg-text/index.js';
import type { KfRow } from './types.js';
import type { Finding } from './findings.js';
import { findRecursion, findRepeatedBlock } from './recursion.js';
import { reentrancyFinding } from './stack-findings.js';
import { reconstructStack, startCommand, walkFrom, type Chain, type ModuleRef, type RecoveredFrame, type StackView } from '../unwind/reconstruct/index.js';
import { checkStart, type StartRegisters } from './start.js';

/** Trap and system-call entries whose KTRAP_FRAME carries the interrupted caller (x86). */
/** Captured stretches closer than this are one stack with a gap (an `<omitting output>`). */
const MAX_JOIN_GAP = 64n * 1024n;

/** What `stackhog dps` found: the rebuilt stack as `kf` rows, its per-module sums and the other chains. */
export interface DpsAnalysis {
  readonly view: StackView;
  readonly capture: DpsCapture;
  readonly best: Chain | undefined;
  readonly rows: readonly KfRow[];
  readonly alternatives: readonly { readonly command: string; readonly frames: number; readonly score: number }[];
  /** The WinDbg command for the best chain. */
  readonly command: string | undefined;
  /** Recursion and re-entered call paths in the rebuilt stack. */
  readonly findings: readonly Finding[];
}

/** A row's function, for spotting repeats: `module!function` without the offset, else the whole location. */
function rowFunction(location: string): string {
  return location.includes('!') ? location.replace(/\+0x[0-9a-f]+$/i, '') : location;
}

function rowFindings(rows: readonly KfRow[]): Finding[] {
  const keys = rows.map((r) => rowFunction(r.location));
  // Memory on row i is the stack between row i-1's frame and row i's: what row i's function holds.
  const bytesOf = (i: number): number | undefined => (rows[i]?.memory === undefined ? undefined : Number(rows[i]!.memory));
  const recursion = findRecursion(keys);
  const findings: Finding[] = recursion.map((r) => {
    let perCycle = 0;
    for (let i = r.start; i < r.start + r.cycle.length; i++) perCycle += bytesOf(i) ?? 0;
    return {
      kind: 'recursion',
      severity: 'warning',
      threadId: undefined,
      frame: r.start,
      address: undefined,
      summary: `${r.cycle.join(' → ')} repeats ${r.repeats} times (${r.length} rows, 0x${perCycle.toString(16)} bytes per cycle)`,
      evidence: [`rows ${r.start}–${r.start + r.length - 1} repeat the sequence`],
      data: { cycle: r.cycle, repeats: r.repeats, contiguous: true, first_frame: r.start, bytes_per_cycle: perCycle },
    };
  });
  const block = findRepeatedBlock(keys, recursion);
  if (block) findings.push(reentrancyFinding(block, bytesOf, undefined, 'warning'));
  return findings;
}

/** The captured stack: the largest stretch, joined with neighbours across small gaps. */
function stackExtent(capture: DpsCapture): { start: bigint; end: bigint } | undefined {
  const ranges = [...capture.ranges].sort((a, b) => (a.start < b.start ? -1 : 1));
  let best: { start: bigint; end: bigint } | undefined;
  let current: { start: bigint; end: bigint } | undefined;
  for (const r of ranges) {
    if (current && r.start - current.end <= MAX_JOIN_GAP) current = { start: current.start, end: r.end > current.end ? r.end : current.end };
    else current = { start: r.start, end: r.end };
    if (!best || current.end - current.start > best.end - best.start) best = current;
  }
  return best;
}

/**
 * A StackView over WinDbg text: words from the `dps`/`dqs` capture, modules from `lm` ranges or,
 * without them, from the capture's own symbol annotations (a value the debugger named is code).
 */
export function dpsStackView(capture: DpsCapture, modules: readonly LmModule[]): StackView | undefined {
  const extent = stackExtent(capture);
  if (!extent) return undefined;
  const moduleAt = (address: bigint): ModuleRef | undefined => {
    const m = modules.find((mod) => address >= mod.start && address < mod.end);
    if (m) return { name: m.name, base: m.start, size: Number(m.end - m.start) };
    const s = capture.symbols.get(address);
    if (!s || modules.length > 0) return undefined;
    return { name: s.module, base: s.function === undefined ? address - s.offset : address, size: undefined };
  };
  return {
    cpu: capture.wordSize === 8 ? 'amd64' : 'x86',
    wordSize: capture.wordSize,
    start: extent.start,
    end: extent.end,
    readWord: (address) => capture.words.get(address),
    moduleAt,
    describe: (address) => {
      const named = capture.symbols.get(address)?.text;
      if (named) return Promise.resolve(named);
      const m = moduleAt(address);
      return Promise.resolve(m ? `${m.name}+0x${(address - m.base).toString(16)}` : `0x${address.toString(16)}`);
    },
    isReturnAddress: (address) => Promise.resolve(moduleAt(address) !== undefined),
    isTrapEntry: (address) => Promise.resolve(TRAP_ENTRY.test(capture.symbols.get(address)?.text ?? '')),
  };
}

/** kf rows for recovered frames: Memory is the distance between consecutive ChildEBP/Child-SP values. */
export async function kfRowsForRecovered(view: StackView, frames: readonly RecoveredFrame[]): Promise<KfRow[]> {
  const rows: KfRow[] = [];
  let previous: bigint | undefined;
  for (const f of frames) {
    const location = await view.describe(f.ip);
    rows.push({
      memory: previous === undefined ? undefined : f.childFrame - previous,
      childFrame: f.childFrame,
      returnAddress: f.returnAddress,
      location,
      module: view.moduleAt(f.ip)?.name ?? location.split(/[!+]/)[0],
    });
    previous = f.childFrame;
  }
  return rows;
}

/** Rebuilds the stack in a `dps`/`dqs` capture (optionally with `lm` ranges, or from a given start). */
export async function analyzeDps(dpsText: string, lmText: string | undefined, given?: StartRegisters): Promise<DpsAnalysis | undefined> {
  const capture = parseDps(dpsText);
  const view = dpsStackView(capture, lmText === undefined ? [] : parseLm(lmText));
  if (!view) return undefined;
  const start = given ? checkStart(given, view.cpu) : undefined;
  const found = await reconstructStack(view);
  let best = found.best;
  let frames = best?.frames ?? [];
  if (start) {
    frames = await walkFrom(view, start);
    best = undefined;
  }
  const rows = await kfRowsForRecovered(view, frames);
  return {
    view,
    capture,
    best,
    rows,
    findings: rowFindings(rows),
    command: start ? startCommand(start, view.cpu) : best ? startCommand(best.start, view.cpu) : undefined,
    alternatives: (start ? [found.best, ...found.alternatives].filter((c): c is Chain => c !== undefined) : found.alternatives).map((c) => ({
      command: startCommand(c.start, view.cpu),
      frames: c.frames.length,
      score: Math.round(c.score * 10) / 10,
    })),
  };
}
