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
