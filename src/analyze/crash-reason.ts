/**
 * The crash reason and crash address exactly as Breakpad's minidump_stackwalk prints them
 * (MinidumpProcessor::GetCrashReason in processor/minidump_processor.cc), and a short
 * explanation of the well-known reasons for our text report.
 *
 * Exception codes and their names follow Breakpad's google_breakpad/common/minidump_exception_*.h,
 * including Breakpad's own spellings (EXCEPTION_BOUNDS_EXCEEDED, "SIGSEGV /SEGV_MAPERR").
 */
import { NTSTATUS_NAMES } from './crash-reason-ntstatus.js';

/** The exception record of a dump (MINIDUMP_EXCEPTION), or the equivalent of another format. */
export interface ExceptionRecordInput {
  /** u32 exception code (Windows NTSTATUS, Linux signal number, Mac exception type). */
  code: number;
  /** u32 (Linux: si_code; Mac: exception code). */
  flags: number;
  /** ExceptionAddress. */
  address: bigint;
  /** ExceptionInformation[0 .. NumberParameters): Breakpad decodes parameters only when the count says they exist. */
  parameters: readonly bigint[];
}

export interface CrashReason {
  reason: string;
  address: bigint;
}

/** `0x%08x`, the form Breakpad prints unnamed codes in. */
function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// Windows (MD_OS_WIN32_NT, MD_OS_WIN32_WINDOWS)

const EXCEPTION_ACCESS_VIOLATION = 0xc0000005;
const EXCEPTION_IN_PAGE_ERROR = 0xc0000006;
const STATUS_STACK_BUFFER_OVERRUN = 0xc0000409;

/** Windows exception codes Breakpad names by the code alone (MDExceptionCodeWin). */
const WINDOWS_EXCEPTIONS: ReadonlyMap<number, string> = new Map<number, string>([
  [0x40010005, 'DBG_CONTROL_C'],
  [0x80000001, 'EXCEPTION_GUARD_PAGE'],
  [0x80000002, 'EXCEPTION_DATATYPE_MISALIGNMENT'],
  [0x80000003, 'EXCEPTION_BREAKPOINT'],
  [0x80000004, 'EXCEPTION_SINGLE_STEP'],
  [0xc0000008, 'EXCEPTION_INVALID_HANDLE'],
  [0xc000001d, 'EXCEPTION_ILLEGAL_INSTRUCTION'],
  [0xc0000025, 'EXCEPTION_NONCONTINUABLE_EXCEPTION'],
  [0xc0000026, 'EXCEPTION_INVALID_DISPOSITION'],
  // Windows calls it EXCEPTION_ARRAY_BOUNDS_EXCEEDED; Breakpad prints this shorter name.
  [0xc000008c, 'EXCEPTION_BOUNDS_EXCEEDED'],
  [0xc000008d, 'EXCEPTION_FLT_DENORMAL_OPERAND'],
  [0xc000008e, 'EXCEPTION_FLT_DIVIDE_BY_ZERO'],
  [0xc000008f, 'EXCEPTION_FLT_INEXACT_RESULT'],
  [0xc0000090, 'EXCEPTION_FLT_INVALID_OPERATION'],
  [0xc0000091, 'EXCEPTION_FLT_OVERFLOW'],
  [0xc0000092, 'EXCEPTION_FLT_STACK_CHECK'],
  [0xc0000093, 'EXCEPTION_FLT_UNDERFLOW'],
  [0xc0000094, 'EXCEPTION_INT_DIVIDE_BY_ZERO'],
  [0xc0000095, 'EXCEPTION_INT_OVERFLOW'],
  [0xc0000096, 'EXCEPTION_PRIV_INSTRUCTION'],
  [0xc00000fd, 'EXCEPTION_STACK_OVERFLOW'],
  [0xc00000ff, 'EXCEPTION_BAD_FUNCTION_TABLE'],
  [0xc0000194, 'EXCEPTION_POSSIBLE_DEADLOCK'],
  [0xc0000374, 'EXCEPTION_HEAP_CORRUPTION'],
  // Chromium's allocators raise this on OOM (base/process/memory.h).
  [0xe0000008, 'Out of Memory'],
  // Visual C++ `throw` (KB 185294).
  [0xe06d7363, 'Unhandled C++ Exception'],
  // Crashpad's CrashpadClient::DumpWithoutCrash.
  [0x0517a7ed, 'Simulated Exception'],
]);

/** ExceptionInformation[0] of an access violation or in-page error: the kind of access. */
const ACCESS_KINDS: ReadonlyMap<bigint, 'READ' | 'WRITE' | 'EXEC'> = new Map([
  [0n, 'READ'],
  [1n, 'WRITE'],
  [8n, 'EXEC'],
] as const);

/**
 * __fastfail codes (winnt.h FAST_FAIL_*) in ExceptionInformation[0] of STATUS_STACK_BUFFER_OVERRUN.
 * 0 (FAST_FAIL_LEGACY_GS_VIOLATION) is deliberately absent: Breakpad prints EXCEPTION_STACK_BUFFER_OVERRUN.
 * crash-reason-rust.ts reuses it (rust-minidump's names coincide).
 */
