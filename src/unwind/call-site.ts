import type { Cpu } from '../model/cpu.js';

/** How many bytes before a return address `precededByCall` wants to see. */
export function callSiteWindow(cpu: Cpu): number {
  return cpu === 'arm64' ? 4 : 8;
}

/**
 * Whether the code just before a return address ends with a call instruction, so the address is
 * one a call pushed (or left in LR). `before` holds the bytes up to and excluding the return address.
 * x86/x64: `E8 rel32`, or `FF /2` / `FF /3` in any register or memory form (with REX or other
 * prefixes before the opcode). arm64: BL, BLR and the pointer-authenticating BLRA* forms.
 */
export function precededByCall(cpu: Cpu, before: Uint8Array): boolean {
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
