// The x64 virtual unwind: one frame's caller from the image's .pdata/.xdata, as Windows'
// RtlVirtualUnwind computes it ("x64 exception handling", "Unwind procedure").
import { Limits, Machine } from '../formats/pe/constants.js';
import type { RuntimeFunction } from '../formats/pe/function-table.js';
import type { PeImage } from '../formats/pe/pe-image.js';
import { readX64UnwindInfo, UnwindFlags, X64_REGISTERS, type X64UnwindInfo } from '../formats/pe/x64-unwind-info.js';

export interface Amd64UnwindInput {
  image: PeImage;
  moduleBase: bigint;
  /**
   * Registers of the frame being unwound (rax..r15, rip, rsp; 'rflags' optional), only known ones.
   * `rip` is the address to look the function up by, taken as is: the exact instruction pointer
   * for the context frame, and for a caller the return address − 1 (a byte of the call), which
   * keeps the lookup inside the calling function and the prologue test exact.
   */
  registers: ReadonlyMap<string, bigint>;
  /** Reads a u64 of stack memory; undefined when not captured. */
  readU64(address: bigint): bigint | undefined;
  /** True for the innermost (context) frame: only it can be stopped inside an epilogue. */
  isContextFrame: boolean;
}

export interface Amd64UnwindResult {
  /** The caller's rip and rsp, and every nonvolatile register restored from the stack or kept; volatile ones are dropped. */
  registers: Map<string, bigint>;
  /**
   * The lowest stack address that is not this function's: for 'call' and 'leaf', the caller's rsp
   * (just above the return address: rsp before the call pushed it); for 'machine_frame', just above
   * the machine frame's SS slot (rsp before the processor pushed the frame).
   */
  cfa: bigint;
  /** 'machine_frame' when a UWOP_PUSH_MACHFRAME was applied (trap or exception frame): rip and rsp come from that frame. */
  kind: 'call' | 'machine_frame' | 'leaf';
  /** Bytes of fixed stack allocation the unwind info declares (sum of its ALLOC codes, chained info included), for stack-usage reports. */
  fixedAllocation: number;
}

/** Nonvolatile integer registers of the Windows x64 ABI besides rsp ("x64 software conventions", "Register volatility"). */
const NONVOLATILE = ['rbx', 'rbp', 'rdi', 'rsi', 'r12', 'r13', 'r14', 'r15'] as const;
const RSP = 4;
const MASK64 = (1n << 64n) - 1n;

/**
 * Unwinds one frame with the image's unwind data; undefined (never a throw) when the data is
 * malformed or memory or code bytes that are needed are not available. No RUNTIME_FUNCTION for rip
 * means a leaf function: the return address is at [rsp].
 *
 * Follows RtlVirtualUnwind: for the context frame, an epilogue is recognised (version 1: from the
 * code bytes at rip; version 2: from UWOP_EPILOG descriptors) and emulated forward; otherwise the
 * unwind codes whose prologue offset has been reached are undone, then those of chained info. The
 * prologue test applies to every frame, as in Windows: a caller can be stopped inside its prologue
 * at a call to __chkstk.
 */
export async function unwindAmd64(input: Amd64UnwindInput): Promise<Amd64UnwindResult | undefined> {
  const { image, moduleBase, registers } = input;
  if (image.machine !== Machine.AMD64) return undefined;
  const rip = registers.get('rip');
  const rsp = registers.get('rsp');
  if (rip === undefined || rsp === undefined) return undefined;
  const relative = rip - moduleBase;
  if (relative < 0n || relative >= BigInt(image.sizeOfImage)) return undefined;
  const rva = Number(relative);

  const state = new UnwindState(registers, input.readU64);
  const lookup = await image.lookupFunctionEntry(rva);
  if (lookup.kind === 'unreadable') return undefined;
  if (lookup.kind === 'none') {
    if (!state.popReturnAddress()) return undefined;
    return state.result('leaf', state.rsp, 0);
  }
  const entry = await resolveIndirect(image, lookup.entry);
  if (!entry) return undefined;
  const info = await readX64UnwindInfo(image, entry.unwindInfo);
  if (!info) return undefined;
  const fixedAllocation = await declaredAllocation(image, info);
  if (fixedAllocation === undefined) return undefined;

  if (input.isContextFrame) {
    const epilogue = info.version < 2 ? await emulateCodedEpilogue(image, entry, info, rva, state) : await emulateV2Epilogue(image, entry, info, rva, state);
    if (epilogue === 'unknown') return undefined;
    if (epilogue !== 'not_in_epilogue') return state.result(epilogue.kind, epilogue.cfa, fixedAllocation);
  }

  const unwound = await undoPrologues(image, entry, info, rva, state);
  if (!unwound) return undefined;
  return state.result(unwound.kind, unwound.cfa, fixedAllocation);
}

