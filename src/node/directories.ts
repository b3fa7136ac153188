// Node shell for the symbol store: symbol directories on disk, read with positional reads.

import { join } from 'node:path';
import type { ByteSource } from '../io/byte-source.js';
import type { SymbolFileOpener } from '../symbolize/symbol-store.js';
import { openIfExists, type OpenFile } from './file-source.js';

/**
 * Symbol directories whose found files stay open while the store re-reads records on demand;
 * `close` releases them when the analysis is done.
 */
export class SymbolDirectories {
  readonly openers: SymbolFileOpener[];
  private readonly open: OpenFile[] = [];

  constructor(dirs: readonly string[]) {
    this.openers = dirs.map((dir) => this.opener(dir));
  }

  async close(): Promise<void> {
    await Promise.all(this.open.splice(0).map((f) => f.close()));
  }

  private opener(dir: string): SymbolFileOpener {
    return async (segments: string[]): Promise<ByteSource | undefined> => {
      const file = await openIfExists(join(dir, ...segments));
      if (!file) return undefined;
      this.open.push(file);
      return file.source;
    };
  }
}
