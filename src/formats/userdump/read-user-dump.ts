import { readWow64, type Wow64Reading } from '../wow64/read-wow64.js';
import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader, cString, utf16le } from '../../io/reader.js';
import { pointerWidth, specialRegisters, type Cpu, type CpuContext } from '../../model/cpu.js';
import { SnapshotMemory, type MemoryRegion } from '../../model/memory.js';
import type { ExceptionInfo, MemoryInfo, Module, Snapshot, SystemInfo, Thread, ThreadStack } from '../../model/snapshot.js';
import type { UserDebugEvent, UserDumpInfo } from '../../model/user-dump.js';
import { machineCpu } from '../kdump/header.js';
// The threads' CONTEXT records are the same Windows structures a minidump stores.
import { parseContext } from '../minidump/context.js';
import { imageFactsInMemory } from '../pe/memory-facts.js';
import { readUserDumpHeader, type UserDumpHeader } from './header.js';

/** CONTEXT sizes per CPU (without extended state), as the thread list stores them one after another. */
const CONTEXT_SIZE: Partial<Record<Cpu, number>> = { x86: 0x2cc, amd64: 0x4d0, arm64: 0x390 };
/** MEMORY_BASIC_INFORMATION64 (with its two alignment words) and MEMORY_BASIC_INFORMATION32. */
const MBI_SIZE = { 64: 0x30, 32: 0x1c } as const;
/** CRASH_THREAD64 / CRASH_THREAD32: ThreadId, SuspendCount, PriorityClass, Priority, Teb, seven spares. */
const CRASH_THREAD_SIZE = { 64: 0x50, 32: 0x30 } as const;
/** DEBUG_EVENT as the writer's process lays it out: the union is 8-aligned on 64-bit Windows. */
const DEBUG_EVENT_SIZE = { 64: 0xb0, 32: 0x60 } as const;
/** Bounds on what one file is believed to describe (a real process has a few thousand regions, a few hundred modules). */
const MAX_REGIONS = 1 << 20;
const MAX_THREADS = 1 << 16;
const MAX_MODULES = 1 << 16;
/** ImageNameLength beyond this is damage (a Windows path is at most 32767 UTF-16 units). */
const MAX_NAME = 0x10000;
/** How much of the version strings is read (the real ones are a few dozen bytes). */
const MAX_VERSION_INFO = 0x1000;
/** A thread's stack larger than this (from its TEB) is not believed; the walk loads from sp instead. */
const MAX_STACK = 256 * 1024 * 1024;
/** Without usable TEB bounds, this much from sp (loading stops at the first gap in captured memory). */
const FALLBACK_STACK = 1024 * 1024;
/** KUSER_SHARED_DATA, at the same address in every Windows process, 32- and 64-bit. */
const KUSER_SHARED_DATA = 0x7ffe0000n;
const MEM_COMMIT = 0x1000;
const EXCEPTION_DEBUG_EVENT = 1;
const DEBUG_EVENT_NAMES = [
  '',
  'EXCEPTION_DEBUG_EVENT',
  'CREATE_THREAD_DEBUG_EVENT',
  'CREATE_PROCESS_DEBUG_EVENT',
  'EXIT_THREAD_DEBUG_EVENT',
  'EXIT_PROCESS_DEBUG_EVENT',
  'LOAD_DLL_DEBUG_EVENT',
  'UNLOAD_DLL_DEBUG_EVENT',
  'OUTPUT_DEBUG_STRING_EVENT',
  'RIP_EVENT',
];

/**
 * Reads a legacy full user-mode dump (USERDU64 / USERDUMP, as `.dump /f` and userdump.exe wrote
 * them) into the snapshot model. Only a header too short to read throws; every other part that
 * is cut short or points past the file is a warning, and the rest is still read.
 */
