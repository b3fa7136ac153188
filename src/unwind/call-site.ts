import type { Cpu } from '../model/cpu.js';

/** How many bytes before a return address `precededByCall` wants to see. */
export function callSiteWindow(cpu: Cpu): number {
  return cpu === 'arm64' || cpu === 'arm' ? 4 : 8;
}

/**
 * Where the code before a return address starts: on 32-bit ARM, bit 0 of a return address only
 * says Thumb state, so it is cleared first.
 */
export function callSiteStart(cpu: Cpu, returnAddress: bigint): bigint {
  const code = cpu === 'arm' ? returnAddress & ~1n : returnAddress;
  return code - BigInt(callSiteWindow(cpu));
}

/**
 * Whether the code just before a return address ends with a call instruction, so the address is
 * one a call pushed (or left in LR). `before` holds the bytes up to and excluding the return address.
 * x86/x64: `E8 rel32`, or `FF /2` / `FF /3` in any register or memory form (with REX or other
 * prefixes before the opcode). arm64: BL, BLR and the pointer-authenticating BLRA* forms. 32-bit
 * ARM (`thumb` from bit 0 of the return address): Thumb-2 BL and BLX imm, Thumb BLX Rm; ARM BL, BLX
 * imm and BLX Rm (ARM Architecture Reference Manual, ARMv7-A/R, A8.8.25-26).
 */
export function precededByCall(cpu: Cpu, before: Uint8Array, thumb = false): boolean {
  if (cpu === 'arm') return armCallBefore(before, thumb);
  if (cpu === 'arm64') {
    if (before.length < 4) return false;
    const at = before.length - 4;
    const w = (before[at]! | (before[at + 1]! << 8) | (before[at + 2]! << 16) | (before[at + 3]! << 24)) >>> 0;
    if ((w & 0xfc000000) >>> 0 === 0x94000000) return true; // BL imm26
    if ((w & 0xfffffc1f) >>> 0 === 0xd63f0000) return true; // BLR Xn
    return (w & 0xfefff800) >>> 0 === 0xd63f0800; // BLRAA, BLRAAZ, BLRAB, BLRABZ
  }
  const len = before.length;
  if (len >= 5 && before[len - 5] === 0xe8) return true; // CALL rel32
  for (let p = len - 2; p >= Math.max(0, len - 8); p--) {
    if (before[p] !== 0xff) continue;
    const modrm = before[p + 1]!;
    const reg = (modrm >> 3) & 7;
    if (reg !== 2 && reg !== 3) continue; // CALL r/m, CALL FAR m
    if (p + modrmLength(modrm, before[p + 2]) + 1 === len) return true;
  }
  return false;
}

function armCallBefore(before: Uint8Array, thumb: boolean): boolean {
  if (before.length < 4) return false;
  const at = before.length - 4;
  const hw1 = before[at]! | (before[at + 1]! << 8);
  const hw2 = before[at + 2]! | (before[at + 3]! << 8);
  if (thumb) {
    if ((hw2 & 0xff87) === 0x4780) return true; // BLX Rm (16-bit)
    // BL / BLX imm (32-bit): 11110 S imm10, then 11 J1 1 J2 (BL) or 11 J1 0 J2 ... 0 (BLX).
    return (hw1 & 0xf800) === 0xf000 && ((hw2 & 0xd000) === 0xd000 || (hw2 & 0xd001) === 0xc000);
  }
  const w = (hw1 | (hw2 << 16)) >>> 0;
  const cond = w >>> 28;
  if ((w & 0xfe000000) >>> 0 === 0xfa000000) return true; // BLX imm (unconditional space)
  if (cond === 0xf) return false;
  if ((w & 0x0f000000) >>> 0 === 0x0b000000) return true; // BL imm
  return (w & 0x0ffffff0) >>> 0 === 0x012fff30; // BLX Rm
}

/** Bytes of ModRM plus SIB and displacement (32/64-bit addressing). */
function modrmLength(modrm: number, sib: number | undefined): number {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return 1;
  let n = 1;
  if (rm === 4) {
    n += 1; // SIB
    if (mod === 0 && sib !== undefined && (sib & 7) === 5) n += 4; // SIB without base: disp32
  }
  if (mod === 0 && rm === 5) n += 4; // disp32 (RIP-relative on x64)
  if (mod === 1) n += 1;
  if (mod === 2) n += 4;
  return n;
}