/** The registers as the unwind changes them, by register number; unknown ones are absent. */
class UnwindState {
  readonly regs = new Map<number, bigint>();
  rip: bigint | undefined;
  rflags: bigint | undefined;
  private readonly readU64: (address: bigint) => bigint | undefined;

  constructor(registers: ReadonlyMap<string, bigint>, readU64: (address: bigint) => bigint | undefined) {
    X64_REGISTERS.forEach((name, n) => {
      const v = registers.get(name);
      if (v !== undefined) this.regs.set(n, v);
    });
    this.readU64 = readU64;
  }

  get rsp(): bigint {
    return this.regs.get(RSP)!;
  }

  set rsp(value: bigint) {
    this.regs.set(RSP, value & MASK64);
  }

  read(address: bigint): bigint | undefined {
    return this.readU64(address & MASK64);
  }

  /** A register restored from memory; if the slot was not captured, the register becomes unknown. */
  restore(register: number, address: bigint): void {
    const v = this.read(address);
    if (v === undefined) this.regs.delete(register);
    else this.regs.set(register, v);
  }

  /** `ret`: rip from [rsp], rsp past it; false when that slot was not captured. */
  popReturnAddress(): boolean {
    const ra = this.read(this.rsp);
    if (ra === undefined) return false;
    this.rip = ra;
    this.rsp = this.rsp + 8n;
    return true;
  }

  /** Reads the machine frame whose RIP slot is at `slot`: rip, rsp (and rflags when captured); false if rip or rsp is missing. */
  popMachineFrame(slot: bigint): boolean {
    const ripValue = this.read(slot);
    const rspValue = this.read(slot + 24n);
    if (ripValue === undefined || rspValue === undefined) return false;
    this.rip = ripValue;
    this.rflags = this.read(slot + 16n);
    this.rsp = rspValue;
    return true;
  }

  result(kind: Amd64UnwindResult['kind'], cfa: bigint, fixedAllocation: number): Amd64UnwindResult {
    const out = new Map<string, bigint>();
    for (const name of NONVOLATILE) {
      const v = this.regs.get(X64_REGISTERS.indexOf(name));
      if (v !== undefined) out.set(name, v);
    }
    out.set('rip', this.rip!);
    out.set('rsp', this.rsp);
    if (kind === 'machine_frame' && this.rflags !== undefined) out.set('rflags', this.rflags);
    return { registers: out, cfa: cfa & MASK64, kind, fixedAllocation };
  }
}

type Unwound = { kind: 'call' | 'machine_frame'; cfa: bigint };

/** Follows indirect RUNTIME_FUNCTION entries (UnwindData with bit 0 set points at another entry), as RtlLookupFunctionEntry does. */
async function resolveIndirect(image: PeImage, entry: RuntimeFunction): Promise<RuntimeFunction | undefined> {
  for (let depth = 0; depth <= Limits.unwindChain; depth++) {
    if ((entry.unwindInfo & 1) === 0) return entry;
    const bytes = await image.readRva(entry.unwindInfo & ~1, 12);
    if (!bytes) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, 12);
    entry = { begin: view.getUint32(0, true), end: view.getUint32(4, true), unwindInfo: view.getUint32(8, true) };
  }
  return undefined;
}

/** Unwind info of each link of a chain, starting with `info`; undefined when a link is unreadable or the chain is too long. */
async function chainOf(image: PeImage, info: X64UnwindInfo): Promise<X64UnwindInfo[] | undefined> {
  const chain = [info];
  let current = info;
  while (current.chained) {
    if (chain.length > Limits.unwindChain) return undefined;
    const next = await readX64UnwindInfo(image, current.chained.unwindInfo);
    if (!next) return undefined;
    chain.push(next);
    current = next;
  }
  return chain;
}

async function declaredAllocation(image: PeImage, info: X64UnwindInfo): Promise<number | undefined> {
  const chain = await chainOf(image, info);
  if (!chain) return undefined;
  let total = 0;
  for (const link of chain) {
    for (const code of link.codes) if (code.op === 'alloc_small' || code.op === 'alloc_large') total += code.size;
  }
  return total;
}

/** Offset of rva into a function fragment; past every code offset when rva lies before it (Windows computes it unsigned). */
function prologOffset(rva: number, entry: RuntimeFunction): number {
  return rva >= entry.begin ? rva - entry.begin : Number.POSITIVE_INFINITY;
}

