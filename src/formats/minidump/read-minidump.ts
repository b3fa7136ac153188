import type { ByteSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader, cString, utf16le } from '../../io/reader.js';
import type { Cpu, CpuContext } from '../../model/cpu.js';
import { SnapshotMemory, type MemoryRegion } from '../../model/memory.js';
import type {
  AssertionInfo,
  BreakpadInfo,
  CrashpadInfo,
  ExceptionInfo,
  HandleDescriptor,
  LinuxInfo,
  MacCrashInfoRecord,
  LinuxMapping,
  MemoryInfo,
  Module,
  ProcessInfo,
  Snapshot,
  SystemInfo,
  Thread,
  UnloadedModule,
} from '../../model/snapshot.js';
import { parseContext } from './context.js';
import { readWow64, type Wow64Reading } from '../wow64/read-wow64.js';
import { Limits, MINIDUMP_SIGNATURE, MINIDUMP_VERSION, PlatformId, ProcessorArchitecture, StreamType } from './constants.js';
import {
  guidDashed,
  guidHex,
  listLayout,
  readAt,
  readLocation,
  readMinidumpString,
  readUtf8String,
  type Location,
} from './records.js';

interface DirectoryEntry {
  readonly type: number;
  readonly location: Location;
  readonly offset: number;
}

