import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKf } from './kf.js';

test('kf with its header: Memory blank on the first row, hex on the others; warnings skipped', () => {
  const rows = parseKf(
    [
      '3: kd> kf=b8ae6100 b8ae60ec 8081df65',
      '  Memory  ChildEBP RetAddr ',
      '          b8ae6100 f7a2ec45 nt!IofCallDriver+0x45',
      '       28 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f',
      'WARNING: Stack unwind information not available. Following frames may be wrong.',
      '      2c4 b8ae8238 b958ecdf MamaHog+0x422a',
      '          0335e534 00000000 0x7c8285ec',
    ].join('\n'),
  );
  assert.deepEqual(rows, [
    { memory: undefined, childFrame: 0xb8ae6100n, returnAddress: 0xf7a2ec45n, location: 'nt!IofCallDriver+0x45' },
    { memory: 0x28, childFrame: 0xb8ae6128n, returnAddress: 0x8081df65n, location: 'fltmgr!FltpDispatch+0x6f' },
    { memory: 0x2c4, childFrame: 0xb8ae8238n, returnAddress: 0xb958ecdfn, location: 'MamaHog+0x422a' },
    { memory: undefined, childFrame: 0x0335e534n, returnAddress: 0n, location: '0x7c8285ec' },
  ]);
});

test('kfn: frame numbers by the header, with or without Memory', () => {
  const rows = parseKf(
    [' # Memory  ChildEBP RetAddr  ', '00          b8ae6100 f7a2ec45 nt!IofCallDriver+0x45', '01       28 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f'].join('\n'),
  );
  assert.deepEqual(
    rows.map((r) => r.memory),
    [undefined, 0x28],
  );
});

test('without a header: a column counting 0, 1, 2 is frame numbers, anything else is Memory', () => {
  const numbered = parseKf(['00 b8ae6100 f7a2ec45 nt!IofCallDriver+0x45', '01 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f'].join('\n'));
  assert.deepEqual(
    numbered.map((r) => r.memory),
    [undefined, undefined],
  );
  const trimmed = parseKf(['b8ae6100 f7a2ec45 nt!IofCallDriver+0x45', '28 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f', '14 b8ae613c b958e196 nt!IofCallDriver+0x45'].join('\n'));
  assert.deepEqual(
    trimmed.map((r) => r.memory),
    [undefined, 0x28, 0x14],
  );
  const both = parseKf(['00          b8ae6100 f7a2ec45 nt!IofCallDriver+0x45', '01       28 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f'].join('\n'));
  assert.deepEqual(
    both.map((r) => r.memory),
    [undefined, 0x28],
  );
});

test('kv: Args to Child and the FPO / TrapFrame notes are left out of the location', () => {
  const rows = parseKf(
    [
      'ChildEBP RetAddr  Args to Child              ',
      'b8ae64b0 808b64a6 00000000 c2d8c400 00000000 nt!KiTrap0E+0xdc (FPO: [0,0] TrapFrame @ b8ae64c8)',
      'b8ae6578 bae5af2d 8a530fb8 00000000 00000001 nt!CcMapData+0x8c',
    ].join('\n'),
  );
  assert.deepEqual(
    rows.map((r) => [r.childFrame, r.returnAddress, r.location]),
    [
      [0xb8ae64b0n, 0x808b64a6n, 'nt!KiTrap0E+0xdc'],
      [0xb8ae6578n, 0xbae5af2dn, 'nt!CcMapData+0x8c'],
    ],
  );
});

test('x64: Child-SP RetAddr Call Site, backticks, kv colons and source annotations', () => {
  const rows = parseKf(
    [
      ' # Child-SP          RetAddr           Call Site',
      '00 fffff880`0335e6a8 fffff800`02e8c5e2 nt!KeBugCheckEx',
      '01 fffff880`0335e6b0 fffff800`02e8b2f3 nt!KiBugCheckDispatch+0x62',
      '02 (Inline Function) --------`-------- test!inlined+0x3 [c:\\src\\t.c @ 12]',
      '03 00000000`0012fe90 00000000`00404200 test!main+0x20 [c:\\src\\test.c @ 65]',
      'Child-SP          RetAddr           : Args to Child                                                           : Call Site',
      'fffff880`0335e6a8 fffff800`02e8c5e2 : 00000000`0000001e ffffffff`c0000005 fffff800`02ec8c6d 00000000`00000000 : nt!KeBugCheckEx',
    ].join('\n'),
  );
  assert.deepEqual(
    rows.map((r) => [r.memory, r.childFrame, r.returnAddress, r.location]),
    [
      [undefined, 0xfffff8800335e6a8n, 0xfffff80002e8c5e2n, 'nt!KeBugCheckEx'],
      [undefined, 0xfffff8800335e6b0n, 0xfffff80002e8b2f3n, 'nt!KiBugCheckDispatch+0x62'],
      [undefined, 0x12fe90n, 0x404200n, 'test!main+0x20'],
      [undefined, 0xfffff8800335e6a8n, 0xfffff80002e8c5e2n, 'nt!KeBugCheckEx'],
    ],
  );
});
