/** The one error family of the core: a structure that could not be read, and where. */
export class FormatError extends Error {
  readonly file: string;
  readonly structure: string;
  readonly offset: number | undefined;
  readonly reason: string;

  constructor(file: string, structure: string, offset: number | undefined, reason: string) {
    const where = offset === undefined ? '' : ` at offset 0x${offset.toString(16)}`;
    super(`${file}: ${structure}${where}: ${reason}`);
    this.name = 'FormatError';
    this.file = file;
    this.structure = structure;
    this.offset = offset;
    this.reason = reason;
  }
}

export function isFormatError(e: unknown): e is FormatError {
  return e instanceof FormatError;
}

/** An analysis option that does not fit the input (e.g. start registers for another CPU): the caller's mistake, not the file's. */
export class OptionError extends Error {
  /** The option's name as the API spells it (`start`); shells map it to their own flag. */
  readonly option: string;
  readonly reason: string;

  constructor(option: string, reason: string) {
    super(`${option}: ${reason}`);
    this.name = 'OptionError';
    this.option = option;
    this.reason = reason;
  }
}
