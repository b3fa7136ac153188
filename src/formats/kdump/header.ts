import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { Reader, cString } from '../../io/reader.js';
import type { HeaderField } from '../../model/kernel.js';

/** `PAGE`, the filler Windows writes into every header field it does not use. */
export const PAGE_U32 = 0x45474150;
export const PAGE_U64 = 0x4547415045474150n;

export const HEADER64_SIZE = 0x2000;
export const HEADER32_SIZE = 0x1000;

/** A field of a fixed layout: name, offset, kind. */
export type FieldSpec = readonly [name: string, offset: number, kind: 'u8' | 'u16' | 'u32' | 'u64' | `char${number}`];

// DUMP_HEADER64, 0x2000 bytes (as kdmp-parser, rizin, volatility3 and QEMU's win_dump_defs.h lay it out).
const HEADER64: readonly FieldSpec[] = [
  ['MajorVersion', 0x08, 'u32'],
  ['MinorVersion', 0x0c, 'u32'],
  ['DirectoryTableBase', 0x10, 'u64'],
  ['PfnDataBase', 0x18, 'u64'],
  ['PsLoadedModuleList', 0x20, 'u64'],
  ['PsActiveProcessHead', 0x28, 'u64'],
  ['MachineImageType', 0x30, 'u32'],
  ['NumberProcessors', 0x34, 'u32'],
  ['BugCheckCode', 0x38, 'u32'],
  ['BugCheckParameter1', 0x40, 'u64'],
  ['BugCheckParameter2', 0x48, 'u64'],
  ['BugCheckParameter3', 0x50, 'u64'],
  ['BugCheckParameter4', 0x58, 'u64'],
  ['VersionUser', 0x60, 'char32'],
  ['KdDebuggerDataBlock', 0x80, 'u64'],
  ['DumpType', 0xf98, 'u32'],
  ['RequiredDumpSpace', 0xfa0, 'u64'],
  ['SystemTime', 0xfa8, 'u64'],
  ['Comment', 0xfb0, 'char128'],
  ['SystemUpTime', 0x1030, 'u64'],
  ['MiniDumpFields', 0x1038, 'u32'],
  ['SecondaryDataState', 0x103c, 'u32'],
  ['ProductType', 0x1040, 'u32'],
  ['SuiteMask', 0x1044, 'u32'],
  ['WriterStatus', 0x1048, 'u32'],
  ['KdSecondaryVersion', 0x104d, 'u8'],
  ['Attributes', 0x1050, 'u32'],
  ['BootId', 0x1054, 'u32'],
];

// DUMP_HEADER32, 0x1000 bytes. The tail after Comment (DumpType at 0xf88 .. SystemTime at 0xfc0)
// follows volatility2/rekall's vtypes; rizin's dmp32_header has no gap after Comment and would put
// DumpType at 0x8a0, which the RPi3 corpus dump contradicts (DumpType 4 is at 0xf88).
const HEADER32: readonly FieldSpec[] = [
  ['MajorVersion', 0x08, 'u32'],
  ['MinorVersion', 0x0c, 'u32'],
  ['DirectoryTableBase', 0x10, 'u32'],
  ['PfnDataBase', 0x14, 'u32'],
  ['PsLoadedModuleList', 0x18, 'u32'],
  ['PsActiveProcessHead', 0x1c, 'u32'],
  ['MachineImageType', 0x20, 'u32'],
  ['NumberProcessors', 0x24, 'u32'],
  ['BugCheckCode', 0x28, 'u32'],
  ['BugCheckParameter1', 0x2c, 'u32'],
  ['BugCheckParameter2', 0x30, 'u32'],
  ['BugCheckParameter3', 0x34, 'u32'],
  ['BugCheckParameter4', 0x38, 'u32'],
  ['VersionUser', 0x3c, 'char32'],
  ['PaeEnabled', 0x5c, 'u8'],
  ['KdSecondaryVersion', 0x5d, 'u8'],
  ['KdDebuggerDataBlock', 0x60, 'u32'],
  ['Comment', 0x820, 'char128'],
  ['DumpType', 0xf88, 'u32'],
  ['MiniDumpFields', 0xf8c, 'u32'],
  ['SecondaryDataState', 0xf90, 'u32'],
  ['ProductType', 0xf94, 'u32'],
  ['SuiteMask', 0xf98, 'u32'],
  ['WriterStatus', 0xf9c, 'u32'],
  ['RequiredDumpSpace', 0xfa0, 'u64'],
  ['SystemUpTime', 0xfb8, 'u64'],
  ['SystemTime', 0xfc0, 'u64'],
];

