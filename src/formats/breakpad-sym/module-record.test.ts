import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { CountingSource } from '../../testing/counting.js';
import { readModuleRecord } from './module-record.js';

const sym = (text: string): BufferSource => new BufferSource(new TextEncoder().encode(text), 'x.sym');

test('the MODULE line names the module; a debug file with spaces keeps them; CRLF files alike', async () => {
  assert.deepEqual(await readModuleRecord(sym('MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test app.pdb\nFILE 1 a.cc\n')), {
    os: 'windows',
    arch: 'x86',
    debugId: '5A9832E5287241C1838ED98914E9B7FF1',
    debugFile: 'test app.pdb',
  });
  assert.equal((await readModuleRecord(sym('MODULE Linux x86_64 ABCD0 libc.so.6\r\nFILE 1 a.c\r\n')))?.debugFile, 'libc.so.6');
});

test('no MODULE record on the first line, a short one, or an empty file: undefined', async () => {
  assert.equal(await readModuleRecord(sym('FILE 1 a.cc\nMODULE windows x86 AB x.pdb\n')), undefined);
  assert.equal(await readModuleRecord(sym('MODULE windows x86\n')), undefined);
  assert.equal(await readModuleRecord(sym('')), undefined);
  assert.equal(await readModuleRecord(sym('\x00\x01MZ')), undefined);
});

test('a large symbol file is not read past its first 4 KiB', async () => {
  const big = sym('MODULE windows x86 AB1 big.pdb\n' + 'PUBLIC 1000 0 f\n'.repeat(100_000));
  const counted = new CountingSource(big);
  assert.equal((await readModuleRecord(counted))?.debugId, 'AB1');
  assert.equal(counted.counts.reads, 1);
  assert.ok(counted.counts.bytes <= 4096, `${counted.counts.bytes} bytes`);
});
