import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource, type ByteSource } from '../io/byte-source.js';
import type { Module } from '../model/snapshot.js';
import { FileDirectories } from '../node/directories.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { synthPdb } from '../testing/synth/index.js';
import { publicSymbol, type ModuleSymbols } from './provider.js';
import { SymbolStoreProvider } from './store-provider.js';
import { pdbStorePaths, SymbolFileFinder, type SymbolFileCandidate } from './symbol-files.js';
import type { SymbolFileOpener } from './symbol-store.js';

const GUID = '3249D99D0C4049318610F4E4FB0B6936';
const ID = `${GUID}1`;
const PDB = synthPdb({ guid: GUID, infoAge: 1, dbiAge: 1 });
const SYM = new TextEncoder().encode(`MODULE windows x86 ${ID} app.pdb\nFUNC 1000 10 0 from_sym\n`);

/** An in-memory directory that records every path asked of it. */
function memoryDir(files: Record<string, Uint8Array>, name = 'mem'): { open: SymbolFileOpener; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    open: (segments: string[]): Promise<ByteSource | undefined> => {
      const path = segments.join('/');
      asked.push(path);
      const bytes = files[path];
      return Promise.resolve(bytes === undefined ? undefined : new BufferSource(bytes, `${name}:${path}`));
    },
  };
}

async function all(finder: SymbolFileFinder, debugFile: string, debugId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const c of finder.candidates(debugFile, debugId)) out.push(describe(c));
  return out;
}

const describe = (c: SymbolFileCandidate): string => `${c.kind} ${c.layout} ${c.source.name}`;

function module(debugFile: string, debugId: string): Module {
  return { base: 0x400000n, size: 0x9000, codeFile: 'app.exe', codeId: '', debugFile, debugId, version: undefined, timeDateStamp: 0, checksum: 0 };
}

test('pdbStorePaths: symstore, two-tier (first two characters, lowercased) and flat', () => {
  assert.deepEqual(pdbStorePaths('c:\\out\\App.pdb', ID), { symstore: ['App.pdb', ID, 'App.pdb'], index2: ['ap', 'App.pdb', ID, 'App.pdb'], flat: ['App.pdb'] });
  assert.equal(pdbStorePaths('..', ID), undefined);
  assert.equal(pdbStorePaths('app.pdb', '../x'), undefined);
});

test('candidates in order: .sym, symstore, two-tier, flat in every directory, then servers', async () => {
  const a = memoryDir({ [`app.pdb/${ID}/app.pdb`]: PDB, 'app.pdb': PDB }, 'a');
  const b = memoryDir({ [`app.pdb/${ID}/app.sym`]: SYM, [`ap/app.pdb/${ID}/app.pdb`]: PDB }, 'b');
  const server = memoryDir({ [`app.pdb/${ID}/app.pdb`]: PDB }, 'server');
  const finder = new SymbolFileFinder([a.open, b.open], { servers: [server.open] });
  assert.deepEqual(await all(finder, 'c:\\out\\app.pdb', ID), [
    `sym breakpad b:app.pdb/${ID}/app.sym`,
    `pdb symstore a:app.pdb/${ID}/app.pdb`,
    `pdb index2 b:ap/app.pdb/${ID}/app.pdb`,
    'pdb flat a:app.pdb',
    `pdb server server:app.pdb/${ID}/app.pdb`,
  ]);
  assert.deepEqual(server.asked, [`app.pdb/${ID}/app.pdb`], 'a server is asked only for the symstore path');
});

test('candidates are lazy: once the caller stops, no further directory or server is asked', async () => {
  const a = memoryDir({ [`app.pdb/${ID}/app.sym`]: SYM });
  const server = memoryDir({});
  const finder = new SymbolFileFinder([a.open], { servers: [server.open] });
  for await (const c of finder.candidates('app.pdb', ID)) {
    assert.equal(c.kind, 'sym');
    break;
  }
  assert.deepEqual(a.asked, [`app.pdb/${ID}/app.sym`]);
  assert.deepEqual(server.asked, []);
});

test('a PDB whose GUID or age is not the module\'s is skipped with a note, flat or in a symstore folder', async () => {
  const notes: string[] = [];
  const age2 = synthPdb({ guid: GUID, infoAge: 2, dbiAge: 2 });
  const other = synthPdb({ guid: 'F535C5FB2AE84BB8AA206C30BE566C5A', infoAge: 1, dbiAge: 1 });
  const dir = memoryDir({ [`app.pdb/${ID}/app.pdb`]: age2, 'app.pdb': other });
  assert.deepEqual(await all(new SymbolFileFinder([dir.open], { note: (n) => notes.push(n) }), 'app.pdb', ID), []);
  assert.deepEqual(notes, [
    `mem:app.pdb/${ID}/app.pdb: skipped: its GUID and age ${GUID}2 are not the module's ${ID}`,
    `mem:app.pdb: skipped: its GUID and age F535C5FB2AE84BB8AA206C30BE566C5A1 are not the module's ${ID}`,
  ]);
});

test('a PDB filed under a wrong-age folder is not found for the module', async () => {
  const dir = memoryDir({ [`app.pdb/${GUID}2/app.pdb`]: PDB });
  assert.deepEqual(await all(new SymbolFileFinder([dir.open]), 'app.pdb', ID), []);
});

