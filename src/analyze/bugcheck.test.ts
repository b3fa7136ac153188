import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUGCHECK_NAMES } from './bugcheck-names.js';
import { bugcheckName, explainBugcheck } from './bugcheck.js';
import { bugcheckStatePointers } from '../model/bugcheck-state.js';

test('bugcheck 0x1000007E of the rizin small dump: name, P1 in words, P3/P4 as exception and context records', () => {
  const e = explainBugcheck(0x1000007e, [0xffffffffc0000005n, 0xfffff8048b58334cn, 0xffff850429891ee8n, 0xffff850429891720n], 8);
  assert.equal(e.name, 'SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M');
  assert.match(e.parameters[0]!.meaning, /STATUS_ACCESS_VIOLATION/);
  assert.deepEqual(
    e.pointers.map((p) => [p.kind, p.parameter, p.address]),
    [
      ['exception_record', 3, 0xffff850429891ee8n],
      ['context_record', 4, 0xffff850429891720n],
    ],
  );
  assert.match(e.explanation, /access violation/);
  assert.equal(e.stackOverflowLikely, false);
});

test('the reader and the explanation agree on which parameters point at saved state', () => {
  for (const code of [0x7e, 0x1000007e, 0x8e, 0x1000008e, 0x3b, 0x139, 0x1e, 0xd1, 0xe2]) {
    const e = explainBugcheck(code, [1n, 2n, 3n, 4n], 8);
    assert.deepEqual(
      e.pointers.map((p) => `${p.kind}:${p.parameter}`),
      bugcheckStatePointers(code).map((p) => `${p.kind}:${p.parameter}`),
      `0x${code.toString(16)}`,
    );
  }
});

test('0xE2 is a manual crash; 0x7F with P1 = 8 is a double fault, likely a kernel stack overflow', () => {
  assert.equal(explainBugcheck(0xe2, [0n, 0n, 0n, 0n], 8).name, 'MANUALLY_INITIATED_CRASH');
  const df = explainBugcheck(0x7f, [8n, 0x80042000n, 0n, 0n], 4);
  assert.match(df.parameters[0]!.meaning, /double fault/);
  assert.equal(df.stackOverflowLikely, true);
  assert.equal(explainBugcheck(0x7f, [0xdn, 0n, 0n, 0n], 4).stackOverflowLikely, false);
});

test('0xD1, 0x0A and 0xC5 give the raised-IRQL fix: non-paged pool or a PASSIVE_LEVEL work item, not a DPC', () => {
  for (const code of [0xd1, 0x0a, 0xc5]) {
    const g = explainBugcheck(code, [0x10n, 2n, 0n, 0xfffff80000001234n], 8).guidance ?? '';
    assert.match(g, /non-paged pool/i, `0x${code.toString(16)}`);
    assert.match(g, /PASSIVE_LEVEL with a work item/);
    assert.match(g, /DPC runs at DISPATCH_LEVEL/);
  }
  const a = explainBugcheck(0x0a, [0x10n, 2n, 1n, 0x1234n], 8);
  assert.equal(a.parameters[1]!.meaning, 'IRQL 2 (DISPATCH_LEVEL)');
  assert.equal(a.parameters[2]!.meaning, 'write');
});

test('parameters are ULONG_PTR: a 32-bit dump\'s P1 0xc0000005 names the status like a sign-extended x64 one', () => {
  const x86 = explainBugcheck(0x7e, [0xc0000005n, 0x8081df65n, 0n, 0n], 4);
  assert.match(x86.parameters[0]!.meaning, /STATUS_ACCESS_VIOLATION/);
  assert.equal(explainBugcheck(0x7e, [0xffffffffc0000005n, 0n, 0n, 0n], 4).parameters[0]!.value, 0xc0000005n);
});

test('an unknown code is named by its number and lists its parameters', () => {
  const e = explainBugcheck(0x12345, [1n, 2n, 3n, 4n], 8);
  assert.equal(e.name, 'UNKNOWN_BUGCHECK_0x12345');
  assert.equal(e.parameters.length, 4);
  assert.match(e.explanation, /no detailed description/);
  assert.equal(bugcheckName(0x12345), undefined);
});

test('every code of the issue\'s list is named and has detailed parameters; names are unique', () => {
  const detailed = [0x0a, 0x19, 0x1a, 0x1e, 0x2b, 0x3b, 0x50, 0x7e, 0x1000007e, 0x7f, 0x9f, 0xa0, 0xc4, 0xc5, 0xd1, 0xe2, 0xef, 0x101, 0x124, 0x133, 0x139, 0x1c8];
  for (const code of detailed) {
    const e = explainBugcheck(code, [1n, 2n, 3n, 4n], 8);
    assert.ok(!e.name.startsWith('UNKNOWN'), `0x${code.toString(16)} is named`);
    assert.ok(!e.explanation.includes('no detailed description'), `0x${code.toString(16)} is explained`);
  }
  assert.ok(BUGCHECK_NAMES.size >= 300, `${BUGCHECK_NAMES.size} names`);
  const names = [...BUGCHECK_NAMES.values()];
  assert.equal(new Set(names).size, names.length);
});

test('code 0 is no bug check: a dump taken at a debugger break', () => {
  const e = explainBugcheck(0, [0n, 0n, 0n, 0n], 4);
  assert.equal(e.name, 'NO_BUGCHECK');
  assert.match(e.explanation, /debugger break/);
});
