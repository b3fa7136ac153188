import type { Cpu, CpuContext } from './cpu.js';
import type { KernelInfo } from './kernel.js';
import type { DumpMemory } from './memory.js';
import type { UserDumpInfo } from './user-dump.js';
import type { Wow64Process, Wow64Thread } from './wow64.js';

/** What every dump format produces; walkers and analyses only ever see this. */
export interface Snapshot {
  readonly file: string;
  readonly format: 'minidump' | 'kernel-dump' | 'user-dump';
  readonly system: SystemInfo;
  readonly modules: readonly Module[];
  readonly unloadedModules: readonly UnloadedModule[];
  readonly threads: readonly Thread[];
  readonly exception: ExceptionInfo | undefined;
  readonly memory: DumpMemory;
  /** Memory regions with protection and type (MemoryInfoList); empty when the writer omitted it. */
  readonly memoryInfo: readonly MemoryInfo[];
  readonly process: ProcessInfo;
  readonly breakpad: BreakpadInfo | undefined;
  readonly crashpad: CrashpadInfo | undefined;
  /** Breakpad's assertion stream (an invalid-parameter or pure-virtual-call handler wrote the dump). */
  readonly assertion?: AssertionInfo | undefined;
  readonly linux: LinuxInfo | undefined;
  /** Streams Mozilla's minidump writers add (MozSoftErrors, MozMacosBootargsStream). */
  readonly mozilla?: MozillaInfo | undefined;
  /** The handle table (HandleDataStream) when the writer saved it. */
  readonly handles?: readonly HandleDescriptor[] | undefined;
  /** What a Windows kernel crash dump adds: header, bugcheck, processors, kernel structures. */
  readonly kernel?: KernelInfo | undefined;
  /** What a legacy full user-mode dump (USERDU64 / USERDUMP) adds: its header, debug event and version strings. */
  readonly userDump?: UserDumpInfo | undefined;
  /** A 32-bit process under WOW64 in a 64-bit dump: what shows it (undefined for every other dump). */
  readonly wow64?: Wow64Process | undefined;
  /** Time the dump was written (seconds since the Unix epoch). */
  readonly timeDateStamp: number;
  /** Problems met while reading: the part that could be read is still in the snapshot. */
  readonly warnings: readonly string[];
}

export interface SystemInfo {
  readonly cpu: Cpu;
  /** Breakpad's OS name: "Windows NT", "Linux", "Mac OS X", ... */
  readonly os: string;
  /** Short OS identifier as in rust-minidump's JSON: "windows", "linux", "mac", ... */
  readonly osShort: string;
  readonly osVersion: string;
  /** The CSDVersion string (service pack) when the dump has one, even empty; undefined when it has none. */
  readonly csdVersion?: string | undefined;
  readonly cpuInfo: string;
  readonly cpuCount: number;
  readonly cpuMicrocode: string | undefined;
  /** The version numbers and service-pack (CSD) string that `osVersion` is made of, when the format has them. */
  readonly versionParts?: { readonly major: number; readonly minor: number; readonly build: number; readonly csd: string } | undefined;
  /** MINIDUMP_SYSTEM_INFO's numbers as written, for reports that print them their own way (Breakpad names unknown ones by number). */
  readonly raw?: RawSystemInfo | undefined;
}

export interface RawSystemInfo {
  readonly processorArchitecture: number;
  readonly processorLevel: number;
  readonly platformId: number;
  /** CPU_INFORMATION as six u32 words: x86 vendor id, version and features; ARM cpuid and ELF hwcaps in the first two. */
  readonly cpuInformation: readonly number[];
}

export interface Module {
  readonly base: bigint;
  readonly size: number;
  /** Full path of the executable image as the writer recorded it. */
  readonly codeFile: string;
  /** TimeDateStamp and SizeOfImage, as Breakpad and symbol servers name a PE image; build id for ELF. */
  readonly codeId: string;
  readonly debugFile: string;
  readonly debugId: string;
  readonly version: string | undefined;
  readonly timeDateStamp: number;
  readonly checksum: number;
}

export interface UnloadedModule {
  readonly base: bigint;
  readonly size: number;
  readonly codeFile: string;
  readonly codeId: string;
}

