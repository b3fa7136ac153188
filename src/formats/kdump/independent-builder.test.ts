// The reader against the second, independent kernel-dump builder (src/testing/synth/kernel-dump.ts),
// written from the public layouts without looking at the reader: every arch and dump kind it lays
// out must read back the same memory (page boundaries, large and huge pages), drivers, processors,
// crashing thread and bugcheck.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { KernelDumpBuilder, type KernelDumpKind } from '../../testing/synth/kernel-dump.js';
import type { KernelArch } from '../../testing/synth/kernel-dump-paging.js';
import { readKernelDump } from './read-kernel-dump.js';
import { Directory } from '../pe/constants.js';
import { PeBuilder, TEXT, debugDirectory, rsdsRecord } from '../pe/testing.js';

const KINDS: Readonly<Record<KernelArch, readonly KernelDumpKind[]>> = {
  amd64: ['full', 'triage', 'bitmap-full', 'bitmap-kernel', 'rdmp-kernel', 'rdmp-kernel-user', 'rdmp-complete'],
  arm64: ['full', 'bitmap-full', 'bitmap-kernel', 'rdmp-kernel', 'rdmp-complete'],
  x86: ['full', 'summary', 'triage', 'bitmap-full', 'bitmap-kernel'],
  'x86-pae': ['full', 'summary', 'triage', 'bitmap-full', 'bitmap-kernel'],
};
const WIDE = (arch: KernelArch): boolean => arch === 'amd64' || arch === 'arm64';

function pattern(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);
}

for (const [arch, kinds] of Object.entries(KINDS) as [KernelArch, readonly KernelDumpKind[]][]) {
  for (const kind of kinds) {
    test(`independent builder ${arch} ${kind}: the reader reads its memory, drivers and crashing thread`, async () => {
      const wide = WIDE(arch);
      const stackBase = wide ? 0xffff850429893000n : 0xa3c47000n;
      const size = wide ? 0x6000 : 0x3000;
      const stackLimit = stackBase - BigInt(size);
      const sp = stackBase - 0x800n;
      const kernBase = wide ? 0xfffff8047ba00000n : 0x82800000n;
      const kthread = wide ? 0xffffc08bde9e1640n : 0x86a1c020n;
      const regs: Record<string, bigint> = arch === 'amd64' ? { rsp: sp, rip: kernBase + 0x1234n } : arch === 'arm64' ? { sp, pc: kernBase + 0x1234n } : { esp: sp, eip: kernBase + 0x1234n, ebp: sp + 0x10n };
      const stack = pattern(size, 9);
      const b = new KernelDumpBuilder(arch, kind).bugcheck(0x7f, [8n, 0n, 0n, 0n]).version(0xf, 19041).processors(2).context(regs).map(stackLimit, stack);
      if (kind === 'triage') b.triageCallStack(sp, stack.subarray(Number(sp - stackLimit)));
      const probe = { va: kernBase + 0x3000000n + 0xff8n, bytes: pattern(0x30, 1) };
      if (kind !== 'triage') b.map(probe.va, probe.bytes);
      b.module({ name: 'ntoskrnl.exe', base: kernBase, size: 0x1046000, timeDateStamp: 0x0d8333e6 })
        .module({ name: 'BossHog.sys', base: kernBase + 0x2000000n, size: 0x6000, timeDateStamp: 0x5f000001 })
        .module({ name: 'MamaHog.sys', base: kernBase + 0x2100000n, size: 0x8000, timeDateStamp: 0x5f000002 })
        .kernelThread({ kthread, initialStack: stackBase - 0x100n, stackBase, stackLimit, kernelStack: sp, processor: 1 })
        .processorContext(1, regs)
        .debuggerData();
      const s = await readKernelDump(new BufferSource(b.build(), `${arch}-${kind}.dmp`));
      assert.equal(s.kernel!.bugcheck.code, 0x7f);
      assert.equal(s.kernel!.headerWidth, wide ? 64 : 32);
      assert.deepEqual(s.modules.map((m) => [m.codeFile.replace(/^.*\\/, ''), m.base, m.size]), [
        ['ntoskrnl.exe', kernBase, 0x1046000],
        ['BossHog.sys', kernBase + 0x2000000n, 0x6000],
        ['MamaHog.sys', kernBase + 0x2100000n, 0x8000],
      ]);
      if (kind === 'triage') {
        assert.deepEqual(await s.memory.read(sp, 0x40), stack.subarray(Number(sp - stackLimit), Number(sp - stackLimit) + 0x40));
      } else {
        assert.deepEqual(await s.memory.read(probe.va, probe.bytes.length), probe.bytes, 'across a page boundary');
        assert.deepEqual(await s.memory.read(stackLimit, size), stack, 'the whole kernel stack');
        assert.equal(await s.memory.read(kernBase + 0x5000000n, 4), undefined, 'unmapped');
      }
      const t = s.kernel!.crashingThread!;
      assert.deepEqual([t.kthread, t.stackBase, t.stackLimit, t.initialStack], [kthread, stackBase, stackLimit, stackBase - 0x100n]);
      assert.equal(s.kernel!.bugcheckProcessor, 1);
      assert.equal(s.threads[0]!.context!.registers.get(wide ? (arch === 'amd64' ? 'rsp' : 'sp') : 'esp'), sp);
    });
  }
}

