import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDps } from './dps.js';

const lines = (...l: string[]): string => l.join('\n');

test('reads address, value and the symbol in each printed form', () => {
  const c = parseDps(
    lines(
      'b8ae60ec  b8ae6100',
      'b8ae60f0  8081df65 nt!IofCallDriver+0x45',
      'b8ae60f4  b80c18a6 BossHog+0x78a6',
      'b8ae60f8  80889690 nt!KiFastCallEntry',
      'b8ae60fc  b8d89000 MamaHog',
      '0xb8ae6100 0xb8ae6128',
    ),
  );
  assert.equal(c.wordSize, 4);
  assert.equal(c.lines, 6);
  assert.equal(c.skipped, 0);
  assert.equal(c.words.get(0xb8ae60ecn), 0xb8ae6100n);
  assert.equal(c.words.get(0xb8ae6100n), 0xb8ae6128n);
  assert.deepEqual(c.symbols.get(0x8081df65n), { module: 'nt', function: 'IofCallDriver', offset: 0x45n, text: 'nt!IofCallDriver+0x45' });
  assert.deepEqual(c.symbols.get(0xb80c18a6n), { module: 'BossHog', function: undefined, offset: 0x78a6n, text: 'BossHog+0x78a6' });
  assert.equal(c.symbols.get(0x80889690n)?.function, 'KiFastCallEntry');
  assert.deepEqual(c.symbols.get(0xb8d89000n), { module: 'MamaHog', function: undefined, offset: 0n, text: 'MamaHog' });
  assert.equal(c.symbols.has(0xb8ae6100n), false, 'a value printed without a symbol has none');
  assert.deepEqual(c.ranges, [{ start: 0xb8ae60ecn, end: 0xb8ae6104n }]);
});

test('the blog pastes: spaced +, annotations after the symbol, no-break spaces', () => {
  const c = parseDps(
    lines(
      '3: kd> dps b9596090 L1',
      'b9596090  b8d8c0d0 BabyHog +0x30d0',
      'b8ae60f0  8081df65 nt!IofCallDriver+0x45 <---possible Return address. Start here.',
      'b8ae6100  b8ae6128     This points to the next frame',
      'b8ae6140\u00a0 b958e196 BossHog+0x1196',
    ),
  );
  assert.equal(c.lines, 4);
  assert.equal(c.symbols.get(0xb8d8c0d0n)?.text, 'BabyHog+0x30d0');
  assert.equal(c.symbols.get(0x8081df65n)?.text, 'nt!IofCallDriver+0x45');
  assert.equal(c.symbols.has(0xb8ae6128n), false, 'a note is no symbol');
  assert.equal(c.words.get(0xb8ae6140n), 0xb958e196n);
  assert.equal(c.symbols.get(0xb958e196n)?.module, 'BossHog');
});

test('prompts, the command, blank lines and <omitting output> gaps are tolerated; chatter is counted', () => {
  const c = parseDps(
    lines(
      '3: kd>.cls',
      '3: kd> dps  b8ae6000 b8ae9000',
      '',
      '                               <omitting output>',
      'b8ae6100  b8ae6128',
      'b8ae6104  f7a2ec45 fltmgr!FltpDispatch+0x6f',
      '<omitting output>',
      'b8ae6200  00000000',
      'kd> ',
      'Default stack trace depth is 0n512 frames',
      'b8ae6148  b958f4',
    ),
  );
  assert.equal(c.lines, 3);
  assert.equal(c.skipped, 4, 'two gap lines, the .kframes answer and a cut-off line');
  assert.deepEqual(c.ranges, [
    { start: 0xb8ae6100n, end: 0xb8ae6108n },
    { start: 0xb8ae6200n, end: 0xb8ae6204n },
  ]);
});

test('a symbol wrapped onto the next line is joined, wherever the wrap fell', () => {
  const c = parseDps(
    lines(
      'b8ae6260  b80cf3b7 BossHog!DEVICEDISPATCH::Dispatc',
      'hPassThrough+0x48',
      'b8ae6264  f7a2d2c4 fltmgr!FltpPerformPreCallbacks+',
      '0x2d4',
      'b8ae6268  8081df65 nt!IofCallDriver+0x4',
      '5',
      'b8ae626c  b770a8ac',
      'BossHog01!DEVICEDISPATCH::LowerDevicePassThrough+0x48',
      'b8ae6270  b8d8ec2d MamaHog+0x5c2d',
    ),
  );
  assert.equal(c.lines, 5);
  assert.equal(c.skipped, 0);
  assert.equal(c.symbols.get(0xb80cf3b7n)?.text, 'BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48');
  assert.equal(c.symbols.get(0xf7a2d2c4n)?.text, 'fltmgr!FltpPerformPreCallbacks+0x2d4');
  assert.equal(c.symbols.get(0x8081df65n)?.offset, 0x45n);
  assert.equal(c.symbols.get(0xb770a8acn)?.function, 'DEVICEDISPATCH::LowerDevicePassThrough');
  assert.equal(c.words.get(0xb8ae6270n), 0xb8d8ec2dn);
});

