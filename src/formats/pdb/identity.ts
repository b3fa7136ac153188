// The identity of a PDB (its GUID and age), read without parsing the rest: enough to tell which
// module a PDB in a flat folder belongs to. The container is read by msf.ts (superblock and stream
// directory); then only the info stream's first 28 bytes (Version, Signature, Age, Guid) and the
// DBI header's first 12 (VersionSignature -1, VersionHeader, Age).

import { readExact, type ByteSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';
import { guidHex } from '../minidump/records.js';
import { isMsf, MsfFile } from './msf.js';

const SUPERBLOCK_SIZE = 56;
const INFO_STREAM = 1;
const DBI_STREAM = 3;

/** Which build a PDB belongs to, as an image's CodeView (RSDS) record names it. */
export interface PdbIdentity {
  /** The GUID in debug-id order: Data1, Data2, Data3 as numbers, then Data4's bytes; 32 uppercase hex digits. */
  readonly guid: string;
  /**
   * The age an image's RSDS record carries: the DBI stream's when there is one, else the info
   * stream's (a linker rewriting a PDB bumps the info stream's age only; symbolic and DIA do the same).
   */
  readonly age: number;
  /** The info stream's own age. */
  readonly infoAge: number;
  /** GUID then age in hex (uppercase, unpadded): Breakpad's debug id and the symbol-store key. */
  readonly debugId: string;
}

/** Reads a PDB's GUID and age; undefined when the file is no MSF 7.0 file. Throws FormatError on a damaged one. */
export async function readPdbIdentity(source: ByteSource): Promise<PdbIdentity | undefined> {
  if (source.size < SUPERBLOCK_SIZE) return undefined;
  if (!isMsf(await readExact(source, 0, SUPERBLOCK_SIZE, 'MSF superblock'))) return undefined;
  const msf = await MsfFile.open(source);
  const first = async (index: number, length: number, structure: string): Promise<Reader | undefined> => {
    const stream = msf.stream(index, structure);
    if (!stream || stream.size < length) return undefined;
    return new Reader(await readExact(stream, 0, length, structure), stream.name, 0, structure);
  };
  const info = await first(INFO_STREAM, 28, 'PDB info stream');
  if (!info) {
    const size = msf.streamSize(INFO_STREAM);
    throw new FormatError(source.name, 'PDB info stream', 0, `stream 1 holds ${size === undefined ? 'nothing' : `${size} bytes`}, fewer than 28`);
  }
  const infoAge = info.u32(8);
  const guid = guidHex(info, 12);
  const dbi = await first(DBI_STREAM, 12, 'DBI stream header');
  const age = dbi && dbi.i32(0) === -1 ? dbi.u32(8) : infoAge;
  return { guid, age, infoAge, debugId: guid + age.toString(16).toUpperCase() };
}
