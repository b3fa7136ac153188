#!/usr/bin/env node
// Makes the input of `npm run bench` row (e): row (d)'s wine full-memory dump synthesised again at
// 2 GiB by the synthetic minidump builder (src/testing/synth, streaming mode). Every stream of the
// source is rewritten by the builder with the same records (system info, threads and their
// contexts, modules with their names, wine's ELF module list, misc info, exception), its
// Memory64List ranges are copied piece by piece from the source file, and heap ranges of 64 MiB
// (the pattern full-dump.c writes) fill a free stretch of the address space until the file is
// 2 GiB. The dump is written in pieces as the builder yields them: never more than one 8 MiB piece
// in memory. Nothing is committed.
//   node scripts/bench/make-2gb-dump.mjs [--from FULL.dmp] [--out FILE] [--size BYTES]   (after npm run build)
// Defaults: --from $TMPDIR/stackhog-bench/full-memory.dmp (scripts/bench/make-full-dump.sh makes it),
// --out $TMPDIR/stackhog-bench/full-memory-2g.dmp, --size 2147483648.
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDump, StreamType } from '../fixtures/minidump-lite.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const bench = join(tmpdir(), 'stackhog-bench');
const from = opt('from', join(bench, 'full-memory.dmp'));
const out = opt('out', join(bench, 'full-memory-2g.dmp'));
const target = Number(opt('size', 2 ** 31));
const synth = join(repo, 'dist', 'testing', 'synth', 'index.js');
if (!existsSync(from)) {
  console.error(`make-2gb-dump: ${from} is missing; make it with: bash scripts/bench/make-full-dump.sh`);
  process.exit(1);
}
if (!existsSync(synth)) {
  console.error('make-2gb-dump: run `npm run build` first (the dump is written by dist/testing/synth)');
  process.exit(1);
}
const { SynthMinidump } = await import(synth);

const PIECE = 8 << 20;
const FILL_RANGE = 64 << 20;
const source = readDump(from);
const file = source.file;
const piece = Buffer.alloc(PIECE); // reused: each piece is written before the next is asked for

/** `size` bytes of the source file from `offset`, read as the builder asks for them. */
const fromFile = (offset, size) => ({
  size,
  *chunks() {
    for (let done = 0; done < size; ) {
      const n = readSync(file.fd, piece, 0, Math.min(PIECE, size - done), offset + done);
      if (n === 0) throw new Error(`make-2gb-dump: ${from}: short read at ${offset + done}`);
      yield piece.subarray(0, n);
      done += n;
    }
  },
});

// full-dump.c's heap words: i × 0x9e3779b97f4a7c15, one piece made once and written again and again.
const heapWords = new BigUint64Array(PIECE / 8);
for (let i = 0; i < heapWords.length; i++) heapWords[i] = BigInt.asUintN(64, BigInt(i) * 0x9e3779b97f4a7c15n);
const heapPiece = new Uint8Array(heapWords.buffer);
const heap = (size) => ({
  size,
  *chunks() {
    for (let done = 0; done < size; done += PIECE) yield heapPiece.subarray(0, Math.min(PIECE, size - done));
  },
});

const raw = (rva, size) => file.read(rva, size, 'stream');
/** A MINIDUMP_STRING with its length prefix and terminating NUL, as the source has it. */
const rawString = (rva) => raw(rva, 4 + raw(rva, 4).readUInt32LE(0) + 2);
/** Writes a MINIDUMP_LOCATION_DESCRIPTOR of the source, placing what it points at anew (RVA 0 stays 0). */
const relocate = (s, place, b, at) => {
  const size = b.readUInt32LE(at);
  const rva = b.readUInt32LE(at + 4);
  if (rva === 0) s.u32(size).u32(0);
  else {
    const loc = place(raw(rva, size));
    s.u32(loc.size).u32(loc.rva);
  }
};

