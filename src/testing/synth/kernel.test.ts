// KernelDumpBuilder against the kdump reader: every architecture and dump kind the builder writes
// reads back with its memory (page tables, large pages, page boundaries), modules, crashing thread,
// bugcheck and context; hostile builds end in warnings or FormatErrors with bounded work.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { readKernelDump, type KernelVirtualMemory } from '../../formats/kdump/index.js';
import type { Snapshot } from '../../model/snapshot.js';
import { KernelDumpBuilder, type KernelArch, type KernelDumpKind } from './kernel.js';

const KINDS: Record<KernelArch, readonly KernelDumpKind[]> = {
  amd64: ['full', 'bitmap-full', 'bitmap-kernel', 'summary', 'rdmp-kernel', 'rdmp-complete'],
  arm64: ['full', 'bitmap-kernel', 'rdmp-complete'],
  x86: ['full', 'summary', 'bitmap-kernel'],
  'x86-pae': ['full', 'summary', 'bitmap-full'],
};

interface Addresses {
  readonly stackLimit: bigint;
  readonly stackBase: bigint;
  readonly kthread: bigint;
  readonly large: bigint;
  readonly largeSpan: bigint;
  readonly modules: readonly { name: string; base: bigint; size: number }[];
}

const WIDE: Addresses = {
  stackLimit: 0xffffd00012340000n,
  stackBase: 0xffffd00012346000n,
  kthread: 0xffffe00000100080n,
  large: 0xfffff80040000000n,
  largeSpan: 0x200000n,
  modules: [
    { name: 'ntoskrnl.exe', base: 0xfffff80001000000n, size: 0xa00000 },
    { name: 'hal.dll', base: 0xfffff80002000000n, size: 0x60000 },
    { name: 'disk.sys', base: 0xfffff80003000000n, size: 0x23000 },
  ],
};
const NARROW: Addresses = {
  stackLimit: 0x8a340000n,
  stackBase: 0x8a346000n,
  kthread: 0x85100080n,
  large: 0x90000000n,
  largeSpan: 0x400000n,
  modules: [
    { name: 'ntoskrnl.exe', base: 0x82000000n, size: 0x500000 },
    { name: 'hal.dll', base: 0x83000000n, size: 0x40000 },
    { name: 'disk.sys', base: 0x84000000n, size: 0x13000 },
  ],
};

const wide = (arch: KernelArch): boolean => arch === 'amd64' || arch === 'arm64';
/** x86 large pages are 4 MiB, PAE ones 2 MiB. */
const addressesOf = (arch: KernelArch): Addresses => (wide(arch) ? WIDE : arch === 'x86-pae' ? { ...NARROW, largeSpan: 0x200000n } : NARROW);

/** Bytes whose every position is distinct enough that a misplaced page shows. */
function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + (i >> 8) * 13 + seed) & 0xff);
}

/** A PE header: 'MZ', e_lfanew 0x80, 'PE\0\0', TimeDateStamp at +8 and SizeOfImage at +0x50. */
function peImage(timeDateStamp: number, sizeOfImage: number): Uint8Array {
  const b = new Uint8Array(0x200);
  const v = new DataView(b.buffer);
  b.set([0x4d, 0x5a]);
  v.setUint32(0x3c, 0x80, true);
  b.set([0x50, 0x45, 0, 0], 0x80);
  v.setUint32(0x88, timeDateStamp, true);
  v.setUint32(0x80 + 0x50, sizeOfImage, true);
  return b;
}

function registersOf(arch: KernelArch, sp: bigint): { registers: Record<string, bigint>; pc: string; sp: string } {
  switch (arch) {
    case 'amd64':
      return { registers: { rip: 0xfffff80001234567n, rsp: sp, rbp: sp + 0x80n, rax: 0x1111n, r15: 0xf15n, rflags: 0x246n }, pc: 'rip', sp: 'rsp' };
    case 'arm64':
      return { registers: { pc: 0xfffff80001234568n, sp, fp: sp + 0x80n, lr: 0xfffff80001200000n, x0: 0x10n, x28: 0x28n }, pc: 'pc', sp: 'sp' };
    default:
      return { registers: { eip: 0x82123456n, esp: sp, ebp: sp + 0x80n, eax: 0x1111n, edi: 0xd1n, efl: 0x246n }, pc: 'eip', sp: 'esp' };
  }
}

