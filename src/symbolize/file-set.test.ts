import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import { BufferSource, type ByteSource } from '../io/byte-source.js';
import { PeBuilder } from '../formats/pe/testing.js';
import { corpusPath, needsCorpus, repoPath } from '../testing/corpus.js';
import { synthPdb } from '../testing/synth/index.js';
import { FileSet, fileKind } from './file-set.js';
import { loadPdbSymbols } from './pdb-symbols.js';
import { SymbolFileFinder } from './symbol-files.js';
import { SymbolStoreProvider } from './store-provider.js';

const text = (name: string, body: string): BufferSource => new BufferSource(new TextEncoder().encode(body), name);
const GUID = '5A9832E5287241C1838ED98914E9B7FF';
const ID = '5A9832E5287241C1838ED98914E9B7FF1';

async function file(path: string, name = path.split('/').pop()!): Promise<BufferSource> {
  return new BufferSource(await readFile(path), name);
}

test('fileKind: by the first bytes, not the name', async () => {
  assert.equal(await fileKind(text('a.txt', 'MODULE windows x86 AB x.pdb\n')), 'sym');
  assert.equal(await fileKind(new BufferSource(synthPdb({ guid: GUID, infoAge: 1 }), 'a.bin')), 'pdb');
  assert.equal(await fileKind(new BufferSource(new PeBuilder().bytes('file'), 'a.dmp')), 'image');
  assert.equal(await fileKind(text('x.sym', 'MDMP\x93\xa7')), 'dump');
  assert.equal(await fileKind(text('empty', '')), 'dump');
});

test('a .sym is found by its MODULE record, whatever the file is called; the debug file\'s case does not matter', async () => {
  const sym = text('renamed (1).sym', `MODULE windows x86 ${ID} test_app.pdb\nFUNC 1000 10 0 main\n`);
  const set = await FileSet.of([sym, text('crash.dmp', 'MDMP')]);
  assert.equal(await set.symbols(['test_app.pdb', ID, 'test_app.sym']), sym);
  assert.equal(await set.symbols(['TEST_APP.PDB', ID.toLowerCase(), 'TEST_APP.sym']), sym);
  assert.equal(await set.symbols(['test_app.pdb', ID.replace(/1$/, '2'), 'test_app.sym']), undefined, 'another age');
  assert.equal(await set.symbols(['other.pdb', ID, 'other.sym']), undefined);
  assert.deepEqual(set.dumps.map((d) => d.name), ['crash.dmp']);
  assert.equal(set.hasSymbolFiles, true);
});

test('a PDB is found by the GUID and age it carries; one of the name but another id only by the flat path, so the finder says why it is skipped', async () => {
  const right = new BufferSource(synthPdb({ guid: GUID, infoAge: 1, dbiAge: 1 }), 'app (1).pdb');
  const wrong = new BufferSource(synthPdb({ guid: GUID, infoAge: 2, dbiAge: 2 }), 'other.pdb');
  const set = await FileSet.of([wrong, right]);
  assert.equal(await set.symbols(['app.pdb', ID, 'app.pdb']), right);
  assert.equal(await set.symbols(['ap', 'app.pdb', ID, 'app.pdb']), undefined, 'the two-tier path: never a second copy');
  assert.equal(await set.symbols(['app (1).pdb']), undefined, 'already given by its id');

  const notes: string[] = [];
  const finder = new SymbolFileFinder([set.symbols], { note: (m) => notes.push(m) });
  const found: ByteSource[] = [];
  for await (const c of finder.candidates('c:\\build\\other.pdb', `${GUID}3`)) found.push(c.source);
  assert.deepEqual(found, []);
  assert.deepEqual(notes, [`other.pdb: skipped: its GUID and age ${GUID}2 are not the module's ${GUID}3`]);
});

test('images: the flat name first (ModuleImages checks it), then by TimeDateStamp and SizeOfImage whatever the name', async () => {
  const pe = new PeBuilder({ timeDateStamp: 0x5e5e5e5e });
  pe.section({ name: '.text', data: [0xc3], characteristics: 0x60000020 });
  const image = new BufferSource(pe.bytes('file'), 'app (2).exe');
  const set = await FileSet.of([image]);
  const key = `5E5E5E5E${pe.sizeOfImage.toString(16)}`;
  assert.equal(await set.images(['app.exe', key, 'app.exe']), image);
  assert.equal(await set.images(['app.exe', key.toLowerCase(), 'app.exe']), image);
  assert.equal(await set.images(['app.exe', `5E5E5E5F${pe.sizeOfImage.toString(16)}`, 'app.exe']), undefined);
  assert.equal(await set.images(['app (2).exe']), image);
  assert.equal(await set.images(['APP (2).EXE']), image);
  assert.equal(await set.images(['app.exe']), undefined);
  assert.equal(set.hasSymbolFiles, false);
});

test('damaged or unreadable files are notes, and never found', async () => {
  const set = await FileSet.of([
    text('bad.sym', 'MODULE windows\n'),
    text('bad.exe', 'MZ this is no PE'),
    text('old.pdb', 'Microsoft C/C++ program database 2.00\r\n\x1aJG\0\0' + '\0'.repeat(64)),
  ]);
  assert.deepEqual(set.entries.map((e) => [e.kind, e.key]), [['sym', undefined], ['image', undefined], ['pdb', undefined]]);
  assert.equal(set.notes.length, 3, set.notes.join('\n'));
  assert.match(set.notes[0]!, /^bad\.sym: no MODULE record/);
  assert.match(set.notes[1]!, /^not used: bad\.exe: /);
  assert.match(set.notes[2]!, /^old\.pdb: not a PDB 7\.0/);
});

test('overflow.dmp with overflow.exe handed over beside it: the walk uses the image\'s unwind data, as with --modules', async () => {
  const dump = await file(repoPath('test-data', 'fixtures', 'overflow.dmp'));
  const set = await FileSet.of([dump, await file(repoPath('test-data', 'fixtures', 'overflow.exe'), 'overflow (1).exe')]);
  assert.deepEqual(set.dumps, [dump]);
  const a = await analyze(dump, { images: [set.images] });
  const crashed = a.threads[a.crashingThreadIndex!]!;
  assert.ok(crashed.frames.filter((f) => f.trust === 'cfi').length > 1000, 'frames found by the PE unwind data');
  assert.ok(a.findings.some((f) => f.kind === 'stack_overflow'));
});

test('minidump2.dmp with its two .sym files handed over flat: frames named from them', needsCorpus, async () => {
  const dump = await file(corpusPath('breakpad', 'minidump2.dmp'));
  const set = await FileSet.of([
    dump,
    await file(corpusPath('breakpad', 'symbols', 'test_app.pdb', '5A9832E5287241C1838ED98914E9B7FF1', 'test_app.sym')),
    await file(corpusPath('breakpad', 'symbols', 'kernel32.pdb', 'BCE8785C57B44245A669896B6A19B9542', 'kernel32.sym')),
  ]);
  const symbols = new SymbolStoreProvider([set.symbols], 16, { pdbLoader: loadPdbSymbols });
  const a = await analyze(dump, { symbols, images: [set.images] });
  const names = a.threads[a.crashingThreadIndex!]!.frames.map((f) => f.symbol?.functionName);
  assert.deepEqual(names.slice(0, 2), ["`anonymous namespace'::CrashFunction", 'main']);
  assert.deepEqual(symbols.warnings, []);
});
