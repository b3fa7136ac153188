import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineSplitter } from './line-syntax.js';

/** Breakpad's strtok_r(buffer, "\r\n"): the non-empty runs between line ends. */
function reference(bytes: Uint8Array, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = from; i <= to; i++) {
    const end = i === to || bytes[i] === 0x0a || bytes[i] === 0x0d;
    if (end && start >= 0) out.push([start, i]);
    if (end) start = -1;
    else if (start < 0) start = i;
  }
  return out;
}

test('LineSplitter: the same lines as strtok_r for any bytes, start offset and alignment (the word-at-a-time search included)', () => {
  const byte = fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x20, 0x41), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 80 }), fc.nat(7), fc.nat(80), (content, shift, fromSeed) => {
      // The same bytes at another offset of a buffer: aligned or not for the 32-bit view.
      const backing = new Uint8Array(content.length + shift);
      backing.set(content, shift);
      const bytes = backing.subarray(shift);
      const from = content.length === 0 ? 0 : fromSeed % (content.length + 1);
      const lines: [number, number][] = [];
      const splitter = new LineSplitter(bytes, from);
      for (let guard = 0; splitter.next(false); guard++) {
        assert.ok(guard <= content.length, 'the splitter advances');
        lines.push([splitter.start, splitter.end]);
      }
      assert.deepEqual(lines, reference(bytes, from, bytes.length));
    }),
    { numRuns: 3000 },
  );
});
