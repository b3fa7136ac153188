import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateExpression, evaluateProgram, runProgram, type PostfixContext } from './postfix.js';

/** Memory where each word holds its own address plus 0x1000, except where `words` says otherwise. */
function memory(wordSize: 4 | 8, words: Record<string, bigint> = {}, unreadable: bigint[] = []): PostfixContext {
  return {
    wordSize,
    readWord(address: bigint): bigint | undefined {
      if (unreadable.includes(address)) return undefined;
      return words[address.toString()] ?? address + 0x1000n;
    },
  };
}

const m32 = memory(4);
const m64 = memory(8);
const none = new Map<string, bigint>();

test('binary operators on literals', () => {
  assert.equal(evaluateExpression('3 4 +', none, m32), 7n);
  assert.equal(evaluateExpression('10 4 -', none, m32), 6n);
  assert.equal(evaluateExpression('6 7 *', none, m32), 42n);
  assert.equal(evaluateExpression('43 5 /', none, m32), 8n);
  assert.equal(evaluateExpression('43 5 %', none, m32), 3n);
  assert.equal(evaluateExpression('1023 16 @', none, m32), 1008n);
  assert.equal(evaluateExpression('1 2 3 * +', none, m32), 7n);
});

test('arithmetic wraps to the word size', () => {
  assert.equal(evaluateExpression('0 1 -', none, m32), 0xffffffffn);
  assert.equal(evaluateExpression('0 1 -', none, m64), 0xffffffffffffffffn);
  assert.equal(evaluateExpression('4294967295 2 +', none, m32), 1n);
  assert.equal(evaluateExpression('65536 65536 *', none, m32), 0n);
  assert.equal(evaluateExpression('65536 65536 *', none, m64), 0x100000000n);
});

test('negative literals are two’s complement words', () => {
  assert.equal(evaluateExpression('-8', none, m64), 0xfffffffffffffff8n);
  assert.equal(evaluateExpression('100 -8 +', none, m32), 92n);
});

test('literals are decimal only: 0x10 is an (unknown) identifier', () => {
  assert.equal(evaluateExpression('0x10', none, m32), undefined);
  assert.equal(evaluateExpression('0x10', new Map([['0x10', 5n]]), m32), 5n);
});

test('a literal too large for the word is not a literal', () => {
  assert.equal(evaluateExpression('4294967296', none, m32), undefined);
  assert.equal(evaluateExpression('4294967296', none, m64), 4294967296n);
});

test('align with a zero alignment gives zero, as ~(0 - 1) is zero', () => {
  assert.equal(evaluateExpression('1234 0 @', none, m32), 0n);
});

test('division and modulo by zero fail instead of throwing', () => {
  assert.equal(evaluateExpression('1 0 /', none, m32), undefined);
  assert.equal(evaluateExpression('1 0 %', none, m64), undefined);
});

test('variables of every naming style resolve by exact text', () => {
  const vars = new Map<string, bigint>([
    ['$rsp', 0x7000n],
    ['.cfa', 0x7010n],
    ['sp', 0x9000n],
    ['x29', 0x9100n],
  ]);
  assert.equal(evaluateExpression('$rsp 8 +', vars, m64), 0x7008n);
  assert.equal(evaluateExpression('.cfa -16 +', vars, m64), 0x7000n);
  assert.equal(evaluateExpression('sp 16 +', vars, m64), 0x9010n);
  assert.equal(evaluateExpression('x29', vars, m64), 0x9100n);
  assert.equal(evaluateExpression('$rbp', vars, m64), undefined);
});

test('^ dereferences a word; an unreadable address fails', () => {
  const ctx = memory(8, { '28672': 0xdeadbeefn }, [0x10n]);
  const vars = new Map([['.cfa', 0x7010n]]);
  assert.equal(evaluateExpression('.cfa 16 - ^', vars, ctx), 0xdeadbeefn);
  assert.equal(evaluateExpression('16 ^', vars, ctx), undefined);
});

test('a dereferenced value is wrapped to the word size', () => {
  const ctx = memory(4, { '16': 0x1_0000_0005n });
  assert.equal(evaluateExpression('16 ^', none, ctx), 5n);
});

test('expressions must leave exactly one value', () => {
  assert.equal(evaluateExpression('1 2', none, m32), undefined);
  assert.equal(evaluateExpression('', none, m32), undefined);
  assert.equal(evaluateExpression('+', none, m32), undefined);
  assert.equal(evaluateExpression('1 +', none, m32), undefined);
  assert.equal(evaluateExpression('^', none, m32), undefined);
});

test('assignment inside an expression is visible to later tokens', () => {
  assert.equal(evaluateExpression('$T0 5 = $T0 1 +', none, m32), 6n);
});

