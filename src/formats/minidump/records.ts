import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader, cString, utf16le } from '../../io/reader.js';

/** MINIDUMP_LOCATION_DESCRIPTOR: a byte range of the file. */
export interface Location {
  readonly size: number;
  readonly rva: number;
}

export function readLocation(r: Reader, at?: number): Location {
  const size = at === undefined ? r.u32() : r.u32(at);
  const rva = at === undefined ? r.u32() : r.u32(at + 4);
  return { size, rva };
}

/** Reads a structure the file points at, checked against the file's size. */
export async function readAt(source: ByteSource, rva: number, size: number, structure: string): Promise<Reader> {
  const bytes = await readExact(source, rva, size, structure);
  return new Reader(bytes, source.name, rva, structure);
}

const MAX_STRING_BYTES = 64 * 1024;

/** MINIDUMP_STRING: u32 byte length, then UTF-16LE. */
export async function readMinidumpString(source: ByteSource, rva: number, structure: string): Promise<string> {
  const head = await readAt(source, rva, 4, structure);
  const length = head.u32(0);
  if (length > MAX_STRING_BYTES || length % 2 !== 0) {
    throw new FormatError(source.name, structure, rva, `implausible string length ${length}`);
  }
  const body = await readExact(source, rva + 4, length, structure);
  return utf16le(body);
}

/** Crashpad's MinidumpUTF8String: u32 byte length, then UTF-8. */
export async function readUtf8String(source: ByteSource, rva: number, structure: string): Promise<string> {
  const head = await readAt(source, rva, 4, structure);
  const length = head.u32(0);
  if (length > MAX_STRING_BYTES) throw new FormatError(source.name, structure, rva, `implausible string length ${length}`);
  return cString(await readExact(source, rva + 4, length, structure));
}

/**
 * The element count a list stream declares, checked against the stream's size.
 * Some writers pad the 4-byte count to 8 bytes; Breakpad accepts that, and so do we.
 */
export function listLayout(r: Reader, entrySize: number, structure: string): { count: number; first: number } {
  const count = r.u32(0);
  const body = count * entrySize;
  if (body + 8 === r.length) return { count, first: 8 };
  if (body + 4 <= r.length) return { count, first: 4 };
  throw r.error(0, `declares ${count} entries of ${entrySize} bytes but the stream holds only ${r.length} bytes`, structure);
}

/** GUID as Breakpad prints debug ids: Data1, Data2, Data3, Data4 in hex, upper case, no dashes. */
export function guidHex(g: Reader, at: number): string {
  const d1 = g.u32(at).toString(16).padStart(8, '0');
  const d2 = g.u16(at + 4).toString(16).padStart(4, '0');
  const d3 = g.u16(at + 6).toString(16).padStart(4, '0');
  let d4 = '';
  for (let i = 0; i < 8; i++) d4 += g.u8(at + 8 + i).toString(16).padStart(2, '0');
  return (d1 + d2 + d3 + d4).toUpperCase();
}

/** GUID in the usual dashed form (Crashpad report and client ids). */
export function guidDashed(g: Reader, at: number): string {
  const h = guidHex(g, at).toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
