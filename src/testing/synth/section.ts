// Test support: little-endian byte sections with labels, in the manner of Breakpad's
// test_assembler and rust-minidump's test-assembler: append values, mark places, and refer to a
// place (or a size) before it is known; references are patched in when the section is finished.

/** A number known later: an address in a stack, an offset or size in a file. */
export class Label {
  readonly name: string;
  private known: bigint | undefined;

  constructor(name = 'label') {
    this.name = name;
  }

  get isSet(): boolean {
    return this.known !== undefined;
  }

  get value(): bigint {
    if (this.known === undefined) throw new Error(`label '${this.name}' has no value yet`);
    return this.known;
  }

  set(value: number | bigint): this {
    const v = BigInt(value);
    if (this.known !== undefined && this.known !== v) {
      throw new Error(`label '${this.name}' is already 0x${this.known.toString(16)}, cannot become 0x${v.toString(16)}`);
    }
    this.known = v;
    return this;
  }

  /** The label's value plus a constant, e.g. `frame1Sp.plus(8)`. */
  plus(addend: number | bigint): LabelOffset {
    return new LabelOffset(this, BigInt(addend));
  }
}

export class LabelOffset {
  constructor(
    readonly label: Label,
    readonly addend: bigint,
  ) {}

  get isSet(): boolean {
    return this.label.isSet;
  }

  get value(): bigint {
    return this.label.value + this.addend;
  }
}

/** What a section can write: a number now, or a label's value once it is known. */
export type Value = number | bigint | Label | LabelOffset;

/** The number a value stands for; throws if it is a label not placed yet. */
export function valueOf(v: Value): bigint {
  return typeof v === 'number' || typeof v === 'bigint' ? BigInt(v) : v.value;
}

interface Fixup {
  readonly at: number;
  readonly width: 1 | 2 | 4 | 8;
  readonly value: Label | LabelOffset;
}

/**
 * Bytes appended in order. `start` is the address (or file offset) of the first byte, so
 * `mark(label)` gives the label that address at once; values of labels not yet known are
 * written when `finish()` is called.
 */
export class Section {
  readonly start: bigint;
  private buffer = new Uint8Array(256);
  private length = 0;
  private readonly fixups: Fixup[] = [];

  constructor(start: number | bigint = 0n) {
    this.start = BigInt(start);
  }

  get size(): number {
    return this.length;
  }

  /** Address of the next byte to be appended. */
  get here(): bigint {
    return this.start + BigInt(this.length);
  }

  mark(label: Label): this {
    label.set(this.here);
    return this;
  }

  u8(v: Value): this {
    return this.put(v, 1);
  }

  u16(v: Value): this {
    return this.put(v, 2);
  }

  u32(v: Value): this {
    return this.put(v, 4);
  }

  u64(v: Value): this {
    return this.put(v, 8);
  }

  bytes(b: Uint8Array | readonly number[]): this {
    this.reserve(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** `count` copies of `byte`. */
  fill(count: number, byte = 0): this {
    this.reserve(count);
    this.buffer.fill(byte, this.length, this.length + count);
    this.length += count;
    return this;
  }

  /** Pads with `byte` until the address is a multiple of `alignment`. */
  align(alignment: number, byte = 0): this {
    const misaligned = Number(this.here % BigInt(alignment));
    return misaligned === 0 ? this : this.fill(alignment - misaligned, byte);
  }

  /** The bytes, with every label reference resolved; throws if a label was never placed. */
  finish(): Uint8Array {
    const out = this.buffer.slice(0, this.length);
    const view = new DataView(out.buffer);
    for (const f of this.fixups) write(view, f.at, f.width, f.value.value);
    return out;
  }

  private put(v: Value, width: 1 | 2 | 4 | 8): this {
    this.reserve(width);
    if (typeof v === 'number' || typeof v === 'bigint' || v.isSet) {
      write(new DataView(this.buffer.buffer), this.length, width, valueOf(v));
    } else {
      this.fixups.push({ at: this.length, width, value: v });
    }
    this.length += width;
    return this;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/** Writes the low `width` bytes of v (two's complement for negatives). */
function write(view: DataView, at: number, width: 1 | 2 | 4 | 8, v: bigint): void {
  const u = BigInt.asUintN(width * 8, v);
  if (width === 8) view.setBigUint64(at, u, true);
  else if (width === 4) view.setUint32(at, Number(u), true);
  else if (width === 2) view.setUint16(at, Number(u), true);
  else view.setUint8(at, Number(u));
}

/**
 * Stack memory for unwinder tests: a section whose start is the stack's lowest address, with
 * pointer-sized words. Mark labels where frames begin and use them as register values.
 */
export class StackBuilder extends Section {
  readonly wordSize: 4 | 8;

  constructor(start: number | bigint, wordSize: 4 | 8) {
    super(start);
    this.wordSize = wordSize;
  }

  word(v: Value): this {
    return this.wordSize === 8 ? this.u64(v) : this.u32(v);
  }

  words(...vs: Value[]): this {
    for (const v of vs) this.word(v);
    return this;
  }
}
