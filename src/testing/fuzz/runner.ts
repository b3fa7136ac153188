// The supervisor: runs each target's fuzz loop in a worker, watches the input being run through
// shared memory, and ends a worker whose run exceeds the time limit (the input is a finding once a
// fresh worker confirms it). Findings are saved as test-data/fuzz-regressions/<target>-<hash>.bin;
// fuzz-smoke.test.ts replays every one of them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { repoPath } from '../corpus.js';
import { INPUT_OFFSET, SLOT_IN_EXEC, SLOT_LENGTH, SLOT_SEQUENCE, type EngineMessage, type EngineStats } from './engine.js';
import { isTargetName, type TargetName } from './targets.js';
import type { ReplayMessage, WorkerData } from './worker.js';

export const DEFAULT_TIMEOUT_MS = 2000;

export function regressionsDir(): string {
  return repoPath('test-data', 'fuzz-regressions');
}

export interface FuzzOptions {
  readonly targets: readonly TargetName[];
  /** Time per target. */
  readonly seconds: number;
  readonly seed: number;
  /** Executions per target at most (for a deterministic smoke run). */
  readonly maxExecs?: number;
  /** A run longer than this is a finding. */
  readonly timeoutMs?: number;
  /** V8 block coverage as feedback (default true). */
  readonly coverage?: boolean;
  /** Executions per coverage take (default 16). */
  readonly batch?: number;
  /** Targets fuzzed at once, each in its own worker (default 1). */
  readonly jobs?: number;
  /** Where to save findings; undefined: keep them in memory only. */
  readonly saveTo?: string;
  /** Where to keep each target's slowest input and runs that hung once but not on replay (default: none kept). */
  readonly slowTo?: string;
  readonly log?: (line: string) => void;
  /** Seconds between progress lines (default 60; 0: none). */
  readonly progressSeconds?: number;
}

export interface Finding {
  readonly target: TargetName;
  readonly kind: 'crash' | 'timeout' | 'worker-died';
  readonly signature: string;
  readonly message: string;
  readonly stack: string;
  readonly input: Uint8Array;
  /** The saved regression input, when saved. */
  readonly file: string | undefined;
}

export interface TargetResult {
  readonly target: TargetName;
  readonly seed: number;
  readonly execs: number;
  readonly seconds: number;
  readonly execsPerSecond: number;
  readonly corpus: number;
  readonly features: number;
  readonly slowestMs: number;
  /** The slowest input, when `slowTo` was given and a run took over 100 ms. */
  readonly slowestFile: string | undefined;
  readonly restarts: number;
  readonly findings: readonly Finding[];
}

type Watched =
  | { readonly kind: 'done' }
  | { readonly kind: 'hang'; readonly input: Uint8Array }
  | { readonly kind: 'died'; readonly input: Uint8Array | undefined; readonly error: string };

function startWorker(data: WorkerData): Worker {
  // 4 GiB of heap: a finding should be a wrong answer or a hang, not this harness running out.
  return new Worker(new URL('./worker.js', import.meta.url), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: 4096 } });
}

/** Runs a worker to its end, or ends it when one input runs longer than `timeoutMs`. */
function supervise(worker: Worker, timeoutMs: number, onMessage: (m: EngineMessage | ReplayMessage) => void): Promise<Watched> {
  return new Promise((resolve) => {
    let slots: Int32Array | undefined;
    let bytes: Uint8Array | undefined;
    let sequence = -1;
    let changed = performance.now();
    let settled = false;
    const current = (): Uint8Array | undefined => (slots && bytes && Atomics.load(slots, SLOT_IN_EXEC) === 1 ? bytes.slice(0, Atomics.load(slots, SLOT_LENGTH)) : undefined);
    const finish = (w: Watched): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      resolve(w);
    };
    const timer = setInterval(() => {
      if (!slots || !bytes) return;
      const now = performance.now();
      const seq = Atomics.load(slots, SLOT_SEQUENCE);
      if (seq !== sequence) {
        sequence = seq;
        changed = now;
      } else if (Atomics.load(slots, SLOT_IN_EXEC) === 1 && now - changed > timeoutMs) {
        const input = bytes.slice(0, Atomics.load(slots, SLOT_LENGTH));
        finish({ kind: 'hang', input });
        void worker.terminate();
      }
    }, 25);
    worker.on('message', (m: EngineMessage | ReplayMessage) => {
      if (m.type === 'ready') {
        slots = new Int32Array(m.shared, 0, 4);
        bytes = new Uint8Array(m.shared, INPUT_OFFSET);
        changed = performance.now();
      }
      onMessage(m);
      if (m.type === 'done') finish({ kind: 'done' });
    });
    worker.on('error', (error) => finish({ kind: 'died', input: current(), error: error.stack ?? String(error) }));
    worker.on('exit', (code) => finish({ kind: 'died', input: current(), error: `worker exited with code ${code}` }));
  });
}

