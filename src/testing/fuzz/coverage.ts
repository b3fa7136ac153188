// Coverage feedback from V8's own block coverage (the inspector's Profiler.takePreciseCoverage in
// binary mode), no instrumentation pass needed. Each take returns the blocks run since the last one
// and resets them; a take costs about 1 ms, so the engine takes one per batch of executions and
// replays a batch one input at a time only when the batch as a whole reached something new.
//
// V8 reports a function's blocks only where they differ from the enclosing range, so a taken branch
// is not listed: it shows as the absence of a "count 0" range seen before. A feature is therefore
// "function F ran" or "block B of F ran", where B is any range V8 ever reported for F and no
// zero-count range of this take covers it.
import { Session } from 'node:inspector';

interface Range {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}

interface ScriptCoverage {
  readonly url: string;
  readonly functions: readonly { readonly ranges: readonly Range[] }[];
}

/** Features seen so far, and the blocks known per function. */
export class CoverageMap {
  private readonly seen = new Set<string>();
  private readonly blocks = new Map<string, { start: number; end: number }[]>();
  private readonly scripts = new Map<string, number>();

  get size(): number {
    return this.seen.size;
  }

  /** Features of one take that are new; added to the map when `commit`. */
  observe(result: readonly ScriptCoverage[], commit: boolean): number {
    let fresh = 0;
    const add = (feature: string): void => {
      if (this.seen.has(feature)) return;
      fresh++;
      if (commit) this.seen.add(feature);
    };
    for (const script of result) {
      let id = this.scripts.get(script.url);
      if (id === undefined) {
        id = this.scripts.size;
        this.scripts.set(script.url, id);
      }
      for (const fn of script.functions) {
        const outer = fn.ranges[0];
        if (!outer || outer.count === 0) continue;
        const key = `${id}:${outer.startOffset}`;
        add(key);
        let known = this.blocks.get(key);
        if (!known) {
          known = [];
          this.blocks.set(key, known);
        }
        const zeros: Range[] = [];
        for (let i = 1; i < fn.ranges.length; i++) {
          const r = fn.ranges[i]!;
          if (r.count === 0) zeros.push(r);
          if (!known.some((k) => k.start === r.startOffset && k.end === r.endOffset)) known.push({ start: r.startOffset, end: r.endOffset });
        }
        for (const b of known) {
          if (!zeros.some((z) => z.startOffset <= b.start && b.end <= z.endOffset)) add(`${key}:${b.start}`);
        }
      }
    }
    return fresh;
  }
}

/** Block coverage of this isolate (a worker has its own), limited to scripts whose URL passes `include`. */
export class Coverage {
  private readonly session = new Session();

  constructor(private readonly include: (url: string) => boolean) {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: false, detailed: true });
  }

  /** Blocks run since the last take (or the start); resets them. */
  take(): ScriptCoverage[] {
    const result = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    return result.result.filter((s) => this.include(s.url));
  }

  stop(): void {
    this.post('Profiler.stopPreciseCoverage');
    this.session.disconnect();
  }

  /** The in-process session answers synchronously. */
  private post(method: string, params?: object): unknown {
    let out: unknown;
    let failure: Error | null = null;
    this.session.post(method, params, (error, result) => {
      failure = error;
      out = result;
    });
    if (failure) throw failure;
    return out;
  }
}
