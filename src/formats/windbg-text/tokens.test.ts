import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHexWord, parseHole, parseSymbol, promptCommand } from './tokens.js';

test('hex words: 8 digits are 4 bytes, 16 digits (with or without the backtick) are 8, 0x is optional', () => {
  assert.deepEqual(parseHexWord('b8ae6100'), { value: 0xb8ae6100n, width: 4 });
  assert.deepEqual(parseHexWord('0xB8AE6100'), { value: 0xb8ae6100n, width: 4 });
  assert.deepEqual(parseHexWord('fffff800`01234567'), { value: 0xfffff80001234567n, width: 8 });
  assert.deepEqual(parseHexWord('fffff80001234567'), { value: 0xfffff80001234567n, width: 8 });
  assert.deepEqual(parseHexWord('0x00000000`00000010'), { value: 0x10n, width: 8 });
  for (const bad of ['b958f4', 'b8ae61000', '28', 'fffff800`0123', 'nt!Foo', '0x', 'g8ae6100', '']) {
    assert.equal(parseHexWord(bad), undefined, bad);
  }
});

test('holes are eight question marks per half', () => {
  assert.deepEqual(parseHole('????????'), { width: 4 });
  assert.deepEqual(parseHole('????????`????????'), { width: 8 });
  assert.deepEqual(parseHole('????????????????'), { width: 8 });
  assert.equal(parseHole('???'), undefined);
  assert.equal(parseHole('????????`'), undefined);
});

test('prompts of kernel and user debugging give the command after them', () => {
  assert.equal(promptCommand('3: kd> dps b8ae6000 b8ae9000'), 'dps b8ae6000 b8ae9000');
  assert.equal(promptCommand('kd> .cls'), '.cls');
  assert.equal(promptCommand('3: kd>.cls'), '.cls');
  assert.equal(promptCommand('lkd> lm'), 'lm');
  assert.equal(promptCommand('0:000> dqs @rsp'), 'dqs @rsp');
  assert.equal(promptCommand('0:000:x86> k'), 'k');
  assert.equal(promptCommand('3: kd> '), '');
  assert.equal(promptCommand('b8ae6100  b8ae6128'), undefined);
  assert.equal(promptCommand('Evaluate expression: 4176 = 00001050'), undefined);
});

test('symbols in every form WinDbg prints, with the spaced + of pasted text', () => {
  assert.deepEqual(parseSymbol('nt!IofCallDriver+0x45'), { module: 'nt', function: 'IofCallDriver', offset: 0x45n, text: 'nt!IofCallDriver+0x45' });
  assert.deepEqual(parseSymbol('nt!KiFastCallEntry'), { module: 'nt', function: 'KiFastCallEntry', offset: 0n, text: 'nt!KiFastCallEntry' });
  assert.deepEqual(parseSymbol('BossHog+0x78a6'), { module: 'BossHog', function: undefined, offset: 0x78a6n, text: 'BossHog+0x78a6' });
  assert.deepEqual(parseSymbol('MamaHog'), { module: 'MamaHog', function: undefined, offset: 0n, text: 'MamaHog' });
  assert.deepEqual(parseSymbol('BabyHog +0x30d0'), { module: 'BabyHog', function: undefined, offset: 0x30d0n, text: 'BabyHog+0x30d0' });
  assert.deepEqual(parseSymbol('BabyHog!HogFarm +0x7460'), { module: 'BabyHog', function: 'HogFarm', offset: 0x7460n, text: 'BabyHog!HogFarm+0x7460' });
  assert.equal(parseSymbol('BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48')?.function, 'DEVICEDISPATCH::DispatchPassThrough');
  assert.equal(parseSymbol('nt!_KiTrap0E+0xDC')?.offset, 0xdcn);
  assert.equal(parseSymbol('test!main+0x20 [c:\\src\\test.c @ 65]')?.text, 'test!main+0x20');
  assert.equal(parseSymbol("test!`anonymous namespace'::Crash+0x3")?.function, "`anonymous namespace'::Crash");
  assert.equal(parseSymbol('foo!operator++0x10')?.function, 'operator+');
  assert.equal(parseSymbol('foo!std::map<int, std::less<int> >::insert+0x1c')?.function, 'std::map<int, std::less<int> >::insert');
  assert.equal(parseSymbol('nt!IofCallDriver+0x45 <---possible Return address'), undefined);
  assert.equal(parseSymbol('This points to the next frame'), undefined);
  assert.equal(parseSymbol('nt (pdb symbols)'), undefined);
  assert.equal(parseSymbol('  '), undefined);
});
