// The fuzz loop, run inside a worker: pick a corpus input, run a batch of its mutants, and keep a
// mutant when V8's block coverage says it reached code no earlier input did. Every input is written
// to shared memory before it runs, so the supervisor (runner.ts) can save it when the run hangs or
// kills the worker. Deterministic for a seed and an execution count.
import { Coverage, CoverageMap } from './coverage.js';
import { mutate, type MutationContext } from './mutate.js';
import { Rng } from './rng.js';
import { isExpectedError, TARGETS, type FuzzTarget, type TargetName } from './targets.js';

/** Layout of the shared buffer: Int32 slots, then the input's bytes. */
export const SLOT_IN_EXEC = 0;
export const SLOT_LENGTH = 1;
export const SLOT_SEQUENCE = 2;
export const INPUT_OFFSET = 16;

export interface EngineOptions {
  readonly target: TargetName;
  readonly seed: number;
  /** Stop after this long (seeds included). */
  readonly seconds: number;
  /** Stop after this many executions (smoke runs use it for determinism). */
  readonly maxExecs: number | undefined;
  /** Use V8 block coverage as feedback; without it the corpus is the seeds only. */
  readonly coverage: boolean;
  /** Executions per coverage take. */
  readonly batch: number;
  /** Inputs a previous worker had added to its corpus (a restart after a hang goes on from there). */
  readonly carried: readonly Uint8Array[];
  /** Signatures already reported, not to send again. */
  readonly known: readonly string[];
}

export interface EngineStats {
  execs: number;
  corpus: number;
  features: number;
  slowestMs: number;
  /** Length of the slowest input. */
  slowestLength: number;
}

export type EngineMessage =
  | { readonly type: 'ready'; readonly shared: SharedArrayBuffer }
  | { readonly type: 'stats'; readonly stats: EngineStats }
  | { readonly type: 'corpus'; readonly input: Uint8Array }
  /** A new slowest input (only past 100 ms), for finding what is slow but under the limit. */
  | { readonly type: 'slowest'; readonly input: Uint8Array; readonly ms: number }
  | { readonly type: 'finding'; readonly signature: string; readonly message: string; readonly stack: string; readonly input: Uint8Array; readonly ms: number }
  | { readonly type: 'done'; readonly stats: EngineStats };

/** Where a failure comes from: error type, message without numbers, and the innermost frames of the product. */
export function signatureOf(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  const message = (e.message.split('\n')[0] ?? '').replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 120);
  const frames = (e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l) && !l.includes('/testing/fuzz/') && !l.includes('node:'))
    .slice(0, 3)
    .map((l) => l.replace(/^\s+at /, '').replace(/\(?(?:file:\/\/)?[^ ]*\/(dist|src)\//, '$1/').replace(/:\d+\)?$/, ''));
  return `${e.name}: ${message} @ ${frames.join(' < ')}`;
}

export function describeError(error: unknown): { message: string; stack: string } {
  if (error instanceof Error) return { message: `${error.name}: ${error.message}`, stack: error.stack ?? String(error) };
  return { message: String(error), stack: String(error) };
}

interface Entry {
  readonly bytes: Uint8Array;
  hotspots: number[] | undefined;
}

/** Largest input: the largest seed and a quarter, within limits that keep copies cheap. */
function maxLengthFor(seeds: readonly Uint8Array[]): number {
  const largest = seeds.reduce((n, s) => Math.max(n, s.length), 0);
  return Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.ceil(largest * 1.25)));
}

export class Engine {
  private readonly target: FuzzTarget;
  private readonly rng: Rng;
  private readonly corpus: Entry[] = [];
  private readonly map = new CoverageMap();
  private readonly coverage: Coverage | undefined;
  private readonly known: Set<string>;
  private readonly maxLength: number;
  private readonly seeds: Uint8Array[];
  readonly shared: SharedArrayBuffer;
  private readonly slots: Int32Array;
  private readonly input: Uint8Array;
  private readonly stats: EngineStats = { execs: 0, corpus: 0, features: 0, slowestMs: 0, slowestLength: 0 };
  private lastStats = 0;

  constructor(
    private readonly options: EngineOptions,
    private readonly send: (message: EngineMessage) => void,
  ) {
    this.target = TARGETS[options.target];
    this.rng = new Rng(options.seed);
    this.known = new Set(options.known);
    this.seeds = [...this.target.seeds().map((s) => s.bytes), ...options.carried];
    this.maxLength = maxLengthFor(this.seeds);
    this.shared = new SharedArrayBuffer(INPUT_OFFSET + this.maxLength);
    this.slots = new Int32Array(this.shared, 0, 4);
    this.input = new Uint8Array(this.shared, INPUT_OFFSET);
    // Only the product's code counts; the harness's own blocks would be noise.
    this.coverage = options.coverage ? new Coverage((url) => url.includes('/dist/') && !url.includes('/testing/fuzz/')) : undefined;
  }