/** Reads a minidump into the snapshot model. Throws FormatError only when not even the header and directory can be read. */
export async function readMinidump(source: ByteSource): Promise<Snapshot> {
  const warnings: string[] = [];
  const header = await readAt(source, 0, 32, 'MINIDUMP_HEADER');
  if (header.u32(0) !== MINIDUMP_SIGNATURE) {
    throw header.error(0, 'not a minidump (signature is not "MDMP")');
  }
  if ((header.u32(4) & 0xffff) !== MINIDUMP_VERSION) {
    warnings.push(`${source.name}: MINIDUMP_HEADER: unexpected version 0x${header.u32(4).toString(16)}`);
  }
  const streamCount = header.u32(8);
  const directoryRva = header.u32(12);
  const timeDateStamp = header.u32(20);
  const maxStreams = Math.min(Limits.streams, Math.floor(Math.max(0, source.size - directoryRva) / 12));
  if (streamCount > maxStreams) {
    throw header.error(8, `stream count ${streamCount} does not fit in the file (at most ${maxStreams} from offset 0x${directoryRva.toString(16)})`);
  }
  const dir = await readAt(source, directoryRva, streamCount * 12, 'MINIDUMP_DIRECTORY');
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < streamCount; i++) {
    entries.push({ type: dir.u32(i * 12), location: readLocation(dir, i * 12 + 4), offset: directoryRva + i * 12 });
  }

  /** First stream of a type, its bytes loaded; undefined (with a warning) when unreadable. */
  const loadStream = async (type: number, name: string): Promise<Reader | undefined> => {
    const entry = entries.find((e) => e.type === type);
    if (!entry) return undefined;
    try {
      return await readAt(source, entry.location.rva, entry.location.size, name);
    } catch (e) {
      warnings.push(describe(e));
      return undefined;
    }
  };

  /** Runs one stream's parser; a failure becomes a warning and the stream's default. */
  const attempt = async <T>(fallback: T, parse: () => Promise<T>): Promise<T> => {
    try {
      return await parse();
    } catch (e) {
      warnings.push(describe(e));
      return fallback;
    }
  };

  const system = await attempt(defaultSystem(), async () => {
    const r = await loadStream(StreamType.SystemInfo, 'MINIDUMP_SYSTEM_INFO');
    return r ? parseSystemInfo(source, r, warnings) : defaultSystem();
  });

  const memoryRegions: MemoryRegion[] = [];
  await attempt(undefined, async () => {
    const r = await loadStream(StreamType.MemoryList, 'MINIDUMP_MEMORY_LIST');
    if (r) memoryRegions.push(...parseMemoryList(r, source, warnings));
  });
  await attempt(undefined, async () => {
    const r = await loadStream(StreamType.Memory64List, 'MINIDUMP_MEMORY64_LIST');
    if (r) memoryRegions.push(...parseMemory64List(r, source, warnings));
  });
  const memory = new SnapshotMemory(source, memoryRegions);

  const modules = await attempt<Module[]>([], async () => {
    const r = await loadStream(StreamType.ModuleList, 'MINIDUMP_MODULE_LIST');
    return r ? parseModuleList(source, r, warnings) : [];
  });
  const unloadedModules = await attempt<UnloadedModule[]>([], async () => {
    const r = await loadStream(StreamType.UnloadedModuleList, 'MINIDUMP_UNLOADED_MODULE_LIST');
    return r ? parseUnloadedModuleList(source, r, warnings) : [];
  });
  const threadNames = await attempt(new Map<number, string>(), async () => {
    const r = await loadStream(StreamType.ThreadNameList, 'MINIDUMP_THREAD_NAME_LIST');
    return r ? parseThreadNames(source, r, warnings) : new Map<number, string>();
  });
  const startAddresses = await attempt(new Map<number, bigint>(), async () => {
    const r = await loadStream(StreamType.ThreadInfoList, 'MINIDUMP_THREAD_INFO_LIST');
    return r ? parseThreadInfo(r) : new Map<number, bigint>();
  });
  const threads = await attempt<Thread[]>([], async () => {
    const r = await loadStream(StreamType.ThreadList, 'MINIDUMP_THREAD_LIST');
    if (!r) {
      warnings.push(`${source.name}: the dump has no thread list`);
      return [];
    }
    return parseThreadList(source, r, system.cpu, threadNames, startAddresses, warnings);
  });
  // A 32-bit program in a 64-bit dump: its x86 contexts and 32-bit TEBs.
  const wow64 = await attempt<Wow64Reading>({ threads, process: undefined }, () => readWow64(source.name, system.cpu, memory, modules, threads, warnings));
  const exception = await attempt<ExceptionInfo | undefined>(undefined, async () => {
    const r = await loadStream(StreamType.Exception, 'MINIDUMP_EXCEPTION_STREAM');
    return r ? parseException(source, r, system.cpu, warnings) : undefined;
  });
  const memoryInfo = await attempt<MemoryInfo[]>([], async () => {
    const r = await loadStream(StreamType.MemoryInfoList, 'MINIDUMP_MEMORY_INFO_LIST');
    return r ? parseMemoryInfoList(r) : [];
  });
  const process = await attempt<ProcessInfo>({ processId: undefined, createTime: undefined }, async () => {
    const r = await loadStream(StreamType.MiscInfo, 'MINIDUMP_MISC_INFO');
    return r ? parseMiscInfo(r) : { processId: undefined, createTime: undefined };
  });
  const breakpad = await attempt<BreakpadInfo | undefined>(undefined, async () => {
    const r = await loadStream(StreamType.BreakpadInfo, 'MDRawBreakpadInfo');
    return r ? parseBreakpadInfo(r) : undefined;
  });
  const crashpad = await attempt<CrashpadInfo | undefined>(undefined, async () => {
    const r = await loadStream(StreamType.CrashpadInfo, 'MinidumpCrashpadInfo');
    return r ? parseCrashpadInfo(source, r, warnings) : undefined;
  });
  const assertion = await attempt<AssertionInfo | undefined>(undefined, async () => {
    const r = await loadStream(StreamType.BreakpadAssertionInfo, 'MDRawAssertionInfo');
    return r ? parseAssertionInfo(r) : undefined;
  });
  const linux = await attempt<LinuxInfo | undefined>(undefined, async () => {
    const text = async (type: number, name: string): Promise<string | undefined> => {
      const r = await loadStream(type, name);
      return r ? cString(r.bytes) : undefined;
    };
    const mapsText = await text(StreamType.LinuxMaps, 'Linux maps');
    const info: LinuxInfo = {
      maps: mapsText === undefined ? [] : parseLinuxMaps(mapsText),
      cpuInfo: await text(StreamType.LinuxCpuInfo, 'Linux cpuinfo'),
      procStatus: await text(StreamType.LinuxProcStatus, 'Linux proc status'),
      lsbRelease: await text(StreamType.LinuxLsbRelease, 'Linux lsb-release'),
      cmdLine: await text(StreamType.LinuxCmdLine, 'Linux cmdline'),
    };
    const procLimits = await text(StreamType.MozLinuxLimits, 'MozLinuxLimits');
    if (procLimits !== undefined) Object.assign(info, { procLimits });
    return Object.values(info).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0)) ? info : undefined;
  });
  const mozilla = await attempt<Snapshot['mozilla']>(undefined, async () => {
    const soft = await loadStream(StreamType.MozSoftErrors, 'MozSoftErrors');
    const boot = await loadStream(StreamType.MozMacosBootargs, 'MINIDUMP_MAC_BOOTARGS');
    const crashInfo = await loadStream(StreamType.MozMacosCrashInfo, 'MINIDUMP_MAC_CRASH_INFO');
    if (!soft && !boot && !crashInfo) return undefined;
    let macCrashInfo: MacCrashInfoRecord[] | undefined;
    if (crashInfo) {
      try {
        macCrashInfo = await parseMacCrashInfo(source, crashInfo);
      } catch (e) {
        warnings.push(describe(e));
      }
    }
    return {
      softErrors: soft ? new TextDecoder('utf-8', { fatal: false }).decode(soft.bytes) : undefined,
      macBootArgs: boot ? await parseMacBootArgs(source, boot, warnings) : undefined,
      macCrashInfo,
    };
  });
  const handles = await attempt<Snapshot['handles']>(undefined, async () => {
    const r = await loadStream(StreamType.HandleData, 'MINIDUMP_HANDLE_DATA_STREAM');
    return r ? parseHandleData(source, r, warnings) : undefined;
  });
  // rust-minidump takes a Linux dump's process id from /proc/self/status when no MISC_INFO names it.
  const linuxPid = linux?.procStatus === undefined ? undefined : /^Pid:\s*(\d+)\s*$/m.exec(linux.procStatus)?.[1];
  const processInfo: ProcessInfo =
    process.processId === undefined && linuxPid !== undefined ? { ...process, processId: Number(linuxPid) } : process;
  const macModules = system.osShort === 'mac' || system.osShort === 'ios' ? modules.map(macCodeId) : modules;

  return {
    file: source.name,
    format: 'minidump',
    system,
    modules: macModules,
    unloadedModules,
    threads: wow64.threads,
    exception,
    memory,
    memoryInfo,
    process: processInfo,
    breakpad,
    crashpad,
    ...(assertion ? { assertion } : {}),
    linux,
    mozilla,
    handles,
    ...(wow64.process ? { wow64: wow64.process } : {}),
    timeDateStamp,
    warnings,
  };
}

