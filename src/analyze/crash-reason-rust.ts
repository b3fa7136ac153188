/**
 * The crash reason exactly as rust-minidump prints it: the Display text of its `CrashReason`
 * (minidump/src/minidump.rs, CrashReason::from_exception and `impl fmt::Display`), which
 * `minidump-stackwalk --json` writes as `crash_info.type`. It differs from Breakpad's text
 * (crash-reason.ts) in many places: "SIGSEGV" for si_code SI_USER, "SIGSEGV / SEGV_MAPERR",
 * "EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_...", any NTSTATUS or winerror.h name, "unknown 0x...".
 *
 * The code names are those of rust-minidump's minidump-common/src/errors/{windows,linux,macos}.rs,
 * whose Debug names it prints; the large Windows tables are generated (crash-reason-rust-windows.ts).
 */
import { FAST_FAIL_CODES, LINUX_SIGNALS, type ExceptionRecordInput } from './crash-reason.js';
import { NTSTATUS_NAMES } from './crash-reason-ntstatus.js';
import {
  RUST_FAST_FAIL_CODES_BEYOND_BREAKPAD,
  RUST_NTSTATUS_NAMES_BEYOND_BREAKPAD,
  RUST_WIN_ERROR_FACILITIES,
  RUST_WIN_ERROR_NAMES,
} from './crash-reason-rust-windows.js';

/** Rust's `{:#010x}`: 0x and at least 8 hex digits. */
function hex32(value: number | bigint): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/** Rust's `{:#018x}` of a u64: 0x and 16 hex digits. */
function hex64(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}

const u64 = (value: bigint): bigint => BigInt.asUintN(64, value);

/** CrashReason::Unknown, for an OS rust-minidump does not decode or a code it has no name for. */
function unknown(code: number, flags: number): string {
  return `unknown ${hex32(code)} / ${hex32(flags)}`;
}

// ---------------------------------------------------------------------------------------------
// Windows (Os::Windows: VER_PLATFORM_WIN32_WINDOWS and VER_PLATFORM_WIN32_NT)

const EXCEPTION_ACCESS_VIOLATION = 0xc0000005;
const EXCEPTION_IN_PAGE_ERROR = 0xc0000006;
const STATUS_STACK_BUFFER_OVERRUN = 0xc0000409;

/** ExceptionCodeWindows, checked before any other table, printed as its name but for three special texts. */
const WINDOWS_EXCEPTIONS: ReadonlyMap<number, string> = new Map<number, string>([
  [0x80000001, 'EXCEPTION_GUARD_PAGE'],
  [0x80000002, 'EXCEPTION_DATATYPE_MISALIGNMENT'],
  [0x80000003, 'EXCEPTION_BREAKPOINT'],
  [0x80000004, 'EXCEPTION_SINGLE_STEP'],
  [EXCEPTION_ACCESS_VIOLATION, 'EXCEPTION_ACCESS_VIOLATION'],
  [EXCEPTION_IN_PAGE_ERROR, 'EXCEPTION_IN_PAGE_ERROR'],
  [0xc0000008, 'EXCEPTION_INVALID_HANDLE'],
  [0xc000001d, 'EXCEPTION_ILLEGAL_INSTRUCTION'],
  [0xc0000025, 'EXCEPTION_NONCONTINUABLE_EXCEPTION'],
  [0xc0000026, 'EXCEPTION_INVALID_DISPOSITION'],
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
  [0xc0000194, 'EXCEPTION_POSSIBLE_DEADLOCK'],
  // OUT_OF_MEMORY (Chromium's allocators), UNHANDLED_CPP_EXCEPTION (MSVC throw), SIMULATED (Crashpad): special texts.
  [0xe0000008, 'Out of Memory'],
  [0xe06d7363, 'Unhandled C++ Exception'],
  [0xe0434352, 'MANAGED_EXCEPTION_CODE_V4'],
  [0x0517a7ed, 'Simulated Exception'],
]);

