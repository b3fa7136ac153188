import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUGCHECK_NAMES } from './bugcheck-names.js';
import { bugcheckName, explainBugcheck } from './bugcheck.js';

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

test('saved state the parameters point at, per Microsoft\'s pages (the table the kernel reader follows too)', () => {
  const expected: Record<number, string[]> = {
    0x7e: ['exception_record:3', 'context_record:4'],
    0x1000007e: ['exception_record:3', 'context_record:4'],
    0x8e: ['trap_frame:3'],
    0x1000008e: ['trap_frame:3'],
    0x3b: ['context_record:3'],
    0x139: ['trap_frame:2', 'exception_record:3'],
    0x2b: ['trap_frame:1'],
    0x1e: [],
    0xd1: [],
    0xe2: [],
  };
  for (const [code, kinds] of Object.entries(expected)) {
    const e = explainBugcheck(Number(code), [1n, 2n, 3n, 4n], 8);
    assert.deepEqual(e.pointers.map((p) => `${p.kind}:${p.parameter}`), kinds, `0x${Number(code).toString(16)}`);
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

test('every code of the public list round-trips through bugcheckName and explainBugcheck', () => {
  for (const [code, name] of BUGCHECK_NAMES) {
    assert.equal(bugcheckName(code), name, `0x${code.toString(16)}`);
    const e = explainBugcheck(code, [0n, 0n, 0n, 0n], 8);
    assert.equal(e.name, name);
    assert.equal(e.parameters.length, 4);
  }
  for (const code of [0x1000007e, 0x1000007f, 0x1000008e, 0x100000ea, 0x4000008a, 0xc0000218, 0xdeaddead]) {
    assert.ok(BUGCHECK_NAMES.has(code), `0x${code.toString(16)} is in the list`);
  }
});

test('an undocumented _M code shares the base code\'s name and meanings', () => {
  const m = explainBugcheck(0x1000000a, [0x28n, 2n, 0n, 0x1234n], 8);
  const base = explainBugcheck(0x0a, [0x28n, 2n, 0n, 0x1234n], 8);
  assert.equal(m.name, 'IRQL_NOT_LESS_OR_EQUAL_M');
  assert.equal(m.guidance, base.guidance);
  assert.deepEqual(m.parameters, base.parameters);
  assert.equal(bugcheckName(0x10000000), undefined);
});

test('pointers are masked to the pointer width and a zero parameter points at nothing', () => {
  const x86 = explainBugcheck(0x7e, [0xc0000005n, 0x80801234n, 0xffffffff8a1b2c3dn, 0n], 4);
  assert.deepEqual(x86.pointers, [{ kind: 'exception_record', parameter: 3, address: 0x8a1b2c3dn }]);
  const t = explainBugcheck(0x139, [2n, 0xfffff80000a01000n, 0xfffff80000a02000n, 0n], 8);
  assert.deepEqual(t.pointers.map((p) => p.kind), ['trap_frame', 'exception_record']);
  assert.match(t.parameters[0]!.meaning, /stack cookie/);
  assert.match(explainBugcheck(0x2b, [0xfffff80000a01000n, 0n, 0n, 0n], 8).pointers[0]!.kind, /trap_frame/);
  assert.equal(explainBugcheck(0x2b, [0n, 0n, 0n, 0n], 8).stackOverflowLikely, true);
});

test('a 64-bit parameter whose upper half is not a sign extension is not read as an NTSTATUS', () => {
  assert.doesNotMatch(explainBugcheck(0x7e, [0x12345678c0000005n, 0n, 0n, 0n], 8).parameters[0]!.meaning, /STATUS_ACCESS_VIOLATION/);
  assert.match(explainBugcheck(0x7e, [0xc0000005n, 0n, 0n, 0n], 8).parameters[0]!.meaning, /STATUS_ACCESS_VIOLATION/);
  assert.match(explainBugcheck(0x1e, [0xffffffff80000003n, 0n, 0n, 0n], 8).parameters[0]!.meaning, /STATUS_BREAKPOINT/);
});

test('IRQLs are named per width: x64 15 is HIGH_LEVEL, x86 31 is HIGH_LEVEL, a device level is only DIRQL', () => {
  const irql = (v: bigint, w: 4 | 8): string => explainBugcheck(0xd1, [0n, v, 0n, 0n], w).parameters[1]!.meaning;
  assert.equal(irql(0n, 8), 'IRQL 0 (PASSIVE_LEVEL)');
  assert.equal(irql(1n, 4), 'IRQL 1 (APC_LEVEL)');
  assert.match(irql(15n, 8), /HIGH_LEVEL/);
  assert.match(irql(31n, 4), /HIGH_LEVEL/);
  assert.match(irql(5n, 8), /DIRQL/);
  assert.match(irql(5n, 4), /DIRQL or above/);
});

test('0x1E reads P3/P4 as the access-violation fields; 0x133 and 0x7F decode P1', () => {
  const av = explainBugcheck(0x1e, [0xc0000005n, 0x80801234n, 1n, 0x10n], 4);
  assert.equal(av.parameters[2]!.meaning, 'write');
  assert.match(av.explanation, /write to 0x10/);
  assert.deepEqual(av.pointers, []);
  assert.match(explainBugcheck(0x133, [0n, 0x501n, 0x500n, 0n], 8).explanation, /single DPC/);
  assert.match(explainBugcheck(0x133, [1n, 0x1e00n, 0n, 0n], 8).parameters[0]!.meaning, /in total at DISPATCH_LEVEL/);
  assert.match(explainBugcheck(0x7f, [0xdn, 0n, 0n, 0n], 8).parameters[0]!.meaning, /general protection/);
  assert.match(explainBugcheck(0xd1, [0x28n, 2n, 0n, 0x1234n], 8).explanation, /the code at P4/i);
});
