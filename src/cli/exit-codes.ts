/** stackhog's exit codes (documented in README). */
export const ExitCode = {
  /** The report was produced from a fully readable dump. */
  Ok: 0,
  /** An unexpected internal error (a bug: please report it). */
  Internal: 1,
  /** The input is unreadable, truncated or damaged (whatever could be read was still reported), or the report could not be written. */
  BadInput: 2,
  /** The command line is wrong (unknown option, bad value). */
  Usage: 3,
  /** The analysis hit a resource limit (--timeout, --max-frames, --max-stack-bytes): the report is partial. */
  Limit: 4,
} as const;
