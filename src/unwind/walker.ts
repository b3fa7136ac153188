import type { Cpu, CpuContext } from '../model/cpu.js';
import { pointerWidth, registerOrder, specialRegisters } from '../model/cpu.js';
import type { MemoryBlock } from '../model/memory.js';
import type { ModuleIndex } from '../model/module-index.js';
import type { Module } from '../model/snapshot.js';
import type { PeImage } from '../formats/pe/pe-image.js';
import type { ModuleSymbols, SymbolProvider } from '../symbolize/provider.js';
import { callSiteStart, callSiteWindow, precededByCall } from './call-site.js';
import type { StackFrame, FrameTrust } from './frame.js';

/** Breakpad's kRASearchWords: how far a scan looks for a return address (4x for the context frame). */
export const RA_SEARCH_WORDS = 40;

export interface WalkOptions {
  /** Stop after this many frames. */
  readonly maxFrames: number;
  /** After this many scanned frames, scanning is no longer tried. */
  readonly maxScannedFrames: number;
  /** Stop when `Date.now()` passes this (the analysis's wall-clock budget). */
  readonly deadline?: number;
}

export const defaultWalkOptions: WalkOptions = {
  // A 1 MiB stack of the smallest frames (return address + saved frame pointer) on x86.
  maxFrames: 1 << 17,
  maxScannedFrames: 1 << 14,
};

/** Everything a CPU strategy may consult while finding a caller. */
export class WalkState {
  readonly cpu: Cpu;
  readonly wordSize: 4 | 8;
  readonly stack: MemoryBlock | undefined;
  readonly modules: ModuleIndex;
  readonly symbols: SymbolProvider;
  readonly osShort: string;
  /** Code bytes at an address (dump memory or module image); undefined when unavailable. */
  readonly code: CodeReader | undefined;
  /** PE images of modules (for their unwind tables); undefined when none can be had. */
  readonly images: ImageProvider | undefined;
  /** Whether the memory at an address may execute, when the dump's memory map says; undefined when unknown. */
  readonly executable: ((address: bigint) => boolean | undefined) | undefined;
  readonly frames: StackFrame[] = [];

  constructor(
    cpu: Cpu,
    stack: MemoryBlock | undefined,
    modules: ModuleIndex,
    symbols: SymbolProvider,
    osShort: string,
    code?: CodeReader,
    images?: ImageProvider,
    executable?: (address: bigint) => boolean | undefined,
  ) {
    this.cpu = cpu;
    this.wordSize = pointerWidth(cpu);
    this.stack = stack;
    this.modules = modules;
    this.symbols = symbols;
    this.osShort = osShort;
    this.code = code;
    this.images = images;
    this.executable = executable;
  }

  get last(): StackFrame {
    return this.frames[this.frames.length - 1]!;
  }

  /** A word of stack memory; only the thread's own stack is consulted, as Breakpad does. */
  readWord(address: bigint): bigint | undefined {
    if (address < 0n) return undefined;
    return this.stack?.word(address, this.wordSize);
  }

  /** The PE image of the last frame's module, when one can be had. */
  async lastFrameImage(): Promise<{ module: Module; image: PeImage } | undefined> {
    const module = this.last.module;
    if (!module || !this.images) return undefined;
    const found = await this.images.imageFor(module);
    return found ? { module, image: found.image } : undefined;
  }

  async symbolsAt(address: bigint): Promise<{ symbols: ModuleSymbols | undefined; rva: number } | undefined> {
    const module = this.modules.find(address);
    if (!module) return undefined;
    return { symbols: await this.symbols.symbolsFor(module), rva: Number(address - module.base) };
  }

  /**
   * Breakpad's InstructionAddressSeemsValid: inside a module, and when that module has symbols,
   * covered by a function or public symbol.
   */
  async instructionSeemsValid(address: bigint): Promise<boolean> {
    const at = await this.symbolsAt(address);
    if (!at) return false;
    if (!at.symbols) return true;
    return (await at.symbols.lookup(at.rva)) !== undefined;
  }

  /**
   * Looks for a plausible return address in the words from `start` (inclusive) through
   * `start + words * wordSize`: in a module, inside a function when the module has symbols
   * (Breakpad's rules), in executable memory when the dump's memory map says, and, when the code
   * bytes are at hand, right after a call instruction.
   */
  async scanForReturnAddress(start: bigint, words: number): Promise<{ location: bigint; ip: bigint } | undefined> {
    const size = BigInt(this.wordSize);
    const end = start + BigInt(words) * size;
    for (let location = start; location <= end; location += size) {
      const ip = this.readWord(location);
      if (ip === undefined) return undefined;
      if (ip === 0n) continue;
      if (!this.modules.find(ip - 1n) || !(await this.instructionSeemsValid(ip - 1n))) continue;
      // A pointer into a module's data (or anything the memory map says cannot run) is no return address.
      if (this.executable?.(ip - 1n) === false) continue;
      if (await this.followsCall(ip)) return { location, ip };
    }
    return undefined;
  }