export async function readUserDump(source: ByteSource): Promise<Snapshot> {
  const header = await readUserDumpHeader(source);
  const warnings: string[] = [];
  const cpu = machineCpu(header.machineImageType);
  if (cpu === 'unknown') warnings.push(`${source.name}: ${header.structure}: MachineImageType 0x${header.machineImageType.toString(16)} is no CPU stackhog knows`);

  const { regions, memoryInfo } = await attemptPart(warnings, { regions: [], memoryInfo: [] }, () => readMemoryRegions(source, header, warnings));
  const memory = new SnapshotMemory(source, regions);
  const debugEvent = await attemptPart(warnings, undefined, () => readDebugEvent(source, header));
  const threads = await attemptPart(warnings, [], () => readThreads(source, header, cpu, memory, warnings));
  const modules = await attemptPart(warnings, [], () => readModules(source, header, memory, warnings));
  // A 32-bit program dumped by a 64-bit debugger (WOW64): its x86 contexts and 32-bit TEBs, as in a minidump.
  const wow64 = await attemptPart<Wow64Reading>(warnings, { threads, process: undefined }, () => readWow64(source.name, cpu, memory, modules, threads, warnings));
  const versionStrings = await attemptPart(warnings, [], () => readVersionStrings(source, header, warnings));
  const csd = versionStrings.find(([name]) => name === 'CRASH: OS SP')?.[1];
  // MajorVersion is the OS's; MinorVersion's low word its minor version, the high word its build (10, 0x42ee0000: 10.0.17134).
  const versionParts = { major: header.majorVersion, minor: header.minorVersion & 0xffff, build: header.minorVersion >>> 16, csd: csd === undefined || csd === 'none' ? '' : csd };
  const kuser = await readSharedData(memory, versionParts.major > 6 || (versionParts.major === 6 && versionParts.minor >= 1));
  const system: SystemInfo = {
    cpu,
    os: 'Windows NT',
    osShort: 'windows',
    osVersion: `${versionParts.major}.${versionParts.minor}.${versionParts.build}`,
    ...(csd === undefined ? {} : { csdVersion: versionParts.csd }),
    cpuInfo: '',
    cpuCount: kuser?.activeProcessorCount ?? 0,
    cpuMicrocode: undefined,
    versionParts,
  };
  const userDump: UserDumpInfo = { headerWidth: header.width, header: header.fields, debugEvent: debugEvent?.event, versionStrings };
  return {
    file: source.name,
    format: 'user-dump',
    system,
    modules,
    unloadedModules: [],
    threads: wow64.threads,
    exception: debugEvent?.exception ? { ...debugEvent.exception, context: threads.find((t) => t.id === debugEvent.event.threadId)?.context } : undefined,
    memory,
    memoryInfo,
    process: { processId: debugEvent?.event.processId, createTime: undefined },
    breakpad: undefined,
    crashpad: undefined,
    linux: undefined,
    timeDateStamp: kuser?.systemTime ?? 0,
    warnings,
    userDump,
    ...(wow64.process ? { wow64: wow64.process } : {}),
  };
}

/** Runs one part of the reading; a FormatError becomes a warning and the part's empty value. */
async function attemptPart<T>(warnings: string[], empty: T, part: () => Promise<T>): Promise<T> {
  try {
    return await part();
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    warnings.push(e.message);
    return empty;
  }
}

/** How many `stride`-byte entries of `count` lie inside the file from `offset`. */
function entriesInFile(size: number, offset: number, count: number, stride: number): number {
  return offset >= size ? 0 : Math.min(count, Math.floor((size - offset) / stride));
}

/** "n entries do not fit" in the words of the other readers' warnings, or undefined when all fit. */
function shortfall(source: ByteSource, structure: string, offset: number, count: number, fit: number, what: string): string | undefined {
  if (fit >= count) return undefined;
  return new FormatError(source.name, structure, offset, `${what} ${count} does not fit in the file (0x${source.size.toString(16)} bytes): ${fit} read`).message;
}

function pointer(r: Reader, at: number, width: 32 | 64): bigint {
  return width === 64 ? r.u64(at) : BigInt(r.u32(at));
}