test('independent builder amd64 full: of two processors each running a thread, the one whose saved context is the header\'s bugchecked', async () => {
  const stackBase = 0xffff850429893000n;
  const sp = stackBase - 0x800n;
  const idleBase = 0xffff850429a00000n;
  const regs = { rsp: sp, rip: 0xfffff8047ba01234n };
  const b = new KernelDumpBuilder('amd64', 'full')
    .bugcheck(0xe2, [0n, 0n, 0n, 0n])
    .processors(2)
    .context(regs)
    .map(stackBase - 0x6000n, pattern(0x6000, 3))
    .module({ name: 'ntoskrnl.exe', base: 0xfffff8047ba00000n, size: 0x1046000 })
    .kernelThread({ kthread: 0xffffc08b00000080n, initialStack: idleBase, stackBase: idleBase, stackLimit: idleBase - 0x6000n, kernelStack: idleBase - 0x100n, processor: 0 })
    .processorContext(0, { rsp: idleBase - 0x100n, rip: 0xfffff8047ba05678n })
    .kernelThread({ kthread: 0xffffc08bde9e1640n, initialStack: stackBase, stackBase, stackLimit: stackBase - 0x6000n, kernelStack: sp, processor: 1 })
    .processorContext(1, regs)
    .debuggerData();
  const s = await readKernelDump(new BufferSource(b.build(), 'two-processors.dmp'));
  assert.equal(s.kernel!.processors[0]!.currentThread, 0xffffc08b00000080n);
  assert.equal(s.kernel!.crashingThread!.kthread, 0xffffc08bde9e1640n);
  assert.equal(s.kernel!.crashingThread!.stackBase, stackBase);
  assert.equal(s.kernel!.bugcheckProcessor, 1);
});

test('independent builder amd64 full: a driver image in memory names its PDB (CodeView), so symbol stores find it', async () => {
  const pe = new PeBuilder({ timeDateStamp: 0x5f001234 });
  pe.section({ name: '.text', data: new Uint8Array(16), characteristics: TEXT });
  const dir = debugDirectory(pe.nextRva, pe.nextFileOffset, [{ type: 2, data: rsdsRecord('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'd:\\build\\hog.pdb') }]);
  pe.directory(Directory.Debug, pe.section({ name: '.rdata', data: dir }), 28);
  const image = pe.bytes('memory');
  const base = 0xfffff80512340000n;
  const b = new KernelDumpBuilder('amd64', 'full')
    .bugcheck(0xe2, [0n, 0n, 0n, 0n])
    .context({ rsp: 0xffff850429892800n, rip: base + 0x1000n })
    .module({ name: 'hog.sys', base, size: pe.sizeOfImage, image })
    .debuggerData();
  const s = await readKernelDump(new BufferSource(b.build(), 'codeview.dmp'));
  const hog = s.modules[0]!;
  assert.deepEqual([hog.debugFile, hog.debugId, hog.timeDateStamp, hog.size], ['d:\\build\\hog.pdb', '5A9832E5287241C1838ED98914E9B7FF1', 0x5f001234, pe.sizeOfImage]);
});
