// The kernel-dump builder's files, checked with a tiny reader written here (signatures, header
// offsets, runs, bitmaps, RDMP ranges, page-table walks per architecture, the triage layout), and
// its layouts checked against the real small dumps in ../shared/corpus/external/kernel.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { corpusPath } from '../corpus.js';
import type { RegisterValues } from './context.js';
import { KernelDumpBuilder, type KernelArch, type KernelDumpKind } from './kernel-dump.js';

const PAGE = 0x1000;

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, at: number): bigint {
  return BigInt(u32(b, at)) | (BigInt(u32(b, at + 4)) << 32n);
}
function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}
function read(b: Uint8Array, at: number, width: number): bigint {
  return width === 8 ? u64(b, at) : width === 4 ? BigInt(u32(b, at)) : width === 2 ? BigInt(u16(b, at)) : BigInt(b[at]!);
}
function popcount(b: Uint8Array): number {
  let n = 0;
  for (const byte of b) for (let v = byte; v; v &= v - 1) n++;
  return n;
}

const indexes = new WeakMap<Uint8Array, Map<bigint, number>>();

/** PFN -> file offset, read the way the public layouts describe each form. */
function physicalIndex(file: Uint8Array): Map<bigint, number> {
  let index = indexes.get(file);
  if (!index) {
    index = buildIndex(file);
    indexes.set(file, index);
  }
  return index;
}

function buildIndex(file: Uint8Array): Map<bigint, number> {
  const is64 = ascii(file, 4, 4) === 'DU64';
  const header = is64 ? 0x2000 : 0x1000;
  const dumpType = u32(file, is64 ? 0xf98 : 0xf88);
  const index = new Map<bigint, number>();
  const bits = (at: number, count: bigint, first: number): void => {
    let next = first;
    for (let pfn = 0n; pfn < count; pfn++) {
      if (file[at + Number(pfn / 8n)]! & (1 << Number(pfn % 8n))) {
        index.set(pfn, next);
        next += PAGE;
      }
    }
  };
  if (dumpType === 1) {
    const runs = u32(file, is64 ? 0x88 : 0x64);
    let next = header;
    for (let i = 0; i < runs; i++) {
      const at = is64 ? 0x98 + i * 16 : 0x6c + i * 8;
      const base = is64 ? u64(file, at) : BigInt(u32(file, at));
      const count = is64 ? u64(file, at + 8) : BigInt(u32(file, at + 4));
      for (let p = 0n; p < count; p++, next += PAGE) index.set(base + p, next);
    }
  } else if (dumpType === 2) {
    bits(header + 0x20, BigInt(u32(file, header + 0x10)), u32(file, header + 0xc));
  } else if (dumpType === 5 || dumpType === 6) {
    bits(header + 0x38, u64(file, header + 0x30), Number(u64(file, header + 0x20)));
  } else if (dumpType >= 8 && dumpType <= 10) {
    let next = Number(u64(file, header + 0x18));
    const entries = Number(u64(file, header + 0x10)) / 16;
    for (let i = 0; i < entries; i++) {
      const at = header + 0x30 + i * 16;
      const pfn = u64(file, at);
      if (pfn === 0n) break;
      for (let p = 0n; p < u64(file, at + 8); p++, next += PAGE) index.set(pfn + p, next);
    }
  }
  return index;
}

/** A page-table walk from DirectoryTableBase, written from the Intel SDM and the Arm ARM, not from the builder. */
function translate(arch: KernelArch, file: Uint8Array, va: bigint): number | undefined {
  const index = physicalIndex(file);
  const phys = (pa: bigint): number | undefined => {
    const at = index.get(pa >> 12n);
    return at === undefined ? undefined : at + Number(pa & 0xfffn);
  };
  const entry = (pa: bigint, width: 4 | 8): bigint | undefined => {
    const at = phys(pa);
    return at === undefined ? undefined : read(file, at, width);
  };
  const dtb = arch === 'amd64' || arch === 'arm64' ? u64(file, 0x10) : BigInt(u32(file, 0x10));
  const v = arch === 'x86' || arch === 'x86-pae' ? va & 0xffffffffn : va;
  if (arch === 'x86') {
    const pde = entry((dtb & ~0xfffn) + ((v >> 22n) & 0x3ffn) * 4n, 4);
    if (pde === undefined || !(pde & 1n)) return undefined;
    if (pde & 0x80n) return phys((pde & 0xffc00000n) + (v & 0x3fffffn));
    const pte = entry((pde & 0xfffff000n) + ((v >> 12n) & 0x3ffn) * 4n, 4);
    if (pte === undefined || !(pte & 1n)) return undefined;
    return phys((pte & 0xfffff000n) + (v & 0xfffn));
  }
  const shifts = arch === 'x86-pae' ? [30n, 21n, 12n] : [39n, 30n, 21n, 12n];
  const bitsAt = (level: number): bigint => (arch === 'x86-pae' && level === 0 ? 3n : 0x1ffn);
  let table = arch === 'x86-pae' ? dtb & ~0x1fn : dtb & ~0xfffn;
  for (let level = 0; level < shifts.length; level++) {
    const shift = shifts[level]!;
    const e = entry(table + ((v >> shift) & bitsAt(level)) * 8n, 8);
    if (e === undefined || !(e & 1n)) return undefined;
    const address = e & 0x0000fffffffff000n;
    const last = level === shifts.length - 1;
    const block = arch === 'arm64' ? !last && !(e & 2n) : !last && level > 0 && (e & 0x80n) !== 0n;
    if (last || block) {
      const span = 1n << shift;
      return phys((address & ~(span - 1n)) + (v & (span - 1n)));
    }
    table = address;
  }
  return undefined;
}

