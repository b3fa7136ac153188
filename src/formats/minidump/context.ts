import type { Cpu, CpuContext } from '../../model/cpu.js';
import type { Reader } from '../../io/reader.js';

// CONTEXT flag bits that say which architecture a context record describes.
const CONTEXT_X86 = 0x00010000;
const CONTEXT_AMD64 = 0x00100000;
const CONTEXT_ARM = 0x40000000;
const CONTEXT_ARM64 = 0x00400000;
const CONTEXT_ARM64_OLD = 0x80000000n;

const X86_SIZE = 716; // CONTEXT (x86), without XSAVE
const AMD64_SIZE = 1232; // CONTEXT (amd64), without XSAVE
const ARM64_SIZE = 912; // ARM64_NT_CONTEXT
const ARM64_OLD_SIZE = 8 + 33 * 8 + 4; // Breakpad MDRawContextARM64_Old up to cpsr (pack 4)
const ARM_SIZE = 4 + 16 * 4 + 4; // MDRawContextARM up to cpsr

/**
 * Decodes a thread context. `cpu` comes from SystemInfo; when it is unknown the record's size
 * and flags decide, as Breakpad does.
 */
export function parseContext(r: Reader, cpu: Cpu): CpuContext {
  const kind = cpu === 'unknown' ? guessCpu(r) : cpu;
  switch (kind) {
    case 'x86':
      return parseX86(r);
    case 'amd64':
      return parseAmd64(r);
    case 'arm64':
      return isOldArm64(r) ? parseArm64Old(r) : parseArm64(r);
    case 'arm':
      return parseArm(r);
    default:
      throw r.error(0, `register context for CPU '${cpu}' is not supported`);
  }
}

function guessCpu(r: Reader): Cpu {
  if (r.length >= AMD64_SIZE && (r.u32(48) & CONTEXT_AMD64) !== 0) return 'amd64';
  if (r.length >= ARM64_SIZE && (r.u32(0) & CONTEXT_ARM64) !== 0) return 'arm64';
  if (r.length >= ARM64_OLD_SIZE && isOldArm64(r)) return 'arm64';
  if (r.length >= X86_SIZE && (r.u32(0) & CONTEXT_X86) !== 0) return 'x86';
  if (r.length >= ARM_SIZE && (r.u32(0) & CONTEXT_ARM) !== 0) return 'arm';
  throw r.error(0, `cannot tell the CPU of a ${r.length}-byte context record`);
}

function isOldArm64(r: Reader): boolean {
  return r.length >= 8 && (r.u64(0) & CONTEXT_ARM64_OLD) !== 0n && (r.u32(0) & CONTEXT_ARM64) === 0;
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
  return { cpu: 'amd64', registers };
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
