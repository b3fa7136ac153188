import type { Analysis, KfRow, ThreadReport } from '../analyze/types.js';
import { foldedRunText, foldedRuns } from './runs.js';
import { printable } from './format.js';
import { pointerWidth, type Cpu } from '../model/cpu.js';
import { registerValue, type StackFrame } from '../unwind/frame.js';
import { windbgModuleName } from '../symbolize/module-name.js';

export interface KfModuleTotal {
  readonly module: string;
  readonly bytes: bigint;
  readonly rows: number;
}

/** `module!function+0xN`, `module+0xN` or `0xADDRESS`, as WinDbg prints a frame. */
export function windbgLocation(frame: StackFrame): string {
  const m = frame.module;
  if (!m) return `0x${frame.ip.toString(16)}`;
  const name = windbgModuleName(m);
  const s = frame.symbol;
  if (!s) return `${name}+0x${(frame.ip - m.base).toString(16)}`;
  const offset = frame.ip - m.base - BigInt(s.functionAddress);
  return `${name}!${s.functionName}${offset === 0n ? '' : `+0x${offset.toString(16)}`}`;
}

function address(value: bigint, width: 4 | 8): string {
  const h = value.toString(16).padStart(width * 2, '0');
  return width === 8 ? `${h.slice(0, 8)}\`${h.slice(8)}` : h;
}

/** Rows for a walked thread: x86 uses each frame's EBP as ChildEBP, x64/arm64 its stack pointer. */
export function kfRowsForFrames(frames: readonly StackFrame[], cpu: Cpu): KfRow[] {
  const rows: KfRow[] = [];
  let previous: bigint | undefined;
  frames.forEach((frame, i) => {
    const m = frame.module;
    for (const inline of frame.symbol?.inlines ?? []) {
      rows.push({ memory: undefined, childFrame: -1n, returnAddress: -1n, location: `${m ? windbgModuleName(m) : '?'}!${inline.name}`, module: m ? windbgModuleName(m) : undefined, inline: true });
    }
    // A trap entry's row shows its callee's ChildEBP, as WinDbg lists it (Memory 0): its own EBP is the KTRAP_FRAME.
    const childFrame = cpu === 'x86' ? (frame.trapFrame !== undefined && previous !== undefined ? previous : registerValue(frame, 'ebp')) : frame.sp;
    rows.push({
      memory: previous === undefined || frame.afterGap || frame.otherStack ? undefined : childFrame - previous,
      childFrame,
      returnAddress: frames[i + 1]?.ip ?? 0n,
      location: windbgLocation(frame),
      module: m ? windbgModuleName(m) : undefined,
      afterGap: frame.afterGap,
    });
    previous = childFrame;
  });
  return rows;
}

/** Sums of the Memory column per module of the row's location, largest first (how the blog adds up its hogs). */
export function kfModuleTotals(rows: readonly KfRow[]): KfModuleTotal[] {
  const totals = new Map<string, { bytes: bigint; rows: number }>();
  for (const r of rows) {
    if (r.inline) continue;
    const key = r.module ?? '(no module)';
    const t = totals.get(key) ?? { bytes: 0n, rows: 0 };
    if (r.memory !== undefined && r.memory > 0n) t.bytes += r.memory;
    t.rows += 1;
    totals.set(key, t);
  }
  return [...totals.entries()]
    .map(([module, t]) => ({ module, bytes: t.bytes, rows: t.rows }))
    .sort((a, b) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : (a.module < b.module ? -1 : a.module > b.module ? 1 : 0)));
}

/** Rows a report folds into one line: rows[firstRow..lastRow], described by `text`. */
export interface KfFold {
  readonly firstRow: number;
  readonly lastRow: number;
  readonly text: string;
}

/**
 * The listing itself: a header and one line per row, as WinDbg's `kf` prints it (folded rows as one
 * line). The frame column is ChildEBP on x86 and Child-SP elsewhere (32-bit ARM included).
 */
