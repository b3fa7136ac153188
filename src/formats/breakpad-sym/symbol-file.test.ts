import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource, type ByteSource } from '../../io/byte-source.js';
import { isFormatError } from '../../io/errors.js';
import { loadSymbolFile, type SymbolFile } from './symbol-file.js';
import { scanSymbolFile, type RecordColumns } from './scan.js';

function source(text: string, name = 'test.sym'): BufferSource {
  return new BufferSource(new TextEncoder().encode(text), name);
}

function load(text: string): Promise<SymbolFile> {
  return loadSymbolFile(source(text));
}

const MAIN = [
  'MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test app.pdb',
  'INFO CODE_ID 45E8D93A2D000 test_app.exe',
  'INFO GENERATOR dump_syms 1.0',
  'FILE 1 c:\\src\\main.cc',
  'FILE 2 c:\\src\\util.h',
  'FILE 1 c:\\duplicate-id.cc',
  'FUNC 1000 30 8 main(int, char**)',
  '1000 10 10 1',
  '1010 10 11 1',
  '1018 8 99 2',
  '1020 10 12 2',
  'FUNC 1010 8 0 overlaps_main',
  '1010 8 500 1',
  'FUNC m 1100 20 0 folded',
  '1100 20 20 1',
  'PUBLIC 1200 4 public_after_folded',
  'PUBLIC 1200 8 duplicate_public',
  'PUBLIC 1290 0 public_below_func',
  'FUNC 12a0 10 0 func_after_public',
  'PUBLIC 0 0 public_at_zero',
  'PUBLIC m 1400 c public_multiple',
].join('\n');

test('MODULE and INFO CODE_ID', async () => {
  const file = await load(MAIN);
  assert.deepEqual(file.module, { os: 'windows', arch: 'x86', debugId: '5A9832E5287241C1838ED98914E9B7FF1', debugFile: 'test app.pdb' });
  assert.equal(file.codeId, '45E8D93A2D000');
  assert.equal(file.parseErrors, 1, 'only the duplicate PUBLIC address counts as an error');
});

test('FUNC with line records', async () => {
  const file = await load(MAIN);
  assert.deepEqual(await file.lookup(0x1013), {
    functionName: 'main(int, char**)',
    functionAddress: 0x1000,
    functionSize: 0x30,
    parameterSize: 8,
    isPublic: false,
    isMultiple: false,
    file: 'c:\\src\\main.cc',
    line: 11,
    lineAddress: 0x1010,
    inlines: [],
  });
  const folded = await file.lookup(0x111f);
  assert.equal(folded?.functionName, 'folded');
  assert.equal(folded?.isMultiple, true);
});

test('a line record overlapping an earlier one is dropped (RangeMap: first wins)', async () => {
  const file = await load(MAIN);
  const r = await file.lookup(0x101c);
  assert.equal(r?.line, 11);
  assert.equal((await file.lookup(0x1020))?.file, 'c:\\src\\util.h');
});

test('a FUNC overlapping an earlier one is dropped with its lines', async () => {
  const file = await load(MAIN);
  const r = await file.lookup(0x1012);
  assert.equal(r?.functionName, 'main(int, char**)');
  assert.equal(r?.line, 11);
});

test('a FUNC address without a covering line record has no source location', async () => {
  const file = await load('FILE 0 a.c\nFUNC 100 10 0 f\n100 4 1 0\n');
  const r = await file.lookup(0x108);
  assert.equal(r?.functionName, 'f');
  assert.equal(r?.file, undefined);
  assert.equal(r?.line, undefined);
  assert.equal(r?.lineAddress, undefined);
});

