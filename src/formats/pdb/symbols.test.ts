// CodeView symbol records, binary annotations, C13 lines and type names on small byte fixtures that
// state exactly the bytes each case needs, hostile ones included: every bound is a count of work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';
import { findLine, parseC13Lines, StringTable } from './lines.js';
import { codeSymbolName, decodeAnnotations, procedureRegisterParameters, readProcedureScopes, scanCodeSymbols, scanPublics, SymbolKind, walkRecords } from './symbols.js';
import { TypeNames, TypeStream } from './types.js';

/** Little-endian bytes, appended field by field. */
class Bytes {
  private readonly out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u8(...v: number[]): this {
    for (const x of v) this.out.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v, v >>> 8);
  }
  u32(v: number): this {
    return this.u8(v, v >>> 8, v >>> 16, v >>> 24);
  }
  str(s: string): this {
    for (const c of Buffer.from(s, 'utf8')) this.out.push(c);
    return this.u8(0);
  }
  raw(b: Uint8Array | Bytes): this {
    for (const x of b instanceof Bytes ? b.bytes() : b) this.out.push(x);
    return this;
  }
  align4(): this {
    while (this.out.length % 4) this.out.push(0);
    return this;
  }
  /** A CodeView record: u16 length (kind + body), u16 kind, body. */
  record(kind: number, body: Bytes): this {
    return this.u16(body.length + 2).u16(kind).raw(body);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
  reader(): Reader {
    return new Reader(this.bytes(), 'fixture', 0, 'fixture');
  }
}

/** PROCSYM32 body: pParent, pEnd, pNext, len, DbgStart, DbgEnd, typind, off, seg, flags, name. */
function proc(size: number, offset: number, name: string, typeIndex = 0, parent = 0, end = 0): Bytes {
  return new Bytes().u32(parent).u32(end).u32(0).u32(size).u32(0).u32(size).u32(typeIndex).u32(offset).u16(1).u8(0).str(name);
}
function inlineSite(inlinee: number, annotations: number[], parent = 0, end = 0): Bytes {
  return new Bytes().u32(parent).u32(end).u32(inlinee).u8(...annotations);
}
const empty = (): Bytes => new Bytes();

test('procedures and thunks at the top level are indexed; nested scopes are not, and S_END closes each', () => {
  const s = new Bytes()
    .u32(4)
    .record(SymbolKind.S_GPROC32, proc(0x40, 0x100, 'outer', 0x1003))
    .record(SymbolKind.S_BLOCK32, new Bytes().u32(0).u32(0).u32(8).u32(0x110).u16(1).str(''))
    // A procedure inside a block (not real MSVC output) is not a top-level one.
    .record(SymbolKind.S_LPROC32, proc(4, 0x110, 'nested'))
    .record(SymbolKind.S_END, empty())
    .record(SymbolKind.S_END, empty())
    .record(SymbolKind.S_END, empty())
    .record(SymbolKind.S_THUNK32, new Bytes().u32(0).u32(0).u32(0).u32(0x200).u16(1).u16(6).u8(0).str('thunk'))
    .record(SymbolKind.S_END, empty())
    .record(SymbolKind.S_LPROC32_ID, proc(0x10, 0x300, 'after'));
  const r = s.reader();
  const { symbols, skipped } = scanCodeSymbols(r, r.length);
  assert.equal(skipped, 0);
  assert.deepEqual(
    symbols.map((x) => [x.kind, x.offset, x.size, codeSymbolName(r, x).name]),
    [
      ['procedure', 0x100, 0x40, 'outer'],
      ['thunk', 0x200, 6, 'thunk'],
      ['procedure', 0x300, 0x10, 'after'],
    ],
  );
  assert.equal(codeSymbolName(r, symbols[0]!).typeIndex, 0x1003);
});

