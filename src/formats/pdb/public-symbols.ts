/**
 * Public symbols: the S_PUB32 records of the symbol record stream (the DBI header names it).
 * The stream is a run of CodeView symbol records (u16 length of what follows, u16 kind, body);
 * S_PUB32's body is PUBSYM32 from cvinfo.h: u32 pubsymflags, u32 offset, u16 segment, NUL-terminated name.
 */
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import type { PdbFile } from './pdb-file.js';

const S_PUB32 = 0x110e;
const IMAGE_SCN_CNT_CODE = 0x20;
const IMAGE_SCN_MEM_EXECUTE = 0x20000000;

/** CV_PUBSYMFLAGS bits. */
export const PublicSymbolFlags = {
  code: 0x1,
  function: 0x2,
  managed: 0x4,
  msil: 0x8,
} as const;

export interface PublicSymbol {
  /** The decorated name as the linker wrote it. */
  readonly name: string;
  readonly flags: number;
  readonly section: number;
  readonly offset: number;
  /** Through the PDB's section headers; undefined when the section is unknown. */
  readonly rva: number | undefined;
  /** In a section of code (IMAGE_SCN_CNT_CODE or MEM_EXECUTE): what DIA's get_code answers, whatever the flags say. */
  readonly isCode: boolean;
}

/** Every S_PUB32 record, in stream order; other records are stepped over by their length. */
export async function readPublicSymbols(pdb: PdbFile): Promise<PublicSymbol[]> {
  const stream = pdb.stream(pdb.dbi.header.symRecordStream, 'symbol record stream');
  if (!stream || stream.size === 0) return [];
  const bytes = await readExact(stream, 0, stream.size, 'symbol record stream');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8');
  const out: PublicSymbol[] = [];
  let at = 0;
  while (at + 4 <= bytes.length) {
    const length = view.getUint16(at, true);
    if (length < 2) throw new FormatError(stream.name, 'CodeView symbol record', at, `record length ${length} is shorter than its kind`);
    const end = at + 2 + length;
    if (end > bytes.length) throw new FormatError(stream.name, 'CodeView symbol record', at, `a ${length}-byte record runs past the stream's ${bytes.length} bytes`);
    if (view.getUint16(at + 2, true) === S_PUB32) {
      if (length < 2 + 10 + 1) throw new FormatError(stream.name, 'S_PUB32', at, `record length ${length} is too short for PUBSYM32`);
      const flags = view.getUint32(at + 4, true);
      const offset = view.getUint32(at + 8, true);
      const section = view.getUint16(at + 12, true);
      const nameEnd = bytes.subarray(at + 14, end).indexOf(0);
      const name = decoder.decode(bytes.subarray(at + 14, nameEnd < 0 ? end : at + 14 + nameEnd));
      const characteristics = pdb.sections[section - 1]?.characteristics ?? 0;
      out.push({ name, flags, section, offset, rva: pdb.rva(section, offset), isCode: (characteristics & (IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_EXECUTE)) !== 0 });
    }
    at = end;
  }
  return out;
}
