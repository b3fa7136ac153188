import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainedRangeIndex, ExclusiveRangeIndex, keepContained, keepExclusive } from './range-index.js';

// Reference models: Breakpad's containers stored one range at a time, written as plainly as
// possible (quadratic, tree of objects), to check the bulk typed-array versions against.

function referenceExclusive(bases: number[], sizes: number[]): boolean[] {
  const kept: [number, number][] = [];
  return bases.map((base, i) => {
    const size = sizes[i]!;
    if (size <= 0) return false;
    const high = base + size - 1;
    if (kept.some(([b, h]) => base <= h && b <= high)) return false;
    kept.push([base, high]);
    return true;
  });
}

interface Node {
  base: number;
  high: number;
  id: number;
  /** Sorted by high. */
  children: Node[];
}

/** ContainedRangeMap::StoreRange, step by step. */
function storeContained(node: Node, base: number, high: number, id: number, allowEqual: boolean): boolean {
  const kids = node.children;
  const firstAtOrAboveHigh = (x: number): number => {
    const k = kids.findIndex((c) => c.high >= x);
    return k < 0 ? kids.length : k;
  };
  const iBase = firstAtOrAboveHigh(base);
  const iHigh = firstAtOrAboveHigh(high);
  if (iBase === iHigh && iBase < kids.length && base >= kids[iBase]!.base) {
    const child = kids[iBase]!;
    if (!allowEqual && child.base === base && child.high === high) return false;
    return storeContained(child, base, high, id, allowEqual);
  }
  const containsHigh = iHigh < kids.length && high >= kids[iHigh]!.base;
  if ((iBase < kids.length && base > kids[iBase]!.base) || (containsHigh && high < kids[iHigh]!.high)) return false;
  const end = containsHigh ? iHigh + 1 : iHigh;
  const moved = kids.slice(iBase, end);
  kids.splice(iBase, end - iBase, { base, high, id, children: moved });
  return true;
}

function referenceContained(bases: number[], sizes: number[], allowEqual: boolean): { keep: boolean[]; chain(a: number): number[] } {
  const root: Node = { base: -1, high: Infinity, id: -1, children: [] };
  const keep = bases.map((base, i) => sizes[i]! > 0 && storeContained(root, base, base + sizes[i]! - 1, i, allowEqual));
  return {
    keep,
    chain(address: number): number[] {
      const out: number[] = [];
      let node = root;
      for (;;) {
        const child = node.children.find((c) => c.high >= address);
        if (!child || address < child.base) break;
        out.unshift(child.id);
        node = child;
      }
      return out;
    },
  };
}

function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
}

function randomRanges(rand: (n: number) => number, sorted: boolean): { bases: number[]; sizes: number[] } {
  const n = rand(40);
  let bases = Array.from({ length: n }, () => rand(60));
  if (sorted) bases = bases.sort((a, b) => a - b);
  const sizes = bases.map(() => (rand(10) === 0 ? 0 : 1 + rand(rand(2) ? 4 : 25)));
  return { bases, sizes };
}

test('keepExclusive matches a RangeMap stored in file order (sorted and unsorted input)', () => {
  const rand = random(1);
  for (let round = 0; round < 2000; round++) {
    const { bases, sizes } = randomRanges(rand, round % 2 === 0);
    const keep = keepExclusive(Float64Array.from(bases), Float64Array.from(sizes), bases.length);
    assert.deepEqual(Array.from(keep, Boolean), referenceExclusive(bases, sizes), `round ${round}`);
  }
});

test('ExclusiveRangeIndex.find and nearest', () => {
  const rand = random(2);
  for (let round = 0; round < 500; round++) {
    const { bases, sizes } = randomRanges(rand, round % 2 === 0);
    const keep = referenceExclusive(bases, sizes);
    const index = ExclusiveRangeIndex.build(Float64Array.from(bases), Float64Array.from(sizes), bases.length);
    for (let a = 0; a < 90; a++) {
      const kept = bases.map((_, i) => i).filter((i) => keep[i]);
      const containing = kept.find((i) => bases[i]! <= a && a < bases[i]! + sizes[i]!) ?? -1;
      const below = kept.filter((i) => bases[i]! <= a).sort((x, y) => bases[y]! - bases[x]!)[0] ?? -1;
      assert.equal(index.find(a), containing);
      assert.equal(index.nearest(a), containing >= 0 ? containing : below);
    }
  }
});

test('keepContained and chain match a ContainedRangeMap stored in file order', () => {
  const rand = random(3);
  for (let round = 0; round < 3000; round++) {
    const { bases, sizes } = randomRanges(rand, round % 3 === 0);
    const allowEqual = round % 2 === 1;
    const ref = referenceContained(bases, sizes, allowEqual);
    const keep = keepContained(Float64Array.from(bases), Float64Array.from(sizes), bases.length, allowEqual);
    assert.deepEqual(Array.from(keep, Boolean), ref.keep, `round ${round}`);
    const index = ContainedRangeIndex.build(Float64Array.from(bases), Float64Array.from(sizes), bases.length, allowEqual);
    for (let a = 0; a < 90; a++) {
      const chain = ref.chain(a);
      assert.deepEqual(index.chain(a), chain, `round ${round} address ${a}`);
      assert.equal(index.innermost(a), chain[0] ?? -1);
    }
  }
});

test('contained ranges: nesting, partial overlap and duplicates', () => {
  // [10,30) holds [12,20) and [20,25); [15,35) partially overlaps and is dropped; a duplicate is
  // dropped unless equal ranges are allowed, and then the later one is the inner one.
  const bases = Float64Array.from([10, 12, 20, 15, 10]);
  const sizes = Float64Array.from([20, 8, 5, 20, 20]);
  assert.deepEqual(Array.from(keepContained(bases, sizes, 5, false)), [1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(keepContained(bases, sizes, 5, true)), [1, 1, 1, 0, 1]);
  const index = ContainedRangeIndex.build(bases, sizes, 5, true);
  assert.deepEqual(index.chain(13), [1, 4, 0]);
  assert.deepEqual(index.chain(26), [4, 0]);
  assert.deepEqual(index.chain(30), []);
});

test('a later range enclosing earlier ones is kept and becomes their parent', () => {
  const bases = Float64Array.from([12, 20, 10]);
  const sizes = Float64Array.from([4, 4, 20]);
  const index = ContainedRangeIndex.build(bases, sizes, 3, false);
  assert.deepEqual(index.chain(13), [0, 2]);
  assert.deepEqual(index.chain(18), [2]);
});

test('empty and overflowing ranges are dropped', () => {
  const bases = Float64Array.from([0, 5, Number.MAX_SAFE_INTEGER]);
  const sizes = Float64Array.from([0, 1, 2]);
  assert.deepEqual(Array.from(keepExclusive(bases, sizes, 3)), [0, 1, 0]);
  assert.deepEqual(Array.from(keepContained(bases, sizes, 3, false)), [0, 1, 0]);
});
