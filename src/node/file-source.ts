import { open, type FileHandle } from 'node:fs/promises';
import { PagedSource } from '../io/byte-source.js';

/** A file opened for positional reads through a page cache; never read whole. */
export interface OpenFile {
  readonly source: PagedSource;
  close(): Promise<void>;
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Positional reads on a file handle, looping over short reads; short only at end of file. */
function readAt(handle: FileHandle): (offset: number, length: number) => Promise<Uint8Array> {
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

/** Opens a regular file for positional reads. Throws on any failure (missing file included). */
export async function openFileSource(path: string): Promise<OpenFile> {
  const file = await openIfExists(path);
  if (!file) throw Object.assign(new Error(`${path}: no such file`), { code: 'ENOENT' });
  return file;
}

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