test('PUBLIC: used past the end of the nearest FUNC, never before a FUNC start', async () => {
  const file = await load(MAIN);
  const after = await file.lookup(0x1210);
  assert.equal(after?.functionName, 'public_after_folded', 'the first PUBLIC at an address wins');
  assert.equal(after?.isPublic, true);
  assert.equal(after?.functionAddress, 0x1200);
  assert.equal(after?.functionSize, undefined);
  assert.equal(after?.parameterSize, 4);
  assert.equal((await file.lookup(0x1295))?.functionName, 'public_below_func');
  // Past func_after_public: the nearest PUBLIC (0x1290) starts below that FUNC, so nothing.
  assert.equal(await file.lookup(0x12b5), undefined);
  assert.equal(file.hasSymbol(0x12b5), false);
  assert.equal(file.hasSymbol(0x12a5), true);
  const m = await file.lookup(0x1500);
  assert.equal(m?.functionName, 'public_multiple');
  assert.equal(m?.isMultiple, true);
  assert.equal(m?.parameterSize, 0xc);
});

test('PUBLIC at address 0 is ignored, and nothing covers addresses below the first symbol', async () => {
  const file = await load(MAIN);
  assert.equal(await file.lookup(0x10), undefined);
  assert.equal(file.hasSymbol(0x10), false);
  assert.equal(await file.lookup(-1), undefined);
});

const INLINES = [
  'FILE 1 main.cc',
  'FILE 3 inl.h',
  'INLINE_ORIGIN 0 outer_inline()',
  'INLINE_ORIGIN 1 inner_inline()',
  'FUNC 2000 100 0 with_inlines',
  'INLINE 0 50 1 0 2010 40',
  'INLINE 1 60 3 1 2020 10',
  'INLINE 1 70 9 5 2040 8',
  'INLINE 3 80 1 0 2020 4',
  '2000 20 100 1',
  '2020 10 200 3',
  '2030 d0 300 1',
].join('\n');

test('INLINE (new form): innermost frame at the line record, outer ones at call sites', async () => {
  const file = await load(INLINES);
  assert.deepEqual(await file.lookup(0x2025), {
    functionName: 'with_inlines',
    functionAddress: 0x2000,
    functionSize: 0x100,
    parameterSize: 0,
    isPublic: false,
    isMultiple: false,
    file: 'main.cc',
    line: 50,
    lineAddress: 0x2020,
    inlines: [
      { name: 'inner_inline()', file: 'inl.h', line: 200, functionAddress: 0x2020 },
      { name: 'outer_inline()', file: 'inl.h', line: 60, functionAddress: 0x2010 },
    ],
  });
});

test('INLINE: unknown origin and unknown call-site file fall back like Breakpad', async () => {
  const file = await load(INLINES);
  const r = await file.lookup(0x2042);
  assert.equal(r?.file, 'main.cc');
  assert.equal(r?.line, 50);
  assert.deepEqual(r?.inlines, [
    { name: '<name omitted>', file: 'main.cc', line: 300, functionAddress: 0x2040 },
    // Call-site file 9 does not exist: Breakpad keeps the line record's file.
    { name: 'outer_inline()', file: 'main.cc', line: 70, functionAddress: 0x2010 },
  ]);
});

test('INLINE: a record nested too deep after its parent level is dropped; outside inlines nothing changes', async () => {
  const file = await load(INLINES);
  const r = await file.lookup(0x2021);
  assert.equal(r?.inlines.length, 2, 'the nest-level-3 INLINE is ignored');
  const plain = await file.lookup(0x2005);
  assert.equal(plain?.line, 100);
  assert.deepEqual(plain?.inlines, []);
});

test('INLINE (old form): no call-site file, so every frame shows the line record’s file', async () => {
  const file = await load(['FILE 0 a.cc', 'FILE 1 b.h', 'INLINE_ORIGIN 0 1 foo()', 'FUNC 100 50 0 f', 'INLINE 0 42 0 110 10', '100 50 7 1'].join('\n'));
  const r = await file.lookup(0x115);
  assert.equal(r?.file, 'b.h');
  assert.equal(r?.line, 42);
  assert.deepEqual(r?.inlines, [{ name: 'foo()', file: 'b.h', line: 7, functionAddress: 0x110 }]);
});