function pattern(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);
}

const KERNEL_VA: Readonly<Record<KernelArch, bigint>> = {
  amd64: 0xfffff80412340000n,
  arm64: 0xfffff80412340000n,
  x86: 0x82340000n,
  'x86-pae': 0x82340000n,
};

/** A dump with a 4 KiB mapping across a page boundary, a large page and (where the format has them) a huge page. */
function mappedDump(arch: KernelArch, kind: KernelDumpKind): { b: KernelDumpBuilder; file: Uint8Array; probes: { va: bigint; bytes: Uint8Array }[] } {
  const b = new KernelDumpBuilder(arch, kind).bugcheck(0x7f, [8n, 0x80050033n, 0x406f8n, 0n]).version(0xf, 19041);
  const base = KERNEL_VA[arch];
  const probes = [{ va: base + 0xff8n, bytes: pattern(0x30, 1) }];
  probes.push({ va: base + 0x40_0000n * 4n + 0x1234n, bytes: pattern(0x20, 2) });
  b.map(probes[0]!.va, probes[0]!.bytes).map(probes[1]!.va, probes[1]!.bytes, { page: 'large' });
  if (arch === 'amd64' || arch === 'arm64') {
    const huge = { va: 0xfffff80800000000n + 0x2345678n, bytes: pattern(0x10, 3) };
    probes.push(huge);
    b.map(huge.va, huge.bytes, { page: 'huge' });
  }
  return { b, file: b.build(), probes };
}

function assertProbes(arch: KernelArch, b: KernelDumpBuilder, file: Uint8Array, probes: readonly { va: bigint; bytes: Uint8Array }[]): void {
  for (const p of probes) {
    const at = translate(arch, file, p.va);
    assert.notEqual(at, undefined, `0x${p.va.toString(16)} translates`);
    assert.equal(b.layout.fileOffsetOf(p.va), at);
    // The bytes may cross a page; read them page by page through the walk.
    const got = Uint8Array.from({ length: p.bytes.length }, (_, i) => file[translate(arch, file, p.va + BigInt(i))!]!);
    assert.deepEqual(got, p.bytes);
  }
}

