#!/usr/bin/env node
// Makes the inputs of `npm run bench` row (c), the first lookup in a ~300 MB .sym, end to end:
//   DIR/symbols/crash-client/509C0610949836F7B70BD88BCF03E5400/crash-client.sym
//     the corpus's crash-client.sym (rust-minidump's macOS test, 4 MB, with INLINE records) 64 times
//     over under its one MODULE line: copy k (0..63) has every address moved up by k × 1 MiB and its
//     FILE and INLINE_ORIGIN ids moved up by k × the copy's count, so it stays a valid .sym with 64
//     times the records (FUNC, lines, INLINE, PUBLIC, STACK CFI) that both stackhog and Breakpad read;
//   DIR/first-lookup.dmp
//     a tiny synthetic macOS minidump (src/testing/synth) whose one module, crash-client, has that
//     debug id and spans all 64 copies, and whose crashed thread's instruction pointer is in the last
//     copy's sadness_generator::raise_segfault, with a stack whose return address is 0: each tool
//     loads the whole .sym to name frame 0 and unwinds it by STACK CFI, and the walk ends there.
//   node scripts/bench/make-big-sym.mjs [--out DIR] [--copies N]     (after npm run build)
// DIR defaults to $TMPDIR/stackhog-bench/big-sym. Nothing is committed.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const out = opt('out', join(tmpdir(), 'stackhog-bench', 'big-sym'));
const copies = Number(opt('copies', 64));
const DEBUG_ID = '509C0610949836F7B70BD88BCF03E5400';
const source = join(repo, '..', 'shared', 'corpus', 'rust-minidump', 'symbols', 'crash-client', DEBUG_ID, 'crash-client.sym');
const SHIFT = 0x100000; // each copy's addresses 1 MiB above the last; the original ends at 0xaf431
const CRASH_RVA = 0x14cd4; // sadness_generator::raise_segfault, pipeline-inlines-macos-segv.dmp's crash
const synth = join(repo, 'dist', 'testing', 'synth', 'index.js');
if (!existsSync(source)) {
  console.error(`make-big-sym: ${source} is missing (the shared corpus, ../shared/corpus beside the repository)`);
  process.exit(1);
}
if (!existsSync(synth)) {
  console.error('make-big-sym: run `npm run build` first (the dump is written by dist/testing/synth)');
  process.exit(1);
}

const lines = readFileSync(source, 'utf8').split('\n').filter((l) => l !== '');
const fileCount = lines.filter((l) => l.startsWith('FILE ')).length;
const originCount = lines.filter((l) => l.startsWith('INLINE_ORIGIN ')).length;
const hex = (text, k) => (parseInt(text, 16) + k * SHIFT).toString(16);
const id = (text, k, count) => String(Number(text) + k * count);

/** One record of copy k, or undefined for the records written once (MODULE, INFO). */
function shifted(line, k) {
  const w = line.split(' ');
  switch (w[0]) {
    case 'MODULE':
    case 'INFO':
      return undefined;
    case 'FILE': // FILE id name
      return ['FILE', id(w[1], k, fileCount), ...w.slice(2)].join(' ');
    case 'INLINE_ORIGIN': // INLINE_ORIGIN id name
      return ['INLINE_ORIGIN', id(w[1], k, originCount), ...w.slice(2)].join(' ');
    case 'FUNC': // FUNC [m] address size parameter_size name
    case 'PUBLIC': {
      // PUBLIC [m] address parameter_size name
      const at = w[1] === 'm' ? 2 : 1;
      w[at] = hex(w[at], k);
      return w.join(' ');
    }
    case 'INLINE': {
      // INLINE depth call_line call_file origin [address size]+
      w[3] = id(w[3], k, fileCount);
      w[4] = id(w[4], k, originCount);
      for (let i = 5; i < w.length; i += 2) w[i] = hex(w[i], k);
      return w.join(' ');
    }
    case 'STACK': {
      // STACK CFI INIT address size rules | STACK CFI address rules | STACK WIN type rva ...
      const at = w[1] === 'CFI' && w[2] === 'INIT' ? 3 : w[1] === 'CFI' ? 2 : 3;
      w[at] = hex(w[at], k);
      return w.join(' ');
    }
    default: {
      // line record: address size line file
      if (!/^[0-9a-f]+$/.test(w[0]) || w.length !== 4) throw new Error(`make-big-sym: unexpected record: ${line}`);
      return [hex(w[0], k), w[1], w[2], id(w[3], k, fileCount)].join(' ');
    }
  }
}

const symDir = join(out, 'symbols', 'crash-client', DEBUG_ID);
mkdirSync(symDir, { recursive: true });
const symPath = join(symDir, 'crash-client.sym');
const fd = openSync(symPath, 'w');
writeSync(fd, lines.filter((l) => l.startsWith('MODULE ') || l.startsWith('INFO ')).join('\n') + '\n');
for (let k = 0; k < copies; k++) {
  const copy = [];
  for (const line of lines) {
    const record = shifted(line, k);
    if (record !== undefined) copy.push(record);
  }
  writeSync(fd, copy.join('\n') + '\n');
}
closeSync(fd);

const { SynthMinidump, StackBuilder, amd64Context, rsds } = await import(synth);
const base = 0x102a54000n; // where pipeline-inlines-macos-segv.dmp has crash-client
const ip = base + BigInt((copies - 1) * SHIFT + CRASH_RVA);
const stack = new StackBuilder(0x7ffeed1aa000n, 8);
stack.fill(0x9b0); // the frame's locals; rbp points just above them
const frame = stack.here;
stack.words(0, 0).fill(0x40); // saved rbp, return address 0: the walk ends after frame 0
const dump = new SynthMinidump()
  .systemInfo({ cpu: 'amd64', platform: 'mac', version: [11, 6, 7], csd: '20G630', cpuCount: 8 })
  .module({ base, size: copies * SHIFT, name: '/Users/bench/crash-client', codeView: rsds('509c0610-9498-36f7-b70b-d88bcf03e540', 0, 'crash-client') })
  .thread({ id: 0x303, context: amd64Context({ rip: ip, rsp: frame, rbp: frame }), stack })
  // EXC_BAD_ACCESS / KERN_INVALID_ADDRESS
  .exception({ threadId: 0x303, code: 1, address: 0xffffffff80000042n, parameters: [1n, 0xffffffff80000042n], context: amd64Context({ rip: ip, rsp: frame, rbp: frame }) });
const dumpPath = join(out, 'first-lookup.dmp');
const dumpFd = openSync(dumpPath, 'w');
for (const piece of dump.chunks()) writeSync(dumpFd, piece);
closeSync(dumpFd);
console.log(`${symPath}: ${(statSync(symPath).size / 1e6).toFixed(0)} MB, ${copies} copies of crash-client.sym`);
console.log(`${dumpPath}: crashed at 0x${ip.toString(16)} (copy ${copies - 1}); symbols: ${join(out, 'symbols')}`);