/**
 * The base that UWOP_SAVE_NONVOL offsets are relative to (Windows' EstablisherFrame): rsp without
 * a frame register; the frame register − 16 × FrameOffset once it is established (past the
 * prologue, in chained info, or past the UWOP_SET_FPREG code); undefined when that register is unknown.
 */
function frameBase(info: X64UnwindInfo, offset: number, state: UnwindState): bigint | undefined {
  if (info.frameRegister === 0) return state.rsp;
  const established = () => {
    const fp = state.regs.get(info.frameRegister);
    return fp === undefined ? undefined : fp - BigInt(16 * info.frameOffset);
  };
  if (offset >= info.sizeOfProlog || (info.flags & UnwindFlags.CHAININFO) !== 0) return established();
  const setFp = info.codes.find((c) => c.op === 'set_fpreg');
  return setFp && offset >= setFp.codeOffset ? established() : state.rsp;
}

/**
 * Undoes the unwind codes the prologue has executed at rva (all of them past it), then the codes
 * of each chained info, then pops the return address unless a machine frame supplied rip and rsp.
 */
async function undoPrologues(image: PeImage, entry: RuntimeFunction, info: X64UnwindInfo, rva: number, state: UnwindState): Promise<Unwound | undefined> {
  const base = frameBase(info, prologOffset(rva, entry), state);
  let fragment = entry;
  let current = info;
  for (let depth = 0; ; depth++) {
    const offset = prologOffset(rva, fragment);
    // Windows forgets a machine frame of an earlier link when the chain goes on (MachineFrame is per link).
    let machineFrameCfa: bigint | undefined;
    for (const code of current.codes) {
      if (offset < code.codeOffset) continue;
      switch (code.op) {
        case 'push_nonvol':
          if (code.register === RSP) return undefined;
          state.restore(code.register, state.rsp);
          state.rsp = state.rsp + 8n;
          break;
        case 'alloc_small':
        case 'alloc_large':
          state.rsp = state.rsp + BigInt(code.size);
          break;
        case 'set_fpreg': {
          const fp = current.frameRegister === 0 ? undefined : state.regs.get(current.frameRegister);
          if (fp === undefined) return undefined;
          state.rsp = fp - BigInt(16 * current.frameOffset);
          break;
        }
        case 'save_nonvol':
        case 'save_nonvol_far':
          if (code.register === RSP) return undefined;
          if (base === undefined) state.regs.delete(code.register);
          else state.restore(code.register, base + BigInt(code.offset));
          break;
        case 'push_machframe': {
          const slot = state.rsp + (code.errorCode ? 8n : 0n);
          if (!state.popMachineFrame(slot)) return undefined;
          machineFrameCfa = slot + 40n;
          break;
        }
        case 'save_xmm128':
        case 'save_xmm128_far':
        case 'epilog':
        case 'spare':
          break; // XMM registers are not tracked; the others change nothing in a prologue
      }
    }
    if (!current.chained) {
      if (machineFrameCfa !== undefined) return { kind: 'machine_frame', cfa: machineFrameCfa };
      if (!state.popReturnAddress()) return undefined;
      return { kind: 'call', cfa: state.rsp };
    }
    if (depth >= Limits.unwindChain) return undefined;
    fragment = current.chained;
    const next = await readX64UnwindInfo(image, fragment.unwindInfo);
    if (!next) return undefined;
    current = next;
  }
}

type EpilogueResult = Unwound | 'not_in_epilogue' | 'unknown';

/** One instruction of a version 1 epilogue, as the unwinder recognises them. */
type EpilogueStep =
  | { readonly kind: 'add_rsp'; readonly value: bigint }
  | { readonly kind: 'lea_rsp'; readonly register: number; readonly displacement: bigint }
  | { readonly kind: 'pop'; readonly register: number };

type EpilogueEnd = { readonly kind: 'ret' } | { readonly kind: 'jmp'; readonly target: number } | { readonly kind: 'jmp_indirect' };

const TRUNCATED = Symbol('truncated');

/**
 * Reads the epilogue forms of "x64 prolog and epilog" at the start of `code`: an optional
 * `add rsp, imm8|imm32` or `lea rsp, disp8|disp32[frame register]`, any number of `pop r64` (REX
 * allowed), an optional REPNE prefix, then `ret`, `ret imm16`, `rep ret`, `jmp rel8|rel32`,
 * `jmp [rip+disp32]` or a REX.W `jmp r/m64`. Undefined when the bytes are not an epilogue's;
 * TRUNCATED when deciding needs bytes past the end of `code`.
 */
