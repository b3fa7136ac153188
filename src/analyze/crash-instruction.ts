/**
 * What the crashing amd64 instruction does, as rust-minidump's op_analysis derives it: the
 * instruction text, the memory it reads and writes (addresses from the context's registers),
 * where it sends the instruction pointer, and the registers its memory operands use.
 */
import { decodeAmd64, formatAmd64, type Amd64Instruction, type Amd64Memory, type Amd64Operand } from './amd64-decode.js';
import type { MemoryAccess, MemoryAccessType } from './types.js';

/** The amd64 registers rust-minidump's context knows by name (CONTEXT_AMD64::REGISTERS); others (eax, eip) are "invalid". */
export const AMD64_REGISTERS = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'] as const;

export interface InstructionAnalysis {
  readonly instruction: string;
  /** rust-minidump models the read/write direction of this instruction (its AccessDerivableOpcode list). */
  readonly accessDerivable: boolean;
  readonly division: boolean;
  readonly privileged: boolean;
  /** Only a non-canonical address makes it raise a general protection fault (all derivable ones but movaps). */
  readonly onlyGpfWhenNonCanonical: boolean;
  /** Undefined when a register a memory operand uses is not in the context. */
  readonly accesses: readonly MemoryAccess[] | undefined;
  /** `none`: the instruction does not branch; undefined: it may, but where is not known. */
  readonly ipUpdate: { readonly kind: 'update'; readonly address: bigint } | { readonly kind: 'none' } | undefined;
  /** Base and index registers of the memory operands, sorted (rust-minidump's BTreeSet). */
  readonly registers: readonly string[];
}

export interface InstructionInputs {
  /** The bytes at the instruction pointer (at most 15 are read). */
  readonly bytes: Uint8Array;
  readonly registers: ReadonlyMap<string, bigint>;
  /** A u64 from the dump's captured memory (for `call [mem]`, `jmp [mem]`). */
  readonly readMemoryU64: (address: bigint) => Promise<bigint | undefined>;
  /** A u64 from the crashing thread's stack memory (for `ret`). */
  readonly readStackU64: (address: bigint) => Promise<bigint | undefined>;
}

