import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../model/snapshot.js';
import { analyzeCrashAccess } from './crash-access.js';
import { analyze } from './process.js';
import type { CrashAccess } from './types.js';
import { amd64Context, arm64Context, Stream, SynthMinidump, x86Context, type MemoryInfoSpec, type RegisterValues } from '../testing/synth/index.js';

const CODE = 0x2000n;
const STACK = 0x1000n;
const PAGE_NOACCESS = 0x01;
const PAGE_READONLY = 0x02;
const PAGE_READWRITE = 0x04;
const PAGE_EXECUTE_READWRITE = 0x40;

interface Crash {
  readonly code?: number;
  readonly address?: bigint;
  readonly parameters?: readonly bigint[];
  readonly flags?: number;
  readonly platform?: 'windows' | 'linux' | 'mac';
  readonly instruction?: readonly number[];
  readonly registers?: RegisterValues;
  readonly memoryInfo?: readonly MemoryInfoSpec[];
  readonly maps?: string;
  readonly stackBytes?: Uint8Array;
}

/** An amd64 dump whose exception context runs `instruction` at 0x2000, with a stack at 0x1000. */
async function crashAccess(c: Crash): Promise<CrashAccess> {
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: c.platform ?? 'windows' })
    .memory(CODE, Uint8Array.from(c.instruction ?? [0x90]))
    .thread({ id: 1, stack: { base: STACK, bytes: c.stackBytes ?? new Uint8Array(0x100) }, context: amd64Context({ rip: CODE, rsp: STACK }) })
    .exception({
      threadId: 1,
      code: c.code ?? 0,
      flags: c.flags ?? 0,
      address: c.address ?? 0n,
      parameters: [...(c.parameters ?? [])],
      context: amd64Context({ rip: CODE, rsp: STACK, ...c.registers }),
    });
  for (const m of c.memoryInfo ?? []) dump.memoryInfo(m);
  if (c.maps) dump.linuxText(Stream.LinuxMaps, c.maps);
  const a = await analyze(dump.source());
  assert.ok(a.crash?.access);
  return a.crash.access;
}

const accessViolation = (kind: 0n | 1n | 8n, address: bigint): Crash => ({ code: 0xc0000005, address, parameters: [kind, address] });

test("rust-minidump's test_guard_pages: a small no-access page after an accessible one", async () => {
  const a = await crashAccess({
    address: 0x81000n,
    instruction: [0x8a, 0x04, 0x24], // mov al, [rsp]
    registers: { rsp: 0x81000n },
    memoryInfo: [
      { base: 0x80000n, size: 4096n, protect: PAGE_EXECUTE_READWRITE },
      { base: 0x81000n, size: 4096n, protect: PAGE_NOACCESS },
    ],
  });
  assert.equal(a.instruction, 'mov al, byte [rsp]');
  assert.deepEqual(a.memoryAccesses, [{ address: 0x81000n, size: 1, accessType: 'read', likelyNullPointer: false, likelyGuardPage: true }]);
});

test("rust-minidump's test_no_bit_flip_cross_page_boundary: the access's base is mapped, only its end is not", async () => {
  const a = await crashAccess({
    address: 0x10000n,
    instruction: [0x48, 0x8b, 0x04, 0x24], // mov rax, [rsp]
    registers: { rsp: 0xfff9n },
    memoryInfo: [{ base: 0n, size: 0x10000n, protect: PAGE_EXECUTE_READWRITE }],
  });
  assert.deepEqual(a.possibleBitFlips, []);
});

test("rust-minidump's test_bit_flip: the exception address one bit from a mapped region", async () => {
  const a = await crashAccess({ address: 0x80400n, memoryInfo: [{ base: 0x80000n, size: 8n }] });
  assert.deepEqual(
    a.possibleBitFlips.map((f) => [f.address, f.sourceRegister]),
    [[0x80000n, undefined]],
  );
});

