import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../io/byte-source.js';
import type { Module } from '../model/snapshot.js';
import { SymbolStoreProvider } from './store-provider.js';

/** A store of .sym files in memory: `<name>.pdb/<id>/<name>.sym`, each padded to `bytes`. */
function store(names: readonly string[], bytes: number): (segments: string[]) => Promise<BufferSource | undefined> {
  const files = new Map(
    names.map((n) => {
      const text = `MODULE windows x86 ${'A'.repeat(33)} ${n}.pdb\nFUNC 1000 10 0 ${n}_main\n`;
      return [`${n}.pdb/${'A'.repeat(33)}/${n}.sym`, text + ' '.repeat(Math.max(0, bytes - text.length))];
    }),
  );
  return (segments) => {
    const text = files.get(segments.join('/'));
    return Promise.resolve(text === undefined ? undefined : new BufferSource(new TextEncoder().encode(text), segments.join('/')));
  };
}

const module = (name: string): Module => ({ base: 0x400000n, size: 0x10000, codeFile: `${name}.exe`, debugFile: `${name}.pdb`, debugId: 'A'.repeat(33) }) as unknown as Module;

test('SymbolStoreProvider: a file parsed once serves every later lookup; past maxBytes the least recently used file is dropped and read again when needed', async () => {
  const symbols = new SymbolStoreProvider([store(['a', 'b', 'c'], 1000)], 256, { maxBytes: 2500 });
  for (const n of ['a', 'b', 'a', 'b']) assert.equal((await (await symbols.symbolsFor(module(n)))!.lookup(0x1004))?.functionName, `${n}_main`);
  assert.equal(symbols.filesLoaded, 2, 'a and b once each');
  // c makes three files (3000 bytes): a, the least recently used, goes.
  await symbols.symbolsFor(module('c'));
  assert.equal(symbols.filesLoaded, 3);
  await symbols.symbolsFor(module('b'));
  assert.equal(symbols.filesLoaded, 3, 'b stayed');
  await symbols.symbolsFor(module('a'));
  assert.equal(symbols.filesLoaded, 4, 'a was read again');
  // Without a byte budget, only the file count bounds the cache.
  const unbounded = new SymbolStoreProvider([store(['a', 'b', 'c'], 1000)], 256);
  for (const n of ['a', 'b', 'c', 'a', 'b', 'c']) await unbounded.symbolsFor(module(n));
  assert.equal(unbounded.filesLoaded, 3);
});
