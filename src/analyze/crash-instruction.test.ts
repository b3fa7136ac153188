import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeAmd64Instruction, type InstructionAnalysis } from './crash-instruction.js';

const noMemory = (): Promise<bigint | undefined> => Promise.resolve(undefined);

async function analyze(
  bytes: number[],
  regs: Record<string, bigint>,
  memory: (a: bigint) => Promise<bigint | undefined> = noMemory,
  stack: (a: bigint) => Promise<bigint | undefined> = noMemory,
): Promise<InstructionAnalysis> {
  const a = await analyzeAmd64Instruction({ bytes: Uint8Array.from(bytes), registers: new Map(Object.entries(regs)), readMemoryU64: memory, readStackU64: stack });
  assert.ok(a, 'decodes');
  return a;
}

/** Addresses and sizes, as rust-minidump's op_analysis access tests check them. */
async function accesses(bytes: number[], regs: Record<string, bigint>): Promise<[bigint, number | undefined][]> {
  const a = await analyze(bytes, regs);
  assert.ok(a.accesses);
  return a.accesses.map((x) => [x.address, x.size]);
}

test("rust-minidump's op_analysis access tests: each addressing form, each operand size", async () => {
  // test_reg_deref
  for (const [bytes, size] of [[[0x8a, 0x03], 1], [[0x66, 0x8b, 0x03], 2], [[0x8b, 0x03], 4], [[0x48, 0x8b, 0x03], 8]] as const) {
    assert.deepEqual(await accesses([...bytes], { rbx: 0xbadc0ffebadc0ffen }), [[0xbadc0ffebadc0ffen, size]]);
  }
  // test_base_disp, with a negative displacement
  assert.deepEqual(await accesses([0x8a, 0x85, 0x00, 0x08, 0x00, 0x00], { rbp: 0x1000n }), [[0x1800n, 1]]);
  assert.deepEqual(await accesses([0x48, 0x8b, 0x85, 0x00, 0xf8, 0xff, 0xff], { rbp: 0x1000n }), [[0x800n, 8]]);
  // test_index_scale
  assert.deepEqual(await accesses([0x8b, 0x04, 0xb5, 0, 0, 0, 0], { rsi: 0x1000n }), [[0x4000n, 4]]);
  // test_base_index
  assert.deepEqual(await accesses([0x48, 0x8b, 0x04, 0x0b], { rbx: 0x1000n, rcx: 0x234n }), [[0x1234n, 8]]);
  // test_base_index_disp
  assert.deepEqual(await accesses([0x42, 0x8a, 0x44, 0x09, 0x10], { rcx: 0x4000n, r9: 0x2000n }), [[0x6010n, 1]]);
  assert.deepEqual(await accesses([0x4a, 0x8b, 0x44, 0x09, 0xf0], { rcx: 0x4000n, r9: 0x2000n }), [[0x5ff0n, 8]]);
  // test_index_scale_disp: the sum wraps
  assert.deepEqual(await accesses([0x42, 0x8a, 0x04, 0xed, 0x00, 0x00, 0x10, 0x00], { r13: 0x1000n }), [[0x108000n, 1]]);
  assert.deepEqual(await accesses([0x4a, 0x8b, 0x04, 0xed, 0x00, 0x00, 0xf0, 0xff], { r13: 0x1000n }), [[0xfffffffffff08000n, 8]]);
  // test_base_index_scale
  assert.deepEqual(await accesses([0x4b, 0x8b, 0x04, 0x74], { r12: 0x8000n, r14: 0x10000n }), [[0x28000n, 8]]);
  // test_base_index_scale_disp
  assert.deepEqual(await accesses([0x41, 0x8a, 0x84, 0xd9, 0xff, 0xff, 0xff, 0x7f], { r9: 0x100001n, rbx: 0x1000n }), [[0x80108000n, 1]]);
  assert.deepEqual(await accesses([0x49, 0x8b, 0x84, 0xd9, 0x01, 0x00, 0x00, 0x80], { r9: 0x100001n, rbx: 0x1000n }), [[0xffffffff80108002n, 8]]);
});

test("rust-minidump's test_string_copy: movs reads [rsi] and writes [rdi], of an underivable direction", async () => {
  const regs = { rsi: 0x1000n, rdi: 0x2000n, rcx: 10n };
  for (const [bytes, size] of [[[0xa4], 1], [[0x66, 0xa5], 2], [[0xa5], 4], [[0x48, 0xa5], 8], [[0xf3, 0xa4], 1]] as const) {
    const a = await analyze([...bytes], regs);
    assert.deepEqual(
      a.accesses?.map((x) => [x.address, x.size, x.accessType]),
      [
        [0x2000n, size, 'underivable'],
        [0x1000n, size, 'underivable'],
      ],
    );
  }
});