export const FAST_FAIL_CODES: ReadonlyMap<number, string> = new Map<number, string>([
  [1, 'FAST_FAIL_VTGUARD_CHECK_FAILURE'],
  [2, 'FAST_FAIL_STACK_COOKIE_CHECK_FAILURE'],
  [3, 'FAST_FAIL_CORRUPT_LIST_ENTRY'],
  [4, 'FAST_FAIL_INCORRECT_STACK'],
  [5, 'FAST_FAIL_INVALID_ARG'],
  [6, 'FAST_FAIL_GS_COOKIE_INIT'],
  [7, 'FAST_FAIL_FATAL_APP_EXIT'],
  [8, 'FAST_FAIL_RANGE_CHECK_FAILURE'],
  [9, 'FAST_FAIL_UNSAFE_REGISTRY_ACCESS'],
  [10, 'FAST_FAIL_GUARD_ICALL_CHECK_FAILURE'],
  [11, 'FAST_FAIL_GUARD_WRITE_CHECK_FAILURE'],
  [12, 'FAST_FAIL_INVALID_FIBER_SWITCH'],
  [13, 'FAST_FAIL_INVALID_SET_OF_CONTEXT'],
  [14, 'FAST_FAIL_INVALID_REFERENCE_COUNT'],
  [18, 'FAST_FAIL_INVALID_JUMP_BUFFER'],
  [19, 'FAST_FAIL_MRDATA_MODIFIED'],
  [20, 'FAST_FAIL_CERTIFICATION_FAILURE'],
  [21, 'FAST_FAIL_INVALID_EXCEPTION_CHAIN'],
  [22, 'FAST_FAIL_CRYPTO_LIBRARY'],
  [23, 'FAST_FAIL_INVALID_CALL_IN_DLL_CALLOUT'],
  [24, 'FAST_FAIL_INVALID_IMAGE_BASE'],
  [25, 'FAST_FAIL_DLOAD_PROTECTION_FAILURE'],
  [26, 'FAST_FAIL_UNSAFE_EXTENSION_CALL'],
  [27, 'FAST_FAIL_DEPRECATED_SERVICE_INVOKED'],
  [28, 'FAST_FAIL_INVALID_BUFFER_ACCESS'],
  [29, 'FAST_FAIL_INVALID_BALANCED_TREE'],
  [30, 'FAST_FAIL_INVALID_NEXT_THREAD'],
  [31, 'FAST_FAIL_GUARD_ICALL_CHECK_SUPPRESSED'],
  [32, 'FAST_FAIL_APCS_DISABLED'],
  [33, 'FAST_FAIL_INVALID_IDLE_STATE'],
  [34, 'FAST_FAIL_MRDATA_PROTECTION_FAILURE'],
  [35, 'FAST_FAIL_UNEXPECTED_HEAP_EXCEPTION'],
  [36, 'FAST_FAIL_INVALID_LOCK_STATE'],
  [37, 'FAST_FAIL_GUARD_JUMPTABLE'],
  [38, 'FAST_FAIL_INVALID_LONGJUMP_TARGET'],
  [39, 'FAST_FAIL_INVALID_DISPATCH_CONTEXT'],
  [40, 'FAST_FAIL_INVALID_THREAD'],
  [41, 'FAST_FAIL_INVALID_SYSCALL_NUMBER'],
  [42, 'FAST_FAIL_INVALID_FILE_OPERATION'],
  [43, 'FAST_FAIL_LPAC_ACCESS_DENIED'],
  [44, 'FAST_FAIL_GUARD_SS_FAILURE'],
  [45, 'FAST_FAIL_LOADER_CONTINUITY_FAILURE'],
  [46, 'FAST_FAIL_GUARD_EXPORT_SUPPRESSION_FAILURE'],
  [47, 'FAST_FAIL_INVALID_CONTROL_STACK'],
  [48, 'FAST_FAIL_SET_CONTEXT_DENIED'],
  [49, 'FAST_FAIL_INVALID_IAT'],
  [50, 'FAST_FAIL_HEAP_METADATA_CORRUPTION'],
  [51, 'FAST_FAIL_PAYLOAD_RESTRICTION_VIOLATION'],
  [52, 'FAST_FAIL_LOW_LABEL_ACCESS_DENIED'],
  [53, 'FAST_FAIL_ENCLAVE_CALL_FAILURE'],
  // Sic: winnt.h and Breakpad spell it EXCEPTON.
  [54, 'FAST_FAIL_UNHANDLED_LSS_EXCEPTON'],
  [55, 'FAST_FAIL_ADMINLESS_ACCESS_DENIED'],
  [56, 'FAST_FAIL_UNEXPECTED_CALL'],
  [57, 'FAST_FAIL_CONTROL_INVALID_RETURN_ADDRESS'],
  [58, 'FAST_FAIL_UNEXPECTED_HOST_BEHAVIOR'],
  [59, 'FAST_FAIL_FLAGS_CORRUPTION'],
  [60, 'FAST_FAIL_VEH_CORRUPTION'],
  [61, 'FAST_FAIL_ETW_CORRUPTION'],
  [62, 'FAST_FAIL_RIO_ABORT'],
  [63, 'FAST_FAIL_INVALID_PFN'],
  [64, 'FAST_FAIL_GUARD_ICALL_CHECK_FAILURE_XFG'],
  [65, 'FAST_FAIL_CAST_GUARD'],
  [66, 'FAST_FAIL_HOST_VISIBILITY_CHANGE'],
  [67, 'FAST_FAIL_KERNEL_CET_SHADOW_STACK_ASSIST'],
  [68, 'FAST_FAIL_PATCH_CALLBACK_FAILED'],
  [69, 'FAST_FAIL_NTDLL_PATCH_FAILED'],
  [70, 'FAST_FAIL_INVALID_FLS_DATA'],
]);

