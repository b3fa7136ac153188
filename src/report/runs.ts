import type { ThreadReport } from '../analyze/types.js';

/**
 * The middle of a recursion run, which the text, kf and HTML reports fold into one line: the run's
 * first and last cycle stay listed, the repeats between them are summarised.
 */
export interface FoldedRun {
  /** Physical frame indices folded, inclusive. */
  readonly first: number;
  readonly last: number;
  /** The repeating call sites (`module!function` or `module+0xN`), innermost first. */
  readonly cycle: readonly string[];
  /** Cycles folded (the frame count when the cycle is one frame). */
  readonly cycles: number;
  /** Every folded frame's size when they all have the same one. */
  readonly bytesEach: number | undefined;
  /** The folded frames' bytes, those of known size. */
  readonly bytes: number;
}

/** A fold hides at least this many frames: fewer read as easily listed. */
const MIN_FOLDED_FRAMES = 3;

/** The foldable part of each of the thread's recursion runs, innermost first. */
export function foldedRuns(t: Pick<ThreadReport, 'recursion' | 'usage'>): FoldedRun[] {
  const out: FoldedRun[] = [];
  for (const r of t.recursion) {
    const period = r.cycle.length;
    const first = r.start + period;
    const last = r.start + r.length - period - 1;
    const count = last - first + 1;
    if (count < Math.max(MIN_FOLDED_FRAMES, 2 * period)) continue;
    const sizes = t.usage.frames.slice(first, last + 1).map((f) => f.size);
    const known = sizes.filter((s): s is number => s !== undefined);
    const same = known.length === sizes.length && known.every((s) => s === known[0]);
    out.push({
      first,
      last,
      cycle: r.cycle,
      cycles: Math.floor(count / period),
      bytesEach: same ? known[0] : undefined,
      bytes: known.reduce((a, b) => a + b, 0),
    });
  }
  return out;
}

/** `crashme.exe+0xa6a7 ×237, 0x10e8 bytes each` or `a → b ×100 (a cycle of 2 frames), 0x3200 bytes in all`. */
export function foldedRunText(run: FoldedRun): string {
  const sites = run.cycle.join(' → ');
  const cycle = run.cycle.length > 1 ? ` (a cycle of ${run.cycle.length} frames)` : '';
  const bytes = run.bytesEach !== undefined ? `0x${run.bytesEach.toString(16)} bytes each` : `0x${run.bytes.toString(16)} bytes in all`;
  return `${sites} ×${run.cycles}${cycle}, ${bytes}`;
}

/** Folded runs by their first frame, for a renderer walking the frames in order. */
export function foldsByFirstFrame(runs: readonly FoldedRun[]): Map<number, FoldedRun> {
  return new Map(runs.map((r) => [r.first, r]));
}
