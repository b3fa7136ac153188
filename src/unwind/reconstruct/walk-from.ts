// Walking from a given start, as WinDbg's `k = BasePtr StackPtr InstructionPtr` does: the frame
// pointer chain on x86 (with KTRAP_FRAME hops at trap and system-call entries) and on arm64 (frame
// records), and unwind data (or a scan for the next return address) on x64.
import { StackFacts } from './stack-facts.js';
import type { RecoveredFrame, StackView, StartTriple } from './stack-view.js';

export interface WalkFromOptions {
  /** Most frames to return (default 131072: a 1 MiB x86 stack of 8-byte frames). */
  readonly maxFrames?: number;
  /** Largest step from one frame pointer to the next (default 64 KiB); a bigger step ends the walk. */
  readonly maxFrameGap?: number;
}

export const DEFAULT_MAX_FRAMES = 1 << 17;
export const DEFAULT_MAX_FRAME_GAP = 0x10000;

import { KTRAP_FRAME_EBP, KTRAP_FRAME_EIP, KTRAP_FRAME_ESP } from '../trap-frame.js';
export { KTRAP_FRAME_EBP, KTRAP_FRAME_EIP, KTRAP_FRAME_ESP };

/** Why a walk stopped. */
export type WalkEnd =
  /** The last frame returns to 0: the outermost frame of the thread. */
  | 'zero_return'
  /** The next frame pointer is 0: the outermost frame saved a null frame pointer. */
  | 'stack_end'
  /** A trap or system-call frame came from user mode: its saved EBP is outside this stack. */
  | 'user_transition'
  /** The next frame pointer (or stack pointer) lies outside the captured stack. */
  | 'left_stack'
  | 'implausible_return'
  /** The next frame pointer does not increase, jumps too far, or is not aligned. */
  | 'bad_frame_pointer'
  /** No return address above the stack pointer (x64 without unwind data). */
  | 'no_return_address'
  /** The start itself cannot be read. */
  | 'unreadable'
  | 'frame_limit';

export interface ChainWalk {
  readonly frames: RecoveredFrame[];
  /** Frames whose return address was validated (x64: and found by unwind data, not by scanning). */
  readonly confirmed: number;
  readonly end: WalkEnd;
}

/** Whether a walk ended where stacks really end rather than in junk. */
export function endsCleanly(end: WalkEnd): boolean {
  return end === 'zero_return' || end === 'stack_end' || end === 'user_transition';
}

/**
 * The frames from a start triple. x86 (and arm64 with a nonzero basePtr): frame 0 executes at
 * InstructionPtr with frame pointer BasePtr, each caller's ip is its callee's return address and
 * its frame pointer the callee's saved one. x64 (and arm64 without basePtr): from StackPtr and
 * InstructionPtr by the view's unwind data, else by the next plausible return address above SP.
 */
export async function walkFrom(view: StackView, start: StartTriple, options: WalkFromOptions = {}): Promise<RecoveredFrame[]> {
  return (await walkChain(new StackFacts(view), start, options)).frames;
}

/** walkFrom with the walk's bookkeeping: how many frames were validated and why it stopped. */
export async function walkChain(facts: StackFacts, start: StartTriple, options: WalkFromOptions = {}): Promise<ChainWalk> {
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const gap = BigInt(options.maxFrameGap ?? DEFAULT_MAX_FRAME_GAP);
  if (facts.cpu === 'amd64' || (facts.cpu === 'arm64' && start.basePtr === 0n)) return walkUnwind(facts, start, maxFrames);
  return walkFramePointers(facts, start, maxFrames, gap);
}

export interface TrapFrame {
  /** The KTRAP_FRAME's address (the trap handler's EBP). */
  readonly base: bigint;
  readonly ebp: bigint;
  readonly eip: bigint;
}

/**
 * The KTRAP_FRAME a trap handler built, when the frame at `fp` returned into the handler: the
 * handler's EBP is the frame's base, and the callee saved it at [fp]. It must lie above `fp`
 * within `gap` and be captured as far as its Eip.
 */
export function readTrapFrame(facts: StackFacts, fp: bigint, base: bigint, gap: bigint): TrapFrame | undefined {
  if (base <= fp || base - fp > gap) return undefined;
  const ebp = facts.read(base + KTRAP_FRAME_EBP);
  const eip = facts.read(base + KTRAP_FRAME_EIP);
  if (ebp === undefined || eip === undefined) return undefined;
  return { base, ebp, eip };
}

