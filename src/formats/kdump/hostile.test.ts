// Kernel dumps that lie: counts and offsets past the file, truncation, names outside the string
// pool. Each gives a clean FormatError or a partial snapshot with warnings, and bounded reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { CountingSource } from '../../testing/counting.js';
import { readKernelDump } from './read-kernel-dump.js';

const rizin = (): Uint8Array => new Uint8Array(readFileSync(corpusPath('external', 'kernel', 'rizin-triage_x64.dmp')));
const put32 = (b: Uint8Array, at: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(at, v >>> 0, true);

async function read(bytes: Uint8Array): Promise<{ snapshot: Awaited<ReturnType<typeof readKernelDump>>; bytesRead: number }> {
  const source = new CountingSource(new BufferSource(bytes, 'hostile.dmp'));
  const snapshot = await readKernelDump(source);
  return { snapshot, bytesRead: source.counts.bytes };
}

test('hostile kernel dump: DriverCount past the file reads the entries that fit, with a warning', needsCorpus, async () => {
  const b = rizin();
  put32(b, 0x2000 + 0x34, 0x7fffffff);
  const { snapshot, bytesRead } = await read(b);
  assert.ok(snapshot.modules.length > 151);
  assert.ok(snapshot.warnings.some((w) => /DriverCount 2147483647 does not fit/.test(w)));
  assert.ok(bytesRead < 8 * b.length, `read ${bytesRead} bytes of a ${b.length}-byte file`);
});

test('hostile kernel dump: driver names outside the string pool are named by index, each with a warning', needsCorpus, async () => {
  const b = rizin();
  for (let i = 0; i < 3; i++) put32(b, 0x10828 + i * 0x90, 0xfffffff0);
  const { snapshot } = await read(b);
  assert.equal(snapshot.modules.length, 151);
  assert.deepEqual(snapshot.modules.slice(0, 3).map((m) => m.codeFile), ['driver0', 'driver1', 'driver2']);
  assert.equal(snapshot.warnings.filter((w) => /outside the string pool/.test(w)).length, 3);
});

test('hostile kernel dump: a DUMP_STRING length past the pool is refused', needsCorpus, async () => {
  const b = rizin();
  put32(b, 0x2000 + 0x3c, 0x20); // StringPoolSize: only the first name's start is inside
  const { snapshot } = await read(b);
  assert.ok(snapshot.warnings.some((w) => /length 33 runs past the string pool/.test(w)));
  assert.equal(snapshot.modules[0]!.codeFile, 'driver0');
});

test('hostile kernel dump: DataBlocksCount past the file, and blocks pointing past it, are skipped', needsCorpus, async () => {
  const b = rizin();
  put32(b, 0x2000 + 0x7c, 0xffffffff);
  put32(b, 0x19438 + 8, 0xfffff000);
  const { snapshot, bytesRead } = await read(b);
  assert.ok(snapshot.warnings.some((w) => /DataBlocksCount 4294967295 does not fit/.test(w)));
  assert.ok(snapshot.warnings.some((w) => /TRIAGE_DATA_BLOCK 0 .* past the end of the file/.test(w)));
  assert.ok(bytesRead < 8 * b.length);
});

test('hostile kernel dump: truncated inside the triage structures, the header still reads', needsCorpus, async () => {
  const b = rizin().subarray(0, 0x2040);
  const { snapshot } = await read(b);
  assert.equal(snapshot.kernel!.bugcheck.code, 0x1000007e);
  assert.deepEqual(snapshot.kernel!.unread, ['the small dump (TRIAGE_DUMP) structures']);
  assert.equal(snapshot.modules.length, 0);
});

test('hostile kernel dump: truncated inside the header is a FormatError naming DUMP_HEADER64', needsCorpus, async () => {
  await assert.rejects(read(rizin().subarray(0, 0x1000)), (e: unknown) => e instanceof FormatError && /DUMP_HEADER64/.test(e.message) && /hostile\.dmp/.test(e.message));
});

test('hostile kernel dump: a full dump whose run count overflows the descriptor keeps the header, memory unread', needsCorpus, async () => {
  const b = rizin();
  put32(b, 0xf98, 1); // DumpType 1: physical memory runs
  put32(b, 0x88, 0x10000); // NumberOfRuns
  const { snapshot } = await read(b);
  assert.ok(snapshot.warnings.some((w) => /runs do not fit in the header/.test(w)));
  assert.ok(snapshot.kernel!.unread.some((u) => /physical memory/.test(u)));
});

test('hostile kernel dump: a bitmap dump whose bitmap is larger than the file is refused cleanly', needsCorpus, async () => {
  const b = rizin();
  put32(b, 0xf98, 5);
  b.set(new TextEncoder().encode('FDMPDUMP'), 0x2000);
  put32(b, 0x2030, 0xffffffff);
  put32(b, 0x2034, 0xff);
  const { snapshot } = await read(b);
  assert.ok(snapshot.warnings.some((w) => /bitmap of .* pages needs .* more than the file holds/.test(w)));
});

test('hostile kernel dump: a PRCB copy naming processor 255 of 16 names no bugcheck processor (a fuzz finding)', needsCorpus, async () => {
  const b = rizin();
  b.set(new Uint8Array(8).fill(0x41), 0x21b8 + 8); // CurrentThread: no processor runs it
  b[0x21b8 + 0x24] = 0xff; // Number
  const { snapshot } = await read(b);
  assert.equal(snapshot.kernel!.bugcheckProcessor, undefined);
  assert.ok(snapshot.threads[0]!.context, 'the header context stands in');
});
