import type { Cpu } from '../model/cpu.js';
import { specialRegisters } from '../model/cpu.js';
import type { MemoryBlock } from '../model/memory.js';
import type { StackFrame } from '../unwind/frame.js';
import { reconstructStack, startCommand, type RecoveredFrame, type StackView } from '../unwind/reconstruct/index.js';
import { recoveredFrame, WalkState, type CpuUnwinder } from '../unwind/walker.js';
import { dumpStackView } from './dump-stack-view.js';
import type { ReconstructionSummary, WalkEnvironment } from './types.js';

/** The walk is short when it stops this far (and at least a quarter of the captured stack) below its end. */
const SHORT_WALK_BYTES = 2n * 1024n;

/**
 * When the walk stopped well short of the stack base (or its context was unusable), search the raw
 * stack above the last frame for frame chains and append the best as `recovered` frames.
 */
export async function reconstructAfterWalk(
  env: WalkEnvironment,
  cpu: Cpu,
  stack: MemoryBlock,
  unwinder: CpuUnwinder,
  frames: StackFrame[],
): Promise<ReconstructionSummary | undefined> {
  if (cpu !== 'x86' && cpu !== 'amd64' && cpu !== 'arm64') return undefined;
  const last = frames[frames.length - 1];
  if (!last || last.endOfStackSp !== undefined) return undefined;
  const inStack = last.sp >= stack.base && last.sp < stack.end;
  const from = inStack ? last.sp : stack.base;
  const left = stack.end - from;
  if (inStack && (left < SHORT_WALK_BYTES || left * 4n < BigInt(stack.bytes.length))) return undefined;
  const state = (): WalkState => new WalkState(cpu, stack, env.modules, env.symbols, env.snapshot.system.osShort, env.code, env.images, env.executable);
  const view = dumpStackView(state(), unwinder, stack, state());
  const found = await reconstructStack(view, { fromSp: from });
  const best = found.best;
  const alternatives = found.alternatives.map((c) => startCommand(c.start, view.cpu));
  // A chain worth showing: a few frames, most with validated return addresses, and on x64 most links
  // confirmed by unwind data (without it a chain is no better than scanning).
  if (!best || best.frames.length < 3 || best.score < best.frames.length * 0.75 || !(await confirmedByUnwinding(view, best.frames))) {
    return best || alternatives.length > 0 ? { used: undefined, alternatives: best ? [startCommand(best.start, view.cpu), ...alternatives] : alternatives } : undefined;
  }
  const regs = specialRegisters(cpu);
  const maker = state();
  let appended = 0;
  for (const f of best.frames) {
    if (inStack && f.sp <= last.sp) continue;
    const registers = new Map<string, bigint>([
      [regs.ip, f.ip],
      [regs.sp, f.sp],
    ]);
    if (cpu !== 'amd64') registers.set(regs.fp, f.childFrame);
    const frame = await recoveredFrame(maker, registers, f.ip, unwinder.returnAddressBias);
    if (appended === 0) frame.afterGap = true;
    frames.push(frame);
    appended++;
  }
  return { used: appended > 0 ? startCommand(best.start, view.cpu) : undefined, alternatives };
}

/** x64 chains: at least three quarters of their links must be what unwinding from one frame gives for the next. */
async function confirmedByUnwinding(view: StackView, frames: readonly RecoveredFrame[]): Promise<boolean> {
  if (view.cpu !== 'amd64') return true;
  if (!view.unwindFrom) return false;
  let confirmed = 0;
  for (let i = 0; i + 1 < frames.length; i++) {
    const next = await view.unwindFrom(frames[i]!.ip, frames[i]!.sp);
    if (next && next.ip === frames[i + 1]!.ip && next.sp === frames[i + 1]!.sp) confirmed++;
  }
  return confirmed * 4 >= (frames.length - 1) * 3;
}

