/**
 * A bounded decoder for the amd64 (64-bit mode) instructions that fault on memory, printed the way
 * yaxpeax-x86's Intel display prints them (the text rust-minidump's `crash_info.instruction` holds):
 * `mov dword [0x45], 0x5`, `mov rax, qword [rbx + rcx * 8 - 0x10]`, `rep movs byte es:[rdi], byte ds:[rsi]`.
 *
 * It covers the one-byte opcode map's integer instructions (ALU, mov, test, xchg, push/pop, the
 * 0x80/0x81/0x83/0xc6/0xc7/0xf6/0xf7/0xfe/0xff groups, shifts, string ops, calls, jumps, ret) and
 * the two-byte ones crashes show (movzx/movsx, setcc/cmovcc, jcc rel32, imul, cmpxchg/xadd, SSE
 * moves and ucomis*), and lea. Anything else (far branches, x87, AVX...), a truncated instruction or
 * one longer than 15 bytes is undefined: the decoder never throws and reads only the bytes it is given.
 */

/** One operand as yaxpeax models it (its memory forms are distinct: `[rbx]`, `[rbx + 0x8]`, `[rbx + rcx * 1]`...). */
export type Amd64Operand =
  | { readonly kind: 'reg'; readonly reg: string }
  /** An immediate; `signed` ones print as `-0x1`, unsigned ones as `0xff`. */
  | { readonly kind: 'imm'; readonly value: bigint; readonly signed: boolean }
  /** A relative branch displacement (`$+0x10`, `$-0x8`). */
  | { readonly kind: 'rel'; readonly offset: number }
  | Amd64Memory;

export interface Amd64Memory {
  readonly kind: 'mem';
  /** yaxpeax's memory operand forms; `abs32` and `abs64` have neither base nor index. */
  readonly form: 'abs32' | 'abs64' | 'deref' | 'disp' | 'scale' | 'scale-disp' | 'base-index-scale' | 'base-index-scale-disp';
  readonly base: string | undefined;
  readonly index: string | undefined;
  readonly scale: number;
  /** The signed 32-bit displacement, or the absolute address of `abs32` (as u32) and `abs64`. */
  readonly disp: bigint;
  /** A segment printed before the bracket (`fs:[rax]`, `es:[rdi]`). */
  readonly segment: string | undefined;
}

export interface Amd64Instruction {
  /** yaxpeax's lower-case mnemonic (`mov`, `movs`, `jz`, `ucomiss`). */
  readonly mnemonic: string;
  readonly operands: readonly Amd64Operand[];
  /**
   * yaxpeax's `mem_size`: the operand size of every ModRM form (even when r/m is a register) and the
   * stack slot of push, pop, call and ret; 0 when the instruction names no memory (rust-minidump then
   * derives no access at all).
   */
  readonly memSize: number;
  /** `lock ` / `rep ` / `repnz ` as printed before the mnemonic. */
  readonly prefix: string;
  readonly length: number;
}

/** The architectural limit on an x86 instruction's length. */
export const MAX_INSTRUCTION_LENGTH = 15;

