import type { Module } from '../model/snapshot.js';
import type { SymbolInfo, WindowsFrameInfo } from '../symbolize/provider.js';

/**
 * How a frame was found, in rust-minidump's words; `leaf` is Breakpad's "simulating a return
 * from leaf function" (a one-word scan of the context frame).
 */
export type FrameTrust = 'context' | 'cfi' | 'cfi_scan' | 'frame_pointer' | 'scan' | 'leaf' | 'prewalked' | 'none';

export interface StackFrame {
  readonly trust: FrameTrust;
  /** Registers known in this frame (callee-saved ones recovered by CFI, etc.). */
  readonly registers: ReadonlyMap<string, bigint>;
  /** The instruction pointer register: exact for the context frame, the return address for callers. */
  readonly ip: bigint;
  /** The address used to attribute the frame: ip for the context frame, a byte inside the call for callers. */
  readonly instruction: bigint;
  readonly sp: bigint;
  readonly module: Module | undefined;
  symbol: SymbolInfo | undefined;
  /** Whether symbols were found for the frame's module. */
  symbolsLoaded: boolean;
  /** x86: the STACK WIN info (or just the parameter size) of this frame's function. */
  windowsFrameInfo: WindowsFrameInfo | { readonly parameterSize: number; readonly partial: true } | undefined;
}

export function isCallerFrame(frame: StackFrame): boolean {
  return frame.trust !== 'context';
}
