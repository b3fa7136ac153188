import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLm } from './lm.js';

test('lm: header, symbol states and paths; unloaded modules are skipped', () => {
  const modules = parseLm(
    [
      '3: kd> lm',
      'start    end        module name',
      '80800000 80a5b000   nt         (pdb symbols)          c:\\symbols\\ntkrnlmp.pdb\\1\\ntkrnlmp.pdb',
      'b8d89000 b8da0000   MamaHog    (no symbols)',
      'b76f4000 b770e000   BossHog01 M (export symbols)       BossHog01.sys',
      'f7a29000 f7a48000   fltmgr     (deferred)',
      '',
      'Unloaded modules:',
      'b8ad0000 b8af0000   Sfloppy.SYS',
    ].join('\n'),
  );
  assert.deepEqual(modules, [
    { start: 0x80800000n, end: 0x80a5b000n, name: 'nt' },
    { start: 0xb76f4000n, end: 0xb770e000n, name: 'BossHog01' },
    { start: 0xb8d89000n, end: 0xb8da0000n, name: 'MamaHog' },
    { start: 0xf7a29000n, end: 0xf7a48000n, name: 'fltmgr' },
  ]);
});

test('lmv: detail lines are skipped; x64 backticks; a later lm after the unloaded section counts again', () => {
  const modules = parseLm(
    [
      '0: kd> lmv m nt',
      'start             end                 module name',
      'fffff800`02e5a000 fffff800`03437000   nt         (pdb symbols)          c:\\symbols\\ntkrnlmp.pdb\\2\\ntkrnlmp.pdb',
      '    Loaded symbol image file: ntkrnlmp.exe',
      '    Image path: \\SystemRoot\\system32\\ntoskrnl.exe',
      '    Image name: ntkrnlmp.exe',
      '    Timestamp:        Sat Nov 20 09:30:02 2010 (4CE7951A)',
      '    CheckSum:         005523E5',
      '    ImageSize:        005DD000',
      '    File version:     6.1.7601.17514',
      'Unloaded modules:',
      'fffff880`04a00000 fffff880`04a0e000   crashdmp.sys',
      '0: kd> lm m hal',
      'start             end                 module name',
      'fffff800`02e11000 fffff800`02e5a000   hal        (deferred)',
    ].join('\n'),
  );
  assert.deepEqual(modules, [
    { start: 0xfffff80002e11000n, end: 0xfffff80002e5a000n, name: 'hal' },
    { start: 0xfffff80002e5a000n, end: 0xfffff80003437000n, name: 'nt' },
  ]);
});

test('lm: repeated listings give each module once; junk and reversed ranges are ignored', () => {
  const text = ['80800000 80a5b000   nt', '80800000 80a5b000   nt', 'b0000000 a0000000   backwards', 'Browse full module list', '80a5b000 80a87000   (deferred)'].join('\n');
  assert.deepEqual(parseLm(text), [{ start: 0x80800000n, end: 0x80a5b000n, name: 'nt' }]);
});
