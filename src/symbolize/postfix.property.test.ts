// Properties of the postfix evaluator (STACK WIN programs, STACK CFI rules) over random token
// programs (fast-check): it never throws, always ends, and every value it gives is a word of the
// context's size; plus the arithmetic identities Breakpad's PostfixEvaluator defines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateExpression, runProgram, type PostfixContext, type PostfixCounters } from './postfix.js';

/** Fixed, so CI runs the same cases; FC_SEED=<n> explores others. */
const SEED = Number(process.env['FC_SEED'] ?? 0x5eed);
const RUNS = 400;

const wordSize = fc.constantFrom(4 as const, 8 as const);
const REGISTERS = ['$eip', '$esp', '$ebp', '$ebx', '$T0', '$T1', '$L', '$P', '.cfa', '.ra', '.cbSavedRegs', '.raSearchStart', 'x29', 'sp', '$rsp'];
const OPERATORS = ['+', '-', '*', '/', '%', '@', '^', '='];

/** Decimal literals of every size (some too wide for the word), registers, operators, glued '=', garbage. */
const token = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: (1n << 70n) - 1n }).map((v) => v.toString()) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 4096 }).map((v) => `-${v}`) },
  { weight: 4, arbitrary: fc.constantFrom(...REGISTERS) },
  { weight: 6, arbitrary: fc.constantFrom(...OPERATORS) },
  { weight: 1, arbitrary: fc.constantFrom(...REGISTERS).map((r) => `=${r}`) },
  { weight: 1, arbitrary: fc.constantFrom('0x10', '+5', '--1', '1e3', '$', '.', '==', '^^', '=5', 'NaN', '-', '٣', '\u0000') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\n', '\r\n');
const program = fc.array(fc.tuple(token, separator), { maxLength: 80 }).map((parts) => parts.map(([t, s]) => t + s).join(''));

/** Variables that are words of the size (the walker only passes such). */
function variablesFor(size: 4 | 8, values: readonly bigint[]): Map<string, bigint> {
  const mask = (1n << BigInt(size * 8)) - 1n;
  return new Map(REGISTERS.filter((_, i) => i % 3 !== 2).map((name, i) => [name, (values[i % Math.max(1, values.length)] ?? 0x1000n) & mask] as const));
}

/**
 * Memory answering most addresses, sometimes with values wider than a word (the evaluator must wrap
 * them); it counts its reads, and the evaluator counts its tokens and converted digits.
 */
function memoryFor(size: 4 | 8): PostfixContext & { reads: number; counters: PostfixCounters } {
  const ctx = {
    wordSize: size,
    reads: 0,
    counters: { tokens: 0, digitsConverted: 0 },
    readWord(address: bigint): bigint | undefined {
      ctx.reads++;
      if (address % 5n === 1n) return undefined;
      return address % 3n === 0n ? (address << 40n) + 7n : address ^ 0x5a5an;
    },
  };
  return ctx;
}

function inWord(v: bigint, size: 4 | 8): boolean {
  return v >= 0n && v < 1n << BigInt(size * 8);
}

/**
 * "Ends promptly", as work: one pass evaluates each token once (a glued '=name' is two) and
 * converts each literal at most twice (popped, or checked as an assignment's target), at most
 * 20 digits each as these programs write them.
 */
function assertOnePass(text: string, counters: PostfixCounters): void {
  const pieces = text.split(/\s+/).filter((t) => t !== '').length;
  assert.ok(counters.tokens <= 2 * pieces, `${counters.tokens} tokens evaluated for ${pieces} in the text`);
  assert.ok(counters.digitsConverted <= 2 * 20 * counters.tokens, `${counters.digitsConverted} digits converted for ${counters.tokens} tokens`);
}

const words = fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 6 });