  /** True unless the code before `returnAddress` is known and is not a call. */
  async followsCall(returnAddress: bigint): Promise<boolean> {
    if (!this.code) return true;
    const window = callSiteWindow(this.cpu);
    const before = await this.code(callSiteStart(this.cpu, returnAddress), window);
    return before === undefined || precededByCall(this.cpu, before, (returnAddress & 1n) === 1n);
  }

  scanWords(isContextFrame: boolean): number {
    return isContextFrame ? RA_SEARCH_WORDS * 4 : RA_SEARCH_WORDS;
  }
}

/** Finds a module's PE image (file or dump memory). */
export interface ImageProvider {
  imageFor(module: Module): Promise<{ readonly image: PeImage } | undefined>;
}

/** Reads code bytes at an address; undefined when the dump and the module images lack them. */
export type CodeReader = (address: bigint, length: number) => Promise<Uint8Array | undefined>;

/** A CPU's way of finding the caller of the last frame; undefined ends the walk. */
export interface CpuUnwinder {
  callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined>;
  /** How far back from a return address the call instruction lies (1 on x86/amd64, 4 on arm64). */
  readonly returnAddressBias: bigint;
  /** Adjusts the context frame's registers (arm64 strips pointer authentication from LR). */
  contextRegisters?(state: WalkState, registers: Map<string, bigint>): void;
}

/**
 * What a caller frame holds for registers it does not know: the callee's values (frame-pointer,
 * scan and STACK WIN steps copy the whole context), Breakpad's 0xda fill (its CFI walker for x86
 * and amd64), or zero (a fresh arm64 frame).
 */
export type StaleRegisters = 'inherit' | 'fill' | 'zero';

/** A caller frame before it is checked and attributed. */
export interface CallerCandidate {
  readonly trust: FrameTrust;
  readonly registers: Map<string, bigint>;
  readonly stale: StaleRegisters;
  /** The caller was interrupted (a trap or exception frame), not making a call: its ip is exact. */
  readonly interrupted?: boolean;
  /** The unwind data came from the module's PE image (.pdata/.xdata), not a symbol file. */
  readonly fromPeUnwind?: boolean;
  /** The caller runs on another stack (a system call's user-mode caller, from its trap frame): the walk ends with it. */
  readonly leavesStack?: boolean;
}

/**
 * A caller found by scanning where the return address alone makes one (arm, arm64): pc is the word
 * found, sp the slot above it; the other registers stay the callee's.
 */
export async function callerByScanning(state: WalkState): Promise<CallerCandidate | undefined> {
  const found = await state.scanForReturnAddress(state.last.sp, state.scanWords(state.last.trust === 'context'));
  if (!found) return undefined;
  return {
    trust: 'scan',
    registers: new Map([
      ['pc', found.ip],
      ['sp', found.location + BigInt(state.wordSize)],
    ]),
    stale: 'inherit',
  };
}

/**
 * CPUs with a link register (arm, arm64): a function without a PE unwind entry is a leaf that never
 * saved lr, so lr is its caller's pc. That only holds for an interrupted frame (one stopped mid-function).
 */
export function leafCallerByLinkRegister(last: StackFrame, toPc: (lr: bigint) => bigint = (lr) => lr): CallerCandidate | undefined {
  const lr = last.registers.get('lr');
  if (!last.interrupted || lr === undefined) return undefined;
  const registers = new Map(last.registers);
  registers.set('pc', toPc(lr));
  return { trust: 'cfi', registers, stale: 'fill', fromPeUnwind: true };
}

/**
 * The shared walk loop: the context frame, then callers from the CPU strategy until it gives up,
 * the stack pointer stops moving toward the base, or the instruction pointer is implausible.
 */
