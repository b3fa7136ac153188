/**
 * Analysing dump files with one set of symbol and image sources, kept open across dumps: the CLI
 * analyses one dump with a session, `stackhog batch` each worker many, so a symbol file parsed for
 * one dump serves the next (up to a byte budget, least recently used dropped first).
 */
import { analyze } from '../analyze/process.js';
import type { SignatureRules } from '../analyze/signature-rules.js';
import type { Analysis, AnalyzeOptions } from '../analyze/types.js';
import { DEFAULT_NOT_CULPRITS } from '../analyze/kernel-crash.js';
import { loadPdbSymbols } from '../symbolize/pdb-symbols.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { parseSymbolPath } from '../symbolize/symbol-path.js';
import type { StartRegisters } from '../analyze/start.js';
import { FileDirectories, symstorePathsOnly } from './directories.js';
import { openDumpSource, StreamTooLargeError } from './file-source.js';
import { defaultSymbolCacheDir, SymbolServers, type SymbolServerConfig } from './symbol-server.js';

export interface SessionSettings {
  readonly symbols: readonly string[];
  readonly modules: readonly string[];
  readonly symbolServers: readonly string[];
  /** WinDbg's symbol path syntax (directories and srv* servers). */
  readonly symbolPath?: string | undefined;
  readonly symbolCacheDir?: string | undefined;
  readonly symbolTimeoutSeconds: number;
  /** Symbol files kept indexed at once. */
  readonly symbolCacheFiles: number;
  /** Bytes of symbol files kept indexed at once (their sizes on disk), least recently used dropped first. */
  readonly symbolCacheBytes?: number | undefined;
  readonly maxFrames: number;
  readonly timeoutSeconds: number;
  readonly maxStackBytes: number;
  /** Added to the kernel, HAL and framework list. */
  readonly notCulprits: readonly string[];
  readonly signatureRules?: SignatureRules | undefined;
  /** Where symbol-server downloads show progress (a TTY's stderr), if anywhere. */
  readonly progress?: NodeJS.WritableStream | undefined;
}

export interface DumpRun {
  readonly analysis: Analysis;
  /** Notes from the symbol sources and the analysis, one sentence each. */
  readonly notes: readonly string[];
  /** Whether a symbol store or server was given (rust-minidump's missing_symbols depends on it). */
  readonly searched: boolean;
}

/** Symbol directories (--symbols, then the symbol path's) and servers (--symbol-server, then the symbol path's). */
export function symbolSources(settings: Pick<SessionSettings, 'symbols' | 'symbolServers' | 'symbolPath'>): { directories: string[]; servers: SymbolServerConfig[] } {
  const path = parseSymbolPath(settings.symbolPath ?? '');
  return {
    directories: [...settings.symbols, ...path.flatMap((e) => (e.kind === 'directory' ? [e.path] : []))],
    servers: [...settings.symbolServers.map((url) => ({ url, caches: [] })), ...path.flatMap((e) => (e.kind === 'server' ? [{ url: e.url, caches: e.caches }] : []))],
  };
}

/** The dump file could not be opened (missing, unreadable, a directory): `cause` says why. */
export class DumpOpenError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class DumpSession {
  private readonly dirs: FileDirectories;
  private readonly imageDirs: FileDirectories;
  private readonly servers: SymbolServers;
  readonly symbols: SymbolStoreProvider;
  private readonly searched: boolean;
  private readonly settings: SessionSettings;

  constructor(settings: SessionSettings) {
    this.settings = settings;
    const sources = symbolSources(settings);
    this.dirs = new FileDirectories(sources.directories);
    this.imageDirs = new FileDirectories([...settings.modules]);
    // No request at all unless a server was configured (--symbol-server, --symbol-path, _NT_SYMBOL_PATH).
    this.servers = new SymbolServers(sources.servers, {
      timeoutMs: settings.symbolTimeoutSeconds * 1000,
      defaultCache: settings.symbolCacheDir ?? defaultSymbolCacheDir(),
      ...(settings.progress ? { progress: settings.progress } : {}),
    });
    this.symbols = new SymbolStoreProvider(this.dirs.openers, settings.symbolCacheFiles, {
      servers: this.servers.openers,
      pdbLoader: loadPdbSymbols,
      ...(settings.symbolCacheBytes !== undefined ? { maxBytes: settings.symbolCacheBytes } : {}),
    });
    this.searched = sources.directories.length > 0 || sources.servers.length > 0;
  }

  /** Analyses one dump file (or '-' for stdin, read up to maxStreamBytes). Errors opening it are thrown as they come. */
  async analyzeFile(path: string, perDump: { readonly start?: StartRegisters | undefined; readonly reconstruct?: boolean; readonly maxStreamBytes: number }): Promise<DumpRun> {
    const file = await openDumpSource(path, perDump.maxStreamBytes).catch((e: unknown) => {
      throw e instanceof StreamTooLargeError ? e : new DumpOpenError(path, e);
    });
    const warningsBefore = this.symbols.warnings.length;
    const notesBefore = this.servers.notes.length;
    try {
      const s = this.settings;
      const options: AnalyzeOptions = {
        // Only a given store is searched: rust-minidump's missing_symbols means "looked for and not found".
        ...(this.searched ? { symbols: this.symbols } : {}),
        images: [...this.imageDirs.openers, ...this.dirs.openers.map(symstorePathsOnly), ...this.servers.openers],
        walk: { maxFrames: s.maxFrames },
        timeoutMs: s.timeoutSeconds * 1000,
        maxStackBytes: s.maxStackBytes,
        ...(s.notCulprits.length > 0 ? { notCulprits: [...DEFAULT_NOT_CULPRITS, ...s.notCulprits] } : {}),
        ...(perDump.start ? { start: perDump.start } : {}),
        ...(perDump.reconstruct === false ? { reconstruct: false } : {}),
        ...(s.signatureRules ? { signatureRules: s.signatureRules } : {}),
      };
      const analysis = await analyze(file.source, options);
      const notes = [...this.symbols.warnings.slice(warningsBefore), ...this.servers.notes.slice(notesBefore), ...analysis.notes];
      return { analysis, notes, searched: this.searched };
    } finally {
      await file.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.dirs.close(), this.imageDirs.close(), this.servers.close()]);
  }
}
