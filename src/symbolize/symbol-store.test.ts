import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource, type ByteSource } from '../io/byte-source.js';
import { baseName, SymbolStore, symbolFilePath, type SymbolFileOpener } from './symbol-store.js';

test('symbol file path: .pdb is replaced by .sym, anything else gets .sym appended', () => {
  assert.deepEqual(symbolFilePath('test_app.pdb', 'ID1'), ['test_app.pdb', 'ID1', 'test_app.sym']);
  assert.deepEqual(symbolFilePath('KERNEL32.PDB', 'ID1'), ['KERNEL32.PDB', 'ID1', 'KERNEL32.sym']);
  assert.deepEqual(symbolFilePath('libc.so.6', 'ID2'), ['libc.so.6', 'ID2', 'libc.so.6.sym']);
  assert.deepEqual(symbolFilePath('crash-client', 'ID3'), ['crash-client', 'ID3', 'crash-client.sym']);
  assert.deepEqual(symbolFilePath('.pdb', 'ID4'), ['.pdb', 'ID4', '.pdb.sym'], 'Breakpad only strips from longer names');
});

test('symbol file path: directories are stripped, Windows and POSIX alike', () => {
  assert.deepEqual(symbolFilePath('c:\\build\\out\\app.pdb', 'ID'), ['app.pdb', 'ID', 'app.sym']);
  assert.deepEqual(symbolFilePath('/usr/lib/x86_64-linux-gnu/libc.so.6', 'ID'), ['libc.so.6', 'ID', 'libc.so.6.sym']);
  assert.deepEqual(symbolFilePath('c:\\mixed/dir\\last.pdb', 'ID'), ['last.pdb', 'ID', 'last.sym']);
  assert.equal(baseName('a/b\\c'), 'c');
  assert.equal(baseName('plain'), 'plain');
});

test('symbol file path: hostile or empty names are refused', () => {
  for (const [file, id] of [
    ['', 'ID'],
    ['c:\\dir\\', 'ID'],
    ['..', 'ID'],
    ['.', 'ID'],
    ['app.pdb', ''],
    ['app.pdb', '../../etc'],
    ['app.pdb', 'a/b'],
    ['app.pdb', 'a\\b'],
    ['app..pdb', 'ID'],
    ['a\u0000b', 'ID'],
  ]) {
    assert.equal(symbolFilePath(file!, id!), undefined, `${JSON.stringify(file)} ${JSON.stringify(id)}`);
  }
});

const SYM = 'MODULE windows x86 ID app.pdb\nFUNC 1000 10 0 f\n';

/** An in-memory symbol directory that records what was asked of it. */
function memoryDir(files: Record<string, string>): { open: SymbolFileOpener; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    open: (segments: string[]): Promise<ByteSource | undefined> => {
      const path = segments.join('/');
      asked.push(path);
      const text = files[path];
      return Promise.resolve(text === undefined ? undefined : new BufferSource(new TextEncoder().encode(text), path));
    },
  };
}

test('SymbolStore: first directory with the file wins; files are loaded once', async () => {
  const first = memoryDir({});
  const second = memoryDir({ 'app.pdb/ID/app.sym': SYM });
  const third = memoryDir({ 'app.pdb/ID/app.sym': 'FUNC 1000 10 0 other\n' });
  const store = new SymbolStore([first.open, second.open, third.open]);
  const [a, b] = await Promise.all([store.get('c:\\out\\app.pdb', 'ID'), store.get('app.pdb', 'ID')]);
  assert.ok(a);
  assert.equal(a, b, 'same file object for the same module');
  assert.equal((await a.lookup(0x1004))?.functionName, 'f');
  assert.deepEqual(first.asked, ['app.pdb/ID/app.sym']);
  assert.deepEqual(second.asked, ['app.pdb/ID/app.sym']);
  assert.deepEqual(third.asked, [], 'later directories are not consulted after a hit');
});

test('SymbolStore: a missing file is remembered as missing', async () => {
  const dir = memoryDir({});
  const store = new SymbolStore([dir.open]);
  assert.equal(await store.get('nope.pdb', 'ID'), undefined);
  assert.equal(await store.get('nope.pdb', 'ID'), undefined);
  assert.equal(dir.asked.length, 1);
  assert.equal(await store.get('nope.pdb', '../x'), undefined);
  assert.equal(dir.asked.length, 1, 'hostile names never reach the opener');
});

test('SymbolStore: the opener gets a copy of the segments', async () => {
  const store = new SymbolStore([
    (segments) => {
      segments.length = 0;
      return Promise.resolve(undefined);
    },
    memoryDir({ 'app.pdb/ID/app.sym': SYM }).open,
  ]);
  assert.ok(await store.get('app.pdb', 'ID'));
});

test('SymbolStore keeps at most maxFiles files indexed, dropping the least recently used', async () => {
  let opened = 0;
  const opener = async (segments: string[]): Promise<BufferSource | undefined> => {
    opened++;
    return new BufferSource(new TextEncoder().encode(`MODULE windows x86 ${segments[1]} ${segments[0]}\n`), segments.join('/'));
  };
  const store = new SymbolStore([opener], 2);
  await store.get('a.pdb', 'A1');
  await store.get('b.pdb', 'B1');
  await store.get('a.pdb', 'A1'); // a is now the most recent
  await store.get('c.pdb', 'C1'); // evicts b
  assert.equal(opened, 3);
  await store.get('a.pdb', 'A1');
  assert.equal(opened, 3, 'a stayed');
  await store.get('b.pdb', 'B1');
  assert.equal(opened, 4, 'b was dropped and is read again');
});
