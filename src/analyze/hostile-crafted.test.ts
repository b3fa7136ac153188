// Crafted hostile inputs (issue 6's acceptance): count fields of 2^32 − 1, a module list that
// points back into itself or lies over the stream directory, and symbol files whose CFI rules and
// STACK WIN programs refer to their own results. Each goes through the whole analysis (or a real
// walk) and must end with a clear result: a FormatError naming file, structure and offset, a
// warning saying what was dropped, or a walk that stops. The work is bounded, not timed: the
// analysis asks the file for no more than twice its bytes (a loop over 2^32 declared entries would
// ask for gigabytes), and the walk reads a handful of stack words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../io/byte-source.js';
import { isFormatError } from '../io/errors.js';
import { toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderText } from '../report/text.js';
import { CountingSource } from '../testing/counting.js';
import { StackBuilder, Stream, SynthMinidump, rsds, testModule, walkStack, x86Context, type StreamWriter } from '../testing/synth/index.js';
import { analyzeMinidump } from './process.js';
import type { Analysis } from './types.js';

const NAME = 'crafted.dmp';
const COUNT_MAX = 0xffffffff;
const MODULE_BASE = 0x400000;
/** The only clock: a hang fails here; the work bounds below fail a regression at once. */
const HANG = { timeout: 60_000 };

/** The file as a source that counts what is read of it: within twice the file's size, plus a page for reads past its end. */
function countedSource(bytes: Uint8Array): CountingSource {
  return new CountingSource(new BufferSource(bytes, NAME), readBound(bytes));
}

function readBound(bytes: Uint8Array): number {
  return 2 * bytes.length + 0x1000;
}

function assertBoundedReads(source: CountingSource, bytes: Uint8Array): void {
  assert.ok(source.counts.bytes <= readBound(bytes), `${source.counts.reads} reads asked for ${source.counts.bytes} bytes of a ${bytes.length}-byte file`);
}

/** Analyses and renders every report; bounds the reads the analysis made of the file. */
async function analyse(bytes: Uint8Array): Promise<{ analysis: Analysis }> {
  const source = countedSource(bytes);
  const analysis = await analyzeMinidump(source);
  renderText(analysis);
  JSON.stringify(toJson(analysis));
  renderKf(analysis);
  assertBoundedReads(source, bytes);
  return { analysis };
}

