import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader, utf16le } from '../../io/reader.js';
import { baseBugcheckCode, bugcheckStatePointers } from '../../model/bugcheck-state.js';
import { specialRegisters, type Cpu, type CpuContext } from '../../model/cpu.js';
import type { KernelDebuggerData, KernelInfo, KernelProcessor, KernelThreadInfo } from '../../model/kernel.js';
import type { ExceptionInfo, Module, Snapshot, Thread } from '../../model/snapshot.js';
// A kernel dump's CONTEXT is the same Windows structure a minidump stores.
import { parseContext } from '../minidump/context.js';
import { imageFactsInMemory } from '../pe/memory-facts.js';
import { dumpTypeName, fieldBig, fieldNum, machineCpu, readDumpHeader, type DumpHeader } from './header.js';
import { readPhysicalMemory } from './physical.js';
import { readTriage, type TriageDump } from './triage.js';
import { KernelVirtualMemory, type DirectRegion, type PagingMode } from './virtual-memory.js';

/** CONTEXT sizes per CPU (without extended state). */
const CONTEXT_SIZE: Partial<Record<Cpu, number>> = { x86: 0x2cc, amd64: 0x4d0, arm64: 0x390, arm: 0x1a0 };
/** At most this many loaded modules are followed in PsLoadedModuleList (a real system has a few hundred). */
const MAX_MODULES = 4096;
const MAX_PROCESSORS = 2048;

