import { OptionError } from '../io/errors.js';
import { specialRegisters, type Cpu } from '../model/cpu.js';
import type { StartTriple } from '../unwind/reconstruct/index.js';

/**
 * Where to start a walk, as WinDbg's `k = BasePtr StackPtr InstructionPtr` takes it: the frame
 * pointer on x86, none on x64, optional on ARM64 (given, the walk follows the frame-record chain).
 */
export interface StartRegisters {
  readonly basePtr?: bigint;
  readonly stackPtr: bigint;
  readonly instructionPtr: bigint;
}

/** Whether the frame pointer is part of the start on this CPU. */
function basePtrTaken(cpu: Cpu): 'required' | 'optional' | 'none' {
  return cpu === 'x86' ? 'required' : cpu === 'amd64' ? 'none' : 'optional';
}

/** The register forms a start takes on this CPU, e.g. ['ebp,esp,eip'] on x86. */
export function startForms(cpu: Cpu): string[] {
  const r = specialRegisters(cpu);
  const pair = `${r.sp},${r.ip}`;
  const triple = `${r.fp},${pair}`;
  const taken = basePtrTaken(cpu);
  return taken === 'required' ? [triple] : taken === 'none' ? [pair] : [pair, triple];
}

/** The start as the walkers take it; an OptionError naming the expected form when the count does not fit the CPU. */
export function checkStart(start: StartRegisters, cpu: Cpu): StartTriple {
  const given = start.basePtr === undefined ? 2 : 3;
  const taken = basePtrTaken(cpu);
  if ((taken === 'required' && given !== 3) || (taken === 'none' && given !== 2)) {
    const form = startForms(cpu)[0]!;
    const article = /^[aeioux]/i.test(cpu) ? 'an' : 'a'; // 'an x86', said 'ex'
    throw new OptionError('start', `${article} ${cpu} thread takes ${form} (${form.split(',').length} registers), not ${given}`);
  }
  return { basePtr: start.basePtr ?? 0n, stackPtr: start.stackPtr, instructionPtr: start.instructionPtr };
}
