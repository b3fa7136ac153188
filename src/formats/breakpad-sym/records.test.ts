import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText, LineSplitter, Scratch, tokenize } from './line-syntax.js';
import {
  emptyInline,
  parseFile,
  parseFunc,
  parseInline,
  parseInlineOrigin,
  parseLineRecord,
  parsePublic,
  parseStack,
  type LineRecord,
} from './records.js';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

function text(buf: Uint8Array, start: number, end: number): string {
  return decodeText(buf, start, end);
}

test('tokenize keeps the rest of the line, leading spaces included, as the last token', () => {
  const b = bytes('a  b  c d');
  const tok: number[] = [];
  assert.equal(tokenize(b, 0, b.length, 3, tok), 3);
  assert.deepEqual([text(b, tok[0]!, tok[1]!), text(b, tok[2]!, tok[3]!), text(b, tok[4]!, tok[5]!)], ['a', 'b', ' c d']);
  assert.equal(tokenize(b, 0, b.length, 10, tok), 4);
  const short = bytes('a b ');
  assert.equal(tokenize(short, 0, short.length, 3, tok), 2, 'nothing after the separator is no token');
});

test('hex and decimal fields accept what strtoull/strtol + IsValidAfterNumber accept', () => {
  const scratch = new Scratch();
  const hex = (s: string): number => scratch.hex(bytes(s), 0, s.length);
  const dec = (s: string): number => scratch.dec(bytes(s), 0, s.length);
  assert.equal(hex('a1'), 0xa1);
  assert.equal(hex('0x1F'), 0x1f);
  assert.equal(hex('10 junk'), 0x10, 'a space ends the number');
  assert.ok(Number.isNaN(hex('1z')));
  assert.ok(Number.isNaN(hex('')));
  assert.ok(Number.isNaN(hex('0x')));
  assert.ok(Number.isNaN(hex('123123123123123123123123')));
  assert.equal(dec('42'), 42);
  assert.equal(dec('-1'), -1);
  assert.equal(dec('  7'), 7, 'leading spaces are skipped');
  assert.ok(Number.isNaN(dec('f')));
  assert.ok(Number.isNaN(dec('x1')));
});

function line(s: string): [Uint8Array, number, number] {
  const b = bytes(s);
  return [b, 0, b.length];
}

test('FUNC: Breakpad’s accepted and rejected forms', () => {
  const tok = new Scratch();
  const f = (s: string) => parseFunc(...line(s), tok);
  const ok = f('FUNC a1 a2 a3 function name');
  assert.ok(ok);
  assert.deepEqual([ok.isMultiple, ok.address, ok.size, ok.parameterSize], [false, 0xa1, 0xa2, 0xa3]);
  const m = f('FUNC m a1 a2 a3 function name');
  assert.ok(m);
  assert.deepEqual([m.isMultiple, m.address, m.size, m.parameterSize], [true, 0xa1, 0xa2, 0xa3]);
  assert.equal(text(bytes('FUNC m a1 a2 a3 function name'), m.nameStart, m.nameEnd), 'function name');
  assert.ok(f('FUNC 0 0 0 function name'));
  for (const bad of ['FUNC 1 2 3 ', 'FUNC 1 2 3', 'FUNC 1z 2 3 name', 'FUNC 1 z2 3 name', 'FUNC 1 2 -5 name', 'FUNC x 1 2 5 name', 'FUNC m 1 2 3']) {
    assert.equal(f(bad), undefined, bad);
  }
});

test('PUBLIC: the name is the rest of the line', () => {
  const tok = new Scratch();
  const b = bytes('PUBLIC 1 2 3');
  const p = parsePublic(b, 0, b.length, tok);
  assert.ok(p);
  assert.equal(text(b, p.nameStart, p.nameEnd), '3');
  const m = parsePublic(...line('PUBLIC m a1 a2 function name'), tok);
  assert.ok(m?.isMultiple);
  assert.equal(m.address, 0xa1);
  for (const bad of ['PUBLIC 1 2 ', 'PUBLIC 1z 2 3', 'PUBLIC 1 -5 3', 'PUBLIC x 1 5 3']) {
    assert.equal(parsePublic(...line(bad), tok), undefined, bad);
  }
});

test('line records: trailing text after the file id is ignored; negative or non-decimal fields are not', () => {
  const cursor = new Scratch();
  const out: LineRecord = { address: 0, size: 0, line: 0, fileId: 0 };
  assert.ok(parseLineRecord(...line('a1 a2 3 4  // some comment'), cursor, out));
  assert.deepEqual(out, { address: 0xa1, size: 0xa2, line: 3, fileId: 4 });
  assert.ok(parseLineRecord(...line('a1  a2 0  4'), cursor, out), 'line 0 is valid; runs of spaces separate');
  assert.deepEqual(out, { address: 0xa1, size: 0xa2, line: 0, fileId: 4 });
  for (const bad of ['1 2 3', '1 2 3 ', '1z 2 3 4', '1 2 -1 4', '1 2 3 f', '1 2 3 -4', '1 2 3x 4']) {
    assert.equal(parseLineRecord(...line(bad), cursor, out), false, bad);
  }
});