const STACK_BYTES = 0x3000;
const LARGE_BYTES = 0x2010;

/** The common scenario: a stack over three pages, a large page, three modules, debugger data and a kernel thread. */
function scenario(arch: KernelArch, kind: KernelDumpKind): { builder: KernelDumpBuilder; a: Addresses; stack: Uint8Array; large: Uint8Array } {
  const a = addressesOf(arch);
  const stack = pattern(STACK_BYTES, 1);
  const large = pattern(LARGE_BYTES, 2);
  const { registers } = registersOf(arch, a.stackLimit + 0x4800n);
  const b = new KernelDumpBuilder(arch, kind)
    .bugcheck(0x50, [0xdeadbeefn, 2n, 0x1234n, 0n])
    .version(15, 19041)
    .processors(2)
    .context(registers)
    .map(a.stackBase - BigInt(STACK_BYTES), stack);
  if (kind !== 'triage') b.map(a.large + a.largeSpan - 0x1008n, large, { largePage: true });
  a.modules.forEach((m, i) => b.module({ ...m, timeDateStamp: 0x5f000000 + i, checksum: 0xc0de + i, ...(i === 0 ? { image: peImage(0x5f000000, m.size) } : {}) }));
  b.kernelThread({ kthread: a.kthread, initialStack: a.stackBase - 0x1c0n, stackBase: a.stackBase, stackLimit: a.stackLimit, kernelStack: a.stackLimit + 0x4700n });
  b.debuggerData();
  return { builder: b, a, stack, large };
}

async function read(bytes: Uint8Array): Promise<Snapshot> {
  return readKernelDump(new BufferSource(bytes, 'synth.dmp'));
}

const memoryOf = (s: Snapshot): KernelVirtualMemory => s.memory as KernelVirtualMemory;