/** Reads a Windows kernel crash dump (PAGEDU64 / PAGEDUMP) into the snapshot model. */
export async function readKernelDump(source: ByteSource): Promise<Snapshot> {
  const header = await readDumpHeader(source);
  const h = header.fields;
  const warnings: string[] = [];
  const unread: string[] = [];
  const cpu = machineCpu(fieldNum(h, 'MachineImageType'));
  if (cpu === 'unknown') warnings.push(`${source.name}: DUMP_HEADER: MachineImageType 0x${(fieldNum(h, 'MachineImageType') ?? 0).toString(16)} is no CPU stackhog knows`);
  const width = header.width;
  const dumpType = fieldNum(h, 'DumpType');
  const code = fieldNum(h, 'BugCheckCode') ?? 0;
  const parameters = [1, 2, 3, 4].map((i) => fieldBig(h, `BugCheckParameter${i}`) ?? 0n);

  let triage: TriageDump | undefined;
  let triageStack: Thread['stack'];
  const direct: DirectRegion[] = [];
  if (dumpType === 4) {
    try {
      triage = await readTriage(source, width);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      warnings.push(`${e.message}: the small dump's own structures are unreadable; showing what the header holds`);
      unread.push('the small dump (TRIAGE_DUMP) structures');
    }
  }
  if (triage) {
    warnings.push(...triage.warnings);
    const t = triage.fields;
    const top = fieldBig(t, 'TopOfStack');
    const callStack = fieldNum(t, 'CallStackOffset');
    const callStackSize = fieldNum(t, 'SizeOfCallStack') ?? 0;
    if (top !== undefined && callStackSize > 0) {
      const inFile = callStack !== undefined && addDirect(direct, source, top, callStackSize, callStack, 'call stack', warnings);
      triageStack = { base: top, size: callStackSize, fileOffset: inFile ? callStack : undefined };
    }
    const kdbg = fieldBig(h, 'KdDebuggerDataBlock');
    const kdbgOffset = fieldNum(t, 'DebuggerDataOffset');
    if (kdbg !== undefined && kdbgOffset) addDirect(direct, source, kdbg, fieldNum(t, 'DebuggerDataSize') ?? 0, kdbgOffset, 'debugger data', warnings);
    const page = fieldBig(t, 'DataPageAddress');
    const pageOffset = fieldNum(t, 'DataPageOffset');
    if (page && pageOffset) addDirect(direct, source, page, fieldNum(t, 'DataPageSize') ?? 0, pageOffset, 'data page', warnings);
    for (const b of triage.blocks) direct.push({ base: b.address, size: b.size, fileOffset: b.fileOffset });
  }

  let physical;
  try {
    physical = await readPhysicalMemory(source, header, dumpType);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    warnings.push(`${e.message}: physical memory is unreadable; showing what the header holds`);
    unread.push(`physical memory (${dumpTypeName(dumpType)})`);
  }
  if (physical) warnings.push(...physical.warnings);
  if (dumpType !== undefined && ![1, 2, 4, 5, 6, 7, 8, 9, 10].includes(dumpType)) unread.push(`memory of ${dumpTypeName(dumpType)}`);
  const paging: PagingMode = cpu === 'amd64' ? 'amd64' : cpu === 'arm64' ? 'arm64' : cpu === 'x86' ? (fieldNum(h, 'PaeEnabled') ? 'x86-pae' : 'x86') : 'none';
  if (cpu === 'arm' && physical) unread.push('ARM32 page tables (virtual memory of a 32-bit ARM kernel dump)');
  const memory = new KernelVirtualMemory(source, physical, paging, fieldBig(h, 'DirectoryTableBase') ?? 0n, direct);

  const headerCtx = await headerContext(header, cpu, warnings);
  const debuggerData = await readDebuggerData(memory, fieldBig(h, 'KdDebuggerDataBlock'), width, warnings);

  // Drivers: the small dump's own list, else PsLoadedModuleList in memory.
  let modules: Module[];
  if (triage) {
    modules = triage.drivers.map((d) => driverModule(d.name, d.base, d.size, d.timeDateStamp, d.checksum));
  } else {
    const head = fieldBig(h, 'PsLoadedModuleList') ?? debuggerData?.psLoadedModuleList;
    modules = head === undefined ? [] : await walkLoadedModules(memory, head, width, warnings);
    if (head === undefined) unread.push('the loaded module list (no PsLoadedModuleList)');
  }

  const processors = await readProcessors(memory, debuggerData, fieldNum(h, 'NumberProcessors') ?? 0, width, cpu, warnings);
  const crashingThread = await readCrashingThread(source, memory, triage, debuggerData, processors, headerCtx, width, warnings);
  const exception = await bugcheckException(memory, code, parameters, width, cpu, warnings);
  // The processor that bugchecked runs the crashing thread; its saved context is where KeBugCheckEx was called.
  let bugcheckProcessor = crashingThread?.kthread === undefined ? undefined : processors.findIndex((p) => p.currentThread === crashingThread.kthread);
  if ((bugcheckProcessor === undefined || bugcheckProcessor < 0) && triage) bugcheckProcessor = await triageProcessorNumber(source, triage, debuggerData);
  // A processor number the processor list does not have (a damaged PRCB copy) names no processor.
  if (bugcheckProcessor !== undefined && (bugcheckProcessor < 0 || bugcheckProcessor >= processors.length)) bugcheckProcessor = undefined;
  const bugcheckContext = bugcheckProcessor !== undefined ? processors[bugcheckProcessor]!.context : undefined;
  const context = bugcheckContext ?? headerCtx;

  // The crashing thread, with its kernel stack: the small dump's call-stack copy, else KTHREAD's range.
  const sp = context?.registers.get(specialRegisters(cpu).sp);
  let stack: Thread['stack'] = triageStack;
  if (!triage && sp !== undefined) {
    const end = crashingThread?.stackBase ?? crashingThread?.initialStack;
    const base = sp & ~0xfn;
    const size = end !== undefined && end > base && end - base < 0x1000000n ? Number(end - base) : 0x10000;
    stack = { base, size, fileOffset: undefined };
  }
  const stackBounds =
    crashingThread?.stackBase !== undefined && crashingThread.stackLimit !== undefined && crashingThread.stackLimit < crashingThread.stackBase
      ? { base: crashingThread.stackBase, limit: crashingThread.stackLimit, source: 'kthread' as const }
      : undefined;
  const threads: Thread[] = [
    { id: 0, name: 'bugcheck thread', context, stack, teb: 0n, suspendCount: 0, priority: 0, startAddress: undefined, ...(stackBounds ? { stackBounds } : {}) },
  ];

  const kernel: KernelInfo = {
    dumpType: dumpType ?? 0,
    dumpTypeName: dumpTypeName(dumpType),
    headerWidth: width,
    header: h,
    triage: triage?.fields,
    memoryHeader: physical?.fields,
    bugcheck: { code, parameters },
    majorVersion: fieldNum(h, 'MajorVersion') ?? 0,
    buildNumber: fieldNum(h, 'MinorVersion') ?? 0,
    processors,
    headerContext: headerCtx,
    bugcheckProcessor,
    debuggerData,
    crashingThread,
    process: await readProcess(source, memory, triage, debuggerData, crashingThread, cpu, width, kernelBuild(h)),
    unloadedDrivers: triage?.unloaded ?? [],
    physicalPages: physical?.pageCount,
    unread,
  };
  const systemTime = fieldBig(h, 'SystemTime');
  return {
    file: source.name,
    format: 'kernel-dump',
    system: {
      cpu,
      os: 'Windows NT',
      osShort: 'windows',
      osVersion: `10.0.${kernel.buildNumber}`,
      cpuInfo: '',
      cpuCount: fieldNum(h, 'NumberProcessors') ?? 0,
      cpuMicrocode: undefined,
    },
    modules,
    unloadedModules: (triage?.unloaded ?? []).map((u) => ({ base: u.start, size: Number(u.end > u.start && u.end - u.start < 0x100000000n ? u.end - u.start : 0n), codeFile: u.name, codeId: '' })),
    threads,
    exception,
    memory,
    memoryInfo: [],
    process: { processId: undefined, createTime: undefined },
    breakpad: undefined,
    crashpad: undefined,
    linux: undefined,
    timeDateStamp: systemTime ? fileTimeToUnix(systemTime) : 0,
    warnings,
    kernel,
  };
}