test('random programs: evaluateExpression never throws, ends promptly, and gives a word or undefined', () => {
  fc.assert(
    fc.property(program, wordSize, words, (text, size, values) => {
      const memory = memoryFor(size);
      const v = evaluateExpression(text, variablesFor(size, values), memory);
      assertOnePass(text, memory.counters);
      if (v !== undefined) assert.ok(inWord(v, size), `0x${v.toString(16)} is not a ${size}-byte word`);
      // One memory read per '^' at most: evaluation is a single pass.
      assert.ok(memory.reads <= text.split('^').length - 1);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('random programs: runProgram never throws, ends promptly, and assigns only words to $ variables', () => {
  fc.assert(
    fc.property(program, wordSize, words, (text, size, values) => {
      const input = variablesFor(size, values);
      const memory = memoryFor(size);
      const out = runProgram(text, input, memory);
      assertOnePass(text, memory.counters);
      if (out === undefined) return;
      for (const [name, v] of out) {
        if (input.get(name) === v) continue;
        assert.ok(name.startsWith('$'), `assigned '${name}', which is not a $ variable`);
        assert.ok(inWord(v, size), `${name} = 0x${v.toString(16)} is not a ${size}-byte word`);
      }
      for (const name of input.keys()) assert.ok(out.has(name), `${name} was dropped`);
      // The caller's map is never changed.
      assert.deepEqual(input, variablesFor(size, values));
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

/** Memory that answers every address, so a long program runs to its end. */
function everyAddress(size: 4 | 8): PostfixContext & { reads: number; counters: PostfixCounters } {
  const ctx = {
    wordSize: size,
    reads: 0,
    counters: { tokens: 0, digitsConverted: 0 },
    readWord(address: bigint): bigint {
      ctx.reads++;
      return (address & 0xffffn) + 0x1000n;
    },
  };
  return ctx;
}

// Long inputs run to their end: each token evaluated once, and an evaluator whose cost per token
// grew with the position or the stack depth would take minutes over 200 000 of them.
test('a long STACK WIN program of every token kind runs to its end, evaluating each token once', { timeout: 60_000 }, () => {
  const assignments = ['$T0', '$esp', '^', '8', '+', '=', '$esp', '$T0', '4', '@', '=', '$eip', '$esp', '12', '%', '$T0', '+', '=', '$T1', '7', '3', '*', '2', '/', '-1', '-', '='];
  const text = Array.from({ length: 200_000 - (200_000 % assignments.length) }, (_, i) => assignments[i % assignments.length]).join(' ');
  const count = text.split(' ').length;
  for (const size of [4, 8] as const) {
    const memory = everyAddress(size);
    const out = runProgram(text, variablesFor(size, [0x1000n]), memory);
    assert.ok(out?.has('$T1'), 'the program ran to its end');
    assert.equal(memory.counters.tokens, count);
    assert.equal(memory.reads, count / assignments.length);
  }
});

test('an expression 100 000 values deep evaluates each token once', { timeout: 60_000 }, () => {
  const text = `${'1 '.repeat(100_000)}${'+ '.repeat(99_999)}`;
  const memory = everyAddress(8);
  assert.equal(evaluateExpression(text, new Map(), memory), 100_000n);
  assert.equal(memory.counters.tokens, 199_999);
  assert.equal(memory.counters.digitsConverted, 100_000);
});

const word = (size: 4 | 8): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << BigInt(size * 8)) - 1n });
const sized = wordSize.chain((size) => fc.tuple(fc.constant(size), word(size), word(size)));
const none = new Map<string, bigint>();

test('identities: + - * / % @ on literals are the word-size arithmetic Breakpad defines', () => {
  fc.assert(
    fc.property(sized, ([size, a, b]) => {
      const bits = BigInt(size * 8);
      const wrap = (v: bigint): bigint => BigInt.asUintN(size * 8, v);
      const m = memoryFor(size);
      const ev = (op: string): bigint | undefined => evaluateExpression(`${a} ${b} ${op}`, none, m);
      assert.equal(ev('+'), wrap(a + b));
      assert.equal(ev('-'), wrap(a - b));
      assert.equal(ev('*'), wrap(a * b));
      assert.equal(ev('/'), b === 0n ? undefined : a / b);
      assert.equal(ev('%'), b === 0n ? undefined : a % b);
      assert.equal(ev('@'), a & wrap(~wrap(b - 1n)));
      // Negative literals are two's complement words; too-wide literals are identifiers, unknown here.
      assert.equal(evaluateExpression(`-${a}`, none, m), wrap(-a));
      assert.equal(evaluateExpression(`${a + (1n << bits)}`, none, m), undefined);
      assert.equal(evaluateExpression(`${a + (1n << bits)}`, new Map([[`${a + (1n << bits)}`, b]]), m), b);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('identities: registers resolve to their values, ^ reads memory, leftovers and underflow fail', () => {
  fc.assert(
    fc.property(sized, ([size, a, b]) => {
      const wrap = (v: bigint): bigint => BigInt.asUintN(size * 8, v);
      const m = memoryFor(size);
      const vars = new Map([['$esp', a]]);
      assert.equal(evaluateExpression(`$esp ${b} +`, vars, m), wrap(a + b));
      const read = m.readWord(a);
      assert.equal(evaluateExpression('$esp ^', vars, m), read === undefined ? undefined : wrap(read));
      assert.equal(evaluateExpression(`${a} ${b}`, none, m), undefined);
      assert.equal(evaluateExpression(`${a} +`, none, m), undefined);
      assert.equal(evaluateExpression('$unknown', vars, m), undefined);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('identities: assignments, a glued "=name" is "= name", and a program that reads its own output', () => {
  fc.assert(
    fc.property(sized, ([size, a, b]) => {
      const wrap = (v: bigint): bigint => BigInt.asUintN(size * 8, v);
      const m = memoryFor(size);
      assert.deepEqual(runProgram(`$T0 ${a} ${b} + =`, none, m), new Map([['$T0', wrap(a + b)]]));
      assert.deepEqual(runProgram(`$T0 ${a} =$T1 ${b} =`, none, m), runProgram(`$T0 ${a} = $T1 ${b} =`, none, m));
      // $T0 defined in terms of itself: it uses the value before the assignment, once.
      assert.deepEqual(runProgram('$T0 $T0 1 + =', new Map([['$T0', a]]), m), new Map([['$T0', wrap(a + 1n)]]));
      assert.equal(runProgram('$T0 $T0 1 + =', none, m), undefined);
      // Only $ variables can be assigned; a value left over fails the program.
      assert.equal(runProgram(`x ${a} =`, none, m), undefined);
      assert.equal(runProgram(`${a} ${b} =`, none, m), undefined);
      assert.equal(runProgram(`$T0 ${a} = ${b}`, none, m), undefined);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('a literal of four million digits is judged too wide without converting it', { timeout: 60_000 }, () => {
  const huge = '9'.repeat(4_000_000);
  const memory = memoryFor(8);
  assert.equal(evaluateExpression(`${huge} 1 +`, none, memory), undefined);
  // Only the '1' is converted; BigInt() over the four million digits is what took 650 ms.
  assert.equal(memory.counters.digitsConverted, 1);
});
