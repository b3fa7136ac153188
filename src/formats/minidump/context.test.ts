// Register contexts of every CPU the reader decodes, from thread and exception records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CpuContext } from '../../model/cpu.js';
import type { Snapshot } from '../../model/snapshot.js';
import {
  SynthMinidump,
  amd64Context,
  arm64Context,
  arm64OldContext,
  armContext,
  x86Context,
  type SystemInfoSpec,
} from '../../testing/synth/index.js';
import { readMinidump } from './read-minidump.js';

/** Distinct values per register, so a swapped offset shows: 0x0101.., 0x0202.., ... */
function distinct(names: readonly string[], width: 4 | 8): Map<string, bigint> {
  const pattern = width === 8 ? 0x0101010101010101n : 0x01010101n;
  return new Map(names.map((name, i) => [name, pattern * BigInt(i + 1)]));
}

const X86 = ['eip', 'esp', 'ebp', 'ebx', 'esi', 'edi', 'eax', 'ecx', 'edx', 'efl'];
const AMD64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'];
const ARM64 = [...Array.from({ length: 29 }, (_, i) => `x${i}`), 'fp', 'lr', 'sp', 'pc'];
const ARM = [...Array.from({ length: 13 }, (_, i) => `r${i}`), 'sp', 'lr', 'pc'];

async function threadContext(cpu: SystemInfoSpec['cpu'] | undefined, context: Uint8Array): Promise<{ context: CpuContext | undefined; snapshot: Snapshot }> {
  const dump = new SynthMinidump();
  if (cpu !== undefined) dump.systemInfo({ cpu, platform: 'windows' });
  const snapshot = await readMinidump(dump.thread({ id: 1, context }).source());
  return { context: snapshot.threads[0]!.context, snapshot };
}

const cases: { name: string; cpu: SystemInfoSpec['cpu']; model: CpuContext['cpu']; expected: Map<string, bigint>; bytes: (r: Record<string, bigint>) => Uint8Array }[] = [
  { name: 'x86', cpu: 'x86', model: 'x86', expected: distinct(X86, 4), bytes: (r) => x86Context(r) },
  {
    name: 'amd64',
    cpu: 'amd64',
    model: 'amd64',
    expected: new Map([...distinct(AMD64, 8), ['rflags', 0x246n]]),
    bytes: (r) => amd64Context(r),
  },
  { name: 'arm64 (ARM64_NT_CONTEXT)', cpu: 'arm64', model: 'arm64', expected: distinct(ARM64, 8), bytes: (r) => arm64Context(r) },
  { name: 'arm64 (Breakpad old layout)', cpu: 'arm64-old', model: 'arm64', expected: distinct(ARM64, 8), bytes: (r) => arm64OldContext(r) },
  { name: 'arm', cpu: 'arm', model: 'arm', expected: distinct(ARM, 4), bytes: (r) => armContext(r) },
];

for (const c of cases) {
  test(`context: ${c.name}, CPU from SystemInfo`, async () => {
    const { context, snapshot } = await threadContext(c.cpu, c.bytes(Object.fromEntries(c.expected)));
    assert.deepEqual(snapshot.warnings, []);
    assert.equal(context!.cpu, c.model);
    assert.deepEqual(context!.registers, c.expected);
  });

  test(`context: ${c.name}, CPU told by the record's size and flags when there is no SystemInfo`, async () => {
    const { context } = await threadContext(undefined, c.bytes(Object.fromEntries(c.expected)));
    assert.equal(context!.cpu, c.model);
    assert.deepEqual(context!.registers, c.expected);
  });
}

test('context: the old arm64 layout is recognised by its flags even when SystemInfo says ARM64', async () => {
  const expected = distinct(ARM64, 8);
  const { context } = await threadContext('arm64', arm64OldContext(Object.fromEntries(expected)));
  assert.deepEqual(context!.registers, expected);
});

test('context: x86 with an XSAVE tail reads the same registers', async () => {
  const expected = distinct(X86, 4);
  const plain = x86Context(Object.fromEntries(expected));
  const extended = new Uint8Array(plain.length + 0x340);
  extended.set(plain);
  new DataView(extended.buffer).setUint32(0, new DataView(plain.buffer, plain.byteOffset).getUint32(0, true) | 0x40, true); // CONTEXT_XSTATE
  const { context } = await threadContext('x86', extended);
  assert.deepEqual(context!.registers, expected);
});

test('context: a record too short for its CPU is a warning naming the thread; the thread stays', async () => {
  const { context, snapshot } = await threadContext('amd64', amd64Context({ rip: 1n }).subarray(0, 200));
  assert.equal(context, undefined);
  assert.equal(snapshot.threads.length, 1);
  assert.equal(snapshot.warnings.length, 1);
  assert.match(snapshot.warnings[0]!, /synth\.dmp: thread 0x1 context at offset 0x[0-9a-f]+: amd64 CONTEXT of 200 bytes is too short \(needs 1232\)/);
});

test('context: a record of an unknown CPU with unknown flags is a warning', async () => {
  const { context, snapshot } = await threadContext(undefined, new Uint8Array(64));
  assert.equal(context, undefined);
  assert.match(snapshot.warnings[0]!, /thread 0x1 context.*cannot tell the CPU of a 64-byte context record/);
});

test('context: a CPU without a register layout (ppc) is a warning', async () => {
  const { context, snapshot } = await threadContext(3, new Uint8Array(1024)); // PROCESSOR_ARCHITECTURE_PPC
  assert.equal(context, undefined);
  assert.match(snapshot.warnings[0]!, /register context for CPU 'ppc' is not supported/);
});

test('context: the exception record has its own context, decoded with the same CPU', async () => {
  const snapshot = await readMinidump(
    new SynthMinidump()
      .systemInfo({ cpu: 'arm64', platform: 'windows' })
      .thread({ id: 7, context: arm64Context({ pc: 0x1000n, sp: 0x2000n }) })
      .exception({ threadId: 7, code: 0xc0000005, address: 0, context: arm64Context({ pc: 0x7ff00000n, sp: 0x1ff0n, lr: 0x7ff00100n }) })
      .source(),
  );
  const context = snapshot.exception!.context!;
  assert.equal(context.cpu, 'arm64');
  assert.equal(context.registers.get('pc'), 0x7ff00000n);
  assert.equal(context.registers.get('lr'), 0x7ff00100n);
  assert.equal(context.registers.get('sp'), 0x1ff0n);
});

test(
  'context: an x86 record in a dump whose SystemInfo says amd64 (WoW64) is read as x86, as Breakpad does',
  async () => {
    const expected = distinct(X86, 4);
    const { context, snapshot } = await threadContext('amd64', x86Context(Object.fromEntries(expected)));
    assert.deepEqual(snapshot.warnings, []);
    assert.equal(context?.cpu, 'x86');
    assert.deepEqual(context?.registers, expected);
  },
);
