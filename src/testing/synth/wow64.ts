// Test support: the memory a 64-bit dump of a WOW64 process holds for one thread, laid out as
// model/wow64.ts describes it: the 64-bit TEB (NtTib.ExceptionList and WowTebOffset naming the
// 32-bit TEB two pages on, TlsSlots[1] pointing to WOW64_CPURESERVED), WOW64_CPURESERVED (Flags,
// Machine, the x86 CONTEXT) and the 32-bit TEB (NT_TIB32 with the 32-bit stack's extent).
// Written out here independently of the reader's offsets.
import { Section } from './section.js';

export interface Wow64ThreadSpec {
  /** The 64-bit TEB; the 32-bit TEB is at teb64 + 0x2000. */
  readonly teb64: bigint;
  /** Where WOW64_CPURESERVED is (Windows keeps it at the top of the 64-bit stack). */
  readonly cpuReserved: bigint;
  /** The x86 CONTEXT (x86Context), or any bytes for hostile tests. */
  readonly context: Uint8Array;
  /** The 32-bit stack's extent (NT_TIB32 StackBase, StackLimit). */
  readonly stack32: { readonly base: bigint; readonly limit: bigint };
  /** The 64-bit stack's extent (NT_TIB StackBase, StackLimit). */
  readonly stack64?: { readonly base: bigint; readonly limit: bigint };
  /** WOW64_CPURESERVED.Machine (default 0x014c, x86). */
  readonly machine?: number;
  /** TlsSlots[1] (default cpuReserved). */
  readonly tlsSlot1?: bigint;
}

/** The ranges to add with SynthMinidump.memory: the 64-bit TEB, WOW64_CPURESERVED and the 32-bit TEB. */
export function wow64ThreadMemory(spec: Wow64ThreadSpec): { base: bigint; bytes: Uint8Array }[] {
  const teb32 = spec.teb64 + 0x2000n;
  // TEB64: NT_TIB (ExceptionList, StackBase, StackLimit, SubSystemTib, FiberData, ArbitraryUserPointer, Self) ... TlsSlots at 0x1480 ... WowTebOffset at 0x180c.
  const teb64 = new Section().u64(teb32).u64(spec.stack64?.base ?? 0).u64(spec.stack64?.limit ?? 0).u64(0).u64(0).u64(0).u64(spec.teb64);
  teb64.fill(0x1480 - teb64.size).u64(0).u64(spec.tlsSlot1 ?? spec.cpuReserved).fill(0x180c - 0x1490).u32(0x2000).fill(0x1838 - 0x1810);
  const reserved = new Section().u16(0).u16(spec.machine ?? 0x014c).bytes(spec.context);
  // TEB32: NT_TIB32 (ExceptionList, StackBase, StackLimit, SubSystemTib, FiberData, ArbitraryUserPointer, Self).
  const tib32 = new Section().u32(0xffffffff).u32(spec.stack32.base).u32(spec.stack32.limit).u32(0).u32(0).u32(0).u32(teb32).fill(0x1000 - 0x1c);
  return [
    { base: spec.teb64, bytes: teb64.finish() },
    { base: spec.cpuReserved, bytes: reserved.finish() },
    { base: teb32, bytes: tib32.finish() },
  ];
}
