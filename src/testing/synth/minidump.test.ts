// The builder's streaming mode: chunks() writes the same bytes as build(), with the Memory64List's
// bytes last and LazyBytes made piece by piece when they are reached, never whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { readMinidump } from '../../formats/minidump/read-minidump.js';
import { amd64Context } from './context.js';
import { Stream, SynthMinidump, type LazyBytes } from './minidump.js';

const PIECE = 0x10000;

/** `size` bytes of a pattern that differs at every offset mod 251, in pieces of at most PIECE bytes; counts its calls. */
function pattern(size: number): LazyBytes & { calls: number; largest: number } {
  const lazy = {
    size,
    calls: 0,
    largest: 0,
    *chunks(): Generator<Uint8Array> {
      lazy.calls++;
      for (let at = 0; at < size; at += PIECE) {
        const piece = new Uint8Array(Math.min(PIECE, size - at));
        for (let i = 0; i < piece.length; i++) piece[i] = (at + i) % 251;
        lazy.largest = Math.max(lazy.largest, piece.length);
        yield piece;
      }
    },
  };
  return lazy;
}

function dumpWith(lazy: LazyBytes): SynthMinidump {
  return new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: 'windows' })
    .thread({ id: 7, context: amd64Context({ rip: 0x401000, rsp: 0x20000 }) })
    .memory64(0x10000, new Uint8Array([1, 2, 3, 4]))
    .memory64(0x7ff000000000n, lazy)
    .module({ base: 0x400000, size: 0x1000, name: 'C:\\app.exe' });
}

function join(pieces: Iterable<Uint8Array>): Uint8Array {
  const all = [...pieces];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** MINIDUMP_MEMORY64_LIST's BaseRva and the sum of its DataSizes, read from the directory. */
function memory64Extent(bytes: Uint8Array): { baseRva: number; total: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const directory = view.getUint32(12, true);
  for (let i = 0; i < count; i++) {
    if (view.getUint32(directory + 12 * i, true) !== Stream.Memory64List) continue;
    const rva = view.getUint32(directory + 12 * i + 8, true);
    const ranges = Number(view.getBigUint64(rva, true));
    let total = 0;
    for (let r = 0; r < ranges; r++) total += Number(view.getBigUint64(rva + 16 + 16 * r + 8, true));
    return { baseRva: Number(view.getBigUint64(rva + 8, true)), total };
  }
  throw new Error('no Memory64List');
}

test('chunks(): joined, the pieces are build()\'s bytes, and the reader finds every byte of a lazy range', async () => {
  const size = 5 * PIECE + 123;
  const streamed = join(dumpWith(pattern(size)).chunks());
  assert.deepEqual(streamed, dumpWith(pattern(size)).build());
  const snapshot = await readMinidump(new BufferSource(streamed, 'streamed.dmp'));
  assert.deepEqual(
    snapshot.memory.regions.map((r) => [r.base, r.size]),
    [
      [0x10000n, 4],
      [0x7ff000000000n, size],
    ],
  );
  assert.deepEqual(await snapshot.memory.read(0x10000n, 4), new Uint8Array([1, 2, 3, 4]));
  for (const at of [0, PIECE - 1, 3 * PIECE + 17, size - 2]) {
    assert.deepEqual(await snapshot.memory.read(0x7ff000000000n + BigInt(at), 2), new Uint8Array([at % 251, (at + 1) % 251]), `offset ${at}`);
  }
  assert.equal(snapshot.threads[0]?.id, 7);
  assert.equal(snapshot.modules[0]?.codeFile, 'C:\\app.exe');
});

test('the header\'s Flags are the MINIDUMP_TYPE given, 0 by default', () => {
  const flags = (dump: SynthMinidump): bigint => new DataView(dump.build().buffer).getBigUint64(24, true);
  assert.equal(flags(new SynthMinidump({ flags: 0x1822n })), 0x1822n);
  assert.equal(flags(new SynthMinidump()), 0n);
});

test('chunks(): the Memory64List\'s bytes come last, after the strings and contexts the streams point at', () => {
  const bytes = dumpWith(pattern(3 * PIECE)).build();
  const { baseRva, total } = memory64Extent(bytes);
  assert.equal(baseRva + total, bytes.length);
  assert.equal(total, 4 + 3 * PIECE);
});

test('chunks(): a lazy range is made only when it is reached, and in its own pieces', () => {
  const lazy = pattern(40 * PIECE);
  const pieces = dumpWith(lazy).chunks();
  const head = pieces.next();
  assert.equal(head.done, false);
  assert.equal(lazy.calls, 0, 'nothing of the range is made to lay out the dump');
  let after = 0;
  let largest = 0;
  for (const piece of { [Symbol.iterator]: () => pieces }) {
    after += piece.length;
    largest = Math.max(largest, piece.length);
  }
  assert.equal(lazy.calls, 1);
  assert.equal(after, 4 + 40 * PIECE);
  assert.equal(largest, PIECE, 'no piece larger than the lazy range\'s own');
});

test('chunks(): LazyBytes that yield fewer or more bytes than their size throw', () => {
  const short: LazyBytes = { size: 10, chunks: () => [new Uint8Array(4)] };
  assert.throws(() => [...dumpWith(short).chunks()], /LazyBytes yielded 4 of its 10 bytes/);
  const long: LazyBytes = { size: 4, chunks: () => [new Uint8Array(3), new Uint8Array(3)] };
  assert.throws(() => dumpWith(long).build(), /LazyBytes yielded more than its 4 bytes/);
});