function parseEpilogue(code: Uint8Array, rva: number, frameRegister: number): { steps: EpilogueStep[]; end: EpilogueEnd } | undefined | typeof TRUNCATED {
  const byte = (i: number): number => {
    if (i >= code.length) throw TRUNCATED;
    return code[i]!;
  };
  const int8 = (i: number): bigint => BigInt((byte(i) << 24) >> 24);
  const int32 = (i: number): bigint => BigInt(byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24));
  try {
    const steps: EpilogueStep[] = [];
    let p = 0;
    if (byte(0) === 0x48 && byte(1) === 0x83 && byte(2) === 0xc4) {
      steps.push({ kind: 'add_rsp', value: int8(3) });
      p = 4;
    } else if (byte(0) === 0x48 && byte(1) === 0x81 && byte(2) === 0xc4) {
      steps.push({ kind: 'add_rsp', value: int32(3) });
      p = 7;
    } else if ((byte(0) & 0xfe) === 0x48 && byte(1) === 0x8d) {
      // lea rsp, [fp + disp]: ModRM reg field rsp, mod 01 (disp8) or 10 (disp32), base the frame register
      const register = ((byte(0) & 1) << 3) | (byte(2) & 7);
      if (register !== 0 && register === frameRegister) {
        if ((byte(2) & 0xf8) === 0x60) {
          steps.push({ kind: 'lea_rsp', register, displacement: int8(3) });
          p = 4;
        } else if ((byte(2) & 0xf8) === 0xa0) {
          steps.push({ kind: 'lea_rsp', register, displacement: int32(3) });
          p = 7;
        }
      }
    }
    for (;;) {
      if ((byte(p) & 0xf8) === 0x58) {
        steps.push({ kind: 'pop', register: byte(p) & 7 });
        p += 1;
      } else if ((byte(p) & 0xf0) === 0x40 && (byte(p + 1) & 0xf8) === 0x58) {
        steps.push({ kind: 'pop', register: ((byte(p) & 1) << 3) | (byte(p + 1) & 7) });
        p += 2;
      } else {
        break;
      }
    }
    if (byte(p) === 0xf2) p += 1;
    const op = byte(p);
    if (op === 0xc3 || op === 0xc2 || (op === 0xf3 && byte(p + 1) === 0xc3)) return { steps, end: { kind: 'ret' } };
    if (op === 0xeb) return { steps, end: { kind: 'jmp', target: rva + p + 2 + Number(int8(p + 1)) } };
    if (op === 0xe9) return { steps, end: { kind: 'jmp', target: rva + p + 5 + Number(int32(p + 1)) } };
    if (op === 0xff && byte(p + 1) === 0x25) return { steps, end: { kind: 'jmp_indirect' } };
    if ((op & 0xf8) === 0x48 && byte(p + 1) === 0xff && (byte(p + 2) & 0x38) === 0x20) return { steps, end: { kind: 'jmp_indirect' } };
    return undefined;
  } catch (e) {
    if (e === TRUNCATED) return TRUNCATED;
    throw e;
  }
}

/** Code bytes at rva: as many as an epilogue can need, or fewer at the end of what is readable. */
async function codeAt(image: PeImage, rva: number): Promise<Uint8Array | undefined> {
  for (const length of [64, 0x1000 - (rva % 0x1000), 16]) {
    const n = Math.min(length, 64, image.sizeOfImage - rva);
    if (n <= 0) return undefined;
    const bytes = await image.readRva(rva, n);
    if (bytes) return bytes;
  }
  return undefined;
}

/** Version 1: decides from the code at rva whether it is in an epilogue, and if so executes the rest of it. */
async function emulateCodedEpilogue(image: PeImage, entry: RuntimeFunction, info: X64UnwindInfo, rva: number, state: UnwindState): Promise<EpilogueResult> {
  const code = await codeAt(image, rva);
  if (!code) return 'unknown';
  const parsed = parseEpilogue(code, rva, info.frameRegister);
  if (parsed === TRUNCATED) return 'unknown';
  if (!parsed) return 'not_in_epilogue';
  if (parsed.end.kind === 'jmp') {
    const decided = await jumpLeavesFunction(image, entry, info, parsed.end.target);
    if (decided === 'unknown') return 'unknown';
    if (!decided) return 'not_in_epilogue';
  }
  for (const step of parsed.steps) {
    switch (step.kind) {
      case 'add_rsp':
        state.rsp = state.rsp + step.value;
        break;
      case 'lea_rsp': {
        const fp = state.regs.get(step.register);
        if (fp === undefined) return 'unknown';
        state.rsp = fp + step.displacement;
        break;
      }
      case 'pop':
        if (step.register === RSP) return 'unknown';
        state.restore(step.register, state.rsp);
        state.rsp = state.rsp + 8n;
        break;
    }
  }
  // A jump that leaves the function is a tail call: its target returns to our caller, so it unwinds as a return.
  if (!state.popReturnAddress()) return 'unknown';
  return { kind: 'call', cfa: state.rsp };
}