const Q = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const D = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const W = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const B_REX = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const B_LEGACY = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const XMM = Array.from({ length: 16 }, (_, i) => `xmm${i}`);

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const CONDITIONS = ['o', 'no', 'b', 'nb', 'z', 'nz', 'na', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
// yaxpeax names setcc and cmovcc with the other spelling for some conditions.
const SET_NAMES = ['seto', 'setno', 'setb', 'setae', 'setz', 'setnz', 'setbe', 'seta', 'sets', 'setns', 'setp', 'setnp', 'setl', 'setge', 'setle', 'setg'];
const CMOV_NAMES = ['cmovo', 'cmovno', 'cmovb', 'cmovnb', 'cmovz', 'cmovnz', 'cmovna', 'cmova', 'cmovs', 'cmovns', 'cmovp', 'cmovnp', 'cmovl', 'cmovge', 'cmovle', 'cmovg'];

const LOCKABLE = new Set(['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'btc', 'btr', 'bts', 'cmpxchg', 'dec', 'inc', 'neg', 'not', 'xadd', 'xchg']);

/** Raised inside the decoder only; `decodeAmd64` turns it into undefined. */
class Undecodable extends Error {}

interface Prefixes {
  rex: number;
  operandSize: boolean;
  addressSize: boolean;
  rep: 0xf2 | 0xf3 | undefined;
  lock: boolean;
  segment: string | undefined;
}

/** A cursor over at most MAX_INSTRUCTION_LENGTH bytes. */
class Cursor {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  u8(): number {
    if (this.offset >= this.bytes.length || this.offset >= MAX_INSTRUCTION_LENGTH) throw new Undecodable();
    return this.bytes[this.offset++]!;
  }
  /** A little-endian signed integer of 1, 2 or 4 bytes. */
  signed(width: 1 | 2 | 4): number {
    let v = 0;
    for (let i = 0; i < width; i++) v |= this.u8() << (8 * i);
    if (width === 4) return v | 0;
    const shift = 32 - 8 * width;
    return (v << shift) >> shift;
  }
  unsigned(width: 1 | 2 | 4 | 8): bigint {
    let v = 0n;
    for (let i = 0; i < width; i++) v |= BigInt(this.u8()) << BigInt(8 * i);
    return v;
  }
}

/** Decodes the instruction at the start of `bytes`; undefined when it is not one this decoder knows, or is cut short. */
export function decodeAmd64(bytes: Uint8Array): Amd64Instruction | undefined {
  try {
    return decode(new Cursor(bytes.subarray(0, MAX_INSTRUCTION_LENGTH)));
  } catch (e) {
    if (e instanceof Undecodable) return undefined;
    throw e;
  }
}

function decode(c: Cursor): Amd64Instruction {
  const p: Prefixes = { rex: 0, operandSize: false, addressSize: false, rep: undefined, lock: false, segment: undefined };
  let op: number;
  for (;;) {
    op = c.u8();
    if (op >= 0x40 && op <= 0x4f) {
      p.rex = op;
      continue;
    }
    // A REX prefix counts only right before the opcode.
    if (op === 0x66) p.operandSize = true;
    else if (op === 0x67) p.addressSize = true;
    else if (op === 0xf2 || op === 0xf3) p.rep = op;
    else if (op === 0xf0) p.lock = true;
    else if (op === 0x64) p.segment = 'fs';
    else if (op === 0x65) p.segment = 'gs';
    // es, cs, ss and ds overrides are no-ops in 64-bit mode.
    else if (op !== 0x26 && op !== 0x2e && op !== 0x36 && op !== 0x3e) break;
    p.rex = 0;
  }
  const d = new Decoding(c, p);
  const done = op === 0x0f ? d.twoByte(c.u8()) : d.oneByte(op);
  // yaxpeax rejects a lock prefix except on a read-modify-write of memory.
  if (p.lock && !(LOCKABLE.has(done.mnemonic) && done.operands[0]?.kind === 'mem')) throw new Undecodable();
  let prefix = '';
  if (p.lock) prefix += 'lock ';
  if (p.rep !== undefined && ['movs', 'cmps', 'lods', 'stos', 'ins', 'outs'].includes(done.mnemonic)) {
    prefix += p.rep === 0xf3 ? 'rep ' : 'repnz ';
  }
  return { ...done, prefix, length: c.offset };
}

type Body = Omit<Amd64Instruction, 'prefix' | 'length'>;

class Decoding {
  constructor(
    private readonly c: Cursor,
    private readonly p: Prefixes,
  ) {}

  private get w(): boolean {
    return (this.p.rex & 8) !== 0;
  }
  private get r(): number {
    return (this.p.rex & 4) << 1;
  }
  private get x(): number {
    return (this.p.rex & 2) << 2;
  }
  private get b(): number {
    return (this.p.rex & 1) << 3;
  }

  /** yaxpeax's `vqp` operand size: 8 with REX.W, else 2 with 0x66, else 4. */
  private get v(): 2 | 4 | 8 {
    return this.w ? 8 : this.p.operandSize ? 2 : 4;
  }

  private reg(num: number, size: 1 | 2 | 4 | 8): Amd64Operand {
    const name = size === 8 ? Q[num] : size === 4 ? D[num] : size === 2 ? W[num] : this.p.rex !== 0 ? B_REX[num] : B_LEGACY[num];
    if (name === undefined) throw new Undecodable();
    return { kind: 'reg', reg: name };
  }

  private imm(width: 1 | 2 | 4, signed: boolean): Amd64Operand {
    return { kind: 'imm', value: signed ? BigInt(this.c.signed(width)) : this.c.unsigned(width), signed };
  }

  /** An Iz immediate: 16 bits with 0x66, else 32 (sign-extended under REX.W). */
  private immV(): Amd64Operand {
    return this.imm(this.v === 2 ? 2 : 4, true);
  }

  /** Reads ModRM (and SIB, displacement): the reg field and the r/m operand, a register of `size` or memory. */
  private modrm(size: 1 | 2 | 4 | 8 | 'xmm'): { reg: number; rm: Amd64Operand } {
    const m = this.c.u8();
    const mod = m >> 6;
    const reg = ((m >> 3) & 7) | this.r;
    const rmBits = m & 7;
    if (mod === 3) {
      const num = rmBits | this.b;
      const rm = size === 'xmm' ? ({ kind: 'reg', reg: XMM[num]! } as const) : this.reg(num, size);
      return { reg, rm };
    }
    return { reg, rm: this.memory(mod, rmBits) };
  }

  // yaxpeax's read_M / read_sib: a zero displacement gives the form without one, `[rbp]` needs mod 01.
  private memory(mod: number, rmBits: number): Amd64Memory {
    const names = this.p.addressSize ? D : Q;
    const segment = this.p.segment;
    const mem = (form: Amd64Memory['form'], base: string | undefined, index: string | undefined, scale: number, disp: bigint): Amd64Memory => ({
      kind: 'mem',
      form,
      base,
      index,
      scale,
      disp,
      segment,
    });
    if (rmBits === 4) {
      const sib = this.c.u8();
      const baseBits = sib & 7;
      const indexNum = ((sib >> 3) & 7) | this.x;
      const scale = 1 << (sib >> 6);
      const noIndex = indexNum === 4;
      const noBase = mod === 0 && baseBits === 5;
      const disp = mod === 1 ? this.c.signed(1) : mod === 2 || noBase ? this.c.signed(4) : 0;
      const base = names[baseBits | this.b]!;
      const index = names[indexNum]!;
      if (noBase) {
        if (noIndex) return mem('abs32', undefined, undefined, 1, BigInt(disp >>> 0));
        return disp === 0 ? mem('scale', undefined, index, scale, 0n) : mem('scale-disp', undefined, index, scale, BigInt(disp));
      }
      if (noIndex) return disp === 0 ? mem('deref', base, undefined, 1, 0n) : mem('disp', base, undefined, 1, BigInt(disp));
      return disp === 0 ? mem('base-index-scale', base, index, scale, 0n) : mem('base-index-scale-disp', base, index, scale, BigInt(disp));
    }
    if (mod === 0 && rmBits === 5) {
      const disp = this.c.signed(4);
      const rip = this.p.addressSize ? 'eip' : 'rip';
      return disp === 0 ? mem('deref', rip, undefined, 1, 0n) : mem('disp', rip, undefined, 1, BigInt(disp));
    }
    const base = names[rmBits | this.b]!;
    const disp = mod === 1 ? this.c.signed(1) : mod === 2 ? this.c.signed(4) : 0;
    return disp === 0 ? mem('deref', base, undefined, 1, 0n) : mem('disp', base, undefined, 1, BigInt(disp));
  }

  private plain(mnemonic: string, operands: Amd64Operand[] = [], memSize = 0): Body {
    return { mnemonic, operands, memSize };
  }

  /** `E, G` (or `G, E` when `regFirst`) with both of one size. */
  private eg(mnemonic: string, size: 1 | 2 | 4 | 8, regFirst: boolean): Body {
    const { reg, rm } = this.modrm(size);
    const g = this.reg(reg, size);
    return this.plain(mnemonic, regFirst ? [g, rm] : [rm, g], size);
  }

  oneByte(op: number): Body {
    if (op < 0x40 && (op & 7) < 6) {
      const mnemonic = ALU[op >> 3]!;
      switch (op & 7) {
        case 0:
          return this.eg(mnemonic, 1, false);
        case 1:
          return this.eg(mnemonic, this.v, false);
        case 2:
          return this.eg(mnemonic, 1, true);
        case 3:
          return this.eg(mnemonic, this.v, true);
        case 4:
          return this.plain(mnemonic, [this.reg(0, 1), this.imm(1, true)]);
        default:
          return this.plain(mnemonic, [this.reg(0, this.v), this.immV()]);
      }
    }
    if (op >= 0x50 && op <= 0x5f) {
      // push/pop reg: yaxpeax gives them a memory size of 8 (the stack slot).
      return this.plain(op < 0x58 ? 'push' : 'pop', [this.reg((op & 7) | this.b, this.p.operandSize ? 2 : 8)], 8);
    }
    if (op >= 0x70 && op <= 0x7f) return this.plain(`j${CONDITIONS[op - 0x70]}`, [{ kind: 'rel', offset: this.c.signed(1) }]);
    if (op >= 0xb0 && op <= 0xb7) return this.plain('mov', [this.reg((op & 7) | this.b, 1), this.imm(1, false)]);
    if (op >= 0xb8 && op <= 0xbf) {
      const r = this.reg((op & 7) | this.b, this.v);
      if (this.v === 8) {
        const v = this.c.unsigned(8);
        return this.plain('mov', [r, { kind: 'imm', value: BigInt.asIntN(64, v), signed: true }]);
      }
      return this.plain('mov', [r, this.imm(this.v === 2 ? 2 : 4, true)]);
    }
    if (op >= 0x91 && op <= 0x97) return this.plain('xchg', [this.reg(0, this.v), this.reg((op & 7) | this.b, this.v)]);
    switch (op) {
      case 0x63: {
        const { reg, rm } = this.modrm(4);
        return this.plain('movsxd', [this.reg(reg, this.w ? 8 : 4), rm], 4);
      }
      case 0x68:
        return this.plain('push', [this.imm(this.p.operandSize ? 2 : 4, true)]);
      case 0x6a:
        return this.plain('push', [this.imm(1, true)]);
      case 0x69:
      case 0x6b: {
        const { reg, rm } = this.modrm(this.v);
        const imm = op === 0x6b ? this.imm(1, true) : this.immV();
        return this.plain('imul', [this.reg(reg, this.v), rm, imm], this.v);
      }
      case 0x80:
      case 0x81:
      case 0x83: {
        const size = op === 0x80 ? 1 : this.v;
        const { reg, rm } = this.modrm(size);
        const imm = op === 0x81 ? this.immV() : this.imm(1, true);
        return this.plain(ALU[reg & 7]!, [rm, imm], size);
      }
      case 0x84:
        return this.eg('test', 1, false);
      case 0x85:
        return this.eg('test', this.v, false);
      case 0x86:
        return this.eg('xchg', 1, false);
      case 0x87:
        return this.eg('xchg', this.v, false);
      case 0x88:
        return this.eg('mov', 1, false);
      case 0x89:
        return this.eg('mov', this.v, false);
      case 0x8a:
        return this.eg('mov', 1, true);
      case 0x8b:
        return this.eg('mov', this.v, true);
      case 0x8d: {
        // lea: memory only; yaxpeax gives it the operand size and prints it (`lea rax, qword [rbx + 0x8]`).
        const { reg, rm } = this.modrm(this.v);
        if (rm.kind !== 'mem') throw new Undecodable();
        return this.plain('lea', [this.reg(reg, this.v), rm], this.v);
      }
      case 0x8f: {
        const { reg, rm } = this.modrm(this.p.operandSize ? 2 : 8);
        if ((reg & 7) !== 0) throw new Undecodable();
        return this.plain('pop', [rm], (this.p.operandSize ? 2 : 8));
      }
      case 0x90:
        if (this.b !== 0) return this.plain('xchg', [this.reg(0, this.v), this.reg(8, this.v)]);
        return this.plain('nop');
      case 0x98:
        return this.plain(this.w ? 'cdqe' : this.p.operandSize ? 'cbw' : 'cwde');
      case 0x99:
        return this.plain(this.w ? 'cqo' : this.p.operandSize ? 'cwd' : 'cdq');
      case 0xa0:
      case 0xa1:
      case 0xa2:
      case 0xa3: {
        // mov with a 64-bit absolute address (moffs).
        const size = op & 1 ? this.v : 1;
        const address = this.p.addressSize ? this.c.unsigned(4) : this.c.unsigned(8);
        const segment = this.p.segment;
        const mem: Amd64Memory = { kind: 'mem', form: 'abs64', base: undefined, index: undefined, scale: 1, disp: address, segment };
        const acc = this.reg(0, size);
        return this.plain('mov', op < 0xa2 ? [acc, mem] : [mem, acc], size);
      }
      case 0xa4:
      case 0xa5:
        return this.stringOp('movs', op, ['es', 'rdi'], ['ds', 'rsi']);
      case 0xa6:
      case 0xa7:
        // yaxpeax lists cmps's operands as [rdi], [rsi] with the segments of movs swapped.
        return this.stringOp('cmps', op, ['ds', 'rdi'], ['es', 'rsi']);
      case 0xaa:
      case 0xab:
        return this.stringOp('stos', op, ['es', 'rdi'], 'acc');
      case 0xac:
      case 0xad:
        return this.stringOp('lods', op, 'acc', ['ds', 'rsi']);
      case 0xae:
      case 0xaf:
        return this.stringOp('scas', op, ['es', 'rdi'], 'acc');
      case 0xa8:
        return this.plain('test', [this.reg(0, 1), this.imm(1, true)]);
      case 0xa9:
        return this.plain('test', [this.reg(0, this.v), this.immV()]);
      case 0xc0:
      case 0xc1:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const size = op & 1 ? this.v : 1;
        const { reg, rm } = this.modrm(size);
        // yaxpeax reads the count as a signed byte (ImmI8).
        const count: Amd64Operand = op <= 0xc1 ? this.imm(1, true) : op <= 0xd1 ? { kind: 'imm', value: 1n, signed: true } : { kind: 'reg', reg: 'cl' };
        return this.plain(SHIFTS[reg & 7]!, [rm, count], size);
      }
      // yaxpeax sizes ret's return-address slot.
      case 0xc2:
        return this.plain('ret', [this.imm(2, false)], 8);
      case 0xc3:
        return this.plain('ret', [], 8);
      case 0xc6:
      case 0xc7: {
        const size = op === 0xc6 ? 1 : this.v;
        const { reg, rm } = this.modrm(size);
        if ((reg & 7) !== 0) throw new Undecodable();
        const imm = op === 0xc6 ? this.imm(1, true) : this.immV();
        return this.plain('mov', [rm, imm], size);
      }
      case 0xc9:
        return this.plain('leave');
      case 0xcc:
        return this.plain('int', [{ kind: 'imm', value: 3n, signed: false }]);
      case 0xcd:
        return this.plain('int', [this.imm(1, false)]);
      case 0xe0:
      case 0xe1:
      case 0xe2:
        return this.plain(['loopnz', 'loopz', 'loop'][op - 0xe0]!, [{ kind: 'rel', offset: this.c.signed(1) }]);
      case 0xe3:
        return this.plain('jrcxz', [{ kind: 'rel', offset: this.c.signed(1) }]);
      case 0xe8:
        // yaxpeax prints a call's displacement as a plain signed immediate, and sizes its stack slot.
        return this.plain('call', [this.imm(4, true)], 8);
      case 0xe9:
        return this.plain('jmp', [{ kind: 'rel', offset: this.c.signed(4) }]);
      case 0xeb:
        return this.plain('jmp', [{ kind: 'rel', offset: this.c.signed(1) }]);
      case 0xf4:
        return this.plain('hlt');
      case 0xfa:
        return this.plain('cli');
      case 0xfb:
        return this.plain('sti');
      case 0xf6:
      case 0xf7: {
        const size = op === 0xf6 ? 1 : this.v;
        const { reg, rm } = this.modrm(size);
        const n = reg & 7;
        if (n <= 1) return this.plain('test', [rm, op === 0xf6 ? this.imm(1, true) : this.immV()], size);
        return this.plain(['not', 'neg', 'mul', 'imul', 'div', 'idiv'][n - 2]!, [rm], size);
      }
      case 0xfe: {
        const { reg, rm } = this.modrm(1);
        if ((reg & 7) > 1) throw new Undecodable();
        return this.plain((reg & 7) === 0 ? 'inc' : 'dec', [rm], 1);
      }
      case 0xff: {
        const m = this.peekReg();
        // call, jmp and push of r/m are 64-bit in long mode; a register call still sizes its return-address slot.
        const size = m === 2 || m === 4 || m === 6 ? (this.p.operandSize && m === 6 ? 2 : 8) : this.v;
        if (m === 3 || m === 5 || m === 7) throw new Undecodable();
        const { rm } = this.modrm(size);
        const mnemonic = ['inc', 'dec', 'call', '', 'jmp', '', 'push'][m]!;
        return this.plain(mnemonic, [rm], size);
      }
      default:
        throw new Undecodable();
    }
  }

  /** The ModRM reg field of the next byte, without consuming it. */
  private peekReg(): number {
    const at = this.c.offset;
    const m = this.c.u8();
    this.c.offset = at;
    return (m >> 3) & 7;
  }

  private stringOp(mnemonic: string, op: number, first: readonly [string, string] | 'acc', second: readonly [string, string] | 'acc'): Body {
    const size = op & 1 ? this.v : 1;
    const names = this.p.addressSize ? D : Q;
    const operand = (o: readonly [string, string] | 'acc'): Amd64Operand => {
      if (o === 'acc') return this.reg(0, size);
      // The ds: operand takes a segment override; es:[rdi] never does.
      const segment = o[0] === 'ds' && this.p.segment !== undefined ? this.p.segment : o[0];
      const base = names[Q.indexOf(o[1])]!;
      return { kind: 'mem', form: 'deref', base, index: undefined, scale: 1, disp: 0n, segment };
    };
    return this.plain(mnemonic, [operand(first), operand(second)], size);
  }

  twoByte(op: number): Body {
    if (op >= 0x80 && op <= 0x8f) return this.plain(`j${CONDITIONS[op - 0x80]}`, [{ kind: 'rel', offset: this.c.signed(4) }]);
    if (op >= 0x90 && op <= 0x9f) {
      const { rm } = this.modrm(1);
      return this.plain(SET_NAMES[op - 0x90]!, [rm], 1);
    }
    if (op >= 0x40 && op <= 0x4f) return this.eg(CMOV_NAMES[op - 0x40]!, this.v, true);
    switch (op) {
      case 0x05:
        return this.plain('syscall');
      case 0x0b:
        return this.plain('ud2');
      case 0xa2:
        return this.plain('cpuid');
      case 0xaf:
        return this.eg('imul', this.v, true);
      case 0xb0:
        return this.eg('cmpxchg', 1, false);
      case 0xb1:
        return this.eg('cmpxchg', this.v, false);
      case 0xc0:
        return this.eg('xadd', 1, false);
      case 0xc1:
        return this.eg('xadd', this.v, false);
      case 0xb6:
      case 0xb7:
      case 0xbe:
      case 0xbf: {
        const from = op & 1 ? 2 : 1;
        const { reg, rm } = this.modrm(from);
        return this.plain(op < 0xbe ? 'movzx' : 'movsx', [this.reg(reg, this.v), rm], from);
      }
      case 0x10:
      case 0x11:
      case 0x28:
      case 0x29:
      case 0x2e:
      case 0x2f:
      case 0x6f:
      case 0x7f:
        return this.sse(op);
      default:
        throw new Undecodable();
    }
  }

  /** SSE moves and scalar compares, chosen by the mandatory prefix (none, 0x66, 0xf3, 0xf2). */
  private sse(op: number): Body {
    const mandatory = this.p.rep ?? (this.p.operandSize ? 0x66 : undefined);
    // The prefix selects the instruction: it prints as no `rep`.
    this.p.rep = undefined;
    const pick = (names: Partial<Record<'none' | '66' | 'f3' | 'f2', readonly [string, number]>>): readonly [string, number] => {
      const key = mandatory === undefined ? 'none' : mandatory === 0x66 ? '66' : mandatory === 0xf3 ? 'f3' : 'f2';
      const found = names[key];
      if (!found) throw new Undecodable();
      return found;
    };
    let choice: readonly [string, number];
    let store = false;
    switch (op) {
      case 0x10:
      case 0x11:
        choice = pick({ none: ['movups', 16], '66': ['movupd', 16], f3: ['movss', 4], f2: ['movsd', 8] });
        store = op === 0x11;
        break;
      case 0x28:
      case 0x29:
        choice = pick({ none: ['movaps', 16], '66': ['movapd', 16] });
        store = op === 0x29;
        break;
      case 0x2e:
        choice = pick({ none: ['ucomiss', 4], '66': ['ucomisd', 8] });
        break;
      case 0x2f:
        choice = pick({ none: ['comiss', 4], '66': ['comisd', 8] });
        break;
      default:
        choice = pick({ '66': ['movdqa', 16], f3: ['movdqu', 16] });
        store = op === 0x7f;
    }
    const { reg, rm } = this.modrm('xmm');
    const x: Amd64Operand = { kind: 'reg', reg: XMM[reg]! };
    return this.plain(choice[0], store ? [rm, x] : [x, rm], choice[1]);
  }
}

const MEM_SIZE_NAMES: Readonly<Record<number, string>> = { 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword', 16: 'xmmword', 32: 'ymmword', 64: 'zmmword' };

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function signedHex(v: bigint): string {
  return v < 0n ? `-${hex(-v)}` : hex(v);
}

/** ` + 0x10` / ` - 0x10`: yaxpeax's displacement with the sign split from the number. */
function displacement(disp: bigint): string {
  return disp < 0n ? ` - ${hex(-disp)}` : ` + ${hex(disp)}`;
}

function formatMemory(m: Amd64Memory, memSize: number): string {
  let inner: string;
  switch (m.form) {
    case 'abs32':
    case 'abs64':
      inner = hex(m.disp);
      break;
    case 'deref':
      inner = m.base!;
      break;
    case 'disp':
      inner = `${m.base}${displacement(m.disp)}`;
      break;
    case 'scale':
      inner = `${m.index} * ${m.scale}`;
      break;
    case 'scale-disp':
      inner = `${m.index} * ${m.scale}${displacement(m.disp)}`;
      break;
    case 'base-index-scale':
      inner = `${m.base} + ${m.index} * ${m.scale}`;
      break;
    case 'base-index-scale-disp':
      inner = `${m.base} + ${m.index} * ${m.scale}${displacement(m.disp)}`;
      break;
  }
  return `${MEM_SIZE_NAMES[memSize] ?? 'BUG'} ${m.segment ? `${m.segment}:` : ''}[${inner}]`;
}

/** The instruction as yaxpeax-x86's `Display` prints it. */
export function formatAmd64(instruction: Amd64Instruction): string {
  const operands = instruction.operands.map((o) => {
    switch (o.kind) {
      case 'reg':
        return o.reg;
      case 'imm':
        return o.signed ? signedHex(o.value) : hex(o.value);
      case 'rel':
        return o.offset >= 0 ? `$+${hex(BigInt(o.offset))}` : `$${signedHex(BigInt(o.offset))}`;
      case 'mem':
        return formatMemory(o, instruction.memSize);
    }
  });
  return `${instruction.prefix}${instruction.mnemonic}${operands.length ? ` ${operands.join(', ')}` : ''}`;
}