/** ExceptionCodeWindowsAccessType and ExceptionCodeWindowsInPageErrorType: ExceptionInformation[0], all 64 bits. */
const ACCESS_TYPES: ReadonlyMap<bigint, string> = new Map([
  [0n, 'READ'],
  [1n, 'WRITE'],
  [8n, 'EXEC'],
]);

function ntStatusName(status: number): string | undefined {
  return NTSTATUS_NAMES.get(status) ?? RUST_NTSTATUS_NAMES_BEYOND_BREAKPAD.get(status);
}

/** write_nt_status: the NtStatusWindows name, else `{:#010x}`. */
function ntStatusText(status: number): string {
  return ntStatusName(status) ?? hex32(status);
}

/** write_fast_fail: the FastFailCode name, else `{:#010x}`. */
function fastFailText(code: number): string {
  return FAST_FAIL_CODES.get(code) ?? RUST_FAST_FAIL_CODES_BEYOND_BREAKPAD.get(code) ?? hex32(code);
}

/** from_windows_error_with_facility: a severity bit set, a known facility in bits 16..27, a winerror.h code in the low 16 bits. */
function facilityErrorText(code: number): string | undefined {
  if ((code & 0xf0000000) === 0) return undefined;
  const facility = RUST_WIN_ERROR_FACILITIES.get((code & 0x0fff0000) >>> 16);
  const error = RUST_WIN_ERROR_NAMES.get(code & 0xffff);
  return facility !== undefined && error !== undefined ? `${facility} / ${error}` : undefined;
}

/**
 * from_windows_exception. The code is tried as an exception code, a winerror.h code, an NTSTATUS and
 * a facility error, in that order; a code none of them names prints `unknown 0x%08x`, without the flags.
 * The refinements need NumberParameters >= 1 (access violation, fast fail) or >= 3 (in-page error).
 */
function windowsReason(code: number, parameters: readonly bigint[]): string {
  const [kindParam, , statusParam] = parameters;
  const exception = WINDOWS_EXCEPTIONS.get(code);
  if (exception !== undefined) {
    const kind = kindParam === undefined ? undefined : ACCESS_TYPES.get(u64(kindParam));
    if (code === EXCEPTION_ACCESS_VIOLATION && kind !== undefined) return `EXCEPTION_ACCESS_VIOLATION_${kind}`;
    if (code === EXCEPTION_IN_PAGE_ERROR && kind !== undefined && statusParam !== undefined) {
      // The status is 32 bits; 32-bit writers sign-extend it.
      return `EXCEPTION_IN_PAGE_ERROR_${kind} / ${ntStatusText(Number(statusParam & 0xffffffffn))}`;
    }
    return exception;
  }
  const winError = RUST_WIN_ERROR_NAMES.get(code);
  if (winError !== undefined) return winError;
  const ntStatus = ntStatusName(code);
  if (ntStatus !== undefined) {
    if (code === STATUS_STACK_BUFFER_OVERRUN && kindParam !== undefined) {
      return `EXCEPTION_STACK_BUFFER_OVERRUN / ${fastFailText(Number(kindParam & 0xffffffffn))}`;
    }
    return ntStatus;
  }
  return facilityErrorText(code) ?? `unknown ${hex32(code)}`;
}

// ---------------------------------------------------------------------------------------------
// Linux and Android (signal number, si_code)

/** ExceptionCodeLinuxSicode (asm-generic/siginfo.h), the si_code read as a signed 32-bit number. */
const SI_CODES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'SI_USER'],
  [0x80, 'SI_KERNEL'],
  [-1, 'SI_QUEUE'],
  [-2, 'SI_TIMER'],
  [-3, 'SI_MESGQ'],
  [-4, 'SI_ASYNCIO'],
  [-5, 'SI_SIGIO'],
  [-6, 'SI_TKILL'],
  [-7, 'SI_DETHREAD'],
  [-60, 'SI_ASYNCNL'],
]);

