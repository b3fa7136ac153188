#!/usr/bin/env node
// `npm run bench` (issue 14): fixed, repeatable work, each row run as separate processes, each figure
// the median of --runs runs (default 5) after one warm-up run that is not counted. When Breakpad's
// minidump_stackwalk is on PATH or given with --breakpad PATH, the same work by Breakpad, and the
// ratios stackhog ÷ Breakpad. A row whose input is missing says how to make it and is skipped.
//   npm run bench -- [--runs N] [--breakpad PATH | --no-breakpad] [--only a,b,c,d,e,pdb] [--json FILE]
// Wall time: measured here around each process (process.hrtime, from spawn to exit, start-up
// included). Peak RSS: GNU time's %M (/usr/bin/time, Debian's `time` package; wait4's ru_maxrss of
// the process) in a second run of the same command, so the wrapper never adds to the timed runs.
// The Markdown table goes to stdout, progress to stderr.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = join(repo, '..', 'shared', 'corpus');
// The bundled CLI, as ./stackhog and the package's bin run it (tsc's modules when no bundle was built).
const cli = existsSync(join(repo, 'dist', 'cli', 'main.bundle.cjs')) ? join(repo, 'dist', 'cli', 'stackhog.cjs') : join(repo, 'dist', 'cli', 'main.js');
const bench = join(tmpdir(), 'stackhog-bench');
const GNU_TIME = '/usr/bin/time';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
if (args.includes('--help') || args.includes('-h')) {
  console.log('npm run bench -- [--runs N] [--breakpad PATH | --no-breakpad] [--only a,b,c,d,e,pdb] [--json FILE]');
  process.exit(0);
}
const runs = Number(opt('runs') ?? 5);
if (!Number.isInteger(runs) || runs < 1) fail('--runs takes a whole number of runs, at least 1');
const only = opt('only')?.split(',');
const jsonOut = opt('json');
const breakpad = findBreakpad();
const hasGnuTime = isExecutable(GNU_TIME);
const scratch = mkdtempSync(join(tmpdir(), 'stackhog-bench-run-'));
const log = (text) => process.stderr.write(text + '\n');

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** --breakpad PATH, else minidump_stackwalk on PATH; --no-breakpad: none. */
function findBreakpad() {
  if (args.includes('--no-breakpad')) return undefined;
  const given = opt('breakpad');
  if (given !== undefined) {
    if (!isExecutable(given)) fail(`--breakpad ${given}: not an executable file`);
    return given;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, 'minidump_stackwalk'))) return join(dir, 'minidump_stackwalk');
  }
  return undefined;
}

// ---- measuring ----------------------------------------------------------------------------------

