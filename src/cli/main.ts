#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { analyze, DEFAULT_MAX_STACK_BYTES } from '../analyze/process.js';
import type { Analysis } from '../analyze/types.js';
import { analyzeDps } from '../analyze/windbg-stack.js';
import { listingKind } from '../formats/windbg-text/index.js';
import { DEFAULT_NOT_CULPRITS } from '../analyze/kernel-crash.js';
import { FormatError, OptionError } from '../io/errors.js';
import { FileDirectories, symstorePathsOnly } from '../node/directories.js';
import { defaultSymbolCacheDir, SymbolServers, type SymbolServerConfig } from '../node/symbol-server.js';
import { DEFAULT_MAX_STREAM_BYTES, openDumpSource, openFileSource, StreamTooLargeError } from '../node/file-source.js';
import { PdbFile } from '../formats/pdb/index.js';
import { PeImage } from '../formats/pe/index.js';
import { writeDumpSyms } from '../symbolize/dump-syms.js';
import { fileBytes } from '../images/module-images.js';
import { loadPdbSymbols } from '../symbolize/pdb-symbols.js';
import { dumpSymsInput } from '../symbolize/dump-syms-input.js';
import { findingJson, toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderDpsHtml, renderHtml } from '../report/html.js';
import { renderBreakpad, renderBreakpadMachine } from '../report/breakpad.js';
import { dpsJson, renderDps } from '../report/dps.js';
import { renderFindings, renderText } from '../report/text.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { isHttpUrl, parseSymbolPath } from '../symbolize/symbol-path.js';
import type { StartRegisters } from '../analyze/start.js';
import { defaultWalkOptions } from '../unwind/walker.js';
import { ExitCode } from './exit-codes.js';