for (const arch of Object.keys(KINDS) as KernelArch[]) {
  for (const kind of KINDS[arch]) {
    test(`kernel synth ${arch} ${kind}: memory, modules, crashing thread, bugcheck and context read back`, async () => {
      const { builder, a, stack, large } = scenario(arch, kind);
      const s = await read(builder.build());
      assert.deepEqual(s.warnings, []);
      assert.equal(s.kernel!.dumpType, { full: 1, summary: 2, triage: 4, 'bitmap-full': 5, 'bitmap-kernel': 6, 'rdmp-kernel': 8, 'rdmp-complete': 10 }[kind]);
      assert.equal(s.system.cpu, arch === 'x86-pae' ? 'x86' : arch);
      assert.equal(s.kernel!.headerWidth, wide(arch) ? 64 : 32);

      // Memory: a page boundary, a large page, and the unmapped around them.
      const lowest = a.stackBase - BigInt(STACK_BYTES);
      assert.deepEqual(await s.memory.read(lowest, STACK_BYTES), stack);
      assert.deepEqual(await s.memory.read(lowest + 0xff8n, 16), stack.subarray(0xff8, 0x1008));
      assert.deepEqual(await s.memory.read(lowest + 0x1ff0n, 0x20), stack.subarray(0x1ff0, 0x2010));
      const largeAt = a.large + a.largeSpan - 0x1008n;
      assert.deepEqual(await s.memory.read(largeAt, LARGE_BYTES), large, 'from a large page into a small one');
      const levels = arch === 'x86' ? 2 : arch === 'x86-pae' ? 3 : 4;
      assert.equal(builder.layout.tableEntryOffsetOf(largeAt, levels - 1), undefined, 'no page table below a large page');
      assert.notEqual(builder.layout.tableEntryOffsetOf(largeAt + 0x1008n, levels - 1), undefined, 'the next region has small pages');
      assert.equal(await s.memory.read(lowest - 0x1000n, 8), undefined, 'below the stack is unmapped');
      assert.equal(await s.memory.read(a.stackBase, 8), undefined, 'above the stack is unmapped');
      assert.equal(await s.memory.read(a.stackBase - 8n, 16), undefined, 'a read running off the mapping');
      assert.equal(await s.memory.read(a.large + a.largeSpan + 0x2000n, 8), undefined, 'past the large page');
      // Inside the large page but never written: the page-table walk succeeds, the dump lacks the page.
      assert.equal(await s.memory.read(a.large, 8), undefined);

      // Modules from PsLoadedModuleList, the first with its PE header.
      assert.deepEqual(
        s.modules.map((m) => [m.codeFile, m.base, m.size, m.checksum]),
        a.modules.map((m, i) => [m.name, m.base, m.size, 0xc0de + i]),
      );
      assert.equal(s.modules[0]!.timeDateStamp, 0x5f000000, 'from the image header');

      // Debugger data, processors, the crashing thread.
      const k = s.kernel!;
      assert.equal(k.debuggerData!.address, builder.layout.kdDebuggerDataBlock);
      assert.equal(k.debuggerData!.psLoadedModuleList, builder.layout.psLoadedModuleList);
      assert.equal(k.debuggerData!.kernBase, a.modules[0]!.base);
      assert.equal(k.processors.length, 2);
      assert.deepEqual(k.processors.map((p) => p.prcb), builder.layout.prcbs);
      assert.equal(k.processors[0]!.currentThread, a.kthread);
      assert.equal(k.bugcheckProcessor, 0);
      assert.deepEqual(k.crashingThread, { kthread: a.kthread, initialStack: a.stackBase - 0x1c0n, stackBase: a.stackBase, stackLimit: a.stackLimit, kernelStack: a.stackLimit + 0x4700n });
      assert.deepEqual(s.threads[0]!.stackBounds, { base: a.stackBase, limit: a.stackLimit, source: 'kthread' });

      // Bugcheck and the header context.
      assert.equal(k.bugcheck.code, 0x50);
      assert.deepEqual(k.bugcheck.parameters, [0xdeadbeefn, 2n, 0x1234n, 0n]);
      assert.equal(k.majorVersion, 15);
      assert.equal(k.buildNumber, 19041);
      const { registers, pc, sp } = registersOf(arch, a.stackLimit + 0x4800n);
      const context = s.threads[0]!.context!;
      for (const [name, value] of Object.entries(registers)) assert.equal(context.registers.get(name), value, name);
      assert.equal(context.registers.get(pc), registers[pc]);
      const stackRange = s.threads[0]!.stack!;
      assert.equal(stackRange.base, registers[sp]! & ~0xfn);
      assert.equal(stackRange.base + BigInt(stackRange.size), a.stackBase);

      // Layout helpers agree with the reader.
      const off = builder.layout.fileOffsetOf(lowest + 0x10n)!;
      assert.equal(off !== undefined, true);
      assert.equal(builder.layout.fileOffsetOf(lowest - 0x1000n), undefined);
      assert.ok(memoryOf(s).counters.translations > 0);
    });
  }
}

