import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFormatError } from '../../io/errors.js';
import { PeImage } from './pe-image.js';
import { PeBuilder, TEXT, le, unwindInfo, uw } from './testing.js';
import { UnwindFlags, decodeX64UnwindInfo, readX64UnwindInfo, x64UnwindInfoSize } from './x64-unwind-info.js';

const RBX = 3;
const RBP = 5;
const RSI = 6;
const RDI = 7;
const R15 = 15;

test('every unwind code decodes to a record, in array order, with unscaled offsets and sizes', () => {
  const bytes = unwindInfo({
    sizeOfProlog: 0x40,
    frameRegister: RBP,
    frameOffset: 2,
    codes: [
      uw.saveXmm128Far(0x3c, 15, 0x12340),
      uw.saveXmm128(0x36, 6, 0x30),
      uw.saveNonvolFar(0x30, RSI, 0x87650),
      uw.saveNonvol(0x2a, RDI, 0x48),
      uw.setFpreg(0x26),
      uw.allocLarge(0x20, 0x12345678, '32bit'),
      uw.allocLarge(0x19, 0x7fff8),
      uw.allocSmall(0x12, 0x80),
      uw.allocSmall(0x0e, 8),
      uw.pushNonvol(0x0a, R15),
      uw.pushNonvol(0x02, RBX),
    ],
  });
  const info = decodeX64UnwindInfo(bytes, 0x3000);
  assert.equal(info.version, 1);
  assert.equal(info.flags, 0);
  assert.equal(info.sizeOfProlog, 0x40);
  assert.equal(info.countOfCodes, 20);
  assert.equal(info.frameRegister, RBP);
  assert.equal(info.frameOffset, 2);
  assert.deepEqual(info.codes, [
    { op: 'save_xmm128_far', codeOffset: 0x3c, register: 15, offset: 0x12340 },
    { op: 'save_xmm128', codeOffset: 0x36, register: 6, offset: 0x30 },
    { op: 'save_nonvol_far', codeOffset: 0x30, register: RSI, offset: 0x87650 },
    { op: 'save_nonvol', codeOffset: 0x2a, register: RDI, offset: 0x48 },
    { op: 'set_fpreg', codeOffset: 0x26 },
    { op: 'alloc_large', codeOffset: 0x20, size: 0x12345678, scaled: false },
    { op: 'alloc_large', codeOffset: 0x19, size: 0x7fff8, scaled: true },
    { op: 'alloc_small', codeOffset: 0x12, size: 0x80 },
    { op: 'alloc_small', codeOffset: 0x0e, size: 8 },
    { op: 'push_nonvol', codeOffset: 0x0a, register: R15 },
    { op: 'push_nonvol', codeOffset: 0x02, register: RBX },
  ]);
  assert.deepEqual([info.epilogs, info.handler, info.handlerData, info.chained], [[], undefined, undefined, undefined]);
});

test('machine frames with and without an error code', () => {
  const info = decodeX64UnwindInfo(unwindInfo({ codes: [uw.pushNonvol(1, RBP), uw.pushMachframe(0, true), uw.pushMachframe(0, false)] }), 0);
  assert.deepEqual(info.codes.slice(1), [
    { op: 'push_machframe', codeOffset: 0, errorCode: true },
    { op: 'push_machframe', codeOffset: 0, errorCode: false },
  ]);
});

test('an exception handler follows the codes, padded to an even count; its data follows it', () => {
  const bytes = unwindInfo({ flags: UnwindFlags.EHANDLER | UnwindFlags.UHANDLER, sizeOfProlog: 4, codes: [uw.allocSmall(4, 0x28)], handler: 0x1520, handlerData: [1, 0, 0, 0] });
  assert.equal(x64UnwindInfoSize(bytes), 4 + 4 + 4);
  const info = decodeX64UnwindInfo(bytes, 0x3010);
  assert.equal(info.flags, 3);
  assert.equal(info.handler, 0x1520);
  assert.equal(info.handlerData, 0x3010 + 12);
  assert.equal(info.chained, undefined);
});

test('chained info: the RUNTIME_FUNCTION after the codes, aligned to an even count', () => {
  for (const codes of [[], [uw.saveNonvol(0, RBX, 0x20)], [uw.saveNonvol(0, RBX, 0x20), uw.pushNonvol(0, RSI)]]) {
    const bytes = unwindInfo({ codes, chained: { begin: 0x1000, end: 0x1040, unwindInfo: 0x3000 } });
    const info = decodeX64UnwindInfo(bytes, 0x3100);
    assert.equal(x64UnwindInfoSize(bytes), bytes.length);
    assert.equal(info.flags, UnwindFlags.CHAININFO);
    assert.deepEqual(info.chained, { begin: 0x1000, end: 0x1040, unwindInfo: 0x3000 });
    assert.equal(info.handler, undefined);
  }
});

