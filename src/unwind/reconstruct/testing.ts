// Test support: an in-memory StackView. Words are set by address; modules are ranges; return
// addresses are any address in a module unless a test names the valid ones; trap entries and
// unwind data are whatever the test says.
import type { ModuleRef, StackView } from './stack-view.js';

export interface TestCodeModule {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
}

export interface MemoryStackViewOptions {
  readonly cpu: StackView['cpu'];
  readonly start: bigint;
  readonly size: number;
  readonly modules: readonly TestCodeModule[];
  /** Which module addresses are plausible return addresses (default: all of them). */
  readonly isReturnAddress?: (address: bigint) => boolean;
  /** Address ranges [start, end) of trap and system-call entries. */
  readonly trapEntries?: readonly (readonly [bigint, bigint])[];
  /** Names for exact addresses, as `dps` annotates them; others are described as module+0xN. */
  readonly symbols?: ReadonlyMap<bigint, string>;
  readonly unwindFrom?: (ip: bigint, sp: bigint) => { ip: bigint; sp: bigint } | undefined;
  /**
   * Most words read and unwind questions answered before the view throws: a search that regressed
   * to quadratic work fails at once with the count instead of running for hours.
   */
  readonly budget?: { readonly wordReads?: number; readonly unwindQuestions?: number };
}

export class MemoryStackView implements StackView {
  readonly cpu: StackView['cpu'];
  readonly wordSize: 4 | 8;
  readonly start: bigint;
  readonly end: bigint;
  readonly unwindFrom?: (ip: bigint, sp: bigint) => Promise<{ ip: bigint; sp: bigint } | undefined>;
  /** How many times the view was asked isReturnAddress (to check the search asks once per value). */
  returnQuestions = 0;
  /** Words read (readWord calls, in range or not): the work a search did over the stack. A test may reset it; the budget counts from there. */
  wordReads = 0;
  /** Times the view was asked unwindFrom. */
  unwindQuestions = 0;
  private readonly words32: Uint32Array | undefined;
  private readonly words64: BigUint64Array | undefined;
  private readonly written: Uint8Array;
  private readonly holes = new Set<bigint>();
  private readonly modules: readonly TestCodeModule[];
  private readonly options: MemoryStackViewOptions;
  private readonly size: number;
  private readonly maxWordReads: number;

  constructor(options: MemoryStackViewOptions) {
    this.options = options;
    this.cpu = options.cpu;
    this.wordSize = options.cpu === 'x86' ? 4 : 8;
    this.start = options.start;
    this.end = options.start + BigInt(options.size);
    this.size = options.size;
    const count = Math.floor(options.size / this.wordSize);
    this.written = new Uint8Array(count);
    if (this.wordSize === 4) this.words32 = new Uint32Array(count);
    else this.words64 = new BigUint64Array(count);
    this.modules = options.modules;
    this.maxWordReads = options.budget?.wordReads ?? Infinity;
    const unwind = options.unwindFrom;
    const maxUnwinds = options.budget?.unwindQuestions ?? Infinity;
    if (unwind) {
      this.unwindFrom = (ip, sp) => {
        if (++this.unwindQuestions > maxUnwinds) return Promise.reject(new Error(`over the budget of ${maxUnwinds} unwind questions`));
        return Promise.resolve(unwind(ip, sp));
      };
    }
  }

  private index(address: bigint): number | undefined {
    if (address < this.start || address >= this.end) return undefined;
    const offset = Number(address - this.start);
    if (offset % this.wordSize !== 0 || offset + this.wordSize > this.size) return undefined;
    return offset / this.wordSize;
  }

  /** Sets the word at an address (inside the view, aligned). */
  set(address: bigint, value: bigint | number): this {
    const i = this.index(address);
    if (i === undefined) throw new Error(`0x${address.toString(16)} is not a word of this view`);
    this.written[i] = 1;
    if (this.words32) this.words32[i] = Number(BigInt(value) & 0xffffffffn);
    else this.words64![i] = BigInt(value);
    return this;
  }

  /** Sets consecutive words from an address on. */
  setWords(address: bigint, ...values: (bigint | number)[]): this {
    values.forEach((v, k) => this.set(address + BigInt(k * this.wordSize), v));
    return this;
  }

  /** Whether a test set this word (junk fills only the others). */
  isSet(address: bigint): boolean {
    const i = this.index(address);
    return i !== undefined && this.written[i] === 1;
  }

  /** Makes a word unreadable, as a gap in a capture. */
  hole(address: bigint): this {
    this.holes.add(address);
    return this;
  }