test('no bit flips on 32-bit or arm64 dumps (rust-minidump skips them)', async () => {
  for (const [cpu, context] of [
    ['x86', x86Context({ eip: 0x2000 })],
    ['arm64', arm64Context({ pc: 0x2000 })],
  ] as const) {
    const dump = new SynthMinidump()
      .systemInfo({ cpu, platform: 'windows' })
      .memoryInfo({ base: 0x80000n, size: 8n })
      .thread({ id: 1, context })
      .exception({ threadId: 1, code: 0, address: 0x80400n, context });
    const a = await analyze(dump.source());
    assert.deepEqual(a.crash?.access?.possibleBitFlips, [], cpu);
    assert.equal(a.crash?.access?.instruction, undefined, `${cpu} is not disassembled`);
  }
});

test('a register the memory operand uses is searched for flips too, named as the source', async () => {
  const a = await crashAccess({
    ...accessViolation(0n, 0x7f0040001000n),
    instruction: [0x48, 0x8b, 0x03], // mov rax, [rbx]
    registers: { rbx: 0x7f0040001000n },
    memoryInfo: [{ base: 0x7f0000001000n, size: 0x1000n, protect: PAGE_READONLY }],
  });
  assert.deepEqual(
    a.possibleBitFlips.map((f) => [f.address, f.sourceRegister ?? null]),
    [
      [0x7f0000001000n, null],
      [0x7f0000001000n, 'rbx'],
    ],
  );
});

test('null pointer plus an offset: adjusted to the offset, and no bit-flip search', async () => {
  const a = await crashAccess({ ...accessViolation(0n, 0x18n), instruction: [0x48, 0x8b, 0x40, 0x18], registers: { rax: 0n } });
  assert.deepEqual(a.adjustedAddress, { kind: 'null-pointer', offset: 0x18n });
  assert.deepEqual(a.possibleBitFlips, []);
});

test('a Windows GPF (read of 0xffffffffffffffff) reveals the non-canonical address the instruction used', async () => {
  const address = 0x00007ff000001000n | (1n << 60n);
  const a = await crashAccess({
    ...accessViolation(0n, 0xffffffffffffffffn),
    instruction: [0x48, 0x8b, 0x03], // mov rax, [rbx]
    registers: { rbx: address },
    memoryInfo: [{ base: 0x00007ff000001000n, size: 0x1000n, protect: PAGE_READWRITE }],
  });
  assert.deepEqual(a.adjustedAddress, { kind: 'non-canonical', address });
  // Once for the address, once for rbx, which held it.
  assert.deepEqual(
    a.possibleBitFlips.map((f) => [f.address, f.sourceRegister ?? null, f.details.wasNonCanonical]),
    [
      [0x00007ff000001000n, null, true],
      [0x00007ff000001000n, 'rbx', true],
    ],
  );
  assert.deepEqual(a.inconsistencies, []);
});

test('a GPF whose instruction uses no non-canonical address: the crash address is falsely reported', async () => {
  const a = await crashAccess({ ...accessViolation(0n, 0xffffffffffffffffn), instruction: [0x48, 0x8b, 0x03], registers: { rbx: 0x1000n } });
  assert.deepEqual(a.inconsistencies, ['non_canonical_address_falsely_reported']);
});

test('an access violation the instruction cannot have caused, or that the memory map allows', async () => {
  const write = await crashAccess({
    ...accessViolation(1n, 0x5000n),
    instruction: [0x89, 0x03], // mov [rbx], eax
    registers: { rbx: 0x6000n },
    memoryInfo: [{ base: 0x5000n, size: 0x1000n, protect: PAGE_READWRITE }],
  });
  assert.deepEqual(write.inconsistencies, ['crashing_access_not_found_in_memory_accesses', 'access_violation_when_access_allowed']);
  const consistent = await crashAccess({ ...accessViolation(1n, 0x6000n), instruction: [0x89, 0x03], registers: { rbx: 0x6000n } });
  assert.deepEqual(consistent.inconsistencies, []);
  const exec = await crashAccess({ ...accessViolation(8n, 0x9000n), instruction: [0x90] });
  assert.deepEqual(exec.inconsistencies, ['crashing_access_not_found_in_memory_accesses'], 'rip is not the executed address');
});