const JCC = new Set(['jo', 'jno', 'jb', 'jnb', 'jz', 'jnz', 'ja', 'jna', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jg', 'jle']);
const DERIVABLE = new Set(['add', 'call', 'cmp', 'dec', 'inc', 'jmp', 'jmpf', ...JCC, 'lea', 'mov', 'movaps', 'movups', 'pop', 'push', 'retf', 'ret', 'sub', 'ucomiss']);
// rust-minidump's list (it includes every mov, so a mov never contradicts a privileged-instruction crash).
const PRIVILEGED = new Set([
  'cli', 'clts', 'hlt', 'in', 'ins', 'int', 'into', 'invd', 'invept', 'invlpg', 'invvpid', 'iret', 'iretd', 'iretq', 'lgdt', 'lidt', 'lldt',
  'lmsw', 'ltr', 'monitor', 'mov', 'mwait', 'out', 'outs', 'rdmsr', 'rdpmc', 'rdtsc', 'rdtscp', 'retf', 'sti', 'swapgs', 'sysexit', 'sysret',
  'vmcall', 'vmclear', 'vmlaunch', 'vmptrld', 'vmptrst', 'vmread', 'vmresume', 'vmwrite', 'vmxoff', 'vmxon', 'wbinvd', 'wrmsr', 'xsetbv',
]);

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** A register rust-minidump can read; undefined for names outside CONTEXT_AMD64::REGISTERS or absent from the context. */
function register(registers: ReadonlyMap<string, bigint>, name: string): bigint | undefined {
  return (AMD64_REGISTERS as readonly string[]).includes(name) ? registers.get(name) : undefined;
}

class RegisterInvalid extends Error {}

/** The effective address of a memory operand (wrapping, as rust-minidump computes it; `rip` is the crashing instruction's own address). */
function effectiveAddress(m: Amd64Memory, registers: ReadonlyMap<string, bigint>): { address: bigint; nullBase: boolean } {
  if (m.form === 'abs32') return { address: U64(BigInt.asIntN(32, m.disp)), nullBase: false };
  if (m.form === 'abs64') return { address: U64(m.disp), nullBase: false };
  let address = 0n;
  let nullBase = false;
  if (m.base !== undefined) {
    const base = register(registers, m.base);
    if (base === undefined) throw new RegisterInvalid();
    address = base;
    nullBase = base === 0n;
  }
  if (m.index !== undefined) {
    const index = register(registers, m.index);
    if (index === undefined) throw new RegisterInvalid();
    address = U64(address + U64(index * BigInt(m.scale)));
  }
  return { address: U64(address + m.disp), nullBase };
}

function accessTypeOf(mnemonic: string, index: number): MemoryAccessType | 'none' {
  switch (mnemonic) {
    case 'add':
    case 'sub':
      return index === 0 ? 'readwrite' : 'read';
    case 'dec':
    case 'inc':
      return 'readwrite';
    case 'pop':
      return 'write';
    case 'mov':
    case 'movaps':
    case 'movups':
      return index === 0 ? 'write' : 'read';
    case 'lea':
      return 'none';
    case 'call':
    case 'jmp':
    case 'jmpf':
    case 'push':
    case 'cmp':
    case 'ucomiss':
      return 'read';
    default:
      return 'underivable';
  }
}

function memoryAccesses(i: Amd64Instruction, registers: ReadonlyMap<string, bigint>): MemoryAccess[] {
  // An instruction without a memory size names no memory, not even the stack slot of a push or ret.
  if (i.memSize === 0) return [];
  const derivable = DERIVABLE.has(i.mnemonic);
  const accesses: MemoryAccess[] = [];
  i.operands.forEach((o, index) => {
    if (o.kind !== 'mem') return;
    const type = derivable ? accessTypeOf(i.mnemonic, index) : 'underivable';
    if (type === 'none') return;
    const { address, nullBase } = effectiveAddress(o, registers);
    accesses.push({ address, size: i.memSize, accessType: type, likelyNullPointer: nullBase, likelyGuardPage: false });
  });
  if (derivable) {
    const rsp = register(registers, 'rsp');
    const implicit = (address: bigint, accessType: MemoryAccessType): void => {
      accesses.push({ address, size: i.memSize, accessType, likelyNullPointer: address === 0n, likelyGuardPage: false });
    };
    // rust-minidump: "for unknown reasons, rsp is off by 8 if crash on call or push".
    if (rsp !== undefined && (i.mnemonic === 'call' || i.mnemonic === 'push')) implicit(U64(rsp - 8n), 'write');
    if (rsp !== undefined && (i.mnemonic === 'pop' || i.mnemonic === 'ret' || i.mnemonic === 'retf')) implicit(rsp, 'read');
  }
  return accesses;
}

async function ipUpdate(i: Amd64Instruction, inputs: InstructionInputs): Promise<InstructionAnalysis['ipUpdate']> {
  const update = (address: bigint): InstructionAnalysis['ipUpdate'] => ({ kind: 'update', address });
  if (['call', 'callf', 'jmp', 'jmpf', 'jmpe'].includes(i.mnemonic)) {
    const target: Amd64Operand | undefined = i.operands[0];
    if (target?.kind === 'reg') {
      const value = register(inputs.registers, target.reg);
      return value === undefined ? undefined : update(value);
    }
    // Relative and absolute immediates are taken to be fine; a memory operand is read from the dump.
    if (target?.kind === 'mem') {
      const { address } = effectiveAddress(target, inputs.registers);
      const value = await inputs.readMemoryU64(address);
      return value === undefined ? undefined : update(value);
    }
    return undefined;
  }
  if (['ret', 'retf', 'iret', 'iretd', 'iretq'].includes(i.mnemonic)) {
    const rsp = register(inputs.registers, 'rsp');
    const value = rsp === undefined ? undefined : await inputs.readStackU64(rsp);
    return value === undefined ? undefined : update(value);
  }
  // Where a conditional branch goes is left undetermined.
  if (JCC.has(i.mnemonic)) return undefined;
  return { kind: 'none' };
}

/** Decodes and analyses the instruction at the start of `inputs.bytes`; undefined when it does not decode. */
export async function analyzeAmd64Instruction(inputs: InstructionInputs): Promise<InstructionAnalysis | undefined> {
  const i = decodeAmd64(inputs.bytes);
  if (!i) return undefined;
  let accesses: MemoryAccess[] | undefined;
  try {
    accesses = memoryAccesses(i, inputs.registers);
  } catch (e) {
    if (!(e instanceof RegisterInvalid)) throw e;
    accesses = undefined;
  }
  let update: InstructionAnalysis['ipUpdate'];
  try {
    update = await ipUpdate(i, inputs);
  } catch (e) {
    if (!(e instanceof RegisterInvalid)) throw e;
    update = undefined;
  }
  const registers = new Set<string>();
  for (const o of i.operands) {
    if (o.kind !== 'mem') continue;
    if (o.base !== undefined) registers.add(o.base);
    if (o.index !== undefined) registers.add(o.index);
  }
  const derivable = DERIVABLE.has(i.mnemonic);
  return {
    instruction: formatAmd64(i),
    accessDerivable: derivable,
    division: i.mnemonic === 'div' || i.mnemonic === 'idiv',
    privileged: PRIVILEGED.has(i.mnemonic),
    onlyGpfWhenNonCanonical: derivable && i.mnemonic !== 'movaps',
    accesses,
    ipUpdate: update,
    registers: [...registers].sort(),
  };
}