test('runProgram: the test_app FrameData program (ebp-based frame)', () => {
  // STACK WIN 4 41b0 ... from Breakpad's test_app.sym
  const program =
    '$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =';
  const ctx = memory(4, { '1244808': 0x0012ff70n, '1244812': 0x00404200n }); // 0x12fe88, 0x12fe8c
  const vars = new Map<string, bigint>([
    ['$ebp', 0x0012fe88n],
    ['$esp', 0x0012fe84n],
    ['$eip', 0x0040429en],
    ['.cbSavedRegs', 0n],
    ['.cbParams', 0n],
  ]);
  const out = runProgram(program, vars, ctx);
  assert.ok(out);
  assert.equal(out.get('$T0'), 0x0012fe88n);
  assert.equal(out.get('$eip'), 0x00404200n);
  assert.equal(out.get('$ebp'), 0x0012ff70n);
  assert.equal(out.get('$esp'), 0x0012fe90n);
  assert.equal(out.get('$L'), 0x0012fe88n);
  assert.equal(out.get('$P'), 0x0012fe90n);
  assert.equal(out.get('.cbParams'), 0n, 'inputs are kept');
  assert.equal(vars.get('$eip'), 0x0040429en, 'the input map is not modified');
});

test('runProgram: the raSearchStart form with $T2 from locals and saved registers', () => {
  const program = '$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + =';
  const ctx = memory(4, { '5000': 0x401234n });
  const vars = new Map<string, bigint>([
    ['$esp', 4000n],
    ['.cbLocals', 8n],
    ['.cbSavedRegs', 4n],
    ['.raSearchStart', 5000n],
  ]);
  const out = runProgram(program, vars, ctx);
  assert.ok(out);
  assert.equal(out.get('$T2'), 4012n);
  assert.equal(out.get('$eip'), 0x401234n);
  assert.equal(out.get('$esp'), 5004n);
});

test('runProgram: "=" glued to the next token (MSVS 2010 LTO program strings)', () => {
  const program = '$T0 $ebp 128 + =$eip $T0 4 + ^ =$ebp $T0 ^ =';
  const ctx = memory(4, { '1156': 0x401000n, '1152': 0x2000n });
  const out = runProgram(program, new Map([['$ebp', 1024n]]), ctx);
  assert.ok(out);
  assert.equal(out.get('$T0'), 1152n);
  assert.equal(out.get('$eip'), 0x401000n);
  assert.equal(out.get('$ebp'), 0x2000n);
});

test('runProgram fails on leftovers, bad targets and missing variables', () => {
  const vars = new Map([['$esp', 100n]]);
  assert.equal(runProgram('$T0 $esp = 5', vars, m32), undefined, 'value left on the stack');
  assert.equal(runProgram('.cfa $esp =', vars, m32), undefined, 'only $ variables can be assigned');
  assert.equal(runProgram('5 $esp =', vars, m32), undefined, 'a literal is not a target');
  assert.equal(runProgram('$T0 $nope =', vars, m32), undefined, 'unknown variable');
  assert.equal(runProgram('$esp =', vars, m32), undefined, 'nothing to assign to');
  assert.deepEqual(runProgram('', vars, m32), vars, 'an empty program changes nothing');
});

test('evaluateProgram: a failure keeps the assignments made before it, and says which (Breakpad\'s dictionary and validity)', () => {
  const program = '$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $ebx $T0 4 - ^ = $esi $T0 40 - ^ = $edi 0 =';
  const ctx = memory(4, { '1000': 2000n, '1004': 0x401000n, '996': 7n }, [960n]);
  const run = evaluateProgram(program, new Map([['$ebp', 1000n]]), ctx);
  assert.equal(run.ok, false, 'the read at $T0 - 40 fails');
  assert.deepEqual([...run.assigned], ['$T0', '$eip', '$ebp', '$esp', '$ebx']);
  assert.equal(run.variables.get('$ebp'), 2000n);
  assert.equal(run.variables.get('$ebx'), 7n);
  assert.equal(run.variables.has('$edi'), false, 'nothing after the failure runs');
  assert.equal(runProgram(program, new Map([['$ebp', 1000n]]), ctx), undefined);
  const whole = evaluateProgram('$T0 1 = 5', new Map(), m32);
  assert.deepEqual([whole.ok, [...whole.assigned]], [false, ['$T0']], 'a value left on the stack fails after the assignments');
});

test('garbage never throws and always terminates', () => {
  const vars = new Map([['$esp', 100n], ['$ebp', 200n]]);
  const alphabet = ['+', '-', '*', '/', '%', '@', '^', '=', '$esp', '$ebp', '$T0', '0', '1', '-8', 'x', '=$T1', '==', '.cfa', '99999999999999999999999', ' ', '\t'];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    const parts: string[] = [];
    const len = rand(12);
    for (let j = 0; j < len; j++) parts.push(alphabet[rand(alphabet.length)]!);
    const text = parts.join(' ');
    for (const ctx of [m32, m64, memory(4, {}, [0n, 1n, 100n, 200n])]) {
      const v = evaluateExpression(text, vars, ctx);
      if (v !== undefined) assert.ok(v >= 0n && v < 1n << BigInt(ctx.wordSize * 8));
      runProgram(text, vars, ctx);
    }
  }
  assert.equal(evaluateExpression('\u0000 \uffff ^^^ ===', vars, m32), undefined);
  const long = '1 '.repeat(100000) + '+ '.repeat(99999);
  assert.equal(evaluateExpression(long, vars, m32), 100000n);
});