export async function walkThread(
  state: WalkState,
  context: CpuContext,
  unwinder: CpuUnwinder,
  options: WalkOptions = defaultWalkOptions,
): Promise<{ frames: StackFrame[]; truncated: boolean; stoppedBy?: 'frames' | 'time' }> {
  const regs = specialRegisters(state.cpu);
  const contextRegisters = new Map(context.registers);
  unwinder.contextRegisters?.(state, contextRegisters);
  const ip = contextRegisters.get(regs.ip) ?? 0n;
  state.frames.push(await makeFrame(state, 'context', contextRegisters, new Map(), ip, ip, true));
  let scanned = 0;
  for (;;) {
    const last = state.last;
    if (options.deadline !== undefined && Date.now() > options.deadline) return { frames: state.frames, truncated: true, stoppedBy: 'time' };
    if (last.trust === 'scan' || last.trust === 'cfi_scan' || last.trust === 'none') scanned++;
    const candidate = await unwinder.callerFrame(state, scanned < options.maxScannedFrames);
    if (!candidate) break;
    const callerIp = candidate.registers.get(regs.ip);
    const callerSp = candidate.registers.get(regs.sp);
    if (callerIp === undefined || callerSp === undefined) break;
    if (!candidate.leavesStack && terminates(callerIp, callerSp, last.sp, last.trust === 'context')) {
      // A return address of 0 from exact unwind data marks the stack's end, one frame above.
      if (callerIp === 0n && candidate.trust === 'cfi' && callerSp > last.sp) last.endOfStackSp = callerSp;
      break;
    }
    // Only now is it known that another frame exists: at the limit, the walk is cut short.
    if (state.frames.length >= options.maxFrames) return { frames: state.frames, truncated: true, stoppedBy: 'frames' };
    const stale = staleValues(state, last, candidate);
    const interrupted = candidate.interrupted === true;
    const instruction = interrupted ? callerIp : callerIp - unwinder.returnAddressBias;
    const frame = await makeFrame(state, candidate.trust, candidate.registers, stale, callerIp, instruction, interrupted);
    if (candidate.trust === 'cfi') frame.cfiSource = candidate.fromPeUnwind ? 'pe-unwind' : 'symbol-file';
    state.frames.push(frame);
    if (candidate.leavesStack) {
      // The walk has reached the stack's end: nothing above is left to rebuild.
      frame.otherStack = true;
      frame.endOfStackSp = callerSp;
      break;
    }
  }
  return { frames: state.frames, truncated: false };
}

function staleValues(state: WalkState, callee: StackFrame, candidate: CallerCandidate): Map<string, bigint> {
  const stale = new Map<string, bigint>();
  if (candidate.stale === 'inherit') {
    for (const [name, value] of callee.stale) stale.set(name, value);
    for (const [name, value] of callee.registers) stale.set(name, value);
  } else {
    const fill = candidate.stale === 'zero' ? 0n : state.wordSize === 8 ? 0xdadadadadadadadan : 0xdadadadan;
    for (const name of registerOrder(state.cpu)) stale.set(name, fill);
  }
  for (const name of candidate.registers.keys()) stale.delete(name);
  return stale;
}

/**
 * One unwind step from an arbitrary (ip, sp), as if a frame were executing at the return address
 * `ip` with stack pointer `sp`: only exact unwind data counts (PE unwind data or STACK CFI), no
 * scanning or frame-pointer guesses. For confirming candidate frames during stack reconstruction.
 */
export async function unwindStep(
  state: WalkState,
  unwinder: CpuUnwinder,
  ip: bigint,
  sp: bigint,
): Promise<{ ip: bigint; sp: bigint } | undefined> {
  const regs = specialRegisters(state.cpu);
  const registers = new Map([
    [regs.ip, ip],
    [regs.sp, sp],
  ]);
  state.frames.length = 0;
  state.frames.push(await makeFrame(state, 'scan', registers, new Map(), ip, ip - unwinder.returnAddressBias, false));
  const caller = await unwinder.callerFrame(state, false);
  if (!caller || caller.trust !== 'cfi') return undefined;
  const callerIp = caller.registers.get(regs.ip);
  const callerSp = caller.registers.get(regs.sp);
  if (callerIp === undefined || callerSp === undefined || callerSp <= sp) return undefined;
  return { ip: callerIp, sp: callerSp };
}

/** Breakpad's TerminateWalk: an instruction pointer below 4 KiB, or a stack pointer that did not grow. */
function terminates(callerIp: bigint, callerSp: bigint, calleeSp: bigint, firstUnwind: boolean): boolean {
  if (callerIp < 0x1000n) return true;
  return firstUnwind ? callerSp < calleeSp : callerSp <= calleeSp;
}

/** A frame for an address found outside the walk (stack reconstruction): attributed and symbolised like any other. */
export async function recoveredFrame(state: WalkState, registers: Map<string, bigint>, ip: bigint, bias: bigint): Promise<StackFrame> {
  return makeFrame(state, 'recovered', registers, new Map(), ip, ip - bias, false);
}

async function makeFrame(
  state: WalkState,
  trust: FrameTrust,
  registers: Map<string, bigint>,
  stale: Map<string, bigint>,
  ip: bigint,
  instruction: bigint,
  interrupted: boolean,
): Promise<StackFrame> {
  const module = state.modules.find(instruction);
  const sp = registers.get(specialRegisters(state.cpu).sp) ?? 0n;
  const frame: StackFrame = {
    trust,
    afterGap: false,
    cfiSource: undefined,
    registers,
    stale,
    ip,
    instruction,
    interrupted,
    sp,
    endOfStackSp: undefined,
    module,
    symbol: undefined,
    symbolSource: undefined,
    symbolsLoaded: false,
    fixedAllocation: undefined,
    parameterSize: undefined,
  };
  if (module) {
    const symbols = await state.symbols.symbolsFor(module);
    if (symbols) {
      frame.symbolsLoaded = true;
      frame.symbol = await symbols.lookup(Number(instruction - module.base));
      if (frame.symbol) frame.symbolSource = 'symbol-file';
    }
  }
  return frame;
}