/** The signal-specific si_code kinds (ExceptionCodeLinuxSig*Kind), names of si_code 1, 2, ... */
const SIGNAL_KINDS: ReadonlyMap<number, readonly string[]> = new Map<number, readonly string[]>([
  [4, ['ILL_ILLOPC', 'ILL_ILLOPN', 'ILL_ILLADR', 'ILL_ILLTRP', 'ILL_PRVOPC', 'ILL_PRVREG', 'ILL_COPROC', 'ILL_BADSTK', 'ILL_BADIADDR']],
  [5, ['TRAP_BRKPT', 'TRAP_TRACE', 'TRAP_BRANCH', 'TRAP_HWBKPT', 'TRAP_UNK', 'TRAP_PERF']],
  [7, ['BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO']],
  [8, ['FPE_INTDIV', 'FPE_INTOVF', 'FPE_FLTDIV', 'FPE_FLTOVF', 'FPE_FLTUND', 'FPE_FLTRES', 'FPE_FLTINV', 'FPE_FLTSUB']],
  [11, ['SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR']],
  [31, ['SYS_SECCOMP', 'SYS_USER_DISPATCH']],
]);

/** from_linux_exception and write_signal: the kind, else the generic si_code (SI_USER prints the signal alone), else the flags in hex. */
function linuxReason(code: number, flags: number): string | undefined {
  const signal = LINUX_SIGNALS.get(code);
  if (signal === undefined) return undefined;
  const kind = flags >= 1 ? SIGNAL_KINDS.get(code)?.[flags - 1] : undefined;
  if (kind !== undefined) return `${signal} / ${kind}`;
  const siCode = SI_CODES.get(flags | 0);
  if (siCode === 'SI_USER') return signal;
  return `${signal} / ${siCode ?? hex32(flags)}`;
}

// ---------------------------------------------------------------------------------------------
// macOS and iOS (Mach exception type, first exception code)

const EXC_BAD_ACCESS = 1;
const EXC_BAD_INSTRUCTION = 2;
const EXC_ARITHMETIC = 3;
const EXC_SOFTWARE = 5;
const EXC_BREAKPOINT = 6;
const EXC_RESOURCE = 11;
const EXC_GUARD = 12;
/** Crashpad's SimulateCrash ('CPsx'), printed as a text of its own whatever the flags. */
const SIMULATED = 0x43507378;

/** ExceptionCodeMac (osfmk/mach/exception_types.h). */
const MAC_EXCEPTIONS: ReadonlyMap<number, string> = new Map<number, string>([
  [EXC_BAD_ACCESS, 'EXC_BAD_ACCESS'],
  [EXC_BAD_INSTRUCTION, 'EXC_BAD_INSTRUCTION'],
  [EXC_ARITHMETIC, 'EXC_ARITHMETIC'],
  [4, 'EXC_EMULATION'],
  [EXC_SOFTWARE, 'EXC_SOFTWARE'],
  [EXC_BREAKPOINT, 'EXC_BREAKPOINT'],
  [7, 'EXC_SYSCALL'],
  [8, 'EXC_MACH_SYSCALL'],
  [9, 'EXC_RPC_ALERT'],
  [EXC_RESOURCE, 'EXC_RESOURCE'],
  [EXC_GUARD, 'EXC_GUARD'],
]);

/** ExceptionCodeMacBadAccessKernType (kern_return_t), tried before the CPU's own codes. */
const KERN_CODES: ReadonlyMap<number, string> = new Map<number, string>([
  [1, 'KERN_INVALID_ADDRESS'],
  [2, 'KERN_PROTECTION_FAILURE'],
  [5, 'KERN_FAILURE'],
  [8, 'KERN_NO_ACCESS'],
  [9, 'KERN_MEMORY_FAILURE'],
  [10, 'KERN_MEMORY_ERROR'],
  [50, 'KERN_CODESIGN_ERROR'],
]);

/** ExceptionCodeMacSoftwareType (bsd/sys/ux_exception.h and PowerPC's), on every CPU. */
const SOFTWARE_CODES: ReadonlyMap<number, string> = new Map<number, string>([
  [0x00010002, 'SIGABRT'],
  [0xdeadc0de, 'UNCAUGHT_NS_EXCEPTION'],
  [0x00000001, 'EXC_PPC_TRAP'],
  [0x00010100, 'EXC_PPC_MIGRATE'],
]);