/**
 * MEMORY_BASIC_INFORMATION(32/64) at MemoryRegionOffset, one per region; the regions' bytes follow
 * one another from DataOffset in the same order (in the kdlib dump they end exactly at VersionInfoOffset).
 */
async function readMemoryRegions(source: ByteSource, header: UserDumpHeader, warnings: string[]): Promise<{ regions: MemoryRegion[]; memoryInfo: MemoryInfo[] }> {
  const width = header.width;
  const structure = `MEMORY_BASIC_INFORMATION${width}`;
  const stride = MBI_SIZE[width];
  const count = Math.min(header.memoryRegionCount, MAX_REGIONS);
  if (header.memoryRegionCount > MAX_REGIONS) warnings.push(`${source.name}: ${header.structure}: MemoryRegionCount ${header.memoryRegionCount} is more than stackhog reads; the first ${MAX_REGIONS} are read`);
  const fit = entriesInFile(source.size, header.memoryRegionOffset, count, stride);
  const short = shortfall(source, structure, header.memoryRegionOffset, count, fit, 'MemoryRegionCount');
  if (short) warnings.push(short);
  const regions: MemoryRegion[] = [];
  const memoryInfo: MemoryInfo[] = [];
  if (fit === 0) return { regions, memoryInfo };
  const r = new Reader(await readExact(source, header.memoryRegionOffset, fit * stride, structure), source.name, header.memoryRegionOffset, structure);
  let data = header.dataOffset;
  let dataLost = false;
  for (let i = 0; i < fit; i++) {
    const at = i * stride;
    const base = pointer(r, at, width);
    const info: MemoryInfo =
      width === 64
        ? { base, allocationBase: r.u64(at + 8), allocationProtect: r.u32(at + 0x10), size: r.u64(at + 0x18), state: r.u32(at + 0x20), protect: r.u32(at + 0x24), type: r.u32(at + 0x28) }
        : { base, allocationBase: BigInt(r.u32(at + 4)), allocationProtect: r.u32(at + 8), size: BigInt(r.u32(at + 0xc)), state: r.u32(at + 0x10), protect: r.u32(at + 0x14), type: r.u32(at + 0x18) };
    memoryInfo.push(info);
    if (dataLost) continue;
    if (info.size > BigInt(Number.MAX_SAFE_INTEGER)) {
      warnings.push(r.error(at, `region ${i} at 0x${base.toString(16)} claims 0x${info.size.toString(16)} bytes, more than any file holds: it and the regions after it have no data`).message);
      dataLost = true;
      continue;
    }
    const size = Number(info.size);
    if (data + size > source.size) {
      const kept = Math.max(0, source.size - data);
      warnings.push(
        new FormatError(source.name, 'memory data', Math.min(data, source.size), `region ${i} at 0x${base.toString(16)} (0x${size.toString(16)} bytes) runs past the end of the file: 0x${kept.toString(16)} bytes kept, ${fit - i - 1} later regions have no data`).message,
      );
      if (kept > 0) regions.push({ base, size: kept, fileOffset: data });
      dataLost = true;
      continue;
    }
    if (size > 0) regions.push({ base, size, fileOffset: data });
    data += size;
  }
  if (!dataLost && header.versionInfoOffset > header.dataOffset && header.versionInfoOffset < source.size && data !== header.versionInfoOffset) {
    warnings.push(`${source.name}: memory data: the regions' bytes end at 0x${data.toString(16)}, but VersionInfoOffset is 0x${header.versionInfoOffset.toString(16)}; some regions may be misplaced`);
  }
  if (memoryInfo.some((m) => m.state !== MEM_COMMIT)) {
    warnings.push(`${source.name}: ${structure}: some regions are not committed; their bytes are read as the ones that follow the region before (the layout of such regions is not known)`);
  }
  return { regions, memoryInfo };
}