/** Reads fields of a layout; a u32/u64 holding the `PAGE` filler reads as undefined (absent). */
export function readFields(r: Reader, specs: readonly FieldSpec[], base = 0): HeaderField[] {
  return specs.map(([name, offset, kind]) => ({ name, value: readField(r, base + offset, kind) }));
}

function readField(r: Reader, at: number, kind: FieldSpec[2]): HeaderField['value'] {
  switch (kind) {
    case 'u8':
      return r.u8(at);
    case 'u16':
      return r.u16(at);
    case 'u32': {
      const v = r.u32(at);
      return v === PAGE_U32 ? undefined : v;
    }
    case 'u64': {
      const v = r.u64(at);
      return v === PAGE_U64 ? undefined : v;
    }
    default: {
      const text = cString(r.slice(Number(kind.slice(4)), at));
      return text.startsWith('PAGE') ? undefined : text;
    }
  }
}

/** Field lookup by name in a read layout. */
export function field(fields: readonly HeaderField[], name: string): bigint | number | string | undefined {
  return fields.find((f) => f.name === name)?.value;
}

export function fieldBig(fields: readonly HeaderField[], name: string): bigint | undefined {
  const v = field(fields, name);
  return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : undefined;
}

export function fieldNum(fields: readonly HeaderField[], name: string): number | undefined {
  const v = field(fields, name);
  return typeof v === 'number' ? v : typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

export interface DumpHeader {
  readonly width: 32 | 64;
  readonly fields: readonly HeaderField[];
  /** The whole header, for the structures inside it (memory descriptor, context, exception). */
  readonly reader: Reader;
  readonly size: number;
  /** Offsets of the embedded structures. */
  readonly physicalMemoryBlock: number;
  readonly contextRecord: number;
  readonly contextRecordSize: number;
  readonly exceptionRecord: number;
}

/** Reads DUMP_HEADER64 (`PAGEDU64`) or DUMP_HEADER32 (`PAGEDUMP`). */
export async function readDumpHeader(source: ByteSource): Promise<DumpHeader> {
  const head = new Reader(await readExact(source, 0, 8, 'DUMP_HEADER'), source.name, 0, 'DUMP_HEADER');
  const valid = String.fromCharCode(...head.slice(4, 4));
  if (head.u32(0) !== PAGE_U32 || (valid !== 'DU64' && valid !== 'DUMP')) {
    throw head.error(0, 'not a Windows kernel dump (signature is not "PAGEDU64" or "PAGEDUMP")');
  }
  const width = valid === 'DU64' ? 64 : 32;
  const size = width === 64 ? HEADER64_SIZE : HEADER32_SIZE;
  const structure = width === 64 ? 'DUMP_HEADER64' : 'DUMP_HEADER32';
  const r = new Reader(await readExact(source, 0, size, structure), source.name, 0, structure);
  const fields = readFields(r, width === 64 ? HEADER64 : HEADER32);
  return width === 64
    ? { width, fields, reader: r, size, physicalMemoryBlock: 0x88, contextRecord: 0x348, contextRecordSize: 3000, exceptionRecord: 0xf00 }
    : { width, fields, reader: r, size, physicalMemoryBlock: 0x64, contextRecord: 0x320, contextRecordSize: 1200, exceptionRecord: 0x7d0 };
}

/** DumpType values (DUMP_TYPE in the WDK's headers, and the newer ones kdmp-parser documents). */
export function dumpTypeName(type: number | undefined): string {
  switch (type) {
    case 1:
      return 'complete memory dump (physical memory runs)';
    case 2:
      return 'kernel memory dump (summary)';
    case 3:
      return 'header-only dump';
    case 4:
      return 'small memory dump (triage)';
    case 5:
      return 'complete memory dump (bitmap)';
    case 6:
      return 'kernel memory dump (bitmap)';
    case 7:
      return 'automatic memory dump';
    case 8:
      return 'kernel memory dump (RDMP)';
    case 9:
      return 'kernel and user memory dump (RDMP)';
    case 10:
      return 'complete memory dump (RDMP)';
    default:
      return `unknown dump type ${type ?? '(none)'}`;
  }
}

/** Machine type (IMAGE_FILE_MACHINE_*) of the kernel. */
export function machineCpu(machine: number | undefined): 'x86' | 'amd64' | 'arm64' | 'arm' | 'unknown' {
  switch (machine) {
    case 0x14c:
      return 'x86';
    case 0x8664:
      return 'amd64';
    case 0xaa64:
      return 'arm64';
    case 0x1c0:
    case 0x1c2:
    case 0x1c4:
      return 'arm';
    default:
      return 'unknown';
  }
}