  readWord(address: bigint): bigint | undefined {
    if (++this.wordReads > this.maxWordReads) throw new Error(`over the budget of ${this.maxWordReads} word reads`);
    const i = this.index(address);
    if (i === undefined || (this.holes.size > 0 && this.holes.has(address))) return undefined;
    return this.words32 ? BigInt(this.words32[i]!) : this.words64![i]!;
  }

  moduleAt(address: bigint): ModuleRef | undefined {
    for (const m of this.modules) {
      if (address >= m.base && address < m.base + BigInt(m.size)) return { name: m.name, base: m.base, size: m.size };
    }
    return undefined;
  }

  describe(address: bigint): Promise<string> {
    const name = this.options.symbols?.get(address);
    if (name) return Promise.resolve(name);
    const m = this.moduleAt(address);
    return Promise.resolve(m ? `${m.name}+0x${(address - m.base).toString(16)}` : `0x${address.toString(16)}`);
  }

  isReturnAddress(address: bigint): Promise<boolean> {
    this.returnQuestions++;
    const inModule = this.moduleAt(address) !== undefined;
    return Promise.resolve(inModule && (this.options.isReturnAddress?.(address) ?? true));
  }

  isTrapEntry(address: bigint): Promise<boolean> {
    return Promise.resolve((this.options.trapEntries ?? []).some(([s, e]) => address >= s && address < e));
  }
}

/** One row of an x86 `kf` listing: the frame's EBP, its return address, and whether it is a trap handler's row. */
export interface KfRow {
  readonly childFrame: bigint;
  readonly returnAddress: bigint;
  readonly trap: boolean;
}

/**
 * Writes the stack an x86 `kf` listing was walked from: at each ChildEBP the next row's EBP and the
 * return address; where the next row is a trap handler's, the saved EBP is instead a KTRAP_FRAME
 * right above the return address, holding the interrupted frame's EBP (+0x60) and EIP (+0x68),
 * and in DbgEbp/DbgEip (+0, +4) the same pair, as the trap handlers' prologue stores them.
 * `userEbp` is the EBP of the user-mode frame after a final system-call row. Returns the trap
 * frames' addresses by row index.
 */
export function writeKfStack(view: MemoryStackView, rows: readonly KfRow[], userEbp = 0n): Map<number, bigint> {
  const traps = new Map<number, bigint>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.trap) continue;
    const nextRow = rows[i + 1];
    view.set(row.childFrame + 4n, row.returnAddress);
    if (nextRow?.trap) {
      const trapFrame = row.childFrame + 8n;
      const after = rows[i + 2];
      const ebp = after ? after.childFrame : userEbp;
      view.set(row.childFrame, trapFrame);
      view.setWords(trapFrame, ebp, nextRow.returnAddress);
      view.set(trapFrame + 0x60n, ebp).set(trapFrame + 0x68n, nextRow.returnAddress);
      traps.set(i + 1, trapFrame);
    } else {
      view.set(row.childFrame, nextRow ? nextRow.childFrame : 0n);
    }
  }
  return traps;
}

export interface JunkOptions {
  readonly seed: number;
  /** Code addresses stale return addresses are drawn from. */
  readonly code: readonly bigint[];
  /** Leave out pointers to higher stack slots (no stale saved EBPs). */
  readonly noFramePointers?: boolean;
  readonly from?: bigint;
  readonly to?: bigint;
}

/**
 * Fills every word no test set with what old stack holds: zeros, counters, pool pointers, stale
 * return addresses and stale saved EBPs (pointers a little higher up the stack), reproducibly.
 */
export function fillJunk(view: MemoryStackView, options: JunkOptions): void {
  let state = options.seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const w = BigInt(view.wordSize);
  const from = options.from ?? view.start;
  const to = options.to ?? view.end;
  for (let a = from; a + w <= to; a += w) {
    if (view.isSet(a)) continue;
    const pick = next() % 100;
    let value: bigint;
    if (pick < 30) value = 0n;
    else if (pick < 45) value = BigInt(next() % 0x1000);
    else if (pick < 60) value = 0x87000000n + BigInt((next() % 0x1000000) & ~3);
    else if (pick < 75 && options.code.length > 0) value = options.code[next() % options.code.length]! + BigInt(next() % 0x40);
    else if (pick < 85 && !options.noFramePointers) value = a + w * BigInt(1 + (next() % 64));
    else value = BigInt(next());
    view.set(a, value & (view.wordSize === 4 ? 0xffffffffn : 0xffffffffffffffffn));
  }
}
