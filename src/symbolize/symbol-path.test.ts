import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSymbolPath } from './symbol-path.js';

const MS = 'https://msdl.microsoft.com/download/symbols';

test('srv*cache*url: a server with its downstream cache', () => {
  assert.deepEqual(parseSymbolPath(`srv*C:\\cache*${MS}`), [{ kind: 'server', url: MS, caches: ['C:\\cache'] }]);
});

test('srv*url and srv**url: the default cache; SRV is case-insensitive; a trailing slash is dropped', () => {
  assert.deepEqual(parseSymbolPath(`SRV*${MS}/;srv**http://h:8080/s`), [
    { kind: 'server', url: MS, caches: [] },
    { kind: 'server', url: 'http://h:8080/s', caches: [] },
  ]);
});

test('several downstream stores, searched in order', () => {
  assert.deepEqual(parseSymbolPath(`srv*/a*/b*${MS}`), [{ kind: 'server', url: MS, caches: ['/a', '/b'] }]);
});

test('symsrv*symsrv.dll*cache*url is srv* with the DLL named', () => {
  assert.deepEqual(parseSymbolPath(`symsrv*symsrv.dll*/c*${MS}`), [{ kind: 'server', url: MS, caches: ['/c'] }]);
});

test('cache*dir caches the servers to its right that name none; not those to its left; cache* is the default', () => {
  assert.deepEqual(parseSymbolPath(`srv*http://left;cache*/c;srv*${MS};srv*/own*http://x;cache*;srv*http://y`), [
    { kind: 'server', url: 'http://left', caches: [] },
    { kind: 'server', url: MS, caches: ['/c'] },
    { kind: 'server', url: 'http://x', caches: ['/own'] },
    { kind: 'server', url: 'http://y', caches: [] },
  ]);
});

test('plain directories, in order, spaces trimmed, empty elements dropped', () => {
  assert.deepEqual(parseSymbolPath(' C:\\syms ;;/home/me/syms;\\\\server\\share\\symbols;'), [
    { kind: 'directory', path: 'C:\\syms' },
    { kind: 'directory', path: '/home/me/syms' },
    { kind: 'directory', path: '\\\\server\\share\\symbols' },
  ]);
});

test('a file-share server (srv*cache*\\\\share) is searched as directories: the cache, then the share', () => {
  assert.deepEqual(parseSymbolPath('srv*/c*\\\\corp\\symbols'), [
    { kind: 'directory', path: '/c' },
    { kind: 'directory', path: '\\\\corp\\symbols' },
  ]);
});

test('a bare http URL is a server (with the cache in effect); srv* with no server asks nothing', () => {
  assert.deepEqual(parseSymbolPath(`cache*/c;${MS};srv*;srv*/only*`), [
    { kind: 'server', url: MS, caches: ['/c'] },
    { kind: 'directory', path: '/only' },
  ]);
});

test('the whole of a typical _NT_SYMBOL_PATH', () => {
  assert.deepEqual(parseSymbolPath(`D:\\build\\pdb;cache*D:\\symcache;srv*${MS};srv*E:\\corp*https://symbols.corp.example/sym`), [
    { kind: 'directory', path: 'D:\\build\\pdb' },
    { kind: 'server', url: MS, caches: ['D:\\symcache'] },
    { kind: 'server', url: 'https://symbols.corp.example/sym', caches: ['E:\\corp'] },
  ]);
  assert.deepEqual(parseSymbolPath(''), []);
});