test('a wrapped tail does not overwrite a symbol the same value had in full before', () => {
  const c = parseDps(
    lines(
      'b8ae6300  b80cf3b7 BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48',
      'b8ae6310  b80cf3b7 BossHog!DEVICEDISPATCH::Dispatc',
      'hPassThrough+0x48',
    ),
  );
  assert.equal(c.symbols.get(0xb80cf3b7n)?.text, 'BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48');
  assert.equal(c.skipped, 0);
});

test('a line of words after a value is no continuation', () => {
  const c = parseDps(lines('b8ae6300  b80cf3b7 BossHog+0x15367', 'WARNING:', 'b8ae6304  b80cf3b7 BossHog+0x15367', 'WARNING: something'));
  assert.equal(c.symbols.get(0xb80cf3b7n)?.text, 'BossHog+0x15367');
  assert.equal(c.skipped, 2);
});

test('???????? slots are holes, not words, and still part of the captured range', () => {
  const c = parseDps(lines('b8ae6000  00000000', 'b8ae6004  ????????', 'b8ae6008  ????????', 'b8ae600c  b8ae6100'));
  assert.equal(c.lines, 4);
  assert.deepEqual([...c.holes], [0xb8ae6004n, 0xb8ae6008n]);
  assert.equal(c.words.has(0xb8ae6004n), false);
  assert.deepEqual(c.ranges, [{ start: 0xb8ae6000n, end: 0xb8ae6010n }]);
});

test('dqs: backticks in 64-bit addresses and values give word size 8', () => {
  const c = parseDps(
    lines(
      '0: kd> dqs fffff880`0335e6a0 L4',
      'fffff880`0335e6a0  fffff880`0335e700',
      'fffff880`0335e6a8  fffff800`02e8c5e2 nt!KeBugCheckEx+0x12',
      'fffff880`0335e6b0  ????????`????????',
      'fffff880`0335e6b8  00000000`00000000',
    ),
  );
  assert.equal(c.wordSize, 8);
  assert.equal(c.lines, 4);
  assert.equal(c.words.get(0xfffff8800335e6a0n), 0xfffff8800335e700n);
  assert.equal(c.symbols.get(0xfffff80002e8c5e2n)?.text, 'nt!KeBugCheckEx+0x12');
  assert.deepEqual([...c.holes], [0xfffff8800335e6b0n]);
  assert.deepEqual(c.ranges, [{ start: 0xfffff8800335e6a0n, end: 0xfffff8800335e6c0n }]);
});

test('word size: dds and dqs decide it; otherwise the first value does, and other widths are skipped', () => {
  const dqsOnX86 = parseDps(lines('kd> dqs b8ae6000', 'b8ae6000  00000000`b8ae6100'));
  assert.equal(dqsOnX86.wordSize, 8);
  assert.equal(dqsOnX86.words.get(0xb8ae6000n), 0xb8ae6100n);
  const dds = parseDps(lines('0:000> dds 0012ff00', '00000000`0012ff00  00000000`0012ff10', '00000000`0012ff04  0012ff10'));
  assert.equal(dds.wordSize, 4);
  assert.equal(dds.lines, 1);
  assert.equal(dds.skipped, 1);
  const mixed = parseDps(lines('b8ae6000  00000000', 'b8ae6004  00000000`00000000'));
  assert.equal(mixed.wordSize, 4);
  assert.equal(mixed.skipped, 1);
  assert.equal(parseDps('').wordSize, 4);
});

test('a bare dps command line (no prompt) is recognised, not skipped', () => {
  const c = parseDps(lines('dps  b8ae6000 b8ae9000', 'b8ae6000  00000000'));
  assert.equal(c.skipped, 0);
  assert.equal(c.lines, 1);
});

test('the first printing of a value names it', () => {
  const c = parseDps(lines('b8ae6140  b958e196 BabyHog+0x1196', 'b8ae7140  b958e196 BossHog+0x1196'));
  assert.equal(c.symbols.get(0xb958e196n)?.module, 'BabyHog');
});
