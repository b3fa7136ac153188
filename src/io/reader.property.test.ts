// Properties of the bounds-checked Reader, over random bytes, offsets and lengths (fast-check):
// every read either returns the little-endian value or throws a FormatError that names the file,
// the structure and a file offset inside the slice; never a RangeError or TypeError from DataView.
// Sub-readers see exactly their range and nothing of the parent beyond it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FormatError } from './errors.js';
import { Reader, cString, hex, utf16le } from './reader.js';

/** Fixed, so CI runs the same cases; FC_SEED=<n> explores others. */
const SEED = Number(process.env['FC_SEED'] ?? 0x5eed);
const RUNS = 300;
const FILE = 'prop.bin';

const bytes = fc.uint8Array({ minLength: 0, maxLength: 64 });
/** Offsets and lengths around the slice's edges, far outside it, and past what a double holds exactly. */
const position = fc.oneof(
  fc.integer({ min: -16, max: 80 }),
  fc.constantFrom(-1, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60),
);
const fileOffset = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff }));
const structure = fc.constantFrom('MINIDUMP_HEADER', 'MINIDUMP_DIRECTORY', 'IMAGE_SECTION_HEADER', 'x');

function expectedLe(buf: Uint8Array, at: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]!);
  return v;
}

/** A read's outcome: its value, or the FormatError it threw (anything else fails the property). */
function outcome<T>(read: () => T): { value: T } | { error: FormatError } {
  try {
    return { value: read() };
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`not a FormatError: ${String(e)}`, { cause: e });
    return { error: e };
  }
}

function assertErrorNamesPlace(e: FormatError, reader: Reader, structureName: string): void {
  assert.equal(e.file, FILE);
  assert.equal(e.structure, structureName);
  assert.ok(e.offset !== undefined && Number.isSafeInteger(e.offset), `offset ${String(e.offset)}`);
  // The offset points into the file at or after the slice's start, at most at its end.
  assert.ok(e.offset >= reader.fileOffset && e.offset <= reader.fileOffset + reader.length, `offset 0x${e.offset.toString(16)} outside the slice`);
  assert.ok(e.message.startsWith(`${FILE}: ${structureName}`), e.message);
}

const WIDTHS = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, u64n: 8 } as const;

test('every fixed-width read at any offset returns the little-endian value or throws a FormatError naming file, structure and offset', () => {
  fc.assert(
    fc.property(bytes, position, fileOffset, structure, fc.constantFrom(...(Object.keys(WIDTHS) as (keyof typeof WIDTHS)[])), (buf, at, base, name, method) => {
      const reader = new Reader(buf, FILE, base, name);
      const width = WIDTHS[method];
      const result = outcome(() => reader[method](at));
      const fits = Number.isSafeInteger(at) && at >= 0 && at + width <= buf.length;
      if ('error' in result) {
        const tooLarge = method === 'u64n' && fits && expectedLe(buf, at, 8) > BigInt(Number.MAX_SAFE_INTEGER);
        assert.ok(!fits || tooLarge, `in-bounds ${method}(${at}) of ${buf.length} bytes threw: ${result.error.message}`);
        assertErrorNamesPlace(result.error, reader, name);
        return;
      }
      assert.ok(fits, `${method}(${at}) of ${buf.length} bytes returned ${String(result.value)}`);
      const raw = expectedLe(buf, at, width);
      const expected = method === 'i32' ? BigInt.asIntN(32, raw) : raw;
      assert.equal(BigInt(result.value), expected);
    }),
    { seed: SEED, numRuns: RUNS * 3 },
  );
});

