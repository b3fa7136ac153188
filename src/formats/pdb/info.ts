/**
 * The PDB info stream (stream 1): version, signature, age and GUID (what a module's CodeView RSDS
 * record names), and the named stream map ("/names", "/LinkInfo", "/src/headerblock", ...).
 */
import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { Reader, cString } from '../../io/reader.js';
import { guidHex } from '../minidump/records.js';

export interface PdbInfo {
  /** PdbStreamVersion: 20000404 (VC70) for every PDB 7.0 written since 2002. */
  readonly version: number;
  readonly signature: number;
  /** The info stream's age; DBI's age is the one debug ids use when they differ. */
  readonly age: number;
  /** The GUID as Breakpad prints it in debug ids: 32 uppercase hex digits, Data1–3 little-endian. */
  readonly guid: string;
  /** Named streams: name → stream index. */
  readonly namedStreams: ReadonlyMap<string, number>;
}

const MAX_NAMED_STREAMS = 65536;

/** PDB_INFO header (28 bytes), then the serialized hash table of named streams. */
export async function readPdbInfo(stream: ByteSource): Promise<PdbInfo> {
  const r = new Reader(await readExact(stream, 0, stream.size, 'PDB info stream'), stream.name, 0, 'PDB info stream');
  r.check(0, 28);
  const info = { version: r.u32(0), signature: r.u32(4), age: r.u32(8), guid: guidHex(r, 12) };
  const namedStreams = new Map<string, number>();
  if (r.length >= 32) {
    // A string buffer, then a hash table: size, capacity, present and deleted bit vectors, (key, value) pairs.
    const bufferLength = r.u32(28);
    r.check(32, bufferLength, 'PDB named stream names');
    const names = r.bytes.subarray(32, 32 + bufferLength);
    let at = 32 + bufferLength;
    const size = r.u32(at);
    const capacity = r.u32(at + 4);
    at += 8;
    if (size > capacity || capacity > MAX_NAMED_STREAMS) throw r.error(at - 8, `named stream table of ${size} entries in ${capacity} slots`);
    const presentWords = r.u32(at);
    at += 4;
    r.check(at, presentWords * 4, 'PDB named stream present bits');
    const present: number[] = [];
    for (let w = 0; w < presentWords; w++) {
      const word = r.u32(at + w * 4);
      for (let b = 0; b < 32; b++) if (word & (1 << b)) present.push(w * 32 + b);
    }
    at += presentWords * 4;
    const deletedWords = r.u32(at);
    at += 4 + deletedWords * 4;
    if (present.length !== size) throw r.error(28, `named stream table says ${size} entries but ${present.length} slots are marked present`);
    for (let i = 0; i < size; i++) {
      const key = r.u32(at + i * 8);
      const value = r.u32(at + i * 8 + 4);
      if (key >= names.length) throw r.error(at + i * 8, `named stream name offset ${key} is past the ${names.length}-byte name buffer`);
      namedStreams.set(cString(names.subarray(key)), value);
    }
  }
  return { ...info, namedStreams };
}