/** DEBUG_EVENT at DebugEventOffset: the event, and for an exception event its EXCEPTION_RECORD(32/64). */
async function readDebugEvent(source: ByteSource, header: UserDumpHeader): Promise<{ event: UserDebugEvent; exception: ExceptionInfo | undefined } | undefined> {
  const at = header.debugEventOffset;
  if (at === 0) return undefined;
  const width = header.width;
  const structure = `DEBUG_EVENT (${width}-bit)`;
  const size = DEBUG_EVENT_SIZE[width];
  if (at + size > source.size) throw new FormatError(source.name, structure, at, `0x${size.toString(16)} bytes run past the end of the file (0x${source.size.toString(16)} bytes)`);
  const r = new Reader(await readExact(source, at, size, structure), source.name, at, structure);
  const code = r.u32(0);
  const processId = r.u32(4);
  const threadId = r.u32(8);
  const event: UserDebugEvent = { code, codeName: DEBUG_EVENT_NAMES[code] ?? `debug event ${code}`, processId, threadId, firstChance: undefined };
  if (code !== EXCEPTION_DEBUG_EVENT) return { event, exception: undefined };
  // EXCEPTION_DEBUG_INFO: EXCEPTION_RECORD64 at 0x10 (0x98 bytes) or EXCEPTION_RECORD32 at 0xc (0x50), then dwFirstChance.
  const e = width === 64 ? r.sub(0x10, 0x9c, 'EXCEPTION_RECORD64') : r.sub(0xc, 0x54, 'EXCEPTION_RECORD32');
  const declared = width === 64 ? e.u32(0x18) : e.u32(0x10);
  // EXCEPTION_MAXIMUM_PARAMETERS: a larger count is damage; the 15 slots are still read.
  const count = Math.min(declared, 15);
  const parameters: bigint[] = [];
  for (let i = 0; i < count; i++) parameters.push(width === 64 ? e.u64(0x20 + i * 8) : BigInt(e.u32(0x14 + i * 4)));
  const exception: ExceptionInfo = {
    threadId,
    code: e.u32(0),
    flags: e.u32(4),
    address: width === 64 ? e.u64(0x10) : BigInt(e.u32(0xc)),
    parameters,
    // The thread list holds the thread's context at the event; readUserDump fills it in.
    context: undefined,
  };
  return { event: { ...event, firstChance: e.u32(width === 64 ? 0x98 : 0x50) !== 0 }, exception };
}

/**
 * The threads: ThreadCount CONTEXT records at ThreadOffset, and as many CRASH_THREAD(32/64) at
 * ThreadStateOffset giving each its id, suspend count, priority and TEB.
 */
