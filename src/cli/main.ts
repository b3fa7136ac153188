#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { analyze, DEFAULT_MAX_STACK_BYTES } from '../analyze/process.js';
import type { Analysis } from '../analyze/types.js';
import { analyzeDps } from '../analyze/windbg-stack.js';
import { DEFAULT_NOT_CULPRITS } from '../analyze/kernel-crash.js';
import { FormatError } from '../io/errors.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderBreakpad, renderBreakpadMachine } from '../report/breakpad.js';
import { dpsJson, renderDps } from '../report/dps.js';
import { renderFindings, renderText } from '../report/text.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import type { StartTriple } from '../unwind/reconstruct/index.js';
import { defaultWalkOptions } from '../unwind/walker.js';
import { ExitCode } from './exit-codes.js';

const SAMPLE = fileURLToPath(new URL('../../samples/stack_exhaustion.dmp', import.meta.url));

interface DumpOptions {
  symbols: string[];
  modules: string[];
  format: 'text' | 'json' | 'kf' | 'breakpad' | 'breakpad-machine';
  threads: 'all' | 'crashed';
  maxFrames: number;
  pretty: boolean;
  start: bigint[] | undefined;
  findingsOnly: boolean;
  timeout: number;
  maxStackBytes: number;
  symbolCache: number;
  notCulprit: string[];
}