for (const arch of ['amd64', 'x86', 'x86-pae', 'arm64'] as const) {
  test(`kernel synth ${arch} triage: call stack, data blocks, driver list, thread copy and debugger data`, async () => {
    const a = addressesOf(arch);
    const stack = pattern(0x1800, 3);
    const block = pattern(0x300, 4);
    const top = a.stackBase - 0x1800n;
    const { registers } = registersOf(arch, top);
    const b = new KernelDumpBuilder(arch, 'triage').bugcheck(0x1e, [0xc0000005n, 0x1000n, 0n, 0n]).context(registers).triageCallStack(top, stack);
    b.map(a.large + 0x100n, block);
    a.modules.forEach((m, i) => b.module({ ...m, timeDateStamp: 0x5f000000 + i, checksum: 0xc0de + i }));
    b.kernelThread({ kthread: a.kthread, initialStack: a.stackBase - 0x1c0n, stackBase: a.stackBase, stackLimit: a.stackLimit, kernelStack: top + 0x40n }).debuggerData();
    const s = await read(b.build());
    assert.deepEqual(s.warnings, []);
    assert.equal(s.kernel!.dumpType, 4);
    assert.deepEqual(await s.memory.read(top, stack.length), stack);
    assert.deepEqual(await s.memory.read(top + 0xff8n, 16), stack.subarray(0xff8, 0x1008));
    assert.deepEqual(await s.memory.read(a.large + 0x100n, block.length), block);
    assert.equal(await s.memory.read(top - 8n, 8), undefined);
    assert.equal(await s.memory.read(a.large, 8), undefined);
    assert.deepEqual(
      s.modules.map((m) => [m.codeFile, m.base, m.size, m.timeDateStamp, m.checksum]),
      a.modules.map((m, i) => [m.name, m.base, m.size, 0x5f000000 + i, 0xc0de + i]),
    );
    const k = s.kernel!;
    assert.equal(k.debuggerData!.address, b.layout.kdDebuggerDataBlock);
    assert.deepEqual(k.crashingThread, { kthread: a.kthread, initialStack: a.stackBase - 0x1c0n, stackBase: a.stackBase, stackLimit: a.stackLimit, kernelStack: top + 0x40n });
    assert.deepEqual(s.threads[0]!.stack, { base: top, size: stack.length, fileOffset: b.layout.fileOffsetOf(top) });
    assert.equal(k.bugcheck.code, 0x1e);
    const context = s.threads[0]!.context!;
    for (const [name, value] of Object.entries(registers)) assert.equal(context.registers.get(name), value, name);
    assert.equal(s.exception?.code, 0xc0000005);
  });
}

test('kernel synth: a PRCB context (KPRCB.Context) wins over the header context', async () => {
  const { builder, a } = scenario('amd64', 'full');
  builder.prcbContext({ rip: 0xfffff80001000abcn, rsp: a.stackLimit + 0x5000n });
  const s = await read(builder.build());
  assert.equal(s.threads[0]!.context!.registers.get('rip'), 0xfffff80001000abcn);
  assert.equal(s.kernel!.headerContext!.registers.get('rip'), 0xfffff80001234567n);
  assert.equal(s.kernel!.processors[0]!.context!.registers.get('rsp'), a.stackLimit + 0x5000n);
});

test('kernel synth x86: KDDEBUGGER_DATA64 pointers sign-extended, as 32-bit Windows stores them', async () => {
  const { builder, a } = scenario('x86', 'full');
  builder.debuggerData({ signExtend: true });
  const s = await read(builder.build());
  assert.deepEqual(s.warnings, []);
  assert.equal(s.kernel!.debuggerData!.kernBase, a.modules[0]!.base);
  assert.equal(s.kernel!.crashingThread!.stackBase, a.stackBase);
});

// Hostile builds.

const u64 = (v: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
};
const u32 = (v: number | bigint): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, Number(BigInt.asUintN(32, BigInt(v))), true);
  return b;
};

for (const arch of ['amd64', 'x86'] as const) {
  test(`kernel synth hostile ${arch}: a module list whose last Flink points back at the middle entry stops with a warning`, async () => {
    const { builder } = scenario(arch, 'full');
    builder.build();
    const entries = builder.layout.moduleEntries;
    const at = builder.layout.fileOffsetOf(entries[2]!)!;
    builder.patch(at, arch === 'amd64' ? u64(entries[1]!) : u32(entries[1]!));
    const s = await read(builder.build());
    assert.equal(s.modules.length, 3);
    assert.ok(s.warnings.some((w) => /PsLoadedModuleList: the list loops back/.test(w)), s.warnings.join('\n'));
    assert.ok(memoryOf(s).counters.translations < 400, `${memoryOf(s).counters.translations} translations`);
  });
}

test('kernel synth hostile: a Flink into the middle of an entry is followed a bounded number of times', async () => {
  const { builder } = scenario('amd64', 'full');
  builder.build();
  const entries = builder.layout.moduleEntries;
  builder.patch(builder.layout.fileOffsetOf(entries[2]!)!, u64(entries[1]! + 8n));
  const s = await read(builder.build());
  assert.ok(s.modules.length >= 3 && s.modules.length <= 5, `${s.modules.length} modules`);
  assert.ok(s.warnings.some((w) => /loops back/.test(w)), s.warnings.join('\n'));
  assert.ok(memoryOf(s).counters.translations < 400);
});

