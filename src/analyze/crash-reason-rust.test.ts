import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openFileSource } from '../node/file-source.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { RUST_MINIDUMP_CASES, readRustSnapshot } from '../testing/rust-minidump-parity.js';
import { readSnapshot } from '../formats/detect.js';
import { FormatError } from '../io/errors.js';
import type { ExceptionRecordInput } from './crash-reason.js';
import { rustMinidumpCrashReason } from './crash-reason-rust.js';
import { analyze } from './process.js';

function record(code: number, flags = 0, parameters: readonly bigint[] = []): ExceptionRecordInput {
  return { code, flags, address: 0x1000n, parameters };
}

const windows = (code: number, parameters: readonly bigint[] = []): string => rustMinidumpCrashReason('windows', 'amd64', record(code, 0, parameters));
const linux = (signal: number, siCode: number): string => rustMinidumpCrashReason('linux', 'amd64', record(signal, siCode));
const mac = (cpu: string, type: number, code: number, parameters: readonly bigint[] = []): string => rustMinidumpCrashReason('mac', cpu, record(type, code, parameters));

/** `crash_info.type` of one of rust-minidump's insta snapshots. */
function snapshotType(name: string): string | null {
  return (readRustSnapshot(name) as { crash_info: { type: string | null } }).crash_info.type;
}

describe("rustMinidumpCrashReason against rust-minidump's own snapshots", () => {
  for (const { snapshot, dump } of RUST_MINIDUMP_CASES) {
    test(`${snapshot} (${dump}), through the analysis`, needsCorpus, async () => {
      const expected = snapshotType(snapshot);
      assert.ok(expected, 'the snapshot names a crash');
      const file = await openFileSource(corpusPath('rust-minidump', dump));
      try {
        const analysis = await analyze(file.source, { crashedThreadOnly: true });
        assert.equal(analysis.crash?.rustMinidumpReason, expected);
      } finally {
        await file.close();
      }
    });
  }

  test('the snapshots say what we derived from the source (so the four above test four cases, not one)', needsCorpus, () => {
    assert.equal(snapshotType('json-pretty'), 'EXCEPTION_ACCESS_VIOLATION_WRITE');
    assert.equal(snapshotType('linux_json_pretty'), 'SIGSEGV');
    assert.equal(snapshotType('macos_inlines_json_pretty'), 'EXC_BAD_ACCESS / KERN_INVALID_ADDRESS');
  });
});

/**
 * Every corpus dump stackhog reads, with what rust-minidump prints for it, derived by hand from
 * minidump.rs and the errors/*.rs enums (null: no exception stream). The raw records are in
 * crash-reason.test.ts's CORPUS table.
 */