function describe(e: unknown): string {
  if (e instanceof FormatError) return e.message;
  return String(e instanceof Error ? e.message : e);
}

function defaultSystem(): SystemInfo {
  return { cpu: 'unknown', os: 'unknown', osShort: 'unknown', osVersion: '', cpuInfo: '', cpuCount: 0, cpuMicrocode: undefined };
}

function cpuFromArchitecture(arch: number): Cpu {
  switch (arch) {
    case ProcessorArchitecture.X86:
    case ProcessorArchitecture.X86_WIN64:
      return 'x86';
    case ProcessorArchitecture.AMD64:
      return 'amd64';
    case ProcessorArchitecture.ARM64:
    case ProcessorArchitecture.ARM64_OLD:
      return 'arm64';
    case ProcessorArchitecture.ARM:
      return 'arm';
    case ProcessorArchitecture.PPC:
      return 'ppc';
    case ProcessorArchitecture.PPC64:
      return 'ppc64';
    case ProcessorArchitecture.MIPS:
      return 'mips';
    case ProcessorArchitecture.MIPS64:
      return 'mips64';
    case ProcessorArchitecture.SPARC:
      return 'sparc';
    case ProcessorArchitecture.RISCV:
      return 'riscv';
    case ProcessorArchitecture.RISCV64:
      return 'riscv64';
    default:
      return 'unknown';
  }
}

// MINIDUMP_SYSTEM_INFO, 56 bytes.
async function parseSystemInfo(source: ByteSource, r: Reader, warnings: string[]): Promise<SystemInfo> {
  r.check(0, 56);
  const cpu = cpuFromArchitecture(r.u16(0));
  const level = r.u16(2);
  const revision = r.u16(4);
  const cpuCount = r.u8(6);
  const [major, minor, build, platform] = [r.u32(8), r.u32(12), r.u32(16), r.u32(20)];
  const [os, osShort] = PlatformId[platform] ?? [`0x${platform.toString(16)}`, 'unknown'];
  let csdVersion: string | undefined;
  const csdRva = r.u32(24);
  if (csdRva !== 0) {
    try {
      csdVersion = await readMinidumpString(source, csdRva, 'CSDVersion string');
    } catch (e) {
      warnings.push(describe(e));
    }
  }
  const osVersion = `${major}.${minor}.${build}${csdVersion ? ' ' + csdVersion : ''}`;
  let cpuInfo = '';
  if (cpu === 'x86' || cpu === 'amd64') {
    let vendor = '';
    if (cpu === 'x86') {
      const bytes = new Uint8Array(12);
      for (let i = 0; i < 3; i++) new DataView(bytes.buffer).setUint32(i * 4, r.u32(32 + i * 4), true);
      vendor = cString(bytes);
    }
    // Breakpad: family = ProcessorLevel, model = high byte of ProcessorRevision, stepping = low byte.
    cpuInfo = `${vendor ? vendor + ' ' : ''}family ${level} model ${revision >> 8} stepping ${revision & 0xff}`;
  }
  const raw = { processorArchitecture: r.u16(0), processorLevel: level, platformId: platform, cpuInformation: [0, 1, 2, 3, 4, 5].map((i) => r.u32(32 + i * 4)) };
  return { cpu, os, osShort, osVersion, csdVersion, cpuInfo, cpuCount, cpuMicrocode: undefined, raw, versionParts: { major, minor, build, csd: csdVersion ?? '' } };
}

