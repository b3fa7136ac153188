#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Analysis } from '../analyze/types.js';
import { analyzeDps } from '../analyze/windbg-stack.js';
import { listingKind } from '../formats/windbg-text/index.js';
import { FormatError, OptionError } from '../io/errors.js';
import { DumpOpenError, DumpSession, type DumpRun } from '../node/dump-session.js';
import { runBatch } from './batch.js';
import { positiveInt, sessionSettings, withAnalysisOptions, type AnalysisFlags } from './analysis-options.js';
import { DEFAULT_MAX_STREAM_BYTES, openFileSource, StreamTooLargeError } from '../node/file-source.js';
import { serveStatic } from '../node/static-server.js';
import { PdbFile } from '../formats/pdb/index.js';
import { PeImage } from '../formats/pe/index.js';
import { writeDumpSyms } from '../symbolize/dump-syms.js';
import { fileBytes } from '../images/module-images.js';
import { dumpSymsInput } from '../symbolize/dump-syms-input.js';
import { findingJson, toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderDpsHtml, renderHtml } from '../report/html.js';
import { renderBreakpad, renderBreakpadMachine } from '../report/breakpad.js';
import { dpsJson, renderDps } from '../report/dps.js';
import { renderFindings, renderText } from '../report/text.js';
import { isHttpUrl } from '../symbolize/symbol-path.js';
import type { StartRegisters } from '../analyze/start.js';
import { ExitCode } from './exit-codes.js';