export function renderKfRows(rows: readonly KfRow[], width: 4 | 8, folds: readonly KfFold[] = [], childColumn: 'ChildEBP' | 'Child-SP' = width === 8 ? 'Child-SP' : 'ChildEBP'): string[] {
  const frameWidth = width === 8 ? 17 : 8;
  const header = width === 8 ? '  Memory  Child-SP          RetAddr           Call Site' : `  Memory  ${childColumn} RetAddr  ${childColumn === 'Child-SP' ? ' Call Site' : ''}`;
  const out = [header];
  const foldAt = new Map(folds.map((f) => [f.firstRow, f]));
  for (let i = 0; i < rows.length; i++) {
    const fold = foldAt.get(i);
    if (fold) {
      out.push(`     ... ${fold.text}`);
      i = fold.lastRow;
      continue;
    }
    const r = rows[i]!;
    if (r.inline) {
      out.push(`${''.padStart(8)} ${'(Inline)'.padEnd(frameWidth)} ${'--------'.padEnd(frameWidth)} ${r.location}`);
      continue;
    }
    if (r.afterGap) out.push('   ----- the walk stopped; the rows below were rebuilt from the raw stack -----');
    const memory = r.memory === undefined ? '' : r.memory < 0n ? `-${(-r.memory).toString(16)}` : r.memory.toString(16);
    out.push(`${memory.padStart(8)} ${address(r.childFrame, width)} ${address(r.returnAddress, width)} ${r.location}`);
  }
  return out;
}

export function renderKfTotals(rows: readonly KfRow[]): string[] {
  const totals = kfModuleTotals(rows).filter((t) => t.bytes > 0n);
  if (totals.length === 0) return [];
  const nameWidth = Math.max(...totals.map((t) => t.module.length));
  return [
    'Stack by module (sum of the Memory column):',
    ...totals.map((t) => `  ${t.module.padEnd(nameWidth)}  ${`0x${t.bytes.toString(16)}`.padStart(9)}  ${t.bytes.toString().padStart(8)} bytes  ${t.rows} row${t.rows === 1 ? '' : 's'}`),
  ];
}

/** `--format kf` for a dump: each thread as WinDbg's `kf` lists it, with per-module totals. */
export function renderKf(analysis: Analysis, options: { threads?: 'all' | 'crashed'; allFrames?: boolean } = {}): string {
  const out: string[] = [];
  const crashed = analysis.crashingThreadIndex;
  const order = analysis.threads.map((_, i) => i).filter((i) => options.threads !== 'crashed' || i === crashed);
  if (crashed !== undefined && order.includes(crashed)) order.splice(order.indexOf(crashed), 1), order.unshift(crashed);
  for (const i of order) {
    const t = analysis.threads[i]!;
    const cpu = t.context?.cpu ?? analysis.snapshot.system.cpu;
    const rows = kfRowsForFrames(t.frames, cpu);
    if (out.length > 0) out.push('');
    out.push(`Thread ${i}${i === crashed ? ' (crashed)' : ''} id 0x${t.thread.id.toString(16)}${t.thread.name ? ` "${t.thread.name}"` : ''}`);
    out.push(...renderKfRows(rows, pointerWidth(cpu), options.allFrames ? [] : kfFolds(t), cpu === 'x86' ? 'ChildEBP' : 'Child-SP'));
    const totals = renderKfTotals(rows);
    if (totals.length > 0) out.push('', ...totals);
    out.push(...kfWow64(t, options.allFrames ?? false));
  }
  return out.map(printable).join('\n') + '\n';
}

/** A WOW64 thread's 32-bit frames after its 64-bit ones, as WinDbg lists them after `.effmach x86`. */
function kfWow64(t: ThreadReport, allFrames: boolean): string[] {
  const w = t.wow64;
  if (!w) return [];
  const rows = kfRowsForFrames(w.frames, 'x86');
  const totals = renderKfTotals(rows);
  return ['', 'WOW64 32-bit frames (.effmach x86):', ...renderKfRows(rows, 4, allFrames ? [] : kfFolds(w)), ...(totals.length > 0 ? ['', ...totals] : [])];
}

/** A thread's folded recursion runs as row ranges of kfRowsForFrames (each frame's inline rows come first). */
function kfFolds(t: ThreadReport): KfFold[] {
  const firstRow: number[] = [];
  let row = 0;
  for (const f of t.frames) {
    firstRow.push(row);
    row += (f.symbol?.inlines.length ?? 0) + 1;
  }
  firstRow.push(row);
  return foldedRuns(t).map((run) => ({
    firstRow: firstRow[run.first]!,
    lastRow: firstRow[run.last + 1]! - 1,
    text: `frames ${run.first}–${run.last}: ${foldedRunText(run)} (--all-frames lists them)`,
  }));
}