  async run(): Promise<EngineStats> {
    const deadline = performance.now() + this.options.seconds * 1000;
    const budgetLeft = (): boolean => performance.now() < deadline && (this.options.maxExecs === undefined || this.stats.execs < this.options.maxExecs);
    // Every seed is in the corpus; running each once records what the seeds already reach.
    for (const seed of this.seeds) {
      if (!budgetLeft()) break;
      const bytes = seed.length > this.maxLength ? seed.subarray(0, this.maxLength) : seed;
      await this.exec(bytes);
      this.observe(true);
      this.corpus.push({ bytes, hotspots: undefined });
    }
    const mutants: Uint8Array[] = [];
    while (budgetLeft() && this.corpus.length > 0) {
      const entry = this.pick();
      const ctx = this.context(entry);
      mutants.length = 0;
      for (let i = 0; i < this.options.batch && budgetLeft(); i++) {
        const mutant = mutate(entry.bytes, ctx);
        mutants.push(mutant);
        await this.exec(mutant);
      }
      // Something in the batch was new: find which mutants, one at a time.
      if (this.coverage && this.observe(false) > 0) {
        for (const mutant of mutants) {
          await this.exec(mutant);
          if (this.observe(true) > 0) this.add(mutant);
        }
      }
    }
    this.coverage?.stop();
    this.refreshStats();
    return this.stats;
  }

  private observe(commit: boolean): number {
    if (!this.coverage) return 0;
    return this.map.observe(this.coverage.take(), commit);
  }

  private add(bytes: Uint8Array): void {
    const copy = bytes.slice();
    this.corpus.push({ bytes: copy, hotspots: undefined });
    this.send({ type: 'corpus', input: copy });
  }

  /** Newer entries more often (they are where coverage grows), large ones less often (they are slow). */
  private pick(): Entry {
    let entry = this.corpus[0]!;
    for (let tries = 0; tries < 8; tries++) {
      const recent = this.corpus.length > this.seeds.length && this.rng.chance(0.3);
      const index = recent ? this.corpus.length - 1 - this.rng.below(Math.min(32, this.corpus.length - this.seeds.length)) : this.rng.below(this.corpus.length);
      entry = this.corpus[index]!;
      if (this.rng.chance(Math.min(1, Math.sqrt(32768 / Math.max(1, entry.bytes.length))))) break;
    }
    return entry;
  }

  private context(entry: Entry): MutationContext {
    entry.hotspots ??= this.target.hotspots(entry.bytes);
    return {
      rng: this.rng,
      other: () => this.corpus[this.rng.below(this.corpus.length)]!.bytes,
      hotspots: entry.hotspots,
      text: this.target.text,
      dictionary: this.target.dictionary,
      maxLength: this.maxLength,
    };
  }

  /** Runs one input; a throw other than FormatError is a finding. */
  private async exec(bytes: Uint8Array): Promise<void> {
    this.input.set(bytes);
    Atomics.store(this.slots, SLOT_LENGTH, bytes.length);
    Atomics.add(this.slots, SLOT_SEQUENCE, 1);
    Atomics.store(this.slots, SLOT_IN_EXEC, 1);
    const start = performance.now();
    try {
      await this.target.run(bytes);
    } catch (error) {
      if (!isExpectedError(error)) this.finding(error, bytes, performance.now() - start);
    }
    Atomics.store(this.slots, SLOT_IN_EXEC, 0);
    const ms = performance.now() - start;
    this.stats.execs++;
    if (ms > this.stats.slowestMs) {
      this.stats.slowestMs = ms;
      this.stats.slowestLength = bytes.length;
      if (ms > 100) this.send({ type: 'slowest', input: bytes.slice(), ms });
    }
    if (start - this.lastStats > 1000) this.refreshStats();
  }

  private finding(error: unknown, bytes: Uint8Array, ms: number): void {
    const signature = signatureOf(error);
    if (this.known.has(signature)) return;
    this.known.add(signature);
    this.send({ type: 'finding', signature, ...describeError(error), input: bytes.slice(), ms });
  }

  private refreshStats(): void {
    this.lastStats = performance.now();
    this.stats.corpus = this.corpus.length;
    this.stats.features = this.map.size;
    this.send({ type: 'stats', stats: { ...this.stats } });
  }
}
