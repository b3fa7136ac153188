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


/** Breakpad's words for how a frame was found (StackFrame::trust_description), `unknown` for what Breakpad has no word for. */
export function breakpadTrustWords(trust: StackFrame['trust']): string {
  switch (trust) {
    case 'context':
      return 'given as instruction pointer in context';
    case 'cfi':
      return 'call frame info';
    case 'cfi_scan':
      return 'call frame info with scanning';
    case 'frame_pointer':
      return "previous frame's frame pointer";
    case 'scan':
      return 'stack scanning';
    case 'leaf':
      return 'simulating a return from leaf function';
    case 'prewalked':
      return 'recovered by external stack walker';
    case 'recovered':
    case 'none':
      return 'unknown';
  }
}

/** Breakpad's words, and ours where stackhog found a frame in a way Breakpad has none for. */
export function trustDescription(frame: StackFrame): string {
  if (frame.trust === 'cfi' && frame.cfiSource === 'pe-unwind') return "call frame info (the module's PE unwind data)";
  if (frame.trust === 'recovered') return 'recovered from the raw stack after the walk stopped';
  return breakpadTrustWords(frame.trust);
}

/** Breakpad's register lines: ` %5s = 0x…` items within 80 columns; a line of one space when there are none. */
export function registerLines(registers: readonly (readonly [string, bigint])[], digits: number): string[] {
  const lines: string[] = [];
  let line = ' ';
  let col = 0;
  for (const [name, value] of registers) {
    const item = ` ${name.padStart(5)} = ${hexPad(BigInt.asUintN(digits * 4, value), digits)}`;
    if (col + item.length > 80) {
      lines.push(line);
      line = ' ';
      col = 0;
    }
    line += item;
    col += item.length;
  }
  lines.push(line);
  return lines;
}

/**
 * Text the dump's writer chose, with control characters escaped (one line each, no terminal
 * escapes) and Unicode's bidirectional controls shown as escapes (they would reorder what follows).
 */
export function printable(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