// MINIDUMP_MEMORY_LIST: count, MINIDUMP_MEMORY_DESCRIPTOR (16 bytes) each.
function parseMemoryList(r: Reader, source: ByteSource, warnings: string[]): MemoryRegion[] {
  const { count, first } = listLayout(r, 16, 'MINIDUMP_MEMORY_LIST');
  const regions: MemoryRegion[] = [];
  for (let i = 0; i < count; i++) {
    const at = first + i * 16;
    const base = r.u64(at);
    const { size, rva } = readLocation(r, at + 8);
    if (rva + size > source.size) {
      warnings.push(`${source.name}: MINIDUMP_MEMORY_DESCRIPTOR #${i} at offset 0x${(r.fileOffset + at).toString(16)}: memory at 0x${base.toString(16)} extends past the end of the file; skipped`);
      continue;
    }
    if (size > 0) regions.push({ base, size, fileOffset: rva });
  }
  return regions;
}

// MINIDUMP_MEMORY64_LIST: count (u64), BaseRva (u64), MINIDUMP_MEMORY_DESCRIPTOR64 (16 bytes) each, data contiguous from BaseRva.
function parseMemory64List(r: Reader, source: ByteSource, warnings: string[]): MemoryRegion[] {
  const count = r.u64n(0, 'range count');
  let offset = r.u64n(8, 'BaseRva');
  if (16 + count * 16 > r.length) {
    throw r.error(0, `declares ${count} ranges but the stream holds only ${Math.floor((r.length - 16) / 16)}`);
  }
  const regions: MemoryRegion[] = [];
  for (let i = 0; i < count; i++) {
    const base = r.u64(16 + i * 16);
    const size = r.u64(24 + i * 16);
    if (BigInt(offset) + size > BigInt(source.size)) {
      warnings.push(`${source.name}: MINIDUMP_MEMORY64_LIST: range #${i} (0x${base.toString(16)}, 0x${size.toString(16)} bytes) extends past the end of the file; the remaining ${count - i} ranges are missing (truncated dump?)`);
      if (offset < source.size) regions.push({ base, size: source.size - offset, fileOffset: offset });
      break;
    }
    if (size > 0n) regions.push({ base, size: Number(size), fileOffset: offset });
    offset += Number(size);
  }
  return regions;
}

// MINIDUMP_MODULE, 108 bytes.
async function parseModuleList(source: ByteSource, r: Reader, warnings: string[]): Promise<Module[]> {
  const { count, first } = listLayout(r, 108, 'MINIDUMP_MODULE_LIST');
  const modules: Module[] = [];
  for (let i = 0; i < count; i++) {
    const m = r.sub(first + i * 108, 108, `MINIDUMP_MODULE #${i}`);
    const base = m.u64(0);
    const size = m.u32(8);
    const checksum = m.u32(12);
    const timeDateStamp = m.u32(16);
    let codeFile = '';
    try {
      codeFile = await readMinidumpString(source, m.u32(20), `module #${i} name`);
    } catch (e) {
      warnings.push(describe(e));
    }
    const version = fixedFileVersion(m, 24);
    const cv = readLocation(m, 76);
    let debugFile = '';
    let debugId = '';
    let codeId = timeDateStamp || size ? `${timeDateStamp.toString(16).toUpperCase().padStart(8, '0')}${size.toString(16)}` : '';
    if (cv.size > 0 && cv.rva > 0) {
      try {
        const rec = await readAt(source, cv.rva, Math.min(cv.size, 4096), `module #${i} CodeView record`);
        const parsed = parseCodeView(rec);
        if (parsed) {
          // ELF build ids carry no file name: Breakpad uses the code file as the debug file.
          debugFile = parsed.debugFile || (parsed.codeId !== undefined ? codeFile : '');
          debugId = parsed.debugId;
          if (parsed.codeId !== undefined) codeId = parsed.codeId;
        }
      } catch (e) {
        warnings.push(describe(e));
      }
    }
    modules.push({ base, size, codeFile, codeId, debugFile, debugId, version, timeDateStamp, checksum });
  }
  return modules;
}

