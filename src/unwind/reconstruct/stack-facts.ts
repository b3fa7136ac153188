// What the reconstruction algorithms ask of a StackView, in one place: words read only inside a
// window of the stack, and code-address questions answered once per address (a 1 MiB stack repeats
// the same return addresses thousands of times, and each answer may cost the view a symbol lookup).
import type { StackView } from './stack-view.js';

export class StackFacts {
  readonly view: StackView;
  readonly cpu: StackView['cpu'];
  readonly wordSize: 4 | 8;
  /** The word size as a bigint, for address arithmetic. */
  readonly w: bigint;
  /** The searched window: `lo` aligned up to the word size, `hi` exclusive. */
  readonly lo: bigint;
  readonly hi: bigint;
  /** The highest address a whole word can start at, and the alignment mask. */
  private readonly lastWord: bigint;
  private readonly mask: bigint;
  private readonly returns = new Map<bigint, boolean>();
  private readonly traps = new Map<bigint, boolean>();

  constructor(view: StackView, from?: bigint, to?: bigint) {
    this.view = view;
    this.cpu = view.cpu;
    this.wordSize = view.wordSize;
    this.w = BigInt(view.wordSize);
    const start = from !== undefined && from > view.start ? from : view.start;
    this.lo = alignUp(start, this.w);
    const end = to !== undefined && to < view.end ? to : view.end;
    this.hi = end > this.lo ? end : this.lo;
    this.lastWord = this.hi - this.w;
    this.mask = this.w - 1n;
  }

  /** Bytes in the window. */
  get size(): bigint {
    return this.hi - this.lo;
  }

  /** A word inside the window; undefined outside it, in a gap, or at an unaligned address. */
  read(address: bigint): bigint | undefined {
    if (address < this.lo || address > this.lastWord || (address & this.mask) !== 0n) return undefined;
    return this.view.readWord(address);
  }

  /** Whether `words` whole words starting at `address` lie in the window. */
  holds(address: bigint, words: number): boolean {
    return address >= this.lo && address + this.w * BigInt(words) <= this.hi && address % this.w === 0n;
  }

  /**
   * Cheap synchronous filter before isReturnAddress: the StackView contract puts every plausible
   * return address inside a module, so a value outside all modules is never asked about.
   */
  mayReturn(address: bigint): boolean {
    return address !== 0n && this.view.moduleAt(address) !== undefined;
  }

  /** isReturnAddress when already known (or ruled out by mayReturn): saves an await per stack word. */
  returnKnown(address: bigint): boolean | undefined {
    return this.mayReturn(address) ? this.returns.get(address) : false;
  }

  async isReturnAddress(address: bigint): Promise<boolean> {
    const known = this.returnKnown(address);
    if (known !== undefined) return known;
    const answer = await this.view.isReturnAddress(address);
    this.returns.set(address, answer);
    return answer;
  }

  /** isTrapEntry when already known (or ruled out: not x86, not in a module). */
  trapKnown(address: bigint): boolean | undefined {
    return this.cpu === 'x86' && this.mayReturn(address) ? this.traps.get(address) : false;
  }

  async isTrapEntry(address: bigint): Promise<boolean> {
    const known = this.trapKnown(address);
    if (known !== undefined) return known;
    const answer = await this.view.isTrapEntry(address);
    this.traps.set(address, answer);
    return answer;
  }
}

export function alignUp(value: bigint, to: bigint): bigint {
  const r = value % to;
  return r === 0n ? value : value + (to - r);
}