/** The CPUs rust-minidump has Mach codes for: Cpu::Arm64 (not 32-bit ARM), Cpu::Ppc, Cpu::X86 and X86_64. */
type MacCpu = 'arm64' | 'ppc' | 'x86';

function macCpu(cpu: string): MacCpu | undefined {
  switch (cpu) {
    case 'arm64':
    case 'arm64-old':
      return 'arm64';
    case 'ppc':
      return 'ppc';
    case 'x86':
    case 'amd64':
      return 'x86';
    default:
      return undefined;
  }
}

const codes = (entries: readonly (readonly [number, string])[]): ReadonlyMap<number, string> => new Map(entries);

/** The CPU-specific code names per exception type (osfmk/mach/{arm,ppc,i386}/exception.h). */
const MAC_CPU_CODES: ReadonlyMap<number, Readonly<Record<MacCpu, ReadonlyMap<number, string>>>> = new Map([
  [EXC_BAD_ACCESS, {
    arm64: codes([[0x101, 'EXC_ARM_DA_ALIGN'], [0x102, 'EXC_ARM_DA_DEBUG'], [0x103, 'EXC_ARM_SP_ALIGN'], [0x104, 'EXC_ARM_SWP'], [0x105, 'EXC_ARM_PAC_FAIL']]),
    ppc: codes([[0x101, 'EXC_PPC_VM_PROT_READ'], [0x102, 'EXC_PPC_BADSPACE'], [0x103, 'EXC_PPC_UNALIGNED']]),
    x86: codes([[13, 'EXC_I386_GPFLT']]),
  }],
  [EXC_BAD_INSTRUCTION, {
    arm64: codes([[1, 'EXC_ARM_UNDEFINED']]),
    ppc: codes([[1, 'EXC_PPC_INVALID_SYSCALL'], [2, 'EXC_PPC_UNIPL_INST'], [3, 'EXC_PPC_PRIVINST'], [4, 'EXC_PPC_PRIVREG'], [5, 'EXC_PPC_TRACE'], [6, 'EXC_PPC_PERFMON']]),
    x86: codes([[1, 'EXC_I386_INVOP'], [10, 'EXC_I386_INVTSSFLT'], [11, 'EXC_I386_SEGNPFLT'], [12, 'EXC_I386_STKFLT'], [13, 'EXC_I386_GPFLT'], [17, 'EXC_I386_ALIGNFLT']]),
  }],
  [EXC_ARITHMETIC, {
    arm64: codes([[1, 'EXC_ARM_FP_IO'], [2, 'EXC_ARM_FP_DZ'], [3, 'EXC_ARM_FP_OF'], [4, 'EXC_ARM_FP_UF'], [5, 'EXC_ARM_FP_IX'], [6, 'EXC_ARM_FP_ID']]),
    // Sic: EXC_FLT_INEXACT without PPC, and the two emulation codes, as rust-minidump has them.
    ppc: codes([[1, 'EXC_PPC_OVERFLOW'], [2, 'EXC_PPC_ZERO_DIVIDE'], [3, 'EXC_FLT_INEXACT'], [4, 'EXC_PPC_FLT_ZERO_DIVIDE'], [5, 'EXC_PPC_FLT_UNDERFLOW'], [6, 'EXC_PPC_FLT_OVERFLOW'], [7, 'EXC_PPC_FLT_NOT_A_NUMBER'], [8, 'EXC_PPC_NOEMULATION'], [9, 'EXC_PPC_ALTIVECASSIST']]),
    x86: codes([[1, 'EXC_I386_DIV'], [2, 'EXC_I386_INTO'], [3, 'EXC_I386_NOEXT'], [4, 'EXC_I386_EXTOVR'], [5, 'EXC_I386_EXTERR'], [6, 'EXC_I386_EMERR'], [7, 'EXC_I386_BOUND'], [8, 'EXC_I386_SSEEXTERR']]),
  }],
  [EXC_BREAKPOINT, {
    arm64: codes([[1, 'EXC_ARM_BREAKPOINT']]),
    ppc: codes([[1, 'EXC_PPC_BREAKPOINT']]),
    x86: codes([[1, 'EXC_I386_SGL'], [2, 'EXC_I386_BPT']]),
  }],
]);

