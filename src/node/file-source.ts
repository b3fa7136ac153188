import { fstat, read } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BufferSource, PagedSource, type ByteSource } from '../io/byte-source.js';

/** A file opened for positional reads through a page cache; never read whole. */
export interface OpenFile {
  readonly source: PagedSource;
  close(): Promise<void>;
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

type PositionalRead = (buffer: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesRead: number }>;

/** Positional reads on a file handle (or a descriptor's read), looping over short reads; short only at end of file. */
function readAt(handle: FileHandle | { read: PositionalRead }): (offset: number, length: number) => Promise<Uint8Array> {
  return async (offset, length) => {
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buffer : buffer.subarray(0, done);
  };
}

/** Opens a regular file for positional reads. Throws on any failure (missing file included; a directory is EISDIR). */
export async function openFileSource(path: string): Promise<OpenFile> {
  const file = await openIfExists(path);
  if (file) return file;
  const handle = await open(path, 'r');
  const info = await handle.stat().finally(() => handle.close());
  throw info.isDirectory()
    ? Object.assign(new Error(`${path}: is a directory`), { code: 'EISDIR' })
    : Object.assign(new Error(`${path}: not a regular file`), { code: 'ENOTREG' });
}

/** Default cap on a dump read from a pipe: held in memory whole, unlike a file. */
export const DEFAULT_MAX_STREAM_BYTES = 512 * 1024 * 1024;

/** A dump on a pipe (stdin, a FIFO) is larger than the cap given; it is refused, not cut. */
export class StreamTooLargeError extends Error {
  constructor(
    readonly source: string,
    readonly maxBytes: number,
  ) {
    super(`${source}: more than ${maxBytes} bytes`);
    this.name = 'StreamTooLargeError';
  }
}

/** Reads a stream whole into memory, refusing more than `maxBytes`. */
export async function readStream(stream: AsyncIterable<Uint8Array>, name: string, maxBytes: number): Promise<BufferSource> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > maxBytes) throw new StreamTooLargeError(name, maxBytes);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return new BufferSource(bytes, name);
}

/**
 * A dump to analyse: a regular file by positional reads (never read whole), anything else that
 * reads as a stream (`-` for stdin, /dev/stdin on a pipe, a FIFO) read into memory up to `maxStreamBytes`.
 */
export async function openDumpSource(path: string, maxStreamBytes = DEFAULT_MAX_STREAM_BYTES): Promise<{ readonly source: ByteSource; close(): Promise<void> }> {
  // Standard input by its descriptor: /dev/stdin cannot be opened when it is a socket (ENXIO).
  if (path === '-' || path === '/dev/stdin') {
    const name = path === '-' ? '<stdin>' : path;
    const info = await promisify(fstat)(0);
    if (info.isFile()) {
      const fdRead: PositionalRead = (buffer, offset, length, position) => promisify(read)(0, buffer, offset, length, position);
      return { source: new PagedSource(name, info.size, readAt({ read: fdRead })), close: () => Promise.resolve() };
    }
    return { source: await readStream(process.stdin, name, maxStreamBytes), close: () => Promise.resolve() };
  }
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isFile()) {
      const source = new PagedSource(path, info.size, readAt(handle));
      // The first MiB in one read: a small dump whole, a large one's header and directory.
      await source.prefetch(DUMP_PREFETCH_BYTES);
      return { source, close: () => handle.close() };
    }
    if (info.isDirectory()) throw Object.assign(new Error(`${path}: is a directory`), { code: 'EISDIR' });
    const source = await readStream(handle.createReadStream({ autoClose: false }), path, maxStreamBytes);
    await handle.close();
    return { source, close: () => Promise.resolve() };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/** Bytes of a dump file read at once when it is opened (into its page cache). */
const DUMP_PREFETCH_BYTES = 1 << 20;

/** Like openFileSource, but a missing file (or a directory) gives undefined. */
export async function openIfExists(path: string): Promise<OpenFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return undefined;
    }
    return { source: new PagedSource(path, info.size, readAt(handle)), close: () => handle.close() };
  } catch (e) {
    await handle.close();
    throw e;
  }
}