test('a file that is not a PDB is skipped with a note; an ELF module is never looked for as a PDB', async () => {
  const notes: string[] = [];
  const dir = memoryDir({ 'app.pdb': SYM });
  assert.deepEqual(await all(new SymbolFileFinder([dir.open], { note: (n) => notes.push(n) }), 'app.pdb', ID), []);
  assert.deepEqual(notes, ['mem:app.pdb: not a PDB (no MSF 7.0 header), skipped']);
  const elf = memoryDir({});
  await all(new SymbolFileFinder([elf.open], { servers: [elf.open] }), 'libc.so.6', 'ABCDEF0');
  assert.deepEqual(elf.asked, ['libc.so.6/ABCDEF0/libc.so.6.sym']);
});

const fromPdb: ModuleSymbols = {
  lookup: (rva) => Promise.resolve(publicSymbol('from_pdb', rva)),
  findCfiRules: () => Promise.resolve(undefined),
  findWindowsFrameInfo: () => Promise.resolve(undefined),
};

test('SymbolStoreProvider: a .sym wins over a PDB; the PDB goes to the loader; without one it is a note', async () => {
  const both = memoryDir({ [`app.pdb/${ID}/app.sym`]: SYM, [`app.pdb/${ID}/app.pdb`]: PDB });
  const loaded: string[] = [];
  const pdbLoader = (source: ByteSource): Promise<ModuleSymbols> => (loaded.push(source.name), Promise.resolve(fromPdb));
  const withSym = new SymbolStoreProvider([both.open], 256, { pdbLoader });
  assert.equal((await (await withSym.symbolsFor(module('app.pdb', ID)))?.lookup(0x1000))?.functionName, 'from_sym');
  assert.deepEqual(loaded, []);

  const pdbOnly = memoryDir({ [`app.pdb/${ID}/app.pdb`]: PDB });
  const reading = new SymbolStoreProvider([pdbOnly.open], 256, { pdbLoader });
  assert.equal((await (await reading.symbolsFor(module('c:\\out\\app.pdb', ID)))?.lookup(0x1000))?.functionName, 'from_pdb');
  await reading.symbolsFor(module('d:\\other\\app.pdb', ID));
  assert.deepEqual(loaded, [`mem:app.pdb/${ID}/app.pdb`], 'loaded once per name and id');

  const unread = new SymbolStoreProvider([pdbOnly.open]);
  assert.equal(await unread.symbolsFor(module('app.pdb', ID)), undefined);
  assert.deepEqual(unread.warnings, [`symbols for app.pdb ${ID}: PDB found but not read (no PDB reader): mem:app.pdb/${ID}/app.pdb`]);
});

test('SymbolStoreProvider: a PDB the loader rejects is a warning, and the next candidate is tried', async () => {
  const dir = memoryDir({ [`app.pdb/${ID}/app.pdb`]: PDB, 'app.pdb': PDB });
  let calls = 0;
  const pdbLoader = (): Promise<ModuleSymbols> => (++calls === 1 ? Promise.reject(new Error('bad TPI')) : Promise.resolve(fromPdb));
  const provider = new SymbolStoreProvider([dir.open], 256, { pdbLoader });
  assert.ok(await provider.symbolsFor(module('app.pdb', ID)));
  assert.deepEqual(provider.warnings, [`symbols for app.pdb ${ID}: mem:app.pdb/${ID}/app.pdb: PDB not read: bad TPI`]);
});

test('corpus: a flat folder of PDBs matched by GUID and age (sentry crash, kdlib targetapp, amdppm)', needsCorpus, async () => {
  const dirs = new FileDirectories([
    corpusPath('external', 'user', 'sentry-crash'),
    corpusPath('external', 'user', 'kdlib', 'targetapp_test_cv_allreg_i386'),
    corpusPath('external', 'user', 'kdlib', 'targetapp_test_cv_allreg_amd64'),
    corpusPath('external', 'user', 'kdlib', 'targetapp_stacktest_x64_release'),
    corpusPath('external', 'kernel', 'symbols'),
  ]);
  const notes: string[] = [];
  const finder = new SymbolFileFinder(dirs.openers, { note: (n) => notes.push(n) });
  try {
    const found = async (file: string, id: string): Promise<string[]> =>
      (await all(finder, file, id)).map((c) => c.replace(corpusPath(), '<corpus>'));
    assert.deepEqual(await found('crash.pdb', `${GUID}1`), ['pdb flat <corpus>/external/user/sentry-crash/crash.pdb']);
    assert.deepEqual(await found('CrashWithException.pdb', 'F535C5FB2AE84BB8AA206C30BE566C5A1'), ['pdb flat <corpus>/external/user/sentry-crash/CrashWithException.pdb']);
    notes.length = 0;
    // Three targetapp.pdb side by side: only the build whose GUID and age match.
    assert.deepEqual(await found('targetapp.pdb', 'DC1EB176CD52469895EBBB75895BEC2B2'), ['pdb flat <corpus>/external/user/kdlib/targetapp_stacktest_x64_release/targetapp.pdb']);
    assert.equal(notes.length, 2, notes.join('\n'));
    assert.deepEqual(await found('targetapp.pdb', 'DC1EB176CD52469895EBBB75895BEC2B1'), [], 'the right GUID with the wrong age');
    // Microsoft's symstore folder keyed by the DBI age (1), though the info stream says 3.
    assert.deepEqual(await found('amdppm.pdb', '1C19FDDB27BB3399D9B45973EFEAFCF31'), ['pdb symstore <corpus>/external/kernel/symbols/amdppm.pdb/1C19FDDB27BB3399D9B45973EFEAFCF31/amdppm.pdb']);
  } finally {
    await dirs.close();
  }
});