test('a record whose length runs past the stream ends the walk and is counted; a zero length does not loop', () => {
  const cut = new Bytes().u32(4).record(SymbolKind.S_GPROC32, proc(0x40, 0x100, 'f')).u16(0x7ff0).u16(SymbolKind.S_GPROC32).u32(0);
  const r = cut.reader();
  const result = scanCodeSymbols(r, r.length);
  assert.equal(result.symbols.length, 1);
  assert.equal(result.skipped, 1);
  let visits = 0;
  const zero = new Bytes().u32(4).u16(0).u16(0).u16(0).u16(0).reader();
  assert.equal(walkRecords(zero, 4, zero.length, () => void visits++), 1);
  assert.equal(visits, 0);
  // A procedure record too short for its fixed fields is skipped, not read past.
  const short = new Bytes().u32(4).record(SymbolKind.S_GPROC32, new Bytes().u32(0).u32(0)).reader();
  assert.deepEqual(scanCodeSymbols(short, short.length), { symbols: [], skipped: 1 });
});

test('inline sites nest by the record walk; parent/end pointers that form a cycle cost nothing', () => {
  // Every pointer points at the procedure itself (a cycle): structure comes from S_INLINESITE_END.
  const s = new Bytes()
    .u32(4)
    .record(SymbolKind.S_GPROC32, proc(0x100, 0x1000, 'f', 0, 4, 4))
    // BA_OP_ChangeCodeOffset 0x10, BA_OP_ChangeCodeLength 0x20.
    .record(SymbolKind.S_INLINESITE, inlineSite(0x2001, [3, 0x10, 4, 0x20], 4, 4))
    // ChangeCodeLengthAndCodeOffset(len 4, delta 0x18), then ChangeCodeOffsetAndLineOffset(code +6, line +1).
    .record(SymbolKind.S_INLINESITE2, new Bytes().u32(4).u32(4).u32(0x2002).u32(1).u8(12, 4, 0x18, 11, 0x26))
    .record(SymbolKind.S_INLINESITE_END, empty())
    .record(SymbolKind.S_INLINESITE_END, empty())
    .record(SymbolKind.S_END, empty())
    .record(SymbolKind.S_GPROC32, proc(4, 0x2000, 'g'));
  const r = s.reader();
  const lines = new Map([
    [0x2001, { fileId: 0, line: 10 }],
    [0x2002, { fileId: 8, line: 50 }],
  ]);
  const scopes = readProcedureScopes(r, 4, r.length, (id) => lines.get(id));
  assert.equal(scopes.records, 6, 'the walk stops at the procedure S_END');
  assert.deepEqual(
    scopes.inlineSites.map((x) => [x.inlinee, x.parent, x.depth, x.ranges.map((g) => [g.start, g.size, g.fileId, g.line])]),
    [
      [0x2001, -1, 0, [[0x10, 0x20, 0, 10]]],
      [
        0x2002,
        0,
        1,
        [
          [0x18, 4, 8, 50],
          // The range opened by ChangeCodeOffsetAndLineOffset is never closed: no length, dropped.
        ],
      ],
    ],
  );
});

test('binary annotations: signed line deltas, file changes, a range closed by the next one, lengths that advance', () => {
  // CodeOffset 0; ChangeCodeOffsetAndLineOffset(+2, line +0); ChangeLineOffset(-3) (signed: 7);
  // ChangeFile 0x18; ChangeCodeOffset +6 (closes [2,8)); ChangeCodeLength 2 ([8,10), offset 10);
  // ChangeCodeOffset 1 (a range at 11), ChangeCodeLength 0x100 in the 4-byte form (0xC0 prefix).
  const ranges = decodeAnnotations(Uint8Array.from([1, 0, 11, 0x02, 6, 7, 5, 0x18, 3, 6, 4, 2, 3, 1, 4, 0xc0, 0x00, 0x01, 0x00]), 0, 100);
  assert.deepEqual(
    ranges.map((g) => [g.start, g.size, g.fileId, g.line]),
    [
      [2, 6, 0, 100],
      [8, 2, 0x18, 97],
      [11, 0x100, 0x18, 97],
    ],
  );
});

test('annotation streams that never end stop at the record: each opcode consumes a byte', () => {
  // 60 000 bytes of ChangeCodeOffset +1 (no BA_OP_Invalid terminator): bounded by the bytes.
  const bytes = new Uint8Array(60_000);
  for (let i = 0; i < bytes.length; i += 2) (bytes[i] = 3), (bytes[i + 1] = 1);
  const ranges = decodeAnnotations(bytes, 0, 1);
  assert.equal(ranges.length, 29_999, 'every range but the last (never closed)');
  // A malformed compressed number (0xE0 prefix) or a cut one ends the decoding.
  assert.deepEqual(decodeAnnotations(Uint8Array.from([3, 0xe0, 4, 1]), 0, 1), []);
  assert.deepEqual(decodeAnnotations(Uint8Array.from([12, 4]), 0, 1), []);
  assert.deepEqual(decodeAnnotations(Uint8Array.from([0x0f, 1, 12, 4, 0]), 0, 1), [], 'an unknown opcode ends it');
});