/** Adds memory the small dump holds at a file offset; false (with a warning) when it runs past the file. */
function addDirect(out: DirectRegion[], source: ByteSource, base: bigint, size: number, fileOffset: number, what: string, warnings: string[]): boolean {
  if (fileOffset + size > source.size) {
    warnings.push(`${source.name}: TRIAGE_DUMP: the ${what} (0x${size.toString(16)} bytes at 0x${fileOffset.toString(16)}) runs past the end of the file; skipped`);
    return false;
  }
  out.push({ base, size, fileOffset });
  return true;
}

function driverModule(name: string, base: bigint, size: number, timeDateStamp: number, checksum: number): Module {
  return {
    base,
    size,
    codeFile: name,
    codeId: `${timeDateStamp.toString(16).toUpperCase().padStart(8, '0')}${size.toString(16)}`,
    debugFile: '',
    debugId: '',
    version: undefined,
    timeDateStamp,
    checksum,
  };
}

/** FILETIME (100 ns since 1601) to seconds since 1970. */
function fileTimeToUnix(t: bigint): number {
  const s = t / 10_000_000n - 11_644_473_600n;
  return s > 0n && s < 1n << 40n ? Number(s) : 0;
}

async function headerContext(header: DumpHeader, cpu: Cpu, warnings: string[]): Promise<CpuContext | undefined> {
  const size = CONTEXT_SIZE[cpu];
  if (!size || size > header.contextRecordSize) return undefined;
  return decodeContext(header.reader.sub(header.contextRecord, size, 'DUMP_HEADER ContextRecord'), cpu, warnings);
}

function decodeContext(r: Reader, cpu: Cpu, warnings: string[]): CpuContext | undefined {
  try {
    if (cpu === 'arm') return armContext(r);
    const context = parseContext(r, cpu);
    if (cpu !== 'amd64') return context;
    // MxCsr at 0x34, as WinDbg's `r` shows it.
    const registers = new Map(context.registers);
    registers.set('mxcsr', BigInt(r.u32(0x34)));
    return { cpu, registers };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    warnings.push(e.message);
    return undefined;
  }
}

/** Windows ARM CONTEXT (flags 0x200000): R0-R12 at 4, Sp 0x38, Lr 0x3c, Pc 0x40, Cpsr 0x44. */
function armContext(r: Reader): CpuContext {
  r.check(0, 0x48, 'ARM CONTEXT');
  const registers = new Map<string, bigint>();
  for (let i = 0; i < 16; i++) registers.set(i === 13 ? 'sp' : i === 14 ? 'lr' : i === 15 ? 'pc' : `r${i}`, BigInt(r.u32(4 + i * 4)));
  registers.set('cpsr', BigInt(r.u32(0x44)));
  return { cpu: 'arm', registers };
}

