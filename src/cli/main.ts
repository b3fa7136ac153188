#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import { analyzeMinidump } from '../analyze/process.js';
import { FormatError } from '../io/errors.js';
import { openFileSource } from '../node/file-source.js';
import { FileDirectories } from '../node/directories.js';
import { toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderText } from '../report/text.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { defaultWalkOptions } from '../unwind/walker.js';
import { ExitCode } from './exit-codes.js';

const SAMPLE = fileURLToPath(new URL('../../samples/stack_exhaustion.dmp', import.meta.url));

interface CliOptions {
  symbols: string[];
  modules: string[];
  format: 'text' | 'json' | 'kf';
  threads: 'all' | 'crashed';
  maxFrames: number;
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

function program(): Command {
  return new Command()
    .name('stackhog')
    .description('Stack forensics for crash dumps: walks every thread of a minidump and explains the crash.')
    .argument('[dump]', 'minidump file (default: a bundled sample, a real stack overflow)')
    .option('-s, --symbols <dir>', 'Breakpad symbol store directory (repeatable; first hit wins)', collect, [] as string[])
    .option('-m, --modules <dir>', 'directory of module images (.exe/.dll), flat or symbol-server layout (repeatable)', collect, [] as string[])
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'kf']).default('text'))
    .addOption(new Option('--threads <which>', 'threads to report').choices(['all', 'crashed']).default('all'))
    .option('--max-frames <n>', 'stop each walk after this many frames', positiveInt, defaultWalkOptions.maxFrames)
    .option('--no-pretty', 'compact JSON')
    .showHelpAfterError()
    .exitOverride();
}

async function run(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    throw e;
  }
  const opts = cmd.opts<CliOptions>();
  const path = cmd.args[0] ?? SAMPLE;

  let file;
  try {
    file = await openFileSource(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    process.stderr.write(`stackhog: ${path}: cannot open (${code ?? (e instanceof Error ? e.message : String(e))})\n`);
    return ExitCode.BadInput;
  }
  const dirs = new FileDirectories(opts.symbols);
  const imageDirs = new FileDirectories(opts.modules);
  try {
    const symbols = new SymbolStoreProvider(dirs.openers);
    const analysis = await analyzeMinidump(file.source, {
      symbols,
      images: imageDirs.openers,
      walk: { maxFrames: opts.maxFrames },
    });
    const output =
      opts.format === 'json'
        ? JSON.stringify(toJson(analysis, { threads: opts.threads }), null, opts.pretty ? 2 : undefined) + '\n'
        : opts.format === 'kf'
          ? renderKf(analysis, { threads: opts.threads })
          : renderText(analysis, { threads: opts.threads });
    await writeOut(output);
    for (const w of [...symbols.warnings, ...analysis.notes]) process.stderr.write(`stackhog: note: ${w}\n`);
    if (analysis.warnings.length > 0) {
      for (const w of analysis.warnings) process.stderr.write(`stackhog: ${w}\n`);
      return ExitCode.BadInput;
    }
    return ExitCode.Ok;
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
