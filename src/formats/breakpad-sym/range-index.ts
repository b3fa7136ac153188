// Bulk, typed-array versions of the two range containers Breakpad's symbol resolver stores records
// in, with the same "which records survive" rules, because lookups must match Breakpad's:
// - RangeMap (kExclusiveRanges): a range overlapping one stored earlier is dropped (FUNC, line
//   records, STACK CFI INIT);
// - ContainedRangeMap: ranges must nest or be disjoint; one partially overlapping an earlier range
//   is dropped, and so is an exact duplicate unless equal ranges are allowed, in which case the later
//   one nests inside the earlier (STACK WIN, INLINE).
// Ranges are given in file order as (base, size); ids are their positions in that order.

/** Inclusive last address of a range, or NaN for an empty or unrepresentable one (Breakpad drops those). */
function highOf(base: number, size: number): number {
  if (!(size > 0) || !(base >= 0) || size - 1 > Number.MAX_SAFE_INTEGER - base) return NaN;
  return base + size - 1;
}

/** Index of the last element <= x in a sorted array, or -1. */
export function lastAtOrBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first element >= x in a sorted array (length when none). */
export function firstAtOrAbove(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function uniqueSorted(values: Float64Array): Float64Array {
  const sorted = Float64Array.from(values).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (n === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  }
  return sorted.subarray(0, n);
}

/** Point "raise to at least v", range maximum; -Infinity when empty. */
class MaxTree {
  private readonly size: number;
  private readonly tree: Float64Array;

  constructor(n: number) {
    let size = 1;
    while (size < n) size *= 2;
    this.size = size;
    this.tree = new Float64Array(2 * size).fill(-Infinity);
  }

  raise(index: number, value: number): void {
    let i = index + this.size;
    if (this.tree[i]! >= value) return;
    this.tree[i] = value;
    for (i >>= 1; i >= 1; i >>= 1) {
      const m = Math.max(this.tree[2 * i]!, this.tree[2 * i + 1]!);
      if (this.tree[i] === m) break;
      this.tree[i] = m;
    }
  }

  point(index: number): number {
    return this.tree[index + this.size]!;
  }

  /** Maximum over indices lo..hi inclusive. */
  max(lo: number, hi: number): number {
    let result = -Infinity;
    let l = lo + this.size;
    let r = hi + this.size + 1;
    while (l < r) {
      if (l & 1) result = Math.max(result, this.tree[l++]!);
      if (r & 1) result = Math.max(result, this.tree[--r]!);
      l >>= 1;
      r >>= 1;
    }
    return result;
  }
}

function isNondecreasing(values: Float64Array, count: number): boolean {
  for (let i = 1; i < count; i++) {
    if (values[i]! < values[i - 1]!) return false;
  }
  return true;
}

/** Which ranges a RangeMap with kExclusiveRanges keeps when they are stored in file order. */
export function keepExclusive(bases: Float64Array, sizes: Float64Array, count: number): Uint8Array {
  const keep = new Uint8Array(count);
  if (isNondecreasing(bases, count)) {
    // Sorted input (what dump_syms writes): a range overlaps a kept one iff it starts at or
    // before the end of the last kept one.
    let lastHigh = -Infinity;
    for (let i = 0; i < count; i++) {
      const high = highOf(bases[i]!, sizes[i]!);
      if (Number.isNaN(high) || bases[i]! <= lastHigh) continue;
      keep[i] = 1;
      lastHigh = high;
    }
    return keep;
  }
  // General case: a max-tree over the distinct bases holds the end of the kept range starting there.
  const coords = uniqueSorted(bases.subarray(0, count));
  const ends = new MaxTree(coords.length);
  for (let i = 0; i < count; i++) {
    const base = bases[i]!;
    const high = highOf(base, sizes[i]!);
    if (Number.isNaN(high)) continue;
    const b = firstAtOrAbove(coords, base);
    const h = lastAtOrBelow(coords, high);
    if (ends.max(b, h) !== -Infinity) continue; // a kept range starts inside this one
    if (b > 0 && ends.max(0, b - 1) >= base) continue; // a kept range starting below reaches into it
    ends.raise(b, high);
    keep[i] = 1;
  }
  return keep;
}

/**
 * Marks ranges that repeat an earlier range exactly. Such a range is never kept by a
 * ContainedRangeMap without equal ranges: either the earlier one was kept, or it was refused for
 * overlapping a kept range that still overlaps this one.
 */
function markRepeats(bases: Float64Array, highs: Float64Array, count: number): Uint8Array {
  const repeat = new Uint8Array(count);
  const ids = new Uint32Array(count);
  for (let i = 0; i < count; i++) ids[i] = i;
  ids.sort((a, b) => bases[a]! - bases[b]! || highs[a]! - highs[b]! || a - b);
  for (let k = 1; k < count; k++) {
    const a = ids[k - 1]!;
    const b = ids[k]!;
    if (bases[a] === bases[b] && highs[a] === highs[b]) repeat[b] = 1;
  }
  return repeat;
}

/** Which ranges a ContainedRangeMap keeps when they are stored in file order. */
export function keepContained(bases: Float64Array, sizes: Float64Array, count: number, allowEqual: boolean): Uint8Array {
  const keep = new Uint8Array(count);
  const highs = new Float64Array(count);
  for (let i = 0; i < count; i++) highs[i] = highOf(bases[i]!, sizes[i]!);
  const repeat = allowEqual ? undefined : markRepeats(bases, highs, count);
  const baseCoords = uniqueSorted(bases.subarray(0, count));
  const highCoords = uniqueSorted(highs.filter((h) => !Number.isNaN(h)));
  // Kept ranges by base -> their largest end; kept ranges by end -> minus their smallest base.
  const endByBase = new MaxTree(baseCoords.length);
  const negBaseByEnd = new MaxTree(highCoords.length);
  for (let i = 0; i < count; i++) {
    const base = bases[i]!;
    const high = highs[i]!;
    if (Number.isNaN(high) || repeat?.[i]) continue;
    const b = firstAtOrAbove(baseCoords, base);
    // Ranges starting inside this one, after its start, must end inside it (ranges sharing its
    // start nest one way or the other).
    if (endByBase.max(b + 1, lastAtOrBelow(baseCoords, high)) > high) continue;
    // Ranges ending inside it, before its end, must start inside it.
    const e0 = firstAtOrAbove(highCoords, base);
    const e1 = lastAtOrBelow(highCoords, high - 1);
    if (e0 <= e1 && -negBaseByEnd.max(e0, e1) < base) continue;
    endByBase.raise(b, high);
    negBaseByEnd.raise(firstAtOrAbove(highCoords, high), -base);
    keep[i] = 1;
  }
  return keep;
}

/** Kept ranges sorted by base: lookups by address (RangeMap::RetrieveRange / RetrieveNearestRange). */
export class ExclusiveRangeIndex {
  private readonly bases: Float64Array;
  private readonly highs: Float64Array;
  private readonly ids: Uint32Array;

  private constructor(bases: Float64Array, highs: Float64Array, ids: Uint32Array) {
    this.bases = bases;
    this.highs = highs;
    this.ids = ids;
  }

  static build(bases: Float64Array, sizes: Float64Array, count: number): ExclusiveRangeIndex {
    const keep = keepExclusive(bases, sizes, count);
    let kept = 0;
    for (let i = 0; i < count; i++) kept += keep[i]!;
    const ids = new Uint32Array(kept);
    for (let i = 0, k = 0; i < count; i++) if (keep[i]) ids[k++] = i;
    // Kept ranges are disjoint, so sorting by base alone is a total order.
    const sortedIds = isSortedBy(ids, bases) ? ids : ids.sort((a, b) => bases[a]! - bases[b]!);
    const sortedBases = new Float64Array(kept);
    const sortedHighs = new Float64Array(kept);
    for (let k = 0; k < kept; k++) {
      const id = sortedIds[k]!;
      sortedBases[k] = bases[id]!;
      sortedHighs[k] = bases[id]! + sizes[id]! - 1;
    }
    return new ExclusiveRangeIndex(sortedBases, sortedHighs, sortedIds);
  }

  /** Id of the range containing address, or -1. */
  find(address: number): number {
    const k = lastAtOrBelow(this.bases, address);
    return k >= 0 && address <= this.highs[k]! ? this.ids[k]! : -1;
  }

  /** Id of the range containing address or else the nearest one below it, or -1 (RetrieveNearestRange). */
  nearest(address: number): number {
    const k = lastAtOrBelow(this.bases, address);
    return k >= 0 ? this.ids[k]! : -1;
  }
}

function isSortedBy(ids: Uint32Array, keys: Float64Array): boolean {
  for (let k = 1; k < ids.length; k++) {
    if (keys[ids[k]!]! < keys[ids[k - 1]!]!) return false;
  }
  return true;
}

/** Kept nested ranges: the chain of ranges containing an address (ContainedRangeMap::RetrieveRanges). */
export class ContainedRangeIndex {
  private readonly bases: Float64Array;
  private readonly highs: Float64Array;
  private readonly ids: Uint32Array;
  /** Position (in sorted order) of the innermost range containing each range, or -1. */
  private readonly parents: Int32Array;

  private constructor(bases: Float64Array, highs: Float64Array, ids: Uint32Array, parents: Int32Array) {
    this.bases = bases;
    this.highs = highs;
    this.ids = ids;
    this.parents = parents;
  }

  static build(bases: Float64Array, sizes: Float64Array, count: number, allowEqual: boolean): ContainedRangeIndex {
    const keep = keepContained(bases, sizes, count, allowEqual);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) if (keep[i]) ids.push(i);
    const high = (id: number): number => bases[id]! + sizes[id]! - 1;
    // Outer ranges first: by base, then larger end first; an equal range stored later is inner.
    const sorted = Uint32Array.from(ids).sort((a, b) => bases[a]! - bases[b]! || high(b) - high(a) || a - b);
    const n = sorted.length;
    const sortedBases = new Float64Array(n);
    const sortedHighs = new Float64Array(n);
    const parents = new Int32Array(n);
    const open: number[] = [];
    for (let k = 0; k < n; k++) {
      const id = sorted[k]!;
      sortedBases[k] = bases[id]!;
      sortedHighs[k] = high(id);
      while (open.length > 0 && sortedHighs[open[open.length - 1]!]! < sortedBases[k]!) open.pop();
      parents[k] = open.length > 0 ? open[open.length - 1]! : -1;
      open.push(k);
    }
    return new ContainedRangeIndex(sortedBases, sortedHighs, sorted, parents);
  }

  private innermostPosition(address: number): number {
    let k = lastAtOrBelow(this.bases, address);
    while (k >= 0 && this.highs[k]! < address) k = this.parents[k]!;
    return k;
  }

  /** Id of the innermost range containing address, or -1 (ContainedRangeMap::RetrieveRange). */
  innermost(address: number): number {
    const k = this.innermostPosition(address);
    return k >= 0 ? this.ids[k]! : -1;
  }

  /** Ids of all ranges containing address, innermost first. */
  chain(address: number): number[] {
    const out: number[] = [];
    for (let k = this.innermostPosition(address); k >= 0; k = this.parents[k]!) out.push(this.ids[k]!);
    return out;
  }
}
