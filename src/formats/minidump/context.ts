import type { Cpu, CpuContext } from '../../model/cpu.js';
import type { Reader } from '../../io/reader.js';

// CONTEXT flag bits that say which architecture a context record describes.
const CONTEXT_X86 = 0x00010000;
const CONTEXT_AMD64 = 0x00100000;
const CONTEXT_ARM = 0x40000000;
const CONTEXT_ARM64 = 0x00400000;
const CONTEXT_ARM64_OLD = 0x80000000n;

const CONTEXT_CPU_MASK = 0xffffff00;
const CONTEXT_ARM_OLD = 0x00000040; // Breakpad's first ARM flag, before CONTEXT_ARM
const CONTEXT_X86_XSTATE = 0x00000040;

const X86_SIZE = 716; // CONTEXT (x86) without an XSAVE area
const AMD64_SIZE = 1232; // CONTEXT (amd64) without an XSAVE area
const ARM64_OLD_SIZE = 8 + 33 * 8 + 4 + 4 + 4 + 32 * 16; // Breakpad MDRawContextARM64_Old, pack(4)
const MAX_XSAVE_AREA = 4096;

/**
 * Decodes a thread context the way Breakpad's MinidumpContext::Read decides its CPU: by the
 * record's size and flags, with SystemInfo's CPU filling in flags of 0 and vetting the result
 * (an x86 record in an amd64 process is WoW64 and is kept; an amd64 record in an x86 one is not).
 */
export function parseContext(r: Reader, systemCpu: Cpu): CpuContext {
  const size = r.length;
  if (size === AMD64_SIZE || (systemCpu === 'amd64' && size >= AMD64_SIZE)) {
    const type = (r.u32(48) & CONTEXT_CPU_MASK) >>> 0;
    if (type !== 0 && type !== CONTEXT_AMD64) throw r.error(48, `an amd64-sized context carries flags of another CPU (0x${type.toString(16)})`);
    return vetted(r, parseAmd64(r), systemCpu);
  }
  if (size === ARM64_OLD_SIZE) {
    const type = r.u64(0) & BigInt(CONTEXT_CPU_MASK);
    if (type !== 0n && type !== CONTEXT_ARM64_OLD) throw r.error(0, `an old-arm64-sized context carries flags of another CPU (0x${type.toString(16)})`);
    return vetted(r, parseArm64Old(r), systemCpu);
  }
  r.check(0, 4);
  const flags = r.u32(0);
  let type = (flags & CONTEXT_CPU_MASK) >>> 0;
  if (type === 0 && (flags & CONTEXT_ARM_OLD) !== 0) type = CONTEXT_ARM;
  if (type === 0) type = contextFlagFor(systemCpu);
  switch (type) {
    case CONTEXT_X86:
      if (size !== X86_SIZE && !((flags & CONTEXT_X86_XSTATE) !== 0 && size > X86_SIZE && size - X86_SIZE <= MAX_XSAVE_AREA)) {
        throw r.error(0, `x86 context of ${size} bytes (expected ${X86_SIZE}, or more with an XSAVE area)`);
      }
      return vetted(r, parseX86(r), systemCpu);
    case CONTEXT_ARM64:
      return vetted(r, parseArm64(r), systemCpu);
    case CONTEXT_ARM:
      return vetted(r, parseArm(r), systemCpu);
    case CONTEXT_AMD64:
      throw r.error(0, `amd64 CONTEXT of ${size} bytes is too short (needs ${AMD64_SIZE})`);
    case 0:
      throw r.error(0, systemCpu === 'unknown'
        ? `cannot tell the CPU of a ${size}-byte context record (flags 0x${flags.toString(16)})`
        : `register context for CPU '${systemCpu}' is not supported`);
    default:
      throw r.error(0, `register context of ${size} bytes with flags 0x${flags.toString(16)} is of no supported CPU`);
  }
}

function contextFlagFor(cpu: Cpu): number {
  switch (cpu) {
    case 'x86':
      return CONTEXT_X86;
    case 'arm64':
      return CONTEXT_ARM64;
    case 'arm':
      return CONTEXT_ARM;
    case 'amd64':
      return CONTEXT_AMD64;
    default:
      return 0;
  }
}