const SAMPLE = fileURLToPath(new URL('../../samples/stack_exhaustion.dmp', import.meta.url));
/** The browser page, as `npm run build` writes it (Vite, after tsc). */
const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface DumpOptions extends AnalysisFlags {
  symbols: string[];
  modules: string[];
  notCulprit: string[];
  symbolServer: string[];
  format: 'text' | 'json' | 'kf' | 'html' | 'breakpad' | 'breakpad-machine';
  threads: 'all' | 'crashed';
  allFrames: boolean;
  pretty: boolean;
  start: bigint[] | undefined;
  findingsOnly: boolean;
  maxStreamBytes: number;
  /** Whether --symbol-path was given on the command line (not taken from the environment). */
  symbolPathGiven: boolean;
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

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number, 0 to 65535 (0: any free port)');
  return n;
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
async function checkSourceDirectories(flags: Pick<AnalysisFlags, 'symbols' | 'modules'>): Promise<void> {
  await checkDirectories('--symbols', flags.symbols ?? []);
  await checkDirectories('--modules', flags.modules ?? []);
}

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
  const root = withAnalysisOptions(
    new Command()
      .name('stackhog')
      .description('Stack forensics for crash dumps: walks every thread of a minidump or legacy full user dump, or the bugcheck thread of a Windows kernel dump, measures who used the stack and explains the crash.')
      .argument('[dump]', "minidump, Windows kernel dump (MEMORY.DMP, Minidump\\*.dmp) or legacy full user dump (USERDU64, USERDUMP); '-' reads it from stdin (default: a bundled sample, a real stack overflow)"),
  )
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'kf', 'html', 'breakpad', 'breakpad-machine']).default('text'))
    .addOption(new Option('--threads <which>', 'threads to report').choices(['all', 'crashed']).default('all'))
    .option('--all-frames', 'list every frame of a recursion run (text, kf and html fold the repeats by default)', false)
    .option('--start <regs>', `walk the crashing thread from these registers instead of its context: ${START_FORMS}`, startValues)
    .option('--max-stream-bytes <n>', 'a dump read from stdin or a pipe is held in memory: refuse one larger than this (files are never read whole)', positiveInt, DEFAULT_MAX_STREAM_BYTES)
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
  withAnalysisOptions(
    root
      .command('signature')
      .description('print the crash signature: the same bug in different dumps gets the same one')
      .argument('<dump>', 'minidump, Windows kernel dump or legacy full user dump'),
  )
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .showHelpAfterError()
    .exitOverride()
    .action((dump: string, flags: AnalysisFlags & { format: 'text' | 'json' }) => setJob(() => runSignature(dump, flags)));
  withAnalysisOptions(
    root
      .command('batch')
      .description('analyse many dumps on worker threads: one JSON line per dump in --out, then a summary by signature')
      .argument('<inputs...>', 'directories (their dump files, recursively), globs or dump files'),
  )
    .requiredOption('-o, --out <file>', 'the JSON Lines output (one --format json document per dump, with path; error when it failed)')
    .option('-j, --jobs <n>', 'worker threads (default: the CPUs)', positiveInt)
    .option('--resume', 'keep the lines already in --out and analyse only the dumps not in it')
    .addOption(new Option('--threads <which>', 'threads in each document').choices(['all', 'crashed']).default('all'))
    .showHelpAfterError()
    .exitOverride()
    .action((inputs: string[], flags: AnalysisFlags & { out: string; jobs?: number; resume?: boolean; threads: 'all' | 'crashed' }) => setJob(() => runBatchCommand(inputs, flags)));
  withAnalysisOptions(
    root
      .command('worker')
      .description('take dump jobs from a BullMQ queue on Redis and analyse them on threads (the processing service; see README "Processing service")'),
  )
    .requiredOption('--redis <url>', 'the Redis the queue lives on (redis://host:port)')
    .option('--queue <name>', 'queue name', 'stackhog')
    .option('--concurrency <n>', 'jobs at once, each on its own thread (default: the CPUs)', positiveInt)
    .option('-o, --out <file>', 'also append each completed job as a JSON line (as stackhog batch writes, plus id)')
    .option('--job-timeout <seconds>', "stop a job's thread after this long and let the job be retried (default: --timeout + 60)", positiveInt)
    .option('--thread-memory <MiB>', 'heap limit of each analysis thread; a dump that needs more fails its attempt', positiveInt, 2048)
    .option('--max-download-mb <n>', 'refuse a dump given by URL when it is larger', positiveInt, 4096)
    .option('--stall-seconds <n>', "a job's lock lasts this long unrenewed: a dead worker's jobs go to another worker after about this long", positiveInt, 30)
    .showHelpAfterError()
    .exitOverride()
    .action((flags: AnalysisFlags & WorkerFlags) => setJob(() => runWorkerCommand(flags)));
  root
    .command('api')
    .description('the HTTP front of the processing service: POST /minidump stores and queues a dump, GET /requests/:id answers with its result')
    .requiredOption('--redis <url>', 'the Redis the queue lives on (redis://host:port)')
    .option('--queue <name>', 'queue name', 'stackhog')
    .option('--port <n>', 'port to listen on (0: any free port)', portNumber, 8080)
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--max-upload-mb <n>', 'refuse larger uploads with 413', positiveInt, 512)
    .option('--store <dir>', 'where uploads are kept; every worker must see it at the same path', 'stackhog-store')
    .showHelpAfterError()
    .exitOverride()
    .action((flags: ApiFlags) => setJob(() => runApiCommand(flags)));
  root
    .command('enqueue')
    .description('queue dumps for the processing service by path (on the volume the workers share) or http(s) URL; prints "<id> <dump>" for each')
    .argument('<dumps...>', 'dump files or URLs')
    .requiredOption('--redis <url>', 'the Redis the queue lives on (redis://host:port)')
    .option('--queue <name>', 'queue name', 'stackhog')
    .showHelpAfterError()
    .exitOverride()
    .action((dumps: string[], flags: { redis: string; queue: string }) => setJob(() => runEnqueueCommand(dumps, flags)));
  root
    .command('results')
    .description("print the processing service's finished jobs as JSON lines (completed: the batch document plus id; failed: id, path, error)")
    .requiredOption('--redis <url>', 'the Redis the queue lives on (redis://host:port)')
    .option('--queue <name>', 'queue name', 'stackhog')
    .option('--wait', 'first wait until no job is waiting, running or delayed')
    .showHelpAfterError()
    .exitOverride()
    .action((flags: { redis: string; queue: string; wait?: boolean }) => setJob(() => runResultsCommand(flags)));
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
  root
    .command('serve')
    .description('serve the browser page on this machine: dumps opened in it are analysed in the browser and never uploaded')
    .option('--port <n>', 'port to listen on (0: any free port)', portNumber, 0)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .showHelpAfterError()
    .exitOverride()
    .action((opts: { port: number; host: string }) => setJob(() => runServe(opts.host, opts.port)));
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
  await checkSourceDirectories(opts);
  for (const url of opts.symbolServer) if (!isHttpUrl(url)) throw new CliError(`--symbol-server ${url}: not an http:// or https:// URL (a directory is --symbols)`, ExitCode.Usage);
  const path = dump ?? sample(opts);
  const session = new DumpSession(await sessionSettings(opts, process.stderr));
  try {
    let run: DumpRun;
    try {
      run = await session.analyzeFile(path, {
        ...(opts.start ? { start: startRegisters(opts.start) } : {}),
        // Breakpad stops where its walk stops: no frames rebuilt from the raw stack.
        ...(opts.format.startsWith('breakpad') ? { reconstruct: false } : {}),
        maxStreamBytes: opts.maxStreamBytes,
      });
    } catch (e) {
      throw e instanceof DumpOpenError ? cannotOpen(path, e.cause) : e;
    }
    const { analysis } = run;
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
              : breakpadOutput(analysis, opts, run.searched);
    await writeOut(output);
    return reportRun(run);
  } finally {
    await session.close();
  }
}