for (const arch of ['amd64', 'x86', 'x86-pae', 'arm64'] as const) {
  test(`kernel synth hostile ${arch}: page tables pointing past physical memory read as absent`, async () => {
    const { builder, a } = scenario(arch, arch === 'x86-pae' ? 'summary' : 'full');
    builder.build();
    const lowest = a.stackBase - BigInt(STACK_BYTES);
    const entry = arch === 'x86' ? 4 : 8;
    const levels = arch === 'x86' ? 2 : arch === 'x86-pae' ? 3 : 4;
    // The leaf entry of the lowest stack page; the root entry above the large page (in PAE the
    // stack shares its PDPTE, so the large page's PDE, turned to a large page far away).
    const leaf = builder.layout.tableEntryOffsetOf(lowest, levels - 1)!;
    const aboveLarge = builder.layout.tableEntryOffsetOf(a.large, arch === 'x86-pae' ? 1 : 0)!;
    const far = arch === 'x86' ? 0xfffff000n : 0x000ffffffffff000n;
    const valid = arch === 'arm64' ? 0x403n : 0x63n;
    const upper = arch === 'arm64' ? 0x3n : arch === 'x86-pae' ? 0xe3n : 0x63n;
    builder.patch(leaf, entry === 4 ? u32(far | valid) : u64(far | valid));
    builder.patch(aboveLarge, entry === 4 ? u32(far | upper) : u64(far | upper));
    const s = await read(builder.build());
    const m = memoryOf(s);
    assert.equal(await s.memory.read(lowest, 8), undefined);
    assert.deepEqual(await s.memory.read(lowest + 0x1000n, 8), pattern(STACK_BYTES, 1).subarray(0x1000, 0x1008), 'the next page is untouched');
    assert.equal(await s.memory.read(a.large + a.largeSpan - 0x1008n, 8), undefined);
    const before = m.counters.tableReads;
    assert.equal(await s.memory.read(lowest, 0x10000), undefined);
    assert.ok(m.counters.tableReads - before <= levels, `${m.counters.tableReads - before} table reads for a read failing at its first page`);
  });
}

test('kernel synth hostile: NumberOfRuns larger than the header holds is a warning, not a hang', async () => {
  const { builder } = scenario('amd64', 'full');
  builder.build();
  const s = await read(builder.patch(builder.layout.offsetOf('NumberOfRuns'), u32(0x7fffffff)).build());
  assert.ok(s.warnings.some((w) => /runs do not fit in the header/.test(w)), s.warnings.join('\n'));
  assert.equal(s.modules.length, 0);
  assert.equal(await s.memory.read(0xfffff80001000000n, 8), undefined);
});

test('kernel synth hostile: a run of more pages than the file holds is cut to the file, with a warning', async () => {
  const { builder, a } = scenario('x86', 'full');
  builder.build();
  const runs = builder.layout.offsetOf('PhysicalMemoryBlock');
  // The last run (data pages) claims 2^32-1 pages.
  const first = new DataView(builder.build().buffer).getUint32(runs, true);
  builder.patch(runs + 8 + (first - 1) * 8 + 4, u32(0xffffffff));
  const s = await read(builder.build());
  assert.ok(s.warnings.some((w) => /runs past the end of the file/.test(w)), s.warnings.join('\n'));
  assert.deepEqual(await s.memory.read(a.stackBase - 0x10n, 0x10), pattern(STACK_BYTES, 1).subarray(STACK_BYTES - 0x10));
});

for (const kind of ['bitmap-kernel', 'summary'] as const) {
  test(`kernel synth hostile ${kind}: bitmap Pages larger than the file is a FormatError turned warning`, async () => {
    const { builder } = scenario('amd64', kind);
    builder.build();
    const s = await read(builder.patch(builder.layout.offsetOf('BITMAP.Pages'), u64(1n << 40n)).build());
    assert.ok(s.warnings.some((w) => /more than the file holds/.test(w)), s.warnings.join('\n'));
    assert.equal(s.kernel!.physicalPages, undefined);
  });
}

