import type { Module } from '../model/snapshot.js';
import type { ModuleSymbols, SymbolProvider } from './provider.js';
import { SymbolStore, type SymbolFileOpener } from './symbol-store.js';

/**
 * Symbols from Breakpad symbol-store directories, looked up by the module's debug file and id.
 * A symbol file that cannot be read counts as missing, with a warning.
 */
export class SymbolStoreProvider implements SymbolProvider {
  private readonly store: SymbolStore;
  readonly warnings: string[] = [];

  /** `maxFiles`: symbol files kept indexed at once (least recently used are dropped and re-read if needed). */
  constructor(openers: SymbolFileOpener[], maxFiles?: number) {
    this.store = new SymbolStore(openers, maxFiles);
  }

  async symbolsFor(module: Module): Promise<ModuleSymbols | undefined> {
    if (!module.debugFile || !module.debugId) return undefined;
    try {
      return await this.store.get(module.debugFile, module.debugId);
    } catch (e) {
      const message = `symbols for ${module.debugFile} ${module.debugId}: ${e instanceof Error ? e.message : String(e)}`;
      if (!this.warnings.includes(message)) this.warnings.push(message);
      return undefined;
    }
  }
}