/**
 * Whether a `jmp` at the end of an epilogue-shaped sequence leaves the function: a target outside
 * this fragment that is not in another fragment of the same function (or is that function's
 * start), or a jump to the start of this (primary) fragment, a recursive tail call.
 */
async function jumpLeavesFunction(image: PeImage, entry: RuntimeFunction, info: X64UnwindInfo, target: number): Promise<boolean | 'unknown'> {
  if (target >= entry.begin && target < entry.end) return target === entry.begin && (info.flags & UnwindFlags.CHAININFO) === 0;
  if (target < 0 || target >= image.sizeOfImage) return true;
  const lookup = await image.lookupFunctionEntry(target);
  if (lookup.kind === 'unreadable') return 'unknown';
  if (lookup.kind === 'none') return true;
  const targetEntry = await resolveIndirect(image, lookup.entry);
  if (!targetEntry) return 'unknown';
  const ours = await primaryEntry(image, entry);
  const theirs = await primaryEntry(image, targetEntry);
  if (!ours || !theirs) return 'unknown';
  const same = ours.begin === theirs.begin && ours.unwindInfo === theirs.unwindInfo;
  return !same || target === theirs.begin;
}

/** The entry at the root of a chain: the one whose unwind info has no CHAININFO flag. */
async function primaryEntry(image: PeImage, entry: RuntimeFunction): Promise<RuntimeFunction | undefined> {
  for (let depth = 0; depth <= Limits.unwindChain; depth++) {
    const info = await readX64UnwindInfo(image, entry.unwindInfo);
    if (!info) return undefined;
    if (!info.chained) return entry;
    entry = info.chained;
  }
  return undefined;
}

/**
 * Version 2: UWOP_EPILOG descriptors say where the epilogues are (after the stack deallocation: only
 * pops and the return are inside). In one, the pushes the epilogue has not popped yet are popped
 * as the prologue's UWOP_PUSH_NONVOL codes describe, as Windows' UnwindEpilogue does.
 */
async function emulateV2Epilogue(image: PeImage, entry: RuntimeFunction, info: X64UnwindInfo, rva: number, state: UnwindState): Promise<EpilogueResult> {
  let into: number | undefined;
  for (const epilog of info.epilogs) {
    const start = entry.end - epilog.offsetFromEnd;
    if (rva >= start && rva - start < epilog.size) {
      into = rva - start;
      break;
    }
  }
  if (into === undefined) return 'not_in_epilogue';

  // The pushes are all in one link of the chain, the first that has any.
  const chain = await chainOf(image, info);
  if (!chain) return 'unknown';
  const link = chain.find((l) => l.codes.some((c) => c.op === 'push_nonvol' || c.op === 'push_machframe')) ?? chain[chain.length - 1]!;
  const codes = link.codes;
  let i = codes.findIndex((c) => c.op === 'push_nonvol' || c.op === 'push_machframe');
  if (i < 0) i = codes.length;
  let at = 0; // bytes of the epilogue before the pop of the current code
  for (; i < codes.length; i++) {
    const code = codes[i]!;
    if (code.op !== 'push_nonvol') break;
    if (at >= into) {
      if (code.register === RSP) return 'unknown';
      state.restore(code.register, state.rsp);
      state.rsp = state.rsp + 8n;
    }
    at += code.register >= 8 ? 2 : 1; // pop r8..r15 needs a REX prefix
  }
  const next = codes[i];
  if (next && next.op === 'alloc_small' && next.size === 8) {
    // pushfq in the prologue, popped into a volatile register in the epilogue
    if (at >= into) state.rsp = state.rsp + 8n;
    at += 1;
    i += 1;
  }
  const last = codes[i];
  if (last && last.op === 'push_machframe') {
    const slot = state.rsp;
    if (!state.popMachineFrame(slot)) return 'unknown';
    return { kind: 'machine_frame', cfa: slot + 40n };
  }
  if (!state.popReturnAddress()) return 'unknown';
  return { kind: 'call', cfa: state.rsp };
}
