import type { Module } from '../model/snapshot.js';
import type { SymbolInfo } from '../symbolize/provider.js';

/**
 * How a frame was found, in rust-minidump's words; `leaf` is Breakpad's "simulating a return
 * from leaf function" (a one-word scan of the context frame).
 */
export type FrameTrust = 'context' | 'cfi' | 'cfi_scan' | 'frame_pointer' | 'scan' | 'leaf' | 'prewalked' | 'recovered' | 'none';

export interface StackFrame {
  readonly trust: FrameTrust;
  /** The walk gave up before this frame: it and the frames after it were rebuilt from the raw stack. */
  afterGap: boolean;
  /** For `cfi` frames: whether the rules came from a symbol file or from the module's PE unwind data. */
  cfiSource: 'symbol-file' | 'pe-unwind' | undefined;
  /** Registers known in this frame (callee-saved ones recovered by CFI, etc.). */
  readonly registers: ReadonlyMap<string, bigint>;
  /**
   * Values the frame still holds for registers it does not know, as Breakpad's walkers keep them:
   * the callee's values after frame-pointer and scan steps, a fill pattern after CFI. Some
   * strategies read these (e.g. a frame-pointer step after a scanned frame), so results match.
   */
  readonly stale: ReadonlyMap<string, bigint>;
  /** The instruction pointer register: exact for the context frame, the return address for callers. */
  readonly ip: bigint;
  /** The address used to attribute the frame: ip for the context frame, a byte inside the call for callers. */
  readonly instruction: bigint;
  /**
   * The frame was stopped mid-function with an exact ip: the context frame, or a frame a trap or
   * exception interrupted (found through a machine frame). It may be inside a prologue or epilogue.
   */
  readonly interrupted: boolean;
  readonly sp: bigint;
  /**
   * The outermost frame's caller stack pointer, when its unwind found the end of the stack (a
   * return address of 0) at a known stack pointer: it gives that frame a size too.
   */
  endOfStackSp: bigint | undefined;
  readonly module: Module | undefined;
  symbol: SymbolInfo | undefined;
  /** Where `symbol` came from: a symbol file, or (approximate) the module's PE exports. */
  symbolSource: 'symbol-file' | 'pe-export' | undefined;
  /** Whether symbols were found for the frame's module. */
  symbolsLoaded: boolean;
  /** The fixed stack allocation of this frame's prologue (PE unwind data, or the decoded x86 prologue). */
  fixedAllocation: number | undefined;
  /** x86: the parameter size of this frame's function, from STACK WIN or a covering FUNC, once a walk step looked. */
  parameterSize: number | undefined;
  /**
   * x86 kernel stacks: this frame is a trap or system-call entry whose frame pointer is the
   * KTRAP_FRAME at this address; its caller was read from the trap frame (WinDbg lists such a row
   * with its callee's ChildEBP).
   */
  trapFrame?: bigint | undefined;
  /** The frame runs on another stack than the walk's: a system call's user-mode caller, read from its trap frame. */
  otherStack?: boolean | undefined;
}

/** A register's value whether or not the frame knows it (see `stale`); 0 when it never had one. */
export function registerValue(frame: StackFrame, name: string): bigint {
  return frame.registers.get(name) ?? frame.stale.get(name) ?? 0n;
}
