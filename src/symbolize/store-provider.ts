import type { ByteSource } from '../io/byte-source.js';
import { loadSymbolFile } from '../formats/breakpad-sym/index.js';
import type { Module } from '../model/snapshot.js';
import type { ModuleSymbols, SymbolProvider } from './provider.js';
import { SymbolFileFinder } from './symbol-files.js';
import { baseName, type SymbolFileOpener } from './symbol-store.js';

/** Reads a module's symbols from a PDB the finder matched to it (the PDB reader in formats/pdb/ plugs in here). */
export type PdbLoader = (source: ByteSource) => Promise<ModuleSymbols>;

export interface SymbolStoreOptions {
  /** Symbol servers (or any opener of symstore paths), asked for a PDB only after every directory. */
  readonly servers?: readonly SymbolFileOpener[];
  /** Turns a matched PDB into symbols; without one, a found PDB is a note ("PDB found but not read"). */
  readonly pdbLoader?: PdbLoader;
  /**
   * Bytes of symbol files (their sizes) kept indexed at once; past it the least recently used are
   * dropped (and read again if needed). The file size stands in for the index's memory, which
   * it bounds: the readers index lazily and hold less than the file.
   */
  readonly maxBytes?: number;
}

/**
 * Symbols from symbol directories, looked up by the module's debug file and id: a Breakpad .sym
 * first, then a PDB whose GUID and age match (symbol-files.ts), handed to the PDB loader.
 * A symbol file that cannot be read counts as missing, with a warning.
 */
export class SymbolStoreProvider implements SymbolProvider {
  private readonly finder: SymbolFileFinder;
  private readonly pdbLoader: PdbLoader | undefined;
  private readonly files = new Map<string, Promise<ModuleSymbols | undefined>>();
  private readonly maxFiles: number;
  private readonly maxBytes: number;
  /** The size of each loaded file, by key, and their sum. */
  private readonly weights = new Map<string, number>();
  private totalBytes = 0;
  /** Symbol files read (a file dropped and read again counts again), for tests and the batch summary. */
  filesLoaded = 0;
  readonly warnings: string[] = [];

  /** `maxFiles`: symbol files kept indexed at once (least recently used are dropped and re-read if needed). */
  constructor(openers: SymbolFileOpener[], maxFiles = 256, options: SymbolStoreOptions = {}) {
    this.finder = new SymbolFileFinder(openers, { servers: options.servers ?? [], note: (m) => this.warn(m) });
    this.pdbLoader = options.pdbLoader;
    this.maxFiles = Math.max(1, maxFiles);
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  symbolsFor(module: Module): Promise<ModuleSymbols | undefined> {
    if (!module.debugFile || !module.debugId) return Promise.resolve(undefined);
    // By the file's name, as the store's paths are: the same PDB built in two places is one file.
    const key = `${baseName(module.debugFile)}\0${module.debugId}`;
    let file = this.files.get(key);
    if (file === undefined) {
      file = this.load(module.debugFile, module.debugId, key);
      if (this.files.size >= this.maxFiles) this.evict(this.files.keys().next().value!);
    } else {
      this.files.delete(key); // re-inserted below: most recently used last
    }
    this.files.set(key, file);
    return file;
  }

  /** Drops a file from the cache (its reader is garbage once no walk holds it). */
  private evict(key: string): void {
    this.files.delete(key);
    this.totalBytes -= this.weights.get(key) ?? 0;
    this.weights.delete(key);
  }

  /** Counts a loaded file's bytes, then drops the least recently used others until the budget holds. */
  private weigh(key: string, bytes: number): void {
    if (!this.files.has(key)) return;
    this.weights.set(key, bytes);
    this.totalBytes += bytes;
    for (const other of this.files.keys()) {
      if (this.totalBytes <= this.maxBytes) break;
      if (other !== key) this.evict(other);
    }
  }

  private async load(debugFile: string, debugId: string, key: string): Promise<ModuleSymbols | undefined> {
    try {
      for await (const found of this.finder.candidates(debugFile, debugId)) {
        this.filesLoaded++;
        if (found.kind === 'sym') {
          const symbols = await loadSymbolFile(found.source);
          this.weigh(key, found.source.size);
          return symbols;
        }
        if (!this.pdbLoader) {
          this.warn(`symbols for ${debugFile} ${debugId}: PDB found but not read (no PDB reader): ${found.source.name}`);
          return undefined;
        }
        try {
          const symbols = await this.pdbLoader(found.source);
          this.weigh(key, found.source.size);
          return symbols;
        } catch (e) {
          this.warn(`symbols for ${debugFile} ${debugId}: ${found.source.name}: PDB not read: ${message(e)}`);
        }
      }
    } catch (e) {
      this.warn(`symbols for ${debugFile} ${debugId}: ${message(e)}`);
    }
    return undefined;
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
