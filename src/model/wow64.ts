import type { CpuContext } from './cpu.js';

// WOW64: a 32-bit x86 program on 64-bit Windows. A 64-bit dumper records the thread as the 64-bit
// layer (wow64cpu.dll, wow64.dll, the 64-bit ntdll) sees it; the program's own x86 state is kept
// beside it. The layout facts, and where each comes from:
// - The 64-bit TEB's TlsSlots (at 0x1480: Go's windows/amd64 runtime reads TLS at gs:0x1480 + 8 * index,
//   and Microsoft's TEB declaration in winternl.h puts 12 + 1 + 399 pointers and 1952 bytes before
//   them) hold in slot 1 (WOW64_TLS_CPURESERVED, 1 in Wine's winternl.h and System Informer's phnt)
//   a pointer to the thread's WOW64_CPURESERVED.
// - WOW64_CPURESERVED is u16 Flags, u16 Machine (IMAGE_FILE_MACHINE_I386, 0x014c, for an x86
//   guest; Wine's get_cpu_area checks it), then the guest CONTEXT. Microsoft's WOW64_CONTEXT page
//   says TLS slot 1 points to a structure holding a WOW64_CONTEXT at offset 4, and the WDK's
//   wow64t.h (Wow64GetThreadX86Context) adds sizeof(ULONG) to the slot's pointer.
// - WOW64_CONTEXT has the x86 CONTEXT's layout (Microsoft's WOW64_CONTEXT page lists the same fields).
// - The 32-bit TEB follows the 64-bit one at the 64-bit TEB's size rounded up to pages (wow64t.h
//   and phnt's WOW64_GET_TEB32), 0x2000 on x64; Microsoft's TEB page says the 64-bit TEB's first
//   field (NtTib.ExceptionList) holds the 32-bit TEB's address; newer TEBs also hold the distance
//   as WowTebOffset (0x180c in the 64-bit TEB, as wow64t.h's Wow64CurrentGuestTeb uses it).
// - A thread stopped in 32-bit code has CS = 0x23 (KGDT64_R3_CMCODE | RPL 3, the user 32-bit code
//   selector of x64 Windows' GDT); wow64cpu's CpuGetContext then converts the 64-bit context
//   directly instead of reading WOW64_CPURESERVED. Wine 8's dbghelp writes such records too.

/** IMAGE_FILE_MACHINE_I386. */
export const MACHINE_I386 = 0x014c;
/** The x64 user-mode 32-bit code selector (KGDT64_R3_CMCODE | 3). */
export const COMPAT_CODE_SEGMENT = 0x23;

/** Where a WOW64 thread's x86 context came from. */
export type Wow64ContextSource =
  /** TEB64 TlsSlots[1] → WOW64_CPURESERVED → WOW64_CONTEXT, saved when the thread entered the 64-bit layer. */
  | 'cpu-reserved'
  /** The thread's own amd64 record, taken in 32-bit code (CS 0x23): its low halves are the x86 registers. */
  | 'compatibility-mode';

/** A thread of a 32-bit program in a 64-bit dump. */
export interface Wow64Thread {
  /** The program's x86 registers (cpu 'x86'); undefined when they could not be read (`problem` says why). */
  readonly context: CpuContext | undefined;
  readonly source: Wow64ContextSource | undefined;
  /** The 32-bit TEB, when found (its NtTib.Self names itself). */
  readonly teb32: bigint | undefined;
  /** The 32-bit stack's extent from the 32-bit TEB's NT_TIB (StackBase, StackLimit), when read. */
  readonly stackBounds: { readonly base: bigint; readonly limit: bigint } | undefined;
  /** Why the x86 context is missing or partial, in words. */
  readonly problem?: string | undefined;
}

/** What shows a dump's process to be a 32-bit program under WOW64, in words (module names, image machines, TEBs). */
export interface Wow64Process {
  readonly evidence: readonly string[];
}

/**
 * The x86 registers of an amd64 record taken while the thread ran 32-bit code (CS 0x23): the low
 * 32 bits of each register; undefined for any other record.
 */
export function x86FromCompatibilityMode(context: CpuContext | undefined): CpuContext | undefined {
  if (context?.cpu !== 'amd64' || context.codeSegment !== COMPAT_CODE_SEGMENT) return undefined;
  const pairs: readonly (readonly [string, string])[] = [
    ['eip', 'rip'],
    ['esp', 'rsp'],
    ['ebp', 'rbp'],
    ['ebx', 'rbx'],
    ['esi', 'rsi'],
    ['edi', 'rdi'],
    ['eax', 'rax'],
    ['ecx', 'rcx'],
    ['edx', 'rdx'],
    ['efl', 'rflags'],
  ];
  const registers = new Map<string, bigint>();
  for (const [x86, amd64] of pairs) {
    const v = context.registers.get(amd64);
    if (v !== undefined) registers.set(x86, v & 0xffffffffn);
  }
  return { cpu: 'x86', registers };
}
