// Synthetic kernel dumps for the kernel-dump fuzz target: the forms the corpus lacks (complete and
// kernel memory dumps with runs, bitmaps, summary and RDMP ranges; x86, x86 PAE, amd64 and ARM64
// page tables; PsLoadedModuleList, KDBG, PRCBs), built by the kernel-dump builder.
import { KernelDumpBuilder, type KernelArch, type KernelDumpKind } from '../synth/kernel.js';
import type { Seed } from './targets.js';

const FORMS: readonly (readonly [KernelArch, KernelDumpKind])[] = [
  ['amd64', 'full'],
  ['amd64', 'bitmap-kernel'],
  ['amd64', 'rdmp-complete'],
  ['arm64', 'bitmap-full'],
  ['x86', 'summary'],
  ['x86-pae', 'full'],
  ['x86-pae', 'triage'],
];

export function kernelDumpSeeds(): Seed[] {
  return FORMS.map(([arch, kind]) => {
    const wide = arch === 'amd64' || arch === 'arm64';
    const base = wide ? 0xffff850429893000n : 0xa3c47000n;
    const limit = base - 0x3000n;
    const sp = base - 0x800n;
    const kern = wide ? 0xfffff8047ba00000n : 0x82800000n;
    const stack = new Uint8Array(0x3000);
    const view = new DataView(stack.buffer);
    // A short frame chain with return addresses into the kernel and a driver.
    for (let i = 0; i < 8; i++) {
      const at = 0x2800 + i * 0x40;
      if (wide) {
        view.setBigUint64(at, limit + BigInt(at + 0x40), true);
        view.setBigUint64(at + 8, kern + 0x1000n + BigInt(i) * 0x10n, true);
      } else {
        view.setUint32(at, Number(limit) + at + 0x40, true);
        view.setUint32(at + 4, Number(kern) + 0x1000 + i * 0x10, true);
      }
    }
    const regs: Record<string, bigint> = arch === 'amd64' ? { rsp: sp, rbp: sp, rip: kern + 0x1234n } : arch === 'arm64' ? { sp, fp: sp, pc: kern + 0x1234n, lr: kern + 0x2000n } : { esp: sp, ebp: sp, eip: kern + 0x1234n };
    const b = new KernelDumpBuilder(arch, kind).bugcheck(0xd1, [0x10n, 2n, 0n, kern + 0x1234n]).version(15, 19041).processors(2).context(regs).map(limit, stack);
    if (kind === 'triage') b.triageCallStack(sp, stack.subarray(0x2800));
    b.module({ name: 'ntoskrnl.exe', base: kern, size: 0x100000 }).module({ name: 'hog.sys', base: kern + 0x2000000n, size: 0x8000 });
    b.kernelThread({ kthread: wide ? 0xffffc08bde9e1640n : 0x86a1c020n, initialStack: base, stackBase: base, stackLimit: limit, kernelStack: sp }).debuggerData();
    return { name: `synth:kernel-${arch}-${kind}`, bytes: b.build() };
  });
}