const SAMPLE = fileURLToPath(new URL('../../samples/stack_exhaustion.dmp', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface DumpOptions {
  symbols: string[];
  modules: string[];
  format: 'text' | 'json' | 'kf' | 'html' | 'breakpad' | 'breakpad-machine';
  threads: 'all' | 'crashed';
  allFrames: boolean;
  maxFrames: number;
  pretty: boolean;
  start: bigint[] | undefined;
  findingsOnly: boolean;
  timeout: number;
  maxStackBytes: number;
  symbolCache: number;
  maxStreamBytes: number;
  notCulprit: string[];
  symbolServer: string[];
  /** WinDbg's symbol path syntax; from _NT_SYMBOL_PATH when not given. */
  symbolPath: string | undefined;
  /** Whether --symbol-path was given on the command line (not taken from the environment). */
  symbolPathGiven: boolean;
  symbolCacheDir: string | undefined;
  symbolTimeout: number;
}

/** Repeatable options have no default, so --help shows no empty `[]`: absent is undefined. */
type RepeatableFlag = 'symbols' | 'modules' | 'notCulprit' | 'symbolServer';
type DumpFlags = Omit<DumpOptions, RepeatableFlag | 'symbolPathGiven'> & Partial<Pick<DumpOptions, RepeatableFlag>>;

interface DpsOptions {
  lm: string | undefined;
  format: 'kf' | 'json' | 'html';
  start: bigint[] | undefined;
  pretty: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const START_FORMS = "'ebp,esp,eip' (x86), 'rsp,rip' (x64), 'sp,pc' or 'fp,sp,pc' (ARM64)";

/** `ebp,esp,eip` (x86), `rsp,rip` (x64), `[fp,]sp,pc` (ARM64), hex with or without 0x and WinDbg's backticks; the dump's CPU checks the count. */
function startValues(value: string): bigint[] {
  const parts = value.split(/[,\s]+/).filter(Boolean);
  if (parts.length < 2 || parts.length > 3) throw new InvalidArgumentError(`expected ${START_FORMS}`);
  return parts.map((p) => {
    const hex = p.replace(/`/g, '').replace(/^0x/i, '');
    if (!/^[0-9a-f]+$/i.test(hex)) throw new InvalidArgumentError(`'${p}' is not a hex address`);
    return BigInt('0x' + hex);
  });
}

function startRegisters(values: bigint[]): StartRegisters {
  return values.length === 3
    ? { basePtr: values[0]!, stackPtr: values[1]!, instructionPtr: values[2]! }
    : { stackPtr: values[0]!, instructionPtr: values[1]! };
}

type Job = () => Promise<number>;

/** A failure the shell explains in one line (`stackhog: <message>`) and ends with `exitCode`. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** `--symbols` and `--modules` name directories: a file there is usually the dump the option swallowed. */
async function checkDirectories(option: string, dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    const info = await stat(dir).catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      const what = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such directory' : `cannot open (${code ?? String(e)})`;
      throw new CliError(`${option} ${dir}: ${what}`, ExitCode.Usage);
    });
    if (info.isDirectory()) continue;
    const hint = option === '--modules' ? " (-m is --modules <dir>, not Breakpad's machine output)" : '';
    throw new CliError(`${option} ${dir}: a file, not a directory${hint}; give the dump as the argument: stackhog <dump> ${option} <dir>`, ExitCode.Usage);
  }
}

function program(setJob: (job: Job) => void): Command {
  const root = new Command()
    .name('stackhog')
    .description('Stack forensics for crash dumps: walks every thread of a minidump or the bugcheck thread of a Windows kernel dump, measures who used the stack and explains the crash.')
    .argument('[dump]', "minidump or Windows kernel dump (MEMORY.DMP, Minidump\\*.dmp); '-' reads it from stdin (default: a bundled sample, a real stack overflow)")
    .option('-s, --symbols <dir>', 'symbol directory: Breakpad .sym store, symstore or flat PDBs, symstore images (repeatable; first hit wins)', collect)
    .option('-m, --modules <dir>', 'directory of module images (.exe/.dll), flat or symbol-server layout (repeatable)', collect)
    .option('--symbol-server <url>', 'symbol server (SymSrv over HTTP) for PDBs and images, after every directory (repeatable)', collect)
    .addOption(new Option('--symbol-path <path>', "WinDbg's symbol path: dirs, srv*<cache>*<url>, cache*<dir>, separated by ';'").env('_NT_SYMBOL_PATH'))
    .option('--symbol-cache-dir <dir>', `where servers without a cache of their own keep downloads (default: ${defaultSymbolCacheDir()})`)
    .option('--symbol-timeout <seconds>', 'give up a symbol-server request silent for this long', positiveInt, 30)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'kf', 'html', 'breakpad', 'breakpad-machine']).default('text'))
    .addOption(new Option('--threads <which>', 'threads to report').choices(['all', 'crashed']).default('all'))
    .option('--all-frames', 'list every frame of a recursion run (text, kf and html fold the repeats by default)', false)
    .option('--max-frames <n>', 'stop each walk after this many frames', positiveInt, defaultWalkOptions.maxFrames)
    .option('--start <regs>', `walk the crashing thread from these registers instead of its context: ${START_FORMS}`, startValues)
    .option('--timeout <seconds>', 'wall-clock budget for the whole analysis; what is left is reported as partial', positiveInt, 120)
    .option('--max-stack-bytes <n>', 'load and search at most this many bytes of each thread stack', positiveInt, DEFAULT_MAX_STACK_BYTES)
    .option('--symbol-cache <files>', 'symbol files kept indexed in memory at once', positiveInt, 256)
    .option('--max-stream-bytes <n>', 'a dump read from stdin or a pipe is held in memory: refuse one larger than this (files are never read whole)', positiveInt, DEFAULT_MAX_STREAM_BYTES)
    .option('--not-culprit <name>', 'kernel dumps: never name this module as the probable cause (repeatable; adds to the kernel, HAL and framework list)', collect)
    .option('--findings-only', 'print only the findings (stack overflow, recursion, code outside modules, ...)')
    .option('--no-pretty', 'compact JSON')
    .version(`stackhog ${VERSION}`, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride()
    .action((dump: string | undefined, flags: DumpFlags, cmd: Command) =>
      setJob(() =>
        runDump(dump, {
          ...flags,
          symbols: flags.symbols ?? [],
          modules: flags.modules ?? [],
          notCulprit: flags.notCulprit ?? [],
          symbolServer: flags.symbolServer ?? [],
          symbolPathGiven: cmd.getOptionValueSource('symbolPath') === 'cli',
        }),
      ),
    );
  root
    .command('dps')
    .description("rebuild a stack from WinDbg's dps/dds/dqs output (and optionally lm), printed as kf")
    .argument('<file>', 'a text file with the dps output')
    .option('--lm <file>', "a text file with WinDbg's lm output (module ranges)")
    .addOption(new Option('-f, --format <format>', 'output format').choices(['kf', 'json', 'html']).default('kf'))
    .option('--start <regs>', `start there instead of the best chain found: ${START_FORMS}`, startValues)
    .option('--no-pretty', 'compact JSON')
    .showHelpAfterError()
    .exitOverride()
    .action((file: string, opts: DpsOptions) => setJob(() => runDps(file, opts)));
  root
    .command('dump-syms')
    .description("write a Breakpad .sym for a PDB, as Breakpad's dump_syms does; the image adds INFO CODE_ID and, for x64, STACK CFI")
    .argument('<pdb>', 'the PDB')
    .argument('[image]', 'its .exe, .dll or .sys')
    .option('-o, --output <file>', 'write the .sym to this file instead of stdout')
    .option('-i, --inline', 'add INLINE and INLINE_ORIGIN records, as dump_syms --i does')
    .showHelpAfterError()
    .exitOverride()
    .action((pdb: string, image: string | undefined, opts: { output?: string; inline?: boolean }) => setJob(() => runDumpSyms(pdb, image, opts.output, opts.inline === true)));
  return root;
}

/**
 * The bundled sample stands in for a missing dump only when nothing else was meant for one: an option
 * that takes a path or registers (-m, -s, --start, ...) without a dump has most likely swallowed it.
 */
function sample(opts: DumpOptions): string {
  const given = [
    opts.symbols.length > 0 && '--symbols',
    opts.modules.length > 0 && '--modules',
    opts.start !== undefined && '--start',
    opts.notCulprit.length > 0 && '--not-culprit',
    opts.symbolServer.length > 0 && '--symbol-server',
    opts.symbolPathGiven && '--symbol-path',
  ].filter((o): o is string => o !== false);
  if (given.length > 0) throw new CliError(`no dump given (${given.join(', ')} need${given.length === 1 ? 's' : ''} one; the bundled sample runs only without them)`, ExitCode.Usage);
  return SAMPLE;
}

async function run(argv: string[]): Promise<number> {
  let job: Job | undefined;
  const cmd = program((j) => (job = j));
  try {
    cmd.parse(argv);
    return job ? await job() : ExitCode.Ok;
  } catch (e) {
    return failure(e);
  }
}

/** The one place that turns an error into a message and an exit code; anything else is a bug. */
function failure(e: unknown): number {
  // Commander has already printed its message (and the help).
  if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  if (e instanceof CliError) {
    process.stderr.write(`stackhog: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof StreamTooLargeError) {
    process.stderr.write(`stackhog: ${e.message} (--max-stream-bytes): no report; pass the dump as a file path (read in place) or raise the cap\n`);
    return ExitCode.Limit;
  }
  if (e instanceof OptionError) {
    process.stderr.write(`stackhog: --${e.option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: ${e.reason}\n`);
    return ExitCode.Usage;
  }
  if (e instanceof FormatError) {
    process.stderr.write(`stackhog: ${e.message}\n`);
    return ExitCode.BadInput;
  }
  throw e;
}

/** What the usual open failures mean, said before their code. */
const OPEN_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
  ENOTREG: 'not a regular file',
};

function cannotOpen(path: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  const meaning = code === undefined ? undefined : OPEN_FAILURES[code];
  const why = code === undefined ? (e instanceof Error ? e.message : String(e)) : meaning ? `${meaning} (${code})` : code;
  return new CliError(`${path}: cannot open: ${why}`, ExitCode.BadInput);
}

async function runDump(dump: string | undefined, opts: DumpOptions): Promise<number> {
  // The findings are a list, not a stack: kf (WinDbg's stack listing) has no form for them.
  if (opts.findingsOnly && opts.format !== 'text' && opts.format !== 'json') throw new CliError(`--findings-only prints text or json, not ${opts.format}`, ExitCode.Usage);
  await checkDirectories('--symbols', opts.symbols);
  await checkDirectories('--modules', opts.modules);
  for (const url of opts.symbolServer) if (!isHttpUrl(url)) throw new CliError(`--symbol-server ${url}: not an http:// or https:// URL (a directory is --symbols)`, ExitCode.Usage);
  const path = dump ?? sample(opts);
  let file;
  try {
    file = await openDumpSource(path, opts.maxStreamBytes);
  } catch (e) {
    if (e instanceof StreamTooLargeError) throw e;
    throw cannotOpen(path, e);
  }
  const sources = symbolSources(opts);
  const dirs = new FileDirectories(sources.directories);
  const imageDirs = new FileDirectories(opts.modules);
  // No request at all unless a server was configured (--symbol-server, --symbol-path, _NT_SYMBOL_PATH).
  const servers = new SymbolServers(sources.servers, {
    timeoutMs: opts.symbolTimeout * 1000,
    defaultCache: opts.symbolCacheDir ?? defaultSymbolCacheDir(),
    progress: process.stderr,
  });
  try {
    const symbols = new SymbolStoreProvider(dirs.openers, opts.symbolCache, { servers: servers.openers, pdbLoader: loadPdbSymbols });
    const searched = sources.directories.length > 0 || sources.servers.length > 0;
    const analysis = await analyze(file.source, {
      // Only a given store is searched: rust-minidump's missing_symbols means "looked for and not found".
      ...(searched ? { symbols } : {}),
      images: [...imageDirs.openers, ...dirs.openers.map(symstorePathsOnly), ...servers.openers],
      walk: { maxFrames: opts.maxFrames },
      timeoutMs: opts.timeout * 1000,
      maxStackBytes: opts.maxStackBytes,
      ...(opts.notCulprit.length > 0 ? { notCulprits: [...DEFAULT_NOT_CULPRITS, ...opts.notCulprit] } : {}),
      ...(opts.start ? { start: startRegisters(opts.start) } : {}),
      // Breakpad stops where its walk stops: no frames rebuilt from the raw stack.
      ...(opts.format.startsWith('breakpad') ? { reconstruct: false } : {}),
    });
    const output = opts.findingsOnly
      ? opts.format === 'json'
        ? JSON.stringify({ findings: analysis.findings.map((f) => findingJson(f, analysis.snapshot.system.cpu)) }, null, opts.pretty ? 2 : undefined) + '\n'
        : renderFindings(analysis).join('\n') + '\n'
      : opts.format === 'json'
        ? JSON.stringify(toJson(analysis, { threads: opts.threads }), null, opts.pretty ? 2 : undefined) + '\n'
        : opts.format === 'kf'
          ? renderKf(analysis, { threads: opts.threads, allFrames: opts.allFrames })
          : opts.format === 'text'
            ? renderText(analysis, { threads: opts.threads, allFrames: opts.allFrames })
            : opts.format === 'html'
              ? renderHtml(analysis, { threads: opts.threads, allFrames: opts.allFrames, source: path })
              : breakpadOutput(analysis, opts, searched);
    await writeOut(output);
    for (const w of [...symbols.warnings, ...servers.notes, ...analysis.notes]) process.stderr.write(`stackhog: note: ${w}\n`);
    for (const l of analysis.limits) process.stderr.write(`stackhog: limit: ${l}\n`);
    if (analysis.warnings.length > 0) {
      for (const w of analysis.warnings) process.stderr.write(`stackhog: ${w}\n`);
      return ExitCode.BadInput;
    }
    return analysis.limits.length > 0 ? ExitCode.Limit : ExitCode.Ok;
  } finally {
    await Promise.all([file.close(), dirs.close(), imageDirs.close(), servers.close()]);
  }
}

/** Symbol directories (--symbols, then the symbol path's) and servers (--symbol-server, then the symbol path's). */
function symbolSources(opts: DumpOptions): { directories: string[]; servers: SymbolServerConfig[] } {
  const path = parseSymbolPath(opts.symbolPath ?? '');
  return {
    directories: [...opts.symbols, ...path.flatMap((e) => (e.kind === 'directory' ? [e.path] : []))],
    servers: [...opts.symbolServer.map((url) => ({ url, caches: [] })), ...path.flatMap((e) => (e.kind === 'server' ? [{ url: e.url, caches: e.caches }] : []))],
  };
}

/** minidump_stackwalk's output (`-m` for breakpad-machine, `-c` for --threads crashed). */
function breakpadOutput(analysis: Analysis, opts: DumpOptions, symbolSupplier: boolean): string {
  if (opts.format === 'breakpad-machine') return renderBreakpadMachine(analysis);
  return renderBreakpad(analysis, { symbolSupplier, threads: opts.threads });
}

async function runDps(path: string, opts: DpsOptions): Promise<number> {
  let dps: string;
  let lm: string | undefined;
  try {
    dps = await readFile(path, 'utf8');
  } catch (e) {
    throw cannotOpen(path, e);
  }
  const kind = listingKind(dps);
  if (kind === 'lm') throw new CliError(`${path}: this is WinDbg's lm output (a module list), not dps: give it as --lm ${path} beside a dps capture of the stack`, ExitCode.BadInput);
  if (kind === 'k') throw new CliError(`${path}: this is a WinDbg k/kf stack listing, not dps output: stackhog dps rebuilds a stack from raw stack memory (capture it with 'dps <esp> L2000', or dqs on x64)`, ExitCode.BadInput);
  if (opts.lm !== undefined) {
    try {
      lm = await readFile(opts.lm, 'utf8');
    } catch (e) {
      throw cannotOpen(opts.lm, e);
    }
  }
  const analysis = await analyzeDps(dps, lm, opts.start ? startRegisters(opts.start) : undefined);
  if (!analysis) {
    process.stderr.write(`stackhog: ${path}: no dps/dds/dqs lines (address, value) found\n`);
    return ExitCode.BadInput;
  }
  const output =
    opts.format === 'json' ? JSON.stringify(dpsJson(analysis), null, opts.pretty ? 2 : undefined) + '\n' : opts.format === 'html' ? renderDpsHtml(analysis, path) : renderDps(analysis, path);
  await writeOut(output);
  return ExitCode.Ok;
}

async function runDumpSyms(pdbPath: string, imagePath: string | undefined, output: string | undefined, inline: boolean): Promise<number> {
  const pdbFile = await openFileSource(pdbPath).catch((e: unknown) => {
    throw cannotOpen(pdbPath, e);
  });
  const imageFile = imagePath === undefined ? undefined : await openFileSource(imagePath).catch(async (e: unknown) => {
    await pdbFile.close();
    throw cannotOpen(imagePath, e);
  });
  try {
    const pdb = await PdbFile.open(pdbFile.source);
    const image = imageFile ? await PeImage.parse(fileBytes(imageFile.source)) : undefined;
    const input = await dumpSymsInput({ pdb, pdbName: pdbPath, image, imageName: imagePath, inline });
    const text = writeDumpSyms(input);
    if (output === undefined) await writeOut(text);
    else await writeFile(output, text).catch((e: unknown) => {
      throw new CliError(`${output}: cannot write: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, ExitCode.BadInput);
    });
    for (const w of input.warnings) process.stderr.write(`stackhog: note: ${w}\n`);
    return ExitCode.Ok;
  } finally {
    await Promise.all([pdbFile.close(), imageFile?.close()]);
  }
}

/**
 * Writes to stdout. A reader that went away (EPIPE, e.g. `| head`) is no error; any other write
 * error (ENOSPC on a full disk, EIO) means the report is lost and is said so.
 */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (e) => {
      const code = (e as NodeJS.ErrnoException | null | undefined)?.code;
      if (!e || code === 'EPIPE') resolve();
      else reject(new CliError(`cannot write the report to stdout (${code ?? e.message})`, ExitCode.BadInput));
    });
  });
}

// A failed write also emits 'error'; the write's callback above is what handles it.
process.stdout.on('error', () => undefined);

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`stackhog: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env['STACKHOG_DEBUG'] && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    process.exitCode = ExitCode.Internal;
  },
);