describe('KernelDumpBuilder: headers and physical memory', () => {
  it('amd64 full dump: DUMP_HEADER64 fields at their offsets, runs that add up, 4-level walks with 2 MiB and 1 GiB pages', () => {
    const b = new KernelDumpBuilder('amd64', 'full').bugcheck(0x1000007e, [0xffffffffc0000005n, 0xfffff8048b58334cn, 3n, 4n]);
    b.context({ rip: 0xfffff8047bdf5a80n, rsp: 0xffff850429890ee8n, rax: 0x1111n, r15: 0xfffn, rflags: 0x40286n });
    const probes = [
      { va: 0xfffff80412340ff8n, bytes: pattern(0x30, 1) },
      { va: 0xfffff80413001234n, bytes: pattern(0x20, 2) },
      { va: 0xfffff80800000000n + 0x2345678n, bytes: pattern(0x10, 3) },
    ];
    b.map(probes[0]!.va, probes[0]!.bytes).map(probes[1]!.va, probes[1]!.bytes, { page: 'large' }).map(probes[2]!.va, probes[2]!.bytes, { page: 'huge' });
    const file = b.build();
    assert.equal(ascii(file, 0, 8), 'PAGEDU64');
    assert.equal(u32(file, 0x8), 0xf);
    assert.equal(u32(file, 0xc), 19041);
    assert.equal(u64(file, 0x10), b.layout.dtb);
    assert.equal(u32(file, 0x30), 0x8664);
    assert.equal(u32(file, 0x38), 0x1000007e);
    assert.equal(ascii(file, 0x3c, 4), 'PAGE');
    assert.equal(u64(file, 0x40), 0xffffffffc0000005n);
    assert.equal(u64(file, 0x58), 4n);
    assert.equal(u64(file, 0x80), b.layout.kdDebuggerDataBlock);
    assert.equal(u64(file, 0x348 + 0xf8), 0xfffff8047bdf5a80n);
    assert.equal(u64(file, 0x348 + 0x98), 0xffff850429890ee8n);
    assert.equal(u64(file, 0x348 + 0x78), 0x1111n);
    assert.equal(u32(file, 0x348 + 0x34), 0x1f80);
    assert.equal(u32(file, 0x348 + 0x44), 0x40286);
    assert.equal(u32(file, 0xf00), 0x80000003);
    assert.equal(u64(file, 0xf10), 0xfffff8047bdf5a80n);
    assert.equal(u32(file, 0xf98), 1);
    assert.equal(u64(file, 0xfa0), BigInt(file.length));
    const runs = u32(file, 0x88);
    assert.ok(runs >= 2, 'page tables and data pages sit apart');
    let pages = 0n;
    for (let i = 0; i < runs; i++) pages += u64(file, 0x98 + i * 16 + 8);
    assert.equal(u64(file, 0x90), pages);
    assert.equal(BigInt(file.length), 0x2000n + pages * BigInt(PAGE));
    assertProbes('amd64', b, file, probes);
  });

  it('x86 PAE full dump: DUMP_HEADER32 fields, PaeEnabled, 32-bit runs, a 3-level walk with a 2 MiB page', () => {
    const { b, file, probes } = mappedDump('x86-pae', 'full');
    assert.equal(ascii(file, 0, 8), 'PAGEDUMP');
    assert.equal(u32(file, 0x20), 0x14c);
    assert.equal(u32(file, 0x28), 0x7f);
    assert.equal(u32(file, 0x2c), 8);
    assert.equal(u32(file, 0x30), 0x80050033);
    assert.equal(file[0x5c], 1);
    assert.equal(u32(file, 0x10), Number(b.layout.dtb));
    assert.equal(u32(file, 0x60), Number(b.layout.kdDebuggerDataBlock));
    assert.equal(u32(file, 0xf88), 1);
    assert.equal(u64(file, 0xfa0), BigInt(file.length));
    const runs = u32(file, 0x64);
    let pages = 0;
    for (let i = 0; i < runs; i++) pages += u32(file, 0x6c + i * 8 + 4);
    assert.equal(u32(file, 0x68), pages);
    assert.equal(file.length, 0x1000 + pages * PAGE);
    assertProbes('x86-pae', b, file, probes);
  });

  it('x86 context in the 32-bit header: Eip, Esp, Ebp at the CONTEXT offsets', () => {
    const b = new KernelDumpBuilder('x86', 'full').context({ eip: 0x80501234, esp: 0x8054a000, ebp: 0x8054a010, efl: 0x246 });
    const file = b.build();
    assert.equal(u32(file, 0x320 + 0xb8), 0x80501234);
    assert.equal(u32(file, 0x320 + 0xc4), 0x8054a000);
    assert.equal(u32(file, 0x320 + 0xb4), 0x8054a010);
    assert.equal(u32(file, 0x320 + 0xc0), 0x246);
    assert.equal(file[0x5c], 0, 'no PAE');
  });

  it('x86 summary dump: SUMMARY_DUMP32 with a bitmap whose popcount is Pages, a 2-level walk with a 4 MiB page', () => {
    const { b, file, probes } = mappedDump('x86', 'summary');
    assert.equal(u32(file, 0xf88), 2);
    assert.equal(ascii(file, 0x1000, 8), 'SDMPDUMP');
    const headerSize = u32(file, 0x100c);
    const bits = u32(file, 0x1010);
    const pages = u32(file, 0x1014);
    assert.equal(headerSize % PAGE, 0);
    assert.equal(u32(file, 0x1018), bits);
    assert.equal(popcount(file.subarray(0x1020, 0x1020 + Math.ceil(bits / 8))), pages);
    assert.equal(file.length, headerSize + pages * PAGE);
    assertProbes('x86', b, file, probes);
  });

  for (const [arch, kind, signature] of [
    ['amd64', 'bitmap-full', 'FDMP'],
    ['amd64', 'bitmap-kernel', 'SDMP'],
    ['arm64', 'bitmap-kernel', 'SDMP'],
    ['x86-pae', 'bitmap-kernel', 'SDMP'],
  ] as const) {
    it(`${arch} ${kind}: '${signature}DUMP', popcount = TotalPresentPages, pages from FirstPage`, () => {
      const { b, file, probes } = mappedDump(arch, kind);
      const header = arch === 'x86-pae' ? 0x1000 : 0x2000;
      assert.equal(u32(file, header === 0x2000 ? 0xf98 : 0xf88), kind === 'bitmap-full' ? 5 : 6);
      assert.equal(ascii(file, header, 8), `${signature}DUMP`);
      const firstPage = Number(u64(file, header + 0x20));
      const present = Number(u64(file, header + 0x28));
      const bits = Number(u64(file, header + 0x30));
      assert.equal(bits % 8, 0, 'readers take Pages / 8 bytes');
      assert.equal(popcount(file.subarray(header + 0x38, header + 0x38 + bits / 8)), present);
      assert.equal(firstPage % PAGE, 0);
      assert.equal(file.length, firstPage + present * PAGE);
      assertProbes(arch, b, file, probes);
    });
  }

  it('arm64: MachineImageType 0xAA64, the ARM64 CONTEXT (Cpsr 4, X0 8, Fp 0xF0, Lr 0xF8, Sp 0x100, Pc 0x108)', () => {
    const b = new KernelDumpBuilder('arm64', 'bitmap-kernel').context({ x0: 0x10n, x28: 0x28n, fp: 0xf0n, lr: 0xf8n, sp: 0x100n, pc: 0x108n, cpsr: 0x60000344n });
    const file = b.build();
    assert.equal(u32(file, 0x30), 0xaa64);
    const c = 0x348;
    assert.equal(u32(file, c + 4), 0x60000344);
    assert.equal(u64(file, c + 8), 0x10n);
    assert.equal(u64(file, c + 8 + 28 * 8), 0x28n);
    for (const off of [0xf0, 0xf8, 0x100, 0x108]) assert.equal(u64(file, c + off), BigInt(off));
  });

  for (const kind of ['rdmp-kernel', 'rdmp-kernel-user', 'rdmp-complete'] as const) {
    it(`amd64 ${kind}: RDMP_HEADER64 marker, signatures, MetadataSize/FirstPageOffset relation, ranges that add up`, () => {
      const { b, file, probes } = mappedDump('amd64', kind);
      assert.equal(u32(file, 0xf98), kind === 'rdmp-kernel' ? 8 : kind === 'rdmp-kernel-user' ? 9 : 10);
      assert.equal(u32(file, 0x2000), 0x40);
      assert.equal(ascii(file, 0x2004, 8), 'RDMPDUMP');
      const metadata = u64(file, 0x2010);
      const firstPage = u64(file, 0x2018);
      assert.equal(metadata - 0x20n, firstPage - 0x2040n);
      assert.equal(metadata % 16n, 0n);
      let ranges = 0;
      let pages = 0n;
      for (let at = 0x2030; u64(file, at) !== 0n; at += 16) {
        ranges++;
        pages += u64(file, at + 8);
      }
      assert.equal(BigInt(file.length), firstPage + pages * BigInt(PAGE));
      if (kind === 'rdmp-complete') {
        assert.equal(u32(file, 0x2020), ranges);
        assert.equal(u64(file, 0x2028), pages);
      }
      assertProbes('amd64', b, file, probes);
    });
  }

  it('refuses what the formats cannot hold', () => {
    assert.throws(() => new KernelDumpBuilder('amd64', 'summary'), /32-bit/);
    assert.throws(() => new KernelDumpBuilder('x86', 'rdmp-kernel'), /64-bit/);
    assert.throws(() => new KernelDumpBuilder('x86', 'full').map(0x80000000n, new Uint8Array(4), { page: 'huge' }), /no huge pages/);
  });
});