/** VS_FIXEDFILEINFO file version as "a.b.c.d", when its signature is right. */
function fixedFileVersion(m: Reader, at: number): string | undefined {
  if (m.u32(at) !== 0xfeef04bd) return undefined;
  const ms = m.u32(at + 8);
  const ls = m.u32(at + 12);
  return `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
}

const CV_RSDS = 0x53445352; // 'RSDS': PDB 7.0
const CV_NB10 = 0x3031424e; // 'NB10': PDB 2.0
const CV_ELF = 0x4270454c; // 'BpEL': Breakpad's ELF build id

function parseCodeView(r: Reader): { debugFile: string; debugId: string; codeId?: string } | undefined {
  if (r.length < 4) return undefined;
  const sig = r.u32(0);
  if (sig === CV_RSDS && r.length >= 24) {
    const age = r.u32(20);
    return { debugId: guidHex(r, 4) + age.toString(16), debugFile: cString(r.bytes.subarray(24)) };
  }
  if (sig === CV_NB10 && r.length >= 16) {
    const signature = r.u32(8);
    const age = r.u32(12);
    return {
      debugId: signature.toString(16).toUpperCase().padStart(8, '0') + age.toString(16),
      debugFile: cString(r.bytes.subarray(16)),
    };
  }
  if (sig === CV_ELF) {
    const id = r.bytes.subarray(4);
    // The first 16 bytes of the build id read as a GUID, age 0 (Breakpad's convention).
    const padded = new Uint8Array(16);
    padded.set(id.subarray(0, 16));
    const g = new Reader(padded, r.file, r.fileOffset + 4, 'ELF build id');
    let codeId = '';
    for (const b of id) codeId += b.toString(16).padStart(2, '0');
    return { debugId: guidHex(g, 0) + '0', debugFile: '', codeId };
  }
  return undefined;
}

// MINIDUMP_UNLOADED_MODULE_LIST: header (SizeOfHeader, SizeOfEntry, NumberOfEntries), entries of 24 bytes or more.
async function parseUnloadedModuleList(source: ByteSource, r: Reader, warnings: string[]): Promise<UnloadedModule[]> {
  const { headerSize, entrySize, count } = sizedListHeader(r, 12, 24, 'MINIDUMP_UNLOADED_MODULE_LIST');
  const out: UnloadedModule[] = [];
  for (let i = 0; i < count; i++) {
    const e = r.sub(headerSize + i * entrySize, entrySize, `MINIDUMP_UNLOADED_MODULE #${i}`);
    const base = e.u64(0);
    const size = e.u32(8);
    const timeDateStamp = e.u32(16);
    let codeFile = '';
    try {
      codeFile = await readMinidumpString(source, e.u32(20), `unloaded module #${i} name`);
    } catch (err) {
      warnings.push(describe(err));
    }
    out.push({ base, size, codeFile, codeId: `${timeDateStamp.toString(16).toUpperCase().padStart(8, '0')}${size.toString(16)}` });
  }
  return out;
}

/** Header of the self-describing lists (SizeOfHeader, SizeOfEntry, count), checked against the stream. */
function sizedListHeader(
  r: Reader,
  minHeader: number,
  minEntry: number,
  structure: string,
  count64 = false,
): { headerSize: number; entrySize: number; count: number } {
  const headerSize = r.u32(0);
  const entrySize = r.u32(4);
  const count = count64 ? r.u64n(8, 'entry count') : r.u32(8);
  if (headerSize < minHeader || entrySize < minEntry) {
    throw r.error(0, `header size ${headerSize} or entry size ${entrySize} is too small`, structure);
  }
  if (headerSize > r.length || (r.length - headerSize) / entrySize < count) {
    throw r.error(8, `declares ${count} entries of ${entrySize} bytes but the stream holds only ${r.length} bytes`, structure);
  }
  return { headerSize, entrySize, count };
}

// MINIDUMP_THREAD_NAME_LIST: count, then MINIDUMP_THREAD_NAME (ThreadId u32, RvaOfThreadName u64) packed to 12 bytes.
async function parseThreadNames(source: ByteSource, r: Reader, warnings: string[]): Promise<Map<number, string>> {
  const { count, first } = listLayout(r, 12, 'MINIDUMP_THREAD_NAME_LIST');
  const names = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    const at = first + i * 12;
    const id = r.u32(at);
    const rva = r.u64(at + 4);
    if (rva > BigInt(source.size)) {
      warnings.push(`${source.name}: MINIDUMP_THREAD_NAME #${i}: name RVA 0x${rva.toString(16)} is past the end of the file`);
      continue;
    }
    try {
      names.set(id, await readMinidumpString(source, Number(rva), `thread 0x${id.toString(16)} name`));
    } catch (e) {
      warnings.push(describe(e));
    }
  }
  return names;
}

// MINIDUMP_THREAD_INFO_LIST: header, then MINIDUMP_THREAD_INFO (64 bytes): StartAddress at 48.
function parseThreadInfo(r: Reader): Map<number, bigint> {
  const { headerSize, entrySize, count } = sizedListHeader(r, 12, 64, 'MINIDUMP_THREAD_INFO_LIST');
  const starts = new Map<number, bigint>();
  for (let i = 0; i < count; i++) {
    const at = headerSize + i * entrySize;
    starts.set(r.u32(at), r.u64(at + 48));
  }
  return starts;
}

