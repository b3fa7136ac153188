/**
 * What stack reconstruction works on: a stretch of raw stack words and what is known about code
 * addresses. Built from a dump's thread (memory, modules, symbols, images) or from WinDbg text
 * (a `dps` capture with `lm` ranges), so the same search serves both.
 */
export interface StackView {
  readonly cpu: 'x86' | 'amd64' | 'arm64';
  readonly wordSize: 4 | 8;
  /** Lowest captured stack address (the limit side) and the end (exclusive, the base side). */
  readonly start: bigint;
  readonly end: bigint;
  /** A word of stack memory; undefined outside the captured range or in a gap. */
  readWord(address: bigint): bigint | undefined;
  /** The module holding a code address, when known. */
  moduleAt(address: bigint): ModuleRef | undefined;
  /** `module!function+0xN` (or `module+0xN`, or a bare address) for a code address. */
  describe(address: bigint): Promise<string>;
  /**
   * Whether a value is a plausible return address: in a module, inside a known function when the
   * module has symbols, and after a call instruction when the code bytes are known.
   */
  isReturnAddress(address: bigint): Promise<boolean>;
  /** Whether a code address lies in an x86 trap or system-call entry (KiTrap*, KiFastCallEntry, KiSystemService). */
  isTrapEntry(address: bigint): Promise<boolean>;
  /**
   * x64/arm64: the caller's ip and sp after one unwind step from a frame executing at `ip` with
   * stack pointer `sp` (PE unwind data or STACK CFI); undefined when no unwind data is at hand.
   */
  unwindFrom?(ip: bigint, sp: bigint): Promise<{ ip: bigint; sp: bigint } | undefined>;
}

export interface ModuleRef {
  readonly name: string;
  readonly base: bigint;
  readonly size: number | undefined;
}

/** One frame of a rebuilt stack, in WinDbg's terms. */
export interface RecoveredFrame {
  /** x86: the frame's EBP (WinDbg's ChildEBP); x64/arm64: the frame's stack pointer (ChildSP). */
  readonly childFrame: bigint;
  /** The stack pointer of the frame (x86: the slot after the return address of its callee). */
  readonly sp: bigint;
  /** Where the frame executes: the start ip for the first frame, else the callee's return address. */
  readonly ip: bigint;
  /** The return address this frame will return to (WinDbg's RetAddr); 0 at the end of a chain. */
  readonly returnAddress: bigint;
  /** The frame is a trap or system-call entry whose caller came from a KTRAP_FRAME. */
  readonly trap: boolean;
}

/** A candidate chain of frames found in the raw stack, with its score and its start triple. */
export interface Chain {
  readonly frames: readonly RecoveredFrame[];
  /** Higher is better: length, validated return addresses and coverage of the stack. */
  readonly score: number;
  /** WinDbg's `k = BasePtr StackPtr InstructionPtr` that starts this chain. */
  readonly start: StartTriple;
}

export interface StartTriple {
  readonly basePtr: bigint;
  readonly stackPtr: bigint;
  readonly instructionPtr: bigint;
}
