import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { isFormatError } from '../../io/errors.js';
import { CountingSource } from '../../testing/counting.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { PdbFile } from './index.js';

const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);

// Expected values from llvm-pdbutil 14 (`dump -summary -modules -section-contribs -streams`), an
// independent reader of the same files.
test('crash.pdb (MSVC x86): identity, modules, section contributions and debug streams as llvm-pdbutil reads them', needsCorpus, async () => {
  const pdb = await PdbFile.open(new BufferSource(readFileSync(sentry('crash.pdb')), 'crash.pdb'));
  assert.equal(pdb.msf.superBlock.blockSize, 4096);
  assert.equal(pdb.msf.superBlock.numBlocks, 249);
  assert.equal(pdb.msf.streamCount, 87);
  assert.equal(pdb.info.guid, '3249D99D0C4049318610F4E4FB0B6936');
  assert.equal(pdb.info.age, 1);
  assert.equal(pdb.debugId, '3249D99D0C4049318610F4E4FB0B69361');
  assert.equal(pdb.dbi.header.machine, 0x14c);
  assert.equal(pdb.dbi.modules.length, 71);
  assert.deepEqual(
    pdb.dbi.modules.slice(0, 2).map((m) => [m.moduleName, m.symStream]),
    [
      ['* CIL *', 13],
      ['C:\\projects\\breakpad-tools\\windows\\crash\\Release\\client_info.obj', 12],
    ],
  );
  assert.deepEqual([pdb.dbi.modules[70]!.moduleName, pdb.dbi.modules[70]!.symStream], ['* Linker *', 83]);
  assert.equal(pdb.dbi.sectionContributions.length, 507);
  const sc = pdb.dbi.sectionContributions[1]!;
  assert.deepEqual([sc.section, sc.offset, sc.size, sc.moduleIndex], [1, 288, 84, 2]);
  // IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_EXECUTE | IMAGE_SCN_MEM_READ, among the flags llvm-pdbutil lists.
  assert.equal(sc.characteristics & 0x60000020, 0x60000020);
  assert.equal(pdb.dbi.debugStreams.fpo, 6);
  assert.equal(pdb.dbi.debugStreams.sectionHeaders, 10);
  assert.equal(pdb.dbi.debugStreams.frameData, 14);
  assert.deepEqual(pdb.sections.map((s) => s.name), ['.text', '.rdata', '.data', '.rsrc', '.reloc']);
  assert.equal(pdb.rva(1, 0x10), 0x1010);
  assert.equal(pdb.namedStream('/names')?.size, 20167);
});

test('the debug id uses the DBI age, which is what modules record (amdppm: info age 3, DBI age 1)', needsCorpus, async () => {
  const path = corpusPath('external', 'kernel', 'symbols', 'amdppm.pdb', '1C19FDDB27BB3399D9B45973EFEAFCF31', 'amdppm.pdb');
  const pdb = await PdbFile.open(new BufferSource(readFileSync(path), 'amdppm.pdb'));
  assert.equal(pdb.info.age, 3);
  assert.equal(pdb.debugId, '1C19FDDB27BB3399D9B45973EFEAFCF31');
  assert.equal(pdb.dbi.header.machine, 0x8664);
});

test('opening a PDB reads its directory and two small streams, not the file', needsCorpus, async () => {
  const bytes = readFileSync(sentry('crash.pdb'));
  const counting = new CountingSource(new BufferSource(bytes, 'crash.pdb'));
  await PdbFile.open(counting);
  assert.ok(counting.counts.bytes < bytes.length / 4, `read ${counting.counts.bytes} of ${bytes.length} bytes`);
});

test('hostile PDBs: bad magic, truncation, block numbers and stream sizes past the file are FormatErrors', needsCorpus, async () => {
  const good = readFileSync(sentry('crash.pdb'));
  const cases: [string, (b: Uint8Array) => Uint8Array][] = [
    ['not a PDB', (b) => (b[0] = 0x4e, b)],
    ['truncated superblock', (b) => b.subarray(0, 40)],
    ['truncated after the superblock', (b) => b.subarray(0, 8192)],
    ['block size 3000', (b) => (new DataView(b.buffer, b.byteOffset).setUint32(32, 3000, true), b)],
    ['block map past the end', (b) => (new DataView(b.buffer, b.byteOffset).setUint32(52, 0x7fffffff, true), b)],
    ['directory of 2 GB', (b) => (new DataView(b.buffer, b.byteOffset).setUint32(44, 0x80000000, true), b)],
    ['more blocks than the file', (b) => (new DataView(b.buffer, b.byteOffset).setUint32(40, 0x100000, true), b)],
  ];
  for (const [name, mutate] of cases) {
    const bytes = mutate(new Uint8Array(good));
    await assert.rejects(PdbFile.open(new BufferSource(bytes, 'x.pdb')), (e) => {
      assert.ok(isFormatError(e), `${name}: ${String(e)}`);
      assert.equal(e.file.split(' ')[0], 'x.pdb', name);
      return true;
    });
  }
  // Every stream count and block number of the directory: flip each directory word to a huge value.
  const pdb = await PdbFile.open(new BufferSource(good, 'crash.pdb'));
  const blockSize = pdb.msf.superBlock.blockSize;
  const mapBlock = pdb.msf.superBlock.blockMapAddr;
  const directoryBlock = new DataView(good.buffer, good.byteOffset).getUint32(mapBlock * blockSize, true);
  for (let word = 0; word < 64; word++) {
    const bytes = new Uint8Array(good);
    new DataView(bytes.buffer).setUint32(directoryBlock * blockSize + word * 4, 0xfffffff0, true);
    try {
      await PdbFile.open(new BufferSource(bytes, 'x.pdb'));
    } catch (e) {
      assert.ok(isFormatError(e), `directory word ${word}: ${String(e)}`);
    }
  }
});
