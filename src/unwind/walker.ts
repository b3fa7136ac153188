import type { Cpu, CpuContext } from '../model/cpu.js';
import { pointerWidth, specialRegisters } from '../model/cpu.js';
import type { MemoryBlock } from '../model/memory.js';
import type { ModuleIndex } from '../model/module-index.js';
import type { ModuleSymbols, SymbolProvider } from '../symbolize/provider.js';
import type { StackFrame, FrameTrust } from './frame.js';

/** Breakpad's kRASearchWords: how far a scan looks for a return address (4x for the context frame). */
export const RA_SEARCH_WORDS = 40;

export interface WalkOptions {
  /** Stop after this many frames. */
  readonly maxFrames: number;
  /** After this many scanned frames, scanning is no longer tried. */
  readonly maxScannedFrames: number;
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
  readonly frames: StackFrame[] = [];

  constructor(cpu: Cpu, stack: MemoryBlock | undefined, modules: ModuleIndex, symbols: SymbolProvider, osShort: string) {
    this.cpu = cpu;
    this.wordSize = pointerWidth(cpu);
    this.stack = stack;
    this.modules = modules;
    this.symbols = symbols;
    this.osShort = osShort;
  }

  get last(): StackFrame {
    return this.frames[this.frames.length - 1]!;
  }

  /** A word of stack memory; only the thread's own stack is consulted, as Breakpad does. */
  readWord(address: bigint): bigint | undefined {
    if (address < 0n) return undefined;
    return this.stack?.word(address, this.wordSize);
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
   * `start + words * wordSize`. Returns the slot and the value found.
   */
  async scanForReturnAddress(start: bigint, words: number): Promise<{ location: bigint; ip: bigint } | undefined> {
    const size = BigInt(this.wordSize);
    const end = start + BigInt(words) * size;
    for (let location = start; location <= end; location += size) {
      const ip = this.readWord(location);
      if (ip === undefined) return undefined;
      if (ip === 0n) continue;
      if (this.modules.find(ip - 1n) && (await this.instructionSeemsValid(ip - 1n))) return { location, ip };
    }
    return undefined;
  }

  scanWords(isContextFrame: boolean): number {
    return isContextFrame ? RA_SEARCH_WORDS * 4 : RA_SEARCH_WORDS;
  }
}

/** A CPU's way of finding the caller of the last frame; undefined ends the walk. */
export interface CpuUnwinder {
  callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined>;
  /** How far back from a return address the call instruction lies (1 on x86/amd64, 4 on arm64). */
  readonly returnAddressBias: bigint;
}

/** A caller frame before it is checked and attributed. */
export interface CallerCandidate {
  readonly trust: FrameTrust;
  readonly registers: Map<string, bigint>;
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
): Promise<{ frames: StackFrame[]; truncated: boolean }> {
  const regs = specialRegisters(state.cpu);
  const ip = context.registers.get(regs.ip) ?? 0n;
  let frame: StackFrame | undefined = await makeFrame(state, 'context', new Map(context.registers), ip, ip);
  let scanned = 0;
  let truncated = false;
  while (frame) {
    if (frame.trust === 'scan' || frame.trust === 'cfi_scan' || frame.trust === 'none') scanned++;
    state.frames.push(frame);
    if (state.frames.length >= options.maxFrames) {
      truncated = true;
      break;
    }
    const last: StackFrame = frame;
    frame = undefined;
    const candidate = await unwinder.callerFrame(state, scanned < options.maxScannedFrames);
    if (!candidate) break;
    const callerIp = candidate.registers.get(regs.ip);
    const callerSp = candidate.registers.get(regs.sp);
    if (callerIp === undefined || callerSp === undefined) break;
    if (terminates(callerIp, callerSp, last.sp, last.trust === 'context')) break;
    frame = await makeFrame(state, candidate.trust, candidate.registers, callerIp, callerIp - unwinder.returnAddressBias);
  }
  return { frames: state.frames, truncated };
}

/** Breakpad's TerminateWalk: an instruction pointer below 4 KiB, or a stack pointer that did not grow. */
function terminates(callerIp: bigint, callerSp: bigint, calleeSp: bigint, firstUnwind: boolean): boolean {
  if (callerIp < 0x1000n) return true;
  return firstUnwind ? callerSp < calleeSp : callerSp <= calleeSp;
}

async function makeFrame(
  state: WalkState,
  trust: FrameTrust,
  registers: Map<string, bigint>,
  ip: bigint,
  instruction: bigint,
): Promise<StackFrame> {
  const module = state.modules.find(instruction);
  const sp = registers.get(specialRegisters(state.cpu).sp) ?? 0n;
  const frame: StackFrame = {
    trust,
    registers,
    ip,
    instruction,
    sp,
    module,
    symbol: undefined,
    symbolsLoaded: false,
    windowsFrameInfo: undefined,
  };
  if (module) {
    const symbols = await state.symbols.symbolsFor(module);
    if (symbols) {
      frame.symbolsLoaded = true;
      frame.symbol = await symbols.lookup(Number(instruction - module.base));
    }
  }
  return frame;
}
