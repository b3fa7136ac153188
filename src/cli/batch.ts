/**
 * `stackhog batch`: many dumps on a pool of worker threads (piscina), one JSON line per dump
 * appended to --out as each finishes, a progress bar on a terminal, --resume to go on after a
 * kill, and a summary grouped by crash signature at the end.
 */
import { existsSync } from 'node:fs';
import { open, readFile, stat, truncate } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { SessionSettings } from '../node/dump-session.js';
import type { BatchResult, BatchTask, BatchWorkerData } from './batch-worker.js';

export interface BatchOptions {
  readonly inputs: readonly string[];
  readonly out: string;
  readonly jobs: number | undefined;
  readonly resume: boolean;
  readonly threads: 'all' | 'crashed';
  readonly settings: SessionSettings;
  /** Where the progress bar and the summary go. */
  readonly progress: NodeJS.WriteStream;
  readonly summary: NodeJS.WritableStream;
}

export interface BatchOutcome {
  readonly analysed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly exit: 0 | 2 | 4;
}

/** The first bytes of the dump formats stackhog reads: a directory's other files are not dumps. */
const DUMP_MAGICS = ['MDMP', 'PAGE', 'USERDU'];

async function looksLikeDump(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    const text = head.subarray(0, bytesRead).toString('latin1');
    return DUMP_MAGICS.some((m) => text.startsWith(m));
  } finally {
    await handle.close();
  }
}

/** Every dump the inputs name, as paths in the inputs' own form: a directory's files (recursively) that start like a dump, a glob's matches, a file as given. */
export async function batchInputs(inputs: readonly string[]): Promise<string[]> {
  // Loaded here, not at start-up: only batch runs need them.
  const { glob } = await import('tinyglobby');
  const found = new Set<string>();
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info?.isDirectory()) {
      for (const f of (await glob('**/*', { cwd: input, onlyFiles: true, dot: false })).sort()) {
        const path = join(input, f);
        if (await looksLikeDump(path)) found.add(path);
      }
    } else if (info?.isFile()) {
      found.add(input);
    } else {
      for (const f of (await glob(input, { onlyFiles: true })).sort()) found.add(f);
    }
  }
  return [...found];
}

/** The lines an earlier run wrote: their paths and signatures; a cut last line (a kill mid-write) is cut off the file. */
async function previousResults(out: string): Promise<Map<string, { signature: string | undefined; error: string | undefined }>> {
  const done = new Map<string, { signature: string | undefined; error: string | undefined }>();
  const text = await readFile(out, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < text.length) await truncate(out, Buffer.byteLength(text.slice(0, complete)));
  for (const line of text.slice(0, complete).split('\n')) {
    if (line === '') continue;
    try {
      const o = JSON.parse(line) as { path?: unknown; signature?: unknown; error?: unknown };
      if (typeof o.path === 'string') done.set(o.path, { signature: typeof o.signature === 'string' ? o.signature : undefined, error: typeof o.error === 'string' ? o.error : undefined });
    } catch {
      // A damaged line names no path we can trust: its dump runs again.
    }
  }
  return done;
}

/** The bundled worker (one script per thread, through the code cache) when the build made one, else tsc's. */
export function workerFile(): string {
  const bundled = existsSync(new URL('./batch-worker.bundle.cjs', import.meta.url));
  return new URL(bundled ? './batch-worker-entry.cjs' : './batch-worker.js', import.meta.url).href;
}

export async function runBatch(options: BatchOptions): Promise<BatchOutcome> {
  const paths = await batchInputs(options.inputs);
  const previous = options.resume ? await previousResults(options.out) : new Map<string, { signature: string | undefined; error: string | undefined }>();
  const todo = paths.filter((p) => !previous.has(p));
  const output = await open(options.out, options.resume ? 'a' : 'w');
  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), Math.max(1, todo.length)));
  const workerData: BatchWorkerData = { settings: { ...options.settings, progress: undefined }, threads: options.threads };
  const [{ Piscina }, { SingleBar }] = await Promise.all([import('piscina'), import('cli-progress')]);
  const pool = new Piscina<BatchTask, BatchResult>({
    filename: workerFile(),
    minThreads: jobs,
    maxThreads: jobs,
    workerData,
  });
  const bar = options.progress.isTTY
    ? new SingleBar({ format: 'batch {bar} {value}/{total} dumps | {rate}/s | ETA {eta_formatted}', stream: options.progress, hideCursor: true, clearOnComplete: true, etaBuffer: 20 })
    : undefined;
  const started = performance.now();
  bar?.start(todo.length, 0, { rate: '0.0' });
  const results: BatchResult[] = [];
  let exit: 0 | 2 | 4 = 0;
  // Lines go out one write each, in completion order, so a kill leaves whole lines (and at most one cut one).
  let writing = Promise.resolve();
  try {
    await Promise.all(
      todo.map(async (path) => {
        const r = await pool.run({ path });
        results.push(r);
        if (r.exit === 2 || (r.exit === 4 && exit === 0)) exit = r.exit;
        writing = writing.then(async () => {
          await output.write(r.line + '\n');
        });
        await writing;
        bar?.update(results.length, { rate: (results.length / ((performance.now() - started) / 1000)).toFixed(1) });
      }),
    );
  } finally {
    bar?.stop();
    await pool.destroy();
    await output.close();
  }
  const all = new Map(previous);
  for (const r of results) all.set(r.path, { signature: r.signature, error: r.error });
  options.summary.write(renderSummary(all, { analysed: results.length, skipped: paths.length - todo.length, seconds: (performance.now() - started) / 1000, out: options.out }));
  const failed = [...all.values()].filter((v) => v.error !== undefined).length;
  if ([...previous.values()].some((v) => v.error !== undefined)) exit = 2;
  return { analysed: results.length, failed, skipped: paths.length - todo.length, exit };
}

/** Dumps grouped by signature, biggest group first: count, first and last file (by path), and the failures. */
export function renderSummary(all: ReadonlyMap<string, { signature: string | undefined; error: string | undefined }>, run: { analysed: number; skipped: number; seconds: number; out: string }): string {
  const groups = new Map<string, string[]>();
  const failures: [string, string][] = [];
  for (const [path, v] of all) {
    if (v.error !== undefined) failures.push([path, v.error]);
    else {
      const key = v.signature ?? '(no signature)';
      groups.set(key, [...(groups.get(key) ?? []), path]);
    }
  }
  const out = [
    `${run.analysed} dump${run.analysed === 1 ? '' : 's'} analysed in ${run.seconds.toFixed(1)} s${run.skipped > 0 ? `, ${run.skipped} already in ${run.out}` : ''}; ${all.size} in all, ${groups.size} signature${groups.size === 1 ? '' : 's'}, ${failures.length} failed`,
    '',
  ];
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  for (const [signature, paths] of sorted) {
    paths.sort();
    out.push(`${String(paths.length).padStart(5)}  ${signature}`);
    out.push(`       first ${paths[0]}`);
    if (paths.length > 1) out.push(`       last  ${paths[paths.length - 1]}`);
  }
  if (failures.length > 0) {
    if (groups.size > 0) out.push('');
    out.push('Failed:');
    for (const [path, error] of failures.sort()) out.push(`  ${path}: ${error}`);
  }
  return out.join('\n') + '\n';
}
