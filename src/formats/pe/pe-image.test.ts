import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Directory, Machine } from './constants.js';
import { PeImage } from './pe-image.js';
import {
  DATA,
  PeBuilder,
  TEXT,
  concat,
  debugDirectory,
  exportDirectory,
  imageBytes,
  le,
  nb10Record,
  rsdsRecord,
  runtimeFunctions,
} from './testing.js';

const LAYOUTS = ['file', 'memory'] as const;

/** .text, .rdata (half of it in the file, the rest zero fill), .data, and a .pdata of three functions. */
function sample(options: { is64?: boolean } = {}): PeBuilder {
  const pe = new PeBuilder({ is64: options.is64 ?? true, timeDateStamp: 0x6543210f, checksum: 0x1234, imageBase: options.is64 === false ? 0x10000000n : 0x180000000n });
  pe.section({ name: '.text', data: Array.from({ length: 0x300 }, (_, i) => i & 0xff), characteristics: TEXT });
  pe.section({ name: '.rdata', data: [1, 2, 3, 4], virtualSize: 0x1800 });
  pe.section({ name: '.data', data: [9, 9], characteristics: DATA });
  const pdataRva = pe.nextRva;
  const pdata = runtimeFunctions([
    { begin: 0x1000, end: 0x1010, unwindInfo: 0x2000 },
    { begin: 0x1010, end: 0x1080, unwindInfo: 0x2008 },
    { begin: 0x1100, end: 0x1200, unwindInfo: 0x2010 },
  ]);
  pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  return pe;
}

for (const layout of LAYOUTS) {
  test(`PE32+ headers, sections and directories (${layout} layout)`, async () => {
    const image = await PeImage.parse(sample().build(layout));
    assert.equal(image.machine, Machine.AMD64);
    assert.equal(image.is64, true);
    assert.equal(image.timeDateStamp, 0x6543210f);
    assert.equal(image.checksum, 0x1234);
    assert.equal(image.imageBase, 0x180000000n);
    assert.equal(image.sizeOfImage, 0x6000);
    assert.deepEqual(
      image.sections.map((s) => [s.name, s.virtualAddress, s.virtualSize, s.rawDataSize]),
      [
        ['.text', 0x1000, 0x300, 0x400],
        ['.rdata', 0x2000, 0x1800, 0x200],
        ['.data', 0x4000, 2, 0x200],
        ['.pdata', 0x5000, 36, 0x200],
      ],
    );
    assert.equal(image.directories.length, 16);
    assert.deepEqual(image.directories[Directory.Exception], { rva: 0x5000, size: 36 });
    assert.equal(image.directory(Directory.Export), undefined);
  });

  test(`readRva maps sections, zero fill and headers (${layout} layout)`, async () => {
    const image = await PeImage.parse(sample().build(layout));
    assert.deepEqual([...(await image.readRva(0x1000 + 0x102, 3))!], [2, 3, 4]);
    assert.deepEqual([...(await image.readRva(0x2000, 6))!], [1, 2, 3, 4, 0, 0]);
    assert.deepEqual([...(await image.readRva(0x37fe, 2))!], [0, 0], 'end of .rdata: zero fill to VirtualSize');
    assert.deepEqual([...(await image.readRva(0, 2))!], [0x4d, 0x5a], 'headers');
    // Sections are mapped to the section alignment, so a read may run from one into the next.
    const across = await image.readRva(0x3ffe, 4);
    assert.deepEqual([...across!], [0, 0, 9, 9]);
    assert.equal(await image.readRva(0x6000, 1), undefined, 'past SizeOfImage');
    assert.equal(await image.readRva(0x5ffc, 8), undefined, 'runs past SizeOfImage');
    assert.equal(await image.readRva(-1, 1), undefined);
  });

  test(`PE32 headers (${layout} layout)`, async () => {
    const image = await PeImage.parse(sample({ is64: false }).build(layout));
    assert.equal(image.machine, Machine.I386);
    assert.equal(image.is64, false);
    assert.equal(image.imageBase, 0x10000000n);
    assert.equal(image.sections.length, 4);
    assert.deepEqual(image.directories[Directory.Exception], { rva: 0x5000, size: 36 });
    assert.equal(await image.functionEntry(0x1000), undefined, 'no x64 function table in an x86 image');
  });

  test(`functionEntry: bisection over RUNTIME_FUNCTION, begin inclusive and end exclusive (${layout} layout)`, async () => {
    const image = await PeImage.parse(sample().build(layout));
    assert.deepEqual(await image.functionEntry(0x1000), { begin: 0x1000, end: 0x1010, unwindInfo: 0x2000 });
    assert.deepEqual(await image.functionEntry(0x100f), { begin: 0x1000, end: 0x1010, unwindInfo: 0x2000 });
    assert.deepEqual(await image.functionEntry(0x1010), { begin: 0x1010, end: 0x1080, unwindInfo: 0x2008 });
    assert.equal(await image.functionEntry(0x1080), undefined, 'between functions');
    assert.equal(await image.functionEntry(0xfff), undefined, 'before the first');
    assert.deepEqual(await image.functionEntry(0x11ff), { begin: 0x1100, end: 0x1200, unwindInfo: 0x2010 });
    assert.equal(await image.functionEntry(0x1200), undefined, 'after the last');
    assert.deepEqual(await image.lookupFunctionEntry(0x1080), { kind: 'none' });
  });

  test(`isExecutable follows section characteristics (${layout} layout)`, async () => {
    const image = await PeImage.parse(sample().build(layout));
    assert.equal(image.isExecutable(0x1000), true);
    assert.equal(image.isExecutable(0x1fff), true, 'to the section alignment');
    assert.equal(image.isExecutable(0x2000), false);
    assert.equal(image.isExecutable(0x4001), false);
    assert.equal(image.isExecutable(0x10), false, 'headers');
    assert.equal(image.isExecutable(0x9000), false, 'outside the image');
  });
}

