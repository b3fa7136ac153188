// Node shell: directories of symbol files or module images on disk, read with positional reads.

import { readdir } from 'node:fs/promises';
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
  /**
   * Directory listings, so that the many paths a lookup tries (a .sym, PDB layouts, images) cost a
   * map lookup instead of a failed open each. A listing is read again after LISTING_TTL_MS, so a
   * long-running worker sees symbols added to the store.
   */
  private readonly listings = new Map<string, { names: Promise<ReadonlySet<string> | undefined>; at: number }>();
  /** Directories listed (for tests to bound the work). */
  listed = 0;

  constructor(dirs: readonly string[]) {
    this.openers = dirs.map((dir) => this.opener(dir));
  }

  async close(): Promise<void> {
    await Promise.all(this.open.splice(0).map((f) => f.close()));
  }

  /** A directory's entries, or undefined when it cannot be listed (absent, not a directory, no permission). */
  private listing(path: string): Promise<ReadonlySet<string> | undefined> {
    const now = performance.now();
    const cached = this.listings.get(path);
    if (cached && now - cached.at < LISTING_TTL_MS) return cached.names;
    this.listed++;
    const names = readdir(path).then(
      (entries) => new Set(entries),
      () => undefined,
    );
    this.listings.set(path, { names, at: now });
    return names;
  }

  private opener(dir: string): DirectoryOpener {
    return async (segments: string[]): Promise<ByteSource | undefined> => {
      // Each segment must be in its parent's listing before anything is opened; names a listing
      // cannot answer for (odd segments, an unlistable directory) are simply tried.
      let at = dir;
      for (const segment of segments) {
        const names = segment === '' || segment === '.' || segment === '..' || segment.includes('/') ? undefined : await this.listing(at);
        if (names === undefined) return this.keep(join(dir, ...segments));
        if (!names.has(segment)) return undefined;
        at = join(at, segment);
      }
      return this.keep(at);
    };
  }

  /** Opens a file that stays open until close(); undefined when it is absent. */
  private async keep(path: string): Promise<ByteSource | undefined> {
    const file = await openIfExists(path);
    if (!file) return undefined;
    this.open.push(file);
    return file.source;
  }
}

/** How long a directory listing answers before it is read again. */
const LISTING_TTL_MS = 60_000;

/**
 * Only a symbol store's three-level paths (`<name>/<key>/<name>`) through `open`: symbol
 * directories are searched for images in that layout, never for a flat file beside the symbols.
 */
export function symstorePathsOnly(open: DirectoryOpener): DirectoryOpener {
  return (segments) => (segments.length === 3 ? open(segments) : Promise.resolve(undefined));
}