/** ExceptionCodeMacResourceType (osfmk/kern/exc_resource.h), from bits 29..31 of the flags. */
const RESOURCE_TYPES: readonly string[] = ['', 'RESOURCE_TYPE_CPU', 'RESOURCE_TYPE_WAKEUPS', 'RESOURCE_TYPE_MEMORY', 'RESOURCE_TYPE_IO', 'RESOURCE_TYPE_THREADS'];

/** ExceptionCodeMacGuardType (osfmk/kern/exc_guard.h), from bits 29..31 of the flags. */
const GUARD_TYPES: readonly string[] = [
  'GUARD_TYPE_NONE', 'GUARD_TYPE_MACH_PORT', 'GUARD_TYPE_FD', 'GUARD_TYPE_USER', 'GUARD_TYPE_VN', 'GUARD_TYPE_VIRT_MEMORY', 'GUARD_TYPE_REJECTED_SC',
];

/** The resource flavors with more than one value; the others have only flavor 1. */
const RESOURCE_CPU_FLAVORS: ReadonlyMap<number, string> = codes([[1, 'FLAVOR_CPU_MONITOR'], [2, 'FLAVOR_CPU_MONITOR_FATAL']]);
const RESOURCE_IO_FLAVORS: ReadonlyMap<number, string> = codes([[1, 'FLAVOR_IO_PHYSICAL_WRITES'], [2, 'FLAVOR_IO_LOGICAL_WRITES']]);

const GUARD_MACH_PORT_FLAVORS: ReadonlyMap<number, string> = codes([
  [1, 'GUARD_EXC_DESTROY'],
  [2, 'GUARD_EXC_MOD_REFS'],
  [3, 'GUARD_EXC_INVALID_OPTIONS'],
  [4, 'GUARD_EXC_SET_CONTEXT'],
  [5, 'GUARD_EXC_THREAD_SET_STATE'],
  [0x8, 'GUARD_EXC_UNGUARDED'],
  [0x10, 'GUARD_EXC_INCORRECT_GUARD'],
  [0x20, 'GUARD_EXC_IMMOVABLE'],
  [0x40, 'GUARD_EXC_STRICT_REPLY'],
  [0x80, 'GUARD_EXC_MSG_FILTERED'],
  [0x100, 'GUARD_EXC_INVALID_RIGHT'],
  [0x200, 'GUARD_EXC_INVALID_NAME'],
  [0x400, 'GUARD_EXC_INVALID_VALUE'],
  [0x800, 'GUARD_EXC_INVALID_ARGUMENT'],
  [0x1000, 'GUARD_EXC_RIGHT_EXISTS'],
  [0x2000, 'GUARD_EXC_KERN_NO_SPACE'],
  [0x4000, 'GUARD_EXC_KERN_FAILURE'],
  [0x8000, 'GUARD_EXC_KERN_RESOURCE'],
  [0x10000, 'GUARD_EXC_SEND_INVALID_REPLY'],
  [0x20000, 'GUARD_EXC_SEND_INVALID_VOUCHER'],
  [0x40000, 'GUARD_EXC_SEND_INVALID_RIGHT'],
  [0x80000, 'GUARD_EXC_RCV_INVALID_NAME'],
  [0x100000, 'GUARD_EXC_RCV_GUARDED_DESC'],
  [0x200000, 'GUARD_EXC_MOD_REFS_NON_FATAL'],
  [0x400000, 'GUARD_EXC_IMMOVABLE_NON_FATAL'],
  [0x800000, 'GUARD_EXC_REQUIRE_REPLY_PORT_SEMANTICS'],
  [0x1000000, 'GUARD_EXC_EXCEPTION_BEHAVIOR_ENFORCE'],
]);