/** Virtual reads through the test's own walk. */
function reader(arch: KernelArch, file: Uint8Array): { ptr(va: bigint): bigint; u32(va: bigint): number; u16(va: bigint): number; bytes(va: bigint, n: number): Uint8Array } {
  const is64 = arch === 'amd64' || arch === 'arm64';
  const byte = (va: bigint): number => {
    const at = translate(arch, file, va);
    if (at === undefined) throw new Error(`0x${va.toString(16)} does not translate`);
    return file[at]!;
  };
  const bytes = (va: bigint, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => byte(va + BigInt(i)));
  return {
    bytes,
    u16: (va) => u16(bytes(va, 2), 0),
    u32: (va) => u32(bytes(va, 4), 0),
    ptr: (va) => (is64 ? u64(bytes(va, 8), 0) : BigInt(u32(bytes(va, 4), 0))),
  };
}

function unicodeString(r: ReturnType<typeof reader>, at: bigint, is64: boolean): string {
  const length = r.u16(at);
  const buffer = r.ptr(at + (is64 ? 8n : 4n));
  const raw = r.bytes(buffer, length);
  return String.fromCharCode(...Array.from({ length: length / 2 }, (_, i) => u16(raw, i * 2)));
}

const THREADS: Readonly<Record<'amd64' | 'x86-pae' | 'arm64', { kthread: bigint; stackBase: bigint; size: number }>> = {
  amd64: { kthread: 0xffffc08bde9e1640n, stackBase: 0xffff850429893000n, size: 0x6000 },
  arm64: { kthread: 0xffffc08bde9e1640n, stackBase: 0xffff850429893000n, size: 0x6000 },
  'x86-pae': { kthread: 0x86a1c020n, stackBase: 0xa3c47000n, size: 0x3000 },
};

function kernelDump(arch: 'amd64' | 'x86-pae' | 'arm64', kind: KernelDumpKind): { b: KernelDumpBuilder; file: Uint8Array; stack: Uint8Array; stackLimit: bigint } {
  const t = THREADS[arch];
  const stackLimit = t.stackBase - BigInt(t.size);
  const stack = pattern(t.size, 9);
  const sp = t.stackBase - 0x800n;
  const regs: RegisterValues = arch === 'amd64' ? { rsp: sp, rip: 0xfffff8047bdf5a80n } : arch === 'arm64' ? { sp, pc: 0xfffff8047bdf5a80n } : { esp: sp, eip: 0x82801234n };
  const kernBase = arch === 'x86-pae' ? 0x82800000n : 0xfffff8047ba00000n;
  const b = new KernelDumpBuilder(arch, kind)
    .bugcheck(0x7f, [8n])
    .context(regs)
    .map(stackLimit, stack)
    .module({ name: 'ntoskrnl.exe', base: kernBase, size: 0x1046000, timeDateStamp: 0x0d8333e6, checksum: 0xa5938c })
    .module({ name: 'BossHog.sys', base: kernBase + 0x2000000n, size: 0x6000, timeDateStamp: 0x5f000001 })
    .module({ name: 'MamaHog.sys', base: kernBase + 0x2100000n, size: 0x8000, timeDateStamp: 0x5f000002 })
    .kernelThread({ kthread: t.kthread, initialStack: t.stackBase - 0x100n, stackBase: t.stackBase, stackLimit, kernelStack: sp, processor: 1 })
    .processorContext(1, regs)
    .unloadedDriver({ name: 'dam.sys', start: kernBase + 0x3000000n, end: kernBase + 0x3010000n });
  return { b, file: b.build(), stack, stackLimit };
}

