import type { BugcheckExplanation } from './bugcheck.js';
// The records the analyses share: what the orchestrator (process.ts) hands each analysis and what
// the reports read. Only types live here, so every analysis can import them without importing the
// orchestrator (which imports the analyses).
import type { ImageFileOpener, ModuleImages } from '../images/module-images.js';
import type { CpuContext } from '../model/cpu.js';
import type { ModuleIndex } from '../model/module-index.js';
import type { Module, Snapshot, Thread } from '../model/snapshot.js';
import type { SymbolProvider } from '../symbolize/provider.js';
import type { StackFrame } from '../unwind/frame.js';
import type { CodeReader, WalkOptions } from '../unwind/walker.js';
import type { Finding } from './findings.js';
import type { Recursion } from './recursion.js';
import type { SignatureRules } from './signature-rules.js';
import type { StartRegisters } from './start.js';

export interface AnalyzeOptions {
  readonly symbols?: SymbolProvider;
  /** Directories of module images (PE files) for unwind tables, call checks and export names. */
  readonly images?: readonly ImageFileOpener[];
  readonly walk?: Partial<WalkOptions>;
  /** Walk only the crashing (or requesting) thread. */
  readonly crashedThreadOnly?: boolean;
  /** Start the crashing thread's walk here instead of its context (WinDbg's `k = BasePtr StackPtr InstructionPtr`); a count that does not fit its CPU throws OptionError. */
  readonly start?: StartRegisters;
  /** Rebuild stacks the walk gives up on from the raw stack (default true). */
  readonly reconstruct?: boolean;
  /** Wall-clock budget for the whole analysis, in milliseconds; what is left undone is reported in `limits`. */
  readonly timeoutMs?: number;
  /** At most this many bytes of each thread's stack are loaded and searched (default 64 MiB). */
  readonly maxStackBytes?: number;
  /** Kernel dumps: modules never named as the probable cause (default DEFAULT_NOT_CULPRITS). */
  readonly notCulprits?: readonly string[];
  /** The frames crash signatures skip or keep as a prefix (default DEFAULT_SIGNATURE_RULES). */
  readonly signatureRules?: SignatureRules;
}

export type SignatureRole = 'skipped' | 'prefix' | 'signature';

export interface SignatureFrame {
  /** Index into the thread's frames. */
  readonly index: number;
  readonly name: string;
  readonly role: SignatureRole;
}

/** One stable string per bug (analyze/signature.ts), with the frames that made it. */
export interface CrashSignature {
  readonly signature: string;
  /** The frames looked at, in order, with what each did; empty for a kernel dump's bucket. */
  readonly frames: readonly SignatureFrame[];
}

export interface CrashInfo {
  /** Breakpad's crash reason text, e.g. EXCEPTION_ACCESS_VIOLATION_WRITE. */
  readonly reason: string;
  /**
   * The crash reason as rust-minidump prints it (`crash_info.type` of `minidump-stackwalk --json`),
   * e.g. "SIGSEGV / SEGV_MAPERR" where Breakpad says "SIGSEGV /SEGV_MAPERR"; set whenever `reason` is.
   */
  readonly rustMinidumpReason?: string;
  readonly address: bigint;
  readonly code: number;
  readonly flags: number;
  readonly parameters: readonly bigint[];
  readonly explanation: string | undefined;
  readonly threadId: number;
  /** rust-minidump's analysis of the crashing instruction (undefined for dumps it does not read, e.g. kernel dumps). */
  readonly access?: CrashAccess | undefined;
}

/**
 * What the crashing instruction and the memory map say about the crash, as rust-minidump's
 * `crash_info` has it (minidump-processor's op_analysis and its bit-flip, guard-page and
 * inconsistency checks).
 */
export interface CrashAccess {
  /** The crashing instruction as yaxpeax-x86 prints it; undefined when it was not decoded (only amd64 is). */
  readonly instruction: string | undefined;
  /** The memory the instruction accesses; undefined when not known (no instruction, or a register it uses is not in the context). */
  readonly memoryAccesses: readonly MemoryAccess[] | undefined;
  /** Where a call, jmp or ret sends the instruction pointer, when that was read from the registers or memory. */
  readonly instructionPointerUpdate: bigint | undefined;
  readonly adjustedAddress: AdjustedAddress | undefined;
  /** Mapped addresses one flipped bit away from the crash address (or a register the instruction used). */
  readonly possibleBitFlips: readonly PossibleBitFlip[];
  /** rust-minidump's CrashInconsistency names: the crash reason disagrees with the instruction or the memory map. */
  readonly inconsistencies: readonly CrashInconsistency[];
}

export type MemoryAccessType = 'read' | 'write' | 'readwrite' | 'underivable';

export interface MemoryAccess {
  readonly address: bigint;
  /** Bytes accessed; undefined when the instruction does not say. */
  readonly size: number | undefined;
  /** `underivable`: the instruction is not one whose read/write direction is modelled. */
  readonly accessType: MemoryAccessType;
  /** The base register held zero: a null pointer plus an offset. */
  readonly likelyNullPointer: boolean;
  /** The address is in a small inaccessible region next to an accessible one. */
  readonly likelyGuardPage: boolean;
}