const GUARD_FD_FLAVORS: ReadonlyMap<number, string> = codes([
  [0x1, 'GUARD_EXC_CLOSE'],
  [0x2, 'GUARD_EXC_DUP'],
  [0x4, 'GUARD_EXC_NOCLOEXEC'],
  [0x8, 'GUARD_EXC_SOCKET_IPC'],
  [0x10, 'GUARD_EXC_FILEPORT'],
  [0x20, 'GUARD_EXC_MISMATCH'],
  [0x40, 'GUARD_EXC_WRITE'],
]);

const GUARD_VN_FLAVORS: ReadonlyMap<number, string> = codes([
  [0x1, 'GUARD_EXC_RENAME_TO'],
  [0x2, 'GUARD_EXC_RENAME_FROM'],
  [0x4, 'GUARD_EXC_UNLINK'],
  [0x8, 'GUARD_EXC_WRITE_OTHER'],
  [0x10, 'GUARD_EXC_TRUNC_OTHER'],
  [0x20, 'GUARD_EXC_LINK'],
  [0x40, 'GUARD_EXC_EXCHDATA'],
]);

/** Both codes of an undecoded flavor, `{:#018x} / {:#018x}`. */
const rawCodes = (code: bigint, subcode: bigint): string => `${hex64(code)} / ${hex64(subcode)}`;

/** write_exc_resource: the flavor from bits 58..60 of the code, then fields packed per type. */
function resourceText(type: number, code: bigint, subcode: bigint): string {
  const flavor = Number((code >> 58n) & 0x7n);
  const head = `EXC_RESOURCE / ${RESOURCE_TYPES[type]} / `;
  switch (type) {
    case 1: {
      const name = RESOURCE_CPU_FLAVORS.get(flavor);
      // Sic: the limit and consumption are masked to 3 bits, as rust-minidump does.
      if (name) return `${head}${name} interval: ${(code >> 7n) & 0x1ffffffn}s CPU limit: ${code & 0x7n}% CPU consumed: ${subcode & 0x7n}%`;
      break;
    }
    case 2:
      if (flavor === 1) return `${head}FLAVOR_WAKEUPS_MONITOR interval: ${(code >> 20n) & 0xfffffn}s wakeups permitted: ${code & 0xfffn} wakeups observed: ${subcode & 0xfffn}`;
      break;
    case 3:
      if (flavor === 1) return `${head}FLAVOR_HIGH_WATERMARK high watermark limit: ${code & 0x1fffn}MiB`;
      break;
    case 4: {
      const name = RESOURCE_IO_FLAVORS.get(flavor);
      if (name) return `${head}${name} interval: ${(code >> 15n) & 0x1ffffn}s I/O limit: ${code & 0x7fffn}% I/O observed: ${subcode & 0x7fffn}%`;
      break;
    }
    case 5:
      if (flavor === 1) return `${head}FLAVOR_THREADS_HIGH_WATERMARK high watermark limit: ${code & 0x7fffn}`;
      break;
  }
  return head + rawCodes(code, subcode);
}

/** write_exc_guard: the flavor from bits 32..60 of the code, then fields per guard type. */
function guardText(type: number, code: bigint, subcode: bigint): string {
  const flavor = Number((code >> 32n) & 0x1fffffffn);
  const head = `EXC_GUARD / ${GUARD_TYPES[type]}`;
  const low28 = code & 0xfffffffn;
  let detail: string | undefined;
  switch (type) {
    case 0:
      return head;
    case 1: {
      const name = GUARD_MACH_PORT_FLAVORS.get(flavor);
      if (name) detail = `${name} port name: ${low28}${subcode !== 0n ? ` subcode: ${subcode}` : ''}`;
      break;
    }
    case 2: {
      const name = GUARD_FD_FLAVORS.get(flavor);
      if (name) detail = `${name} file descriptor: ${low28} guard identifier: ${subcode}`;
      break;
    }
    case 3:
      // Sic: no space before the slash here.
      return `${head}/ namespace: ${code & 0xffffffffn} guard identifier: ${subcode}`;
    case 4: {
      const name = GUARD_VN_FLAVORS.get(flavor);
      if (name) detail = `${name} pid: ${low28} guard identifier: ${subcode}`;
      break;
    }
    case 5:
      if (flavor === 1) detail = `GUARD_EXC_DEALLOC_GAP offset: ${subcode}`;
      break;
    case 6:
      if (flavor === 0) detail = `GUARD_EXC_MACH_TRAP syscall: ${subcode}`;
      break;
  }
  return `${head} / ${detail ?? rawCodes(code, subcode)}`;
}

