import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader, utf16le } from '../../io/reader.js';
import type { HeaderField } from '../../model/kernel.js';
import { fieldNum, readFields, type FieldSpec } from './header.js';

// TRIAGE_DUMP64 at 0x2000 (after DUMP_HEADER64), as the WDK's ntddkbd/ntiodump layout that rizin
// and volatility3 document; all *Offset fields are file offsets.
const TRIAGE64: readonly FieldSpec[] = [
  ['ServicePackBuild', 0x00, 'u32'],
  ['SizeOfDump', 0x04, 'u32'],
  ['ValidOffset', 0x08, 'u32'],
  ['ContextOffset', 0x0c, 'u32'],
  ['ExceptionOffset', 0x10, 'u32'],
  ['MmOffset', 0x14, 'u32'],
  ['UnloadedDriversOffset', 0x18, 'u32'],
  ['PrcbOffset', 0x1c, 'u32'],
  ['ProcessOffset', 0x20, 'u32'],
  ['ThreadOffset', 0x24, 'u32'],
  ['CallStackOffset', 0x28, 'u32'],
  ['SizeOfCallStack', 0x2c, 'u32'],
  ['DriverListOffset', 0x30, 'u32'],
  ['DriverCount', 0x34, 'u32'],
  ['StringPoolOffset', 0x38, 'u32'],
  ['StringPoolSize', 0x3c, 'u32'],
  ['BrokenDriverOffset', 0x40, 'u32'],
  ['TriageOptions', 0x44, 'u32'],
  ['TopOfStack', 0x48, 'u64'],
  ['BStoreOffset', 0x50, 'u32'],
  ['SizeOfBStore', 0x54, 'u32'],
  ['LimitOfBStore', 0x58, 'u64'],
  ['DataPageAddress', 0x60, 'u64'],
  ['DataPageOffset', 0x68, 'u32'],
  ['DataPageSize', 0x6c, 'u32'],
  ['DebuggerDataOffset', 0x70, 'u32'],
  ['DebuggerDataSize', 0x74, 'u32'],
  ['DataBlocksOffset', 0x78, 'u32'],
  ['DataBlocksCount', 0x7c, 'u32'],
];

// TRIAGE_DUMP32 at 0x1000: no IA-64 backing-store fields.
const TRIAGE32: readonly FieldSpec[] = [
  ...TRIAGE64.slice(0, 18),
  ['TopOfStack', 0x48, 'u32'],
  ['DataPageAddress', 0x4c, 'u32'],
  ['DataPageOffset', 0x50, 'u32'],
  ['DataPageSize', 0x54, 'u32'],
  ['DebuggerDataOffset', 0x58, 'u32'],
  ['DebuggerDataSize', 0x5c, 'u32'],
  ['DataBlocksOffset', 0x60, 'u32'],
  ['DataBlocksCount', 0x64, 'u32'],
];

/** TRIAGE_DUMP_VALID, written at ValidOffset when the dump was completed. */
const TRIAGE_VALID = 0x44475254; // 'DGRT' as a C multi-character constant: the bytes "TRGD"

/** At most this many driver entries or data blocks are read (a real small dump has a few hundred drivers). */
const MAX_DRIVERS = 65536;
const MAX_DATA_BLOCKS = 1 << 20;
const MAX_NAME_CHARS = 1024;

export interface TriageDriver {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
  readonly checksum: number;
  readonly timeDateStamp: number;
}

export interface TriageBlock {
  readonly address: bigint;
  readonly fileOffset: number;
  readonly size: number;
}

export interface TriageDump {
  readonly fields: readonly HeaderField[];
  readonly valid: boolean;
  readonly drivers: readonly TriageDriver[];
  readonly blocks: readonly TriageBlock[];
  readonly unloaded: readonly { name: string; start: bigint; end: bigint; time: bigint }[];
  readonly warnings: readonly string[];
}

