// Test support: compares stackhog's threads with Breakpad's minidump_stackwalk output, condensed
// by scripts/condense-breakpad-output.mjs into test-data/breakpad-threads.json.
import { existsSync, readFileSync } from 'node:fs';
import { analyzeMinidump } from '../analyze/process.js';
import type { Analysis, AnalyzeOptions, ThreadAnalysis } from '../analyze/types.js';
import { openFileSource } from '../node/file-source.js';
import { FileDirectories } from '../node/directories.js';
import { displayFrames } from '../report/text.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { corpusPath, repoPath } from './corpus.js';

export interface BreakpadFrame {
  readonly location: string;
  readonly ip: string | null;
  readonly sp: string | null;
  readonly trust: string;
}

/** One dump as Breakpad printed it: threads by Breakpad's index, and which one crashed. */
export interface BreakpadDump {
  readonly crashed: number | null;
  readonly threads: BreakpadFrame[][];
}

const TRUST_WORDS: Record<string, string> = {
  'given as instruction pointer in context': 'context',
  'call frame info': 'cfi',
  'call frame info with scanning': 'cfi_scan',
  "previous frame's frame pointer": 'frame_pointer',
  'stack scanning': 'scan',
  'simulating a return from leaf function': 'leaf',
  'inline record': 'inline',
};

/** Every thread's frames from minidump_stackwalk's (or stackhog's) human-readable output. */
export function parseBreakpadOutput(text: string): BreakpadDump {
  const threads: { location: string; ip: string | null; sp: string | null; trust: string }[][] = [];
  let crashed: number | null = null;
  let current: (typeof threads)[number] | undefined;
  for (const line of text.split('\n')) {
    const thread = /^Thread (\d+)( \((crashed|requested dump, did not crash)\))?/.exec(line);
    if (thread) {
      current = [];
      threads[Number(thread[1])] = current;
      if (thread[2]) crashed = Number(thread[1]);
      continue;
    }
    if (line.startsWith('Loaded modules')) break;
    if (!current) continue;
    const head = /^\s?(\d+) {2}(.*)$/.exec(line);
    if (head) {
      current.push({ location: head[2]!, ip: null, sp: null, trust: '' });
      continue;
    }
    const frame = current[current.length - 1];
    if (!frame) continue;
    const found = /^\s+Found by: (.*)$/.exec(line);
    if (found) {
      frame.trust = TRUST_WORDS[found[1]!] ?? found[1]!;
      continue;
    }
    for (const m of line.matchAll(/(\w+) = (0x[0-9a-f]+)/g)) {
      if (['eip', 'rip', 'pc'].includes(m[1]!)) frame.ip = m[2]!;
      if (['esp', 'rsp', 'sp'].includes(m[1]!)) frame.sp = m[2]!;
    }
  }
  return { crashed, threads };
}

export function breakpadExpectations(): Record<string, BreakpadDump> {
  return JSON.parse(readFileSync(repoPath('test-data', 'breakpad-threads.json'), 'utf8')) as Record<string, BreakpadDump>;
}

/** Analyses a corpus dump ("breakpad--minidump2") with its folder's symbols, as the reference run did. */
export async function analyzeCorpusDump(key: string, options: Omit<AnalyzeOptions, 'symbols'> = {}): Promise<Analysis> {
  const [folder, name] = key.split('--') as [string, string];
  const file = await openFileSource(corpusPath(folder, `${name}.dmp`));
  const symbolsDir = corpusPath(folder, 'symbols');
  const dirs = new FileDirectories(existsSync(symbolsDir) ? [symbolsDir] : []);
  try {
    return await analyzeMinidump(file.source, { ...options, symbols: new SymbolStoreProvider(dirs.openers) });
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

export interface ParityResult {
  /** Frames Breakpad found by context, CFI or frame pointer (inlines included), up to the last such one. */
  readonly comparedFrames: number;
  /** Differences within the compared frames: these must not exist. */
  readonly mismatches: string[];
  /** Differences after the compared frames (scanning), for the record. */
  readonly laterDifferences: string[];
}

const FIRM = new Set(['context', 'cfi', 'frame_pointer', 'inline']);

/** Compares one thread frame by frame: trust, instruction and stack pointers, printed location. */
export function compareThread(thread: ThreadAnalysis | undefined, expected: readonly BreakpadFrame[]): ParityResult {
  const ours = thread ? displayFrames(thread.frames) : [];
  let lastFirm = -1;
  expected.forEach((f, i) => {
    if (FIRM.has(f.trust)) lastFirm = i;
  });
  const mismatches: string[] = [];
  const laterDifferences: string[] = [];
  const count = Math.max(expected.length, ours.length);
  for (let i = 0; i < count; i++) {
    const e = expected[i];
    const o = ours[i];
    const target = i <= lastFirm ? mismatches : laterDifferences;
    if (!e || !o) {
      target.push(`frame ${i}: ${e ? `breakpad has ${e.location} (${e.trust})` : `stackhog has extra ${o!.location} (${o!.inline ? 'inline' : o!.frame.trust})`}`);
      continue;
    }
    const ourTrust = o.inline ? 'inline' : o.frame.trust;
    const ourIp = o.inline ? null : '0x' + o.frame.ip.toString(16).padStart(e.ip ? e.ip.length - 2 : 0, '0');
    if (ourTrust !== e.trust) target.push(`frame ${i}: trust ${ourTrust}, breakpad ${e.trust}`);
    if (e.ip !== null && ourIp !== e.ip) target.push(`frame ${i}: ip ${ourIp}, breakpad ${e.ip}`);
    const ourSp = o.inline ? null : '0x' + o.frame.sp.toString(16).padStart(e.sp ? e.sp.length - 2 : 0, '0');
    if (e.sp !== null && ourSp !== e.sp) target.push(`frame ${i}: sp ${ourSp}, breakpad ${e.sp}`);
    if (o.location !== e.location) target.push(`frame ${i}: location "${o.location}", breakpad "${e.location}"`);
  }
  return { comparedFrames: lastFirm + 1, mismatches, laterDifferences };
}