async function readPointer(memory: KernelVirtualMemory, va: bigint, width: 32 | 64): Promise<bigint | undefined> {
  const bytes = await memory.read(va, width / 8);
  if (!bytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return width === 64 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
}

// KDDEBUGGER_DATA64 (wdbgexts.h): the same 64-bit layout on 32- and 64-bit kernels.
const KDBG_U16: readonly [string, number][] = [
  ['OffsetKThreadNextProcessor', 0x298],
  ['OffsetKThreadTeb', 0x29a],
  ['OffsetKThreadKernelStack', 0x29c],
  ['OffsetKThreadInitialStack', 0x29e],
  ['OffsetKThreadApcProcess', 0x2a0],
  ['OffsetKThreadState', 0x2a2],
  ['SizeEProcess', 0x2a8],
  ['OffsetEprocessPeb', 0x2aa],
  ['OffsetEprocessParentCID', 0x2ac],
  ['OffsetEprocessDirectoryTableBase', 0x2ae],
  ['SizePrcb', 0x2b0],
  ['OffsetPrcbDpcRoutine', 0x2b2],
  ['OffsetPrcbCurrentThread', 0x2b4],
  ['OffsetPrcbMhz', 0x2b6],
  ['OffsetPrcbCpuType', 0x2b8],
  ['OffsetPrcbVendorString', 0x2ba],
  ['OffsetPrcbProcStateContext', 0x2bc],
  ['OffsetPrcbNumber', 0x2be],
  ['SizeEThread', 0x2c0],
  ['OffsetPrcbContext', 0x338],
];
const KDBG_U32: readonly [string, number][] = [
  ['OffsetKThreadStackLimit', 0x340],
  ['OffsetKThreadStackBase', 0x344],
];

async function readDebuggerData(memory: KernelVirtualMemory, address: bigint | undefined, width: 32 | 64, warnings: string[]): Promise<KernelDebuggerData | undefined> {
  if (address === undefined || address === 0n) return undefined;
  const head = await memory.read(address, 0x18);
  if (!head) {
    return { address, size: 0, encoded: false, kernBase: undefined, psLoadedModuleList: undefined, kiProcessorBlock: undefined, offsets: {}, note: 'the debugger data block is not in the dump' };
  }
  const tag = String.fromCharCode(...head.subarray(0x10, 0x14));
  const size = new DataView(head.buffer, head.byteOffset).getUint32(0x14, true);
  if (tag !== 'KDBG') {
    // Windows 8+ keeps it encoded (KdpDataBlockEncoded) with KiWaitNever/KiWaitAlways, which only ntoskrnl's symbols locate.
    return {
      address,
      size: 0,
      encoded: true,
      kernBase: undefined,
      psLoadedModuleList: undefined,
      kiProcessorBlock: undefined,
      offsets: {},
      note: 'the debugger data block is encoded (KdpDataBlockEncoded); decoding needs KiWaitNever, KiWaitAlways and KdpDataBlockEncoded from ntoskrnl symbols, which stackhog does not have',
    };
  }
  const length = Math.min(Math.max(size, 0x18), 0x1000);
  const bytes = (await memory.read(address, length)) ?? (await memory.loadRange(address, length))?.bytes ?? head;
  const r = new Reader(bytes, 'memory', 0, 'KDDEBUGGER_DATA64');
  const u64 = (at: number): bigint | undefined => (at + 8 <= r.length ? r.u64(at) : undefined);
  const ptr = (at: number): bigint | undefined => {
    const v = u64(at);
    return v === undefined ? undefined : width === 32 ? v & 0xffffffffn : v;
  };
  const offsets: Record<string, number> = {};
  for (const [name, at] of KDBG_U16) if (at + 2 <= Math.min(r.length, size)) offsets[name] = r.u16(at);
  for (const [name, at] of KDBG_U32) if (at + 4 <= Math.min(r.length, size)) offsets[name] = r.u32(at);
  if (bytes.length < size) warnings.push(`KDDEBUGGER_DATA64 at 0x${address.toString(16)}: only 0x${bytes.length.toString(16)} of 0x${size.toString(16)} bytes are in the dump`);
  return { address, size, encoded: false, kernBase: ptr(0x18), psLoadedModuleList: ptr(0x48), kiProcessorBlock: ptr(0x218), offsets, note: undefined };
}

async function readString(memory: KernelVirtualMemory, va: bigint, width: 32 | 64): Promise<string | undefined> {
  // UNICODE_STRING: Length (bytes), MaximumLength, then the buffer pointer (aligned).
  const head = await memory.read(va, width === 64 ? 16 : 8);
  if (!head) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const length = Math.min(view.getUint16(0, true), 1024);
  const buffer = width === 64 ? view.getBigUint64(8, true) : BigInt(view.getUint32(4, true));
  if (length === 0 || buffer === 0n) return undefined;
  const bytes = await memory.read(buffer, length & ~1);
  return bytes ? utf16le(bytes) : undefined;
}

/** Follows PsLoadedModuleList (KLDR_DATA_TABLE_ENTRY by InLoadOrderLinks), bounded and cycle-safe. */
async function walkLoadedModules(memory: KernelVirtualMemory, head: bigint, width: 32 | 64, warnings: string[]): Promise<Module[]> {
  const modules: Module[] = [];
  const seen = new Set<bigint>([head]);
  // KLDR_DATA_TABLE_ENTRY: DllBase, SizeOfImage, FullDllName, BaseDllName, CheckSum, TimeDateStamp.
  const o = width === 64 ? { base: 0x30, size: 0x40, full: 0x48, name: 0x58, checksum: 0x78 } : { base: 0x18, size: 0x20, full: 0x24, name: 0x2c, checksum: 0x40 };
  let entry = await readPointer(memory, head, width);
  while (entry !== undefined && entry !== head && modules.length < MAX_MODULES) {
    if (seen.has(entry)) {
      warnings.push(`PsLoadedModuleList: the list loops back to 0x${entry.toString(16)} after ${modules.length} modules; stopped there`);
      break;
    }
    seen.add(entry);
    const bytes = await memory.read(entry, o.checksum + 4);
    if (!bytes) {
      warnings.push(`PsLoadedModuleList: the entry at 0x${entry.toString(16)} is not in the dump; ${modules.length} modules read`);
      break;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const base = width === 64 ? view.getBigUint64(o.base, true) : BigInt(view.getUint32(o.base, true));
    let size = view.getUint32(o.size, true);
    const name = (await readString(memory, entry + BigInt(o.full), width)) ?? (await readString(memory, entry + BigInt(o.name), width)) ?? `module_${base.toString(16)}`;
    const checksum = view.getUint32(o.checksum, true);
    // TimeDateStamp and SizeOfImage from the image's own PE header when it is in memory, so symbol stores match.
    let timeDateStamp = 0;
    const pe = await imageFactsInMemory(memory, base, size);
    if (pe) {
      timeDateStamp = pe.timeDateStamp;
      size = pe.sizeOfImage || size;
    }
    const module = driverModule(name, base, size, timeDateStamp, checksum);
    modules.push(pe?.codeView ? { ...module, debugFile: pe.codeView.debugFile, debugId: pe.codeView.debugId } : module);
    entry = width === 64 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
  }
  if (modules.length >= MAX_MODULES) warnings.push(`PsLoadedModuleList: stopped after ${MAX_MODULES} modules`);
  return modules;
}

async function readProcessors(
  memory: KernelVirtualMemory,
  kdbg: KernelDebuggerData | undefined,
  count: number,
  width: 32 | 64,
  cpu: Cpu,
  warnings: string[],
): Promise<KernelProcessor[]> {
  const out: KernelProcessor[] = [];
  const n = Math.min(count, MAX_PROCESSORS);
  const block = kdbg?.kiProcessorBlock;
  const current = kdbg?.offsets['OffsetPrcbCurrentThread'];
  const state = kdbg?.offsets['OffsetPrcbProcStateContext'];
  const contextPointer = kdbg?.offsets['OffsetPrcbContext'];
  const size = CONTEXT_SIZE[cpu];
  for (let i = 0; i < n; i++) {
    const prcb = block ? await readPointer(memory, block + BigInt((i * width) / 8), width) : undefined;
    const currentThread = prcb && current !== undefined ? await readPointer(memory, prcb + BigInt(current), width) : undefined;
    // KPRCB.Context points at the CONTEXT KeBugCheckEx saved; ProcessorState.ContextFrame is filled on a debugger break.
    let context: CpuContext | undefined;
    if (prcb && size) {
      const saved = contextPointer ? await readPointer(memory, prcb + BigInt(contextPointer), width) : undefined;
      for (const at of [saved, state !== undefined ? prcb + BigInt(state) : undefined]) {
        if (!at || context) continue;
        const bytes = await memory.read(at, size);
        const decoded = bytes ? decodeContext(new Reader(bytes, 'memory', 0, `KPRCB ${i} context`), cpu, warnings) : undefined;
        const ip = decoded?.registers.get(specialRegisters(cpu).ip);
        if (decoded && ip) context = decoded;
      }
    }
    out.push({ index: i, prcb, currentThread, context });
  }
  return out;
}

/** The processor whose saved context is the header's (same stack and instruction pointer), else -1. */
function bugcheckingProcessor(processors: readonly KernelProcessor[], header: CpuContext | undefined): number {
  if (!header) return -1;
  const { ip, sp } = specialRegisters(header.cpu);
  const key = (c: CpuContext): string => `${c.registers.get(sp)},${c.registers.get(ip)}`;
  const wanted = key(header);
  return processors.findIndex((p) => p.context !== undefined && key(p.context) === wanted);
}

async function readCrashingThread(
  source: ByteSource,
  memory: KernelVirtualMemory,
  triage: TriageDump | undefined,
  kdbg: KernelDebuggerData | undefined,
  processors: readonly KernelProcessor[],
  headerContext: CpuContext | undefined,
  width: 32 | 64,
  warnings: string[],
): Promise<KernelThreadInfo | undefined> {
  const offs = kdbg?.offsets ?? {};
  let readField: (offset: number) => Promise<bigint | undefined> = () => Promise.resolve(undefined);
  let kthread: bigint | undefined;
  const size = width / 8;
  if (triage) {
    // The small dump keeps a copy of the ETHREAD (KTHREAD first) at ThreadOffset, and the PRCB at PrcbOffset.
    const at = fieldNum(triage.fields, 'ThreadOffset');
    if (at) {
      readField = async (o) => {
        if (at + o + size > source.size) return undefined;
        const r = new Reader(await readExact(source, at + o, size, 'TRIAGE ETHREAD copy'), source.name, at + o, 'KTHREAD');
        return width === 64 ? r.u64(0) : BigInt(r.u32(0));
      };
    }
    const prcbAt = fieldNum(triage.fields, 'PrcbOffset');
    const current = offs['OffsetPrcbCurrentThread'];
    if (prcbAt && current !== undefined && prcbAt + current + size <= source.size) {
      const p = new Reader(await readExact(source, prcbAt + current, size, 'TRIAGE PRCB copy'), source.name, prcbAt + current, 'KPRCB CurrentThread');
      kthread = width === 64 ? p.u64(0) : BigInt(p.u32(0));
    }
  } else {
    // Every processor runs a thread (an idle thread at least): the bugchecking one saved the header's context.
    kthread = (processors[bugcheckingProcessor(processors, headerContext)] ?? processors.find((p) => p.currentThread))?.currentThread;
    const base = kthread;
    if (base) readField = (o) => readPointer(memory, base + BigInt(o), width);
  }
  if (!kdbg || kdbg.encoded) {
    if (triage) warnings.push("the crashing thread's KTHREAD offsets are unknown (no debugger data block): its kernel stack bounds are unknown");
    return kthread ? { kthread, initialStack: undefined, stackBase: undefined, stackLimit: undefined, kernelStack: undefined } : undefined;
  }
  // Each field on its own, so one bad offset loses only its own field.
  const at = async (name: string): Promise<bigint | undefined> => {
    const o = offs[name];
    const value = o === undefined || o === 0 || o > 0x10000 ? undefined : await readField(o);
    if (value === undefined && o !== undefined && o !== 0) warnings.push(`the crashing thread's KTHREAD field at ${name} +0x${o.toString(16)} could not be read`);
    return value;
  };
  return {
    kthread,
    initialStack: await at('OffsetKThreadInitialStack'),
    stackLimit: await at('OffsetKThreadStackLimit'),
    stackBase: await at('OffsetKThreadStackBase'),
    kernelStack: await at('OffsetKThreadKernelStack'),
  };
}

/** A small dump's PRCB copy names its processor (KPRCB.Number, its low byte read: fewer than 256 processors). */
async function triageProcessorNumber(source: ByteSource, triage: TriageDump, kdbg: KernelDebuggerData | undefined): Promise<number | undefined> {
  const at = fieldNum(triage.fields, 'PrcbOffset');
  const number = kdbg?.offsets['OffsetPrcbNumber'];
  if (!at || number === undefined || at + number + 1 > source.size) return undefined;
  return (await readExact(source, at + number, 1, 'TRIAGE PRCB copy'))[0];
}

function kernelBuild(h: readonly { name: string; value: unknown }[]): number {
  const v = h.find((f) => f.name === 'MinorVersion')?.value;
  return typeof v === 'number' ? v : 0;
}

// EPROCESS.ImageFileName (UCHAR[15]) per CPU and build, newest first, as the public symbol dumps of
// each Windows release give it. A candidate is used only when it reads as a process name.
const IMAGE_FILE_NAME: Partial<Record<Cpu, readonly (readonly [minBuild: number, offset: number])[]>> = {
  amd64: [
    [19041, 0x5a8],
    [10240, 0x450],
    [9200, 0x438],
    [7600, 0x2e0],
  ],
  x86: [
    [19041, 0x17c],
    [10240, 0x174],
    [9200, 0x170],
    [7600, 0x16c],
    [3790, 0x164],
    [2600, 0x174],
  ],
  arm64: [
    [19041, 0x5a8],
    [17134, 0x3f8],
  ],
};

/** The crashing thread's process (EPROCESS) and its image name, where the build's layout is known. */
async function readProcess(
  source: ByteSource,
  memory: KernelVirtualMemory,
  triage: TriageDump | undefined,
  kdbg: KernelDebuggerData | undefined,
  thread: KernelThreadInfo | undefined,
  cpu: Cpu,
  width: 32 | 64,
  build: number,
): Promise<KernelInfo['process']> {
  const table = IMAGE_FILE_NAME[cpu];
  const entry = table?.find(([min]) => build >= min);
  let eprocess: bigint | undefined;
  let bytes: Uint8Array | undefined;
  if (triage) {
    const at = fieldNum(triage.fields, 'ProcessOffset');
    if (at && entry && at + entry[1] + 16 <= source.size) bytes = await readExact(source, at + entry[1], 16, 'TRIAGE EPROCESS copy');
  } else if (thread?.kthread !== undefined && kdbg?.offsets['OffsetKThreadApcProcess'] !== undefined) {
    // KTHREAD.ApcState.Process: the process the thread is attached to.
    eprocess = await readPointer(memory, thread.kthread + BigInt(kdbg.offsets['OffsetKThreadApcProcess']), width);
    if (eprocess && entry) bytes = await memory.read(eprocess + BigInt(entry[1]), 16);
  }
  const name = bytes ? processName(bytes) : undefined;
  if (eprocess === undefined && name === undefined) return undefined;
  return { eprocess: eprocess ?? 0n, imageName: name };
}

function processName(bytes: Uint8Array): string | undefined {
  const end = bytes.indexOf(0);
  const text = String.fromCharCode(...bytes.subarray(0, end < 0 ? 15 : Math.min(end, 15)));
  return /^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,14}$/.test(text) ? text : undefined;
}

/**
 * The exception the bugcheck is about: its record and context where the parameters point at them
 * (WinDbg's `.exr`/`.cxr`/`.trap`), or the fields 0x1E carries itself.
 */
async function bugcheckException(
  memory: KernelVirtualMemory,
  code: number,
  parameters: readonly bigint[],
  width: 32 | 64,
  cpu: Cpu,
  warnings: string[],
): Promise<ExceptionInfo | undefined> {
  const base = baseBugcheckCode(code);
  const narrow = (v: bigint): number => Number(v & 0xffffffffn);
  if (base === 0x1e) {
    return { threadId: 0, code: narrow(parameters[0] ?? 0n), flags: 0, address: parameters[1] ?? 0n, parameters: [parameters[2] ?? 0n, parameters[3] ?? 0n], context: undefined };
  }
  const pointers = bugcheckStatePointers(code);
  if (pointers.length === 0) return undefined;
  let exception: { code: number; flags: number; address: bigint; parameters: bigint[] } | undefined;
  let context: CpuContext | undefined;
  let contextSource: string | undefined;
  for (const p of pointers) {
    const address = parameters[p.parameter - 1] ?? 0n;
    if (address === 0n) continue;
    if (p.kind === 'exception_record') {
      const bytes = await memory.read(address, width === 64 ? 0x98 : 0x50);
      if (!bytes) {
        warnings.push(`bugcheck parameter ${p.parameter}: the exception record at 0x${address.toString(16)} is not in the dump`);
        continue;
      }
      const r = new Reader(bytes, 'memory', 0, 'EXCEPTION_RECORD');
      const count = Math.min(r.u32(width === 64 ? 0x18 : 0x10), 15);
      const params: bigint[] = [];
      for (let i = 0; i < count; i++) params.push(width === 64 ? r.u64(0x20 + i * 8) : BigInt(r.u32(0x14 + i * 4)));
      exception = { code: r.u32(0), flags: r.u32(4), address: width === 64 ? r.u64(0x10) : BigInt(r.u32(0xc)), parameters: params };
    } else if (p.kind === 'context_record') {
      const size = CONTEXT_SIZE[cpu];
      const bytes = size ? await memory.read(address, size) : undefined;
      if (!bytes) {
        warnings.push(`bugcheck parameter ${p.parameter}: the context record at 0x${address.toString(16)} is not in the dump`);
        continue;
      }
      context = decodeContext(new Reader(bytes, 'memory', 0, 'CONTEXT'), cpu, warnings);
      contextSource = `the context record in bugcheck parameter ${p.parameter} (.cxr 0x${address.toString(16)})`;
    } else if (!context) {
      context = await trapFrameContext(memory, address, cpu);
      if (context) contextSource = `the trap frame in bugcheck parameter ${p.parameter} (.trap 0x${address.toString(16)})`;
      else warnings.push(`bugcheck parameter ${p.parameter}: the trap frame at 0x${address.toString(16)} is not in the dump or not of a CPU stackhog reads`);
    }
  }
  if (!exception && !context) return undefined;
  return {
    threadId: 0,
    code: exception?.code ?? 0,
    flags: exception?.flags ?? 0,
    address: exception?.address ?? context?.registers.get(specialRegisters(cpu).ip) ?? 0n,
    parameters: exception?.parameters ?? [],
    context,
    contextSource,
  };
}

/** KTRAP_FRAME registers: x64 (Rip 0x168, Rsp 0x180, Rbp 0x158, EFlags 0x178); x86 (Ebp 0x60, Eip 0x68, EFlags 0x70, HardwareEsp 0x74). */
async function trapFrameContext(memory: KernelVirtualMemory, address: bigint, cpu: Cpu): Promise<CpuContext | undefined> {
  if (cpu === 'amd64') {
    const b = await memory.read(address, 0x190);
    if (!b) return undefined;
    const r = new Reader(b, 'memory', 0, 'KTRAP_FRAME');
    const regs = new Map<string, bigint>([
      ['rax', r.u64(0x38)],
      ['rcx', r.u64(0x40)],
      ['rdx', r.u64(0x48)],
      ['r8', r.u64(0x50)],
      ['r9', r.u64(0x58)],
      ['r10', r.u64(0x60)],
      ['r11', r.u64(0x68)],
      ['rbp', r.u64(0x158)],
      ['rip', r.u64(0x168)],
      ['rflags', r.u64(0x178)],
      ['rsp', r.u64(0x180)],
    ]);
    return { cpu, registers: regs };
  }
  if (cpu === 'x86') {
    const b = await memory.read(address, 0x78);
    if (!b) return undefined;
    const r = new Reader(b, 'memory', 0, 'KTRAP_FRAME');
    const kernelMode = (r.u32(0x6c) & 1) === 0;
    const regs = new Map<string, bigint>([
      ['edx', BigInt(r.u32(0x3c))],
      ['ecx', BigInt(r.u32(0x40))],
      ['eax', BigInt(r.u32(0x44))],
      ['edi', BigInt(r.u32(0x54))],
      ['esi', BigInt(r.u32(0x58))],
      ['ebx', BigInt(r.u32(0x5c))],
      ['ebp', BigInt(r.u32(0x60))],
      ['eip', BigInt(r.u32(0x68))],
      ['efl', BigInt(r.u32(0x70))],
      // A trap from kernel mode pushes no esp: the interrupted stack continues right after the frame's eflags.
      ['esp', kernelMode ? address + 0x74n : BigInt(r.u32(0x74))],
    ]);
    return { cpu, registers: regs };
  }
  return undefined;
}



