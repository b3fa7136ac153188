/**
 * MSF 7.0, the multi-stream container a PDB is (LLVM's "The MSF File Format" documents it): a
 * superblock, then fixed-size blocks; a stream is a list of block numbers. The stream directory is
 * itself a stream whose block list sits in the block map block. Streams are read block by block
 * through the ByteSource, on demand: a 1 GB PDB costs only the blocks that are asked for.
 */
import { readExact, type ByteSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';

/** "Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0": the first 32 bytes of every PDB 7.0. */
export const MSF_MAGIC = new Uint8Array([
  0x4d, 0x69, 0x63, 0x72, 0x6f, 0x73, 0x6f, 0x66, 0x74, 0x20, 0x43, 0x2f, 0x43, 0x2b, 0x2b, 0x20, 0x4d, 0x53, 0x46, 0x20, 0x37, 0x2e, 0x30,
  0x30, 0x0d, 0x0a, 0x1a, 0x44, 0x53, 0x00, 0x00, 0x00,
]);

/** The first bytes of the older PDB 2.0 container ("Microsoft C/C++ program database 2.00"). */
const PDB2_MAGIC = 'Microsoft C/C++ program database 2.00';

const BLOCK_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768];

/** A stream directory larger than this is not a real PDB's (a 4 GB PDB's directory is a few MB). */
const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;

/** Whether the bytes start like an MSF 7.0 file. */
export function isMsf(head: Uint8Array): boolean {
  return head.length >= MSF_MAGIC.length && MSF_MAGIC.every((b, i) => head[i] === b);
}

export interface MsfSuperBlock {
  readonly blockSize: number;
  readonly freeBlockMapBlock: number;
  readonly numBlocks: number;
  readonly numDirectoryBytes: number;
  readonly blockMapAddr: number;
}

/** One stream: its size and the blocks that hold it, in order. */
export interface MsfStreamLayout {
  readonly size: number;
  readonly blocks: Uint32Array;
}

/** An opened MSF file: the stream directory, and streams read by block on demand. */
export class MsfFile {
  readonly source: ByteSource;
  readonly superBlock: MsfSuperBlock;
  private readonly streams: readonly (MsfStreamLayout | undefined)[];

  private constructor(source: ByteSource, superBlock: MsfSuperBlock, streams: readonly (MsfStreamLayout | undefined)[]) {
    this.source = source;
    this.superBlock = superBlock;
    this.streams = streams;
  }

