#!/usr/bin/env node
// Condenses Breakpad minidump_stackwalk human-readable outputs (one file per dump, named
// <folder>--<dump>.txt) into the crashing thread's frames, for stackhog's comparison tests.
// Usage: node scripts/condense-breakpad-output.mjs DIR > test-data/breakpad-crashing-threads.json
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TRUST = {
  'given as instruction pointer in context': 'context',
  'call frame info': 'cfi',
  'call frame info with scanning': 'cfi_scan',
  "previous frame's frame pointer": 'frame_pointer',
  'stack scanning': 'scan',
  'simulating a return from leaf function': 'leaf',
  'inline record': 'inline',
};

export function crashingThread(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Thread \d+ \((crashed|requested dump, did not crash)\)/.test(l));
  if (start < 0) return undefined;
  const frames = [];
  let frame;
  for (const line of lines.slice(start + 1)) {
    if (line === '') break;
    const head = /^\s?(\d+)  (.*)$/.exec(line);
    if (head) {
      frame = { location: head[2], ip: null, sp: null, trust: null };
      frames.push(frame);
      continue;
    }
    const found = /^\s+Found by: (.*)$/.exec(line);
    if (found && frame) {
      frame.trust = TRUST[found[1]] ?? found[1];
      continue;
    }
    if (frame) {
      for (const m of line.matchAll(/(\w+) = (0x[0-9a-f]+)/g)) {
        if (['eip', 'rip', 'pc'].includes(m[1])) frame.ip = m[2];
        if (['esp', 'rsp', 'sp'].includes(m[1])) frame.sp = m[2];
      }
    }
  }
  return frames;
}

const dir = process.argv[2];
const out = {};
for (const name of readdirSync(dir).sort()) {
  if (!name.endsWith('.txt') || name.endsWith('.m.txt') || name.endsWith('.dump.txt')) continue;
  const frames = crashingThread(readFileSync(join(dir, name), 'utf8'));
  if (frames) out[name.replace(/\.txt$/, '')] = frames;
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
