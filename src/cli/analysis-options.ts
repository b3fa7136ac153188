/**
 * The options every dump-analysing command shares (the default command, `signature`, `batch`):
 * where symbols and images come from, the walk's limits, the kernel culprit and signature lists.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { DEFAULT_MAX_STACK_BYTES } from '../analyze/process.js';
import { DEFAULT_SIGNATURE_RULES, type SignatureRules } from '../analyze/signature-rules.js';
import { OptionError } from '../io/errors.js';
import { defaultSymbolCacheDir } from '../node/symbol-server.js';
import type { SessionSettings } from '../node/dump-session.js';
import { defaultWalkOptions } from '../unwind/walker.js';

export interface AnalysisFlags {
  symbols?: string[];
  modules?: string[];
  symbolServer?: string[];
  /** WinDbg's symbol path syntax; from _NT_SYMBOL_PATH when not given. */
  symbolPath: string | undefined;
  symbolCacheDir: string | undefined;
  symbolTimeout: number;
  maxFrames: number;
  timeout: number;
  maxStackBytes: number;
  symbolCache: number;
  symbolCacheBytes: number;
  notCulprit?: string[];
  signatureRules: string | undefined;
}

/** 1 GiB of symbol files: a few hundred Chrome-sized .sym files, whose indexes are a fraction of that. */
export const DEFAULT_SYMBOL_CACHE_BYTES = 1 << 30;

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the shared options to a command. */
export function withAnalysisOptions(cmd: Command): Command {
  return cmd
    .option('-s, --symbols <dir>', 'symbol directory: Breakpad .sym store, symstore or flat PDBs, symstore images (repeatable; first hit wins)', collect)
    .option('-m, --modules <dir>', 'directory of module images (.exe/.dll), flat or symbol-server layout (repeatable)', collect)
    .option('--symbol-server <url>', 'symbol server (SymSrv over HTTP) for PDBs and images, after every directory (repeatable)', collect)
    .addOption(new Option('--symbol-path <path>', "WinDbg's symbol path: dirs, srv*<cache>*<url>, cache*<dir>, separated by ';'").env('_NT_SYMBOL_PATH'))
    .option('--symbol-cache-dir <dir>', `where servers without a cache of their own keep downloads (default: ${defaultSymbolCacheDir()})`)
    .option('--symbol-timeout <seconds>', 'give up a symbol-server request silent for this long', positiveInt, 30)
    .option('--max-frames <n>', 'stop each walk after this many frames', positiveInt, defaultWalkOptions.maxFrames)
    .option('--timeout <seconds>', 'wall-clock budget for the whole analysis; what is left is reported as partial', positiveInt, 120)
    .option('--max-stack-bytes <n>', 'load and search at most this many bytes of each thread stack', positiveInt, DEFAULT_MAX_STACK_BYTES)
    .option('--symbol-cache <files>', 'symbol files kept indexed in memory at once', positiveInt, 256)
    .option('--symbol-cache-bytes <n>', 'bytes of symbol files (by file size) kept indexed at once, per process or batch worker; least recently used dropped first', positiveInt, DEFAULT_SYMBOL_CACHE_BYTES)
    .option('--not-culprit <name>', 'kernel dumps: never name this module as the probable cause (repeatable; adds to the kernel, HAL and framework list)', collect)
    .option('--signature-rules <file>', 'JSON { "skip": [regex...], "prefix": [regex...], "maxPrefixFrames": n, "replace": false } for crash signatures');
}

/** A rules file: its lists added to the defaults, or replacing them with "replace": true. */
export async function readSignatureRules(path: string): Promise<SignatureRules> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new OptionError('signatureRules', `${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = (parsed ?? {}) as Record<string, unknown>;
  const list = (key: string): string[] => {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new OptionError('signatureRules', `${path}: "${key}" must be a list of regular expressions`);
    for (const pattern of v as string[]) {
      try {
        new RegExp(pattern, 'i');
      } catch (e) {
        throw new OptionError('signatureRules', `${path}: "${key}": ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return v as string[];
  };
  const replace = o['replace'] === true;
  const max = o['maxPrefixFrames'];
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0)) throw new OptionError('signatureRules', `${path}: "maxPrefixFrames" must be a whole number`);
  return {
    skip: [...(replace ? [] : DEFAULT_SIGNATURE_RULES.skip), ...list('skip')],
    prefix: [...(replace ? [] : DEFAULT_SIGNATURE_RULES.prefix), ...list('prefix')],
    maxPrefixFrames: (max as number | undefined) ?? DEFAULT_SIGNATURE_RULES.maxPrefixFrames,
  };
}

/** The session settings the flags ask for. */
export async function sessionSettings(flags: AnalysisFlags, progress: NodeJS.WritableStream | undefined): Promise<SessionSettings> {
  return {
    symbols: flags.symbols ?? [],
    modules: flags.modules ?? [],
    symbolServers: flags.symbolServer ?? [],
    symbolPath: flags.symbolPath,
    symbolCacheDir: flags.symbolCacheDir,
    symbolTimeoutSeconds: flags.symbolTimeout,
    symbolCacheFiles: flags.symbolCache,
    symbolCacheBytes: flags.symbolCacheBytes,
    maxFrames: flags.maxFrames,
    timeoutSeconds: flags.timeout,
    maxStackBytes: flags.maxStackBytes,
    notCulprits: flags.notCulprit ?? [],
    ...(flags.signatureRules !== undefined ? { signatureRules: await readSignatureRules(flags.signatureRules) } : {}),
    progress,
  };
}
