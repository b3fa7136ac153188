/** The flag Windows ORs into some codes (0x1000007E ...): the `_M` form has the base code's meaning and parameters. */
export const BUGCHECK_M_FLAG = 0x10000000;

/** A bug check code without its `_M` flag. */
export function baseBugcheckCode(code: number): number {
  return (code & ~BUGCHECK_M_FLAG) >>> 0;
}

/** Saved CPU state a bugcheck parameter points at, as WinDbg's `.exr`, `.cxr` and `.trap` would read it. */
export interface BugcheckStatePointer {
  readonly kind: 'exception_record' | 'context_record' | 'trap_frame';
  /** 1-based parameter number. */
  readonly parameter: 1 | 2 | 3 | 4;
}

/**
 * Which parameters of a bugcheck address saved state (Microsoft's Bug Check Code Reference):
 * 0x7E/0x1000007E P3 exception record, P4 context; 0x8E/0x1000008E P3 trap frame; 0x3B P3 context;
 * 0x139 P2 trap frame, P3 exception record; 0x2B P1 trap frame; 0x1E holds the exception's fields themselves, no pointer.
 */
export function bugcheckStatePointers(code: number): readonly BugcheckStatePointer[] {
  switch (baseBugcheckCode(code)) {
    case 0x7e:
      return [
        { kind: 'exception_record', parameter: 3 },
        { kind: 'context_record', parameter: 4 },
      ];
    case 0x8e:
      return [{ kind: 'trap_frame', parameter: 3 }];
    case 0x2b:
      return [{ kind: 'trap_frame', parameter: 1 }];
    case 0x3b:
      return [{ kind: 'context_record', parameter: 3 }];
    case 0x139:
      return [
        { kind: 'trap_frame', parameter: 2 },
        { kind: 'exception_record', parameter: 3 },
      ];
    default:
      return [];
  }
}