const CORPUS: ReadonlyMap<string, string | null> = new Map<string, string | null>([
  // Windows access violations: parameter 0 is the access kind.
  ['breakpad/ascii_read_av.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/ascii_read_av_block_write.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/ascii_read_av_clobber_write.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/ascii_read_av_conditional.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/ascii_read_av_then_jmp.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/ascii_read_av_xchg_write.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/ascii_write_av.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['breakpad/ascii_write_av_arg_to_call.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['breakpad/exec_av_on_stack.dmp', 'EXCEPTION_ACCESS_VIOLATION_EXEC'],
  ['breakpad/minidump2.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['breakpad/minidump_32bit_crash_addr.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['breakpad/null_read_av.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/null_write_av.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['breakpad/read_av_clobber_write.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/read_av_conditional.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/read_av_non_null.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/thread_name_list.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/write_av_non_canonical.dmp', 'EXCEPTION_ACCESS_VIOLATION_READ'],
  ['breakpad/write_av_non_null.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['external/user/sentry-crash/windows.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  ['rust-minidump/test.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  // A kernel dump's exception record is read the same way (rust-minidump reads no kernel dumps).
  ['external/kernel/rizin-triage_x64.dmp', 'EXCEPTION_ACCESS_VIOLATION_WRITE'],
  // Other Windows codes: the stack overflow, the fast fail with its code, a breakpoint, a bare NTSTATUS.
  ['breakpad/stack_exhaustion.dmp', 'EXCEPTION_STACK_OVERFLOW'],
  ['breakpad/tiny-exe-fastfail.dmp', 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT'],
  ['radare2/calc.dmp', 'EXCEPTION_BREAKPOINT'],
  ['external/user/kdlib/targetapp_test_cv_allreg_amd64/targetapp_test_cv_allreg_amd64.dmp', 'EXCEPTION_BREAKPOINT'],
  ['external/user/kdlib/targetapp_test_cv_allreg_i386/targetapp_test_cv_allreg_i386.dmp', 'EXCEPTION_BREAKPOINT'],
  ['rust-minidump/invalid-parameter.dmp', 'STATUS_INVALID_PARAMETER'],
  // Linux: si_code 0 is SI_USER, which prints the signal alone; a kind prints after " / ".
  ['breakpad/linux_divide_by_zero.dmp', 'SIGFPE'],
  ['breakpad/linux_executable_heap.dmp', 'SIGSEGV'],
  ['breakpad/linux_executable_stack.dmp', 'SIGSEGV'],
  ['breakpad/linux_inline.dmp', 'SIGILL / ILL_ILLOPN'],
  ['breakpad/linux_inside_module_exe_region1.dmp', 'SIGSEGV'],
  ['breakpad/linux_inside_module_exe_region2.dmp', 'SIGSEGV'],
  ['breakpad/linux_jmp_to_0.dmp', 'SIGSEGV'],
  ['breakpad/linux_jmp_to_module_not_exe_region.dmp', 'SIGSEGV'],
  ['breakpad/linux_null_dereference.dmp', 'SIGSEGV'],
  ['breakpad/linux_null_read_av.dmp', 'SIGSEGV'],
  ['breakpad/linux_outside_module.dmp', 'SIGSEGV'],
  ['breakpad/linux_overflow.dmp', 'SIGABRT'],
  ['breakpad/linux_raise_sigabrt.dmp', 'SIGABRT'],
  ['breakpad/linux_stack_pointer_in_module.dmp', 'SIGSEGV'],
  ['breakpad/linux_stack_pointer_in_stack.dmp', 'SIGSEGV'],
  ['breakpad/linux_stack_pointer_in_stack_alt_name.dmp', 'SIGSEGV'],
  ['breakpad/linux_stacksmash.dmp', 'SIGSEGV'],
  ['breakpad/linux_write_to_nonwritable_module.dmp', 'SIGSEGV'],
  ['breakpad/linux_write_to_nonwritable_region_math.dmp', 'SIGSEGV'],
  ['breakpad/linux_write_to_outside_module.dmp', 'SIGSEGV'],
  ['breakpad/linux_write_to_outside_module_via_math.dmp', 'SIGSEGV'],
  ['breakpad/linux_write_to_under_4k.dmp', 'SIGSEGV'],
  ['rust-minidump/linux-mini.dmp', 'SIGSEGV'],
  ['external/user/android/firefox-android-arm.dmp', 'SIGSEGV / SEGV_MAPERR'],
  // macOS and iOS: a kern_return_t code; Crashpad's 'CPnx' and a zero type are not ExceptionCodeMac values.
  ['rust-minidump/pipeline-inlines-macos-segv.dmp', 'EXC_BAD_ACCESS / KERN_INVALID_ADDRESS'],
  ['breakpad/minidump_crashpad_annotation.dmp', 'unknown 0x43506e78 / 0x00000000'],
  ['rust-minidump/simple-crashpad.dmp', 'unknown 0x00000000 / 0x00000000'],
  // No exception stream.
  ['breakpad/tiny-exe-with-cet-xsave.dmp', null],
  ['breakpad/tiny-exe-with-cet-xsave-x86.dmp', null],
  ['external/kernel/kdlib-RPi3_ARM_mini.dmp', null],
  ['external/kernel/kdlib-win10_arm64_mem.dmp', null],
  ['malformed/trunc_memory64.dmp', null],
  ['rust-minidump/invalid-range.dmp', null],
  ['rust-minidump/invalid-record-count.dmp', null],
]);

function corpusDumps(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return corpusDumps(path);
    return entry.name.endsWith('.dmp') ? [path] : [];
  });
}

describe('rustMinidumpCrashReason on every corpus dump', () => {
  test('each readable dump gets a reason without throwing; the table above holds for each one in it', needsCorpus, async () => {
    const seen = new Set<string>();
    let unreadable = 0;
    for (const path of corpusDumps(corpusPath()).sort()) {
      const name = relative(corpusPath(), path);
      const file = await openFileSource(path);
      try {
        let snapshot;
        try {
          snapshot = await readSnapshot(file.source);
        } catch (e) {
          // Microdumps are a format stackhog does not read; that is not this test's business.
          if (!(e instanceof FormatError)) throw e;
          assert.ok(!CORPUS.has(name), `${name} is in the table but unreadable: ${e.message}`);
          unreadable++;
          continue;
        }
        const exception = snapshot.exception;
        const reason = exception ? rustMinidumpCrashReason(snapshot.system.osShort, snapshot.system.cpu, exception) : null;
        if (CORPUS.has(name)) assert.equal(reason, CORPUS.get(name), name);
        else assert.ok(reason === null || reason.length > 0, name);
        seen.add(name);
      } finally {
        await file.close();
      }
    }
    assert.deepEqual([...CORPUS.keys()].filter((name) => !seen.has(name)), [], 'every dump of the table was checked');
    // The seven microdumps.
    assert.equal(unreadable, 7);
  });
});

describe('rustMinidumpCrashReason on Windows', () => {
  test('access violations: the kind from parameter 0 (all 64 bits) once NumberParameters >= 1', () => {
    assert.equal(windows(0xc0000005, [0n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION_READ');
    assert.equal(windows(0xc0000005, [1n]), 'EXCEPTION_ACCESS_VIOLATION_WRITE');
    assert.equal(windows(0xc0000005, [8n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION_EXEC');
    assert.equal(windows(0xc0000005, [2n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION');
    assert.equal(windows(0xc0000005, [0x100000001n, 0x10n]), 'EXCEPTION_ACCESS_VIOLATION');
    assert.equal(windows(0xc0000005), 'EXCEPTION_ACCESS_VIOLATION');
  });

  test('in-page errors: kind and the NTSTATUS of parameter 2 (low 32 bits) once NumberParameters >= 3', () => {
    assert.equal(windows(0xc0000006, [0n, 0x20n, 0xc000009cn]), 'EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR');
    assert.equal(windows(0xc0000006, [1n, 0x20n, 0xffffffffc000007fn]), 'EXCEPTION_IN_PAGE_ERROR_WRITE / STATUS_DISK_FULL');
    assert.equal(windows(0xc0000006, [8n, 0x20n, 0xc0000185n]), 'EXCEPTION_IN_PAGE_ERROR_EXEC / STATUS_IO_DEVICE_ERROR');
    // A status only rust-minidump's fuller table names, and 0, which is STATUS_SUCCESS there.
    assert.equal(windows(0xc0000006, [0n, 0x20n, 0xc0ef0001n]), 'EXCEPTION_IN_PAGE_ERROR_READ / STATUS_ACCELERATOR_SUBMISSION_QUEUE_FULL');
    assert.equal(windows(0xc0000006, [0n, 0x20n, 0n]), 'EXCEPTION_IN_PAGE_ERROR_READ / STATUS_SUCCESS');
    // The status is looked up as an NTSTATUS only: 0x2 would be ERROR_FILE_NOT_FOUND as a code, STATUS_WAIT_2 here.
    assert.equal(windows(0xc0000006, [0n, 0x20n, 2n]), 'EXCEPTION_IN_PAGE_ERROR_READ / STATUS_WAIT_2');
    assert.equal(windows(0xc0000006, [0n, 0x20n, 0xc0dead00n]), 'EXCEPTION_IN_PAGE_ERROR_READ / 0xc0dead00');
    assert.equal(windows(0xc0000006, [0n, 0x20n, 0x12n]), 'EXCEPTION_IN_PAGE_ERROR_READ / 0x00000012');
    assert.equal(windows(0xc0000006, [3n, 0x20n, 0xc000009cn]), 'EXCEPTION_IN_PAGE_ERROR');
    assert.equal(windows(0xc0000006, [0n, 0x20n]), 'EXCEPTION_IN_PAGE_ERROR');
  });

  test('stack buffer overruns print the fast-fail code of parameter 0, named or `{:#010x}`', () => {
    assert.equal(windows(0xc0000409, [7n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT');
    assert.equal(windows(0xc0000409, [2n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_STACK_COOKIE_CHECK_FAILURE');
    // Unlike Breakpad, rust-minidump names 0 and the codes past 70.
    assert.equal(windows(0xc0000409, [0n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_LEGACY_GS_VIOLATION');
    assert.equal(windows(0xc0000409, [71n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_ASAN_ERROR');
    assert.equal(windows(0xc0000409, [76n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_INVALID_EXTENDED_STATE');
    assert.equal(windows(0xc0000409, [15n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / 0x0000000f');
    assert.equal(windows(0xc0000409, [0x1_0000_0007n]), 'EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT');
    assert.equal(windows(0xc0000409, [0xdeadbeefn]), 'EXCEPTION_STACK_BUFFER_OVERRUN / 0xdeadbeef');
    assert.equal(windows(0xc0000409), 'STATUS_STACK_BUFFER_OVERRUN');
  });

  test('exception codes first, with three special texts', () => {
    assert.equal(windows(0x80000003), 'EXCEPTION_BREAKPOINT');
    assert.equal(windows(0xc000008c), 'EXCEPTION_BOUNDS_EXCEEDED');
    assert.equal(windows(0xc0000096), 'EXCEPTION_PRIV_INSTRUCTION');
    assert.equal(windows(0xc00000fd), 'EXCEPTION_STACK_OVERFLOW');
    assert.equal(windows(0xe0434352), 'MANAGED_EXCEPTION_CODE_V4');
    assert.equal(windows(0xe0000008), 'Out of Memory');
    assert.equal(windows(0xe06d7363), 'Unhandled C++ Exception');
    assert.equal(windows(0x0517a7ed), 'Simulated Exception');
  });

  test('then winerror.h, then NTSTATUS: codes Breakpad names its own way', () => {
    assert.equal(windows(0xc0000374), 'STATUS_HEAP_CORRUPTION');
    assert.equal(windows(0xc00000ff), 'STATUS_BAD_FUNCTION_TABLE');
    assert.equal(windows(0x40010005), 'DBG_CONTROL_C');
    assert.equal(windows(0xc000000d), 'STATUS_INVALID_PARAMETER');
    assert.equal(windows(0xc0000420), 'STATUS_ASSERTION_FAILURE');
    // Small codes are winerror.h's before ntstatus.h's (1 is also STATUS_WAIT_1).
    assert.equal(windows(0), 'ERROR_SUCCESS');
    assert.equal(windows(1), 'ERROR_INVALID_FUNCTION');
    assert.equal(windows(15841), 'ERROR_API_UNAVAILABLE');
    assert.equal(windows(0x3f), 'ERROR_PRINT_CANCELLED');
    assert.equal(windows(0x103), 'ERROR_NO_MORE_ITEMS');
    // A small NTSTATUS winerror.h has no code for.
    assert.equal(windows(0x102), 'STATUS_TIMEOUT');
  });

  test('then a winerror.h code of a known facility; else `unknown {:#010x}`', () => {
    // Delay-load failures (FACILITY_VISUALCPP, ERROR_MOD_NOT_FOUND / ERROR_PROC_NOT_FOUND).
    assert.equal(windows(0xc06d007e), 'FACILITY_VISUALCPP / ERROR_MOD_NOT_FOUND');
    assert.equal(windows(0xc06d007f), 'FACILITY_VISUALCPP / ERROR_PROC_NOT_FOUND');
    // No severity bits, an unknown facility, or a low half winerror.h does not name.
    assert.equal(windows(0x006d007e), 'unknown 0x006d007e');
    assert.equal(windows(0xc06e007e), 'unknown 0xc06e007e');
    assert.equal(windows(0xc06dffff), 'unknown 0xc06dffff');
    assert.equal(windows(0xe0000001), 'unknown 0xe0000001');
    assert.equal(windows(0x12345), 'unknown 0x00012345');
  });

  test('the code is read as u32 and the CPU does not matter', () => {
    assert.equal(rustMinidumpCrashReason('windows', 'x86', record(0xc0000005 | 0, 0, [1n])), 'EXCEPTION_ACCESS_VIOLATION_WRITE');
    assert.equal(rustMinidumpCrashReason('windows', 'arm64', record(-1, 0)), 'unknown 0xffffffff');
  });
});

describe('rustMinidumpCrashReason on Linux and Android', () => {
  test('a kind of the signal prints after " / "', () => {
    assert.equal(linux(11, 1), 'SIGSEGV / SEGV_MAPERR');
    assert.equal(linux(11, 2), 'SIGSEGV / SEGV_ACCERR');
    assert.equal(linux(11, 4), 'SIGSEGV / SEGV_PKUERR');
    assert.equal(linux(4, 9), 'SIGILL / ILL_BADIADDR');
    assert.equal(linux(5, 1), 'SIGTRAP / TRAP_BRKPT');
    assert.equal(linux(5, 6), 'SIGTRAP / TRAP_PERF');
    assert.equal(linux(7, 2), 'SIGBUS / BUS_ADRERR');
    assert.equal(linux(8, 1), 'SIGFPE / FPE_INTDIV');
    assert.equal(linux(31, 1), 'SIGSYS / SYS_SECCOMP');
    assert.equal(rustMinidumpCrashReason('android', 'arm', record(11, 2)), 'SIGSEGV / SEGV_ACCERR');
  });

  test('otherwise a generic si_code: SI_USER prints the signal alone, the others their name', () => {
    assert.equal(linux(11, 0), 'SIGSEGV');
    assert.equal(linux(6, 0), 'SIGABRT');
    assert.equal(linux(11, 0x80), 'SIGSEGV / SI_KERNEL');
    assert.equal(linux(6, -6), 'SIGABRT / SI_TKILL');
    assert.equal(linux(6, 0xfffffffa), 'SIGABRT / SI_TKILL');
    assert.equal(linux(10, -1), 'SIGUSR1 / SI_QUEUE');
    assert.equal(linux(14, -60), 'SIGALRM / SI_ASYNCNL');
    // Kinds belong to their own signal: si_code 1 of SIGABRT is no kind and no generic code.
    assert.equal(linux(6, 1), 'SIGABRT / 0x00000001');
  });

  test('an si_code of neither kind prints `{:#010x}`', () => {
    assert.equal(linux(11, 5), 'SIGSEGV / 0x00000005');
    assert.equal(linux(11, 9), 'SIGSEGV / 0x00000009');
    assert.equal(linux(4, 0x7f), 'SIGILL / 0x0000007f');
    assert.equal(linux(6, -8), 'SIGABRT / 0xfffffff8');
  });

  test("Breakpad's DUMP_REQUESTED is a signal like the others", () => {
    assert.equal(linux(0xffffffff, 0), 'DUMP_REQUESTED');
    assert.equal(linux(-1, 0), 'DUMP_REQUESTED');
  });

  test('a signal number without a name is unknown, code and flags', () => {
    assert.equal(linux(0, 0), 'unknown 0x00000000 / 0x00000000');
    assert.equal(linux(34, 0xfffffffa), 'unknown 0x00000022 / 0xfffffffa');
  });
});

describe('rustMinidumpCrashReason on macOS and iOS', () => {
  test('EXC_BAD_ACCESS: a kern_return_t on every CPU, then the CPU’s own code', () => {
    assert.equal(mac('amd64', 1, 1), 'EXC_BAD_ACCESS / KERN_INVALID_ADDRESS');
    assert.equal(mac('arm64', 1, 2), 'EXC_BAD_ACCESS / KERN_PROTECTION_FAILURE');
    assert.equal(mac('ppc', 1, 5), 'EXC_BAD_ACCESS / KERN_FAILURE');
    assert.equal(mac('x86', 1, 50), 'EXC_BAD_ACCESS / KERN_CODESIGN_ERROR');
    assert.equal(mac('amd64', 1, 13), 'EXC_BAD_ACCESS / EXC_I386_GPFLT');
    assert.equal(mac('arm64', 1, 13), 'EXC_BAD_ACCESS / 0x0000000d');
    assert.equal(mac('arm64', 1, 0x101), 'EXC_BAD_ACCESS / EXC_ARM_DA_ALIGN');
    assert.equal(mac('arm64', 1, 0x105), 'EXC_BAD_ACCESS / EXC_ARM_PAC_FAIL');
    assert.equal(mac('ppc', 1, 0x101), 'EXC_BAD_ACCESS / EXC_PPC_VM_PROT_READ');
    assert.equal(mac('amd64', 1, 0x101), 'EXC_BAD_ACCESS / 0x00000101');
    // rust-minidump's ARM codes are for Cpu::Arm64 only: 32-bit ARM gets the hex.
    assert.equal(mac('arm', 1, 0x101), 'EXC_BAD_ACCESS / 0x00000101');
    assert.equal(rustMinidumpCrashReason('ios', 'arm64', record(1, 0x102)), 'EXC_BAD_ACCESS / EXC_ARM_DA_DEBUG');
  });

  test('EXC_BAD_INSTRUCTION, EXC_ARITHMETIC and EXC_BREAKPOINT are per CPU', () => {
    assert.equal(mac('arm64', 2, 1), 'EXC_BAD_INSTRUCTION / EXC_ARM_UNDEFINED');
    assert.equal(mac('amd64', 2, 1), 'EXC_BAD_INSTRUCTION / EXC_I386_INVOP');
    assert.equal(mac('x86', 2, 17), 'EXC_BAD_INSTRUCTION / EXC_I386_ALIGNFLT');
    assert.equal(mac('ppc', 2, 3), 'EXC_BAD_INSTRUCTION / EXC_PPC_PRIVINST');
    assert.equal(mac('arm', 2, 1), 'EXC_BAD_INSTRUCTION / 0x00000001');
    assert.equal(mac('arm64', 3, 2), 'EXC_ARITHMETIC / EXC_ARM_FP_DZ');
    assert.equal(mac('amd64', 3, 1), 'EXC_ARITHMETIC / EXC_I386_DIV');
    assert.equal(mac('ppc', 3, 3), 'EXC_ARITHMETIC / EXC_FLT_INEXACT');
    assert.equal(mac('amd64', 3, 9), 'EXC_ARITHMETIC / 0x00000009');
    assert.equal(mac('arm64', 6, 1), 'EXC_BREAKPOINT / EXC_ARM_BREAKPOINT');
    assert.equal(mac('amd64', 6, 2), 'EXC_BREAKPOINT / EXC_I386_BPT');
    assert.equal(mac('ppc', 6, 1), 'EXC_BREAKPOINT / EXC_PPC_BREAKPOINT');
    assert.equal(mac('arm64', 6, 0x101), 'EXC_BREAKPOINT / 0x00000101');
    assert.equal(mac('mips', 6, 1), 'EXC_BREAKPOINT / 0x00000001');
  });

  test('EXC_SOFTWARE on any CPU; the types without codes print the flags', () => {
    assert.equal(mac('arm64', 5, 0x10002), 'EXC_SOFTWARE / SIGABRT');
    assert.equal(mac('amd64', 5, 0xdeadc0de), 'EXC_SOFTWARE / UNCAUGHT_NS_EXCEPTION');
    assert.equal(mac('arm64', 5, 1), 'EXC_SOFTWARE / EXC_PPC_TRAP');
    assert.equal(mac('arm64', 5, 0x10000), 'EXC_SOFTWARE / 0x00010000');
    assert.equal(mac('amd64', 4, 7), 'EXC_EMULATION / 0x00000007');
    assert.equal(mac('amd64', 7, 0), 'EXC_SYSCALL / 0x00000000');
    assert.equal(mac('amd64', 8, 0), 'EXC_MACH_SYSCALL / 0x00000000');
    assert.equal(mac('amd64', 9, 0xffffffff), 'EXC_RPC_ALERT / 0xffffffff');
  });

  test("Crashpad's simulated crash has its own text; other types are unknown", () => {
    assert.equal(mac('amd64', 0x43507378, 0x1234), 'Simulated Exception');
    assert.equal(mac('amd64', 0x43506e78, 0), 'unknown 0x43506e78 / 0x00000000');
    assert.equal(mac('amd64', 10, 3), 'unknown 0x0000000a / 0x00000003');
    assert.equal(mac('amd64', 0, 0), 'unknown 0x00000000 / 0x00000000');
  });

  // The resource or guard type is bits 29..31 of the flags; code and subcode are parameters 1 and 2.
  const resource = (type: number, code: bigint, subcode: bigint): string => mac('arm64', 11, (type << 29) >>> 0, [0n, code, subcode]);
  const guard = (type: number, code: bigint, subcode: bigint): string => mac('arm64', 12, (type << 29) >>> 0, [0n, code, subcode]);

  test('EXC_RESOURCE: fields packed in the code and subcode per type and flavor', () => {
    // CPU: flavor 2, interval 180 s, limit and consumption masked to 3 bits (0x32 -> 2, 0x35 -> 5).
    assert.equal(resource(1, (2n << 58n) | (180n << 7n) | 0x32n, 0x35n), 'EXC_RESOURCE / RESOURCE_TYPE_CPU / FLAVOR_CPU_MONITOR_FATAL interval: 180s CPU limit: 2% CPU consumed: 5%');
    assert.equal(resource(2, (1n << 58n) | (300n << 20n) | 150n, 0x1234n), 'EXC_RESOURCE / RESOURCE_TYPE_WAKEUPS / FLAVOR_WAKEUPS_MONITOR interval: 300s wakeups permitted: 150 wakeups observed: 564');
    assert.equal(resource(3, (1n << 58n) | 0x2100n, 0n), 'EXC_RESOURCE / RESOURCE_TYPE_MEMORY / FLAVOR_HIGH_WATERMARK high watermark limit: 256MiB');
    assert.equal(resource(4, (2n << 58n) | (86400n << 15n) | 80n, 0x8063n), 'EXC_RESOURCE / RESOURCE_TYPE_IO / FLAVOR_IO_LOGICAL_WRITES interval: 86400s I/O limit: 80% I/O observed: 99%');
    assert.equal(resource(5, (1n << 58n) | 0x8123n, 0n), 'EXC_RESOURCE / RESOURCE_TYPE_THREADS / FLAVOR_THREADS_HIGH_WATERMARK high watermark limit: 291');
  });

  test('EXC_RESOURCE: an unknown flavor prints both codes `{:#018x}`, an unknown type the flags', () => {
    assert.equal(resource(3, 2n << 58n, 0x10n), 'EXC_RESOURCE / RESOURCE_TYPE_MEMORY / 0x0800000000000000 / 0x0000000000000010');
    assert.equal(resource(1, 0n, 0n), 'EXC_RESOURCE / RESOURCE_TYPE_CPU / 0x0000000000000000 / 0x0000000000000000');
    assert.equal(resource(0, 0n, 0n), 'EXC_RESOURCE / 0x00000000');
    assert.equal(resource(6, 0n, 0n), 'EXC_RESOURCE / 0xc0000000');
    assert.equal(mac('amd64', 11, 0xe0000001), 'EXC_RESOURCE / 0xe0000001');
  });

  test('EXC_GUARD: fields per guard type and flavor', () => {
    assert.equal(guard(0, 0x1234n, 5n), 'EXC_GUARD / GUARD_TYPE_NONE');
    assert.equal(guard(1, (1n << 32n) | 0x1503n, 0n), 'EXC_GUARD / GUARD_TYPE_MACH_PORT / GUARD_EXC_DESTROY port name: 5379');
    assert.equal(guard(1, (0x40n << 32n) | 0xf0000007n, 9n), 'EXC_GUARD / GUARD_TYPE_MACH_PORT / GUARD_EXC_STRICT_REPLY port name: 7 subcode: 9');
    assert.equal(guard(2, (1n << 32n) | 4n, 0xfeedfacefeedfacen), 'EXC_GUARD / GUARD_TYPE_FD / GUARD_EXC_CLOSE file descriptor: 4 guard identifier: 18369614222061337294');
    // Sic: rust-minidump writes no space before this slash.
    assert.equal(guard(3, 0x1_0000_0002n, 77n), 'EXC_GUARD / GUARD_TYPE_USER/ namespace: 2 guard identifier: 77');
    assert.equal(guard(4, (4n << 32n) | 321n, 8n), 'EXC_GUARD / GUARD_TYPE_VN / GUARD_EXC_UNLINK pid: 321 guard identifier: 8');
    assert.equal(guard(5, 1n << 32n, 0x4000n), 'EXC_GUARD / GUARD_TYPE_VIRT_MEMORY / GUARD_EXC_DEALLOC_GAP offset: 16384');
    assert.equal(guard(6, 0n, 0x1fn), 'EXC_GUARD / GUARD_TYPE_REJECTED_SC / GUARD_EXC_MACH_TRAP syscall: 31');
  });

  test('EXC_GUARD: an unknown flavor prints both codes `{:#018x}`, guard type 7 the flags', () => {
    assert.equal(guard(2, 3n << 32n, 1n), 'EXC_GUARD / GUARD_TYPE_FD / 0x0000000300000000 / 0x0000000000000001');
    assert.equal(guard(1, 6n << 32n, 0n), 'EXC_GUARD / GUARD_TYPE_MACH_PORT / 0x0000000600000000 / 0x0000000000000000');
    assert.equal(guard(5, 0n, 0n), 'EXC_GUARD / GUARD_TYPE_VIRT_MEMORY / 0x0000000000000000 / 0x0000000000000000');
    assert.equal(guard(6, 1n << 32n, 0n), 'EXC_GUARD / GUARD_TYPE_REJECTED_SC / 0x0000000100000000 / 0x0000000000000000');
    assert.equal(guard(7, 0n, 0n), 'EXC_GUARD / 0xe0000000');
  });

  test('EXC_GUARD and EXC_RESOURCE take a parameter the record does not count as 0', () => {
    assert.equal(mac('arm64', 12, 3 << 29, []), 'EXC_GUARD / GUARD_TYPE_USER/ namespace: 0 guard identifier: 0');
    assert.equal(mac('arm64', 11, 3 << 29, [0n, (1n << 58n) | 16n]), 'EXC_RESOURCE / RESOURCE_TYPE_MEMORY / FLAVOR_HIGH_WATERMARK high watermark limit: 16MiB');
  });
});

describe('rustMinidumpCrashReason on other systems', () => {
  test('rust-minidump decodes no other OS: `unknown {:#010x} / {:#010x}`', () => {
    assert.equal(rustMinidumpCrashReason('solaris', 'sparc', record(11, 1)), 'unknown 0x0000000b / 0x00000001');
    assert.equal(rustMinidumpCrashReason('fuchsia', 'arm64', record(0x108, 0)), 'unknown 0x00000108 / 0x00000000');
    assert.equal(rustMinidumpCrashReason('ps3', 'ppc64', record(3, 0)), 'unknown 0x00000003 / 0x00000000');
    assert.equal(rustMinidumpCrashReason('unknown', 'unknown', record(0xc0000005, 0xffffffff, [1n])), 'unknown 0xc0000005 / 0xffffffff');
  });
});