test('access directions of the derivable opcodes, and the implicit stack slot of push, pop and call', async () => {
  const a = await analyze([0x48, 0x01, 0x03], { rbx: 0x1000n, rax: 1n }); // add qword [rbx], rax
  assert.deepEqual(a.accesses?.map((x) => x.accessType), ['readwrite']);
  const mov = await analyze([0x89, 0x03], { rbx: 0x1000n }); // mov dword [rbx], eax
  assert.deepEqual(mov.accesses?.map((x) => x.accessType), ['write']);
  const lea = await analyze([0x48, 0x8d, 0x43, 0x08], { rbx: 0x1000n }); // lea rax, [rbx + 8]: touches nothing
  assert.deepEqual(lea.accesses, []);
  assert.deepEqual(lea.registers, ['rbx']);
  const and = await analyze([0x21, 0x03], { rbx: 0x1000n }); // and: not derivable
  assert.deepEqual(and.accesses?.map((x) => x.accessType), ['underivable']);
  const push = await analyze([0x55], { rsp: 0x8000n }); // push rbp
  assert.deepEqual(push.accesses?.map((x) => [x.address, x.size, x.accessType]), [[0x7ff8n, 8, 'write']]);
  const pushMem = await analyze([0xff, 0x30], { rax: 0x1000n, rsp: 0x8000n }); // push qword [rax]
  assert.deepEqual(pushMem.accesses?.map((x) => [x.address, x.accessType]), [
    [0x1000n, 'read'],
    [0x7ff8n, 'write'],
  ]);
  const pop = await analyze([0x5d], { rsp: 0x8000n });
  assert.deepEqual(pop.accesses?.map((x) => [x.address, x.accessType]), [[0x8000n, 'read']]);
  const ret = await analyze([0xc3], { rsp: 0x8000n });
  assert.deepEqual(ret.accesses?.map((x) => [x.address, x.size, x.accessType]), [[0x8000n, 8, 'read']]);
  const callReg = await analyze([0xff, 0xd0], { rax: 0x401000n, rsp: 0x8000n });
  assert.deepEqual(callReg.accesses?.map((x) => [x.address, x.size, x.accessType]), [[0x7ff8n, 8, 'write']]);
  // push imm has no memory size: no accesses at all, not even its stack slot, as in rust-minidump.
  assert.deepEqual((await analyze([0x6a, 0x01], { rsp: 0x8000n })).accesses, []);
  assert.deepEqual((await analyze([0x89, 0xc0], {})).accesses, [], 'register to register');
});

test('a null base register marks a likely null-pointer dereference; an absolute address does not', async () => {
  const viaRax = await analyze([0xc7, 0x00, 0x05, 0, 0, 0], { rax: 0n });
  assert.equal(viaRax.accesses?.[0]?.likelyNullPointer, true);
  const absolute = await analyze([0x8b, 0x04, 0x25, 0, 0, 0, 0], {});
  assert.deepEqual(absolute.accesses?.map((x) => [x.address, x.likelyNullPointer]), [[0n, false]]);
});

test('a register outside the context (or a 32-bit one under 0x67) leaves the accesses unknown, the text known', async () => {
  const missing = await analyze([0x8b, 0x03], {});
  assert.equal(missing.instruction, 'mov eax, dword [rbx]');
  assert.equal(missing.accesses, undefined);
  const addr32 = await analyze([0x67, 0x8b, 0x03], { rbx: 0x1000n });
  assert.equal(addr32.instruction, 'mov eax, dword [ebx]');
  assert.equal(addr32.accesses, undefined);
});

test('instruction pointer updates: call through a register or memory, ret from the stack, jcc unknown', async () => {
  const viaReg = await analyze([0xff, 0xd0], { rax: 0x401000n, rsp: 0x8000n });
  assert.deepEqual(viaReg.ipUpdate, { kind: 'update', address: 0x401000n });
  const memory = (a: bigint): Promise<bigint | undefined> => Promise.resolve(a === 0x1010n ? 0xdeadn : undefined);
  const viaMem = await analyze([0xff, 0x50, 0x10], { rax: 0x1000n, rsp: 0x8000n }, memory);
  assert.deepEqual(viaMem.ipUpdate, { kind: 'update', address: 0xdeadn });
  const unreadable = await analyze([0xff, 0x50, 0x20], { rax: 0x1000n, rsp: 0x8000n }, memory);
  assert.equal(unreadable.ipUpdate, undefined);
  const stack = (a: bigint): Promise<bigint | undefined> => Promise.resolve(a === 0x8000n ? 0x402000n : undefined);
  assert.deepEqual((await analyze([0xc3], { rsp: 0x8000n }, noMemory, stack)).ipUpdate, { kind: 'update', address: 0x402000n });
  assert.equal((await analyze([0x74, 0x10], {})).ipUpdate, undefined);
  assert.equal((await analyze([0xe8, 0, 0, 0, 0], { rsp: 0x8000n })).ipUpdate, undefined, 'a relative call is taken to be fine');
  assert.deepEqual((await analyze([0x8b, 0x03], { rbx: 1n })).ipUpdate, { kind: 'none' });
});

test('properties: division, privileged (every mov counts), derivable, registers sorted', async () => {
  const div = await analyze([0xf7, 0x7d, 0xfc], { rbp: 0x1000n });
  assert.equal(div.division, true);
  assert.equal(div.accessDerivable, false);
  assert.equal((await analyze([0x8b, 0x03], { rbx: 1n })).privileged, true);
  assert.equal((await analyze([0x01, 0x03], { rbx: 1n })).privileged, false);
  assert.equal((await analyze([0x0f, 0x28, 0x08], { rax: 0n })).onlyGpfWhenNonCanonical, false, 'movaps also faults when misaligned');
  assert.deepEqual((await analyze([0x4b, 0x8b, 0x04, 0x74], { r12: 0n, r14: 0n })).registers, ['r12', 'r14']);
  assert.deepEqual((await analyze([0x42, 0x8a, 0x44, 0x09, 0x10], { rcx: 0n, r9: 0n })).registers, ['r9', 'rcx']);
});

test('bytes that do not decode give no analysis', async () => {
  const none = await analyzeAmd64Instruction({ bytes: Uint8Array.from([0x0f, 0xff]), registers: new Map(), readMemoryU64: noMemory, readStackU64: noMemory });
  assert.equal(none, undefined);
});