describe('KernelDumpBuilder: kernel structures in memory', () => {
  for (const arch of ['amd64', 'x86-pae', 'arm64'] as const) {
    it(`${arch}: KDDEBUGGER_DATA64, PsLoadedModuleList, KiProcessorBlock -> PRCB -> CurrentThread -> stack bounds`, () => {
      const { b, file, stackLimit } = kernelDump(arch, arch === 'x86-pae' ? 'full' : 'bitmap-kernel');
      const is64 = arch !== 'x86-pae';
      const r = reader(arch, file);
      const kdbg = b.layout.kdDebuggerDataBlock;
      assert.equal(ascii(r.bytes(kdbg + 0x10n, 4), 0, 4), 'KDBG');
      assert.equal(r.u32(kdbg + 0x14n), arch === 'amd64' ? 0x380 : 0x368);
      const kd64 = (off: number): bigint => u64(r.bytes(kdbg + BigInt(off), 8), 0);
      const head = is64 ? u64(file, 0x20) : BigInt(u32(file, 0x18));
      // 32-bit kernels keep 64-bit KDDEBUGGER_DATA64 fields, sign-extended.
      const extend = (v: bigint): bigint => (is64 ? v : BigInt.asUintN(64, BigInt.asIntN(32, v)));
      assert.equal(kd64(0x48), extend(head));
      assert.equal(kd64(0x18), extend(arch === 'x86-pae' ? 0x82800000n : 0xfffff8047ba00000n));

      const names: string[] = [];
      const ptr = is64 ? 8n : 4n;
      const kldr = is64 ? { base: 0x30n, size: 0x40n, name: 0x58n } : { base: 0x18n, size: 0x20n, name: 0x2cn };
      let previous = head;
      for (let entry = r.ptr(head); entry !== head && names.length < 10; entry = r.ptr(entry)) {
        assert.equal(r.ptr(entry + ptr), previous, 'Blink points back');
        names.push(unicodeString(r, entry + kldr.name, is64));
        const base = r.ptr(entry + kldr.base);
        assert.equal(r.u32(base + 0x3cn), 0x80);
        assert.equal(r.u32(base + 0x80n), 0x4550, 'PE header at DllBase');
        assert.equal(r.u32(base + 0x98n + 56n), r.u32(entry + kldr.size), 'SizeOfImage in PE header and entry agree');
        previous = entry;
      }
      assert.deepEqual(names, ['ntoskrnl.exe', 'BossHog.sys', 'MamaHog.sys']);
      assert.equal(r.ptr(head + ptr), previous, 'the head Blink is the last entry');

      const kiProcessorBlock = kd64(0x218);
      assert.equal(u32(file, is64 ? 0x34 : 0x24), 2, 'NumberProcessors');
      const prcb1 = r.ptr(BigInt.asUintN(is64 ? 64 : 32, kiProcessorBlock) + ptr);
      const offset = (off: number): bigint => BigInt(r.u16(kdbg + BigInt(off)));
      const kthread = r.ptr(prcb1 + offset(0x2b4));
      assert.equal(kthread, THREADS[arch].kthread);
      assert.equal(r.ptr(kthread + offset(0x29e)), THREADS[arch].stackBase - 0x100n, 'InitialStack');
      assert.equal(r.ptr(kthread + BigInt(r.u32(kdbg + 0x340n))), stackLimit, 'StackLimit');
      assert.equal(r.ptr(kthread + BigInt(r.u32(kdbg + 0x344n))), THREADS[arch].stackBase, 'StackBase');
      assert.equal(r.ptr(kthread + offset(0x29c)), THREADS[arch].stackBase - 0x800n, 'KernelStack');
      const context = r.ptr(prcb1 + offset(0x338));
      assert.equal(context, prcb1 + offset(0x2bc), 'PRCB.Context points at ProcessorState.ContextFrame');
      const spOffset = arch === 'amd64' ? 0x98n : arch === 'arm64' ? 0x100n : 0xc4n;
      assert.equal(is64 ? u64(r.bytes(context + spOffset, 8), 0) : BigInt(r.u32(context + spOffset)), THREADS[arch].stackBase - 0x800n);
    });
  }
});

function assertInside(file: Uint8Array, offset: number, size: number, what: string): void {
  assert.ok(offset > 0 && offset + size <= file.length, `${what} [0x${offset.toString(16)}, +0x${size.toString(16)}) inside the file`);
}

function dumpString(file: Uint8Array, at: number): string {
  const length = u32(file, at);
  return String.fromCharCode(...Array.from({ length }, (_, i) => u16(file, at + 4 + i * 2)));
}