/** Reads the TRIAGE_DUMP header, the driver list with its string pool, the data blocks and the unloaded drivers. */
export async function readTriage(source: ByteSource, width: 32 | 64): Promise<TriageDump> {
  const at = width === 64 ? 0x2000 : 0x1000;
  const structure = width === 64 ? 'TRIAGE_DUMP64' : 'TRIAGE_DUMP32';
  const r = new Reader(await readExact(source, at, width === 64 ? 0x80 : 0x68, structure), source.name, at, structure);
  const fields = readFields(r, width === 64 ? TRIAGE64 : TRIAGE32);
  const warnings: string[] = [];
  const num = (name: string): number => fieldNum(fields, name) ?? 0;

  let valid = false;
  const validOffset = num('ValidOffset');
  if (validOffset > 0 && validOffset + 4 <= source.size) {
    const v = new Reader(await readExact(source, validOffset, 4, 'TRIAGE_DUMP_VALID'), source.name, validOffset, 'TRIAGE_DUMP_VALID');
    valid = v.u32(0) === TRIAGE_VALID;
  }
  if (!valid) warnings.push(`${source.name}: ${structure}: no "DGRT" validity marker at ValidOffset 0x${validOffset.toString(16)}: the dump may not have been completed`);
  const sizeOfDump = num('SizeOfDump');
  if (sizeOfDump > source.size) warnings.push(`${source.name}: ${structure}: SizeOfDump 0x${sizeOfDump.toString(16)} is past the end of the file (0x${source.size.toString(16)}): truncated`);

  const drivers = await readDrivers(source, width, num('DriverListOffset'), num('DriverCount'), num('StringPoolOffset'), num('StringPoolSize'), warnings);
  const blocks: TriageBlock[] = [];
  const count = num('DataBlocksCount');
  const offset = num('DataBlocksOffset');
  // TRIAGE_DATA_BLOCK is { ULONG64 Address; ULONG Offset; ULONG Size } in 32-bit dumps too (the RPi3
  // dump's blocks are 16 bytes, with sign-extended addresses); rizin's 12-byte 32-bit form does not fit it.
  const entry = 16;
  if (count > 0) {
    const fit = Math.min(MAX_DATA_BLOCKS, Math.floor(Math.max(0, source.size - offset) / entry));
    if (count > fit) warnings.push(`${source.name}: ${structure}: DataBlocksCount ${count} does not fit in the file from 0x${offset.toString(16)}; reading ${fit}`);
    const n = Math.min(count, fit);
    const b = new Reader(await readExact(source, offset, n * entry, 'TRIAGE_DATA_BLOCK'), source.name, offset, 'TRIAGE_DATA_BLOCK');
    for (let i = 0; i < n; i++) {
      const o = i * entry;
      const address = width === 64 ? b.u64(o) : BigInt(b.u32(o));
      const fileOffset = b.u32(o + 8);
      const size = b.u32(o + 12);
      if (fileOffset + size > source.size) {
        warnings.push(`${source.name}: TRIAGE_DATA_BLOCK ${i} at 0x${(offset + o).toString(16)}: 0x${size.toString(16)} bytes at 0x${fileOffset.toString(16)} run past the end of the file; skipped`);
        continue;
      }
      blocks.push({ address, fileOffset, size });
    }
  }
  const unloaded = await readUnloaded(source, width, num('UnloadedDriversOffset'), warnings);
  return { fields, valid, drivers, blocks, unloaded, warnings };
}

