// The identity of a PDB (its GUID and age), read without parsing the rest: enough to tell which
// module a PDB in a flat folder belongs to. The full reader (msf.ts) is written separately.
//
// MSF 7.0 (LLVM's "The MSF File Format", microsoft-pdb's msf.cpp), all little-endian:
//   superblock at offset 0: magic "Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" (32 bytes), BlockSize u32,
//   FreeBlockMapBlock u32, NumBlocks u32, NumDirectoryBytes u32, Unknown u32, BlockMapAddr u32;
//   at block BlockMapAddr: the block numbers (u32) of the stream directory, one per directory block;
//   the stream directory: NumStreams u32, StreamSizes[NumStreams] u32 (0xffffffff: no stream),
//   then each stream's block numbers (u32, ceil(size / BlockSize) of them), stream after stream.
// PDB info stream (stream 1), first 28 bytes: Version u32, Signature u32, Age u32, Guid (16 bytes).
// DBI stream (stream 3) header, first 12 bytes: VersionSignature i32 (-1), VersionHeader u32, Age u32.

import { readExact, type ByteSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';

const MAGIC = 'Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0';
const SUPERBLOCK_SIZE = 56;
const NIL_STREAM = 0xffffffff;
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

/** Whether the bytes start like an MSF 7.0 file (a PDB of VC++ 7.0 or later). */
export function isMsf7(header: Uint8Array): boolean {
  if (header.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (header[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

/** Reads a PDB's GUID and age; undefined when the file is no MSF 7.0 file. Throws FormatError on a damaged one. */
export async function readPdbIdentity(source: ByteSource): Promise<PdbIdentity | undefined> {
  if (source.size < SUPERBLOCK_SIZE) return undefined;
  const head = await readExact(source, 0, SUPERBLOCK_SIZE, 'MSF superblock');
  if (!isMsf7(head)) return undefined;
  const sb = view(head);
  const blockSize = sb.getUint32(32, true);
  const numDirectoryBytes = sb.getUint32(44, true);
  const blockMapAddr = sb.getUint32(52, true);
  if (![512, 1024, 2048, 4096, 8192, 16384, 32768].includes(blockSize)) {
    throw new FormatError(source.name, 'MSF superblock', 32, `block size ${blockSize} is not a power of two from 512 to 32768`);
  }
  const dirBlockCount = Math.ceil(numDirectoryBytes / blockSize);
  const blockMap = await readExact(source, blockMapAddr * blockSize, dirBlockCount * 4, 'MSF stream directory block map');
  const dirBlocks = u32s(blockMap);
  /** Bytes of a stream given its block list, from `at` for `length` bytes. */
  const readStream = async (blocks: readonly number[], size: number, at: number, length: number, structure: string): Promise<Uint8Array> => {
    if (at + length > size) throw new FormatError(source.name, structure, at, `needs ${length} bytes at ${at} but the stream holds ${size}`);
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const pos = at + done;
      const index = Math.floor(pos / blockSize);
      const within = pos % blockSize;
      const n = Math.min(blockSize - within, length - done);
      const blockNumber = blocks[index];
      if (blockNumber === undefined) throw new FormatError(source.name, structure, pos, `block ${index} is not in the stream's block list`);
      out.set(await readExact(source, blockNumber * blockSize + within, n, structure), done);
      done += n;
    }
    return out;
  };
  const directory = (at: number, length: number): Promise<Uint8Array> =>
    readStream(dirBlocks, numDirectoryBytes, at, length, 'MSF stream directory');

  const numStreams = view(await directory(0, 4)).getUint32(0, true);
  if (numStreams <= INFO_STREAM || 4 + numStreams * 4 > numDirectoryBytes) {
    throw new FormatError(source.name, 'MSF stream directory', 0, `${numStreams} streams do not fit in ${numDirectoryBytes} directory bytes`);
  }
  const wanted = Math.min(numStreams, DBI_STREAM + 1);
  const sizes = u32s(await directory(4, wanted * 4));
  const blocksOf = (size: number): number => (size === NIL_STREAM ? 0 : Math.ceil(size / blockSize));
  // Only streams 0..3 are needed: their block lists come first after all the sizes.
  const lists: number[][] = [];
  let at = 4 + numStreams * 4;
  for (let s = 0; s < wanted; s++) {
    const count = blocksOf(sizes[s]!);
    lists.push(u32s(await directory(at, count * 4)));
    at += count * 4;
  }

  const infoSize = sizes[INFO_STREAM]!;
  if (infoSize === NIL_STREAM || infoSize < 28) throw new FormatError(source.name, 'PDB info stream', 0, `stream 1 holds ${infoSize === NIL_STREAM ? 'nothing' : `${infoSize} bytes`}, fewer than 28`);
  const info = await readStream(lists[INFO_STREAM]!, infoSize, 0, 28, 'PDB info stream');
  const iv = view(info);
  const infoAge = iv.getUint32(8, true);
  const guid =
    hex(iv.getUint32(12, true), 8) + hex(iv.getUint16(16, true), 4) + hex(iv.getUint16(18, true), 4) + [...info.subarray(20, 28)].map((b) => hex(b, 2)).join('');

  let age = infoAge;
  const dbiSize = sizes[DBI_STREAM];
  if (dbiSize !== undefined && dbiSize !== NIL_STREAM && dbiSize >= 12) {
    const dv = view(await readStream(lists[DBI_STREAM]!, dbiSize, 0, 12, 'DBI stream header'));
    if (dv.getInt32(0, true) === -1) age = dv.getUint32(8, true);
  }
  return { guid, age, infoAge, debugId: guid + age.toString(16).toUpperCase() };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u32s(bytes: Uint8Array): number[] {
  const v = view(bytes);
  return Array.from({ length: bytes.length >>> 2 }, (_, i) => v.getUint32(i * 4, true));
}

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}
