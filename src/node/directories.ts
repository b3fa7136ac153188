// Node shell: directories of symbol files or module images on disk, read with positional reads.

import { join } from 'node:path';
import type { ByteSource } from '../io/byte-source.js';
import { openIfExists, type OpenFile } from './file-source.js';

/** Opens a file by path segments below one directory; undefined when absent. */
export type DirectoryOpener = (segments: string[]) => Promise<ByteSource | undefined>;

/**
 * Directories whose found files stay open while the analysis re-reads them on demand (symbol
 * records, image sections); `close` releases them when the analysis is done.
 */
export class FileDirectories {
  readonly openers: DirectoryOpener[];
  private readonly open: OpenFile[] = [];

  constructor(dirs: readonly string[]) {
    this.openers = dirs.map((dir) => this.opener(dir));
  }

  async close(): Promise<void> {
    await Promise.all(this.open.splice(0).map((f) => f.close()));
  }

  private opener(dir: string): DirectoryOpener {
    return async (segments: string[]): Promise<ByteSource | undefined> => {
      const file = await openIfExists(join(dir, ...segments));
      if (!file) return undefined;
      this.open.push(file);
      return file.source;
    };
  }
}

/**
 * Only a symbol store's three-level paths (`<name>/<key>/<name>`) through `open`: symbol
 * directories are searched for images in that layout, never for a flat file beside the symbols.
 */
export function symstorePathsOnly(open: DirectoryOpener): DirectoryOpener {
  return (segments) => (segments.length === 3 ? open(segments) : Promise.resolve(undefined));
}