test('S_PUB32 records in the record stream: flags, section:offset, name; other records passed over', () => {
  const s = new Bytes()
    .record(SymbolKind.S_PUB32, new Bytes().u32(2).u32(0x10).u16(1).str('_main').align4())
    .record(0x1108, new Bytes().u32(0).str('udt').align4())
    .record(SymbolKind.S_PUB32, new Bytes().u32(0).u32(0x40).u16(2).str('__imp__f@4'));
  assert.deepEqual(scanPublics(s.reader()), {
    publics: [
      { name: '_main', section: 1, offset: 0x10, isCode: false, isFunction: true },
      { name: '__imp__f@4', section: 2, offset: 0x40, isCode: false, isFunction: false },
    ],
    skipped: 0,
  });
});

/** C13 subsection: kind, length, body aligned to 4. */
function subsection(kind: number, body: Bytes): Bytes {
  return new Bytes().u32(kind).u32(body.length).raw(body).align4();
}

test('C13 lines: blocks per file, several lines at one offset (the last covers the code), columns, checksums, inlinee lines', () => {
  const lines = new Bytes()
    .u32(0x100) // offCon
    .u16(1) // segCon
    .u16(1) // CV_LINES_HAVE_COLUMNS
    .u32(0x30) // cbCon
    .u32(0x18) // file checksum offset
    .u32(3)
    .u32(12 + 3 * 12)
    .u32(0)
    .u32(0x80000000 | 20)
    .u32(0)
    .u32(0x80000000 | 21)
    .u32(0x10)
    .u32(22)
    .u32(0)
    .u32(0)
    .u32(0);
  const checksums = new Bytes().u32(0).u8(0, 0).align4().u32(7).u8(0, 0).align4().u32(0).u8(16, 1).raw(new Uint8Array(16)).align4().u32(42).u8(0, 0).align4();
  const inlinees = new Bytes().u32(0).u32(0x1234).u32(0x18).u32(77);
  const c13 = new Bytes().raw(subsection(0xf2, lines)).raw(subsection(0x80000000 | 0xf2, lines)).raw(subsection(0xf4, checksums)).raw(subsection(0xf6, inlinees));
  const result = parseC13Lines(c13.reader());
  assert.equal(result.skipped, 0);
  assert.deepEqual(
    result.lines.map((l) => [l.offset, l.size, l.line, l.fileId, l.isStatement]),
    [
      [0x100, 0, 20, 0x18, true],
      [0x100, 0x10, 21, 0x18, true],
      [0x110, 0x20, 22, 0x18, false],
    ],
  );
  assert.deepEqual([...result.fileNameOffsets], [[0, 0], [8, 7], [16, 0], [0x28, 42]]);
  assert.deepEqual(result.inlinees.get(0x1234), { fileId: 0x18, line: 77 });
  assert.equal(findLine(result.lines, 1, 0x100), 1, 'the empty line at 0x100 is passed over');
  assert.equal(findLine(result.lines, 1, 0x10f), 1);
  assert.equal(findLine(result.lines, 1, 0x12f), 2);
  assert.equal(findLine(result.lines, 1, 0x130), -1);
  assert.equal(findLine(result.lines, 2, 0x100), -1);
});

test('C13 hostile: a line block claiming more lines than it holds is skipped; a subsection past the end stops the walk', () => {
  const lying = new Bytes().u32(0).u16(1).u16(0).u32(0x10).u32(0).u32(0x10000000).u32(20);
  const c13 = new Bytes().raw(subsection(0xf2, lying)).u32(0xf4).u32(0x7fffffff).u32(0);
  const result = parseC13Lines(c13.reader());
  assert.equal(result.lines.length, 0);
  assert.equal(result.skipped, 2);
});

