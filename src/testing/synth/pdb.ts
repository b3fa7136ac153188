// Test support: the smallest MSF 7.0 file whose identity formats/pdb/identity.ts reads: a superblock,
// a stream directory and streams given as bytes, one stream per run of blocks.

const MAGIC = 'Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0';

export interface PdbIdentitySpec {
  /** Debug-id order (Data1, Data2, Data3, Data4), 32 hex digits. */
  readonly guid: string;
  readonly infoAge: number;
  /** The DBI stream header's age; no DBI stream when absent. */
  readonly dbiAge?: number;
  readonly blockSize?: number;
}

/** The PDB info stream's first 28 bytes (version 20000404), then an empty named-stream map. */
export function pdbInfoStream(guid: string, age: number): Uint8Array {
  const out = new Uint8Array(28 + 8);
  const v = new DataView(out.buffer);
  v.setUint32(0, 20000404, true);
  v.setUint32(4, 0x5e5e5e5e, true);
  v.setUint32(8, age, true);
  v.setUint32(12, parseInt(guid.slice(0, 8), 16), true);
  v.setUint16(16, parseInt(guid.slice(8, 12), 16), true);
  v.setUint16(18, parseInt(guid.slice(12, 16), 16), true);
  for (let i = 0; i < 8; i++) out[20 + i] = parseInt(guid.slice(16 + i * 2, 18 + i * 2), 16);
  return out;
}

/** An MSF 7.0 file with streams 0 (empty), 1 (info), 2 (empty) and, when dbiAge is given, 3 (a DBI header). */
export function synthPdb(spec: PdbIdentitySpec): Uint8Array {
  const dbi = new Uint8Array(64);
  new DataView(dbi.buffer).setInt32(0, -1, true);
  new DataView(dbi.buffer).setUint32(4, 19990903, true);
  new DataView(dbi.buffer).setUint32(8, spec.dbiAge ?? 0, true);
  const streams = [new Uint8Array(0), pdbInfoStream(spec.guid, spec.infoAge), new Uint8Array(0), ...(spec.dbiAge === undefined ? [] : [dbi])];
  return msfFile(streams, spec.blockSize ?? 512);
}

/** Blocks: 0 superblock, 1 and 2 free block maps, 3 the block map, 4.. the directory, then the streams. */
export function msfFile(streams: readonly Uint8Array[], blockSize: number): Uint8Array {
  const blocksOf = (n: number): number => Math.ceil(n / blockSize);
  let next = 4;
  const directoryWords = 1 + streams.length + streams.reduce((n, s) => n + blocksOf(s.length), 0);
  const directoryBlocks = Array.from({ length: blocksOf(directoryWords * 4) }, () => next++);
  const streamBlocks = streams.map((s) => Array.from({ length: blocksOf(s.length) }, () => next++));
  const out = new Uint8Array(next * blockSize);
  const v = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  v.setUint32(32, blockSize, true);
  v.setUint32(36, 1, true);
  v.setUint32(40, next, true);
  v.setUint32(44, directoryWords * 4, true);
  v.setUint32(52, 3, true);
  directoryBlocks.forEach((b, i) => v.setUint32(3 * blockSize + i * 4, b, true));
  const words = [streams.length, ...streams.map((s) => s.length), ...streamBlocks.flat()];
  const directory = new Uint8Array(directoryBlocks.length * blockSize);
  words.forEach((w, i) => new DataView(directory.buffer).setUint32(i * 4, w, true));
  directoryBlocks.forEach((b, i) => out.set(directory.subarray(i * blockSize, (i + 1) * blockSize), b * blockSize));
  streams.forEach((s, i) => streamBlocks[i]!.forEach((b, j) => out.set(s.subarray(j * blockSize, (j + 1) * blockSize), b * blockSize)));
  return out;
}