test('integer division by zero on an instruction that does not divide; a stack overflow with no memory access', async () => {
  const div = await crashAccess({ code: 0xc0000094, address: CODE, instruction: [0x89, 0xc0] });
  assert.deepEqual(div.inconsistencies, ['int_div_by_zero_not_possible']);
  const idiv = await crashAccess({ code: 0xc0000094, address: CODE, instruction: [0xf7, 0xf9] });
  assert.deepEqual(idiv.inconsistencies, []);
  const overflow = await crashAccess({ code: 0xc00000fd, address: CODE, instruction: [0x89, 0xc0] });
  assert.deepEqual(overflow.inconsistencies, ['crashing_access_not_found_in_memory_accesses']);
  const push = await crashAccess({ code: 0xc00000fd, address: CODE, instruction: [0x55] });
  assert.deepEqual(push.inconsistencies, []);
});

test('Linux maps are the memory map when there is no MemoryInfoList; ret reads its target from the stack', async () => {
  const stackBytes = new Uint8Array(0x100);
  new DataView(stackBytes.buffer).setBigUint64(0, 0x616500n, true);
  const a = await crashAccess({
    platform: 'linux',
    code: 11,
    address: 0x45n,
    instruction: [0xc3],
    stackBytes,
    maps: '00400000-00401000 r-xp 00000000 08:01 1 /bin/app\n',
  });
  assert.equal(a.instruction, 'ret');
  assert.deepEqual(a.memoryAccesses, [{ address: STACK, size: 8, accessType: 'read', likelyNullPointer: false, likelyGuardPage: false }]);
  assert.equal(a.instructionPointerUpdate, 0x616500n);
  assert.deepEqual(a.possibleBitFlips.map((f) => f.address), [0x400045n]);
});

test('hostile instruction bytes: invalid, or cut short by the end of captured memory, give no instruction', async () => {
  for (const instruction of [[0x0f, 0xff], [0xc7, 0x04, 0x25, 0x45, 0x00]]) {
    const a = await crashAccess({ ...accessViolation(1n, 0x45n), instruction });
    assert.equal(a.instruction, undefined);
    assert.equal(a.memoryAccesses, undefined);
    assert.equal(a.instructionPointerUpdate, undefined);
    assert.deepEqual(a.inconsistencies, []);
  }
});

test('a read that fails (a damaged file) leaves the instruction null instead of failing the analysis', async () => {
  const failing = {
    regions: [{ base: CODE, size: 0x10 }],
    read: (): Promise<Uint8Array | undefined> => Promise.reject(new Error('EIO')),
    loadRange: (): Promise<undefined> => Promise.reject(new Error('EIO')),
    loadStack: (): Promise<undefined> => Promise.reject(new Error('EIO')),
  };
  const snapshot = {
    format: 'minidump',
    system: { cpu: 'amd64', os: 'Windows NT', osShort: 'windows' },
    memory: failing,
    memoryInfo: [],
    linux: undefined,
    threads: [{ id: 1, stack: { base: STACK, size: 0x100, fileOffset: 0 } }],
  } as unknown as Snapshot;
  const context = { cpu: 'amd64' as const, registers: new Map([['rip', CODE], ['rsp', STACK]]) };
  const a = await analyzeCrashAccess(snapshot, { address: 0x45n, code: 0xc0000005, flags: 0, parameters: [1n, 0x45n], threadId: 1 }, context);
  assert.equal(a.instruction, undefined);
  assert.deepEqual(a.inconsistencies, []);
});