async function readThreads(source: ByteSource, header: UserDumpHeader, cpu: Cpu, memory: SnapshotMemory, warnings: string[]): Promise<Thread[]> {
  const width = header.width;
  const count = Math.min(header.threadCount, MAX_THREADS);
  if (header.threadCount > MAX_THREADS) warnings.push(`${source.name}: ${header.structure}: ThreadCount ${header.threadCount} is more than stackhog reads; the first ${MAX_THREADS} are read`);
  const stateStructure = `CRASH_THREAD${width}`;
  const stateSize = CRASH_THREAD_SIZE[width];
  const states = entriesInFile(source.size, header.threadStateOffset, count, stateSize);
  const contextSize = CONTEXT_SIZE[cpu];
  const contexts = contextSize ? entriesInFile(source.size, header.threadOffset, count, contextSize) : 0;
  const stateShort = shortfall(source, stateStructure, header.threadStateOffset, count, states, 'ThreadCount');
  if (stateShort) warnings.push(`${stateShort}; the threads after them are named by their index`);
  if (!contextSize) warnings.push(`${source.name}: CONTEXT: the thread contexts of a ${cpu} dump are not read`);
  else {
    const contextShort = shortfall(source, 'CONTEXT', header.threadOffset, count, contexts, 'ThreadCount');
    if (contextShort) warnings.push(`${contextShort}; the threads after them have no registers`);
    if (header.threadStateOffset > header.threadOffset && header.threadStateOffset - header.threadOffset !== count * contextSize && contexts === count) {
      warnings.push(`${source.name}: CONTEXT: ${count} contexts of 0x${contextSize.toString(16)} bytes at 0x${header.threadOffset.toString(16)} do not end where the thread states begin (0x${header.threadStateOffset.toString(16)})`);
    }
  }
  const threads: Thread[] = [];
  for (let i = 0; i < Math.max(states, contexts); i++) {
    let context: CpuContext | undefined;
    if (contextSize && i < contexts) {
      const at = header.threadOffset + i * contextSize;
      try {
        context = parseContext(new Reader(await readExact(source, at, contextSize, 'CONTEXT'), source.name, at, `CONTEXT of thread ${i}`), cpu);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        warnings.push(e.message);
      }
    }
    let id = i;
    let suspendCount = 0;
    let priority = 0;
    let teb = 0n;
    if (i < states) {
      const at = header.threadStateOffset + i * stateSize;
      const r = new Reader(await readExact(source, at, stateSize, stateStructure), source.name, at, stateStructure);
      id = r.u32(0);
      suspendCount = r.u32(4);
      priority = r.u32(0xc);
      teb = pointer(r, 0x10, width);
    }
    const stack = context ? await threadStack(memory, teb, context, width) : undefined;
    threads.push({ id, name: undefined, context, stack, teb, suspendCount, priority, startAddress: undefined });
  }
  return threads;
}

/** The stack from sp to NT_TIB.StackBase when the TEB is captured and sp lies within its bounds; else from sp. */
async function threadStack(memory: SnapshotMemory, teb: bigint, context: CpuContext, width: 32 | 64): Promise<ThreadStack | undefined> {
  const sp = context.registers.get(specialRegisters(context.cpu).sp);
  if (sp === undefined || sp === 0n) return undefined;
  // A WoW64 thread's x86 context in a 64-bit dump still has the 64-bit TEB's NT_TIB64.
  const bytes = width === 64 ? 8 : 4;
  const base = sp & ~BigInt(pointerWidth(context.cpu) - 1);
  const tib = teb === 0n ? undefined : await memory.read(teb, bytes * 3);
  if (tib) {
    const view = new DataView(tib.buffer, tib.byteOffset, tib.byteLength);
    const word = (i: number): bigint => (bytes === 8 ? view.getBigUint64(i * 8, true) : BigInt(view.getUint32(i * 4, true)));
    // NT_TIB: ExceptionList, StackBase, StackLimit.
    const stackBase = word(1);
    const stackLimit = word(2);
    if (stackLimit <= base && base < stackBase && stackBase - base <= BigInt(MAX_STACK)) return { base, size: Number(stackBase - base), fileOffset: undefined };
  }
  return { base, size: FALLBACK_STACK, fileOffset: undefined };
}

/**
 * CRASH_MODULE(32/64) records at ModuleOffset, each BaseOfImage, SizeOfImage, ImageNameLength and
 * the name (counting its NUL); TimeDateStamp, SizeOfImage and the PDB come from the image in memory.
 */