async function readDrivers(
  source: ByteSource,
  width: 32 | 64,
  listOffset: number,
  count: number,
  poolOffset: number,
  poolSize: number,
  warnings: string[],
): Promise<TriageDriver[]> {
  if (count === 0 || listOffset === 0) return [];
  // DUMP_DRIVER_ENTRY64: DriverNameOffset, padding, KLDR_DATA_TABLE_ENTRY64 copy (144 bytes);
  // DUMP_DRIVER_ENTRY32: DriverNameOffset, KLDR_DATA_TABLE_ENTRY32 copy (76 bytes).
  const entry = width === 64 ? 0x90 : 0x4c;
  const fit = Math.min(MAX_DRIVERS, Math.floor(Math.max(0, source.size - listOffset) / entry));
  if (count > fit) warnings.push(`${source.name}: DUMP_DRIVER_ENTRY list: DriverCount ${count} does not fit in the file from 0x${listOffset.toString(16)}; reading ${fit}`);
  const n = Math.min(count, fit);
  const r = new Reader(await readExact(source, listOffset, n * entry, 'DUMP_DRIVER_ENTRY'), source.name, listOffset, 'DUMP_DRIVER_ENTRY');
  const poolEnd = poolOffset + poolSize;
  const drivers: TriageDriver[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * entry;
    const nameOffset = r.u32(o);
    const base = width === 64 ? r.u64(o + 0x38) : BigInt(r.u32(o + 0x1c));
    const size = r.u32(o + (width === 64 ? 0x48 : 0x24));
    const checksum = r.u32(o + (width === 64 ? 0x80 : 0x44));
    const timeDateStamp = r.u32(o + (width === 64 ? 0x88 : 0x48));
    let name = `driver${i}`;
    try {
      name = await readDumpString(source, nameOffset, poolOffset, poolEnd);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      warnings.push(`${e.message}; driver ${i} at 0x${base.toString(16)} is listed as ${name}`);
    }
    drivers.push({ name, base, size, checksum, timeDateStamp });
  }
  return drivers;
}

/**
 * DUMP_STRING: a u32 length, then UTF-16 and a NUL. The length counts characters (rizin and
 * BlueScreenView read it so, and the corpus's dumps agree: the NUL follows `length` characters).
 */
async function readDumpString(source: ByteSource, offset: number, poolStart: number, poolEnd: number): Promise<string> {
  if (offset < poolStart || offset + 4 > poolEnd || offset + 4 > source.size) {
    throw new FormatError(source.name, 'DUMP_STRING', offset, `name offset is outside the string pool 0x${poolStart.toString(16)}-0x${poolEnd.toString(16)}`);
  }
  const head = new Reader(await readExact(source, offset, 4, 'DUMP_STRING'), source.name, offset, 'DUMP_STRING');
  const length = head.u32(0);
  if (length > MAX_NAME_CHARS || offset + 4 + length * 2 > Math.min(poolEnd, source.size)) {
    throw new FormatError(source.name, 'DUMP_STRING', offset, `length ${length} runs past the string pool`);
  }
  return utf16le(await readExact(source, offset + 4, length * 2, 'DUMP_STRING'));
}

/** DUMP_UNLOADED_DRIVERS: a count, then UNLOADED_DRIVERS entries (UNICODE_STRING name with inline buffer, start, end, time). */
async function readUnloaded(source: ByteSource, width: 32 | 64, offset: number, warnings: string[]): Promise<TriageDump['unloaded']> {
  if (offset === 0 || offset + 8 > source.size) return [];
  const head = new Reader(await readExact(source, offset, 8, 'DUMP_UNLOADED_DRIVERS'), source.name, offset, 'DUMP_UNLOADED_DRIVERS');
  const count = head.u32(0);
  // DUMP_UNLOADED_DRIVERS64: UNICODE_STRING64 (16), WCHAR[12] (24), StartAddress, EndAddress (u64 each) = 56 bytes.
  const entry = width === 64 ? 56 : 40;
  const first = offset + (width === 64 ? 8 : 4);
  const fit = Math.floor(Math.max(0, source.size - first) / entry);
  if (count > Math.min(fit, 1024)) {
    warnings.push(`${source.name}: DUMP_UNLOADED_DRIVERS at 0x${offset.toString(16)}: count ${count} does not fit; not read`);
    return [];
  }
  const r = new Reader(await readExact(source, first, count * entry, 'DUMP_UNLOADED_DRIVERS'), source.name, first, 'DUMP_UNLOADED_DRIVERS');
  const out: { name: string; start: bigint; end: bigint; time: bigint }[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * entry;
    const length = Math.min(r.u16(o), 24);
    const name = utf16le(r.slice(length, o + (width === 64 ? 16 : 8)));
    const start = width === 64 ? r.u64(o + 40) : BigInt(r.u32(o + 32));
    const end = width === 64 ? r.u64(o + 48) : BigInt(r.u32(o + 36));
    out.push({ name, start, end, time: 0n });
  }
  return out;
}


