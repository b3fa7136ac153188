/**
 * The PDB string table, the "/names" named stream (LLVM's "The PDB Global String Table"), read
 * from a PDB: the one parser is StringTable in lines.ts (header, strings by offset).
 */
import { readExact } from '../../io/byte-source.js';
import { Reader } from '../../io/reader.js';
import { StringTable } from './lines.js';
import type { PdbFile } from './pdb-file.js';

export type PdbStringTable = StringTable;

/** Reads the "/names" stream's strings; an empty table when the PDB has none. */
export async function readStringTable(pdb: PdbFile): Promise<PdbStringTable> {
  const stream = pdb.namedStream('/names');
  if (!stream || stream.size === 0) return StringTable.empty();
  return StringTable.parse(new Reader(await readExact(stream, 0, stream.size, '/names'), stream.name, 0, '/names'));
}

/** A string table over the string bytes (after the header). */
export function stringTable(bytes: Uint8Array): PdbStringTable {
  return StringTable.fromStrings(bytes);
}