/** Breakpad's CheckAgainstSystemInfo: the context's CPU must fit the process's (x86 may run under amd64). */
function vetted(r: Reader, context: CpuContext, systemCpu: Cpu): CpuContext {
  const fits = systemCpu === 'unknown' || context.cpu === systemCpu || (context.cpu === 'x86' && systemCpu === 'amd64');
  if (!fits) throw r.error(0, `a ${context.cpu} context in a ${systemCpu} dump`);
  return context;
}

/**
 * A WOW64_CONTEXT (the x86 CONTEXT layout) saved in a 64-bit process's memory: its flags must say
 * x86 (or nothing); only the integer and control registers (the first 204 bytes) need be there.
 */
export function parseWow64Context(r: Reader): CpuContext {
  r.check(0, 204, 'WOW64_CONTEXT');
  const type = (r.u32(0) & CONTEXT_CPU_MASK) >>> 0;
  if (type !== 0 && type !== CONTEXT_X86) throw r.error(0, `ContextFlags 0x${r.u32(0).toString(16)} are not an x86 context's`);
  return parseX86(r);
}

function parseX86(r: Reader): CpuContext {
  // CONTEXT (x86): integer registers at 156..200; XSAVE/CET variants only append data.
  r.check(0, 204, 'x86 CONTEXT');
  const at = (o: number): bigint => BigInt(r.u32(o));
  const registers = new Map<string, bigint>([
    ['eip', at(184)],
    ['esp', at(196)],
    ['ebp', at(180)],
    ['ebx', at(164)],
    ['esi', at(160)],
    ['edi', at(156)],
    ['eax', at(176)],
    ['ecx', at(172)],
    ['edx', at(168)],
    ['efl', at(192)],
  ]);
  return { cpu: 'x86', registers };
}

function parseAmd64(r: Reader): CpuContext {
  // CONTEXT (amd64): Rax at 120, sixteen 8-byte GPRs in the order rax rcx rdx rbx rsp rbp rsi rdi r8..r15, Rip at 248.
  r.check(0, 256, 'amd64 CONTEXT');
  const order = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
  const registers = new Map<string, bigint>();
  order.forEach((name, i) => registers.set(name, r.u64(120 + i * 8)));
  registers.set('rip', r.u64(248));
  registers.set('rflags', BigInt(r.u32(68)));
  // SegCs at 56: 0x23 says the thread was stopped in 32-bit code (WOW64).
  return { cpu: 'amd64', registers, codeSegment: r.u16(56) };
}

function arm64Name(i: number): string {
  return i === 29 ? 'fp' : i === 30 ? 'lr' : `x${i}`;
}

function parseArm64(r: Reader): CpuContext {
  // ARM64_NT_CONTEXT: ContextFlags, Cpsr, X0..X30 at 8, Sp at 256, Pc at 264.
  r.check(0, 272, 'arm64 CONTEXT');
  const registers = new Map<string, bigint>();
  for (let i = 0; i < 31; i++) registers.set(arm64Name(i), r.u64(8 + i * 8));
  registers.set('sp', r.u64(256));
  registers.set('pc', r.u64(264));
  return { cpu: 'arm64', registers };
}

function parseArm64Old(r: Reader): CpuContext {
  // Breakpad MDRawContextARM64_Old: u64 flags, iregs[33] = x0..x30, sp, pc.
  r.check(0, 8 + 33 * 8, 'arm64 (old Breakpad) CONTEXT');
  const registers = new Map<string, bigint>();
  for (let i = 0; i < 31; i++) registers.set(arm64Name(i), r.u64(8 + i * 8));
  registers.set('sp', r.u64(8 + 31 * 8));
  registers.set('pc', r.u64(8 + 32 * 8));
  return { cpu: 'arm64', registers };
}

function parseArm(r: Reader): CpuContext {
  // MDRawContextARM: flags, iregs[16] (r13 = sp, r14 = lr, r15 = pc), cpsr.
  r.check(0, 4 + 16 * 4, 'arm CONTEXT');
  const registers = new Map<string, bigint>();
  for (let i = 0; i < 16; i++) {
    const name = i === 13 ? 'sp' : i === 14 ? 'lr' : i === 15 ? 'pc' : `r${i}`;
    registers.set(name, BigInt(r.u32(4 + i * 4)));
  }
  return { cpu: 'arm', registers };
}
