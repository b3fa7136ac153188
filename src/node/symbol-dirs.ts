// Node shell for the symbol store: a symbol directory on disk, read with positional reads.

import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PagedSource } from '../io/byte-source.js';
import type { SymbolFileOpener } from '../symbolize/symbol-store.js';

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/**
 * Opens symbol files under `dir`. A found file stays open for the life of the process: the store
 * keeps its index and re-reads records on demand.
 */
export function directoryOpener(dir: string): SymbolFileOpener {
  return async (segments: string[]): Promise<PagedSource | undefined> => {
    const path = join(dir, ...segments);
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
      return new PagedSource(path, info.size, (offset, length) => readAt(handle, offset, length));
    } catch (e) {
      await handle.close();
      throw e;
    }
  };
}
