/**
 * The PDB string table, the "/names" named stream (LLVM's "The PDB Global String Table"): a
 * 12-byte header (signature 0xEFFEEFFE, hash version, byte size), the strings as NUL-terminated
 * bytes, then a hash table this reader does not need. Other records name a string by its offset
 * into the string bytes.
 */
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import type { PdbFile } from './pdb-file.js';

const SIGNATURE = 0xeffeeffe;

export interface PdbStringTable {
  /** The string at `offset` into the string bytes; undefined when the offset is past them or the string has no terminator. */
  at(offset: number): string | undefined;
  readonly byteSize: number;
}

/** Reads the "/names" stream's strings; an empty table when the PDB has none. */
export async function readStringTable(pdb: PdbFile): Promise<PdbStringTable> {
  const stream = pdb.namedStream('/names');
  if (!stream || stream.size === 0) return stringTable(new Uint8Array(0));
  const head = await readExact(stream, 0, 12, 'PDB string table header');
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const signature = view.getUint32(0, true);
  if (signature !== SIGNATURE) throw new FormatError(stream.name, 'PDB string table header', 0, `signature 0x${signature.toString(16)} is not 0xeffeeffe`);
  const byteSize = view.getUint32(8, true);
  if (byteSize > stream.size - 12) throw new FormatError(stream.name, 'PDB string table header', 8, `${byteSize} bytes of strings do not fit in a ${stream.size}-byte stream`);
  return stringTable(await readExact(stream, 12, byteSize, 'PDB string table'));
}

/** A string table over the string bytes (after the header). */
export function stringTable(bytes: Uint8Array): PdbStringTable {
  const decoder = new TextDecoder('utf-8');
  return {
    byteSize: bytes.length,
    at(offset: number): string | undefined {
      if (!Number.isInteger(offset) || offset < 0 || offset >= bytes.length) return undefined;
      const end = bytes.indexOf(0, offset);
      return end < 0 ? undefined : decoder.decode(bytes.subarray(offset, end));
    },
  };
}