/** The notes, limits and warnings of a run on stderr; the exit code they give. */
function reportRun(run: DumpRun): number {
  const { analysis } = run;
  for (const w of run.notes) process.stderr.write(`stackhog: note: ${w}\n`);
  for (const l of analysis.limits) process.stderr.write(`stackhog: limit: ${l}\n`);
  if (analysis.warnings.length > 0) {
    for (const w of analysis.warnings) process.stderr.write(`stackhog: ${w}\n`);
    return ExitCode.BadInput;
  }
  return analysis.limits.length > 0 ? ExitCode.Limit : ExitCode.Ok;
}

/** minidump_stackwalk's output (`-m` for breakpad-machine, `-c` for --threads crashed). */
function breakpadOutput(analysis: Analysis, opts: DumpOptions, symbolSupplier: boolean): string {
  if (opts.format === 'breakpad-machine') return renderBreakpadMachine(analysis);
  return renderBreakpad(analysis, { symbolSupplier, threads: opts.threads });
}

async function runSignature(dump: string, flags: AnalysisFlags & { format: 'text' | 'json' }): Promise<number> {
  await checkSourceDirectories(flags);
  const session = new DumpSession(await sessionSettings(flags, process.stderr));
  try {
    const run = await session.analyzeFile(dump, { maxStreamBytes: DEFAULT_MAX_STREAM_BYTES }).catch((e: unknown) => {
      throw e instanceof DumpOpenError ? cannotOpen(dump, e.cause) : e;
    });
    const s = run.analysis.signature;
    await writeOut(
      flags.format === 'json'
        ? JSON.stringify({ signature: s.signature, frames: s.frames.map((f) => ({ frame: f.index, name: f.name, role: f.role })) }, null, 2) + '\n'
        : s.signature + '\n',
    );
    return reportRun(run);
  } finally {
    await session.close();
  }
}

async function runBatchCommand(inputs: string[], flags: AnalysisFlags & { out: string; jobs?: number; resume?: boolean; threads: 'all' | 'crashed' }): Promise<number> {
  await checkSourceDirectories(flags);
  const outcome = await runBatch({
    inputs,
    out: flags.out,
    jobs: flags.jobs,
    resume: flags.resume === true,
    threads: flags.threads,
    settings: await sessionSettings(flags, undefined),
    progress: process.stderr,
    summary: process.stdout,
  });
  return outcome.exit;
}

interface WorkerFlags {
  redis: string;
  queue: string;
  concurrency?: number;
  out?: string;
  jobTimeout?: number;
  threadMemory: number;
  maxDownloadMb: number;
  stallSeconds: number;
}

interface ApiFlags {
  redis: string;
  queue: string;
  port: number;
  host: string;
  maxUploadMb: number;
  store: string;
}

/** The --redis URL, checked by the service's own parser before anything connects. */
async function checkRedisUrl(url: string): Promise<void> {
  const { redisConnection } = await import('../service/jobs.js');
  try {
    redisConnection(url);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), ExitCode.Usage);
  }
}

