import { pointerWidth, type Cpu } from '../model/cpu.js';
import type { Module } from '../model/snapshot.js';
import type { StackFrame } from '../unwind/frame.js';
import { baseName } from '../symbolize/symbol-store.js';

/** `0x` + lowercase hex, zero-padded to `digits`. */
export function hexPad(value: bigint | number, digits: number): string {
  return '0x' + value.toString(16).padStart(digits, '0');
}

/** `0x` + lowercase hex zero-padded to the CPU's pointer width. */
export function hexPtr(value: bigint | number, cpu: Cpu): string {
  return hexPad(value, pointerWidth(cpu) * 2);
}

export function moduleName(module: Module): string {
  return baseName(module.codeFile);
}

/**
 * Bytes frame i holds: the next frame's stack pointer minus its own; undefined for the outermost
 * frame (unless its unwind ended the stack), and, when the stack's range is given, for a frame
 * whose stack pointer lies outside it (a damaged context).
 */
export function frameSizes(frames: readonly StackFrame[], stack?: { readonly base: bigint; readonly size: number }): (number | undefined)[] {
  const inStack = (sp: bigint): boolean => !stack || (sp >= stack.base && sp <= stack.base + BigInt(stack.size));
  return frames.map((f, i) => {
    const callerSp = frames[i + 1]?.sp ?? f.endOfStackSp;
    if (callerSp === undefined || !inStack(f.sp) || !inStack(callerSp)) return undefined;
    const size = callerSp - f.sp;
    return size >= 0n && size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : undefined;
  });
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
