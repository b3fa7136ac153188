#!/usr/bin/env node
// Fuzzes stackhog's parsers (see src/testing/fuzz/). Run after `npm run build` (npm run fuzz does):
//   npm run fuzz                                   every target, 600 s each
//   npm run fuzz -- --seconds 30 minidump          one target for 30 s
//   npm run fuzz -- --jobs 2 --seed 7              two targets at a time, a fixed seed
//   npm run fuzz -- --replay test-data/fuzz-regressions/minidump-0123456789abcdef.bin
//   npm run fuzz -- minidump --replay some.dmp     any file, through the target named first
// Options: --seconds N (per target), --seed N (default: from the clock, printed), --jobs N,
// --timeout-ms N (a run over it is a finding; default 2000), --max-execs N, --batch N,
// --no-coverage (plain mutation, no V8 coverage feedback), --no-save (keep findings out of
// test-data/fuzz-regressions). Each target's slowest input, and runs that went over the limit once
// but not on replay, are kept in $TMPDIR/stackhog-fuzz. Exits 1 when something was found.
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { DEFAULT_TIMEOUT_MS, fuzz, regressionsDir, replay, summaryLine } from '../dist/testing/fuzz/runner.js';
import { TARGET_NAMES, isTargetName } from '../dist/testing/fuzz/targets.js';

function usage(message) {
  if (message) console.error(`fuzz: ${message}`);
  console.error(`usage: node scripts/fuzz.mjs [--seconds N] [--seed N] [--jobs N] [--timeout-ms N] [--max-execs N] [--batch N] [--no-coverage] [--no-save] [target...]
       node scripts/fuzz.mjs [target] --replay FILE...   (a FILE named <target>-<hash>.bin says its target)
targets: ${TARGET_NAMES.join(', ')}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const options = { seconds: 600, seed: Date.now() % 0x7fffffff, jobs: 1, timeoutMs: DEFAULT_TIMEOUT_MS, coverage: true, batch: 16, maxExecs: undefined, save: true };
const targets = [];
const replayFiles = [];
let replaying = false;
const number = (flag, value) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) usage(`${flag} needs a number, got ${value}`);
  return n;
};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  switch (a) {
    case '--seconds': options.seconds = number(a, args[++i]); break;
    case '--seed': options.seed = number(a, args[++i]); break;
    case '--jobs': options.jobs = number(a, args[++i]); break;
    case '--timeout-ms': options.timeoutMs = number(a, args[++i]); break;
    case '--max-execs': options.maxExecs = number(a, args[++i]); break;
    case '--batch': options.batch = Math.max(1, number(a, args[++i])); break;
    case '--no-coverage': options.coverage = false; break;
    case '--no-save': options.save = false; break;
    case '--replay': replaying = true; break;
    case '-h': case '--help': usage(); break;
    default:
      if (a.startsWith('-')) usage(`unknown option ${a}`);
      if (replaying) replayFiles.push(a);
      else if (isTargetName(a)) targets.push(a);
      else usage(`unknown target ${a}`);
  }
}

if (replaying) {
  let failed = 0;
  for (const file of replayFiles) {
    const target = TARGET_NAMES.find((t) => basename(file).startsWith(`${t}-`)) ?? targets[0];
    if (!target) usage(`cannot tell the target of ${file} from its name`);
    const [r] = await replay(target, [{ name: file, bytes: new Uint8Array(readFileSync(file)) }], options.timeoutMs);
    const ms = r.ms === undefined ? '' : ` in ${r.ms.toFixed(0)} ms`;
    // As when fuzzing (and in the smoke test's replay), half the limit already counts as too slow.
    const slow = r.outcome === 'ok' && r.ms !== undefined && r.ms >= options.timeoutMs / 2;
    console.log(`${file}: ${target}: ${slow ? 'slow' : r.outcome}${ms}${r.message ? `: ${r.message}` : ''}`);
    if (r.outcome !== 'ok' || slow) {
      failed++;
      if (r.stack) console.log(r.stack);
    }
  }
  process.exit(failed > 0 ? 1 : 0);
}

const chosen = targets.length > 0 ? targets : [...TARGET_NAMES];
console.log(`fuzzing ${chosen.join(', ')} for ${options.seconds} s each, seed ${options.seed}, ${options.coverage ? 'V8 block coverage feedback' : 'no coverage feedback'}, timeout ${options.timeoutMs} ms`);
const results = await fuzz({
  targets: chosen,
  seconds: options.seconds,
  seed: options.seed,
  maxExecs: options.maxExecs,
  timeoutMs: options.timeoutMs,
  coverage: options.coverage,
  batch: options.batch,
  jobs: options.jobs,
  saveTo: options.save ? regressionsDir() : undefined,
  slowTo: join(tmpdir(), 'stackhog-fuzz'),
  log: (line) => console.log(line),
  progressSeconds: 60,
});
console.log('');
for (const r of results) console.log(summaryLine(r));
const found = results.reduce((n, r) => n + r.findings.length, 0);
for (const r of results) for (const f of r.findings) console.log(`${f.target}: ${f.kind}: ${f.message}${f.file ? ` (${f.file})` : ''}`);
process.exit(found > 0 ? 1 : 0);
