import type { CpuContext } from './cpu.js';

/** One named field of a dump header as the file holds it; `undefined` where Windows left the `PAGE` filler. */
export interface HeaderField {
  readonly name: string;
  readonly value: bigint | number | string | undefined;
}

/** What a Windows kernel crash dump says beyond threads, modules and memory. */
export interface KernelInfo {
  /** DUMP_HEADER DumpType (1 full, 2 summary, 4 small/triage, 5/6 bitmap, 7 automatic, 8–10 RDMP forms). */
  readonly dumpType: number;
  /** The dump type in words, e.g. "small memory dump (triage)". */
  readonly dumpTypeName: string;
  /** 64-bit (PAGEDU64) or 32-bit (PAGEDUMP) header. */
  readonly headerWidth: 32 | 64;
  /** Every DUMP_HEADER field, in file order. */
  readonly header: readonly HeaderField[];
  /** TRIAGE_DUMP fields for small dumps, in file order. */
  readonly triage: readonly HeaderField[] | undefined;
  /** The bitmap, summary or RDMP header fields of a kernel or complete memory dump. */
  readonly memoryHeader: readonly HeaderField[] | undefined;
  readonly bugcheck: { readonly code: number; readonly parameters: readonly bigint[] };
  /** MajorVersion (0xf: free build, 0xc: checked) and MinorVersion (the build number). */
  readonly majorVersion: number;
  readonly buildNumber: number;
  readonly processors: readonly KernelProcessor[];
  /** The header's ContextRecord (in small dumps of an exception bugcheck, the faulting context). */
  readonly headerContext: CpuContext | undefined;
  /** Index into `processors` of the one that called KeBugCheckEx, when known. */
  readonly bugcheckProcessor: number | undefined;
  /** KDDEBUGGER_DATA64 as far as it could be read; `note` says why not when it could not. */
  readonly debuggerData: KernelDebuggerData | undefined;
  /** The thread that called KeBugCheckEx (the PRCB's CurrentThread), with its kernel stack as KTHREAD records it. */
  readonly crashingThread: KernelThreadInfo | undefined;
  /** The process of the crashing thread, when its EPROCESS was read. */
  readonly process: { readonly eprocess: bigint; readonly imageName: string | undefined } | undefined;
  /** Drivers unloaded before the crash (small dumps keep a list). */
  readonly unloadedDrivers: readonly { readonly name: string; readonly start: bigint; readonly end: bigint; readonly time: bigint }[];
  /** Physical memory: how many pages the dump holds, and how they are laid out. */
  readonly physicalPages: number | undefined;
  /** Things the header describes that stackhog could not read, each by name. */
  readonly unread: readonly string[];
}

export interface KernelProcessor {
  readonly index: number;
  readonly prcb: bigint | undefined;
  readonly currentThread: bigint | undefined;
  /** The processor's saved context (PRCB.ProcessorState.ContextFrame), when readable. */
  readonly context: CpuContext | undefined;
}

export interface KernelDebuggerData {
  readonly address: bigint;
  readonly size: number;
  /** True when the block was stored encoded (KdpDataBlockEncoded) and could not be decoded. */
  readonly encoded: boolean;
  readonly kernBase: bigint | undefined;
  readonly psLoadedModuleList: bigint | undefined;
  readonly kiProcessorBlock: bigint | undefined;
  /** Structure offsets the debugger data block gives (OffsetKThreadInitialStack, ...). */
  readonly offsets: Readonly<Record<string, number>>;
  readonly note: string | undefined;
}

export interface KernelThreadInfo {
  readonly kthread: bigint | undefined;
  readonly initialStack: bigint | undefined;
  readonly stackBase: bigint | undefined;
  readonly stackLimit: bigint | undefined;
  readonly kernelStack: bigint | undefined;
}