test('functionEntry copes with an unsorted table', async () => {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x100), characteristics: TEXT });
  const pdata = runtimeFunctions([
    { begin: 0x1040, end: 0x1050, unwindInfo: 3 },
    { begin: 0x1000, end: 0x1010, unwindInfo: 1 },
    { begin: 0x1020, end: 0x1030, unwindInfo: 2 },
  ]);
  const rva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, rva, pdata.length);
  const image = await PeImage.parse(pe.build('file'));
  assert.equal((await image.functionEntry(0x1005))?.unwindInfo, 1);
  assert.equal((await image.functionEntry(0x1025))?.unwindInfo, 2);
  assert.equal((await image.functionEntry(0x1045))?.unwindInfo, 3);
});

test('functionEntry over a .pdata with a hole in dump memory: unreadable there, found elsewhere', async () => {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x100), characteristics: TEXT });
  // 0x1000 / 12 entries per page: the second page of the table is missing.
  const entries = Array.from({ length: 600 }, (_, i) => ({ begin: 0x10000 + i * 0x10, end: 0x10000 + i * 0x10 + 8, unwindInfo: i }));
  const pdata = runtimeFunctions(entries);
  const rva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, rva, pdata.length);
  const image = await PeImage.parse(pe.build('memory', { holes: [{ rva: rva + 0x1000, size: 0x1000 }] }));
  assert.deepEqual(await image.lookupFunctionEntry(0x10000 + 5 * 0x10), { kind: 'found', entry: entries[5] });
  assert.deepEqual(await image.lookupFunctionEntry(0x10000 + 400 * 0x10 + 2), { kind: 'unreadable' });
  assert.deepEqual(await image.lookupFunctionEntry(0x10000 + 5 * 0x10 + 9), { kind: 'none' }, 'between two readable entries');
});

test('functionEntry: a .pdata that cannot be read at all is unreadable, not empty', async () => {
  const pe = sample();
  const image = await PeImage.parse(pe.build('memory', { holes: [{ rva: 0x5000, size: 0x1000 }] }));
  assert.deepEqual(await image.lookupFunctionEntry(0x1000), { kind: 'unreadable' });
  assert.equal(await image.functionEntry(0x1000), undefined);
});