/** Breakpad's NTStatusToString: the name, or `0x%08x` when it has none. */
function ntStatusText(status: number): string {
  return NTSTATUS_NAMES.get(status >>> 0) ?? hex32(status);
}

function fastFailName(parameter: bigint): string | undefined {
  return parameter <= 0xffffffffn ? FAST_FAIL_CODES.get(Number(parameter)) : undefined;
}

/** The reason, and the fault address when the parameters carry one (else the exception address stands). */
function windowsReason(code: number, params: readonly bigint[]): { reason: string; faultAddress?: bigint } | undefined {
  const [kindParam, addressParam, statusParam] = params;
  switch (code) {
    case EXCEPTION_ACCESS_VIOLATION:
    case EXCEPTION_IN_PAGE_ERROR: {
      const base = code === EXCEPTION_ACCESS_VIOLATION ? 'EXCEPTION_ACCESS_VIOLATION' : 'EXCEPTION_IN_PAGE_ERROR';
      const kind = kindParam === undefined ? undefined : ACCESS_KINDS.get(kindParam);
      let reason = kind ? `${base}_${kind}` : base;
      // ExceptionInformation[2] of an in-page error: the NTSTATUS of the failed paging I/O.
      if (code === EXCEPTION_IN_PAGE_ERROR && statusParam !== undefined) {
        reason += ` / ${ntStatusText(Number(statusParam & 0xffffffffn))}`;
      }
      return addressParam === undefined ? { reason } : { reason, faultAddress: addressParam };
    }
    case STATUS_STACK_BUFFER_OVERRUN: {
      const fastFail = kindParam === undefined ? undefined : fastFailName(kindParam);
      return { reason: fastFail ?? 'EXCEPTION_STACK_BUFFER_OVERRUN' };
    }
    default: {
      const name = WINDOWS_EXCEPTIONS.get(code);
      return name === undefined ? undefined : { reason: name };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Linux and Android (signal number, si_code)

/** Linux signal numbers (bits/signum.h); crash-reason-rust.ts reuses it (rust-minidump's ExceptionCodeLinux coincides). */
export const LINUX_SIGNALS: ReadonlyMap<number, string> = new Map<number, string>([
  [1, 'SIGHUP'],
  [2, 'SIGINT'],
  [3, 'SIGQUIT'],
  [4, 'SIGILL'],
  [5, 'SIGTRAP'],
  [6, 'SIGABRT'],
  [7, 'SIGBUS'],
  [8, 'SIGFPE'],
  [9, 'SIGKILL'],
  [10, 'SIGUSR1'],
  [11, 'SIGSEGV'],
  [12, 'SIGUSR2'],
  [13, 'SIGPIPE'],
  [14, 'SIGALRM'],
  [15, 'SIGTERM'],
  [16, 'SIGSTKFLT'],
  [17, 'SIGCHLD'],
  [18, 'SIGCONT'],
  [19, 'SIGSTOP'],
  [20, 'SIGTSTP'],
  [21, 'SIGTTIN'],
  [22, 'SIGTTOU'],
  [23, 'SIGURG'],
  [24, 'SIGXCPU'],
  [25, 'SIGXFSZ'],
  [26, 'SIGVTALRM'],
  [27, 'SIGPROF'],
  [28, 'SIGWINCH'],
  [29, 'SIGIO'],
  [30, 'SIGPWR'],
  [31, 'SIGSYS'],
  // Breakpad's Linux client: no signal, the dump was requested.
  [0xffffffff, 'DUMP_REQUESTED'],
]);

/** Signals whose si_code Breakpad decodes: the text before the si_code, and the names of si_code 1, 2, ... */
const LINUX_SI_CODES: ReadonlyMap<number, { readonly prefix: string; readonly names: readonly string[] }> = new Map([
  [4, { prefix: 'SIGILL / ', names: ['ILL_ILLOPC', 'ILL_ILLOPN', 'ILL_ILLADR', 'ILL_ILLTRP', 'ILL_PRVOPC', 'ILL_PRVREG', 'ILL_COPROC', 'ILL_BADSTK'] }],
  [7, { prefix: 'SIGBUS / ', names: ['BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO'] }],
  [8, { prefix: 'SIGFPE / ', names: ['FPE_INTDIV', 'FPE_INTOVF', 'FPE_FLTDIV', 'FPE_FLTOVF', 'FPE_FLTUND', 'FPE_FLTRES', 'FPE_FLTINV', 'FPE_FLTSUB'] }],
  // Breakpad writes "SIGSEGV /" without the space the other signals get.
  [11, { prefix: 'SIGSEGV /', names: ['SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR', 'SEGV_ACCADI', 'SEGV_ADIDERR', 'SEGV_ADIPERR', 'SEGV_MTEAERR', 'SEGV_MTESERR'] }],
]);

function linuxReason(code: number, flags: number): string | undefined {
  const decoded = LINUX_SI_CODES.get(code);
  if (decoded) return decoded.prefix + (decoded.names[flags - 1] ?? hex32(flags));
  return LINUX_SIGNALS.get(code);
}

// ---------------------------------------------------------------------------------------------
// Mac OS X and iOS (Mach exception type, first exception code)

/** Which CPU-specific Mach exception codes apply: Breakpad picks them by processor_architecture. */
type MacCpuFamily = 'arm' | 'ppc' | 'x86';

interface MachException {
  readonly name: string;
  /** Codes named on every CPU (checked first). */
  readonly codes?: ReadonlyMap<number, string>;
  readonly cpuCodes?: Partial<Record<MacCpuFamily, ReadonlyMap<number, string>>>;
}

const MACH_EXCEPTIONS: ReadonlyMap<number, MachException> = new Map<number, MachException>([
  [1, {
    name: 'EXC_BAD_ACCESS',
    // kern_return_t values
    codes: new Map([[1, 'KERN_INVALID_ADDRESS'], [2, 'KERN_PROTECTION_FAILURE'], [8, 'KERN_NO_ACCESS'], [9, 'KERN_MEMORY_FAILURE'], [10, 'KERN_MEMORY_ERROR'], [50, 'KERN_CODESIGN_ERROR']]),
    cpuCodes: {
      arm: new Map([[0x101, 'EXC_ARM_DA_ALIGN'], [0x102, 'EXC_ARM_DA_DEBUG']]),
      ppc: new Map([[0x101, 'EXC_PPC_VM_PROT_READ'], [0x102, 'EXC_PPC_BADSPACE'], [0x103, 'EXC_PPC_UNALIGNED']]),
      x86: new Map([[13, 'EXC_I386_GPFLT']]),
    },
  }],
  [2, {
    name: 'EXC_BAD_INSTRUCTION',
    cpuCodes: {
      arm: new Map([[1, 'EXC_ARM_UNDEFINED']]),
      ppc: new Map([[1, 'EXC_PPC_INVALID_SYSCALL'], [2, 'EXC_PPC_UNIPL_INST'], [3, 'EXC_PPC_PRIVINST'], [4, 'EXC_PPC_PRIVREG'], [5, 'EXC_PPC_TRACE'], [6, 'EXC_PPC_PERFMON']]),
      x86: new Map([[1, 'EXC_I386_INVOP'], [10, 'EXC_I386_INVTSSFLT'], [11, 'EXC_I386_SEGNPFLT'], [12, 'EXC_I386_STKFLT'], [13, 'EXC_I386_GPFLT'], [17, 'EXC_I386_ALIGNFLT']]),
    },
  }],
  [3, {
    name: 'EXC_ARITHMETIC',
    cpuCodes: {
      // Sic: EXC_FLT_INEXACT without PPC, and the two emulation codes, as Breakpad has them.
      ppc: new Map([[1, 'EXC_PPC_OVERFLOW'], [2, 'EXC_PPC_ZERO_DIVIDE'], [3, 'EXC_FLT_INEXACT'], [4, 'EXC_PPC_FLT_ZERO_DIVIDE'], [5, 'EXC_PPC_FLT_UNDERFLOW'], [6, 'EXC_PPC_FLT_OVERFLOW'], [7, 'EXC_PPC_FLT_NOT_A_NUMBER'], [8, 'EXC_PPC_NOEMULATION'], [9, 'EXC_PPC_ALTIVECASSIST']]),
      x86: new Map([[1, 'EXC_I386_DIV'], [2, 'EXC_I386_INTO'], [3, 'EXC_I386_NOEXT'], [4, 'EXC_I386_EXTOVR'], [5, 'EXC_I386_EXTERR'], [6, 'EXC_I386_EMERR'], [7, 'EXC_I386_BOUND'], [8, 'EXC_I386_SSEEXTERR']]),
    },
  }],
  [4, { name: 'EXC_EMULATION' }],
  [5, {
    name: 'EXC_SOFTWARE',
    // 0x10002 is Mach's SIGABRT; 0xdeadc0de is Breakpad's uncaught NSException; the others are PowerPC's.
    codes: new Map([[0x10002, 'SIGABRT'], [0xdeadc0de, 'UNCAUGHT_NS_EXCEPTION'], [1, 'EXC_PPC_TRAP'], [0x10100, 'EXC_PPC_MIGRATE']]),
  }],
  [6, {
    name: 'EXC_BREAKPOINT',
    cpuCodes: {
      arm: new Map([[0x101, 'EXC_ARM_DA_ALIGN'], [0x102, 'EXC_ARM_DA_DEBUG'], [1, 'EXC_ARM_BREAKPOINT']]),
      ppc: new Map([[1, 'EXC_PPC_BREAKPOINT']]),
      x86: new Map([[1, 'EXC_I386_SGL'], [2, 'EXC_I386_BPT']]),
    },
  }],
  [7, { name: 'EXC_SYSCALL' }],
  [8, { name: 'EXC_MACH_SYSCALL' }],
  [9, { name: 'EXC_RPC_ALERT' }],
  [11, { name: 'EXC_RESOURCE' }],
  [12, { name: 'EXC_GUARD' }],
]);

/** Crashpad's made-up exception types, printed without a code. */
const CRASHPAD_MAC_EXCEPTIONS: ReadonlyMap<number, string> = new Map([
  [0x43507378, 'Simulated Exception'], // 'CPsx', SimulateCrash
  [0x43506e78, 'Uncaught NSException'], // 'CPnx'
]);

/**
 * Breakpad names ARM codes only for MD_CPU_ARCHITECTURE_ARM and ARM64_OLD (0x8003, what Breakpad's own
 * Mac client writes), not for ARM64 (12, what Crashpad writes). Our model calls both 'arm64'; we take it
 * as 12, and accept 'arm64-old' for a caller that knows the dump said 0x8003.
 */
function macCpuFamily(cpu: string): MacCpuFamily | undefined {
  switch (cpu) {
    case 'arm':
    case 'arm64-old':
      return 'arm';
    case 'ppc':
      return 'ppc';
    case 'x86':
    case 'amd64':
      return 'x86';
    default:
      return undefined;
  }
}

function macReason(cpu: string, code: number, flags: number): string | undefined {
  const crashpad = CRASHPAD_MAC_EXCEPTIONS.get(code);
  if (crashpad) return crashpad;
  const exception = MACH_EXCEPTIONS.get(code);
  if (!exception) return undefined;
  const family = macCpuFamily(cpu);
  const codeName = exception.codes?.get(flags) ?? (family && exception.cpuCodes?.[family]?.get(flags));
  return `${exception.name} / ${codeName ?? hex32(flags)}`;
}

// ---------------------------------------------------------------------------------------------
// Fuchsia, Solaris, PS3

/** Zircon exception types; Breakpad appends the flags in hex. */
const FUCHSIA_EXCEPTIONS: ReadonlyMap<number, string> = new Map<number, string>([
  [0x8, 'GENERAL'],
  [0x108, 'FATAL_PAGE_FAULT'],
  [0x208, 'UNDEFINED_INSTRUCTION'],
  [0x308, 'SW_BREAKPOINT'],
  [0x408, 'HW_BREAKPOINT'],
  [0x508, 'UNALIGNED_ACCESS'],
  [0x8008, 'THREAD_STARTING'],
  [0x8108, 'THREAD_EXITING'],
  [0x8208, 'POLICY_ERROR'],
  [0x8308, 'PROCESS_STARTING'],
]);

/** Solaris signal numbers (different from Linux from 7 up); aliases printed as Breakpad joins them. */
const SOLARIS_SIGNALS: readonly string[] = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGIOT | SIGABRT', 'SIGEMT', 'SIGFPE', 'SIGKILL',
  'SIGBUS', 'SIGSEGV', 'SIGSYS', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGCLD | SIGCHLD',
  'SIGPWR', 'SIGWINCH', 'SIGURG', 'SIGPOLL | SIGIO', 'SIGSTOP', 'SIGTSTP', 'SIGCONT', 'SIGTTIN', 'SIGTTOU',
  'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ', 'SIGWAITING', 'SIGLWP', 'SIGFREEZE', 'SIGTHAW', 'SIGCANCEL',
  'SIGLOST', 'SIGXRES', 'SIGJVM1', 'SIGJVM2',
];

/** PS3 exception codes 0..22 (MDExceptionCodePS3); note HALTINSTR in the printed text. */
const PS3_EXCEPTIONS: readonly string[] = [
  'UNKNOWN', 'TRAP_EXCEP', 'PRIV_INSTR', 'ILLEGAL_INSTR', 'INSTR_STORAGE', 'INSTR_SEGMENT', 'DATA_STORAGE',
  'DATA_SEGMENT', 'FLOAT_POINT', 'DABR_MATCH', 'ALIGN_EXCEP', 'MEMORY_ACCESS', 'COPRO_ALIGN',
  'COPRO_INVALID_COM', 'COPRO_ERR', 'COPRO_FIR', 'COPRO_DATA_SEGMENT', 'COPRO_DATA_STORAGE',
  'COPRO_STOP_INSTR', 'COPRO_HALT_INSTR', 'COPRO_HALTINSTR_UNKNOWN', 'COPRO_MEMORY_ACCESS', 'GRAPHIC',
];

// ---------------------------------------------------------------------------------------------

/**
 * Breakpad's GetAddressForArchitecture: the crash address is cut to 32 bits for 32-bit CPUs
 * (x86, including X86_WIN64, ARM, MIPS, PPC, SHX). 'riscv', 'sparc' and unknown CPUs keep 64 bits, as there.
 */
function addressForCpu(cpu: string, address: bigint): bigint {
  switch (cpu) {
    case 'x86':
    case 'arm':
    case 'mips':
    case 'ppc':
    case 'shx':
      return address & 0xffffffffn;
    default:
      return BigInt.asUintN(64, address);
  }
}

/**
 * The crash reason and address Breakpad prints ("Crash reason:" / "Crash address:", and the
 * `Crash|reason|address|thread` line of `-m`).
 *
 * Codes the OS has no name for print as `0x%08x / 0x%08x` (code / flags). On Windows that includes
 * every NTSTATUS outside Breakpad's short list of exceptions (e.g. "0xc000000d / 0x00000000"):
 * Breakpad uses NTStatusToString only for the underlying status of an in-page error.
 *
 * osShort: 'windows' | 'linux' | 'android' | 'mac' | 'ios' | 'solaris' | 'fuchsia' | 'ps3' | 'unknown' ...
 * ('unknown' for no system info, which gives the numeric form). 'windows' is taken as Win32 NT/9x;
 * Breakpad gives Win32s and Windows CE dumps the numeric form.
 * cpu: 'x86' | 'amd64' | 'arm64' | 'arm' | 'ppc' | 'mips' | ..., plus 'arm64-old' (see macCpuFamily).
 */
export function crashReason(osShort: string, cpu: string, exception: ExceptionRecordInput): CrashReason {
  const code = exception.code >>> 0;
  const flags = exception.flags >>> 0;
  let address = exception.address;
  let reason: string | undefined;
  switch (osShort) {
    case 'windows': {
      const decoded = windowsReason(code, exception.parameters);
      reason = decoded?.reason;
      if (decoded?.faultAddress !== undefined) address = decoded.faultAddress;
      break;
    }
    case 'linux':
    case 'android':
      reason = linuxReason(code, flags);
      break;
    case 'mac':
    case 'ios':
      reason = macReason(cpu, code, flags);
      break;
    case 'fuchsia': {
      const name = FUCHSIA_EXCEPTIONS.get(code);
      reason = name === undefined ? undefined : `${name} / ${hex32(flags)}`;
      break;
    }
    case 'solaris':
      reason = code > 0 ? SOLARIS_SIGNALS[code] : undefined;
      break;
    case 'ps3':
      reason = PS3_EXCEPTIONS[code];
      break;
  }
  return {
    reason: reason ?? `${hex32(code)} / ${hex32(flags)}`,
    address: addressForCpu(cpu, address),
  };
}

// ---------------------------------------------------------------------------------------------
// Explanations for the text report

/** Below this nothing is normally mapped (Windows reserves 64 KiB; Linux's default vm.mmap_min_addr). */
const NULL_REGION_END = 0x10000n;

/** Fill patterns of the Windows heaps and the MSVC debug runtime, as 32-bit words. */
const FILL_PATTERNS: ReadonlyMap<bigint, string> = new Map([
  [0xccccccccn, 'uninitialised stack memory (MSVC /RTC fill)'],
  [0xcdcdcdcdn, 'uninitialised heap memory (MSVC debug heap fill)'],
  [0xddddddddn, 'freed memory (MSVC debug heap fill)'],
  [0xfdfdfdfdn, 'a guard area past a heap block (MSVC debug heap)'],
  [0xfeeefeeen, 'freed heap memory (HeapFree fill)'],
  [0xbaadf00dn, 'uninitialised heap memory (HeapAlloc fill)'],
  [0xababababn, 'a guard area past a heap block (HeapAlloc)'],
]);

/** What an address says about the pointer that held it, as a clause to append; '' when nothing. */
function addressHint(address: bigint): string {
  if (address < NULL_REGION_END) return ', near null: most likely a null pointer dereference';
  const low = address & 0xffffffffn;
  const high = address >> 32n;
  if (high === 0n || high === low) {
    const fill = FILL_PATTERNS.get(low);
    if (fill) return `, the fill pattern of ${fill}: the pointer itself was read from such memory`;
    const byte = Number(low & 0xffn);
    if (low === BigInt(byte) * 0x01010101n && byte >= 0x20 && byte < 0x7f) {
      const text = String.fromCharCode(byte).repeat(high === 0n ? 4 : 8);
      return `, made of the bytes "${text}": the pointer was overwritten with text`;
    }
  }
  return '';
}

const FAST_FAIL_MEANINGS: ReadonlyMap<string, string> = new Map([
  ['FAST_FAIL_STACK_COOKIE_CHECK_FAILURE', 'a /GS stack cookie was overwritten: a stack buffer overrun'],
  ['FAST_FAIL_CORRUPT_LIST_ENTRY', 'a corrupted LIST_ENTRY was found (heap corruption or use after free)'],
  ['FAST_FAIL_INVALID_ARG', 'the C runtime was passed an invalid argument'],
  ['FAST_FAIL_FATAL_APP_EXIT', 'abort(), std::terminate or another fatal runtime error'],
  ['FAST_FAIL_GUARD_ICALL_CHECK_FAILURE', 'Control Flow Guard stopped an indirect call to an invalid target'],
  ['FAST_FAIL_INVALID_EXCEPTION_CHAIN', 'the SEH handler chain on the stack is corrupt'],
  ['FAST_FAIL_GUARD_SS_FAILURE', 'a return address did not match the CET shadow stack (stack corruption)'],
]);

/** How each access kind is told: the verb, and why such an access faults. */
const ACCESS_WORDS: Readonly<Record<string, { verb: string; why: string }>> = {
  READ: { verb: 'read from', why: 'which is not mapped or not readable' },
  WRITE: { verb: 'wrote to', why: 'which is not mapped or is read-only' },
  EXEC: { verb: 'jumped to', why: 'which is not executable (DEP) or not mapped' },
};

function explainWindows(exception: ExceptionRecordInput, reason: CrashReason): string | undefined {
  const text = reason.reason;
  const at = hex(reason.address);
  const access = /^EXCEPTION_ACCESS_VIOLATION(?:_(READ|WRITE|EXEC))?$/.exec(text);
  if (access) {
    if (exception.parameters.length < 2) return 'Access violation (the exception record gives no fault address)';
    // A general-protection fault (e.g. a non-canonical pointer on x64) leaves Windows no address.
    if (exception.parameters[1] === 0xffffffffffffffffn) {
      return 'Access violation through a non-canonical pointer: the CPU raised a general-protection fault, so Windows reports no real address';
    }
    const words = ACCESS_WORDS[access[1] ?? ''] ?? { verb: 'touched', why: 'which is not mapped or does not allow the access' };
    return `Access violation: the thread ${words.verb} address ${at}${addressHint(reason.address) || `, ${words.why}`}`;
  }
  const inPage = /^EXCEPTION_IN_PAGE_ERROR(?:_[A-Z]+)?(?: \/ (.*))?$/.exec(text);
  if (inPage) {
    const status = inPage[1] ? ` (${inPage[1]})` : '';
    return `In-page error: the page at ${at} could not be read in from its file${status}; the disk, network share or file behind the mapping failed`;
  }
  if (text.startsWith('FAST_FAIL_')) {
    const meaning = FAST_FAIL_MEANINGS.get(text);
    return `Fail fast: the process ended itself on purpose with __fastfail(${text})${meaning ? `: ${meaning}` : ''}`;
  }
  switch (text) {
    case 'EXCEPTION_STACK_BUFFER_OVERRUN':
      return 'Stack buffer overrun: a /GS security cookie check failed, so the stack was overwritten';
    case 'EXCEPTION_STACK_OVERFLOW':
      return 'Stack overflow: the thread ran past the end of its stack (deep or endless recursion, or large stack allocations)';
    case 'EXCEPTION_HEAP_CORRUPTION':
      return 'Heap corruption: the heap manager found its own data damaged (double free, overrun or use after free)';
    case 'EXCEPTION_BREAKPOINT':
      return 'Breakpoint: a breakpoint instruction ran (a debugger, an assertion or __debugbreak)';
    case 'EXCEPTION_SINGLE_STEP':
      return 'Single step: a trace flag or hardware breakpoint fired';
    case 'EXCEPTION_GUARD_PAGE':
      return 'Guard page: the thread touched a PAGE_GUARD page';
    case 'EXCEPTION_DATATYPE_MISALIGNMENT':
      return 'Misaligned data access on a CPU or mode that requires alignment';
    case 'EXCEPTION_ILLEGAL_INSTRUCTION':
      return `Illegal instruction at ${hex(exception.address)}: corrupt code, a jump into data, or an instruction this CPU lacks`;
    case 'EXCEPTION_PRIV_INSTRUCTION':
      return `Privileged instruction at ${hex(exception.address)}: user-mode code ran a kernel-only instruction`;
    case 'EXCEPTION_INT_DIVIDE_BY_ZERO':
      return 'Integer division by zero';
    case 'EXCEPTION_INT_OVERFLOW':
      return 'Integer overflow in a division (INT_MIN / -1)';
    case 'EXCEPTION_INVALID_HANDLE':
      return 'Invalid handle: a closed or never valid handle was used (raised under a debugger or strict handle checks)';
    case 'EXCEPTION_POSSIBLE_DEADLOCK':
      return 'A critical section wait timed out: a possible deadlock';
    case 'Unhandled C++ Exception':
      return 'A C++ exception was thrown and nothing caught it';
    case 'Out of Memory':
      return "Out of memory: Chromium's allocator could not get memory";
    case 'Simulated Exception':
      return 'No crash: the dump was written on request (Crashpad DumpWithoutCrash)';
    case 'DBG_CONTROL_C':
      return 'Ctrl+C in a console process under a debugger';
  }
  if (text.startsWith('0x')) {
    const code = exception.code >>> 0;
    // The CLR's exception code ('CCR').
    if (code === 0xe0434352) return 'A .NET exception was not handled';
    const name = NTSTATUS_NAMES.get(code);
    if (name) return `Exception code ${hex32(code)} is ${name}`;
  }
  return undefined;
}

/** Signal senders (kill, raise, tgkill) share si_addr's bytes with si_pid (low 32 bits) and si_uid. */
function senderHint(address: bigint): string {
  if (address === 0n) return '';
  const pid = address & 0xffffffffn;
  const uid = (address >> 32n) & 0xffffffffn;
  return `; the crash address is not an address here: it holds the sender's pid ${pid} and uid ${uid}`;
}

function explainLinux(exception: ExceptionRecordInput, reason: CrashReason): string | undefined {
  const at = hex(reason.address);
  const [signal, detail] = reason.reason.split(/ \/ ?/);
  switch (signal) {
    case 'SIGSEGV':
      switch (detail) {
        case 'SEGV_MAPERR':
          return `Segmentation fault: address ${at} is not mapped${addressHint(reason.address)}`;
        case 'SEGV_ACCERR':
          return `Segmentation fault: address ${at} is mapped, but its protection forbids the access${addressHint(reason.address)}`;
        case 'SEGV_PKUERR':
          return `Segmentation fault: a memory protection key forbids the access to ${at}`;
        case 'SEGV_MTEAERR':
        case 'SEGV_MTESERR':
          return `Segmentation fault: the pointer's memory tag does not match the memory at ${at} (use after free or overflow)`;
      }
      // SI_KERNEL: on x86 a general-protection fault, which carries no address.
      if ((exception.flags >>> 0) === 0x80) {
        return 'Segmentation fault from a general-protection fault (e.g. a non-canonical pointer): the kernel reports no address';
      }
      return `Segmentation fault at address ${at}${addressHint(reason.address)}`;
    case 'SIGBUS':
      switch (detail) {
        case 'BUS_ADRALN':
          return `Bus error: misaligned access to ${at}`;
        case 'BUS_ADRERR':
          return `Bus error: ${at} is mapped but has nothing behind it (e.g. past the end of a truncated mapped file)`;
        case 'BUS_MCEERR_AR':
        case 'BUS_MCEERR_AO':
          return `Bus error: a hardware memory error (machine check) at ${at}`;
      }
      return `Bus error at ${at}`;
    case 'SIGFPE':
      switch (detail) {
        case 'FPE_INTDIV':
          return 'Integer division by zero';
        case 'FPE_INTOVF':
          return 'Integer overflow';
      }
      return detail?.startsWith('FPE_FLT') ? `Floating-point exception (${detail})` : 'Arithmetic exception, most often an integer division by zero';
    case 'SIGILL':
      return `Illegal instruction at ${at}; compilers emit one (ud2, __builtin_trap) for unreachable code and failed checks`;
    case 'SIGTRAP':
      return 'Trace/breakpoint trap: a breakpoint or trap instruction ran (a debugger, __builtin_trap on some CPUs)';
    case 'SIGABRT':
      return `Abort: the process called abort() (a failed assertion, std::terminate, or corruption found by the C library)${senderHint(reason.address)}`;
    case 'SIGSYS':
      return 'Bad system call: a seccomp filter or the kernel rejected a system call';
    case 'SIGPIPE':
      return 'Broken pipe: the process wrote to a pipe or socket whose reader had gone';
    case 'SIGKILL':
    case 'SIGTERM':
    case 'SIGINT':
    case 'SIGHUP':
    case 'SIGQUIT':
      return `${signal} was sent to the process: it was stopped from outside, not by a fault${senderHint(reason.address)}`;
    case 'DUMP_REQUESTED':
      return 'No crash: the dump was written on request';
  }
  return undefined;
}

function explainMac(exception: ExceptionRecordInput, reason: CrashReason): string | undefined {
  const at = hex(reason.address);
  const [type, detail] = reason.reason.split(' / ');
  switch (type) {
    case 'EXC_BAD_ACCESS':
      switch (detail) {
        case 'KERN_INVALID_ADDRESS':
          return `Bad access: address ${at} is not mapped${addressHint(reason.address)}`;
        case 'KERN_PROTECTION_FAILURE':
          return `Bad access: address ${at} is mapped, but its protection forbids the access${addressHint(reason.address)}`;
        case 'KERN_CODESIGN_ERROR':
          return `Code signing: the page at ${at} failed its signature check`;
        case 'EXC_I386_GPFLT':
          return 'General-protection fault (e.g. a non-canonical pointer): the address is not reliable';
        case 'EXC_ARM_DA_ALIGN':
          return `Misaligned access to ${at}`;
      }
      return `Bad memory access at ${at}${addressHint(reason.address)}`;
    case 'EXC_BAD_INSTRUCTION':
      return `Illegal instruction at ${hex(exception.address)}`;
    case 'EXC_ARITHMETIC':
      return detail === 'EXC_I386_DIV' ? 'Integer division by zero' : 'Arithmetic exception';
    case 'EXC_SOFTWARE':
      if (detail === 'SIGABRT') return 'Abort: the process called abort() (a failed assertion, std::terminate or an uncaught exception)';
      if (detail === 'UNCAUGHT_NS_EXCEPTION') return 'An Objective-C exception was not caught';
      return undefined;
    case 'EXC_BREAKPOINT':
      return 'Trap: a breakpoint or trap instruction ran (Swift runtime checks and __builtin_trap end this way)';
    case 'EXC_GUARD':
      return 'Guard violation: a guarded resource was misused (e.g. a guarded file descriptor was closed)';
    case 'EXC_RESOURCE':
      return 'Resource limit exceeded (CPU, memory or wakeups)';
    case 'Uncaught NSException':
      return 'An Objective-C exception was not caught (Crashpad recorded it before the process died)';
    case 'Simulated Exception':
      return 'No crash: the dump was written on request (Crashpad)';
  }
  return undefined;
}

/**
 * A short human explanation of a crash reason from crashReason(), for the text report; undefined
 * when we have nothing to add to the reason itself.
 */
export function explainCrash(osShort: string, exception: ExceptionRecordInput, reason: CrashReason): string | undefined {
  switch (osShort) {
    case 'windows':
      return explainWindows(exception, reason);
    case 'linux':
    case 'android':
      return explainLinux(exception, reason);
    case 'mac':
    case 'ios':
      return explainMac(exception, reason);
    default:
      return undefined;
  }
}