/** One process: wall milliseconds and exit status; stdout to a file (warm-up) or /dev/null. */
function once(command, { env, stdout } = {}) {
  const out = stdout ? openSync(stdout, 'w') : 'ignore';
  const started = process.hrtime.bigint();
  const r = spawnSync(command[0], command.slice(1), { env: env ?? process.env, stdio: ['ignore', out, 'pipe'], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (typeof out === 'number') closeSync(out);
  if (r.error) throw r.error;
  return { ms, status: r.status ?? 128 + 1, signal: r.signal, stderr: r.stderr?.toString() ?? '' };
}

/** Peak RSS in bytes of one run of the command, from GNU time; undefined without it. */
function peakRss(command, { env } = {}) {
  if (!hasGnuTime) return undefined;
  const file = join(scratch, 'rss');
  spawnSync(GNU_TIME, ['-o', file, '-f', '%M', ...command], { env: env ?? process.env, stdio: ['ignore', 'ignore', 'ignore'] });
  const kib = Number(readFileSync(file, 'utf8').trim().split('\n').pop());
  return Number.isFinite(kib) ? kib * 1024 : undefined;
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Frames (inlined calls included) in a report: JSON's frames and inlines, or text's frame lines and folded runs. */
function countFrames(text) {
  if (text.startsWith('{')) {
    const j = JSON.parse(text);
    return (j.threads ?? []).reduce((n, t) => n + t.frames.reduce((m, f) => m + 1 + (f.inlines?.length ?? 0), 0), 0);
  }
  let frames = 0;
  for (const line of text.split('\n')) {
    if (/^\s*\d+ {2}\S/.test(line)) frames++;
    const run = /^\s+\.\.\. frames (\d+)–(\d+):/.exec(line); // stackhog's folded recursion run
    if (run) frames += Number(run[2]) - Number(run[1]) + 1;
  }
  return frames;
}

/**
 * A tool's side of a row: `commands` run one after the other make one run (one per dump for
 * Breakpad's corpus row). The warm-up run checks each exit status against `ok` and that something
 * was printed, and counts the frames printed; a row fails only when every command fails.
 */
function measure(label, commands, { ok = [0], env } = {}) {
  const out = join(scratch, 'warm-up.out');
  const failures = [];
  let frames = 0;
  for (const command of commands) {
    const r = once(command, { env, stdout: out });
    const text = readFileSync(out, 'utf8');
    if (!ok.includes(r.status)) failures.push({ command, problem: `exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` });
    else if (text.trim() === '') failures.push({ command, problem: 'printed nothing' });
    else frames += countFrames(text);
  }
  if (failures.length === commands.length) {
    const f = failures[0];
    throw new Error(`${label}: ${f.command.map((a) => relative(repo, a) || a).join(' ')} ${f.problem}`);
  }
  const ms = [];
  const rss = [];
  for (let i = 0; i < runs; i++) {
    log(`  ${label}: run ${i + 1}/${runs}`);
    let total = 0;
    for (const command of commands) total += once(command, { env }).ms;
    ms.push(total);
    let peak;
    for (const command of commands) {
      const r = peakRss(command, { env });
      if (r !== undefined) peak = Math.max(peak ?? 0, r);
    }
    rss.push(peak);
  }
  return {
    processes: commands.length,
    failedInWarmUp: failures.length,
    failed: failures.map((f) => ({ input: f.command.find((a) => a.endsWith('.dmp')) ?? f.command.join(' '), problem: f.problem })),
    frames,
    ms: median(ms),
    msMin: Math.min(...ms),
    msMax: Math.max(...ms),
    rss: median(rss),
    runsMs: ms,
    runsRss: rss,
  };
}

// ---- the rows -----------------------------------------------------------------------------------

const stackhog = (...rest) => [process.execPath, cli, ...rest];
const missing = (paths, how) => {
  const absent = paths.filter((p) => !existsSync(p));
  return absent.length > 0 ? `${absent.map((p) => relative(repo, p).startsWith('..') ? p : relative(repo, p)).join(', ')} missing; ${how}` : undefined;
};

/** Every .dmp under the folders (malformed/ skipped) whose signature is MDMP: a user-mode minidump. */
function userMinidumps(folders) {
  const found = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const path = join(dir, e.name);
      if (e.isDirectory() && e.name !== 'malformed') walk(path);
      else if (e.isFile() && e.name.endsWith('.dmp')) {
        const fd = openSync(path, 'r');
        const head = Buffer.alloc(4);
        readSync(fd, head, 0, 4, 0);
        closeSync(fd);
        if (head.toString('latin1') === 'MDMP') found.push(path);
      }
    }
  };
  for (const folder of folders) if (existsSync(folder)) walk(folder);
  return found;
}

/** Whether this build's CLI has the `batch` command (being written on main). */
function hasBatch() {
  const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  return /^\s+batch\b/m.test(r.stdout ?? '');
}

const WINE_STACKS =
  'wine gives full-dump thread stacks an RVA of 0 (their bytes are in the Memory64List), so Breakpad has no stack memory and stops at frame 0 of each thread (scripts/fixtures/README.md)';
const STACKHOG_OK = [0, 2, 4]; // analysed; 2: with warnings, 4: a limit was hit (README, Exit codes)

const rows = [
  {
    id: 'a',
    work: '(a) `pipeline-inlines-macos-segv.dmp` + its 4 MB `.sym`, all threads (stackhog JSON, Breakpad text)',
    prepare() {
      const dump = join(corpus, 'rust-minidump', 'pipeline-inlines-macos-segv.dmp');
      const symbols = join(corpus, 'rust-minidump', 'symbols');
      const skip = missing([dump, symbols], 'it is in the shared corpus (../shared/corpus)');
      return { skip, countFrames: true, stackhog: [stackhog(dump, '--symbols', symbols, '-f', 'json')], breakpad: [[breakpad, dump, symbols]] };
    },
  },
  {
    id: 'b',
    work: '(b) the user-mode corpus',
    prepare() {
      const folders = ['breakpad', 'rust-minidump', join('external', 'user')].map((f) => join(corpus, f));
      const symbols = [join(corpus, 'breakpad', 'symbols'), join(corpus, 'rust-minidump', 'symbols'), join(corpus, 'external', 'user', 'sentry-crash', 'symbols')];
      const skip = missing(folders, 'it is in the shared corpus (../shared/corpus)');
      const dumps = skip ? [] : userMinidumps(folders);
      this.work = `(b) the user-mode corpus: ${dumps.length} minidumps; stackhog one \`batch --jobs 2\`, Breakpad one process per dump (time per dump)`;
      // The dumps as files, so both tools get the same list (given folders, batch would also read
      // external/user's legacy USERDU64 dump, which Breakpad cannot).
      const batchOut = join(scratch, 'batch.jsonl');
      const batch = hasBatch() ? [stackhog('batch', ...dumps, '--out', batchOut, '--jobs', '2', ...symbols.flatMap((s) => ['--symbols', s]))] : undefined;
      return {
        skip,
        perDump: dumps.length,
        stackhog: batch,
        stackhogNote: batch ? undefined : 'this build has no `stackhog batch` yet (it is being written on main)',
        verify() {
          const lines = readFileSync(batchOut, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
          const failed = lines.filter((l) => l.status === 'ERROR').map((l) => l.path.split('/').pop());
          return `stackhog: ${lines.length} JSON lines for ${dumps.length} dumps${failed.length > 0 ? `, ${failed.length} unreadable: ${failed.join(', ')}` : ', none unreadable'}`;
        },
        breakpad: dumps.map((d) => [breakpad, d, ...symbols]),
        breakpadOk: [0, 1], // Breakpad exits 1 on the corpus's deliberately invalid dumps
      };
    },
  },
  {
    id: 'c',
    work: '(c) 307 MB `.sym` (crash-client.sym × 64), first lookup end to end: a tiny dump crashed in its last copy',
    prepare() {
      const dir = join(bench, 'big-sym');
      const dump = join(dir, 'first-lookup.dmp');
      const symbols = join(dir, 'symbols');
      const skip = missing([dump, symbols], 'make them with `npm run build && node scripts/bench/make-big-sym.mjs`');
      if (!skip) {
        const sym = join(symbols, 'crash-client', '509C0610949836F7B70BD88BCF03E5400', 'crash-client.sym');
        if (existsSync(sym)) this.work = this.work.replace('307 MB', `${Math.round(statSync(sym).size / 1e6)} MB`);
      }
      return { skip, countFrames: true, stackhog: [stackhog(dump, '--symbols', symbols, '--threads', 'crashed')], breakpad: [[breakpad, '-c', dump, symbols]] };
    },
  },
  {
    id: 'd',
    work: '(d) wine full-memory dump, all threads',
    prepare() {
      const dump = join(bench, 'full-memory.dmp');
      const skip = missing([dump], 'make it with `bash scripts/bench/make-full-dump.sh` (needs mingw-w64 and wine)');
      if (!skip) this.work = `(d) ${Math.round(statSync(dump).size / 1e6)} MB wine full-memory dump, all threads`;
      return { skip, countFrames: true, stackhog: [stackhog(dump)], breakpad: [[breakpad, dump]], breakpadRan: WINE_STACKS };
    },
  },
  {
    id: 'e',
    work: '(e) the same dump synthesised at 2 GiB, all threads',
    prepare() {
      const dump = join(bench, 'full-memory-2g.dmp');
      const skip = missing([dump], 'make it with `npm run build && node scripts/bench/make-2gb-dump.mjs` (after make-full-dump.sh)');
      if (!skip) this.work = `(e) the same dump synthesised at ${(statSync(dump).size / 2 ** 30).toFixed(2)} GiB, all threads`;
      return { skip, countFrames: true, stackhog: [stackhog(dump)], breakpad: [[breakpad, dump]], breakpadRan: WINE_STACKS };
    },
  },
  {
    id: 'pdb',
    work: '(f) PDB: first lookup in a large PDB (open, index, look up; `pdb-lookup.mjs`)',
    prepare() {
      const pdb = join(bench, 'big-pdb', 'big.pdb');
      const skip = missing([pdb], 'make it with `node scripts/bench/make-big-pdb.mjs` (needs clang and lld)');
      if (!skip) this.work = `(f) ${Math.round(statSync(pdb).size / 1e6)} MB PDB, first lookup (open, index, look up; \`pdb-lookup.mjs\`)`;
      return {
        skip,
        stackhog: [[process.execPath, join(repo, 'scripts', 'bench', 'pdb-lookup.mjs'), pdb]],
        env: { ...process.env, STACKHOG_BENCH_CHILD: '1' },
        breakpadNote: 'reads no PDBs',
      };
    },
  },
];

// ---- running and printing -----------------------------------------------------------------------

const results = [];
for (const row of rows) {
  if (only && !only.includes(row.id)) continue;
  log(`bench ${row.id}:`);
  const plan = row.prepare();
  const result = { id: row.id, work: row.work, skipped: plan.skip, stackhog: undefined, breakpad: undefined, notes: [] };
  results.push(result);
  if (plan.skip) {
    log(`  skipped: ${plan.skip}`);
    continue;
  }
  try {
    if (plan.stackhog) {
      result.stackhog = measure(`${row.id} stackhog`, plan.stackhog, { ok: STACKHOG_OK, env: plan.env });
      if (result.stackhog.failed.length > 0) result.notes.push(`stackhog: ${result.stackhog.failed.map((f) => `${f.input.split('/').pop()} ${f.problem}`).join('; ')}`);
      if (plan.verify) result.notes.push(plan.verify());
    } else result.notes.push(`stackhog: ${plan.stackhogNote}`);
    if (breakpad && plan.breakpad) {
      result.breakpad = measure(`${row.id} Breakpad`, plan.breakpad, { ok: plan.breakpadOk ?? [0] });
      const refused = result.breakpad.failed.map((f) => f.input.split('/').pop());
      if (refused.length > 0) result.notes.push(`Breakpad: ${refused.length} of ${plan.breakpad.length} dumps refused (non-zero exit or no output): ${refused.join(', ')}`);
    } else if (plan.breakpadNote) result.notes.push(`Breakpad: ${plan.breakpadNote}`);
    if (result.breakpad && plan.breakpadRan) result.notes.push(`Breakpad: ${plan.breakpadRan}`);
    if (plan.countFrames && result.stackhog && result.breakpad) {
      result.notes.push(`frames printed (inlined calls included): stackhog ${result.stackhog.frames}, Breakpad ${result.breakpad.frames}`);
    }
    if (plan.perDump) {
      result.dumps = plan.perDump;
      for (const side of [result.stackhog, result.breakpad]) {
        if (side) side.msPerDump = side.ms / plan.perDump;
      }
    }
  } catch (e) {
    result.error = e.message;
    log(`  failed: ${e.message}`);
  }
}
rmSync(scratch, { recursive: true, force: true });

const time = (ms) => (ms === undefined ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const mib = (bytes) => (bytes === undefined ? '—' : bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const shown = (side) => side && (side.msPerDump ?? side.ms);
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
const times = (x) => (x === undefined ? '—' : `×${x >= 10 ? x.toFixed(0) : x.toFixed(2)}`);

const lines = [
  '| work | stackhog time | stackhog RSS | Breakpad time | Breakpad RSS | stackhog ÷ Breakpad (time, RSS) |',
  '|---|---|---|---|---|---|',
];
for (const r of results) {
  if (r.skipped || r.error) {
    lines.push(`| ${r.work} | ${r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.error}`} | | | | |`);
    continue;
  }
  const s = r.stackhog;
  const b = r.breakpad;
  r.ratio = { time: ratio(shown(s), shown(b)), rss: ratio(s?.rss, b?.rss) };
  const total = r.dumps && s ? ` (batch total ${time(s.ms)})` : '';
  lines.push(
    `| ${r.work} | ${s ? time(shown(s)) + total : '—'} | ${mib(s?.rss)} | ${b ? time(shown(b)) : '—'} | ${mib(b?.rss)} | ${r.ratio.time === undefined ? '—' : `${times(r.ratio.time)}, ${times(r.ratio.rss)}`} |`,
  );
}
console.log(lines.join('\n'));
const notes = results.flatMap((r) => r.notes.map((n) => `- (${r.id}) ${n}`));
console.log(
  `\nMedians of ${runs} run${runs === 1 ? '' : 's'} each (after one warm-up run), wall time from spawn to exit; peak RSS from ${hasGnuTime ? 'GNU time %M' : 'nowhere (no /usr/bin/time: apt-get install time)'}. ` +
    `Breakpad: ${breakpad ?? 'not found (put minidump_stackwalk on PATH or give --breakpad PATH)'}. ` +
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}.`,
);
if (notes.length > 0) console.log(notes.join('\n'));
if (jsonOut) {
  writeFileSync(
    jsonOut,
    JSON.stringify({ runs, node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, breakpad: breakpad ?? null, peakRss: hasGnuTime ? 'GNU time %M' : null, rows: results }, null, 2) + '\n',
  );
  log(`bench: wrote ${jsonOut}`);
}