/** A crash address better than the reported one: the non-canonical address a GPF hides, or a null pointer's offset. */
export type AdjustedAddress = { readonly kind: 'non-canonical'; readonly address: bigint } | { readonly kind: 'null-pointer'; readonly offset: bigint };

export interface BitFlipDetails {
  readonly wasNonCanonical: boolean;
  readonly isNull: boolean;
  readonly wasLow: boolean;
  readonly nearbyRegisters: number;
  readonly poisonRegisters: boolean;
}

export interface PossibleBitFlip {
  readonly address: bigint;
  /** The register that held the flipped address; undefined for the crash address itself. */
  readonly sourceRegister: string | undefined;
  readonly details: BitFlipDetails;
  /** 0..1, computed in single precision as rust-minidump does. */
  readonly confidence: number;
}

export type CrashInconsistency =
  | 'int_div_by_zero_not_possible'
  | 'priv_instruction_crash_without_priv_instruction'
  | 'non_canonical_address_falsely_reported'
  | 'access_violation_when_access_allowed'
  | 'crashing_access_not_found_in_memory_accesses';

export interface ThreadAnalysis {
  readonly thread: Thread;
  /** Whether this thread crashed (or requested the dump). */
  readonly crashed: boolean;
  /** The context the walk started from (the exception's for the crashing thread). */
  readonly context: CpuContext | undefined;
  readonly frames: readonly StackFrame[];
  /** True when the walk stopped at the frame limit or the time budget. */
  readonly truncated: boolean;
  /** Which limit stopped the walk, when one did. */
  readonly stoppedBy?: 'frames' | 'time';
  /** The stack memory the walk used, when any. */
  readonly stackMemory: { readonly base: bigint; readonly size: number } | undefined;
  /** When the walk fell short and the raw stack was searched: the chain used and the other candidates. */
  readonly reconstruction: ReconstructionSummary | undefined;
}

export interface ReconstructionSummary {
  /** WinDbg's command that starts the chain whose frames were appended (trust `recovered`). */
  readonly used: string | undefined;
  /** Other chains found, best first, as WinDbg commands. */
  readonly alternatives: readonly string[];
}

/** Where a thread's stack lies and how much of it was in use at the crash. */
export interface StackUsage {
  /** The highest address (the stack grows down from it). */
  readonly base: bigint | undefined;
  /** The lowest committed address (TEB StackLimit), or the lowest known one. */
  readonly limit: bigint | undefined;
  /** The start of the whole reservation (TEB DeallocationStack), when known. */
  readonly reserveBase: bigint | undefined;
  /** `teb`: from the thread's NT_TIB in the dump; `captured-memory`: from the stack memory the dump holds. */
  readonly boundsSource: 'teb' | 'kthread' | 'captured-memory' | undefined;
  /**
   * Where `limit` comes from: NT_TIB StackLimit, KTHREAD StackLimit, the guard page an
   * EXCEPTION_STACK_OVERFLOW faulted on, or only the lowest captured address (not the stack's end).
   */
  readonly limitSource: 'teb' | 'kthread' | 'guard-page' | 'captured-memory' | undefined;
  /** Where `reserveBase` comes from: TEB DeallocationStack, or the allocation base in MemoryInfoList. */
  readonly reserveSource: 'teb' | 'memory-info' | undefined;
  /** The innermost frame's stack pointer. */
  readonly stackPointer: bigint | undefined;
  /** base − stack pointer. */
  readonly usedBytes: number | undefined;
  /** base − reserve base, when known. */
  readonly reserveBytes: number | undefined;
  /**
   * Used bytes as a percentage of the reserve, or of base − limit when the reserve is unknown and
   * the limit is a real one (never of the captured memory alone: undefined then).
   */
  readonly usedPercent: number | undefined;
  readonly percentOf: 'reserve' | 'committed' | undefined;
  /** Bytes the walked frames account for (the sum of known frame sizes). */
  readonly walkedBytes: number;
  /** Frame bytes per module and per function, largest first; shares are of the used stack. */
  readonly byModule: readonly UsageTotal[];
  readonly byFunction: readonly UsageTotal[];
  /** Per frame: its size and the key it is grouped by. */
  readonly frames: readonly FrameUsage[];
}

export interface UsageTotal {
  readonly name: string;
  readonly bytes: number;
  readonly frames: number;
  /** Fraction (0..1) of the used stack (or of the walked bytes when the stack's extent is unknown). */
  readonly share: number;
}

export interface FrameUsage {
  readonly size: number | undefined;
  readonly module: string;
  /** The function as far as it is known: `module!function`, or `module+0xOFFSET` of the frame's code address. */
  readonly function: string;
}