/** An x86 crash with a two-frame EBP chain through app.exe, and every list the tests corrupt. */
function crash(moduleList?: StreamWriter): SynthMinidump {
  const stack = new StackBuilder(0x0012f000, 4);
  // frame 0's ebp -> saved ebp (frame 1's), return address into app.exe; frame 1's ebp -> 0.
  stack.words(0x0012f008, MODULE_BASE + 0x1234, 0, MODULE_BASE + 0x2345, 0, 0);
  const context = x86Context({ eip: MODULE_BASE + 0x1000, esp: 0x0012f000, ebp: 0x0012f000 });
  const dump = new SynthMinidump();
  if (moduleList) dump.stream(Stream.ModuleList, moduleList);
  dump
    .systemInfo({ cpu: 'x86', platform: 'windows' })
    .thread({ id: 1, context, stack })
    .memory(0x00500000, new Uint8Array(64).fill(0xcc))
    .memory64(0x00600000, new Uint8Array(32).fill(0x90))
    .exception({ threadId: 1, code: 0xc0000005, address: MODULE_BASE + 0x1000, parameters: [1n, 0x45n], context });
  if (!moduleList) dump.module({ base: MODULE_BASE, size: 0x10000, name: 'C:\\app.exe', codeView: rsds('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'app.pdb') });
  return dump;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The directory entry of a stream type: where it is, and the stream's size and RVA. */
function streamEntry(bytes: Uint8Array, type: number): { at: number; size: number; rva: number } {
  const v = view(bytes);
  const directory = v.getUint32(12, true);
  for (let i = 0; i < v.getUint32(8, true); i++) {
    const at = directory + i * 12;
    if (v.getUint32(at, true) === type) return { at, size: v.getUint32(at + 4, true), rva: v.getUint32(at + 8, true) };
  }
  throw new Error(`no stream ${type}`);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

test('the crafted crash itself: one thread walked through app.exe, no warnings', HANG, async () => {
  const { analysis } = await analyse(crash().build());
  assert.deepEqual(analysis.warnings, []);
  assert.equal(analysis.snapshot.modules.length, 1);
  assert.equal(analysis.snapshot.memory.regions.length, 2);
  assert.deepEqual(
    analysis.threads[0]!.frames.map((f) => [f.trust, f.ip]),
    [
      ['context', BigInt(MODULE_BASE + 0x1000)],
      ['frame_pointer', BigInt(MODULE_BASE + 0x1234)],
      ['frame_pointer', BigInt(MODULE_BASE + 0x2345)],
    ],
  );
});

// (a) Count fields of 2^32 − 1: the list is dropped with a warning naming it and its offset; the
// other streams are read and the thread is still walked (when it is not the list that was lost):
// the EBP chain needs stack memory, not modules.
const LISTS = [
  { type: Stream.ThreadList, structure: 'MINIDUMP_THREAD_LIST', entry: 48 },
  { type: Stream.ModuleList, structure: 'MINIDUMP_MODULE_LIST', entry: 108 },
  { type: Stream.MemoryList, structure: 'MINIDUMP_MEMORY_LIST', entry: 16 },
] as const;

for (const list of LISTS) {
  test(`a ${list.structure} count of 2^32 - 1: a warning names the list and its offset, the rest is analysed`, HANG, async () => {
    const bytes = crash().build();
    const stream = streamEntry(bytes, list.type);
    view(bytes).setUint32(stream.rva, COUNT_MAX, true);
    const { analysis } = await analyse(bytes);
    assert.deepEqual(analysis.warnings, [
      `${NAME}: ${list.structure} at offset ${hex(stream.rva)}: declares 4294967295 entries of ${list.entry} bytes but the stream holds only ${stream.size} bytes`,
    ]);
    const s = analysis.snapshot;
    assert.equal(s.threads.length, list.type === Stream.ThreadList ? 0 : 1);
    assert.equal(s.modules.length, list.type === Stream.ModuleList ? 0 : 1);
    assert.equal(s.memory.regions.length, list.type === Stream.MemoryList ? 1 : 2);
    assert.equal(analysis.threads.length, s.threads.length);
    if (list.type !== Stream.ThreadList) assert.equal(analysis.threads[0]!.frames.length, 3);
  });
}

test('a Memory64List count of 2^64 - 1 is a warning naming the list and its offset', HANG, async () => {
  const bytes = crash().build();
  const stream = streamEntry(bytes, Stream.Memory64List);
  view(bytes).setBigUint64(stream.rva, 0xffffffffffffffffn, true);
  const { analysis } = await analyse(bytes);
  assert.deepEqual(analysis.warnings, [`${NAME}: MINIDUMP_MEMORY64_LIST at offset ${hex(stream.rva)}: range count 0xffffffffffffffff is too large`]);
  assert.equal(analysis.snapshot.memory.regions.length, 1);
  assert.equal(analysis.threads[0]!.frames.length, 3);
});

test('a stream count of 2^32 - 1 in the header is a FormatError naming the file, MINIDUMP_HEADER and offset 8', HANG, async () => {
  const bytes = crash().build();
  view(bytes).setUint32(8, COUNT_MAX, true);
  const source = countedSource(bytes);
  await assert.rejects(analyzeMinidump(source), (e) => {
    assert.ok(isFormatError(e));
    assert.equal(e.file, NAME);
    assert.equal(e.structure, 'MINIDUMP_HEADER');
    assert.equal(e.offset, 8);
    assert.match(e.message, /^crafted\.dmp: MINIDUMP_HEADER at offset 0x8: stream count 4294967295 does not fit in the file/);
    return true;
  });
  assertBoundedReads(source, bytes);
});

// (b) A module list that refers to itself.

test('a module whose name RVA is its own list\'s count and whose CodeView record is the module entry itself', HANG, async () => {
  let listRva = 0;
  const bytes = crash((s) => {
    listRva = Number(s.here);
    s.u32(1); // NumberOfModules, read again as the name's MINIDUMP_STRING length: 1 byte
    const entryRva = Number(s.here);
    // MINIDUMP_MODULE, 108 bytes: BaseOfImage (its low half spells 'RSDS'), SizeOfImage, CheckSum, TimeDateStamp, ModuleNameRva.
    s.u32(0x53445352).u32(0).u32(0x10000).u32(0).u32(0).u32(listRva);
    s.fill(52); // VS_FIXEDFILEINFO
    s.u32(108).u32(entryRva); // CvRecord: the entry itself
    s.u32(0).u32(0).u64(0).u64(0);
  }).build();
  const { analysis } = await analyse(bytes);
  assert.deepEqual(analysis.warnings, [`${NAME}: module #0 name at offset ${hex(listRva)}: implausible string length 1`]);
  const [module] = analysis.snapshot.modules;
  assert.ok(module);
  assert.equal(module.base, 0x53445352n);
  assert.equal(module.codeFile, '');
  // The entry read as an RSDS record: its bytes 4..19 as the GUID, bytes 20..23 (the name RVA) as the age.
  assert.equal(module.debugId, `00000000000000010000000000000000${listRva.toString(16)}`);
  assert.equal(module.debugFile, '');
  assert.equal(analysis.threads[0]!.frames.length, 3);
});

test('a module whose name RVA points at its own name field: the RVA reads as the string length, the zeros after it as an empty name', HANG, async () => {
  let nameField = 0;
  const bytes = crash((s) => {
    s.u32(1);
    nameField = Number(s.here) + 20;
    s.u64(MODULE_BASE).u32(0x10000).u32(0).u32(0).u32(nameField);
    s.fill(52).u32(0).u32(0).u32(0).u32(0).u64(0).u64(0);
  }).build();
  const { analysis } = await analyse(bytes);
  // MINIDUMP_STRING at nameField: Length is nameField itself (a few hundred bytes, inside the file), then zeros.
  assert.ok(nameField < bytes.length);
  assert.deepEqual(analysis.warnings, []);
  assert.equal(analysis.snapshot.modules[0]!.codeFile, '');
  assert.equal(analysis.snapshot.modules[0]!.base, BigInt(MODULE_BASE));
  assert.equal(analysis.threads[0]!.frames.length, 3);
});

test('a module list lying over the stream directory: entries are read from the directory and other streams, each problem a warning', HANG, async () => {
  const bytes = crash((s) => s.u32(0)).build();
  const v = view(bytes);
  const directory = v.getUint32(12, true);
  const entry = streamEntry(bytes, Stream.ModuleList);
  assert.equal(entry.at, directory, 'the module list is the first stream');
  // The list now starts at the directory: its count is the directory's first stream type (4, ModuleList).
  v.setUint32(entry.at + 4, bytes.length - directory, true);
  v.setUint32(entry.at + 8, directory, true);
  const { analysis } = await analyse(bytes);
  const s = analysis.snapshot;
  assert.equal(s.modules.length, 4);
  // Names and CodeView records at RVAs made of directory and stream bytes: each one a warning naming module, what and where.
  assert.deepEqual(analysis.warnings, [
    `${NAME}: module #0 name at offset 0x3: implausible string length 10982224`,
    `${NAME}: module #0 CodeView record at offset 0xa: needs 4096 bytes but the file ends at ${hex(bytes.length)} (truncated?)`,
    `${NAME}: module #1 name at offset 0x1: implausible string length 2471513412`,
    `${NAME}: module #2 name at offset 0x0: implausible string length 1347241037`,
    `${NAME}: module #3 name at offset 0x0: implausible string length 1347241037`,
    `${NAME}: module #3 CodeView record at offset 0x401234: needs 4096 bytes but the file ends at ${hex(bytes.length)} (truncated?)`,
  ]);
  assert.equal(s.threads.length, 1);
  assert.equal(analysis.threads[0]!.frames.length, 3);
});

test('a module list located at the file header: its count is "MDMP" read as a number, a warning', HANG, async () => {
  const bytes = crash((s) => s.u32(0)).build();
  const entry = streamEntry(bytes, Stream.ModuleList);
  view(bytes).setUint32(entry.at + 8, 0, true);
  view(bytes).setUint32(entry.at + 4, 32, true);
  const { analysis } = await analyse(bytes);
  assert.deepEqual(analysis.warnings, [`${NAME}: MINIDUMP_MODULE_LIST at offset 0x0: declares 1347241037 entries of 108 bytes but the stream holds only 32 bytes`]);
});

// (c) Symbol files whose rules refer to their own results, on a real walk.

const APP = testModule('app.exe', 0x40000000, 0x10000);

/** FUNC records, so scanning accepts return addresses into f and g (Breakpad's InstructionAddressSeemsValid). */
const FUNCS = 'FUNC 1000 100 0 f\nFUNC 2f00 200 0 g\n';

/** A stack whose first word is a return address into f, then one into g further up. */
function appStack(): StackBuilder {
  return new StackBuilder(0x80000000, 4).words(0x40001010, 0, 0, 0, 0x40003000, 0, 0, 0);
}

/**
 * Walks appStack with the symbols; the walk reads few stack words. A context-frame scan covers the
 * 8 words at most 4 times over (CFI, STACK WIN, frame pointer, scan), and each further frame as
 * much again: a walk that kept re-evaluating a rule, or found the same frame over and over, reads
 * far more.
 */
async function boundedWalk(symbols: string, eip: number): Promise<Awaited<ReturnType<typeof walkStack>>> {
  const result = await walkStack({ cpu: 'x86', os: 'windows', modules: [APP], symbols: { 'app.exe': symbols }, stack: appStack(), registers: { eip, esp: 0x80000000, ebp: 0 } });
  assert.ok(result.stackReads <= 64, `the walk read ${result.stackReads} stack words`);
  return result;
}

test('STACK CFI rules that reference themselves (.cfa: .cfa 8 +, .ra: .ra) do not evaluate: the walk falls back to scanning and ends', HANG, async () => {
  const symbols = FUNCS + 'STACK CFI INIT 1000 10 .cfa: .cfa 8 + .ra: .ra\nSTACK CFI 1004 .cfa: .cfa 4 + $ebp: $ebp\n';
  const { frames, truncated } = await boundedWalk(symbols, 0x40001004);
  assert.equal(truncated, false);
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x40001004n],
      ['scan', 0x40001010n],
      ['scan', 0x40003000n],
    ],
  );
});

test('a STACK WIN program reading a variable before it assigns it ($T0 $T0 4 + =) fails: the walk falls back to scanning and ends', HANG, async () => {
  const symbols = FUNCS + 'STACK WIN 4 1000 100 0 0 0 0 0 0 1 $T0 $T0 4 + = $eip $T0 ^ = $esp $T0 4 + =\n';
  const { frames, truncated } = await boundedWalk(symbols, 0x40001004);
  assert.equal(truncated, false);
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x40001004n],
      ['scan', 0x40001010n],
      ['scan', 0x40003000n],
    ],
  );
});

test('a STACK WIN program whose new $esp is its old one ($esp $esp =) gives one frame at most: the stack pointer must grow', HANG, async () => {
  // $eip comes from [$esp], a return address into the same function, so the same program runs again.
  const symbols = FUNCS + 'STACK WIN 4 1000 100 0 0 0 0 0 0 1 $eip $esp ^ = $esp $esp = $ebp $ebp =\n';
  const { frames, truncated } = await boundedWalk(symbols, 0x40001004);
  assert.equal(truncated, false);
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip, f.sp]),
    [
      ['context', 0x40001004n, 0x80000000n],
      ['cfi', 0x40001010n, 0x80000000n],
    ],
  );
});