describe('KernelDumpBuilder: triage dumps', () => {
  for (const arch of ['amd64', 'x86-pae'] as const) {
    it(`${arch}: TRIAGE_DUMP offsets inside the file, SizeOfDump = file size, DGRT, drivers, call stack, copies, data blocks`, () => {
      const { b, file, stack, stackLimit } = kernelDump(arch, 'triage');
      const is64 = arch === 'amd64';
      const t = is64 ? 0x2000 : 0x1000;
      assert.equal(u32(file, is64 ? 0xf98 : 0xf88), 4);
      assert.equal(u32(file, t + 4), file.length, 'SizeOfDump');
      const valid = u32(file, t + 8);
      assert.equal(valid + 4, file.length);
      assert.equal(ascii(file, valid, 4), 'TRGD', "'DGRT' as a little-endian u32");
      assert.equal(u32(file, t + 0xc), is64 ? 0x348 : 0x320, 'ContextOffset');
      assert.equal(u32(file, t + 0x10), is64 ? 0xf00 : 0x7d0, 'ExceptionOffset');
      const f = (name: string): number => Number(read(file, b.layout.field(`Triage.${name}`).offset, b.layout.field(`Triage.${name}`).width));
      for (const name of ['MmOffset', 'UnloadedDriversOffset', 'PrcbOffset', 'ProcessOffset', 'ThreadOffset', 'CallStackOffset', 'DriverListOffset', 'StringPoolOffset', 'DebuggerDataOffset', 'DataBlocksOffset']) {
        assertInside(file, f(name), 4, name);
      }
      assertInside(file, f('StringPoolOffset'), f('StringPoolSize'), 'string pool');
      assertInside(file, f('CallStackOffset'), f('SizeOfCallStack'), 'call stack');
      assertInside(file, f('DebuggerDataOffset'), f('DebuggerDataSize'), 'KDBG copy');

      // The call stack from TopOfStack is the mapped stack from the context's stack pointer.
      const top = read(file, t + 0x48, is64 ? 8 : 4);
      const sp = THREADS[arch].stackBase - 0x800n;
      assert.equal(top, sp);
      const from = Number(sp - stackLimit);
      assert.deepEqual(file.subarray(f('CallStackOffset'), f('CallStackOffset') + f('SizeOfCallStack')), stack.subarray(from, from + f('SizeOfCallStack')));
      assert.equal(b.layout.fileOffsetOf(sp), f('CallStackOffset'));

      assert.equal(ascii(file, f('DebuggerDataOffset') + 0x10, 4), 'KDBG');
      assert.equal(u32(file, f('DebuggerDataOffset') + 0x14), f('DebuggerDataSize'));
      const kdbg = f('DebuggerDataOffset');
      const currentThread = u16(file, kdbg + 0x2b4);
      const ptr = (at: number): bigint => (is64 ? u64(file, at) : BigInt(u32(file, at)));
      assert.equal(ptr(f('PrcbOffset') + currentThread), THREADS[arch].kthread, 'the PRCB copy names the thread');
      assert.equal(ptr(f('ThreadOffset') + u32(file, kdbg + 0x344)), THREADS[arch].stackBase, 'the thread copy has StackBase');

      // Driver list: DUMP_DRIVER_ENTRY with names in the string pool (Length in characters).
      assert.equal(f('DriverCount'), 3);
      const entry = is64 ? { size: 0x90, base: 0x38, image: 0x48, stamp: 0x88 } : { size: 0x4c, base: 0x1c, image: 0x24, stamp: 0x48 };
      const names: string[] = [];
      for (let i = 0; i < 3; i++) {
        const at = f('DriverListOffset') + i * entry.size;
        const nameOffset = u32(file, at);
        assert.ok(nameOffset >= f('StringPoolOffset') && nameOffset < f('StringPoolOffset') + f('StringPoolSize'));
        assert.equal(nameOffset % 8, 0);
        names.push(dumpString(file, nameOffset));
        assert.equal(u32(file, at + entry.stamp), [0x0d8333e6, 0x5f000001, 0x5f000002][i]);
      }
      assert.deepEqual(names, ['\\SystemRoot\\system32\\ntoskrnl.exe', '\\SystemRoot\\system32\\drivers\\BossHog.sys', '\\SystemRoot\\system32\\drivers\\MamaHog.sys']);
      assert.equal(u32(file, f('DriverListOffset') + entry.image), 0x1046000);

      // Unloaded drivers: count, then the entry's name.
      const unloaded = f('UnloadedDriversOffset');
      assert.equal(u32(file, unloaded), 1);
      const nameAt = unloaded + (is64 ? 8 + 16 : 4 + 8);
      assert.equal(String.fromCharCode(...Array.from({ length: 7 }, (_, i) => u16(file, nameAt + i * 2))), 'dam.sys');

      // Data blocks: { Address u64, Offset u32, Size u32 }; the module list head is in one.
      const blocks = Array.from({ length: f('DataBlocksCount') }, (_, i) => {
        const at = f('DataBlocksOffset') + i * 16;
        return { va: u64(file, at), offset: u32(file, at + 8), size: u32(file, at + 12) };
      });
      for (const block of blocks) assertInside(file, block.offset, block.size, 'data block');
      const head = BigInt.asUintN(64, is64 ? b.layout.psLoadedModuleList : BigInt.asIntN(32, b.layout.psLoadedModuleList));
      const holder = blocks.find((x) => head >= x.va && head < x.va + BigInt(x.size));
      assert.ok(holder, 'PsLoadedModuleList is in a data block');
      assert.equal(b.layout.fileOffsetOf(b.layout.psLoadedModuleList), holder.offset + Number(head - holder.va));
      assert.ok(!blocks.some((x) => sp >= x.va && sp < x.va + BigInt(x.size)), 'the call stack is not repeated in a data block');
    });
  }
});