  /** Reads the superblock and the stream directory; every count and block number is checked against the file. */
  static async open(source: ByteSource): Promise<MsfFile> {
    const head = new Reader(await readExact(source, 0, 56, 'MSF superblock'), source.name, 0, 'MSF superblock');
    if (!isMsf(head.bytes)) {
      const text = new TextDecoder('latin1').decode(head.bytes.subarray(0, PDB2_MAGIC.length));
      if (text === PDB2_MAGIC) throw head.error(0, 'a PDB 2.0 file (pre-2002 toolchains): only PDB 7.0 (MSF 7.00) is read');
      throw head.error(0, 'not a PDB (no "Microsoft C/C++ MSF 7.00" signature)');
    }
    const superBlock: MsfSuperBlock = {
      blockSize: head.u32(32),
      freeBlockMapBlock: head.u32(36),
      numBlocks: head.u32(40),
      numDirectoryBytes: head.u32(44),
      blockMapAddr: head.u32(52),
    };
    const { blockSize, numBlocks, numDirectoryBytes, blockMapAddr } = superBlock;
    if (!BLOCK_SIZES.includes(blockSize)) throw head.error(32, `block size ${blockSize} is not a power of two from 512 to 32768`);
    const blocksInFile = Math.floor(source.size / blockSize);
    if (numBlocks > Math.ceil(source.size / blockSize)) {
      throw head.error(40, `${numBlocks} blocks of ${blockSize} bytes do not fit in ${source.size} bytes (truncated?)`);
    }
    if (numDirectoryBytes === 0 || numDirectoryBytes > MAX_DIRECTORY_BYTES) throw head.error(44, `implausible stream directory size ${numDirectoryBytes}`);
    const directoryBlockCount = Math.ceil(numDirectoryBytes / blockSize);
    // The block map: the directory's block numbers, in one or more blocks from BlockMapAddr on.
    const mapBytes = directoryBlockCount * 4;
    const checkBlock = (block: number, what: string, at: number): void => {
      if (block === 0 || block >= Math.max(numBlocks, blocksInFile + 1) || block * blockSize >= source.size) {
        throw new FormatError(source.name, what, at, `block ${block} is outside the file's ${numBlocks} blocks`);
      }
    };
    checkBlock(blockMapAddr, 'MSF block map', 52);
    const map = new Reader(await readBlocksContiguous(source, blockMapAddr, blockSize, mapBytes, 'MSF block map'), source.name, blockMapAddr * blockSize, 'MSF block map');
    const directoryBlocks = new Uint32Array(directoryBlockCount);
    for (let i = 0; i < directoryBlockCount; i++) {
      directoryBlocks[i] = map.u32(i * 4);
      checkBlock(directoryBlocks[i]!, 'MSF block map', blockMapAddr * blockSize + i * 4);
    }
    const dirBytes = await readStreamBytes(source, blockSize, { size: numDirectoryBytes, blocks: directoryBlocks }, 0, numDirectoryBytes, 'MSF stream directory');
    const dir = new Reader(dirBytes, source.name, directoryBlocks[0]! * blockSize, 'MSF stream directory');
    const numStreams = dir.u32(0);
    if (numStreams > (numDirectoryBytes - 4) / 4) throw dir.error(0, `${numStreams} streams do not fit in a ${numDirectoryBytes}-byte directory`);
    const sizes: number[] = [];
    for (let i = 0; i < numStreams; i++) {
      const size = dir.u32(4 + i * 4);
      // 0xFFFFFFFF marks a deleted (nil) stream.
      sizes.push(size === 0xffffffff ? -1 : size);
    }
    let at = 4 + numStreams * 4;
    const streams: (MsfStreamLayout | undefined)[] = [];
    for (let i = 0; i < numStreams; i++) {
      const size = sizes[i]!;
      if (size < 0) {
        streams.push(undefined);
        continue;
      }
      const count = Math.ceil(size / blockSize);
      if (at + count * 4 > dir.length) throw dir.error(at, `stream ${i} of ${size} bytes needs ${count} block numbers past the directory's end`);
      if (count > numBlocks) throw dir.error(4 + i * 4, `stream ${i} of ${size} bytes is larger than the file`);
      const blocks = new Uint32Array(count);
      for (let k = 0; k < count; k++) {
        blocks[k] = dir.u32(at + k * 4);
        checkBlock(blocks[k]!, `MSF stream ${i} block list`, at + k * 4);
      }
      at += count * 4;
      streams.push({ size, blocks });
    }
    return new MsfFile(source, superBlock, streams);
  }

  get streamCount(): number {
    return this.streams.length;
  }

  /** The stream's size, or undefined when the stream does not exist (out of range or deleted). */
  streamSize(index: number): number | undefined {
    return this.streams[index]?.size;
  }

  /** A ByteSource over one stream: reads map to the stream's blocks, so parsers read a stream as a file. */
  stream(index: number, name = `stream ${index}`): MsfStream | undefined {
    const layout = this.streams[index];
    return layout ? new MsfStream(this.source, this.superBlock.blockSize, layout, `${this.source.name} ${name}`) : undefined;
  }
}

/** One stream of an MSF file as a ByteSource. */
export class MsfStream implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly file: ByteSource;
  private readonly blockSize: number;
  private readonly layout: MsfStreamLayout;

  constructor(file: ByteSource, blockSize: number, layout: MsfStreamLayout, name: string) {
    this.file = file;
    this.blockSize = blockSize;
    this.layout = layout;
    this.size = layout.size;
    this.name = name;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return readStreamBytes(this.file, this.blockSize, this.layout, start, end - start, this.name);
  }
}

/** `length` bytes of a stream from `offset`, gathered from its blocks (consecutive blocks in one read). */
async function readStreamBytes(file: ByteSource, blockSize: number, layout: MsfStreamLayout, offset: number, length: number, structure: string): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  const first = Math.floor(offset / blockSize);
  const last = Math.floor((offset + length - 1) / blockSize);
  // One block: no copy.
  if (first === last) {
    const at = layout.blocks[first]! * blockSize + (offset % blockSize);
    return readExact(file, at, length, structure);
  }
  const out = new Uint8Array(length);
  let done = 0;
  let k = first;
  while (k <= last) {
    // A run of blocks that follow each other in the file is one read.
    let run = 1;
    while (k + run <= last && layout.blocks[k + run] === layout.blocks[k]! + run) run++;
    const inBlock = k === first ? offset % blockSize : 0;
    const take = Math.min(run * blockSize - inBlock, length - done);
    out.set(await readExact(file, layout.blocks[k]! * blockSize + inBlock, take, structure), done);
    done += take;
    k += run;
  }
  return out;
}

/** The block map may span several consecutive blocks from its first. */
function readBlocksContiguous(file: ByteSource, block: number, blockSize: number, length: number, structure: string): Promise<Uint8Array> {
  return readExact(file, block * blockSize, length, structure);
}
