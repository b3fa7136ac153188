#!/usr/bin/env node
// Condenses Breakpad minidump_stackwalk human-readable outputs (one file per dump, named
// <folder>--<dump>.txt, as in ../shared/corpus/expected) into every thread's frames, for
// stackhog's parity test. Run after `npm run build`:
//   node scripts/condense-breakpad-output.mjs DIR > test-data/breakpad-threads.json
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBreakpadOutput } from '../dist/testing/breakpad-parity.js';

const dir = process.argv[2];
const out = {};
for (const name of readdirSync(dir).sort()) {
  if (!name.endsWith('.txt') || name.endsWith('.m.txt') || name.endsWith('.dump.txt')) continue;
  const dump = parseBreakpadOutput(readFileSync(join(dir, name), 'utf8'));
  if (dump.threads.length > 0) out[name.replace(/\.txt$/, '')] = dump;
}
process.stdout.write(JSON.stringify(out) + '\n');
