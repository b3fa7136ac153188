// Where a module's symbol file may be, in the order they are tried: a Breakpad .sym in the symbol
// directories (symbol-store.ts), then a PDB: Microsoft's symbol-store layout, its two-tier form,
// a flat folder as WinDbg's symbol path accepts, then symbol servers. A PDB is used only when its
// GUID and age are the module's (formats/pdb/identity.ts).

import type { ByteSource } from '../io/byte-source.js';
import { FormatError } from '../io/errors.js';
import { readPdbIdentity } from '../formats/pdb/identity.js';
import { baseName, symbolFilePath, type SymbolFileOpener } from './symbol-store.js';

/**
 * Where a candidate was found: `breakpad` `<debug_file>/<debug_id>/<stem>.sym`; `symstore`
 * `<name.pdb>/<debug_id>/<name.pdb>` (symstore.exe, SymSrv); `index2` the same below the name's first
 * two characters (symstore /3 with index2.txt); `flat` `<name.pdb>` in the directory itself;
 * `server` a symbol server's symstore path.
 */
export type SymbolFileLayout = 'breakpad' | 'symstore' | 'index2' | 'flat' | 'server';

export type SymbolFileCandidate =
  | { readonly kind: 'sym'; readonly layout: 'breakpad'; readonly source: ByteSource }
  | { readonly kind: 'pdb'; readonly layout: Exclude<SymbolFileLayout, 'breakpad'>; readonly source: ByteSource };

export interface SymbolFileFinderOptions {
  /** Symbol servers, tried after every directory and only for symstore paths (a server lists no folder). */
  readonly servers?: readonly SymbolFileOpener[];
  /** Told why a PDB that was found is not the module's (wrong GUID or age, not a PDB, damaged). */
  readonly note?: (message: string) => void;
}

/** Dump-supplied names must not step out of a directory (as symbol-store.ts checks its segments). */
function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && !/[/\\\0]|\.\./.test(segment);
}

/** A PDB's symstore paths: `[name, id, name]` and the two-tier `[na, name, id, name]`; undefined for unsafe names. */
export function pdbStorePaths(debugFile: string, debugId: string): { symstore: string[]; index2: string[]; flat: string[] } | undefined {
  const name = baseName(debugFile);
  const symstore = [name, debugId, name];
  if (!symstore.every(isSafeSegment)) return undefined;
  // symstore.exe's two-tier store (index2.txt) files each name under its first two characters, lowercased.
  const tier = name.slice(0, 2).toLowerCase();
  return { symstore, index2: isSafeSegment(tier) ? [tier, ...symstore] : symstore, flat: [name] };
}

/** Finds a module's symbol files through symbol directories and servers; yields lazily so nothing past the first usable one is opened. */
export class SymbolFileFinder {
  private readonly directories: readonly SymbolFileOpener[];
  private readonly servers: readonly SymbolFileOpener[];
  private readonly note: (message: string) => void;

  constructor(directories: readonly SymbolFileOpener[], options: SymbolFileFinderOptions = {}) {
    this.directories = [...directories];
    this.servers = [...(options.servers ?? [])];
    this.note = options.note ?? ((): void => undefined);
  }

  /** Candidates for a module by its debug file and id, best first: .sym, then symstore, two-tier and flat PDBs, then servers. */
  async *candidates(debugFile: string, debugId: string): AsyncGenerator<SymbolFileCandidate> {
    if (!debugFile || !debugId) return;
    const sym = symbolFilePath(debugFile, debugId);
    if (sym) {
      for (const open of this.directories) {
        const source = await open([...sym]);
        if (source) yield { kind: 'sym', layout: 'breakpad', source };
      }
    }
    // Breakpad's module records name a PDB; an ELF or Mach-O module has none to look for.
    if (!/\.pdb$/i.test(baseName(debugFile))) return;
    const paths = pdbStorePaths(debugFile, debugId);
    if (!paths) return;
    const tries: [Exclude<SymbolFileLayout, 'breakpad'>, readonly SymbolFileOpener[], string[]][] = [
      ['symstore', this.directories, paths.symstore],
      ['index2', this.directories, paths.index2],
      ['flat', this.directories, paths.flat],
      ['server', this.servers, paths.symstore],
    ];
    for (const [layout, openers, segments] of tries) {
      if (layout === 'index2' && segments === paths.symstore) continue;
      for (const open of openers) {
        const source = await open([...segments]);
        if (source && (await this.isModulePdb(source, debugId))) yield { kind: 'pdb', layout, source };
      }
    }
  }

  private async isModulePdb(source: ByteSource, debugId: string): Promise<boolean> {
    try {
      const identity = await readPdbIdentity(source);
      if (!identity) {
        this.note(`${source.name}: not a PDB (no MSF 7.0 header), skipped`);
        return false;
      }
      if (identity.debugId.toUpperCase() === debugId.toUpperCase()) return true;
      this.note(`${source.name}: skipped: its GUID and age ${identity.debugId} are not the module's ${debugId.toUpperCase()}`);
      return false;
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      this.note(`PDB skipped: ${e.message}`);
      return false;
    }
  }
}
