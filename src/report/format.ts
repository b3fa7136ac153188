import { pointerWidth, type Cpu } from '../model/cpu.js';
import type { StackFrame } from '../unwind/frame.js';

/** `0x` + lowercase hex, zero-padded to `digits`. */
export function hexPad(value: bigint | number, digits: number): string {
  return '0x' + value.toString(16).padStart(digits, '0');
}

/** `0x` + lowercase hex zero-padded to the CPU's pointer width. */
export function hexPtr(value: bigint | number, cpu: Cpu): string {
  return hexPad(value, pointerWidth(cpu) * 2);
}


/** Breakpad's words for how a frame was found. */
export function trustDescription(frame: StackFrame): string {
  switch (frame.trust) {
    case 'context':
      return 'given as instruction pointer in context';
    case 'cfi':
      return frame.cfiSource === 'pe-unwind' ? 'call frame info (the module\'s PE unwind data)' : 'call frame info';
    case 'cfi_scan':
      return 'call frame info with scanning';
    case 'frame_pointer':
      return "previous frame's frame pointer";
    case 'scan':
      return 'stack scanning';
    case 'leaf':
      return 'simulating a return from leaf function';
    case 'recovered':
      return 'recovered from the raw stack after the walk stopped';
    case 'prewalked':
      return 'recovered by external stack walker';
    case 'none':
      return 'unknown';
  }
}