test('/names: signature checked, strings by offset, offsets past the buffer undefined', () => {
  const names = new Bytes().u32(0xeffeeffe).u32(1).u32(9).u8(0).str('a.cpp').str('b').u32(0);
  const table = StringTable.parse(names.reader());
  assert.equal(table.get(1), 'a.cpp');
  assert.equal(table.get(7), 'b');
  assert.equal(table.get(9), undefined);
  assert.throws(() => StringTable.parse(new Bytes().u32(0x12345678).u32(1).u32(0).reader()), isFormatError);
});

/** A TPI/IPI stream: 56-byte header (version, header size, begin, end, record bytes, ...), then records. */
function typeStream(records: Bytes[]): Reader {
  const body = new Bytes();
  for (const r of records) body.raw(r);
  return new Bytes().u32(20040203).u32(56).u32(0x1000).u32(0x1000 + records.length).u32(body.length).raw(new Uint8Array(36)).raw(body).reader();
}
const leaf = (kind: number, body: Bytes): Bytes => new Bytes().record(kind, body);

test('type names: parameter lists as the undecorator writes them, inlinee names qualified by scope or class', () => {
  const tpi = typeStream([
    leaf(0x1001, new Bytes().u32(0x71).u16(1).u16(0)), // 0x1000 wchar_t const
    leaf(0x1002, new Bytes().u32(0x1000).u32(0x0000040c)), // 0x1001 wchar_t const * const (32-bit near, const)
    leaf(0x1001, new Bytes().u32(0x75).u16(1).u16(0)), // 0x1002 unsigned int const (by value: const dropped)
    leaf(0x1505, new Bytes().u16(0).u16(0).u32(0).u32(0).u32(0).u16(8).str('ns::S')), // 0x1003 struct ns::S
    leaf(0x1002, new Bytes().u32(0x1003).u32(0x0000002c)), // 0x1004 ns::S & (lvalue reference)
    leaf(0x1201, new Bytes().u32(3).u32(0x1001).u32(0x1002).u32(0x1004)), // 0x1005 arglist
    leaf(0x1008, new Bytes().u32(0x30).u8(0, 0).u16(3).u32(0x1005)), // 0x1006 bool (args)
    leaf(0x1201, new Bytes().u32(2).u32(0x403).u32(0)), // 0x1007 (void *, ...)
    leaf(0x1008, new Bytes().u32(0x74).u8(0, 0).u16(2).u32(0x1007)), // 0x1008 int (void *, ...)
    leaf(0x1002, new Bytes().u32(0x1008).u32(0x0000000a)), // 0x1009 pointer to it
    leaf(0x1201, new Bytes().u32(1).u32(0x1009)), // 0x100a
    leaf(0x1008, new Bytes().u32(0x03).u8(0, 0).u16(1).u32(0x100a)), // 0x100b void (int (*)(void *,...))
    leaf(0x1002, new Bytes().u32(0x100c).u32(0x0000000a)), // 0x100c a pointer to itself: a cycle
    leaf(0x1201, new Bytes().u32(1).u32(0x100c)), // 0x100d
    leaf(0x1008, new Bytes().u32(0x03).u8(0, 0).u16(1).u32(0x100d)), // 0x100e
  ]);
  const ipi = typeStream([
    leaf(0x1605, new Bytes().u32(0).str('outer::?A0x1f2e3d4c')), // 0x1000
    leaf(0x1601, new Bytes().u32(0x1000).u32(0x1006).str('helper')), // 0x1001
    leaf(0x1602, new Bytes().u32(0x1003).u32(0x1006).str('method')), // 0x1002
    leaf(0x1602, new Bytes().u32(0x1003).u32(0x1006).str('{dtor}')), // 0x1003
    leaf(0x1601, new Bytes().u32(0).u32(0x1006).str('plain')), // 0x1004
  ]);
  const names = new TypeNames(TypeStream.parse(tpi), TypeStream.parse(ipi));
  assert.equal(names.parameterList(0x1006), '(wchar_t const * const,unsigned int,ns::S &)');
  assert.equal(names.parameterList(0x100b), '(int (*)(void *,...))');
  assert.equal(names.parameterList(0x100e), undefined, 'a pointer cycle gives no name, in bounded steps');
  assert.equal(names.parameterList(0x1003), undefined, 'not a procedure');
  assert.equal(names.inlineeName(0x1001), "outer::`anonymous namespace'::helper");
  assert.equal(names.inlineeName(0x1002), 'ns::S::method');
  assert.equal(names.inlineeName(0x1003), 'ns::S::~S');
  assert.equal(names.inlineeName(0x1004), 'plain');
  assert.equal(names.inlineeName(0x2000), undefined);
});