async function runWorkerCommand(flags: AnalysisFlags & WorkerFlags): Promise<number> {
  await checkRedisUrl(flags.redis);
  await checkSourceDirectories(flags);
  const [{ runWorker }, { RedisUnreachableError }] = await Promise.all([import('../service/worker.js'), import('../service/jobs.js')]);
  const { availableParallelism } = await import('node:os');
  let signalled = 0;
  const stop = new Promise<'graceful' | 'now'>((resolve) => {
    const onSignal = (): void => {
      signalled++;
      if (signalled === 1) resolve('graceful');
      else process.exit(ExitCode.Internal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await runWorker({
    redis: flags.redis,
    queue: flags.queue,
    concurrency: flags.concurrency ?? availableParallelism(),
    settings: await sessionSettings(flags, undefined),
    ...(flags.out !== undefined ? { out: flags.out } : {}),
    jobTimeoutSeconds: flags.jobTimeout ?? flags.timeout + 60,
    threadMemoryMb: flags.threadMemory,
    maxDownloadBytes: flags.maxDownloadMb * 1024 * 1024,
    stallSeconds: flags.stallSeconds,
    log: process.stderr,
    stop,
  }).catch((e: unknown) => {
    if (!(e instanceof RedisUnreachableError)) throw e;
    // The queue's connection keeps retrying in the background: end the process here.
    process.stderr.write(`stackhog: ${e.message}\n`, () => process.exit(ExitCode.BadInput));
    return new Promise<never>(() => undefined);
  });
  return ExitCode.Ok;
}

async function runApiCommand(flags: ApiFlags): Promise<number> {
  await checkRedisUrl(flags.redis);
  const [{ startApi }, { RedisUnreachableError }] = await Promise.all([import('../service/api.js'), import('../service/jobs.js')]);
  const api = await startApi({ redis: flags.redis, queue: flags.queue, host: flags.host, port: flags.port, maxUploadBytes: flags.maxUploadMb * 1024 * 1024, store: flags.store }).catch((e: unknown) => {
    throw new CliError(e instanceof RedisUnreachableError ? e.message : `api: cannot listen on ${flags.host}:${flags.port}: ${e instanceof Error ? e.message : String(e)}`, ExitCode.BadInput);
  });
  process.stderr.write(`stackhog api: listening on ${api.url} (queue ${flags.queue} on ${flags.redis}, uploads in ${flags.store})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await api.close();
  return ExitCode.Ok;
}

async function runEnqueueCommand(dumps: string[], flags: { redis: string; queue: string }): Promise<number> {
  await checkRedisUrl(flags.redis);
  const { enqueue } = await import('../service/client.js');
  try {
    await enqueue({ redis: flags.redis, queue: flags.queue }, dumps, process.stdout);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`enqueue: ${code === 'ENOENT' ? `${(e as NodeJS.ErrnoException).path ?? ''}: no such file` : e instanceof Error ? e.message : String(e)}`, ExitCode.BadInput);
  }
  return ExitCode.Ok;
}

async function runResultsCommand(flags: { redis: string; queue: string; wait?: boolean }): Promise<number> {
  await checkRedisUrl(flags.redis);
  const { results } = await import('../service/client.js');
  const tally = await results({ redis: flags.redis, queue: flags.queue, wait: flags.wait === true }, process.stdout).catch((e: unknown) => {
    throw new CliError(e instanceof Error ? e.message : String(e), ExitCode.BadInput);
  });
  process.stderr.write(`stackhog results: ${tally.completed} completed, ${tally.failed} failed\n`);
  return tally.failed > 0 ? ExitCode.BadInput : ExitCode.Ok;
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

/** Serves dist/web/ until SIGINT or SIGTERM; the URL alone on stdout, so a script can read it. */
async function runServe(host: string, port: number): Promise<number> {
  await access(WEB_ROOT + 'index.html').catch(() => {
    throw new CliError(`the browser page is not built (${WEB_ROOT}index.html is missing): run npm run build`, ExitCode.BadInput);
  });
  const server = await serveStatic(WEB_ROOT, { host, port }).catch((e: unknown) => {
    throw new CliError(`cannot listen on ${host}:${port} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, ExitCode.Usage);
  });
  await writeOut(`${server.url}\n`);
  const loopback = /^(127\.|::1$|localhost$)/.test(host);
  process.stderr.write(
    `stackhog: serving the browser page${loopback ? '' : ', reachable from other machines'}; dumps opened there are read by the browser, not uploaded. Ctrl-C stops.\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  process.stderr.write(`stackhog: stopped (${signal})\n`);
  return ExitCode.Ok;
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