interface DpsOptions {
  lm: string | undefined;
  format: 'kf' | 'json';
  start: bigint[] | undefined;
  pretty: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `ebp,esp,eip` (x86) or `rsp,rip` (x64/arm64), hex with or without 0x and WinDbg's backticks. */
function startValues(value: string): bigint[] {
  const parts = value.split(/[,\s]+/).filter(Boolean);
  if (parts.length < 2 || parts.length > 3) throw new InvalidArgumentError('expected ebp,esp,eip or rsp,rip');
  return parts.map((p) => {
    const hex = p.replace(/`/g, '').replace(/^0x/i, '');
    if (!/^[0-9a-f]+$/i.test(hex)) throw new InvalidArgumentError(`'${p}' is not a hex address`);
    return BigInt('0x' + hex);
  });
}

function startTriple(values: bigint[]): StartTriple {
  return values.length === 3
    ? { basePtr: values[0]!, stackPtr: values[1]!, instructionPtr: values[2]! }
    : { basePtr: 0n, stackPtr: values[0]!, instructionPtr: values[1]! };
}

type Job = () => Promise<number>;

function program(setJob: (job: Job) => void): Command {
  const root = new Command()
    .name('stackhog')
    .description('Stack forensics for crash dumps: walks every thread of a minidump or the bugcheck thread of a Windows kernel dump, measures who used the stack and explains the crash.')
    .argument('[dump]', 'minidump or Windows kernel dump (MEMORY.DMP, Minidump\\*.dmp) (default: a bundled sample, a real stack overflow)')
    .option('-s, --symbols <dir>', 'Breakpad symbol store directory (repeatable; first hit wins)', collect, [] as string[])
    .option('-m, --modules <dir>', 'directory of module images (.exe/.dll), flat or symbol-server layout (repeatable)', collect, [] as string[])
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'kf', 'breakpad', 'breakpad-machine']).default('text'))
    .addOption(new Option('--threads <which>', 'threads to report').choices(['all', 'crashed']).default('all'))
    .option('--max-frames <n>', 'stop each walk after this many frames', positiveInt, defaultWalkOptions.maxFrames)
    .option('--start <regs>', "walk the crashing thread from these registers instead of its context: 'ebp,esp,eip' (x86) or 'rsp,rip'", startValues)
    .option('--timeout <seconds>', 'wall-clock budget for the whole analysis; what is left is reported as partial', positiveInt, 120)
    .option('--max-stack-bytes <n>', 'load and search at most this many bytes of each thread stack', positiveInt, DEFAULT_MAX_STACK_BYTES)
    .option('--symbol-cache <files>', 'symbol files kept indexed in memory at once', positiveInt, 256)
    .option('--not-culprit <name>', 'kernel dumps: never name this module as the probable cause (repeatable; adds to the kernel, HAL and framework list)', collect, [] as string[])
    .option('--findings-only', 'print only the findings (stack overflow, recursion, code outside modules, ...)')
    .option('--no-pretty', 'compact JSON')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride()
    .action((dump: string | undefined, opts: DumpOptions) => setJob(() => runDump(dump ?? SAMPLE, opts)));
  root
    .command('dps')
    .description("rebuild a stack from WinDbg's dps/dds/dqs output (and optionally lm), printed as kf")
    .argument('<file>', 'a text file with the dps output')
    .option('--lm <file>', "a text file with WinDbg's lm output (module ranges)")
    .addOption(new Option('-f, --format <format>', 'output format').choices(['kf', 'json']).default('kf'))
    .option('--start <regs>', "start there instead of the best chain found: 'ebp,esp,eip' (x86) or 'rsp,rip'", startValues)
    .option('--no-pretty', 'compact JSON')
    .showHelpAfterError()
    .exitOverride()
    .action((file: string, opts: DpsOptions) => setJob(() => runDps(file, opts)));
  return root;
}

async function run(argv: string[]): Promise<number> {
  let job: Job | undefined;
  const cmd = program((j) => (job = j));
  try {
    cmd.parse(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    throw e;
  }
  return job ? job() : ExitCode.Ok;
}

function cannotOpen(path: string, e: unknown): number {
  const code = (e as NodeJS.ErrnoException).code;
  process.stderr.write(`stackhog: ${path}: cannot open (${code ?? (e instanceof Error ? e.message : String(e))})\n`);
  return ExitCode.BadInput;
}

async function runDump(path: string, opts: DumpOptions): Promise<number> {
  let file;
  try {
    file = await openFileSource(path);
  } catch (e) {
    return cannotOpen(path, e);
  }
  const dirs = new FileDirectories(opts.symbols);
  const imageDirs = new FileDirectories(opts.modules);
  try {
    const symbols = new SymbolStoreProvider(dirs.openers, opts.symbolCache);
    const analysis = await analyze(file.source, {
      symbols,
      images: imageDirs.openers,
      walk: { maxFrames: opts.maxFrames },
      timeoutMs: opts.timeout * 1000,
      maxStackBytes: opts.maxStackBytes,
      ...(opts.notCulprit.length > 0 ? { notCulprits: [...DEFAULT_NOT_CULPRITS, ...opts.notCulprit] } : {}),
      ...(opts.start ? { start: startTriple(opts.start) } : {}),
      // Breakpad stops where its walk stops: no frames rebuilt from the raw stack.
      ...(opts.format.startsWith('breakpad') ? { reconstruct: false } : {}),
    });
    const output = opts.findingsOnly
      ? opts.format === 'json'
        ? JSON.stringify({ findings: (toJson(analysis) as { findings: unknown[] }).findings }, null, opts.pretty ? 2 : undefined) + '\n'
        : renderFindings(analysis).join('\n') + '\n'
      : opts.format === 'json'
        ? JSON.stringify(toJson(analysis, { threads: opts.threads }), null, opts.pretty ? 2 : undefined) + '\n'
        : opts.format === 'kf'
          ? renderKf(analysis, { threads: opts.threads })
          : opts.format === 'text'
            ? renderText(analysis, { threads: opts.threads })
            : breakpadOutput(analysis, opts);
    await writeOut(output);
    for (const w of [...symbols.warnings, ...analysis.notes]) process.stderr.write(`stackhog: note: ${w}\n`);
    for (const l of analysis.limits) process.stderr.write(`stackhog: limit: ${l}\n`);
    if (analysis.warnings.length > 0) {
      for (const w of analysis.warnings) process.stderr.write(`stackhog: ${w}\n`);
      return ExitCode.BadInput;
    }
    return analysis.limits.length > 0 ? ExitCode.Limit : ExitCode.Ok;
  } catch (e) {
    if (e instanceof FormatError) {
      process.stderr.write(`stackhog: ${e.message}\n`);
      return ExitCode.BadInput;
    }
    throw e;
  } finally {
    await Promise.all([file.close(), dirs.close(), imageDirs.close()]);
  }
}

/** minidump_stackwalk's output (`-m` for breakpad-machine, `-c` for --threads crashed). */
function breakpadOutput(analysis: Analysis, opts: DumpOptions): string {
  if (opts.format === 'breakpad-machine') return renderBreakpadMachine(analysis);
  return renderBreakpad(analysis, { symbolSupplier: opts.symbols.length > 0, threads: opts.threads });
}

async function runDps(path: string, opts: DpsOptions): Promise<number> {
  let dps: string;
  let lm: string | undefined;
  try {
    dps = await readFile(path, 'utf8');
  } catch (e) {
    return cannotOpen(path, e);
  }
  if (opts.lm !== undefined) {
    try {
      lm = await readFile(opts.lm, 'utf8');
    } catch (e) {
      return cannotOpen(opts.lm, e);
    }
  }
  const analysis = await analyzeDps(dps, lm, opts.start ? startTriple(opts.start) : undefined);
  if (!analysis) {
    process.stderr.write(`stackhog: ${path}: no dps/dds/dqs lines (address, value) found\n`);
    return ExitCode.BadInput;
  }
  const output = opts.format === 'json' ? JSON.stringify(dpsJson(analysis), null, opts.pretty ? 2 : undefined) + '\n' : renderDps(analysis, path);
  await writeOut(output);
  return ExitCode.Ok;
}

/** Writes to stdout, tolerating a closed pipe (e.g. `| head`). */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.on('error', () => resolve());
    process.stdout.write(text, () => resolve());
  });
}

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
