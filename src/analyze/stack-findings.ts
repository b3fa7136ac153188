import type { Finding } from './findings.js';
import type { Recursion, RepeatedBlock } from './recursion.js';
import { usedShareBasis } from './stack-usage.js';
import type { CrashInfo, StackUsage, ThreadAnalysis, UsageTotal } from './types.js';

const STATUS_STACK_OVERFLOW = 0xc00000fd;
/** A user stack this full is out of room (Windows keeps guard pages and the thread's stack guarantee below it). */
const MOST_OF_RESERVE = 0.9;
const PAGE = 0x1000n;

function kib(bytes: number): string {
  return bytes >= 10240 ? `${(bytes / 1024).toFixed(0)} KiB` : `${bytes} bytes`;
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function top(totals: readonly UsageTotal[], n: number): string {
  return totals
    .filter((t) => t.bytes > 0)
    .slice(0, n)
    .map((t) => `${t.name} ${hex(t.bytes)} (${kib(t.bytes)}, ${t.frames} frame${t.frames === 1 ? '' : 's'}, ${percent(t.share)})`)
    .join('; ');
}

/** Bytes a recursion's frames hold, and per cycle. */
export function recursionBytes(r: Recursion, usage: StackUsage): { total: number; perCycle: number } {
  let total = 0;
  for (let i = r.start; i < r.start + r.length; i++) total += usage.frames[i]?.size ?? 0;
  let perCycle = 0;
  for (let i = r.start; i < r.start + r.cycle.length; i++) perCycle += usage.frames[i]?.size ?? 0;
  return { total, perCycle };
}

/**
 * A re-entered call path: the same block of frames at several places of one stack (e.g. a filter
 * and driver stack re-entered through the I/O manager). `bytesOf(i)` is the stack frame i holds.
 */
export function reentrancyFinding(
  found: RepeatedBlock,
  bytesOf: (frame: number) => number | undefined,
  threadId: number | undefined,
  severity: Finding['severity'],
): Finding {
  const passes = found.starts.map((start) => found.block.reduce((s, _, k) => s + (bytesOf(start + k) ?? 0), 0));
  const perCycle = passes[0] ?? 0;
  const total = passes.reduce((a, b) => a + b, 0);
  const path = found.block.join(' → ');
  // Each pass holds its own bytes (locals differ per call): list them, then their sum.
  const sizes = passes.every((p) => p === perCycle) ? `${hex(perCycle)} bytes each` : `${passes.map(hex).join(' + ')} bytes`;
  return {
    kind: 'reentrancy',
    severity,
    threadId,
    frame: found.starts[0],
    address: undefined,
    summary: `re-entrancy: a call path of ${found.block.length} frames occurs ${found.starts.length} times on the stack (${sizes}, ${kib(total)} in all): ${path}`,
    evidence: [
      `the path starts at frames ${found.starts.join(', ')}, with other frames in between: the code below the path calls back into its top`,
      'look at why each pass through these modules re-enters the stack (a request sent down again, a callback, a completion routine) and at how much each module keeps on the stack',
    ],
    data: { cycle: found.block, repeats: found.starts.length, contiguous: false, first_frame: found.starts[0], starts: found.starts, bytes: total, bytes_per_pass: passes },
  };
}

/** Findings about one thread's stack: recursion, and an overflow with who caused it. */
export function stackFindings(t: ThreadAnalysis, usage: StackUsage, recursion: readonly Recursion[], crash: CrashInfo | undefined): Finding[] {
  const findings: Finding[] = [];
  const threadId = t.thread.id;
  const overflowException = t.crashed && crash?.code === STATUS_STACK_OVERFLOW;
  // A kernel stack is resident from StackBase down to StackLimit: its limit is the stack's end.
  const nearLimit = usage.limitSource === 'kthread' && usage.limit !== undefined && usage.stackPointer !== undefined && usage.stackPointer < usage.limit + PAGE;
  // A user stack grows down its reservation, committing as it goes: only the reserve's end is the end.
  const reserveUsed = usage.reserveBytes !== undefined && usage.usedBytes !== undefined && usage.reserveBytes > 0 ? usage.usedBytes / usage.reserveBytes : undefined;
  const nearReserveEnd = reserveUsed !== undefined && reserveUsed >= MOST_OF_RESERVE;
  const overflow = overflowException || nearLimit || nearReserveEnd;

  for (const r of recursion) {
    // Scanning finds stale copies of one return address at several depths: alone, that is no
    // evidence of recursion (Android's scan-only walks are full of it). An overflow makes it worth saying.
    if (!overflow && t.frames.slice(r.start, r.start + r.length).every((f) => f.trust === 'scan' || f.trust === 'cfi_scan')) continue;
    const bytes = recursionBytes(r, usage);
    const cycle = r.cycle.join(' → ');
    findings.push({
      kind: 'recursion',
      severity: overflow ? 'error' : 'warning',
      threadId,
      frame: r.start,
      address: t.frames[r.start]?.ip,
      summary:
        r.cycle.length === 1
          ? `${r.cycle[0]} recurses: ${r.length} frames of ${hex(bytes.perCycle)} bytes each (${kib(bytes.total)} of stack)`
          : `a cycle of ${r.cycle.length} frames repeats ${r.repeats} times (${r.length} frames, ${hex(bytes.perCycle)} bytes per cycle, ${kib(bytes.total)} of stack): ${cycle}`,
      evidence: [
        `frames ${r.start}–${r.start + r.length - 1} repeat the sequence ${cycle}`,
        r.cycle.length === 1
          ? "look for the recursion's exit condition, or for input that makes it too deep"
          : 'these modules call back into each other (re-entrancy): look at what each passes down and why the chain does not end',
      ],
      data: { cycle: r.cycle, repeats: r.repeats, contiguous: true, frames: r.length, first_frame: r.start, bytes: bytes.total, bytes_per_cycle: bytes.perCycle },
    });
  }

  if (overflow) {
    const evidence: string[] = [];
    if (overflowException) evidence.push('the exception is EXCEPTION_STACK_OVERFLOW (0xC00000FD): the thread touched the guard page below its stack');
    if (nearLimit) evidence.push(`the stack pointer ${hex(usage.stackPointer!)} is within a page of the stack limit ${hex(usage.limit!)}`);
    if (nearReserveEnd) {
      const left = Number(usage.stackPointer! - usage.reserveBase!);
      evidence.push(
        `the stack pointer ${hex(usage.stackPointer!)} is ${kib(left)} above the end of the reserved stack ${hex(usage.reserveBase!)} ` +
          `(${usage.reserveSource === 'teb' ? 'TEB DeallocationStack' : 'the allocation base in the memory info'}): ${percent(reserveUsed!)} of the ${kib(usage.reserveBytes!)} reserve is in use`,
      );
    }
    const basis = usedShareBasis(usage);
    if (usage.usedBytes !== undefined) {
      evidence.push(
        `${kib(usage.usedBytes)} (${hex(usage.usedBytes)}) of stack in use` +
          (basis !== undefined ? `, ${usage.usedPercent!.toFixed(1)}% of ${basis}` : ''),
      );
    }
    const modules = top(usage.byModule, 3);
    if (modules) evidence.push(`largest users by module: ${modules}`);
    const functions = top(usage.byFunction, 3);
    if (functions) evidence.push(`largest users by function: ${functions}`);
    const biggest = recursion.map((r) => ({ r, bytes: recursionBytes(r, usage).total })).sort((a, b) => b.bytes - a.bytes)[0];
    if (biggest) evidence.push(`recursion: ${biggest.r.cycle.join(' → ')} repeats over ${biggest.r.length} frames holding ${kib(biggest.bytes)}`);
    else evidence.push('no recursion: the stack was filled by deep nesting or large frames; see the per-function totals');
    const culprit = usage.byModule.find((m) => m.bytes > 0);
    findings.unshift({
      kind: 'stack_overflow',
      severity: 'critical',
      threadId,
      frame: 0,
      address: usage.stackPointer,
      summary: culprit
        ? `stack overflow: ${culprit.name} holds ${percent(culprit.share)} of the used stack${biggest ? ` (recursion of ${biggest.r.cycle.join(' → ')})` : ''}`
        : 'stack overflow',
      evidence,
      data: {
        used_bytes: usage.usedBytes ?? null,
        used_percent: usage.usedPercent ?? null,
        top_modules: usage.byModule.slice(0, 5).map((m) => ({ module: m.name, bytes: m.bytes, frames: m.frames, share: m.share })),
        top_functions: usage.byFunction.slice(0, 5).map((m) => ({ function: m.name, bytes: m.bytes, frames: m.frames, share: m.share })),
      },
    });
  }
  return findings;
}
