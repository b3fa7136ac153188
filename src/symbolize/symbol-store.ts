// Breakpad symbol-store lookup (processor/simple_symbol_supplier.cc): a module's symbols live at
// <dir>/<debug_file>/<debug_id>/<debug_file without .pdb, or with .sym appended>.sym, in the first
// of several directories that has them. The shell supplies how a directory is read.

import type { ByteSource } from '../io/byte-source.js';
import { loadSymbolFile, type SymbolFile } from '../formats/breakpad-sym/index.js';

/** Opens a file by path segments relative to one symbol directory; undefined if absent. Provided by the shell (Node fs, browser File list). */
export type SymbolFileOpener = (segments: string[]) => Promise<ByteSource | undefined>;

/** The last path component, splitting at '/' and '\' alike (PathnameStripper::File). */
export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** Dump-supplied names must not step out of the symbol directory. */
function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && !/[/\\\0]|\.\./.test(segment);
}

/**
 * The symbol file's path segments for a module, or undefined when the debug file or id is empty or
 * could escape the directory (a hostile dump). "c:\x\app.pdb" -> ["app.pdb", id, "app.sym"];
 * "/usr/lib/libc.so.6" -> ["libc.so.6", id, "libc.so.6.sym"].
 */
export function symbolFilePath(debugFile: string, debugId: string): string[] | undefined {
  const name = baseName(debugFile);
  // Breakpad strips ".pdb" (any case) only from names longer than the extension itself.
  const stem = name.length > 4 && name.slice(-4).toLowerCase() === '.pdb' ? name.slice(0, -4) : name;
  const segments = [name, debugId, `${stem}.sym`];
  return segments.every(isSafeSegment) ? segments : undefined;
}

/** Symbol files found through several directories, first hit wins; each (debug file, id) is loaded once, misses remembered. */
export class SymbolStore {
  private readonly openers: readonly SymbolFileOpener[];
  private readonly files = new Map<string, Promise<SymbolFile | undefined>>();
  private readonly maxFiles: number;

  /** `maxFiles`: how many symbol files (and misses) stay indexed; the least recently used go first. */
  constructor(openers: SymbolFileOpener[], maxFiles = 256) {
    this.openers = [...openers];
    this.maxFiles = Math.max(1, maxFiles);
  }

  /** The module's symbol file, or undefined when no directory has it. Rejects only on I/O failure. */
  get(debugFile: string, debugId: string): Promise<SymbolFile | undefined> {
    const segments = symbolFilePath(debugFile, debugId);
    if (segments === undefined) return Promise.resolve(undefined);
    const key = segments.join('/');
    let file = this.files.get(key);
    if (file === undefined) {
      file = this.load(segments);
      if (this.files.size >= this.maxFiles) this.files.delete(this.files.keys().next().value!);
    } else {
      this.files.delete(key); // re-inserted below: most recently used last
    }
    this.files.set(key, file);
    return file;
  }

  private async load(segments: string[]): Promise<SymbolFile | undefined> {
    for (const open of this.openers) {
      const source = await open([...segments]);
      if (source !== undefined) return loadSymbolFile(source);
    }
    return undefined;
  }
}