// MINIDUMP_THREAD, 48 bytes: ThreadId, SuspendCount, PriorityClass, Priority, Teb, Stack descriptor, ThreadContext.
async function parseThreadList(
  source: ByteSource,
  r: Reader,
  cpu: Cpu,
  names: Map<number, string>,
  startAddresses: Map<number, bigint>,
  warnings: string[],
): Promise<Thread[]> {
  const { count, first } = listLayout(r, 48, 'MINIDUMP_THREAD_LIST');
  const threads: Thread[] = [];
  for (let i = 0; i < count; i++) {
    const t = r.sub(first + i * 48, 48, `MINIDUMP_THREAD #${i}`);
    const id = t.u32(0);
    const stackStart = t.u64(24);
    const stackLoc = readLocation(t, 32);
    const contextLoc = readLocation(t, 40);
    let context: CpuContext | undefined;
    try {
      context = await readContext(source, contextLoc, cpu, `thread 0x${id.toString(16)} context`);
    } catch (e) {
      warnings.push(describe(e));
    }
    // Some writers (wine's full-memory dumps) give the stack an RVA of 0: its bytes are then found by address.
    const stackInFile = stackLoc.rva !== 0 && stackLoc.rva + stackLoc.size <= source.size;
    if (stackLoc.size > 0 && stackLoc.rva !== 0 && !stackInFile) {
      warnings.push(`${source.name}: thread 0x${id.toString(16)} stack at offset 0x${stackLoc.rva.toString(16)} (${stackLoc.size} bytes) lies past the end of the file`);
    }
    const stack = stackLoc.size > 0 ? { base: stackStart, size: stackLoc.size, fileOffset: stackInFile ? stackLoc.rva : undefined } : undefined;
    threads.push({
      id,
      name: names.get(id),
      context,
      stack,
      teb: t.u64(16),
      suspendCount: t.u32(4),
      priority: t.u32(12),
      startAddress: startAddresses.get(id),
    });
  }
  return threads;
}

async function readContext(source: ByteSource, loc: Location, cpu: Cpu, structure: string): Promise<CpuContext | undefined> {
  if (loc.size === 0 || loc.rva === 0) return undefined;
  const r = await readAt(source, loc.rva, Math.min(loc.size, 64 * 1024), structure);
  return parseContext(r, cpu);
}

// MINIDUMP_EXCEPTION_STREAM, 168 bytes.
async function parseException(source: ByteSource, r: Reader, cpu: Cpu, warnings: string[]): Promise<ExceptionInfo> {
  r.check(0, 168);
  const threadId = r.u32(0);
  const count = Math.min(r.u32(32), 15);
  const parameters: bigint[] = [];
  for (let i = 0; i < count; i++) parameters.push(r.u64(40 + i * 8));
  let context: CpuContext | undefined;
  try {
    context = await readContext(source, readLocation(r, 160), cpu, 'exception context');
  } catch (e) {
    warnings.push(describe(e));
  }
  return { threadId, code: r.u32(8), flags: r.u32(12), address: r.u64(24), parameters, context };
}

// MINIDUMP_MEMORY_INFO_LIST: header (u32, u32, u64 count), MINIDUMP_MEMORY_INFO (48 bytes) each.
function parseMemoryInfoList(r: Reader): MemoryInfo[] {
  const { headerSize, entrySize, count } = sizedListHeader(r, 16, 48, 'MINIDUMP_MEMORY_INFO_LIST', true);
  const out: MemoryInfo[] = [];
  for (let i = 0; i < count; i++) {
    const at = headerSize + i * entrySize;
    out.push({
      base: r.u64(at),
      allocationBase: r.u64(at + 8),
      allocationProtect: r.u32(at + 16),
      size: r.u64(at + 24),
      state: r.u32(at + 32),
      protect: r.u32(at + 36),
      type: r.u32(at + 40),
    });
  }
  return out;
}

// MINIDUMP_MISC_INFO: SizeOfInfo, Flags1, ProcessId, ProcessCreateTime, ...
function parseMiscInfo(r: Reader): ProcessInfo {
  r.check(0, 24);
  const flags = r.u32(4);
  return {
    processId: flags & 1 ? r.u32(8) : undefined,
    createTime: flags & 2 ? r.u32(12) : undefined,
  };
}

// MDRawBreakpadInfo: validity, dump_thread_id, requesting_thread_id.
function parseBreakpadInfo(r: Reader): BreakpadInfo {
  r.check(0, 12);
  const validity = r.u32(0);
  return {
    dumpThreadId: validity & 1 ? r.u32(4) : undefined,
    requestingThreadId: validity & 2 ? r.u32(8) : undefined,
  };
}

