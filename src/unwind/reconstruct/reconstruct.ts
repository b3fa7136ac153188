// The entry point for a thread whose walk failed: the best chain at or above a known SP, and the
// alternatives a user can feed to WinDbg's `k =` to look for themselves.
import { findChains } from './find-chains.js';
import type { Chain, StackView, StartTriple } from './stack-view.js';

export interface ReconstructOptions {
  /** Only chains at or above this address (e.g. the SP of the last frame the walk found). */
  readonly fromSp?: bigint;
  readonly maxFrames?: number;
  /** Search at most this many bytes of stack from `fromSp` (or from the view's start). */
  readonly maxBytes?: number;
  /** Most alternatives besides the best chain (default 10). */
  readonly maxAlternatives?: number;
}

export interface Reconstruction {
  /** The best chain found, undefined when the stack holds none. */
  readonly best: Chain | undefined;
  /** Other chains, best first, each sharing at most half its frames with a better one. */
  readonly alternatives: readonly Chain[];
}

export async function reconstructStack(view: StackView, options: ReconstructOptions = {}): Promise<Reconstruction> {
  const from = options.fromSp;
  const to = options.maxBytes === undefined ? undefined : (from ?? view.start) + BigInt(options.maxBytes);
  const chains = await findChains(view, {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames }),
    maxChains: (options.maxAlternatives ?? 10) + 1,
  });
  return { best: chains[0], alternatives: chains.slice(1) };
}

/**
 * WinDbg's command that starts a walk there: `k = BasePtr StackPtr InstructionPtr` on x86,
 * `k = StackPtr InstructionPtr` on x64 and ARM64 (hex, WinDbg's default radix, padded to the
 * pointer width).
 */
export function startCommand(start: StartTriple, cpu: StackView['cpu']): string {
  const width = cpu === 'x86' ? 8 : 16;
  const hex = (v: bigint): string => v.toString(16).padStart(width, '0');
  return cpu === 'x86'
    ? `k = ${hex(start.basePtr)} ${hex(start.stackPtr)} ${hex(start.instructionPtr)}`
    : `k = ${hex(start.stackPtr)} ${hex(start.instructionPtr)}`;
}