test('version 2: epilog descriptors (size, one at the end, offsets from the end, padding) and the codes after them', () => {
  const bytes = unwindInfo({
    version: 2,
    sizeOfProlog: 6,
    codes: [uw.epilogHead(3, true), uw.epilogAt(0x123), uw.epilogAt(0x40), uw.epilogAt(0), uw.allocSmall(6, 0x20), uw.pushNonvol(2, RBX)],
  });
  const info = decodeX64UnwindInfo(bytes, 0);
  assert.equal(info.version, 2);
  assert.deepEqual(info.epilogs, [
    { offsetFromEnd: 3, size: 3 },
    { offsetFromEnd: 0x123, size: 3 },
    { offsetFromEnd: 0x40, size: 3 },
  ]);
  // Windows steps over UWOP_EPILOG 2 slots at a time, so the codes after the 4 descriptors are intact.
  assert.deepEqual(
    info.codes.map((c) => c.op),
    ['epilog', 'epilog', 'alloc_small', 'push_nonvol'],
  );
  const notAtEnd = decodeX64UnwindInfo(unwindInfo({ version: 2, codes: [uw.epilogHead(2, false), uw.epilogAt(0x10)] }), 0);
  assert.deepEqual(notAtEnd.epilogs, [{ offsetFromEnd: 0x10, size: 2 }]);
});

test('version 1 has no epilog descriptors even if its first code is 6', () => {
  const info = decodeX64UnwindInfo(unwindInfo({ version: 1, codes: [uw.epilogHead(3, true), uw.epilogAt(8)] }), 0);
  assert.deepEqual(info.epilogs, []);
});

test('malformed unwind info is a FormatError naming UNWIND_INFO or UNWIND_CODE and the offset', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['version 0', le([1, 0], [1, 0], [1, 0], [1, 0]), /UNWIND_INFO.*unsupported version 0/],
    ['version 3', le([1, 3], [1, 0], [1, 0], [1, 0]), /unsupported version 3/],
    ['unknown operation', unwindInfo({ codes: [[uw.slot(0, 11, 0)]] }), /UNWIND_CODE at offset 0x3004: unknown operation 11/],
    ['truncated alloc_large', unwindInfo({ codes: [[uw.slot(0, 1, 1), 0]] }), /needs 3 slots but only 2 remain/],
    ['truncated save_nonvol', unwindInfo({ codes: [[uw.slot(0, 4, 3)]] }), /needs 2 slots but only 1 remain/],
    ['codes past the bytes', le([1, 1], [1, 0], [1, 4], [1, 0], [2, 0]), /UNWIND_INFO/],
    ['chained entry past the bytes', unwindInfo({ codes: [], chained: { begin: 0, end: 0, unwindInfo: 0 } }).subarray(0, 10), /UNWIND_INFO/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => decodeX64UnwindInfo(bytes, 0x3000, 'x.dll'), (e: unknown) => isFormatError(e) && message.test(e.message) && e.file === 'x.dll', what);
  }
});

test('readX64UnwindInfo reads the header, then exactly the structure; undefined when unreadable or malformed', async () => {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(16), characteristics: TEXT });
  const good = unwindInfo({ sizeOfProlog: 1, codes: [uw.pushNonvol(1, RBP)], chained: { begin: 0x1000, end: 0x1008, unwindInfo: 0x2010 } });
  const xdata = new Uint8Array(0x40);
  xdata.set(good, 0);
  xdata.set(le([1, 7]), 0x20); // version 7
  const rva = pe.section({ name: '.xdata', data: xdata });
  const image = await PeImage.parse(pe.build('memory', { holes: [{ rva: rva + 0x30, size: 0x10 }] }));
  const info = await readX64UnwindInfo(image, rva);
  assert.deepEqual(info?.chained, { begin: 0x1000, end: 0x1008, unwindInfo: 0x2010 });
  assert.equal(await readX64UnwindInfo(image, rva + 0x20), undefined, 'bad version');
  assert.equal(await readX64UnwindInfo(image, rva + 0x30), undefined, 'in a hole');
  assert.equal(await readX64UnwindInfo(image, 0x7fffffff), undefined, 'outside the image');
});