export interface ReplayOutcome {
  readonly name: string;
  /** 'ok': finished or threw FormatError within the limit. */
  readonly outcome: 'ok' | 'crash' | 'timeout' | 'worker-died';
  readonly message: string | undefined;
  readonly stack: string | undefined;
  readonly signature: string | undefined;
  readonly ms: number | undefined;
}

/** Runs each input through the target in a worker; a hang or a dead worker is that input's outcome. */
export async function replay(target: TargetName, inputs: readonly { name: string; bytes: Uint8Array }[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReplayOutcome[]> {
  const out: ReplayOutcome[] = [];
  while (out.length < inputs.length) {
    const rest = inputs.slice(out.length);
    const worker = startWorker({ mode: 'replay', target, inputs: rest.map((i) => i.bytes) });
    const watched = await supervise(worker, timeoutMs, (m) => {
      if (m.type !== 'result') return;
      const name = rest[m.index]!.name;
      out.push({ name, outcome: m.outcome, message: m.message, stack: m.stack, signature: m.signature, ms: m.ms });
    });
    if (watched.kind === 'done') continue;
    const name = inputs[out.length]!.name;
    if (watched.kind === 'hang') out.push({ name, outcome: 'timeout', message: `ran over ${timeoutMs} ms`, stack: undefined, signature: 'timeout', ms: undefined });
    else out.push({ name, outcome: 'worker-died', message: watched.error, stack: watched.error, signature: 'worker-died', ms: undefined });
    await worker.terminate();
  }
  return out;
}

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Saves a finding's input as `<target>-<hash>.bin`; returns the path. */
export function saveRegression(dir: string, target: TargetName, input: Uint8Array): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${target}-${hashOf(input)}.bin`);
  if (!existsSync(file)) writeFileSync(file, input);
  return file;
}

/** Saved regression inputs by target, from their file names. */
export function regressionInputs(dir = regressionsDir()): { target: TargetName; name: string; bytes: Uint8Array }[] {
  if (!existsSync(dir)) return [];
  const out: { target: TargetName; name: string; bytes: Uint8Array }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = /^(.+)-[0-9a-f]+\.bin$/.exec(name);
    if (!m || !isTargetName(m[1]!)) continue;
    out.push({ target: m[1], name, bytes: new Uint8Array(readFileSync(join(dir, name))) });
  }
  return out;
}

async function fuzzTarget(target: TargetName, options: FuzzOptions): Promise<TargetResult> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const findings: Finding[] = [];
  const signatures = new Set<string>();
  const carried: Uint8Array[] = [];
  let finished: EngineStats = { execs: 0, corpus: 0, features: 0, slowestMs: 0, slowestLength: 0 };
  let live: EngineStats = finished;
  let restarts = 0;
  let timeouts = 0;
  let slowest: { input: Uint8Array; ms: number } | undefined;
  const keepSlow = (name: string, input: Uint8Array): string | undefined => {
    if (options.slowTo === undefined) return undefined;
    mkdirSync(options.slowTo, { recursive: true });
    const file = join(options.slowTo, `${target}-${name}.bin`);
    writeFileSync(file, input);
    return file;
  };

  const record = (kind: Finding['kind'], signature: string, message: string, stack: string, input: Uint8Array): void => {
    if (signatures.has(signature)) return;
    signatures.add(signature);
    const file = options.saveTo === undefined ? undefined : saveRegression(options.saveTo, target, input);
    findings.push({ target, kind, signature, message, stack, input, file });
    log(`[${target}] FINDING (${kind}): ${message}`);
    if (file) log(`[${target}]   input saved: ${file}`);
    log(stack.split('\n').map((l) => `[${target}]   ${l}`).join('\n'));
  };
  const total = (): EngineStats => ({
    execs: finished.execs + live.execs,
    corpus: live.corpus,
    features: live.features,
    slowestMs: Math.max(finished.slowestMs, live.slowestMs),
    slowestLength: live.slowestMs > finished.slowestMs ? live.slowestLength : finished.slowestLength,
  });
  const progressMs = (options.progressSeconds ?? 60) * 1000;
  const progress =
    progressMs > 0
      ? setInterval(() => {
          const t = total();
          const seconds = (performance.now() - started) / 1000;
          log(`[${target}] ${seconds.toFixed(0)} s: ${t.execs} execs (${(t.execs / seconds).toFixed(0)}/s), corpus ${t.corpus}, features ${t.features}, findings ${findings.length}, slowest ${t.slowestMs.toFixed(0)} ms`);
        }, progressMs)
      : undefined;

  for (;;) {
    const seconds = (deadline - performance.now()) / 1000;
    const maxExecs = options.maxExecs === undefined ? undefined : options.maxExecs - finished.execs;
    if ((seconds <= 0 || (maxExecs !== undefined && maxExecs <= 0)) && restarts > 0) break;
    live = { execs: 0, corpus: 0, features: 0, slowestMs: 0, slowestLength: 0 };
    const worker = startWorker({
      mode: 'fuzz',
      options: {
        target,
        seed: options.seed + restarts,
        seconds: Math.max(0, seconds),
        maxExecs,
        coverage: options.coverage ?? true,
        batch: options.batch ?? 16,
        carried,
        known: [...signatures],
      },
    });
    const watched = await supervise(worker, timeoutMs, (m) => {
      if (m.type === 'stats' || (m.type === 'done' && 'stats' in m)) live = m.stats;
      else if (m.type === 'corpus') carried.push(m.input);
      else if (m.type === 'slowest' && m.ms > (slowest?.ms ?? 0)) slowest = { input: m.input, ms: m.ms };
      else if (m.type === 'finding') record('crash', m.signature, m.message, m.stack, m.input);
    });
    finished = total();
    live = { ...live, execs: 0 };
    if (watched.kind === 'done') break;
    restarts++;
    await worker.terminate();
    if (watched.kind === 'hang') {
      // A busy machine can stall one run: it counts when a fresh worker takes at least half the limit too.
      const [again] = await replay(target, [{ name: 'hang', bytes: watched.input }], timeoutMs);
      const slowSignature = `timeout#${Math.min(timeouts, 5)}`;
      if (again?.outcome === 'ok' && (again.ms ?? 0) < timeoutMs / 2) {
        const file = keepSlow(`slow-${hashOf(watched.input)}`, watched.input);
        log(`[${target}] one run took over ${timeoutMs} ms but ${again.ms?.toFixed(0)} ms when replayed; not counted${file ? ` (input: ${file})` : ''}`);
      } else if (again?.outcome === 'crash') {
        record('crash', again.signature ?? 'crash', again.message ?? '', again.stack ?? '', watched.input);
      } else if (timeouts++ < 5) {
        // Up to five slow inputs per run are kept: with no stack to tell them apart, more are likely the same.
        const replayed = again?.outcome === 'ok' ? ` and ${again.ms?.toFixed(0)} ms when replayed` : ', and again when replayed';
        record('timeout', slowSignature, `a run took over ${timeoutMs} ms${replayed} (${watched.input.length} bytes of input)`, '(no stack: the run was ended)', watched.input);
      }
    } else {
      record('worker-died', `died:${watched.error.split('\n')[0]}`, `the worker died: ${watched.error.split('\n')[0]}`, watched.error, watched.input ?? new Uint8Array(0));
    }
    if (restarts >= 50) {
      log(`[${target}] stopping after ${restarts} restarts`);
      break;
    }
  }
  if (progress) clearInterval(progress);
  const t = total();
  const seconds = (performance.now() - started) / 1000;
  const slowestFile = slowest && keepSlow('slowest', slowest.input);
  return {
    target,
    seed: options.seed,
    execs: t.execs,
    seconds,
    execsPerSecond: t.execs / seconds,
    corpus: t.corpus,
    features: t.features,
    slowestMs: t.slowestMs,
    slowestFile,
    restarts,
    findings,
  };
}

/** Fuzzes each target for `seconds` (at most `jobs` at once); resolves with what each run did and found. */
export async function fuzz(options: FuzzOptions): Promise<TargetResult[]> {
  const results: TargetResult[] = new Array(options.targets.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < options.targets.length) {
      const index = next++;
      results[index] = await fuzzTarget(options.targets[index]!, options);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs ?? 1, options.targets.length)) }, lane));
  return results;
}

export function summaryLine(r: TargetResult): string {
  return `${r.target.padEnd(12)} ${String(r.execs).padStart(9)} execs in ${r.seconds.toFixed(0).padStart(4)} s = ${r.execsPerSecond.toFixed(0).padStart(6)}/s, corpus ${r.corpus}, features ${r.features}, slowest run ${r.slowestMs.toFixed(0)} ms, worker restarts ${r.restarts}, findings ${r.findings.length}${r.slowestFile ? ` (slowest input: ${r.slowestFile})` : ''}`;
}
