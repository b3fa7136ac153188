import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crashReason, explainCrash, type ExceptionRecordInput } from './crash-reason.js';

function record(code: number, flags: number, address: bigint, parameters: readonly bigint[] = []): ExceptionRecordInput {
  return { code, flags, address, parameters };
}

/** The `reason|address` part of Breakpad's `Crash|reason|address|thread` line. */
function crashLine(osShort: string, cpu: string, exception: ExceptionRecordInput): string {
  const { reason, address } = crashReason(osShort, cpu, exception);
  return `${reason}|0x${address.toString(16)}`;
}

/**
 * Every corpus dump with an exception stream: the raw MINIDUMP_EXCEPTION as minidump_dump prints it
 * (code, flags, address, ExceptionInformation[0 .. NumberParameters)), and the Crash line of
 * `minidump_stackwalk -m`. Two more corpus dumps have no exception stream ("No crash").
 */
const CORPUS: readonly [dump: string, os: string, cpu: string, code: number, flags: number, address: bigint, parameters: bigint[], expected: string][] = [
  ['breakpad--ascii_read_av', 'windows', 'x86', 0xc0000005, 0x0, 0xd6a6cdn, [0x0n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x41414141'],
  ['breakpad--ascii_read_av_block_write', 'windows', 'x86', 0xc0000005, 0x0, 0x111a6cdn, [0x0n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x41414141'],
  ['breakpad--ascii_read_av_clobber_write', 'windows', 'x86', 0xc0000005, 0x0, 0x96a6cdn, [0x0n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x41414141'],
  ['breakpad--ascii_read_av_conditional', 'windows', 'x86', 0xc0000005, 0x0, 0x15a80dn, [0x0n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x41414141'],
  ['breakpad--ascii_read_av_then_jmp', 'windows', 'x86', 0xc0000005, 0x0, 0xe2a6cdn, [0x0n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x41414141'],
  ['breakpad--ascii_read_av_xchg_write', 'windows', 'x86', 0xc0000005, 0x0, 0xa3a6cdn, [0x0n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x41414141'],
  ['breakpad--ascii_write_av', 'windows', 'x86', 0xc0000005, 0x0, 0x3a6cdn, [0x1n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x41414141'],
  ['breakpad--ascii_write_av_arg_to_call', 'windows', 'x86', 0xc0000005, 0x0, 0x2ba6cdn, [0x1n, 0x41414141n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x41414141'],
  ['breakpad--exec_av_on_stack', 'windows', 'x86', 0xc0000005, 0x0, 0x3df944n, [0x8n, 0x3df944n], 'EXCEPTION_ACCESS_VIOLATION_EXEC|0x3df944'],
  ['breakpad--linux_divide_by_zero', 'linux', 'amd64', 0x8, 0x0, 0x401f27n, [], 'SIGFPE / 0x00000000|0x401f27'],
  ['breakpad--linux_executable_heap', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_executable_stack', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_inline', 'linux', 'amd64', 0x4, 0x2, 0x2161b6n, [], 'SIGILL / ILL_ILLOPN|0x2161b6'],
  ['breakpad--linux_inside_module_exe_region1', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_inside_module_exe_region2', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_jmp_to_0', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_jmp_to_module_not_exe_region', 'linux', 'amd64', 0xb, 0x0, 0x616500n, [], 'SIGSEGV /0x00000000|0x616500'],
  ['breakpad--linux_null_dereference', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_null_read_av', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_outside_module', 'linux', 'amd64', 0xb, 0x0, 0x29cd74n, [], 'SIGSEGV /0x00000000|0x29cd74'],
  ['breakpad--linux_overflow', 'linux', 'amd64', 0x6, 0x0, 0x3e8000039ben, [], 'SIGABRT|0x3e8000039be'],
  ['breakpad--linux_raise_sigabrt', 'linux', 'amd64', 0x6, 0x0, 0x4d14400005be6n, [], 'SIGABRT|0x4d14400005be6'],
  ['breakpad--linux_stack_pointer_in_module', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_stack_pointer_in_stack', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_stack_pointer_in_stack_alt_name', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_stacksmash', 'linux', 'amd64', 0xb, 0x0, 0x0n, [], 'SIGSEGV /0x00000000|0x0'],
  ['breakpad--linux_write_to_nonwritable_module', 'linux', 'amd64', 0xb, 0x0, 0x410000n, [], 'SIGSEGV /0x00000000|0x410000'],
  ['breakpad--linux_write_to_nonwritable_region_math', 'linux', 'amd64', 0xb, 0x0, 0x72eb80n, [], 'SIGSEGV /0x00000000|0x72eb80'],
  ['breakpad--linux_write_to_outside_module', 'linux', 'amd64', 0xb, 0x0, 0x390000n, [], 'SIGSEGV /0x00000000|0x390000'],
  ['breakpad--linux_write_to_outside_module_via_math', 'linux', 'amd64', 0xb, 0x0, 0x732b80n, [], 'SIGSEGV /0x00000000|0x732b80'],
  ['breakpad--linux_write_to_under_4k', 'linux', 'amd64', 0xb, 0x0, 0xf93n, [], 'SIGSEGV /0x00000000|0xf93'],
  ['breakpad--minidump2', 'windows', 'x86', 0xc0000005, 0x0, 0x40429en, [0x1n, 0x45n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x45'],
  ['breakpad--minidump_32bit_crash_addr', 'windows', 'x86', 0xc0000005, 0x0, 0x40429en, [0x1n, 0xffffffff00000045n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x45'],
  ['breakpad--minidump_crashpad_annotation', 'ios', 'amd64', 0x43506e78, 0x0, 0x1030e9c34n, [0x43506e78n, 0x0n, 0x0n], 'Uncaught NSException|0x1030e9c34'],
  ['breakpad--null_read_av', 'windows', 'x86', 0xc0000005, 0x0, 0x90a6cdn, [0x0n, 0x0n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x0'],
  ['breakpad--null_write_av', 'windows', 'x86', 0xc0000005, 0x0, 0x103a6cdn, [0x1n, 0x0n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x0'],
  ['breakpad--read_av_clobber_write', 'windows', 'x86', 0xc0000005, 0x0, 0x101098n, [0x0n, 0x4e3c9n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x4e3c9'],
  ['breakpad--read_av_conditional', 'windows', 'x86', 0xc0000005, 0x0, 0xd4109en, [0x0n, 0x4e3c9n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x4e3c9'],
  ['breakpad--read_av_non_null', 'windows', 'x86', 0xc0000005, 0x0, 0x991098n, [0x0n, 0x4e3c9n], 'EXCEPTION_ACCESS_VIOLATION_READ|0x4e3c9'],
  ['breakpad--stack_exhaustion', 'windows', 'x86', 0xc00000fd, 0x0, 0xdea637n, [0x0n, 0x102000n], 'EXCEPTION_STACK_OVERFLOW|0xdea637'],
  ['breakpad--thread_name_list', 'windows', 'x86', 0xc0000005, 0x0, 0x4015fdn, [0x0n, 0xf1004n], 'EXCEPTION_ACCESS_VIOLATION_READ|0xf1004'],
  ['breakpad--tiny-exe-fastfail', 'windows', 'amd64', 0xc0000409, 0x1, 0x7ff75355af42n, [0x7n], 'FAST_FAIL_FATAL_APP_EXIT|0x7ff75355af42'],
  ['breakpad--write_av_non_canonical', 'windows', 'amd64', 0xc0000005, 0x0, 0x7ff738721331n, [0x0n, 0xffffffffffffffffn], 'EXCEPTION_ACCESS_VIOLATION_READ|0xffffffffffffffff'],
  ['breakpad--write_av_non_null', 'windows', 'x86', 0xc0000005, 0x0, 0xc11097n, [0x1n, 0x4e3c9n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x4e3c9'],
  ['radare2--calc', 'windows', 'amd64', 0x80000003, 0x0, 0x7776ae10n, [0x0n], 'EXCEPTION_BREAKPOINT|0x7776ae10'],
  ['rust-minidump--invalid-parameter', 'windows', 'amd64', 0xc000000d, 0x0, 0x0n, [0xfc218feac0n, 0xfc218fecc0n, 0x20n], '0xc000000d / 0x00000000|0x0'],
  ['rust-minidump--linux-mini', 'linux', 'amd64', 0xb, 0x0, 0x45n, [], 'SIGSEGV /0x00000000|0x45'],
  ['rust-minidump--pipeline-inlines-macos-segv', 'mac', 'amd64', 0x1, 0x1, 0xffffffff80000042n, [0x1n, 0x1n, 0xffffffff80000042n], 'EXC_BAD_ACCESS / KERN_INVALID_ADDRESS|0xffffffff80000042'],
  ['rust-minidump--simple-crashpad', 'mac', 'amd64', 0x0, 0x0, 0x7fff6f41333an, [0xan, 0x6000000n, 0x0n], '0x00000000 / 0x00000000|0x7fff6f41333a'],
  ['rust-minidump--test', 'windows', 'x86', 0xc0000005, 0x0, 0x40429en, [0x1n, 0x45n], 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x45'],
];

describe('crashReason on the corpus, against minidump_stackwalk', () => {
  for (const [dump, os, cpu, code, flags, address, parameters, expected] of CORPUS) {
    test(dump, () => {
      assert.equal(crashLine(os, cpu, record(code, flags, address, parameters)), expected);
    });
  }
});

describe('crashReason on Windows', () => {
  const av = (parameters: bigint[], cpu = 'amd64'): string => crashLine('windows', cpu, record(0xc0000005, 0, 0x401000n, parameters));

  test('access violations: the kind from parameter 0, the address from parameter 1', () => {
    assert.equal(av([0n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION_READ|0x10');
    assert.equal(av([1n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x10');
    assert.equal(av([8n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION_EXEC|0x10');
    assert.equal(av([2n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION|0x10');
    // Compared as the full 64-bit parameter, not its low half.
    assert.equal(av([0x100000001n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION|0x10');
  });

  test('access violations with too few parameters keep the exception address', () => {
    assert.equal(av([]), 'EXCEPTION_ACCESS_VIOLATION|0x401000');
    assert.equal(av([1n]), 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x401000');
  });

  test('the fault address is cut to 32 bits on x86 (minidump_32bit_crash_addr), not on amd64', () => {
    assert.equal(av([1n, 0xffffffff00000045n], 'x86'), 'EXCEPTION_ACCESS_VIOLATION_WRITE|0x45');
    assert.equal(av([1n, 0xffffffff00000045n], 'amd64'), 'EXCEPTION_ACCESS_VIOLATION_WRITE|0xffffffff00000045');
  });

  test('in-page errors add the NTSTATUS from parameter 2, named or in hex', () => {
    const ipe = (parameters: bigint[]): string => crashLine('windows', 'amd64', record(0xc0000006, 0, 0x401000n, parameters));
    assert.equal(ipe([0n, 0x7ff600001000n, 0xc000009cn]), 'EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR|0x7ff600001000');
    assert.equal(ipe([1n, 0x20n, 0xc0000185n]), 'EXCEPTION_IN_PAGE_ERROR_WRITE / STATUS_IO_DEVICE_ERROR|0x20');
    assert.equal(ipe([8n, 0x20n, 0xc000000en]), 'EXCEPTION_IN_PAGE_ERROR_EXEC / STATUS_NO_SUCH_DEVICE|0x20');
    // Only the low 32 bits of the parameter are the status.
    assert.equal(ipe([8n, 0x20n, 0x1c000000en]), 'EXCEPTION_IN_PAGE_ERROR_EXEC / STATUS_NO_SUCH_DEVICE|0x20');
    assert.equal(ipe([0n, 0x20n, 0n]), 'EXCEPTION_IN_PAGE_ERROR_READ / 0x00000000|0x20');
    assert.equal(ipe([3n, 0x20n]), 'EXCEPTION_IN_PAGE_ERROR|0x20');
    assert.equal(ipe([]), 'EXCEPTION_IN_PAGE_ERROR|0x401000');
  });

  test('STATUS_STACK_BUFFER_OVERRUN is named by its FAST_FAIL_ code', () => {
    const overrun = (parameters: bigint[]): string => crashReason('windows', 'amd64', record(0xc0000409, 1, 0x7ff75355af42n, parameters)).reason;
    assert.equal(overrun([7n]), 'FAST_FAIL_FATAL_APP_EXIT');
    assert.equal(overrun([1n]), 'FAST_FAIL_VTGUARD_CHECK_FAILURE');
    assert.equal(overrun([2n]), 'FAST_FAIL_STACK_COOKIE_CHECK_FAILURE');
    assert.equal(overrun([54n]), 'FAST_FAIL_UNHANDLED_LSS_EXCEPTON');
    assert.equal(overrun([70n]), 'FAST_FAIL_INVALID_FLS_DATA');
    // 0 is the legacy /GS code, 15-17 were never assigned, 71 is past Breakpad's list.
    for (const code of [0n, 15n, 16n, 17n, 71n, 0x100000007n]) assert.equal(overrun([code]), 'EXCEPTION_STACK_BUFFER_OVERRUN');
    assert.equal(overrun([]), 'EXCEPTION_STACK_BUFFER_OVERRUN');
  });

  test('codes named by the code alone', () => {
    const name = (code: number): string => crashReason('windows', 'x86', record(code, 0, 0n)).reason;
    assert.equal(name(0x40010005), 'DBG_CONTROL_C');
    assert.equal(name(0x80000001), 'EXCEPTION_GUARD_PAGE');
    assert.equal(name(0x80000003), 'EXCEPTION_BREAKPOINT');
    assert.equal(name(0xc000008c), 'EXCEPTION_BOUNDS_EXCEEDED');
    assert.equal(name(0xc0000094), 'EXCEPTION_INT_DIVIDE_BY_ZERO');
    assert.equal(name(0xc0000096), 'EXCEPTION_PRIV_INSTRUCTION');
    assert.equal(name(0xc00000fd), 'EXCEPTION_STACK_OVERFLOW');
    assert.equal(name(0xc0000194), 'EXCEPTION_POSSIBLE_DEADLOCK');
    assert.equal(name(0xc0000374), 'EXCEPTION_HEAP_CORRUPTION');
    assert.equal(name(0xe0000008), 'Out of Memory');
    assert.equal(name(0xe06d7363), 'Unhandled C++ Exception');
    assert.equal(name(0x0517a7ed), 'Simulated Exception');
  });

  test('any other code prints as code / flags in hex, even a well-known NTSTATUS', () => {
    assert.equal(crashReason('windows', 'amd64', record(0xc000000d, 0, 0n, [1n, 2n, 3n])).reason, '0xc000000d / 0x00000000');
    assert.equal(crashReason('windows', 'amd64', record(0xe0434352, 1, 0n)).reason, '0xe0434352 / 0x00000001');
    assert.equal(crashReason('windows', 'amd64', record(0xc0000602, 0xffffffff, 0n)).reason, '0xc0000602 / 0xffffffff');
  });
});

describe('crashReason on Linux and Android', () => {
  const linux = (code: number, flags: number, os = 'linux'): string => crashReason(os, 'arm64', record(code, flags, 0x1000n)).reason;

  test('SIGSEGV has no space after the slash; SIGILL, SIGBUS and SIGFPE do', () => {
    assert.equal(linux(11, 1), 'SIGSEGV /SEGV_MAPERR');
    assert.equal(linux(11, 2), 'SIGSEGV /SEGV_ACCERR');
    assert.equal(linux(11, 9), 'SIGSEGV /SEGV_MTESERR');
    assert.equal(linux(11, 0), 'SIGSEGV /0x00000000');
    assert.equal(linux(11, 0x80), 'SIGSEGV /0x00000080');
    assert.equal(linux(4, 1), 'SIGILL / ILL_ILLOPC');
    assert.equal(linux(4, 8), 'SIGILL / ILL_BADSTK');
    assert.equal(linux(4, 9), 'SIGILL / 0x00000009');
    assert.equal(linux(7, 2), 'SIGBUS / BUS_ADRERR');
    assert.equal(linux(7, 5), 'SIGBUS / BUS_MCEERR_AO');
    assert.equal(linux(8, 1), 'SIGFPE / FPE_INTDIV');
    assert.equal(linux(8, 8), 'SIGFPE / FPE_FLTSUB');
    // si_code SI_TKILL (-6) of raise(SIGSEGV).
    assert.equal(linux(11, -6), 'SIGSEGV /0xfffffffa');
  });

  test('other signals print bare, whatever the si_code', () => {
    assert.equal(linux(6, 0xfffffffa), 'SIGABRT');
    assert.equal(linux(5, 1), 'SIGTRAP');
    assert.equal(linux(31, 1), 'SIGSYS');
    assert.equal(linux(16, 0), 'SIGSTKFLT');
    assert.equal(linux(0xffffffff, 0), 'DUMP_REQUESTED');
    assert.equal(linux(9, 0, 'android'), 'SIGKILL');
  });

  test('unknown signals print as code / flags', () => {
    assert.equal(linux(0, 0), '0x00000000 / 0x00000000');
    assert.equal(linux(32, 3), '0x00000020 / 0x00000003');
  });

  test('the address is the exception address, never a parameter', () => {
    assert.equal(crashLine('linux', 'amd64', record(11, 1, 0x45n, [0x99n, 0x98n])), 'SIGSEGV /SEGV_MAPERR|0x45');
  });
});

describe('crashReason on macOS and iOS', () => {
  const mac = (cpu: string, code: number, flags: number): string => crashReason('mac', cpu, record(code, flags, 0n)).reason;

  test('EXC_BAD_ACCESS: kern_return_t codes on every CPU, then the CPU-specific ones', () => {
    assert.equal(mac('arm64', 1, 1), 'EXC_BAD_ACCESS / KERN_INVALID_ADDRESS');
    assert.equal(mac('x86', 1, 2), 'EXC_BAD_ACCESS / KERN_PROTECTION_FAILURE');
    assert.equal(mac('ppc64', 1, 50), 'EXC_BAD_ACCESS / KERN_CODESIGN_ERROR');
    assert.equal(mac('amd64', 1, 13), 'EXC_BAD_ACCESS / EXC_I386_GPFLT');
    assert.equal(mac('arm', 1, 0x101), 'EXC_BAD_ACCESS / EXC_ARM_DA_ALIGN');
    assert.equal(mac('ppc', 1, 0x101), 'EXC_BAD_ACCESS / EXC_PPC_VM_PROT_READ');
    assert.equal(mac('amd64', 1, 0x101), 'EXC_BAD_ACCESS / 0x00000101');
  });

  test('ARM codes are named for ARM and Breakpad\'s old ARM64 value, not for ARM64 (12)', () => {
    assert.equal(mac('arm64-old', 1, 0x102), 'EXC_BAD_ACCESS / EXC_ARM_DA_DEBUG');
    assert.equal(mac('arm64', 1, 0x102), 'EXC_BAD_ACCESS / 0x00000102');
    assert.equal(mac('arm64-old', 6, 1), 'EXC_BREAKPOINT / EXC_ARM_BREAKPOINT');
    assert.equal(mac('arm64', 6, 1), 'EXC_BREAKPOINT / 0x00000001');
    assert.equal(mac('arm', 2, 1), 'EXC_BAD_INSTRUCTION / EXC_ARM_UNDEFINED');
  });

  test('CPU-specific exception codes', () => {
    assert.equal(mac('amd64', 2, 17), 'EXC_BAD_INSTRUCTION / EXC_I386_ALIGNFLT');
    assert.equal(mac('ppc', 2, 2), 'EXC_BAD_INSTRUCTION / EXC_PPC_UNIPL_INST');
    assert.equal(mac('x86', 3, 1), 'EXC_ARITHMETIC / EXC_I386_DIV');
    assert.equal(mac('ppc', 3, 3), 'EXC_ARITHMETIC / EXC_FLT_INEXACT');
    assert.equal(mac('ppc', 3, 9), 'EXC_ARITHMETIC / EXC_PPC_ALTIVECASSIST');
    assert.equal(mac('arm', 3, 1), 'EXC_ARITHMETIC / 0x00000001');
    assert.equal(mac('amd64', 6, 2), 'EXC_BREAKPOINT / EXC_I386_BPT');
    assert.equal(mac('ppc', 6, 1), 'EXC_BREAKPOINT / EXC_PPC_BREAKPOINT');
  });

  test('EXC_SOFTWARE codes on every CPU, and types without code names', () => {
    assert.equal(mac('arm64', 5, 0x10002), 'EXC_SOFTWARE / SIGABRT');
    assert.equal(mac('amd64', 5, 0xdeadc0de), 'EXC_SOFTWARE / UNCAUGHT_NS_EXCEPTION');
    assert.equal(mac('amd64', 5, 0x10100), 'EXC_SOFTWARE / EXC_PPC_MIGRATE');
    assert.equal(mac('amd64', 5, 0x10001), 'EXC_SOFTWARE / 0x00010001');
    assert.equal(mac('amd64', 4, 1), 'EXC_EMULATION / 0x00000001');
    assert.equal(mac('amd64', 9, 1), 'EXC_RPC_ALERT / 0x00000001');
    assert.equal(mac('amd64', 11, 1), 'EXC_RESOURCE / 0x00000001');
    assert.equal(mac('amd64', 12, 0x12), 'EXC_GUARD / 0x00000012');
  });

  test("Crashpad's simulated exceptions print without a code", () => {
    assert.equal(mac('amd64', 0x43507378, 7), 'Simulated Exception');
    assert.equal(crashReason('ios', 'arm64', record(0x43506e78, 0, 0n)).reason, 'Uncaught NSException');
  });

  test('unknown types, EXC_CRASH among them, print as code / flags', () => {
    assert.equal(mac('amd64', 10, 0x5), '0x0000000a / 0x00000005');
    assert.equal(mac('amd64', 0, 0), '0x00000000 / 0x00000000');
  });
});

describe('crashReason on other systems', () => {
  test('Fuchsia appends the flags in hex', () => {
    assert.equal(crashReason('fuchsia', 'arm64', record(0x108, 0x1234, 0n)).reason, 'FATAL_PAGE_FAULT / 0x00001234');
    assert.equal(crashReason('fuchsia', 'amd64', record(0x8308, 0, 0n)).reason, 'PROCESS_STARTING / 0x00000000');
    assert.equal(crashReason('fuchsia', 'amd64', record(0x9, 0, 0n)).reason, '0x00000009 / 0x00000000');
  });

  test('Solaris signals, with aliases joined', () => {
    assert.equal(crashReason('solaris', 'sparc', record(6, 3, 0n)).reason, 'SIGIOT | SIGABRT');
    assert.equal(crashReason('solaris', 'sparc', record(10, 3, 0n)).reason, 'SIGBUS');
    assert.equal(crashReason('solaris', 'sparc', record(40, 3, 0n)).reason, 'SIGJVM2');
    assert.equal(crashReason('solaris', 'sparc', record(0, 3, 0n)).reason, '0x00000000 / 0x00000003');
    assert.equal(crashReason('solaris', 'sparc', record(41, 3, 0n)).reason, '0x00000029 / 0x00000003');
  });

  test('PS3 codes', () => {
    assert.equal(crashReason('ps3', 'ppc64', record(0, 3, 0n)).reason, 'UNKNOWN');
    assert.equal(crashReason('ps3', 'ppc64', record(20, 3, 0n)).reason, 'COPRO_HALTINSTR_UNKNOWN');
    assert.equal(crashReason('ps3', 'ppc64', record(23, 3, 0n)).reason, '0x00000017 / 0x00000003');
  });

  test('no system info, or a system Breakpad does not decode, gives code / flags', () => {
    for (const os of ['unknown', 'unix', 'nacl']) {
      assert.equal(crashLine(os, 'amd64', record(0xb, 1, 0x45n, [1n, 2n])), '0x0000000b / 0x00000001|0x45');
    }
  });
});

describe('crash address width', () => {
  const address = 0xffffffff80000042n;
  for (const cpu of ['x86', 'arm', 'mips', 'ppc']) {
    test(`${cpu} keeps the low 32 bits`, () => {
      assert.equal(crashReason('linux', cpu, record(11, 1, address)).address, 0x80000042n);
    });
  }
  for (const cpu of ['amd64', 'arm64', 'arm64-old', 'ppc64', 'mips64', 'riscv', 'riscv64', 'sparc', 'unknown']) {
    test(`${cpu} keeps all 64 bits`, () => {
      assert.equal(crashReason('linux', cpu, record(11, 1, address)).address, address);
    });
  }
});

describe('explainCrash', () => {
  const explain = (os: string, cpu: string, exception: ExceptionRecordInput): string | undefined =>
    explainCrash(os, exception, crashReason(os, cpu, exception));

  test('access violations say what the thread did, and where', () => {
    assert.equal(
      explain('windows', 'x86', record(0xc0000005, 0, 0x40429en, [1n, 0x45n])),
      'Access violation: the thread wrote to address 0x45, near null: most likely a null pointer dereference',
    );
    assert.equal(
      explain('windows', 'x86', record(0xc0000005, 0, 0x101098n, [0n, 0x4e3c9n])),
      'Access violation: the thread read from address 0x4e3c9, which is not mapped or not readable',
    );
    assert.match(explain('windows', 'x86', record(0xc0000005, 0, 0x3df944n, [8n, 0x3df944n])) ?? '', /jumped to address 0x3df944, which is not executable \(DEP\)/);
    assert.match(explain('windows', 'x86', record(0xc0000005, 0, 0xd6a6cdn, [0n, 0x41414141n])) ?? '', /bytes "AAAA": the pointer was overwritten with text/);
    assert.match(explain('windows', 'x86', record(0xc0000005, 0, 0xd6a6cdn, [0n, 0xfeeefeeen])) ?? '', /freed heap memory/);
    assert.match(explain('windows', 'amd64', record(0xc0000005, 0, 0x7ff738721331n, [0n, 0xffffffffffffffffn])) ?? '', /non-canonical/);
    assert.match(explain('windows', 'amd64', record(0xc0000005, 0, 0x1000n, [])) ?? '', /no fault address/);
  });

  test('Windows reasons beyond access violations', () => {
    assert.match(explain('windows', 'amd64', record(0xc0000409, 1, 0n, [7n])) ?? '', /__fastfail\(FAST_FAIL_FATAL_APP_EXIT\): abort\(\)/);
    assert.match(explain('windows', 'amd64', record(0xc0000409, 1, 0n, [60n])) ?? '', /^Fail fast: .*FAST_FAIL_VEH_CORRUPTION\)$/);
    assert.match(explain('windows', 'amd64', record(0xc0000409, 1, 0n, [0n])) ?? '', /\/GS security cookie/);
    assert.match(explain('windows', 'amd64', record(0xc0000006, 0, 0n, [0n, 0x7ff600001000n, 0xc000009cn])) ?? '', /page at 0x7ff600001000 .*\(STATUS_DEVICE_DATA_ERROR\)/);
    assert.match(explain('windows', 'x86', record(0xc00000fd, 0, 0xdea637n, [0n, 0x102000n])) ?? '', /^Stack overflow/);
    assert.match(explain('windows', 'amd64', record(0x80000003, 0, 0x7776ae10n, [0n])) ?? '', /^Breakpoint/);
    assert.equal(explain('windows', 'amd64', record(0xc000000d, 0, 0n, [1n, 2n, 3n])), 'Exception code 0xc000000d is STATUS_INVALID_PARAMETER');
    assert.match(explain('windows', 'amd64', record(0xe0434352, 1, 0n)) ?? '', /\.NET/);
    assert.equal(explain('windows', 'amd64', record(0x12345678, 0, 0n)), undefined);
    assert.equal(explain('windows', 'amd64', record(0xc000008f, 0, 0n)), undefined);
  });

  test('Linux signals', () => {
    assert.equal(explain('linux', 'amd64', record(11, 1, 0x7f0000001000n)), 'Segmentation fault: address 0x7f0000001000 is not mapped');
    assert.match(explain('linux', 'amd64', record(11, 2, 0x401000n)) ?? '', /is mapped, but its protection forbids the access/);
    assert.equal(explain('linux', 'amd64', record(11, 0, 0xf93n)), 'Segmentation fault at address 0xf93, near null: most likely a null pointer dereference');
    assert.match(explain('linux', 'amd64', record(11, 0x80, 0n)) ?? '', /general-protection fault/);
    // si_addr shares its bytes with si_pid and si_uid for a sent signal.
    assert.match(explain('linux', 'amd64', record(6, 0, 0x3e8000039ben)) ?? '', /pid 14782 and uid 1000$/);
    assert.equal(explain('android', 'arm64', record(8, 1, 0x1000n)), 'Integer division by zero');
    assert.match(explain('linux', 'amd64', record(8, 0, 0x401f27n)) ?? '', /integer division by zero/);
    assert.match(explain('linux', 'amd64', record(4, 2, 0x2161b6n)) ?? '', /^Illegal instruction at 0x2161b6/);
    assert.match(explain('linux', 'amd64', record(7, 2, 0x7f0000000000n)) ?? '', /truncated mapped file/);
    assert.equal(explain('linux', 'amd64', record(0xffffffff, 0, 0n)), 'No crash: the dump was written on request');
    assert.equal(explain('linux', 'amd64', record(28, 0, 0n)), undefined);
  });

  test('Mac exceptions', () => {
    assert.equal(explain('mac', 'amd64', record(1, 1, 0xffffffff80000042n, [1n, 1n, 0xffffffff80000042n])), 'Bad access: address 0xffffffff80000042 is not mapped');
    assert.match(explain('mac', 'amd64', record(1, 13, 0n)) ?? '', /non-canonical/);
    assert.match(explain('ios', 'arm64', record(5, 0x10002, 0n)) ?? '', /^Abort/);
    assert.match(explain('ios', 'amd64', record(0x43506e78, 0, 0x1030e9c34n, [0x43506e78n, 0n, 0n])) ?? '', /Objective-C exception/);
    assert.equal(explain('mac', 'amd64', record(0, 0, 0x7fff6f41333an, [0xan, 0x6000000n, 0n])), undefined);
  });

  test('nothing for systems we do not explain', () => {
    assert.equal(explain('solaris', 'sparc', record(11, 0, 0n)), undefined);
    assert.equal(explain('unknown', 'unknown', record(11, 0, 0n)), undefined);
  });
});