test('arm64FunctionEntry: 8-byte entries, the last one beginning at or below the address', async () => {
  const pe = new PeBuilder({ machine: Machine.ARM64 });
  pe.section({ name: '.text', data: new Uint8Array(0x100), characteristics: TEXT });
  const pdata = concat(le([4, 0x1000], [4, 0x00200011]), le([4, 0x1040], [4, 0x3000]), le([4, 0x1080], [4, 0x3010]));
  const rva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, rva, pdata.length);
  for (const layout of LAYOUTS) {
    const image = await PeImage.parse(pe.build(layout));
    assert.equal(await image.arm64FunctionEntry(0xfff), undefined);
    assert.deepEqual(await image.arm64FunctionEntry(0x1000), { begin: 0x1000, unwindData: 0x00200011 });
    assert.deepEqual(await image.arm64FunctionEntry(0x107f), { begin: 0x1040, unwindData: 0x3000 });
    assert.deepEqual(await image.arm64FunctionEntry(0x5000), { begin: 0x1080, unwindData: 0x3010 });
    assert.equal(await image.functionEntry(0x1000), undefined, 'no x64 entries in an ARM64 image');
  }
});

test('armFunctionEntry: BeginAddress carries the Thumb bit, so an address at a function start finds it', async () => {
  const pe = new PeBuilder({ machine: Machine.ARMNT, is64: false });
  pe.section({ name: '.text', data: new Uint8Array(0x100), characteristics: TEXT });
  const pdata = concat(le([4, 0x1001], [4, 0x00200011]), le([4, 0x1041], [4, 0x3000]), le([4, 0x1081], [4, 0x3010]));
  const rva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, rva, pdata.length);
  for (const layout of LAYOUTS) {
    const image = await PeImage.parse(pe.build(layout));
    assert.equal(await image.armFunctionEntry(0xfff), undefined);
    assert.deepEqual(await image.armFunctionEntry(0x1000), { begin: 0x1001, unwindData: 0x00200011 });
    assert.deepEqual(await image.armFunctionEntry(0x1001), { begin: 0x1001, unwindData: 0x00200011 });
    assert.deepEqual(await image.armFunctionEntry(0x1040), { begin: 0x1041, unwindData: 0x3000 });
    assert.deepEqual(await image.armFunctionEntry(0x107f), { begin: 0x1041, unwindData: 0x3000 });
    assert.deepEqual(await image.armFunctionEntry(0x5000), { begin: 0x1081, unwindData: 0x3010 });
    assert.equal(await image.arm64FunctionEntry(0x1000), undefined, 'no ARM64 entries in an ARM image');
  }
  const arm64 = new PeBuilder({ machine: Machine.ARM64 });
  arm64.section({ name: '.pdata', data: pdata });
  arm64.directory(Directory.Exception, 0x1000, pdata.length);
  assert.deepEqual(await (await PeImage.parse(arm64.build('file'))).lookupArmFunctionEntry(0x1000), { kind: 'none' });
});

function withDebugRecords(records: { type: number; data: Uint8Array }[]): PeBuilder {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(16), characteristics: TEXT });
  const dir = debugDirectory(pe.nextRva, pe.nextFileOffset, records);
  const rva = pe.section({ name: '.rdata', data: dir });
  pe.directory(Directory.Debug, rva, records.length * 28);
  return pe;
}

test('codeView: RSDS record gives the PDB name and Breakpad debug id (GUID, then age in %x)', async () => {
  const pe = withDebugRecords([
    { type: 13, data: new Uint8Array(8) }, // POGO, not CodeView
    { type: 2, data: rsdsRecord('5a9832e5-2872-41c1-838e-d98914e9b7ff', 0x1a, 'C:\\build\\app.pdb') },
  ]);
  for (const layout of LAYOUTS) {
    const image = await PeImage.parse(pe.build(layout));
    assert.deepEqual(await image.codeView(), { debugFile: 'C:\\build\\app.pdb', debugId: '5A9832E5287241C1838ED98914E9B7FF1a' });
  }
});

test('codeView: NB10 record gives signature and age', async () => {
  const image = await PeImage.parse(withDebugRecords([{ type: 2, data: nb10Record(0x3a4b5c6d, 2, 'old.pdb') }]).build('file'));
  assert.deepEqual(await image.codeView(), { debugFile: 'old.pdb', debugId: '3A4B5C6D2' });
});