describe('KernelDumpBuilder: hostile patches', () => {
  it('patches named fields, page-table entries, list links and string-pool offsets', () => {
    const full = new KernelDumpBuilder('amd64', 'full').map(0xfffff80412340000n, pattern(16, 1)).patch('PhysicalMemoryBlock.NumberOfRuns', 0x7fffffff);
    const file = full.build();
    assert.equal(u32(file, 0x88), 0x7fffffff);
    assert.equal(full.layout.field('PhysicalMemoryBlock.Run[0].PageCount').offset, 0xa0);

    const bitmap = new KernelDumpBuilder('amd64', 'bitmap-kernel').patch('Bitmap.Pages', 0xffffffffffn).build();
    assert.equal(u64(bitmap, 0x2030), 0xffffffffffn);

    // A PML4 entry that points back at the PML4: a walk that loops.
    const va = 0xfffff80412340000n;
    const looping = new KernelDumpBuilder('amd64', 'full').map(va, pattern(16, 1));
    const pml4e = looping.tableEntryAddress(va, 0);
    const root = pml4e & ~0xfffn;
    looping.patchPhysical(pml4e, root | 3n, 8);
    const loopFile = looping.build();
    assert.equal(u64(loopFile, looping.layout.fileOffsetOfPhysical(pml4e)!), root | 3n);

    // A PTE that points past every page in the file.
    const outside = new KernelDumpBuilder('x86-pae', 'full').map(0x82340000n, pattern(16, 1));
    outside.patchPhysical(outside.tableEntryAddress(0x82340000n, 2), 0x7fffff000n | 3n, 8);
    assert.equal(translate('x86-pae', outside.build(), 0x82340000n), undefined);

    // A module list that cycles without coming back to its head.
    const cyc = new KernelDumpBuilder('amd64', 'bitmap-kernel').module({ name: 'a.sys', base: 0xfffff80500000000n, size: 0x1000 }).module({ name: 'b.sys', base: 0xfffff80500100000n, size: 0x1000 });
    const second = cyc.finalize().modules[1]!.entry;
    cyc.patchVirtual(second, second, 8);
    const cycFile = cyc.build();
    const r = reader('amd64', cycFile);
    assert.equal(r.ptr(second), second);

    // A driver name outside the string pool and the file.
    const triage = new KernelDumpBuilder('amd64', 'triage').module({ name: 'a.sys', base: 0xfffff80500000000n, size: 0x1000 }).patch('DriverList[0].DriverNameOffset', 0x7ffffff0);
    const triageFile = triage.build();
    assert.equal(u32(triageFile, triage.layout.field('DriverList[0].DriverNameOffset').offset), 0x7ffffff0);
    assert.throws(() => triage.patch('NoSuchField', 1).build(), /no field 'NoSuchField'/);
  });
});

/** `NAME : 0x...` lines under a heading in rizin's expected output. */
function expectedFields(text: string, heading: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+(\w+)\s*:\s*(0x[0-9a-f]+)/.exec(line);
    if (!m) break;
    out.set(m[1]!, BigInt(m[2]!));
  }
  return out;
}

const rizinTriage = corpusPath('external', 'kernel', 'rizin-triage_x64.dmp');
const rizinExpected = corpusPath('external', 'expected', 'rizin-triage_x64.txt');
const armMini = corpusPath('external', 'kernel', 'kdlib-RPi3_ARM_mini.dmp');