// MDRawAssertionInfo, 776 bytes: expression, function and file (128 UTF-16 units each, NUL-ended), line, type.
function parseAssertionInfo(r: Reader): AssertionInfo {
  // Breakpad reads the stream only at exactly this size.
  if (r.length !== 776) throw r.error(0, `is ${r.length} bytes, not 776`);
  const text = (at: number): string => utf16le(r.bytes.subarray(at, at + 256));
  return { expression: text(0), function: text(256), file: text(512), line: r.u32(768), type: r.u32(772) };
}

// MinidumpCrashpadInfo: version, report_id, client_id, simple_annotations, module_list.
async function parseCrashpadInfo(source: ByteSource, r: Reader, warnings: string[]): Promise<CrashpadInfo> {
  r.check(0, 52);
  const simpleAnnotations = await readDictionary(source, readLocation(r, 36), warnings);
  const moduleAnnotations: CrashpadInfo['moduleAnnotations'][number][] = [];
  const listLoc = readLocation(r, 44);
  if (listLoc.size >= 4) {
    const list = await readAt(source, listLoc.rva, listLoc.size, 'MinidumpModuleCrashpadInfoList');
    const count = list.u32(0);
    if (4 + count * 12 > list.length) throw list.error(0, `declares ${count} entries but holds ${list.length} bytes`);
    for (let i = 0; i < count; i++) {
      const moduleIndex = list.u32(4 + i * 12);
      const infoLoc = readLocation(list, 8 + i * 12);
      try {
        const info = await readAt(source, infoLoc.rva, Math.max(infoLoc.size, 20), 'MinidumpModuleCrashpadInfo');
        moduleAnnotations.push({
          moduleIndex,
          listAnnotations: await readStringList(source, readLocation(info, 4)),
          simpleAnnotations: await readDictionary(source, readLocation(info, 12), warnings),
        });
      } catch (e) {
        warnings.push(describe(e));
      }
    }
  }
  return { reportId: guidDashed(r, 4), clientId: guidDashed(r, 20), simpleAnnotations, moduleAnnotations };
}

// MinidumpSimpleStringDictionary: count, then (key RVA, value RVA) pairs of MinidumpUTF8String.
async function readDictionary(source: ByteSource, loc: Location, warnings: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (loc.size < 4) return out;
  const r = await readAt(source, loc.rva, loc.size, 'MinidumpSimpleStringDictionary');
  const count = r.u32(0);
  if (4 + count * 8 > r.length) throw r.error(0, `declares ${count} entries but holds ${r.length} bytes`);
  for (let i = 0; i < count; i++) {
    try {
      const key = await readUtf8String(source, r.u32(4 + i * 8), 'annotation key');
      out.set(key, await readUtf8String(source, r.u32(8 + i * 8), 'annotation value'));
    } catch (e) {
      warnings.push(describe(e));
    }
  }
  return out;
}

