import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';
import type { HeaderField } from '../../model/kernel.js';

/** USERMODE_CRASHDUMP_HEADER64: eight ULONGs, then eight ULONGLONG offsets. */
export const HEADER64_SIZE = 0x60;
/** USERMODE_CRASHDUMP_HEADER32: eight ULONGs, then eight ULONG offsets. */
export const HEADER32_SIZE = 0x40;

/** The header's counts and file offsets, as numbers (an offset too large for one reads as past any file). */
export interface UserDumpHeader {
  readonly width: 32 | 64;
  readonly structure: 'USERMODE_CRASHDUMP_HEADER64' | 'USERMODE_CRASHDUMP_HEADER32';
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly machineImageType: number;
  readonly threadCount: number;
  readonly moduleCount: number;
  readonly memoryRegionCount: number;
  readonly threadOffset: number;
  readonly moduleOffset: number;
  readonly dataOffset: number;
  readonly memoryRegionOffset: number;
  readonly debugEventOffset: number;
  readonly threadStateOffset: number;
  readonly versionInfoOffset: number;
  /** Every field in file order, for reports that show the header as it is. */
  readonly fields: readonly HeaderField[];
}

const COUNTS = ['MajorVersion', 'MinorVersion', 'MachineImageType', 'ThreadCount', 'ModuleCount', 'MemoryRegionCount'] as const;
const OFFSETS = ['ThreadOffset', 'ModuleOffset', 'DataOffset', 'MemoryRegionOffset', 'DebugEventOffset', 'ThreadStateOffset', 'VersionInfoOffset', 'Spare1'] as const;

/**
 * Reads USERMODE_CRASHDUMP_HEADER(32/64): Signature 'USER', ValidDump 'DU64' (64-bit offsets) or
 * 'DUMP' (32-bit), then the version, machine, counts and the file offsets of each part.
 */
export async function readUserDumpHeader(source: ByteSource): Promise<UserDumpHeader> {
  const head = await readExact(source, 0, Math.min(8, source.size), 'USERMODE_CRASHDUMP_HEADER');
  const signature = String.fromCharCode(...head);
  if (signature !== 'USERDU64' && signature !== 'USERDUMP') {
    throw new FormatError(source.name, 'USERMODE_CRASHDUMP_HEADER', 0, `signature ${JSON.stringify(signature)} is neither "USERDU64" nor "USERDUMP"`);
  }
  const width = signature === 'USERDU64' ? 64 : 32;
  const structure = width === 64 ? 'USERMODE_CRASHDUMP_HEADER64' : 'USERMODE_CRASHDUMP_HEADER32';
  const size = width === 64 ? HEADER64_SIZE : HEADER32_SIZE;
  if (source.size < size) {
    throw new FormatError(source.name, structure, 0, `the file is 0x${source.size.toString(16)} bytes long, shorter than the 0x${size.toString(16)}-byte header`);
  }
  const r = new Reader(await readExact(source, 0, size, structure), source.name, 0, structure);
  const fields: HeaderField[] = [
    { name: 'Signature', value: 'USER' },
    { name: 'ValidDump', value: signature.slice(4) },
  ];
  const numbers: number[] = [];
  COUNTS.forEach((name, i) => {
    const value = r.u32(8 + i * 4);
    fields.push({ name, value });
    numbers.push(value);
  });
  OFFSETS.forEach((name, i) => {
    const value = width === 64 ? r.u64(0x20 + i * 8) : r.u32(0x20 + i * 4);
    fields.push({ name, value });
    numbers.push(typeof value === 'bigint' ? (value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)) : value);
  });
  const [majorVersion, minorVersion, machineImageType, threadCount, moduleCount, memoryRegionCount] = numbers as [number, number, number, number, number, number];
  const [threadOffset, moduleOffset, dataOffset, memoryRegionOffset, debugEventOffset, threadStateOffset, versionInfoOffset] = numbers.slice(6) as [number, number, number, number, number, number, number];
  return {
    width,
    structure,
    majorVersion,
    minorVersion,
    machineImageType,
    threadCount,
    moduleCount,
    memoryRegionCount,
    threadOffset,
    moduleOffset,
    dataOffset,
    memoryRegionOffset,
    debugEventOffset,
    threadStateOffset,
    versionInfoOffset,
    fields,
  };
}
