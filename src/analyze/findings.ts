/** How much a finding matters to someone triaging the dump. */
export type Severity = 'info' | 'warning' | 'error' | 'critical';

/** Every kind of finding the analyses emit (README's findings tables list each one). */
export const FINDING_KINDS = [
  'stack_overflow',
  'recursion',
  'reentrancy',
  'kernel_stack_overflow',
  'unbacked_code',
  'nonexecutable_code',
  'smashed_return_address',
  'thread_start_outside_image',
  'unbacked_pointer_on_stack',
  'hidden_image',
  'executable_stack',
  'executable_heap',
] as const;

export type FindingKind = (typeof FINDING_KINDS)[number];

/**
 * Something the analysis concluded, in words for a person and in fields for a pipeline. Findings
 * are results, not errors: they never change the exit code.
 */
export interface Finding {
  /** Stable identifier of the kind: `stack_overflow`, `recursion`, ... */
  readonly kind: FindingKind;
  readonly severity: Severity;
  /** The thread it concerns (its id), when it concerns one. */
  readonly threadId: number | undefined;
  /** Index of the frame it concerns in that thread's walk, when it concerns one. */
  readonly frame: number | undefined;
  readonly address: bigint | undefined;
  /** One sentence: what was found. */
  readonly summary: string;
  /** Why we say so and what to look at next, one point per line. */
  readonly evidence: readonly string[];
  /** Machine-readable details of the kind. */
  readonly data: Readonly<Record<string, unknown>>;
}
