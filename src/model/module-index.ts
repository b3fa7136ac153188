import type { Module } from './snapshot.js';

interface Range {
  readonly start: bigint;
  readonly end: bigint;
  readonly module: Module;
}

/**
 * Address → module lookup. Overlapping modules are resolved as Breakpad does: the lower
 * module's range is cut short where the next one begins.
 */
export class ModuleIndex {
  private readonly ranges: Range[];

  constructor(modules: readonly Module[]) {
    const sorted = modules
      .filter((m) => m.size > 0)
      .map((m) => ({ start: m.base, end: m.base + BigInt(m.size), module: m }))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const ranges: Range[] = [];
    for (const r of sorted) {
      const prev = ranges[ranges.length - 1];
      if (prev && prev.end > r.start) {
        if (prev.start === r.start) continue; // same base twice: keep the first
        ranges[ranges.length - 1] = { ...prev, end: r.start };
      }
      ranges.push(r);
    }
    this.ranges = ranges;
  }

  /** End address of the module with the highest base (Breakpad's last module "in sequence"). */
  highestEnd(): bigint | undefined {
    const top = this.ranges[this.ranges.length - 1];
    return top ? top.module.base + BigInt(top.module.size) : undefined;
  }

  find(address: bigint): Module | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ranges[mid]!;
      if (address < r.start) hi = mid - 1;
      else if (address >= r.end) lo = mid + 1;
      else return r.module;
    }
    return undefined;
  }
}