/** What is known about the memory at an address: who backs it and whether it may run. */
export interface MemoryFacts {
  readonly module: Module | undefined;
  /** `image` (a loaded PE/ELF file), `mapped` (a mapped file), `private` (anonymous: heap, stack, VirtualAlloc) or undefined when unknown. */
  readonly type: 'image' | 'mapped' | 'private' | undefined;
  /** Whether the memory may execute; undefined when the dump has no memory information. */
  readonly executable: boolean | undefined;
  readonly writable: boolean | undefined;
  /** False when the dump's memory map shows nothing mapped there; undefined when there is no map. */
  readonly mapped: boolean | undefined;
  /** The region as the memory map gives it. */
  readonly region: { readonly base: bigint; readonly size: bigint } | undefined;
  /** Windows protection in words (`PAGE_EXECUTE_READWRITE`) or Linux permissions (`rwxp`). */
  readonly protection: string | undefined;
  /** What the memory is, in words: `[stack]`, a file's path, `the stack of thread 0x1670`. */
  readonly label: string | undefined;
}

/** A walked thread with what its stack tells: extent, usage per frame/module/function, recursion. */
export interface ThreadReport extends ThreadAnalysis {
  readonly usage: StackUsage;
  readonly recursion: readonly Recursion[];
  /** Per frame: what backs the memory its code address is in (module, type, protection). */
  readonly frameMemory: readonly MemoryFacts[];
  /**
   * A 32-bit program under WOW64 in a 64-bit dump: its own x86 stack, walked from the thread's saved
   * x86 context (`thread.wow64`); this report's frames are then the WOW64 layer's 64-bit ones.
   * Findings and the crash signature use this stack.
   */
  readonly wow64?: ThreadReport | undefined;
}

export interface Analysis {
  readonly snapshot: Snapshot;
  readonly crash: CrashInfo | undefined;
  /** Index into `threads` of the crashing or requesting thread. */
  readonly crashingThreadIndex: number | undefined;
  readonly threads: readonly ThreadReport[];
  /** What the analysis concluded (stack overflow, recursion, ...), most important first per thread. */
  readonly findings: readonly Finding[];
  /** Modules for which a symbol file was found. */
  readonly modulesWithSymbols: ReadonlySet<Module>;
  /** Modules whose symbols the walk looked up in a symbol source (found or not); empty when none was given. */
  readonly modulesSymbolsSought: ReadonlySet<Module>;
  /** Each thread's LastErrorValue from its TEB, when the dump holds that word (by thread id). */
  readonly lastErrors: ReadonlyMap<number, number>;
  /** The main executable: Breakpad takes the first module of the list. */
  readonly mainModule: Module | undefined;
  readonly warnings: readonly string[];
  /** Things worth knowing that are not problems with the input (e.g. an image file that did not match). */
  readonly notes: readonly string[];
  /** Resource limits the analysis hit (time budget, frame limit, stack byte limit): the report is partial there. */
  readonly limits: readonly string[];
  /** For a Windows kernel dump: the bugcheck explained, the probable culprit and the bucket. */
  readonly kernel?: KernelCrash | undefined;
  /** The crash signature: the same bug in different dumps gets the same one. */
  readonly signature: CrashSignature;
}

/** What every thread's walk shares. */
export interface WalkEnvironment {
  readonly maxStackBytes: number;
  readonly executable: ((address: bigint) => boolean | undefined) | undefined;
  readonly reconstruct: boolean;
  readonly snapshot: Snapshot;
  readonly modules: ModuleIndex;
  readonly symbols: SymbolProvider;
  readonly images: ModuleImages;
  readonly code: CodeReader;
  readonly walkOptions: WalkOptions;
  readonly warnings: string[];
  /** What the analysis could not do that is no fault of the input (a CPU without a walker). */
  readonly notes: string[];
}

/**
 * One row of WinDbg's `kf` as stackhog lays out its own stacks (windbg-stack.ts builds them for dps
 * input, report/kf.ts for walked threads): Memory, ChildEBP (x86) or Child-SP (x64), RetAddr, location.
 * Not formats/windbg-text's KfRow, which is a row parsed from WinDbg's own output.
 */
export interface KfRow {
  /** This row's frame pointer minus the previous row's: undefined on the first row. */
  readonly memory: bigint | undefined;
  readonly childFrame: bigint;
  readonly returnAddress: bigint;
  readonly location: string;
  /** The module the location is in (for per-module totals), when known. */
  readonly module: string | undefined;
  readonly inline?: boolean;
  /** The walk stopped before this row: it was rebuilt from the raw stack. */
  readonly afterGap?: boolean;
}

/** A kernel dump's crash: the bugcheck explained, the probable culprit and the bucket. */
export interface KernelCrash {
  readonly bugcheck: BugcheckExplanation;
  /** The driver the crash is attributed to (WinDbg's MODULE_NAME / IMAGE_NAME), with the reason. */
  readonly culprit: { readonly module: Module; readonly imageName: string; readonly moduleName: string; readonly rule: string } | undefined;
  /** The rule and the skip list, in words, so a reader can see why that driver was chosen. */
  readonly culpritRule: string;
  /** A bucket-style signature, e.g. `0x7E_amdppm!WriteIoMemRawEx` or `0x7E_amdppm+0x334c` without symbols. */
  readonly bucket: string;
  /** Where the crashing thread's walk started: the bugcheck's context/trap frame, or the processor's own context. */
  readonly walkedFrom: string;
  readonly processName: string | undefined;
}