test('kernel synth hostile: a truncated bitmap dump reads what is left, with a warning', async () => {
  const { builder, a } = scenario('x86-pae', 'bitmap-full');
  const length = builder.build().length - 0x3000;
  const s = await read(builder.truncate(length).build());
  assert.ok(s.warnings.some((w) => /truncated dump/.test(w)), s.warnings.join('\n'));
  // Each probe reads exactly when its page is still in the file.
  const lowest = a.stackBase - BigInt(STACK_BYTES);
  const probes = [lowest, lowest + 0x1000n, lowest + 0x2000n, a.large + a.largeSpan - 0x1008n, a.large + a.largeSpan, a.modules[0]!.base, a.kthread];
  let cut = 0;
  for (const va of probes) {
    const at = builder.layout.fileOffsetOf(va)!;
    const bytes = await s.memory.read(va, 8);
    assert.equal(bytes !== undefined, at + 8 <= length, `0x${va.toString(16)} at file offset 0x${at.toString(16)}`);
    if (!bytes) cut++;
  }
  assert.ok(cut > 0 || probes.every((va) => builder.layout.fileOffsetOf(va)! < length));
});

test('kernel synth hostile: RDMP FirstPageOffset past the file is a warning', async () => {
  const { builder } = scenario('amd64', 'rdmp-kernel');
  builder.build();
  const s = await read(builder.patch(builder.layout.offsetOf('RDMP.FirstPageOffset'), u64(1n << 50n)).build());
  assert.ok(s.warnings.some((w) => /FirstPageOffset .* is outside the file/.test(w)), s.warnings.join('\n'));
});

test('kernel synth hostile: the signature broken is a FormatError', async () => {
  const { builder } = scenario('arm64', 'full');
  await assert.rejects(read(builder.patch(0, u32(0)).build()), FormatError);
});

test('kernel synth hostile: a PML4 entry mapping the PML4 itself (the self-map) reads the tables, bounded', async () => {
  const { builder } = scenario('amd64', 'full');
  builder.build();
  const index = 0x1edn; // Windows' classic self-map slot
  const selfEntry = builder.layout.tableEntryOffsetOf(0xffff000000000000n | (index << 39n), 0)!;
  builder.patch(selfEntry, u64(builder.layout.dtb | 0x63n));
  const s = await read(builder.build());
  // The self-map VA of the PML4 itself: every index = 0x1ed.
  const pml4 = 0xffff000000000000n | (index << 39n) | (index << 30n) | (index << 21n) | (index << 12n);
  const entry = await s.memory.read(pml4 + index * 8n, 8);
  assert.deepEqual(entry, u64(builder.layout.dtb | 0x63n));
  const m = memoryOf(s);
  const before = m.counters.tableReads;
  assert.notEqual(await s.memory.read(pml4 + 0x800n, 8), undefined);
  assert.ok(m.counters.tableReads - before <= 4);
});

test('kernel synth hostile: DirectoryTableBase past physical memory leaves every virtual read absent, bounded', async () => {
  const { builder, a } = scenario('amd64', 'bitmap-kernel');
  builder.build();
  const s = await read(builder.patch(builder.layout.offsetOf('DirectoryTableBase'), u64(0x7ffffff000n)).build());
  const m = memoryOf(s);
  assert.deepEqual(s.modules, []);
  assert.equal(await s.memory.read(a.stackLimit + 0x4000n, 8), undefined);
  assert.equal(s.kernel!.debuggerData!.note, 'the debugger data block is not in the dump');
  // One table read per translation: the root page is missing, so every walk stops at once.
  assert.equal(m.counters.tableReads, m.counters.translations);
});