describe('KernelDumpBuilder: the layouts against real small dumps', () => {
  it('decodes rizin-triage_x64.dmp: every DUMP_HEADER64 and TRIAGE_DUMP64 field rizin prints, the registers, the driver list', { skip: !existsSync(rizinTriage) && 'no corpus' }, () => {
    const real = new Uint8Array(readFileSync(rizinTriage));
    const text = readFileSync(rizinExpected, 'utf8');
    const built = new KernelDumpBuilder('amd64', 'triage').module({ name: 'ntoskrnl.exe', base: 0xfffff8047ba00000n, size: 0x1000 });
    const builtFile = built.build();
    const layout = built.layout;
    const header = expectedFields(text, 'DUMP_HEADER64:');
    const triage = expectedFields(text, 'TRIAGE_DUMP64:');
    assert.ok(header.size >= 17 && triage.size >= 29);
    for (const [name, want] of header) {
      const f = layout.field(name);
      assert.equal(read(real, f.offset, f.width), want, name);
    }
    for (const [name, want] of triage) {
      const f = layout.field(`Triage.${name}`);
      assert.equal(read(real, f.offset, f.width), want, `Triage.${name}`);
    }
    // Windows 10 appends a 'DumpBlob' section after SizeOfDump (the builder writes none).
    const sizeOfDump = Number(read(real, layout.field('Triage.SizeOfDump').offset, 4));
    assert.ok(sizeOfDump < real.length);
    assert.equal(ascii(real, sizeOfDump, 8), 'DumpBlob');
    assert.equal(ascii(real, Number(triage.get('ValidOffset')), 4), 'TRGD');

    // rizin's registers are the processor's: the CONTEXT that PRCB.Context (KDBG OffsetPrcbContext)
    // points at, found in a data block; the header's ContextRecord holds the exception's context
    // (its rip is BugCheckParameter2, in amdppm). Both at the amd64 CONTEXT offsets context.ts writes.
    const regs = new Map<string, bigint>();
    for (const m of text.matchAll(/^(\w+) = (0x[0-9a-f]+)$/gm)) regs.set(m[1]!, BigInt(m[2]!));
    const kdbgCopy = Number(triage.get('DebuggerDataOffset'));
    const contextVa = u64(real, Number(triage.get('PrcbOffset')) + u16(real, kdbgCopy + 0x338));
    let contextAt = -1;
    for (let i = 0; i < Number(triage.get('DataBlocksCount')); i++) {
      const at = Number(triage.get('DataBlocksOffset')) + i * 16;
      const va = u64(real, at);
      if (contextVa >= va && contextVa < va + BigInt(u32(real, at + 12))) contextAt = u32(real, at + 8) + Number(contextVa - va);
    }
    assert.ok(contextAt > 0, 'the PRCB context is in a data block');
    const gprs = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'];
    const ctx = new KernelDumpBuilder('amd64', 'triage').context(Object.fromEntries(gprs.map((g) => [g, regs.get(g)!]))).build();
    for (const [i, g] of gprs.entries()) {
      assert.equal(u64(real, contextAt + 0x78 + i * 8), regs.get(g), g);
      assert.equal(u64(ctx, 0x348 + 0x78 + i * 8), regs.get(g), `${g} where the builder writes it`);
    }
    assert.equal(BigInt(u32(real, contextAt + 0x34)), regs.get('mxcsr'));
    assert.equal(BigInt(u32(real, contextAt + 0x44)), regs.get('rflags'));
    assert.equal(u64(real, 0x348 + 0xf8), header.get('BugCheckParameter2'), "the header context's rip");

    // The first driver entry through the builder's driver-list layout.
    const listOffset = Number(triage.get('DriverListOffset'));
    const rel = (name: string): number => layout.field(`DriverList[0].${name}`).offset - Number(read(builtFile, layout.field('Triage.DriverListOffset').offset, 4));
    assert.equal(dumpString(real, u32(real, listOffset + rel('DriverNameOffset'))), '\\SystemRoot\\system32\\ntoskrnl.exe');
    assert.equal(u64(real, listOffset + rel('DllBase')), 0xfffff8047ba00000n);
    assert.equal(u32(real, listOffset + rel('TimeDateStamp')), 0x0d8333e6);
    assert.equal(u32(real, listOffset + rel('SizeOfImage')), 0x1046000);
    const last = listOffset + (Number(triage.get('DriverCount')) - 1) * 0x90;
    assert.ok(u32(real, last) >= Number(triage.get('StringPoolOffset')), 'the last of 151 entries still names a pool string');
  });

  it('decodes kdlib-RPi3_ARM_mini.dmp with the DUMP_HEADER32 and TRIAGE_DUMP32 layouts', { skip: !existsSync(armMini) && 'no corpus' }, () => {
    const real = new Uint8Array(readFileSync(armMini));
    const built = new KernelDumpBuilder('x86', 'triage');
    built.build();
    const f = (name: string): bigint => read(real, built.layout.field(name).offset, built.layout.field(name).width);
    assert.equal(ascii(real, 0, 8), 'PAGEDUMP');
    assert.equal(f('MajorVersion'), 0xfn);
    assert.equal(f('MinorVersion'), 0x42een);
    assert.equal(f('MachineImageType'), 0x1c4n);
    assert.equal(f('NumberProcessors'), 4n);
    assert.equal(f('DumpType'), 4n);
    assert.equal(f('MiniDumpFields'), 0xcffn);
    assert.equal(f('ProductType'), 1n);
    assert.equal(f('SuiteMask'), 0x110n);
    assert.equal(f('SecondaryDataState'), 0x45474150n, "'PAGE': not set");
    assert.ok(f('SystemTime') > 0x01d0000000000000n && f('SystemTime') < 0x01e0000000000000n, 'SystemTime is a 2010s FILETIME');
    assert.equal(f('Triage.SizeOfDump'), BigInt(real.length));
    assert.equal(f('Triage.ValidOffset') + 4n, BigInt(real.length));
    assert.equal(ascii(real, Number(f('Triage.ValidOffset')), 4), 'TRGD');
    assert.equal(f('Triage.ContextOffset'), 0x320n);
    assert.equal(f('Triage.ExceptionOffset'), 0x7d0n);
    const kdbg = Number(f('Triage.DebuggerDataOffset'));
    assert.equal(ascii(real, kdbg + 0x10, 4), 'KDBG');
    assert.equal(BigInt(u32(real, kdbg + 0x14)), f('Triage.DebuggerDataSize'));
    assert.equal(u64(real, kdbg + 0x18) >> 32n, 0xffffffffn, 'KernBase sign-extended');
    const first = Number(f('Triage.DataBlocksOffset'));
    assert.equal(u64(real, first) >> 32n, 0xffffffffn, 'data block addresses are u64, sign-extended');
    assertInside(real, u32(real, first + 8), u32(real, first + 12), 'the first data block');
    const driver = Number(f('Triage.DriverListOffset'));
    assert.equal(dumpString(real, u32(real, driver)), '\\SystemRoot\\system32\\ntoskrnl.exe');
    assert.equal(BigInt(u32(real, driver + 4 + 0x18)), u64(real, kdbg + 0x18) & 0xffffffffn, 'DllBase at KLDR32 +0x18 is KernBase');
  });
});
