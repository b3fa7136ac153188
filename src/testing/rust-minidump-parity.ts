// Test support: compares stackhog's JSON with rust-minidump's own `minidump-stackwalk --json`
// output (its insta snapshots in ../shared/corpus/external/expected/rust-minidump-snapshots).
import { readFileSync } from 'node:fs';
import { analyze } from '../analyze/process.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { toJson } from '../report/json.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { corpusPath } from './corpus.js';

export interface RustMinidumpCase {
  /** The snapshot's name in rust-minidump's test-minidump-stackwalk.rs. */
  readonly snapshot: string;
  readonly dump: string;
  /** The symbols folder the test gave, when it gave one. */
  readonly symbols: string | undefined;
}

const SNAPSHOTS = ['external', 'expected', 'rust-minidump-snapshots'] as const;

/** The four documents: the commands come from test-minidump-stackwalk.rs (test_json_pretty, ...). */
export const RUST_MINIDUMP_CASES: readonly RustMinidumpCase[] = [
  { snapshot: 'json-pretty', dump: 'test.dmp', symbols: undefined },
  { snapshot: 'json-pretty-symbols', dump: 'test.dmp', symbols: corpusPath(...SNAPSHOTS, 'symbols') },
  { snapshot: 'linux_json_pretty', dump: 'linux-mini.dmp', symbols: undefined },
  { snapshot: 'macos_inlines_json_pretty', dump: 'pipeline-inlines-macos-segv.dmp', symbols: corpusPath(...SNAPSHOTS, 'symbols') },
];

/** An insta snapshot's body: the JSON after its `---` front matter. */
export function readRustSnapshot(name: string): unknown {
  const text = readFileSync(corpusPath(...SNAPSHOTS, `test_minidump_stackwalk__${name}.snap`), 'utf8');
  const body = text.indexOf('\n---\n');
  if (!text.startsWith('---') || body < 0) throw new Error(`${name}: not an insta snapshot`);
  return JSON.parse(text.slice(body + 5));
}

/** stackhog's `--format json` document for a case, as a parsed JSON value. */
export async function stackhogJson(c: RustMinidumpCase): Promise<unknown> {
  const file = await openFileSource(corpusPath('rust-minidump', c.dump));
  const dirs = new FileDirectories(c.symbols ? [c.symbols] : []);
  try {
    const analysis = await analyze(file.source, c.symbols ? { symbols: new SymbolStoreProvider(dirs.openers) } : {});
    return JSON.parse(JSON.stringify(toJson(analysis)));
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Every key rust-minidump wrote must exist in ours at the same path with an equal value. Frame lists
 * are compared up to and including each thread's first scanned frame (past it, both walkers guess),
 * and a thread's frame_count only when rust-minidump found no frame by scanning.
 */
export function compareWithRustMinidump(theirs: unknown, ours: unknown): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v).slice(0, 120));
  const visit = (a: Json, b: unknown, path: string): void => {
    if (a !== null && typeof a === 'object') {
      if (b === null || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) {
        out.push(`${path}: ours ${show(b)}, rust-minidump ${show(a)}`);
        return;
      }
      if (Array.isArray(a)) {
        const ob = b as unknown[];
        let n = a.length;
        if (path.endsWith('.frames')) {
          const firstScan = a.findIndex((f) => (f as { trust?: string } | null)?.trust === 'scan');
          if (firstScan >= 0) n = firstScan + 1;
        } else if (a.length !== ob.length) {
          out.push(`${path}: ${ob.length} entries, rust-minidump ${a.length}`);
        }
        for (let i = 0; i < n; i++) visit(a[i]!, ob[i], `${path}[${i}]`);
        return;
      }
      const ob = b as Record<string, unknown>;
      const frames = (a as { frames?: unknown }).frames;
      const hasScan = Array.isArray(frames) && frames.some((f) => (f as { trust?: string } | null)?.trust === 'scan');
      for (const [key, value] of Object.entries(a)) {
        if (!(key in ob)) {
          out.push(`${path}.${key}: missing (rust-minidump ${show(value)})`);
          continue;
        }
        if (key === 'frame_count' && hasScan) continue;
        visit(value, ob[key], `${path}.${key}`);
      }
      return;
    }
    if (a !== b) out.push(`${path}: ours ${show(b)}, rust-minidump ${show(a)}`);
  };
  visit(theirs as Json, ours, "$");
  return out;
}