async function readModules(source: ByteSource, header: UserDumpHeader, memory: SnapshotMemory, warnings: string[]): Promise<Module[]> {
  const width = header.width;
  const structure = `CRASH_MODULE${width}`;
  const fixed = width === 64 ? 0x10 : 0xc;
  const count = Math.min(header.moduleCount, MAX_MODULES);
  if (header.moduleCount > MAX_MODULES) warnings.push(`${source.name}: ${header.structure}: ModuleCount ${header.moduleCount} is more than stackhog reads; the first ${MAX_MODULES} are read`);
  const modules: Module[] = [];
  let at = header.moduleOffset;
  for (let i = 0; i < count; i++) {
    if (at + fixed > source.size) {
      warnings.push(new FormatError(source.name, structure, Math.min(at, source.size), `module ${i} of ModuleCount ${header.moduleCount} runs past the end of the file: ${modules.length} read`).message);
      break;
    }
    const r = new Reader(await readExact(source, at, fixed, structure), source.name, at, structure);
    const base = pointer(r, 0, width);
    const listedSize = r.u32(fixed - 8);
    const nameLength = r.u32(fixed - 4);
    if (nameLength > MAX_NAME || at + fixed + nameLength > source.size) {
      warnings.push(r.error(fixed - 4, `module ${i}: ImageNameLength ${nameLength} runs past the end of the file or is no name's length: ${modules.length} modules read`).message);
      break;
    }
    const name = cString(await readExact(source, at + fixed, nameLength, `${structure} ImageName`));
    const facts = await imageFactsInMemory(memory, base, listedSize);
    const timeDateStamp = facts?.timeDateStamp ?? 0;
    const size = facts?.sizeOfImage || listedSize;
    modules.push({
      base,
      size,
      codeFile: name,
      codeId: `${timeDateStamp.toString(16).toUpperCase().padStart(8, '0')}${size.toString(16)}`,
      debugFile: facts?.codeView?.debugFile ?? '',
      debugId: facts?.codeView?.debugId ?? '',
      version: undefined,
      timeDateStamp,
      checksum: 0,
    });
    at += fixed + nameLength;
  }
  return modules;
}

/** UTF-16 strings at VersionInfoOffset, name then value, up to an empty one ("CRASH: OS SP", "none", ...). */
async function readVersionStrings(source: ByteSource, header: UserDumpHeader, warnings: string[]): Promise<(readonly [string, string])[]> {
  const at = header.versionInfoOffset;
  if (at === 0 || at >= source.size) {
    if (at !== 0) throw new FormatError(source.name, 'version info', at, `VersionInfoOffset is past the end of the file (0x${source.size.toString(16)} bytes)`);
    return [];
  }
  const bytes = await readExact(source, at, Math.min(MAX_VERSION_INFO, source.size - at), 'version info');
  const strings: string[] = [];
  let ended = false;
  for (let i = 0; i + 1 < bytes.length; ) {
    const s = utf16le(bytes.subarray(i));
    if (s === '') {
      ended = true;
      break;
    }
    strings.push(s);
    i += (s.length + 1) * 2;
  }
  if (!ended) warnings.push(new FormatError(source.name, 'version info', at, `no empty string ends the strings in the 0x${bytes.length.toString(16)} bytes read: the last may be cut short`).message);
  const pairs: (readonly [string, string])[] = [];
  for (let i = 0; i + 1 < strings.length; i += 2) pairs.push([strings[i]!, strings[i + 1]!]);
  return pairs;
}

/**
 * KUSER_SHARED_DATA.SystemTime (0x14, a KSYSTEM_TIME) and, from Windows 7 on, ActiveProcessorCount
 * (0x3c0), when the dump holds that page.
 */
async function readSharedData(memory: SnapshotMemory, hasProcessorCount: boolean): Promise<{ systemTime: number | undefined; activeProcessorCount: number | undefined } | undefined> {
  const page = await memory.read(KUSER_SHARED_DATA, 0x3c4);
  if (!page) return undefined;
  const r = new Reader(page, 'memory', 0, 'KUSER_SHARED_DATA');
  // KSYSTEM_TIME: LowPart, High1Time, High2Time; the two highs differ only while the kernel updates it.
  const high = r.u32(0x18);
  const fileTime = high === r.u32(0x1c) ? (BigInt(high) << 32n) | BigInt(r.u32(0x14)) : 0n;
  const seconds = fileTime / 10_000_000n - 11_644_473_600n;
  const processors = hasProcessorCount ? r.u32(0x3c0) : 0;
  return {
    systemTime: seconds > 0n && seconds < 1n << 40n ? Number(seconds) : undefined,
    activeProcessorCount: processors > 0 && processors <= 4096 ? processors : undefined,
  };
}