/** Checks a step of the frame pointer chain from `from` (a frame pointer or a trap frame) to `next`. */
export function frameStep(facts: StackFacts, from: bigint, next: bigint, gap: bigint): WalkEnd | undefined {
  if (next === 0n) return 'stack_end';
  if (!facts.holds(next, 2)) return next % facts.w === 0n && (next < facts.lo || next >= facts.hi) ? 'left_stack' : 'bad_frame_pointer';
  if (next <= from || next - from > gap) return 'bad_frame_pointer';
  return undefined;
}

async function walkFramePointers(facts: StackFacts, start: StartTriple, maxFrames: number, gap: bigint): Promise<ChainWalk> {
  const w = facts.w;
  const frames: RecoveredFrame[] = [];
  let confirmed = 0;
  const done = (end: WalkEnd): ChainWalk => ({ frames, confirmed, end });
  let fp = start.basePtr;
  let ip = start.instructionPtr;
  let sp = start.stackPtr;
  for (;;) {
    if (frames.length >= maxFrames) return done('frame_limit');
    const saved = facts.read(fp);
    const ret = facts.read(fp + w);
    if (saved === undefined || ret === undefined) return done(frames.length === 0 ? 'unreadable' : 'left_stack');
    frames.push({ childFrame: fp, sp, ip, returnAddress: ret, trap: false });
    if (ret === 0n) return done('zero_return');
    if (!(facts.returnKnown(ret) ?? (await facts.isReturnAddress(ret)))) return done('implausible_return');
    confirmed++;
    const trap = (facts.trapKnown(ret) ?? (await facts.isTrapEntry(ret))) ? readTrapFrame(facts, fp, saved, gap) : undefined;
    if (trap) {
      // WinDbg lists the trap handler with its callee's ChildEBP (Memory 0); its caller is the
      // interrupted frame the KTRAP_FRAME describes.
      if (frames.length >= maxFrames) return done('frame_limit');
      frames.push({ childFrame: fp, sp: fp + 2n * w, ip: ret, returnAddress: trap.eip, trap: true });
      if (trap.eip === 0n) return done('zero_return');
      if (trap.ebp < facts.lo || trap.ebp >= facts.hi) return done('user_transition');
      if (!(await facts.isReturnAddress(trap.eip))) return done('implausible_return');
      confirmed++;
      const stop = frameStep(facts, trap.base, trap.ebp, gap);
      if (stop) return done(stop);
      fp = trap.ebp;
      ip = trap.eip;
      sp = trap.base + KTRAP_FRAME_ESP;
      continue;
    }
    const stop = frameStep(facts, fp, saved, gap);
    if (stop) return done(stop);
    sp = fp + 2n * w;
    ip = ret;
    fp = saved;
  }
}

async function walkUnwind(facts: StackFacts, start: StartTriple, maxFrames: number): Promise<ChainWalk> {
  const w = facts.w;
  const frames: RecoveredFrame[] = [];
  let confirmed = 0;
  const done = (end: WalkEnd): ChainWalk => ({ frames, confirmed, end });
  let sp = start.stackPtr;
  let ip = start.instructionPtr;
  if (sp < facts.lo || sp >= facts.hi) return done('unreadable');
  for (;;) {
    if (frames.length >= maxFrames) return done('frame_limit');
    const unwound = facts.view.unwindFrom ? await facts.view.unwindFrom(ip, sp) : undefined;
    let ret: bigint;
    let nextSp: bigint;
    if (unwound) {
      ret = unwound.ip;
      nextSp = unwound.sp;
    } else {
      const slot = await scanForReturn(facts, sp);
      if (slot === undefined) {
        frames.push({ childFrame: sp, sp, ip, returnAddress: 0n, trap: false });
        return done('no_return_address');
      }
      ret = facts.read(slot)!;
      nextSp = slot + w;
    }
    frames.push({ childFrame: sp, sp, ip, returnAddress: ret, trap: false });
    if (ret === 0n) return done('zero_return');
    if (!(await facts.isReturnAddress(ret))) return done('implausible_return');
    if (unwound) confirmed++;
    if (nextSp <= sp) return done('bad_frame_pointer');
    if (nextSp >= facts.hi) return done('left_stack');
    sp = nextSp;
    ip = ret;
  }
}

/** The lowest slot at or above `sp` holding a plausible return address. */
export async function scanForReturn(facts: StackFacts, sp: bigint): Promise<bigint | undefined> {
  for (let slot = sp + ((facts.w - (sp % facts.w)) % facts.w); slot + facts.w <= facts.hi; slot += facts.w) {
    const value = facts.read(slot);
    if (value !== undefined && facts.mayReturn(value) && (await facts.isReturnAddress(value))) return slot;
  }
  return undefined;
}