test('FILE', () => {
  const tok = new Scratch();
  const b = bytes('FILE 0 file name');
  const f = parseFile(b, 0, b.length, tok);
  assert.ok(f);
  assert.equal(f.id, 0);
  assert.equal(text(b, f.nameStart, f.nameEnd), 'file name');
  for (const bad of ['FILE 1 ', 'FILE x1 file', 'FILE -2 file', 'FILE 123123123123123123123123 f']) {
    assert.equal(parseFile(...line(bad), tok), undefined, bad);
  }
});

test('INLINE_ORIGIN: old form has a numeric file id (maybe -1) after the id', () => {
  const tok = new Scratch();
  for (const [s, name] of [
    ['INLINE_ORIGIN 1 1 function name', 'function name'],
    ['INLINE_ORIGIN 0 -1 function name', 'function name'],
    ['INLINE_ORIGIN 0 function name', 'function name'],
    ['INLINE_ORIGIN 7 operator new(unsigned long)', 'operator new(unsigned long)'],
  ] as const) {
    const b = bytes(s);
    const o = parseInlineOrigin(b, 0, b.length, tok);
    assert.ok(o, s);
    assert.equal(text(b, o.nameStart, o.nameEnd), name);
  }
  // A name that is all digits reads as an old-form file id with no name after it.
  assert.equal(parseInlineOrigin(...line('INLINE_ORIGIN 3 42'), tok), undefined);
  assert.equal(parseInlineOrigin(...line('INLINE_ORIGIN 3 -2 name'), tok), undefined);
});

test('INLINE: old and new forms told apart by the number of fields', () => {
  const cursor = new Scratch();
  const parse = (s: string) => {
    const out = emptyInline();
    return parseInline(...line(s), cursor, out) ? out : undefined;
  };
  assert.deepEqual(parse('INLINE 0 42 1 1 15b45 6b1'), {
    nestLevel: 0,
    callSiteLine: 42,
    callSiteFileId: 1,
    originId: 1,
    ranges: [0x15b45, 0x6b1],
  });
  assert.deepEqual(parse('INLINE 1 39 0 15b72 684 16000 10'), {
    nestLevel: 1,
    callSiteLine: 39,
    callSiteFileId: undefined,
    originId: 0,
    ranges: [0x15b72, 0x684, 0x16000, 0x10],
  });
  for (const bad of ['INLINE 0 42 1 15b45', 'INLINE -1 42 1 15b45 6b1', 'INLINE 0 42 1 1 15b45 xyz']) {
    assert.equal(parse(bad), undefined, bad);
  }
});

test('STACK WIN and STACK CFI', () => {
  const tok = new Scratch();
  const b = bytes('STACK WIN 4 4290 18 4 0 0 0 4 0 1 $T0 $ebp = $eip $T0 4 + ^ =');
  const w = parseStack(b, 0, b.length, tok);
  assert.ok(w?.kind === 'win');
  assert.equal(w.win.type, 4);
  assert.equal(w.win.rva, 0x4290);
  assert.equal(w.win.codeSize, 0x18);
  assert.equal(w.win.prologueSize, 4);
  assert.equal(w.win.localSize, 4);
  assert.ok(w.win.hasProgramString);
  assert.equal(text(b, w.win.programStart, w.win.programEnd), '$T0 $ebp = $eip $T0 4 + ^ =');
  const fpo = parseStack(...line('STACK WIN 0 1000 30 4 0 8 c 10 0 0 1'), tok);
  assert.ok(fpo?.kind === 'win');
  assert.equal(fpo.win.allocatesBasePointer, true);
  assert.equal(fpo.win.hasProgramString, false);
  assert.equal(parseStack(...line('STACK WIN 5 1000 30 4 0 8 c 10 0 0 1'), tok), undefined, 'unknown type');
  assert.equal(parseStack(...line('STACK WIN 4 1000 30 4 0 8 c 10 0 1'), tok), undefined, 'too few fields');
  const init = bytes('STACK CFI INIT 3d40 af .cfa: $esp 4 + .ra: .cfa 4 - ^');
  const i = parseStack(init, 0, init.length, tok);
  assert.ok(i?.kind === 'init');
  assert.deepEqual([i.address, i.size], [0x3d40, 0xaf]);
  assert.equal(text(init, i.rulesStart, i.rulesEnd), '.cfa: $esp 4 + .ra: .cfa 4 - ^');
  const delta = parseStack(...line('STACK CFI 3d41 .cfa: $esp 8 +'), tok);
  assert.ok(delta?.kind === 'delta');
  assert.equal(delta.address, 0x3d41);
  for (const bad of ['STACK CFI INIT 3d40 af', 'STACK CFI 3d41', 'STACK MACHO 1 2', 'STACK CFI', 'STACK WIN']) {
    assert.equal(parseStack(...line(bad), tok), undefined, bad);
  }
});

test('LineSplitter: \\n, \\r\\n and lone \\r all end lines; empty lines are skipped', () => {
  const b = bytes('a\r\nbb\n\n\rccc\rd');
  const s = new LineSplitter(b);
  const lines: string[] = [];
  while (s.next()) lines.push(text(b, s.start, s.end));
  assert.deepEqual(lines, ['a', 'bb', 'ccc', 'd']);
  const partial = new LineSplitter(b);
  const complete: string[] = [];
  while (partial.next(true)) complete.push(text(b, partial.start, partial.end));
  assert.deepEqual(complete, ['a', 'bb', 'ccc'], 'an unterminated last line waits for more bytes');
  assert.equal(partial.position, b.length - 1);
});
