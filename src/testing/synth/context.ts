// Test support: register context records as the writers lay them out. Registers are named as in
// the snapshot model (eip, rsp, x0..x28, fp, lr, sp, pc, r0..r12); unnamed ones are zero.
import { Section, type Value } from './section.js';

export type RegisterValues = Readonly<Record<string, Value>>;

/** Names a record does not have are a typo in the test, not a silent zero. */
function take(regs: RegisterValues, known: readonly string[], cpu: string): (name: string) => Value {
  for (const name of Object.keys(regs)) {
    if (!known.includes(name)) throw new Error(`${cpu} context has no register '${name}'`);
  }
  return (name) => regs[name] ?? 0;
}

const X86_REGISTERS = ['edi', 'esi', 'ebx', 'edx', 'ecx', 'eax', 'ebp', 'eip', 'cs', 'efl', 'esp', 'ss'];

/** CONTEXT (x86), 716 bytes: flags, debug registers, FLOATING_SAVE_AREA, segments, integer registers. */
export function x86Context(regs: RegisterValues, flags = 0x0001003f): Uint8Array {
  const r = take(regs, X86_REGISTERS, 'x86');
  const s = new Section().u32(flags).fill(6 * 4).fill(112).fill(4 * 4);
  for (const name of X86_REGISTERS) s.u32(r(name));
  s.fill(512); // ExtendedRegisters
  return s.finish();
}

const AMD64_GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

/** CONTEXT (amd64), 1232 bytes: home slots, flags, segments, eflags, debug registers, GPRs, rip, XMM save area. */
export function amd64Context(regs: RegisterValues, flags = 0x0010001f): Uint8Array {
  const r = take(regs, [...AMD64_GPRS, 'rip', 'rflags', 'cs'], 'amd64');
  const s = new Section().fill(6 * 8).u32(flags).u32(0x1f80); // P1Home..P6Home, ContextFlags, MxCsr
  s.u16(r('cs')).fill(5 * 2).u32(r('rflags')).fill(6 * 8); // SegCs (0x33 64-bit code, 0x23 WOW64's 32-bit code), other segments, EFlags, Dr0..Dr7
  for (const name of AMD64_GPRS) s.u64(r(name));
  s.u64(r('rip'));
  s.fill(1232 - s.size); // FltSave, VectorRegister, debug control
  return s.finish();
}

const ARM64_GPRS = [...Array.from({ length: 29 }, (_, i) => `x${i}`), 'fp', 'lr'];

/** ARM64_NT_CONTEXT, 912 bytes: flags, cpsr, x0..x28, fp, lr, sp, pc, then NEON and debug registers. */
export function arm64Context(regs: RegisterValues, flags = 0x00400007): Uint8Array {
  const r = take(regs, [...ARM64_GPRS, 'sp', 'pc', 'cpsr'], 'arm64');
  const s = new Section().u32(flags).u32(r('cpsr'));
  for (const name of [...ARM64_GPRS, 'sp', 'pc']) s.u64(r(name));
  s.fill(912 - s.size);
  return s.finish();
}

/** Breakpad's MDRawContextARM64_Old (pack 4), 796 bytes: u64 flags, iregs[33] (x0..x30, sp, pc), cpsr, float save. */
export function arm64OldContext(regs: RegisterValues, flags: bigint = 0x80000007n): Uint8Array {
  const r = take(regs, [...ARM64_GPRS, 'sp', 'pc', 'cpsr'], 'arm64 (old)');
  const s = new Section().u64(flags);
  for (const name of [...ARM64_GPRS, 'sp', 'pc']) s.u64(r(name));
  s.u32(r('cpsr')).fill(4 + 4 + 32 * 16);
  return s.finish();
}

const ARM_REGISTERS = [...Array.from({ length: 13 }, (_, i) => `r${i}`), 'sp', 'lr', 'pc'];

/** Breakpad's MDRawContextARM, 368 bytes: flags, iregs[16], cpsr, VFP save area. */
export function armContext(regs: RegisterValues, flags = 0x40000006): Uint8Array {
  const r = take(regs, [...ARM_REGISTERS, 'cpsr'], 'arm');
  const s = new Section().u32(flags);
  for (const name of ARM_REGISTERS) s.u32(r(name));
  s.u32(r('cpsr')).fill(8 + 32 * 8 + 8 * 4);
  return s.finish();
}