/**
 * from_mac_exception. EXC_RESOURCE and EXC_GUARD decode ExceptionInformation[1] and [2], which
 * rust-minidump reads whatever NumberParameters says; we have only the counted ones and take a
 * missing one as 0 (what writers leave there).
 */
function macReason(cpu: string, code: number, flags: number, parameters: readonly bigint[]): string | undefined {
  if (code === SIMULATED) return 'Simulated Exception';
  const name = MAC_EXCEPTIONS.get(code);
  if (name === undefined) return undefined;
  const family = macCpu(cpu);
  let detail: string | undefined;
  switch (code) {
    case EXC_BAD_ACCESS:
      detail = KERN_CODES.get(flags) ?? (family && MAC_CPU_CODES.get(code)?.[family].get(flags));
      break;
    case EXC_BAD_INSTRUCTION:
    case EXC_ARITHMETIC:
    case EXC_BREAKPOINT:
      detail = family && MAC_CPU_CODES.get(code)?.[family].get(flags);
      break;
    case EXC_SOFTWARE:
      detail = SOFTWARE_CODES.get(flags);
      break;
    case EXC_RESOURCE:
    case EXC_GUARD: {
      const type = flags >>> 29;
      const info = (i: number): bigint => u64(parameters[i] ?? 0n);
      if (code === EXC_RESOURCE && type >= 1 && type <= 5) return resourceText(type, info(1), info(2));
      if (code === EXC_GUARD && type <= 6) return guardText(type, info(1), info(2));
      break;
    }
  }
  return `${name} / ${detail ?? hex32(flags)}`;
}

// ---------------------------------------------------------------------------------------------

/**
 * The crash reason as rust-minidump's `minidump-stackwalk` prints it (`crash_info.type` of `--json`).
 *
 * osShort and cpu as in SystemInfo (see crashReason in crash-reason.ts). rust-minidump decodes
 * Windows, Linux, Android, macOS and iOS; any other OS gives `unknown 0x%08x / 0x%08x` (code / flags).
 * One difference we cannot see from osShort: rust-minidump takes only the Win32 9x and NT platform
 * ids as Windows, so a Win32s or Windows CE dump (osShort 'windows' here) would be `unknown ...` there.
 */
export function rustMinidumpCrashReason(osShort: string, cpu: string, exception: ExceptionRecordInput): string {
  const code = exception.code >>> 0;
  const flags = exception.flags >>> 0;
  let reason: string | undefined;
  switch (osShort) {
    case 'windows':
      reason = windowsReason(code, exception.parameters);
      break;
    case 'linux':
    case 'android':
      reason = linuxReason(code, flags);
      break;
    case 'mac':
    case 'ios':
      reason = macReason(cpu, code, flags, exception.parameters);
      break;
  }
  return reason ?? unknown(code, flags);
}

/**
 * rust-minidump's from_windows_error, used for a thread's TEB LastErrorValue: a winerror.h name,
 * else an NTSTATUS name, else a facility error, else `unknown 0x%08x`.
 */
export function rustMinidumpWindowsError(code: number): string {
  const value = code >>> 0;
  return RUST_WIN_ERROR_NAMES.get(value) ?? ntStatusName(value) ?? facilityErrorText(value) ?? `unknown ${hex32(value)}`;
}