const dump = new SynthMinidump({ timeDateStamp: source.header.timeDateStamp, version: source.header.version, flags: source.header.flags });
for (const entry of source.directory) {
  const b = entry.size > 0 ? raw(entry.rva, entry.size) : Buffer.alloc(0);
  switch (entry.type) {
    case StreamType.Unused:
      break;
    case StreamType.SystemInfo: // MINIDUMP_SYSTEM_INFO, 56 bytes; CSDVersionRva at 24
      dump.stream(entry.type, (s, place) => {
        const csd = b.readUInt32LE(24);
        s.bytes(b.subarray(0, 24)).u32(csd === 0 ? 0 : place(rawString(csd)).rva).bytes(b.subarray(28));
      });
      break;
    case StreamType.ThreadList: // u32 count, 48-byte MINIDUMP_THREADs: Stack at 24 (location at 32), ThreadContext at 40
      dump.stream(entry.type, (s, place) => {
        const count = b.readUInt32LE(0);
        s.u32(count);
        for (let i = 0; i < count; i++) {
          const o = 4 + 48 * i;
          s.bytes(b.subarray(o, o + 32));
          relocate(s, place, b, o + 32);
          relocate(s, place, b, o + 40);
        }
      });
      break;
    case StreamType.ModuleList:
    case StreamType.WineElfModuleList: // u32 count, 108-byte MINIDUMP_MODULEs: ModuleNameRva at 20, CvRecord at 76, MiscRecord at 84
      dump.stream(entry.type, (s, place) => {
        const count = b.readUInt32LE(0);
        s.u32(count);
        for (let i = 0; i < count; i++) {
          const o = 4 + 108 * i;
          s.bytes(b.subarray(o, o + 20)).u32(place(rawString(b.readUInt32LE(o + 20))).rva);
          s.bytes(b.subarray(o + 24, o + 76));
          relocate(s, place, b, o + 76);
          relocate(s, place, b, o + 84);
          s.bytes(b.subarray(o + 92, o + 108));
        }
      });
      break;
    case StreamType.Exception: // MINIDUMP_EXCEPTION_STREAM, 168 bytes; ThreadContext at 160
      dump.stream(entry.type, (s, place) => {
        s.bytes(b.subarray(0, 160));
        relocate(s, place, b, 160);
      });
      break;
    case StreamType.MiscInfo: // no RVAs inside
      dump.stream(entry.type, new Uint8Array(b));
      break;
    case StreamType.MemoryList:
      for (const r of source.memoryList) dump.memory(r.start, new Uint8Array(raw(r.rva, r.size)));
      break;
    case StreamType.Memory64List: {
      for (const r of source.memory64.ranges) dump.memory64(r.start, fromFile(r.rva, r.size));
      // The filler goes in the widest free stretch below 0x7ff000000000, 64 KiB aligned.
      const fill = Math.max(0, Math.floor((target - source.file.size) / 4096) * 4096);
      const ranges = [...source.memory64.ranges].sort((x, y) => (x.start < y.start ? -1 : 1));
      let best = { start: 0n, size: 0n };
      let end = 0x10000n;
      for (const r of [...ranges, { start: 0x7ff000000000n, size: 0 }]) {
        if (r.start - end > best.size) best = { start: end, size: r.start - end };
        const e = r.start + BigInt(r.size);
        if (e > end) end = (e + 0xffffn) & ~0xffffn;
      }
      if (best.size < BigInt(fill)) throw new Error('make-2gb-dump: no free stretch of the address space is large enough');
      const at = ((best.start + 0x1000000n) >> 24n) << 24n; // a 16 MiB-aligned start inside it
      for (let done = 0; done < fill; done += FILL_RANGE) dump.memory64(at + BigInt(done), heap(Math.min(FILL_RANGE, fill - done)));
      console.log(`make-2gb-dump: ${ranges.length} ranges copied, ${Math.ceil(fill / FILL_RANGE)} heap ranges (${fill} bytes) from 0x${at.toString(16)}`);
      break;
    }
    default:
      throw new Error(`make-2gb-dump: stream 0x${entry.type.toString(16)} is not one wine writes; this script does not know its RVAs`);
  }
}

const fd = openSync(out, 'w');
for (const chunk of dump.chunks()) {
  for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done);
}
closeSync(fd);
source.close();
const bytes = statSync(out).size;
console.log(`make-2gb-dump: ${out}, ${bytes} bytes (${(bytes / 2 ** 30).toFixed(2)} GiB); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
