import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { readKernelDump } from './read-kernel-dump.js';
import type { Snapshot } from '../../model/snapshot.js';

async function open(name: string): Promise<Snapshot> {
  const bytes = await readFile(corpusPath('external', 'kernel', name));
  return readKernelDump(new BufferSource(new Uint8Array(bytes), name));
}

/** rizin's expected `iH` and `dr` output: `Name : 0x…` header lines and `reg = 0x…` register lines. */
async function rizinExpectations(): Promise<{ fields: Map<string, bigint>; registers: Map<string, bigint> }> {
  const text = await readFile(corpusPath('external', 'expected', 'rizin-triage_x64.txt'), 'utf8');
  const fields = new Map<string, bigint>();
  const registers = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const f = /^\s+(\w+) : (0x[0-9a-f]+)/.exec(line);
    if (f) fields.set(f[1]!, BigInt(f[2]!));
    const r = /^(\w+) = (0x[0-9a-f]+)$/.exec(line);
    if (r) registers.set(r[1]!, BigInt(r[2]!));
  }
  return { fields, registers };
}

test('rizin triage_x64: every DUMP_HEADER64 and TRIAGE_DUMP64 field rizin prints', needsCorpus, async () => {
  const s = await open('rizin-triage_x64.dmp');
  const { fields } = await rizinExpectations();
  assert.ok(fields.size >= 45, `rizin's expectations parsed: ${fields.size}`);
  const ours = new Map<string, bigint | number | string | undefined>();
  for (const f of [...s.kernel!.header, ...s.kernel!.triage!]) ours.set(f.name, f.value);
  ours.set('BugCheckCode', s.kernel!.bugcheck.code);
  for (const [name, value] of fields) {
    const mine = ours.get(name);
    // Unused fields hold the PAGE filler, which stackhog reports as absent; rizin prints the raw 'PAGE'.
    if (value === 0x45474150n) {
      assert.equal(mine, undefined, name);
      continue;
    }
    assert.equal(BigInt(mine as number | bigint), value, name);
  }
});

test('rizin triage_x64: the header context equals rizin\'s registers, the driver list has 151 named drivers', needsCorpus, async () => {
  const s = await open('rizin-triage_x64.dmp');
  const { registers } = await rizinExpectations();
  const context = s.threads[0]!.context!;
  for (const [name, value] of registers) assert.equal(context.registers.get(name), value, name);
  assert.equal(s.modules.length, 151);
  assert.ok(s.modules.every((m) => m.codeFile.length > 0 && !m.codeFile.startsWith('driver')));
  const amdppm = s.modules.find((m) => m.codeFile.toLowerCase().endsWith('amdppm.sys'))!;
  assert.ok(amdppm.base <= 0xfffff8048b58334cn && 0xfffff8048b58334cn < amdppm.base + BigInt(amdppm.size));
  assert.equal(s.kernel!.dumpType, 4);
  assert.deepEqual(s.warnings, [], 'the DGRT marker is found');
});

test('rizin triage_x64: bugcheck 0x1000007E gives the exception record (P3) and context record (P4)', needsCorpus, async () => {
  const s = await open('rizin-triage_x64.dmp');
  const e = s.exception!;
  assert.equal(e.code, 0xc0000005);
  assert.equal(e.address, 0xfffff8048b58334cn);
  assert.equal(e.context!.registers.get('rip'), 0xfffff8048b58334cn);
  assert.equal(e.context!.registers.get('rsp'), 0xffff850429892120n, "rizin's frame 8 sp");
  assert.match(e.contextSource!, /parameter 4/);
  const t = s.kernel!.crashingThread!;
  assert.equal(t.stackBase, 0xffff850429893000n);
  assert.equal(t.stackLimit, 0xffff85042988d000n);
  assert.equal(s.kernel!.debuggerData!.kernBase, 0xfffff8047ba00000n);
  assert.equal(s.kernel!.processors.length, 16);
});

test('kdlib win10 ARM64 small dump: 0xE2, ARM64 context, drivers, KTHREAD stack bounds', needsCorpus, async () => {
  const s = await open('kdlib-win10_arm64_mem.dmp');
  assert.equal(s.system.cpu, 'arm64');
  assert.equal(s.kernel!.bugcheck.code, 0xe2);
  assert.equal(s.threads[0]!.context!.cpu, 'arm64');
  assert.ok(s.modules.length > 100);
  const t = s.kernel!.crashingThread!;
  assert.ok(t.stackLimit! < t.stackBase!);
  const sp = s.threads[0]!.context!.registers.get('sp')!;
  assert.ok(t.stackLimit! <= sp && sp < t.stackBase!, 'sp lies on the thread\'s kernel stack');
});

test('kdlib RPi3 ARM32 small dump: 32-bit header, context, drivers, data blocks', needsCorpus, async () => {
  const s = await open('kdlib-RPi3_ARM_mini.dmp');
  assert.equal(s.kernel!.headerWidth, 32);
  assert.equal(s.system.cpu, 'arm');
  const ctx = s.threads[0]!.context!;
  assert.equal(ctx.registers.get('sp'), 0x80a75cd0n, 'TopOfStack');
  assert.equal(s.modules.length, 0x88);
  assert.deepEqual(s.warnings, []);
  assert.ok(s.memory.regions.length > 100, 'data blocks are memory');
});