export interface Thread {
  readonly id: number;
  readonly name: string | undefined;
  readonly context: CpuContext | undefined;
  /** The thread's captured stack memory as the thread list describes it. */
  readonly stack: ThreadStack | undefined;
  readonly teb: bigint;
  readonly suspendCount: number;
  readonly priority: number;
  /** From ThreadInfoList when present. */
  readonly startAddress: bigint | undefined;
  /** The stack's extent as the OS records it outside a TEB (a kernel thread's KTHREAD StackBase/StackLimit). */
  readonly stackBounds?: { readonly base: bigint; readonly limit: bigint; readonly source: 'kthread' } | undefined;
  /** A thread of a 32-bit program in a 64-bit dump: its saved x86 context and 32-bit TEB (formats/minidump/wow64.ts). */
  readonly wow64?: Wow64Thread | undefined;
}

export interface ThreadStack {
  readonly base: bigint;
  readonly size: number;
  /** Where the bytes are in the file; undefined when the writer gave no usable RVA (find them by address). */
  readonly fileOffset: number | undefined;
}

export interface ExceptionInfo {
  readonly threadId: number;
  readonly code: number;
  readonly flags: number;
  readonly address: bigint;
  readonly parameters: readonly bigint[];
  /** The context at the exception; the thread list may hold a later state of the thread. */
  readonly context: CpuContext | undefined;
  /** Where the context came from when it is not the dump's own exception stream, e.g. a bugcheck parameter (`.cxr`). */
  readonly contextSource?: string | undefined;
}

export interface MemoryInfo {
  readonly base: bigint;
  readonly allocationBase: bigint;
  readonly allocationProtect: number;
  readonly size: bigint;
  readonly state: number;
  readonly protect: number;
  readonly type: number;
}

export interface ProcessInfo {
  readonly processId: number | undefined;
  /** Seconds since the Unix epoch. */
  readonly createTime: number | undefined;
}

export interface BreakpadInfo {
  readonly dumpThreadId: number | undefined;
  readonly requestingThreadId: number | undefined;
}

/** MDRawAssertionInfo: where an assertion handler was called. */
export interface AssertionInfo {
  readonly expression: string;
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** 1 invalid parameter, 2 pure virtual call (MD_ASSERTION_INFO_TYPE_*). */
  readonly type: number;
}

export interface CrashpadInfo {
  readonly reportId: string;
  readonly clientId: string;
  readonly simpleAnnotations: ReadonlyMap<string, string>;
  readonly moduleAnnotations: readonly {
    readonly moduleIndex: number;
    readonly listAnnotations: readonly string[];
    readonly simpleAnnotations: ReadonlyMap<string, string>;
  }[];
}

export interface LinuxInfo {
  readonly maps: readonly LinuxMapping[];
  readonly cpuInfo: string | undefined;
  readonly procStatus: string | undefined;
  readonly lsbRelease: string | undefined;
  readonly cmdLine: string | undefined;
  /** /proc/self/limits as Mozilla's writer saves it (MozLinuxLimits). */
  readonly procLimits?: string | undefined;
}

export interface MozillaInfo {
  /** MozSoftErrors: the writer's own JSON list of what it failed to collect. */
  readonly softErrors: string | undefined;
  /** MozMacosBootargsStream: the kernel boot arguments (undefined when the stream is absent). */
  readonly macBootArgs: string | null | undefined;
  /** MozMacosCrashInfoStream: the processes' __DATA,__crash_info records (undefined when absent or unreadable). */
  readonly macCrashInfo?: readonly MacCrashInfoRecord[] | undefined;
}

/** One crashreporter_annotations_t record; fields a record's version lacks are undefined, as are empty strings. */
export interface MacCrashInfoRecord {
  readonly version: bigint;
  readonly thread: bigint | undefined;
  readonly dialogMode: bigint | undefined;
  readonly abortCause: bigint | undefined;
  readonly modulePath: string | undefined;
  readonly message: string | undefined;
  readonly signatureString: string | undefined;
  readonly backtrace: string | undefined;
  readonly message2: string | undefined;
}

/** MINIDUMP_HANDLE_DESCRIPTOR(_2). */
export interface HandleDescriptor {
  readonly handle: bigint;
  readonly typeName: string | undefined;
  readonly objectName: string | undefined;
  readonly attributes: number;
  readonly grantedAccess: number;
  readonly handleCount: number;
  readonly pointerCount: number;
}

export interface LinuxMapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
  readonly private: boolean;
  readonly offset: bigint;
  readonly path: string;
}
