import { FormatError } from './errors.js';

/**
 * Bounds-checked little-endian reader over a byte slice. Offsets are relative to the slice;
 * `fileOffset` is where the slice starts in its file, so errors point into the file.
 */
export class Reader {
  readonly bytes: Uint8Array;
  readonly file: string;
  readonly fileOffset: number;
  readonly structure: string;
  private readonly view: DataView;
  pos = 0;

  constructor(bytes: Uint8Array, file: string, fileOffset: number, structure: string) {
    this.bytes = bytes;
    this.file = file;
    this.fileOffset = fileOffset;
    this.structure = structure;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** A reader over a sub-range, for a nested structure. */
  sub(offset: number, length: number, structure: string): Reader {
    this.check(offset, length, structure);
    return new Reader(this.bytes.subarray(offset, offset + length), this.file, this.fileOffset + offset, structure);
  }

  error(offset: number, reason: string, structure = this.structure): FormatError {
    return new FormatError(this.file, structure, this.fileOffset + offset, reason);
  }

  check(offset: number, length: number, structure = this.structure): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw this.error(
        Math.max(0, Math.min(offset, this.bytes.length)),
        `needs ${length} bytes at +0x${Math.max(0, offset).toString(16)} but only 0x${this.bytes.length.toString(16)} are available`,
        structure,
      );
    }
  }

  u8(at = this.advance(1)): number {
    this.check(at, 1);
    return this.view.getUint8(at);
  }
  u16(at = this.advance(2)): number {
    this.check(at, 2);
    return this.view.getUint16(at, true);
  }
  u32(at = this.advance(4)): number {
    this.check(at, 4);
    return this.view.getUint32(at, true);
  }
  i32(at = this.advance(4)): number {
    this.check(at, 4);
    return this.view.getInt32(at, true);
  }
  u64(at = this.advance(8)): bigint {
    this.check(at, 8);
    return this.view.getBigUint64(at, true);
  }
  /** A 64-bit value as a number; throws if it does not fit a safe integer (file offsets, sizes). */
  u64n(at = this.advance(8), what = 'value'): number {
    const v = this.u64(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(at, `${what} 0x${v.toString(16)} is too large`);
    return Number(v);
  }
  slice(length: number, at = this.advance(length)): Uint8Array {
    this.check(at, length);
    return this.bytes.subarray(at, at + length);
  }
  skip(length: number): void {
    this.advance(length);
  }

  private advance(n: number): number {
    const at = this.pos;
    this.pos += n;
    return at;
  }
}

/** Decodes UTF-16LE code units, stopping at a NUL. */
export function utf16le(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const unit = bytes[i]! | (bytes[i + 1]! << 8);
    if (unit === 0) break;
    out += String.fromCharCode(unit);
  }
  return out;
}

/** Decodes a NUL-terminated (or full-length) 8-bit string as UTF-8. */
export function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder('utf-8', { fatal: false }).decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

export function hex(value: bigint | number, width = 0): string {
  return '0x' + value.toString(16).padStart(width, '0');
}