test('sequential reads from any position advance by the width and fail only past the end', () => {
  fc.assert(
    fc.property(bytes, fc.integer({ min: -4, max: 72 }), fc.array(fc.constantFrom('u8', 'u16', 'u32', 'i32', 'u64', 'skip4', 'slice3'), { maxLength: 12 }), (buf, start, ops) => {
      const reader = new Reader(buf, FILE, 0x100, 'seq');
      reader.pos = start;
      for (const op of ops) {
        const before = reader.pos;
        const width = op === 'skip4' ? 4 : op === 'slice3' ? 3 : WIDTHS[op as keyof typeof WIDTHS];
        const result = outcome(() => (op === 'skip4' ? reader.skip(4) : op === 'slice3' ? reader.slice(3) : reader[op as 'u8'](undefined)));
        assert.equal(reader.pos, before + width, `${op} moved pos from ${before} to ${reader.pos}`);
        const fits = before >= 0 && before + width <= buf.length;
        if (op === 'skip4') continue; // skipping checks nothing; the next read does
        if ('error' in result) {
          assert.ok(!fits, `${op} at ${before} of ${buf.length} threw ${result.error.message}`);
          assertErrorNamesPlace(result.error, reader, 'seq');
        } else {
          assert.ok(fits, `${op} at ${before} of ${buf.length} bytes succeeded`);
        }
      }
      assert.equal(reader.remaining, buf.length - reader.pos);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('slice and check accept exactly the ranges inside the bytes; slices are views of those bytes', () => {
  fc.assert(
    fc.property(bytes, position, position, structure, (buf, at, length, name) => {
      const reader = new Reader(buf, FILE, 0x40, 'outer');
      const inside = Number.isSafeInteger(at) && Number.isSafeInteger(length) && at >= 0 && length >= 0 && at + length <= buf.length;
      const sliced = outcome(() => reader.slice(length, at));
      const checked = outcome(() => reader.check(at, length, name));
      assert.equal('value' in sliced, inside);
      assert.equal('value' in checked, inside);
      if ('value' in sliced) {
        assert.equal(sliced.value.length, length);
        assert.equal(sliced.value.buffer, buf.buffer);
        assert.equal(sliced.value.byteOffset, buf.byteOffset + at);
      } else {
        assertErrorNamesPlace(sliced.error, reader, 'outer');
      }
      if ('error' in checked) assertErrorNamesPlace(checked.error, reader, name);
    }),
    { seed: SEED, numRuns: RUNS * 2 },
  );
});

test('a sub-reader covers exactly its range: file offsets add up, and nothing past its end is readable', () => {
  fc.assert(
    fc.property(bytes, position, position, position, position, fileOffset, (buf, at, length, innerAt, innerLength, base) => {
      const outer = new Reader(buf, FILE, base, 'outer');
      const sub = outcome(() => outer.sub(at, length, 'inner'));
      const inside = Number.isSafeInteger(at) && Number.isSafeInteger(length) && at >= 0 && length >= 0 && at + length <= buf.length;
      if ('error' in sub) {
        assert.ok(!inside, `sub(${at}, ${length}) of ${buf.length} threw ${sub.error.message}`);
        assertErrorNamesPlace(sub.error, outer, 'inner');
        return;
      }
      assert.ok(inside, `sub(${at}, ${length}) of ${buf.length} bytes succeeded`);
      const r = sub.value;
      assert.equal(r.length, length);
      assert.equal(r.fileOffset, base + at);
      assert.equal(r.structure, 'inner');
      assert.equal(r.pos, 0);
      assert.equal(r.bytes.byteOffset, buf.byteOffset + at);
      // The parent's bytes after the sub-range stay out of reach.
      const past = outcome(() => r.u8(length));
      assert.ok('error' in past);
      assertErrorNamesPlace(past.error, r, 'inner');
      // Nested: the same rules one level down, offsets relative to the sub-reader.
      const nested = outcome(() => r.sub(innerAt, innerLength, 'nested'));
      const nestedInside = Number.isSafeInteger(innerAt) && Number.isSafeInteger(innerLength) && innerAt >= 0 && innerLength >= 0 && innerAt + innerLength <= length;
      assert.equal('value' in nested, nestedInside);
      if ('value' in nested) {
        assert.equal(nested.value.fileOffset, base + at + innerAt);
        assert.ok(nested.value.bytes.byteOffset + nested.value.length <= buf.byteOffset + at + length);
      } else {
        assertErrorNamesPlace(nested.error, r, 'nested');
      }
    }),
    { seed: SEED, numRuns: RUNS * 2 },
  );
});

test('error() names the reader\'s file and structure and a file offset', () => {
  fc.assert(
    fc.property(bytes, fc.integer({ min: 0, max: 64 }), fileOffset, structure, fc.string(), (buf, at, base, name, reason) => {
      const reader = new Reader(buf, FILE, base, name);
      const e = reader.error(at, reason);
      assert.ok(e instanceof FormatError);
      assert.equal(e.file, FILE);
      assert.equal(e.structure, name);
      assert.equal(e.offset, base + at);
      assert.equal(e.reason, reason);
      assert.equal(e.message, `${FILE}: ${name} at offset 0x${(base + at).toString(16)}: ${reason}`);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('string helpers decode any bytes without throwing and stop at NUL', () => {
  fc.assert(
    fc.property(bytes, (buf) => {
      const wide = utf16le(buf);
      assert.ok(wide.length <= buf.length / 2);
      assert.ok(!wide.includes('\0'));
      const narrow = cString(buf);
      assert.ok(!narrow.includes('\0'));
      const nul = buf.indexOf(0);
      if (nul < 0 || nul === buf.length) assert.equal(narrow, new TextDecoder().decode(buf));
    }),
    { seed: SEED, numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 16 }), (v, width) => {
      const text = hex(v, width);
      assert.match(text, /^0x[0-9a-f]+$/);
      assert.ok(text.length - 2 >= width);
      assert.equal(BigInt(text), v);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});