// MinidumpRVAList of MinidumpUTF8String.
async function readStringList(source: ByteSource, loc: Location): Promise<string[]> {
  if (loc.size < 4) return [];
  const r = await readAt(source, loc.rva, loc.size, 'MinidumpRVAList');
  const count = r.u32(0);
  if (4 + count * 4 > r.length) throw r.error(0, `declares ${count} entries but holds ${r.length} bytes`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(await readUtf8String(source, r.u32(4 + i * 4), 'list annotation'));
  return out;
}

/** A Mach-O module's code id is its LC_UUID, the GUID its CodeView record carries (rust-minidump's convention). */
function macCodeId(m: Module): Module {
  return m.debugId.length >= 32 ? { ...m, codeId: m.debugId.slice(0, 32).toLowerCase() } : m;
}

// MINIDUMP_MAC_BOOTARGS: stream_type u32, then the RVA64 of a MINIDUMP_STRING (12 bytes, packed).
async function parseMacBootArgs(source: ByteSource, r: Reader, warnings: string[]): Promise<string | null> {
  r.check(0, 12);
  const rva = r.u64(4);
  if (rva === 0n || rva > BigInt(source.size)) return null;
  try {
    return await readMinidumpString(source, Number(rva), 'MINIDUMP_MAC_BOOTARGS bootargs');
  } catch (e) {
    warnings.push(describe(e));
    return null;
  }
}

const MAC_CRASH_INFO_RECORDS = 20;
const MAC_CRASH_INFO_STRING_MAX = 8192;

// MINIDUMP_MAC_CRASH_INFO: stream_type, record_count, record_start_size, then 20 location
// descriptors. Each record: stream_type u64, version u64, (v4) thread u64, dialog_mode u64,
// (v5) abort_cause u64; at record_start_size, NUL-terminated UTF-8 strings (v4): module path,
// message, signature string, backtrace, message2. All records must share one version.
async function parseMacCrashInfo(source: ByteSource, r: Reader): Promise<MacCrashInfoRecord[]> {
  r.check(0, 12 + MAC_CRASH_INFO_RECORDS * 8);
  const count = Math.min(r.u32(4), MAC_CRASH_INFO_RECORDS);
  const stringsAt = r.u32(8);
  const out: MacCrashInfoRecord[] = [];
  for (let i = 0; i < count; i++) {
    const loc = readLocation(r, 12 + i * 8);
    const rec = await readAt(source, loc.rva, Math.min(loc.size, stringsAt + 5 * MAC_CRASH_INFO_STRING_MAX), `MINIDUMP_MAC_CRASH_INFO_RECORD #${i}`);
    rec.check(0, 16);
    const version = rec.u64(8);
    if (out.length > 0 && out[0]!.version !== version) throw rec.error(8, `version ${version} differs from the first record's ${out[0]!.version}`);
    const fixedEnd = version >= 5n ? 40 : version >= 4n ? 32 : 16;
    if (fixedEnd > stringsAt) throw r.error(8, `record_start_size ${stringsAt} is inside the record's ${fixedEnd} fixed bytes`);
    rec.check(0, fixedEnd);
    const strings: (string | undefined)[] = [];
    let at = stringsAt;
    for (let k = 0; k < (version >= 4n ? 5 : 0); k++) {
      const end = rec.bytes.indexOf(0, at);
      if (end < 0 || end - at > MAC_CRASH_INFO_STRING_MAX) throw rec.error(at, 'string runs past the record');
      const text = new TextDecoder('utf-8', { fatal: false }).decode(rec.bytes.subarray(at, end));
      strings.push(text === '' ? undefined : text);
      at = end + 1;
    }
    out.push({
      version,
      thread: version >= 4n ? rec.u64(16) : undefined,
      dialogMode: version >= 4n ? rec.u64(24) : undefined,
      abortCause: version >= 5n ? rec.u64(32) : undefined,
      modulePath: strings[0],
      message: strings[1],
      signatureString: strings[2],
      backtrace: strings[3],
      message2: strings[4],
    });
  }
  return out;
}

// MINIDUMP_HANDLE_DATA_STREAM: SizeOfHeader, SizeOfDescriptor, NumberOfDescriptors, Reserved; then
// MINIDUMP_HANDLE_DESCRIPTOR (32 bytes) or MINIDUMP_HANDLE_DESCRIPTOR_2 (40 bytes) each.
async function parseHandleData(source: ByteSource, r: Reader, warnings: string[]): Promise<HandleDescriptor[]> {
  r.check(0, 16);
  const headerSize = r.u32(0);
  const entrySize = r.u32(4);
  const count = r.u32(8);
  if (entrySize !== 32 && entrySize !== 40) throw r.error(4, `unknown handle descriptor size ${entrySize}`);
  if (headerSize < 16 || headerSize + count * entrySize > r.length) {
    throw r.error(8, `declares ${count} descriptors of ${entrySize} bytes after a ${headerSize}-byte header but holds ${r.length} bytes`);
  }
  const name = async (rva: number, what: string): Promise<string | undefined> => {
    if (rva === 0) return undefined;
    try {
      return await readMinidumpString(source, rva, what);
    } catch (e) {
      warnings.push(describe(e));
      return undefined;
    }
  };
  const out: HandleDescriptor[] = [];
  for (let i = 0; i < count; i++) {
    const at = headerSize + i * entrySize;
    out.push({
      handle: r.u64(at),
      typeName: await name(r.u32(at + 8), `handle #${i} type name`),
      objectName: await name(r.u32(at + 12), `handle #${i} object name`),
      attributes: r.u32(at + 16),
      grantedAccess: r.u32(at + 20),
      handleCount: r.u32(at + 24),
      pointerCount: r.u32(at + 28),
    });
  }
  return out;
}

/** /proc/self/maps lines: "start-end perms offset dev inode path". */
export function parseLinuxMaps(text: string): LinuxMapping[] {
  const out: LinuxMapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+([-r][-w][-x][-ps])\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$/i.exec(line.trim());
    if (!m) continue;
    const perms = m[3]!;
    out.push({
      start: BigInt('0x' + m[1]),
      end: BigInt('0x' + m[2]),
      readable: perms[0] === 'r',
      writable: perms[1] === 'w',
      executable: perms[2] === 'x',
      private: perms[3] === 'p',
      offset: BigInt('0x' + m[4]),
      path: m[5] ?? '',
    });
  }
  return out;
}