test('\\r\\n line endings, blank lines and a missing final newline change nothing', async () => {
  const plain = await load(MAIN + '\n' + INLINES);
  const crlf = await load(('\r\n' + MAIN + '\n\n' + INLINES).replaceAll('\n', '\r\n'));
  for (const rva of [0x1013, 0x1210, 0x2025, 0x2042]) {
    assert.deepEqual(await crlf.lookup(rva), await plain.lookup(rva));
  }
  assert.equal(crlf.parseErrors, plain.parseErrors);
  assert.equal(crlf.module?.debugFile, 'test app.pdb');
});

test('malformed lines are skipped and counted, never thrown', async () => {
  const bad = [
    '1000 10 1 1', // line record before any FUNC
    'FUNC 1000 10', // too few fields
    '1000 4 1 1', // line record after a bad FUNC
    'FUNC 2000 10 0 good',
    '2000 zz 1 1',
    '2000 4 -1 1',
    '2004 4 7 0',
    'INLINE 0 1', // too short
    'FILE x name',
    'INLINE_ORIGIN x name',
    'PUBLIC 3000',
    '2008 4 8 0', // after a PUBLIC: no current FUNC
    'INLINE 0 1 0 2000 4', // INLINE without a FUNC
    'STACK WIN 4 1 2',
    'STACK CFI',
    'STACK MACHO 1',
    'MODULE windows',
    'INFO',
    'garbage \u0000 \uffff',
    '   ',
  ];
  const file = await load(bad.join('\n'));
  // Line and INLINE records inside a FUNC block are checked only when a lookup decodes the block,
  // so the three bad ones there ('2000 zz 1 1', '2000 4 -1 1', 'INLINE 0 1') are not counted.
  assert.equal(file.parseErrors, 15);
  const r = await file.lookup(0x2005);
  assert.equal(r?.functionName, 'good');
  assert.equal(r?.line, 7);
  assert.equal(r?.file, undefined, 'FILE 0 is not defined');
  assert.equal(file.module, undefined);
});

const WIN_AND_CFI = [
  'STACK WIN 0 3000 100 0 0 0 0 0 0 0 1',
  'STACK WIN 0 3010 10 0 0 0 0 0 0 0 0',
  'STACK WIN 4 3000 80 4 1 8 4 10 0 1 $T0 $ebp = outer',
  'STACK WIN 4 3020 10 1 0 0 0 0 0 1 $T0 $esp = inner',
  'STACK WIN 4 3018 10 0 0 0 0 0 0 1 partial overlap, dropped',
  'STACK WIN 3 3000 100 0 0 0 0 0 0 0 0',
  'STACK CFI INIT 4000 20 .cfa: $esp 4 + .ra: .cfa 4 - ^',
  'STACK CFI 4001 .cfa: $esp 8 + $ebp: .cfa 8 - ^',
  'STACK CFI 4003 .cfa: $ebp 8 +',
  'STACK CFI 4003 .cfa: $ebp 12 +',
  'STACK CFI 4005 $esi: .cfa 12 - ^ $edi:',
  'STACK CFI 3fff .cfa: before_init',
  'STACK CFI INIT 4010 10 .cfa: $esp 4 +',
  'STACK CFI INIT 5000 10 .cfa: .ra: x',
  'STACK CFI 5004 .cfa: $esp 4 +',
].join('\n');

test('the scan gives the same index whatever the chunk size', async () => {
  const text = (MAIN + '\r\n' + INLINES + '\n' + WIN_AND_CFI).replaceAll('main', 'm\u00e4in');
  const columns = (c: RecordColumns): number[][] => [c.address, c.size, c.start, c.end].map((col) => Array.from(col.toArray()));
  const summary = async (chunk: number): Promise<string> => {
    const r = await scanSymbolFile(source(text), chunk);
    return JSON.stringify([r.module, r.codeId, r.parseErrors, ...[r.funcs, r.publics, r.files, r.inlineOrigins, r.frameData, r.fpo, r.cfiInit, r.cfiDelta].map(columns)]);
  };
  const reference = await summary(1 << 20);
  for (const chunk of [1, 2, 3, 7, 64, 1000]) assert.equal(await summary(chunk), reference, `chunk ${chunk}`);
});

