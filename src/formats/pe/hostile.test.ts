// Hostile and damaged images: parse throws nothing but FormatError; once parsed, every lookup
// answers (undefined, empty, or warnings) without throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFormatError } from '../../io/errors.js';
import { Directory } from './constants.js';
import { PeImage } from './pe-image.js';
import {
  PeBuilder,
  TEXT,
  debugDirectory,
  exportDirectory,
  imageBytes,
  rsdsRecord,
  runtimeFunctions,
  unwindInfo,
  uw,
} from './testing.js';
import { readX64UnwindInfo } from './x64-unwind-info.js';
import { armFunctionLength } from './arm-unwind-data.js';

/** An image with something in every table this reader knows. */
function everything(): PeBuilder {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x100).fill(0xc3), characteristics: TEXT });
  const xdataRva = pe.nextRva;
  const first = unwindInfo({ sizeOfProlog: 5, codes: [uw.allocSmall(5, 0x28), uw.pushNonvol(1, 3)] });
  const second = unwindInfo({ codes: [], chained: { begin: 0x1000, end: 0x1010, unwindInfo: xdataRva } });
  pe.section({ name: '.xdata', data: [...first, ...second] });
  const pdata = runtimeFunctions([
    { begin: 0x1000, end: 0x1010, unwindInfo: xdataRva },
    { begin: 0x1010, end: 0x1020, unwindInfo: xdataRva + first.length },
  ]);
  const pdataRva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  const edataRva = pe.nextRva;
  const edata = exportDirectory(edataRva, 'x.dll', 1, [{ rva: 0x1000, names: ['f'] }, { forwarder: 'y.g', names: ['g'] }]);
  pe.section({ name: '.edata', data: edata.bytes });
  pe.directory(Directory.Export, edataRva, edata.size);
  const debugRva = pe.nextRva;
  pe.section({ name: '.rdata', data: debugDirectory(debugRva, pe.nextFileOffset, [{ type: 2, data: rsdsRecord('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'x.pdb') }]) });
  pe.directory(Directory.Debug, debugRva, 28);
  return pe;
}

/** Every query of a parsed image; none may throw. */
async function exercise(image: PeImage): Promise<void> {
  for (const rva of [0, 0x1000, 0x1008, 0x1010, 0x2000, image.sizeOfImage - 1, image.sizeOfImage, 0xffffffff]) {
    await image.readRva(rva, 16);
    image.isExecutable(rva);
    const entry = await image.functionEntry(rva);
    if (entry) await readX64UnwindInfo(image, entry.unwindInfo);
    await image.arm64FunctionEntry(rva);
    const arm = await image.armFunctionEntry(rva);
    if (arm) await armFunctionLength(image, arm);
  }
  const exports = await image.exports();
  exports.lookup(0x1000);
  await image.codeView();
}

/** Parses; a failure must be a FormatError (returned as undefined). */
async function parseOrFormatError(bytes: Uint8Array, layout: 'file' | 'memory'): Promise<PeImage | undefined> {
  try {
    return await PeImage.parse(imageBytes(bytes, layout, 'hostile.exe'));
  } catch (e) {
    assert.ok(isFormatError(e), `not a FormatError: ${String(e)}`);
    assert.equal(e.file, 'hostile.exe');
    return undefined;
  }
}

/** A deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

test('the sample parses and answers every query', async () => {
  const image = await PeImage.parse(everything().build('file'));
  assert.equal((await image.exports()).lookup(0x1004)?.name, 'f');
  assert.equal((await image.codeView())?.debugFile, 'x.pdb');
  assert.equal((await readX64UnwindInfo(image, (await image.functionEntry(0x1012))!.unwindInfo))?.chained?.begin, 0x1000);
});

test('truncated at every offset: a FormatError, or an image whose lookups answer undefined', async () => {
  for (const layout of ['file', 'memory'] as const) {
    const bytes = everything().bytes(layout);
    for (let end = 0; end < bytes.length; end += end < 0x400 ? 1 : 0x40) {
      const image = await parseOrFormatError(bytes.subarray(0, end), layout);
      if (end < 0x200) assert.equal(image, undefined, `headers cut at 0x${end.toString(16)} must not parse`);
      if (image) await exercise(image);
    }
  }
});

test('random bytes are not an image', async () => {
  const next = random(7);
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: 0x400 + i * 8 }, () => Math.floor(next() * 256));
    if (i % 2) bytes.set([0x4d, 0x5a], 0); // MZ, so the NT header is looked for
    assert.equal(await parseOrFormatError(bytes, 'file'), undefined);
  }
});

test('flipped bytes anywhere: parse throws only FormatError and queries never throw', async () => {
  const next = random(42);
  for (const layout of ['file', 'memory'] as const) {
    const original = everything().bytes(layout);
    for (let i = 0; i < 400; i++) {
      const bytes = original.slice();
      const flips = 1 + Math.floor(next() * 8);
      for (let f = 0; f < flips; f++) {
        // Half of the damage in the headers, half in the tables.
        const at = next() < 0.5 ? Math.floor(next() * 0x200) : Math.floor(next() * bytes.length);
        bytes[at] = Math.floor(next() * 256);
      }
      const image = await parseOrFormatError(bytes, layout);
      if (image) await exercise(image);
    }
  }
});

/** The sample with one 32-bit field of the headers replaced. */
function patched(offset: number, value: number, width: 2 | 4 = 4): Uint8Array {
  const bytes = everything().bytes('file');
  const view = new DataView(bytes.buffer);
  if (width === 2) view.setUint16(offset, value, true);
  else view.setUint32(offset, value, true);
  return bytes;
}

const OPT = 0x40 + 24; // the optional header, after 'PE\0\0' and IMAGE_FILE_HEADER

test('header damage is a FormatError saying what is wrong', async () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['no MZ', patched(0, 0x1234, 2), /IMAGE_DOS_HEADER at offset 0x0: not a PE image/],
    ['e_lfanew far away', patched(0x3c, 0x7fffffff), /implausible e_lfanew/],
    ['e_lfanew past the end', patched(0x3c, 0x100000), /IMAGE_NT_HEADERS at offset 0x100000: needs 24 bytes/],
    ['no PE signature', patched(0x40, 0x4551), /no "PE\\0\\0" signature/],
    ['bad magic', patched(OPT, 0x30b, 2), /unknown optional header magic 0x30b/],
    ['optional header too small', patched(0x40 + 4 + 16, 0x60, 2), /smaller than the 112 bytes of a PE32\+ header/],
    ['section table past the end', patched(0x40 + 4 + 2, 0xffff, 2), /IMAGE_SECTION_HEADER .*needs 2621400 bytes/],
    ['section alignment 0', patched(OPT + 32, 0), /SectionAlignment 0x0 is not a power of two/],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(PeImage.parse(imageBytes(bytes, 'file', 'bad.exe')), (e: unknown) => isFormatError(e) && message.test(e.message), what);
  }
});

test('oversized counts are capped, not trusted', async () => {
  // NumberOfRvaAndSizes beyond 16 and beyond the header: only the 16 that fit are read.
  const manyDirectories = await PeImage.parse(imageBytes(patched(OPT + 108, 0xffffffff), 'file'));
  assert.equal(manyDirectories.directories.length, 16);

  // An exception directory claiming 4 GB: only what lies inside the image is read.
  const bigPdata = everything();
  bigPdata.directory(Directory.Exception, 0x3000, 0xfffffff0);
  const image = await PeImage.parse(bigPdata.build('file'));
  assert.equal((await image.functionEntry(0x1004))?.begin, 0x1000);

  // A debug directory of 4 GB: the first 64 entries at most, inside the image.
  const bigDebug = everything();
  bigDebug.directory(Directory.Debug, 0x5000, 0xfffffff0);
  assert.equal((await (await PeImage.parse(bigDebug.build('file'))).codeView())?.debugFile, 'x.pdb');
  bigDebug.directory(Directory.Debug, 0x5fe4, 0xfffffff0); // one entry's room before the end of the image
  assert.equal(await (await PeImage.parse(bigDebug.build('file'))).codeView(), undefined);
});

test('a damaged export directory gives warnings and what could be read', async () => {
  const pe = everything();
  const bytes = pe.bytes('file');
  const edata = (await PeImage.parse(pe.build('file'))).directory(Directory.Export)!;
  const file = (await PeImage.parse(pe.build('file'))).sections.find((s) => s.name === '.edata')!.rawDataOffset;
  const view = new DataView(bytes.buffer);
  view.setUint32(file + 20, 0x7fffffff, true); // NumberOfFunctions
  const table = await (await PeImage.parse(imageBytes(bytes, 'file'))).exports();
  assert.equal(table.entries.length, 0);
  assert.match(table.warnings[0] ?? '', new RegExp(`IMAGE_EXPORT_DIRECTORY at RVA 0x${edata.rva.toString(16)}: NumberOfFunctions 2147483647`));

  view.setUint32(file + 20, 2, true);
  view.setUint32(file + 32, 0x7ffffff0, true); // AddressOfNames outside the image
  const unnamed = await (await PeImage.parse(imageBytes(bytes, 'file'))).exports();
  assert.deepEqual(unnamed.entries.map((e) => [e.ordinal, e.name]), [[1, undefined], [2, undefined]]);
  assert.match(unnamed.warnings[0] ?? '', /export name tables not available/);
});
