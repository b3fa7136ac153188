#!/usr/bin/env node
// Benchmark: the first symbol lookup in a large PDB, end to end (open the file, index the PDB,
// look up one address), each run a fresh process; prints the median and range of wall time and
// peak RSS over --runs runs (default 5). Build the PDB first with make-big-pdb.mjs.
//   node scripts/bench/pdb-lookup.mjs [PDB] [--runs N]
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const pdb = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs') ?? join(tmpdir(), 'stackhog-bench', 'big-pdb', 'big.pdb');

if (process.env.STACKHOG_BENCH_CHILD) {
  const { openFileSource } = await import('../../dist/node/index.js');
  const { loadPdbSymbols } = await import('../../dist/index.js');
  const started = performance.now();
  const file = await openFileSource(pdb);
  const symbols = await loadPdbSymbols(file.source);
  // An address in the middle of .text: the index must be built to answer it.
  const rva = Number(process.env.STACKHOG_BENCH_RVA ?? 0x1000 + 0x800000);
  const hit = await symbols.lookup(rva);
  const ms = performance.now() - started;
  await file.close();
  process.stdout.write(JSON.stringify({ ms, rss: process.resourceUsage().maxRSS * 1024, name: hit?.functionName ?? null }) + '\n');
} else {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), pdb], { env: { ...process.env, STACKHOG_BENCH_CHILD: '1' }, encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exit(1);
    }
    results.push(JSON.parse(r.stdout));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ms = results.map((r) => r.ms);
  const rss = results.map((r) => r.rss / 1048576);
  console.log(`${pdb}: first lookup (open + index + lookup) median ${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}), peak RSS median ${median(rss).toFixed(0)} MiB (${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)}), ${runs} runs; found ${results[0].name}`);
}