test('STACK WIN: FrameData (type 4) wins over FPO (type 0) even when FPO is the tighter fit', async () => {
  const file = await load(WIN_AND_CFI);
  const outer = await file.findWindowsFrameInfo(0x3012);
  assert.deepEqual(outer, {
    type: 4,
    rva: 0x3000,
    codeSize: 0x80,
    prologueSize: 4,
    epilogueSize: 1,
    parameterSize: 8,
    savedRegisterSize: 4,
    localSize: 0x10,
    maxStackSize: 0,
    allocatesBasePointer: false,
    programString: '$T0 $ebp = outer',
  });
  assert.equal((await file.findWindowsFrameInfo(0x3022))?.programString, '$T0 $esp = inner', 'innermost type 4');
  assert.equal((await file.findWindowsFrameInfo(0x3019))?.programString, '$T0 $ebp = outer', 'partial overlap dropped');
  const fpo = await file.findWindowsFrameInfo(0x3090);
  assert.equal(fpo?.type, 0);
  assert.equal(fpo?.rva, 0x3000);
  assert.equal(fpo?.allocatesBasePointer, true);
  assert.equal(fpo?.programString, undefined);
  assert.equal(await file.findWindowsFrameInfo(0x3100), undefined);
});

test('STACK CFI: INIT rules overlaid with the deltas up to the address', async () => {
  const file = await load(WIN_AND_CFI);
  const at = async (rva: number): Promise<Record<string, string> | undefined> => {
    const rules = await file.findCfiRules(rva);
    return rules && Object.fromEntries(rules);
  };
  assert.deepEqual(await at(0x4000), { '.cfa': '$esp 4 +', '.ra': '.cfa 4 - ^' });
  assert.deepEqual(await at(0x4002), { '.cfa': '$esp 8 +', '.ra': '.cfa 4 - ^', $ebp: '.cfa 8 - ^' });
  assert.deepEqual(await at(0x4003), { '.cfa': '$ebp 12 +', '.ra': '.cfa 4 - ^', $ebp: '.cfa 8 - ^' }, 'a later delta at the same address wins');
  // The malformed delta still sets $esi (rules before the bad part apply, as in Breakpad).
  assert.deepEqual(await at(0x401f), { '.cfa': '$ebp 12 +', '.ra': '.cfa 4 - ^', $ebp: '.cfa 8 - ^', $esi: '.cfa 12 - ^' });
  assert.equal(await at(0x4020), undefined, 'the overlapping INIT at 4010 is dropped; nothing past 401f');
  assert.equal(await at(0x3fff), undefined);
  assert.equal(await at(0x5005), undefined, 'a malformed INIT gives no rules');
});

test('I/O failures throw FormatError, at load and at lookup', async () => {
  const good = new TextEncoder().encode(INLINES);
  const truncated: ByteSource = {
    name: 'short.sym',
    size: good.length + 10,
    read: (offset, length) => Promise.resolve(good.subarray(offset, offset + length)),
  };
  await assert.rejects(loadSymbolFile(truncated), isFormatError);

  let fail = false;
  const flaky: ByteSource = {
    name: 'flaky.sym',
    size: good.length,
    read: (offset, length) => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve(good.subarray(offset, offset + length))),
  };
  const file = await loadSymbolFile(flaky);
  fail = true;
  await assert.rejects(file.lookup(0x2025), /EIO/);
  fail = false;
  assert.equal((await file.lookup(0x2025))?.line, 50, 'a failed decode is not cached');
});
