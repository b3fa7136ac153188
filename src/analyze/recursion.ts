/** A run of frames that repeats a cycle of call sites: one function recursing, or several re-entering each other. */
export interface Recursion {
  /** Index of the first frame of the run (innermost). */
  readonly start: number;
  /** Frames in the run. */
  readonly length: number;
  /** The repeating sequence of frame keys, innermost first, as it first appears in the run. */
  readonly cycle: readonly string[];
  /** How many times the cycle repeats (whole and partial). */
  readonly repeats: number;
}

/** Runs shorter than this many cycles are not reported. */
const MIN_REPEATS = 3;
/** The longest cycle looked for (a driver stack re-entering itself spans a dozen or two frames). */
const MAX_PERIOD = 64;

/**
 * Finds repeated frame sequences of any period up to MAX_PERIOD: for each period, maximal runs
 * where key[j] = key[j + period]. Among overlapping runs the one covering most frames wins (for
 * equal coverage the shorter period). O(frames × MAX_PERIOD) comparisons of small integers.
 */
export function findRecursion(keys: readonly string[]): Recursion[] {
  const ids = internKeys(keys);
  const n = ids.length;
  const candidates: Recursion[] = [];
  for (let period = 1; period <= Math.min(MAX_PERIOD, Math.floor(n / 2)); period++) {
    let runStart = -1;
    for (let j = 0; j + period <= n; j++) {
      const same = j + period < n && ids[j] === ids[j + period];
      if (same && runStart < 0) runStart = j;
      if (!same && runStart >= 0) {
        // keys[runStart .. j + period) repeat with this period.
        const length = j + period - runStart;
        const repeats = length / period;
        if (repeats >= MIN_REPEATS && !isPeriodicWithin(ids, runStart, period)) {
          candidates.push({ start: runStart, length, cycle: keys.slice(runStart, runStart + period), repeats: Math.floor(repeats * 100) / 100 });
        }
        runStart = -1;
      }
    }
  }
  // Greedy: most frames covered first; drop runs overlapping an accepted one.
  candidates.sort((a, b) => b.length - a.length || a.cycle.length - b.cycle.length || a.start - b.start);
  const accepted: Recursion[] = [];
  for (const c of candidates) {
    if (accepted.some((a) => c.start < a.start + a.length && a.start < c.start + c.length)) continue;
    accepted.push(c);
  }
  return accepted.sort((a, b) => a.start - b.start);
}

/** True when the cycle is itself a repetition of a shorter one (then the shorter period reports it). */
function isPeriodicWithin(ids: Int32Array, start: number, period: number): boolean {
  for (let p = 1; p < period; p++) {
    if (period % p !== 0) continue;
    let all = true;
    for (let k = p; k < period && all; k++) all = ids[start + k] === ids[start + k - p];
    if (all) return true;
  }
  return false;
}

function internKeys(keys: readonly string[]): Int32Array {
  const table = new Map<string, number>();
  const ids = new Int32Array(keys.length);
  keys.forEach((k, i) => {
    let id = table.get(k);
    if (id === undefined) {
      id = table.size;
      table.set(k, id);
    }
    ids[i] = id;
  });
  return ids;
}

/** A block of frames that occurs again further down the stack, with other frames in between (re-entrancy). */
export interface RepeatedBlock {
  /** The block's keys, innermost first. */
  readonly block: readonly string[];
  /** Index of the first frame of each occurrence, innermost first. */
  readonly starts: readonly number[];
}

/** Blocks shorter than this are too common (IofCallDriver → driver) to mean anything. */
const MIN_BLOCK = 4;
/** Stacks longer than this are not searched for blocks (the search is quadratic). */
const MAX_BLOCK_SEARCH_FRAMES = 4096;

/**
 * The longest block of at least MIN_BLOCK frames that occurs two or more times without
 * overlapping, as a re-entrant call path does (a driver stack re-entered through the I/O manager).
 * Frames already explained by contiguous recursion are excluded. Quadratic in the frame count,
 * bounded by MAX_BLOCK_SEARCH_FRAMES.
 */
export function findRepeatedBlock(keys: readonly string[], exclude: readonly Recursion[] = []): RepeatedBlock | undefined {
  const n = keys.length;
  if (n > MAX_BLOCK_SEARCH_FRAMES) return undefined;
  const ids = internKeys(keys);
  const excluded = new Uint8Array(n);
  for (const r of exclude) excluded.fill(1, r.start, r.start + r.length);
  let best: { start: number; length: number } | undefined;
  // Longest common run of every pair of diagonals: run[i] for positions i and i + d.
  for (let d = MIN_BLOCK; d < n; d++) {
    let run = 0;
    for (let i = n - d - 1; i >= 0; i--) {
      run = ids[i] === ids[i + d] && !excluded[i] && !excluded[i + d] ? run + 1 : 0;
      const length = Math.min(run, d); // occurrences must not overlap
      if (length >= MIN_BLOCK && (!best || length > best.length)) best = { start: i, length };
    }
  }
  if (!best) return undefined;
  const block = keys.slice(best.start, best.start + best.length);
  const starts: number[] = [];
  for (let i = 0; i + best.length <= n; ) {
    let same = true;
    for (let k = 0; k < best.length && same; k++) same = keys[i + k] === block[k];
    if (same) {
      starts.push(i);
      i += best.length;
    } else {
      i++;
    }
  }
  return starts.length >= 2 ? { block, starts } : undefined;
}