test('codeView: none without a debug directory or a CodeView entry', async () => {
  assert.equal(await (await PeImage.parse(sample().build('file'))).codeView(), undefined);
  assert.equal(await (await PeImage.parse(withDebugRecords([{ type: 13, data: new Uint8Array(4) }]).build('file'))).codeView(), undefined);
  assert.equal(await (await PeImage.parse(withDebugRecords([{ type: 2, data: le([4, 0x12345678]) }]).build('file'))).codeView(), undefined);
});

function withExports(): PeBuilder {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x400), characteristics: TEXT });
  const rva = pe.nextRva;
  const dir = exportDirectory(rva, 'sample.dll', 5, [
    { rva: 0x1200, names: ['Zeta'] }, // ordinal 5
    { rva: 0x1000, names: ['Alpha', 'AlphaAlias'] }, // 6
    undefined, // 7: unused
    { forwarder: 'NTDLL.RtlAllocateHeap', names: ['HeapAlloc'] }, // 8
    { rva: 0x1100 }, // 9: by ordinal only
    { rva: 0x1300, names: ['Data'] }, // 10
  ]);
  pe.section({ name: '.edata', data: dir.bytes });
  pe.directory(Directory.Export, rva, dir.size);
  return pe;
}

test('exports: names, aliases, ordinals and forwarders, sorted by RVA', async () => {
  for (const layout of LAYOUTS) {
    const image = await PeImage.parse(withExports().build(layout));
    const table = await image.exports();
    assert.equal(table.dllName, 'sample.dll');
    assert.deepEqual(table.warnings, []);
    assert.deepEqual(
      table.entries.filter((e) => e.forwarder === undefined).map((e) => [e.rva, e.ordinal, e.name]),
      [
        [0x1000, 6, 'Alpha'],
        [0x1000, 6, 'AlphaAlias'],
        [0x1100, 9, undefined],
        [0x1200, 5, 'Zeta'],
        [0x1300, 10, 'Data'],
      ],
    );
    const forwarded = table.entries.find((e) => e.forwarder !== undefined);
    assert.deepEqual([forwarded?.ordinal, forwarded?.name, forwarded?.forwarder], [8, 'HeapAlloc', 'NTDLL.RtlAllocateHeap']);
  }
});

test('exports: lookup finds the nearest export at or below, never a forwarder', async () => {
  const table = await (await PeImage.parse(withExports().build('file'))).exports();
  assert.equal(table.lookup(0xfff), undefined);
  assert.equal(table.lookup(0x1000)?.name, 'Alpha');
  assert.equal(table.lookup(0x10ff)?.name, 'Alpha');
  assert.deepEqual([table.lookup(0x1150)?.name, table.lookup(0x1150)?.ordinal], ['Ordinal9', 9]);
  assert.equal(table.lookup(0x1250)?.rva, 0x1200);
  // The forwarder's RVA points into .edata (0x2000...), above every code export: still not returned.
  assert.equal(table.lookup(0x2010)?.name, 'Data');
});

test('exports: an image without an export directory has an empty table', async () => {
  const table = await (await PeImage.parse(sample().build('file'))).exports();
  assert.deepEqual([table.entries.length, table.lookup(0x1000), table.dllName], [0, undefined, undefined]);
});

test('long section names come from the COFF string table of a file (mingw-w64 .debug_* sections)', async () => {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(16), characteristics: TEXT });
  pe.section({ name: '/4', data: new Uint8Array(16) });
  pe.section({ name: '/99', data: new Uint8Array(16) });
  const file = pe.bytes('file');
  // An empty symbol table at the end of the file, then the string table: its u32 size, then the names.
  const strings = new TextEncoder().encode('.debug_info\0');
  const bytes = concat(file, le([4, 4 + strings.length]), strings);
  new DataView(bytes.buffer).setUint32(0x40 + 4 + 8, file.length, true); // PointerToSymbolTable
  const image = await PeImage.parse(imageBytes(bytes, 'file'));
  assert.deepEqual(image.sections.map((s) => s.name), ['.text', '.debug_info', '/99'], 'an offset past the table keeps the written name');
  const inMemory = await PeImage.parse(imageBytes(pe.bytes('memory'), 'memory'));
  assert.equal(inMemory.sections[1]?.name, '/4', 'no string table in memory');
});