test('a type stream header whose indices cannot fit its records is a FormatError', () => {
  const r = new Bytes().u32(20040203).u32(56).u32(0x1000).u32(0x1000 + 1000).u32(8).raw(new Uint8Array(36)).u32(0).u32(0).reader();
  assert.throws(() => TypeStream.parse(r), isFormatError);
});

test('type sizes and parameter counts: built-ins, pointers by their size bits, modifiers, structures (not forward references), `this` counted', () => {
  const tpi = typeStream([
    leaf(0x1002, new Bytes().u32(0x74).u32(0x0000800a)), // 0x1000 int * (size 4 in bits 13-18)
    leaf(0x1001, new Bytes().u32(0x30).u16(1).u16(0)), // 0x1001 bool const
    leaf(0x1505, new Bytes().u16(0).u16(0).u32(0).u32(0).u32(0).u16(200).str('S')), // 0x1002 struct S, 200 bytes
    leaf(0x1505, new Bytes().u16(0).u16(0x80).u32(0).u32(0).u32(0).u16(0).str('S')), // 0x1003 its forward reference
    leaf(0x1201, new Bytes().u32(2).u32(0x1000).u32(0x1001)), // 0x1004 arglist
    leaf(0x1008, new Bytes().u32(0x03).u8(0, 0).u16(2).u32(0x1004)), // 0x1005 void (int *, bool)
    leaf(0x1009, new Bytes().u32(0x03).u32(0x1002).u32(0x1000).u8(0, 0).u16(2).u32(0x1004).u32(0)), // 0x1006 S::f(int *, bool), this
    leaf(0x1009, new Bytes().u32(0x03).u32(0x1002).u32(0).u8(0, 0).u16(2).u32(0x1004).u32(0)), // 0x1007 static S::g
  ]);
  const types = new TypeNames(TypeStream.parse(tpi), TypeStream.empty());
  assert.deepEqual([0x74, 0x30, 0x41, 0x403, 0x603, 0x1000, 0x1001, 0x1002, 0x1003, 0x1005].map((t) => types.typeSize(t)), [4, 1, 8, 4, 8, 4, 1, 200, undefined, undefined]);
  assert.deepEqual([0x1005, 0x1006, 0x1007, 0x1000].map((t) => types.parameterCount(t)), [2, 3, 2, undefined]);
});

test('register-relative parameters: the first records of the procedure\'s own S_REGISTER/S_REGREL32/S_BPREL32, not a block\'s, not the locals after them', () => {
  const regrel = (offset: number, type: number, register: number, name: string): Bytes => new Bytes().u32(offset).u32(type).u16(register).str(name);
  const s = new Bytes()
    .u32(4)
    .record(SymbolKind.S_GPROC32, proc(0x40, 0x100, 'f'))
    .record(SymbolKind.S_REGISTER, new Bytes().u32(0x1000).u16(18).str('this'))
    .record(SymbolKind.S_REGREL32, regrel(8, 0x74, 22, 'a'))
    .record(SymbolKind.S_BLOCK32, new Bytes().u32(0).u32(0).u32(8).u32(0x110).u16(1).str(''))
    .record(SymbolKind.S_REGREL32, regrel(-8, 0x74, 22, 'inner'))
    .record(SymbolKind.S_END, empty())
    .record(SymbolKind.S_REGREL32, regrel(0, 0x30, 22, 'b'))
    .record(SymbolKind.S_REGREL32, regrel(-4, 0x74, 22, 'local'))
    .record(SymbolKind.S_END, empty());
  const r = s.reader();
  assert.deepEqual(procedureRegisterParameters(r, 4, r.length, 3), [
    { offset: 8, typeIndex: 0x74, register: 22 },
    { offset: 0, typeIndex: 0x30, register: 22 },
  ]);
  assert.equal(procedureRegisterParameters(r, 4, r.length, 1).length, 0, 'only `this`, in a register');
});