test('kernel synth hostile: NumberProcessors of 2^32-1 is capped, reading a bounded number of PRCB pointers', async () => {
  const { builder } = scenario('x86', 'full');
  builder.build();
  const s = await read(builder.patch(builder.layout.offsetOf('NumberProcessors'), u32(0xffffffff)).build());
  assert.ok(s.kernel!.processors.length <= 2048, `${s.kernel!.processors.length} processors`);
  assert.equal(s.kernel!.processors[0]!.currentThread, addressesOf('x86').kthread);
  assert.ok(memoryOf(s).counters.translations < 2048 * 8, `${memoryOf(s).counters.translations} translations`);
});

test('kernel synth hostile: a KDBG KTHREAD offset far past the KTHREAD loses that field only, with a warning, no throw', async () => {
  const { builder } = scenario('amd64', 'full');
  builder.build();
  const kdbg = builder.layout.fileOffsetOf(builder.layout.kdDebuggerDataBlock)!;
  const s = await read(builder.patch(kdbg + 0x344, u32(0x7ffffff0)).build());
  assert.equal(s.kernel!.crashingThread!.stackBase, undefined);
  assert.notEqual(s.kernel!.crashingThread!.stackLimit, undefined, 'the other fields are still read');
  assert.ok(s.warnings.some((w) => /KTHREAD field at OffsetKThreadStackBase \+0x7ffffff0 could not be read/.test(w)), s.warnings.join('\n'));
});

test('kernel synth hostile: more than 4096 loaded modules stop at 4096 with a warning', async () => {
  const b = new KernelDumpBuilder('amd64', 'full').debuggerData();
  for (let i = 0; i < 4100; i++) b.module({ name: `m${i}.sys`, base: 0xfffff80100000000n + BigInt(i) * 0x10000n, size: 0x1000 });
  const s = await read(b.build());
  assert.equal(s.modules.length, 4096);
  assert.ok(s.warnings.some((w) => /stopped after 4096 modules/.test(w)), s.warnings.join('\n'));
  assert.ok(memoryOf(s).counters.translations < 4100 * 8, `${memoryOf(s).counters.translations} translations`);
});

test('kernel synth hostile: TotalPresentPages more than the file holds warns of truncation', async () => {
  const { builder } = scenario('arm64', 'bitmap-kernel');
  builder.build();
  const s = await read(builder.patch(builder.layout.offsetOf('BITMAP.TotalPresentPages'), u64(1n << 33n)).build());
  assert.ok(s.warnings.some((w) => /pages present but the file holds/.test(w)), s.warnings.join('\n'));
});

test('kernel synth hostile triage: DataBlocksCount and DriverCount past the file, and no TRGD marker, warn and read what fits', async () => {
  const a = addressesOf('amd64');
  const b = new KernelDumpBuilder('amd64', 'triage').map(a.large, pattern(0x100, 5)).debuggerData();
  a.modules.forEach((m) => b.module(m));
  b.build();
  const l = b.layout;
  b.patch(l.offsetOf('TRIAGE.DataBlocksCount'), u32(0x7fffffff)).patch(l.offsetOf('TRIAGE.DriverCount'), u32(0x7fffffff)).patch(l.offsetOf('TRIAGE.ValidOffset'), u32(0x10));
  const s = await read(b.build());
  assert.ok(s.warnings.some((w) => /DataBlocksCount 2147483647 does not fit/.test(w)), s.warnings.join('\n'));
  assert.ok(s.warnings.some((w) => /DriverCount 2147483647 does not fit/.test(w)));
  assert.ok(s.warnings.some((w) => /no "DGRT" validity marker/.test(w)));
  assert.deepEqual(s.modules.slice(0, 3).map((m) => m.codeFile), a.modules.map((m) => m.name));
  assert.deepEqual(await s.memory.read(a.large, 0x100), pattern(0x100, 5));
});

test('kernel synth: a header PsLoadedModuleList left as the PAGE filler falls back to KDDEBUGGER_DATA64', async () => {
  const { builder, a } = scenario('x86-pae', 'full');
  builder.build();
  const s = await read(builder.patch(builder.layout.offsetOf('PsLoadedModuleList'), new Uint8Array([0x50, 0x41, 0x47, 0x45])).build());
  assert.deepEqual(s.warnings, []);
  assert.deepEqual(s.modules.map((m) => m.codeFile), a.modules.map((m) => m.name));
});
