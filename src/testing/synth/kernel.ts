// Test support: a fluent builder that writes Windows kernel crash dumps (PAGEDU64 / PAGEDUMP), so a
// test states the memory, modules and threads it needs and gets a file the kdump reader must read.
// Virtual memory is real: pages are allocated in a synthetic physical address space and reached
// through page tables from DirectoryTableBase. Layouts follow the WDK's DUMP_HEADER32/64,
// kdmp-parser's BMP_HEADER64 / RDMP_HEADER64, wdbgexts.h's KDDEBUGGER_DATA64 and the TRIAGE_DUMP
// structures rizin and volatility document; the constants are written out here independently of the
// reader's, so a wrong constant there fails a test.
import { amd64Context, arm64Context, x86Context, type RegisterValues } from './context.js';

export type KernelArch = 'amd64' | 'x86' | 'x86-pae' | 'arm64';
/**
 * 'full' DumpType 1 (PHYSICAL_MEMORY_DESCRIPTOR runs), 'bitmap-full' 5 (FDMP), 'bitmap-kernel' 6
 * (SDMP), 'summary' 2 (SDMP), 'rdmp-kernel' 8, 'rdmp-complete' 10, 'triage' 4 (small memory dump).
 */
export type KernelDumpKind = 'full' | 'bitmap-full' | 'bitmap-kernel' | 'summary' | 'rdmp-kernel' | 'rdmp-complete' | 'triage';

export interface KernelModuleSpec {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
  readonly timeDateStamp?: number;
  readonly checksum?: number;
  /** Mapped at `base` when given (a PE header there gives the reader TimeDateStamp and SizeOfImage). */
  readonly image?: Uint8Array;
  /** FullDllName; BaseDllName is always `name`. Defaults to `name`. */
  readonly fullName?: string;
}

export interface KernelThreadSpec {
  readonly kthread: bigint;
  readonly initialStack: bigint;
  readonly stackBase: bigint;
  readonly stackLimit: bigint;
  readonly kernelStack: bigint;
}

export interface MapOptions {
  /** Map through a large page: 2 MiB (amd64, PAE, arm64 level-2 block) or 4 MiB (x86). */
  readonly largePage?: boolean;
}

export interface DebuggerDataOptions {
  /** 32-bit kernels: store pointers sign-extended, as Windows itself does (default zero-extended). */
  readonly signExtend?: boolean;
}

export interface KernelDumpLayout {
  readonly dtb: bigint;
  readonly kdDebuggerDataBlock: bigint;
  readonly psLoadedModuleList: bigint;
  /** Virtual addresses of the KLDR_DATA_TABLE_ENTRYs, in list order (empty for triage). */
  readonly moduleEntries: readonly bigint[];
  /** Virtual addresses of the KPRCBs. */
  readonly prcbs: readonly bigint[];
  /** File offset of a header/bitmap/RDMP/triage field ('DumpType', 'BITMAP.Pages', 'TRIAGE.DriverCount'), or a structure offset ('KTHREAD.InitialStack', 'KLDR.DllBase'). */
  offsetOf(field: string): number;
  /** File offset of the byte at a virtual address, when the dump holds it. */
  fileOffsetOf(va: bigint): number | undefined;
  /** File offset of the page-table entry for `va` at `level` (0 = the root table), when that table exists. */
  tableEntryOffsetOf(va: bigint, level: number): number | undefined;
  /** File offset of a physical address, when the dump holds its page. */
  physicalOffsetOf(pa: bigint): number | undefined;
}

interface ArchSpec {
  readonly width: 32 | 64;
  readonly machine: number;
  readonly contextSize: number;
  readonly encode: (regs: RegisterValues) => Uint8Array;
  /** KTHREAD: InitialStack, StackLimit, StackBase, KernelStack (Windows 10 layouts). */
  readonly kthread: { readonly InitialStack: number; readonly StackLimit: number; readonly StackBase: number; readonly KernelStack: number };
  /** KPRCB: CurrentThread, ProcessorState.ContextFrame, Context (a CONTEXT*). */
  readonly prcb: { readonly CurrentThread: number; readonly ProcStateContext: number; readonly Context: number };
  /** Where the builder puts its own structures (the module list head, KDBG, PRCBs, names). */
  readonly dataBase: bigint;
}

// CONTEXT_i386|CONTROL|INTEGER|SEGMENTS, CONTEXT_AMD64|CONTROL|INTEGER|FLOATING_POINT, CONTEXT_ARM64|CONTROL|INTEGER|FLOATING_POINT.
const AMD64: ArchSpec = {
  width: 64,
  machine: 0x8664,
  contextSize: 0x4d0,
  encode: (r) => amd64Context(r, 0x0010000b),
  kthread: { InitialStack: 0x28, StackLimit: 0x30, StackBase: 0x38, KernelStack: 0x58 },
  prcb: { CurrentThread: 0x8, ProcStateContext: 0x100, Context: 0x800 },
  dataBase: 0xfffff80000400000n,
};
const X86: ArchSpec = {
  width: 32,
  machine: 0x14c,
  contextSize: 0x2cc,
  encode: (r) => x86Context(r, 0x00010007),
  kthread: { InitialStack: 0x18, StackLimit: 0x1c, StackBase: 0x20, KernelStack: 0x30 },
  prcb: { CurrentThread: 0x4, ProcStateContext: 0x18, Context: 0x800 },
  dataBase: 0x80400000n,
};
const ARCHES: Record<KernelArch, ArchSpec> = {
  amd64: AMD64,
  x86: X86,
  'x86-pae': X86,
  arm64: {
    width: 64,
    machine: 0xaa64,
    contextSize: 0x390,
    encode: (r) => arm64Context(r, 0x00400007),
    kthread: { InitialStack: 0x28, StackLimit: 0x30, StackBase: 0x38, KernelStack: 0x58 },
    prcb: { CurrentThread: 0x8, ProcStateContext: 0x100, Context: 0x800 },
    dataBase: 0xfffff80000400000n,
  },
};

const DUMP_TYPE: Record<KernelDumpKind, number> = { full: 1, summary: 2, triage: 4, 'bitmap-full': 5, 'bitmap-kernel': 6, 'rdmp-kernel': 8, 'rdmp-complete': 10 };

const PAGE = 0x1000;
const KDBG_SIZE = 0x368;
const PRCB_SIZE = 0x1000;
const MAX_PROCESSORS = 256;
/** Page tables come from low physical memory, data pages from higher up: at least two runs. */
const FIRST_TABLE_PFN = 0x10n;
const FIRST_DATA_PFN = 0x1000n;

/** A paging level: index bits at `shift`, entries of `width` bytes. */
interface Level {
  readonly shift: bigint;
  readonly bits: bigint;
  readonly width: 4 | 8;
}

function levelsOf(arch: KernelArch): readonly Level[] {
  switch (arch) {
    case 'x86':
      return [
        { shift: 22n, bits: 10n, width: 4 },
        { shift: 12n, bits: 10n, width: 4 },
      ];
    case 'x86-pae':
      return [
        { shift: 30n, bits: 2n, width: 8 },
        { shift: 21n, bits: 9n, width: 8 },
        { shift: 12n, bits: 9n, width: 8 },
      ];
    default:
      return [39n, 30n, 21n, 12n].map((shift) => ({ shift, bits: 9n, width: 8 as const }));
  }
}

/**
 * A synthetic machine's physical memory and page tables: pages exist once written, tables are
 * created on demand from the root.
 */
class Machine {
  readonly pages = new Map<bigint, Uint8Array>();
  readonly root: bigint;
  private readonly levels: readonly Level[];
  private nextTable = FIRST_TABLE_PFN;
  private nextData = FIRST_DATA_PFN;

  constructor(readonly arch: KernelArch) {
    this.levels = levelsOf(arch);
    const pfn = this.allocTable();
    // The PAE PDPT only needs 32-byte alignment: put it off the page start, as Windows does.
    this.root = (pfn << 12n) | (arch === 'x86-pae' ? 0x20n : 0n);
  }

  private allocTable(): bigint {
    const pfn = this.nextTable++;
    if (pfn >= FIRST_DATA_PFN) throw new Error('KernelDumpBuilder: out of page-table pages');
    this.page(pfn);
    return pfn;
  }

  private allocData(pages: bigint, align: bigint): bigint {
    const pfn = ((this.nextData + align - 1n) / align) * align;
    this.nextData = pfn + pages;
    return pfn;
  }

  page(pfn: bigint): Uint8Array {
    let p = this.pages.get(pfn);
    if (!p) {
      p = new Uint8Array(PAGE);
      this.pages.set(pfn, p);
    }
    return p;
  }

  readEntry(pa: bigint, width: 4 | 8): bigint {
    const p = this.pages.get(pa >> 12n);
    if (!p) return 0n;
    const view = new DataView(p.buffer, Number(pa & 0xfffn), width);
    return width === 8 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
  }

  private writeEntry(pa: bigint, width: 4 | 8, value: bigint): void {
    const view = new DataView(this.page(pa >> 12n).buffer, Number(pa & 0xfffn), width);
    if (width === 8) view.setBigUint64(0, value, true);
    else view.setUint32(0, Number(value), true);
  }

  private tableEntry(level: number, pa: bigint): bigint {
    if (this.arch === 'arm64') return pa | 0x3n; // valid | table
    if (this.arch === 'x86-pae' && level === 0) return pa | 0x1n; // a PDPTE has only Present
    return pa | 0x63n; // present, writable, accessed, dirty
  }

  private leafEntry(pa: bigint): bigint {
    return this.arch === 'arm64' ? pa | 0x403n : pa | 0x163n; // arm64: AF | page | valid; x86: global too
  }

  private largeEntry(pa: bigint): bigint {
    return this.arch === 'arm64' ? pa | 0x401n : pa | 0x1e3n; // arm64 block; x86 PS
  }

  /** Large pages only at the page-directory level (PS in a PDE, an arm64 level-2 block). */
  private isLarge(e: bigint, level: number): boolean {
    if (level !== this.levels.length - 2) return false;
    return this.arch === 'arm64' ? (e & 3n) === 1n : (e & 0x80n) !== 0n;
  }

  private entryAddress(table: bigint, va: bigint, level: Level): bigint {
    return table + ((va >> level.shift) & ((1n << level.bits) - 1n)) * BigInt(level.width);
  }

  private frame(e: bigint): bigint {
    return this.arch === 'x86' ? e & 0xfffff000n : e & 0x0000fffffffff000n;
  }

  /** Physical address of the page-table entry for `va` at `level`, when the tables down to it exist. */
  entryOf(va: bigint, level: number): bigint | undefined {
    let table = this.root;
    for (let i = 0; i < level; i++) {
      const e = this.readEntry(this.entryAddress(table, va, this.levels[i]!), this.levels[i]!.width);
      if ((e & 1n) === 0n || this.isLarge(e, i)) return undefined;
      table = this.frame(e);
    }
    return level < this.levels.length ? this.entryAddress(table, va, this.levels[level]!) : undefined;
  }

  /** The physical address behind `va`, creating tables and the page when `create`. */
  translate(va: bigint, create: boolean): bigint | undefined {
    let table = this.root;
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i]!;
      const at = this.entryAddress(table, va, level);
      let e = this.readEntry(at, level.width);
      const last = i === this.levels.length - 1;
      if ((e & 1n) === 0n) {
        if (!create) return undefined;
        e = last ? this.leafEntry(this.allocData(1n, 1n) << 12n) : this.tableEntry(i, this.allocTable() << 12n);
        this.writeEntry(at, level.width, e);
      }
      if (this.isLarge(e, i)) {
        const span = 1n << level.shift;
        return (this.frame(e) & ~(span - 1n)) | (va & (span - 1n));
      }
      if (last) return this.frame(e) | (va & 0xfffn);
      table = this.frame(e);
    }
    return undefined;
  }

  /** Maps the large page holding `va` (its physical frames are reserved; pages exist once written). */
  mapLarge(va: bigint): void {
    const level = this.levels.length - 2;
    const span = 1n << this.levels[level]!.shift;
    let table = this.root;
    for (let i = 0; i < level; i++) {
      const l = this.levels[i]!;
      const at = this.entryAddress(table, va, l);
      let e = this.readEntry(at, l.width);
      if ((e & 1n) === 0n) {
        e = this.tableEntry(i, this.allocTable() << 12n);
        this.writeEntry(at, l.width, e);
      }
      table = this.frame(e);
    }
    const at = this.entryAddress(table, va, this.levels[level]!);
    const e = this.readEntry(at, this.levels[level]!.width);
    if ((e & 1n) !== 0n) {
      if (this.isLarge(e, level)) return;
      throw new Error(`KernelDumpBuilder: 0x${va.toString(16)} is already mapped by small pages; cannot map a large page there`);
    }
    const pages = span >> 12n;
    this.writeEntry(at, this.levels[level]!.width, this.largeEntry(this.allocData(pages, pages) << 12n));
  }

  write(va: bigint, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const at = va + BigInt(done);
      const within = Number(at & 0xfffn);
      const n = Math.min(bytes.length - done, PAGE - within);
      const pa = this.translate(at, true)!;
      this.page(pa >> 12n).set(bytes.subarray(done, done + n), within);
      done += n;
    }
  }
}

/** Little-endian field writes into a byte array. */
class Bytes {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(at: number, v: number): this {
    this.view.setUint8(at, v);
    return this;
  }
  u16(at: number, v: number): this {
    this.view.setUint16(at, v, true);
    return this;
  }
  u32(at: number, v: number | bigint): this {
    this.view.setUint32(at, Number(BigInt.asUintN(32, BigInt(v))), true);
    return this;
  }
  u64(at: number, v: number | bigint): this {
    this.view.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
    return this;
  }
  ptr(at: number, width: 32 | 64, v: bigint): this {
    return width === 64 ? this.u64(at, v) : this.u32(at, v);
  }
  ascii(at: number, s: string): this {
    for (let i = 0; i < s.length; i++) this.bytes[at + i] = s.charCodeAt(i);
    return this;
  }
  set(at: number, b: Uint8Array): this {
    this.bytes.set(b, at);
    return this;
  }
}

function utf16(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) new DataView(out.buffer).setUint16(i * 2, s.charCodeAt(i), true);
  return out;
}

function fillPage(b: Uint8Array): void {
  for (let i = 0; i + 4 <= b.length; i += 4) b.set([0x50, 0x41, 0x47, 0x45], i); // "PAGE"
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Writes kernel dumps in code; see the module comment. */
export class KernelDumpBuilder {
  readonly arch: KernelArch;
  readonly kind: KernelDumpKind;
  private readonly spec: ArchSpec;
  private code = 0;
  private parameters: readonly bigint[] = [0n, 0n, 0n, 0n];
  private major = 15;
  private build_ = 19041;
  private cpuCount = 1;
  private registers: RegisterValues = {};
  private prcbRegisters: RegisterValues | undefined;
  private readonly maps: { va: bigint; bytes: Uint8Array; large: boolean }[] = [];
  private readonly modules: KernelModuleSpec[] = [];
  private thread: KernelThreadSpec | undefined;
  private kdbg: DebuggerDataOptions | undefined;
  private callStack: { top: bigint; bytes: Uint8Array } | undefined;
  private readonly patches: { at: number; bytes: Uint8Array }[] = [];
  private truncateTo: number | undefined;
  private built: KernelDumpLayout | undefined;

  constructor(arch: KernelArch, kind: KernelDumpKind) {
    this.arch = arch;
    this.kind = kind;
    this.spec = ARCHES[arch];
    if (this.spec.width === 32 && (kind === 'rdmp-kernel' || kind === 'rdmp-complete')) {
      throw new Error(`KernelDumpBuilder: RDMP dumps have a 64-bit header (RDMP_HEADER64 at 0x2000); ${arch} has none`);
    }
  }

  bugcheck(code: number, parameters: readonly bigint[]): this {
    this.code = code;
    this.parameters = [0, 1, 2, 3].map((i) => parameters[i] ?? 0n);
    return this;
  }

  /** MajorVersion (0xf free, 0xc checked) and MinorVersion (the build number). */
  version(major: number, build: number): this {
    this.major = major;
    this.build_ = build;
    return this;
  }

  processors(n: number): this {
    if (n < 1 || n > MAX_PROCESSORS) throw new Error(`KernelDumpBuilder: ${n} processors (1..${MAX_PROCESSORS})`);
    this.cpuCount = n;
    return this;
  }

  /** The header's ContextRecord. */
  context(registers: Record<string, bigint>): this {
    this.registers = registers;
    return this;
  }

  /** A CONTEXT that KPRCB 0's Context pointer points at (what KeBugCheckEx saved); the reader prefers it to the header's. */
  prcbContext(registers: Record<string, bigint>): this {
    this.prcbRegisters = registers;
    return this;
  }

  /** Virtual memory; in a small dump, a TRIAGE_DATA_BLOCK. */
  map(va: bigint, bytes: Uint8Array, options: MapOptions = {}): this {
    if (options.largePage && this.kind === 'triage') throw new Error('KernelDumpBuilder: a small dump has no page tables');
    this.maps.push({ va, bytes, large: options.largePage ?? false });
    return this;
  }

  module(m: KernelModuleSpec): this {
    this.modules.push(m);
    return this;
  }

  kernelThread(t: KernelThreadSpec): this {
    this.thread = t;
    return this;
  }

  debuggerData(options: DebuggerDataOptions = {}): this {
    this.kdbg = options;
    return this;
  }

  triageCallStack(topOfStack: bigint, bytes: Uint8Array): this {
    if (this.kind !== 'triage') throw new Error('KernelDumpBuilder: triageCallStack is for small (triage) dumps');
    this.callStack = { top: topOfStack, bytes };
    return this;
  }

  /** Raw bytes over the finished file (offsets from `layout`, which a first build() gives). */
  patch(at: number, bytes: Uint8Array): this {
    this.patches.push({ at, bytes });
    return this;
  }

  /** Cuts the finished file (after patches) to `length` bytes. */
  truncate(length: number): this {
    this.truncateTo = length;
    return this;
  }

  get layout(): KernelDumpLayout {
    if (!this.built) throw new Error('KernelDumpBuilder: layout is known after build()');
    return this.built;
  }

  /** The dump's bytes; build() may be called again (after patch()) and lays the file out the same way. */
  build(): Uint8Array {
    const out = this.kind === 'triage' ? this.buildTriage() : this.buildPhysical();
    for (const p of this.patches) {
      if (p.at < 0 || p.at + p.bytes.length > out.length) throw new Error(`KernelDumpBuilder: patch at 0x${p.at.toString(16)} is outside the 0x${out.length.toString(16)}-byte file`);
      out.set(p.bytes, p.at);
    }
    return this.truncateTo === undefined ? out : out.slice(0, this.truncateTo);
  }

  private get width(): 32 | 64 {
    return this.spec.width;
  }

  private get ptrSize(): number {
    return this.width / 8;
  }

  /** A 32-bit kernel's pointer as KDDEBUGGER_DATA64 stores it. */
  private kdbgPointer(v: bigint): bigint {
    return this.width === 32 && this.kdbg?.signExtend ? BigInt.asUintN(64, BigInt.asIntN(32, v)) : v;
  }

  /** KDDEBUGGER_DATA64 (wdbgexts.h): the same 64-bit layout on every kernel. */
  private debuggerDataBytes(kernBase: bigint, psLoadedModuleList: bigint, kiProcessorBlock: bigint): Uint8Array {
    const k = new Bytes(new Uint8Array(KDBG_SIZE));
    k.ascii(0x10, 'KDBG').u32(0x14, KDBG_SIZE);
    k.u64(0x18, this.kdbgPointer(kernBase)).u64(0x48, this.kdbgPointer(psLoadedModuleList)).u64(0x218, this.kdbgPointer(kiProcessorBlock));
    const t = this.spec.kthread;
    const p = this.spec.prcb;
    k.u16(0x29c, t.KernelStack).u16(0x29e, t.InitialStack);
    k.u16(0x2b0, PRCB_SIZE).u16(0x2b4, p.CurrentThread).u16(0x2bc, p.ProcStateContext).u16(0x338, p.Context);
    k.u32(0x340, t.StackLimit).u32(0x344, t.StackBase);
    return k.bytes;
  }

  /** DUMP_HEADER64 (0x2000) or DUMP_HEADER32 (0x1000), "PAGE" in every unused byte. */
  private header(dtb: bigint, psLoadedModuleList: bigint, kdbg: bigint, runs: readonly { base: bigint; count: bigint }[] | undefined, fileSize: number): { bytes: Uint8Array; fields: Map<string, number> } {
    const wide = this.width === 64;
    const h = new Bytes(new Uint8Array(wide ? 0x2000 : 0x1000));
    fillPage(h.bytes);
    const f = new Map<string, number>();
    const at = (name: string, offset: number): number => (f.set(name, offset), offset);
    h.ascii(0, wide ? 'PAGEDU64' : 'PAGEDUMP');
    h.u32(at('MajorVersion', 0x8), this.major).u32(at('MinorVersion', 0xc), this.build_);
    if (wide) {
      h.u64(at('DirectoryTableBase', 0x10), dtb).u64(at('PfnDataBase', 0x18), 0xfffffa8000000000n);
      h.u64(at('PsLoadedModuleList', 0x20), psLoadedModuleList).u64(at('PsActiveProcessHead', 0x28), 0n);
      h.u32(at('MachineImageType', 0x30), this.spec.machine).u32(at('NumberProcessors', 0x34), this.cpuCount);
      h.u32(at('BugCheckCode', 0x38), this.code).u32(0x3c, 0);
      this.parameters.forEach((v, i) => h.u64(at(`BugCheckParameter${i + 1}`, 0x40 + i * 8), v));
      h.u64(at('KdDebuggerDataBlock', 0x80), kdbg);
    } else {
      h.u32(at('DirectoryTableBase', 0x10), dtb).u32(at('PfnDataBase', 0x14), 0x84000000);
      h.u32(at('PsLoadedModuleList', 0x18), psLoadedModuleList).u32(at('PsActiveProcessHead', 0x1c), 0);
      h.u32(at('MachineImageType', 0x20), this.spec.machine).u32(at('NumberProcessors', 0x24), this.cpuCount);
      h.u32(at('BugCheckCode', 0x28), this.code);
      this.parameters.forEach((v, i) => h.u32(at(`BugCheckParameter${i + 1}`, 0x2c + i * 4), v));
      h.u8(at('PaeEnabled', 0x5c), this.arch === 'x86-pae' ? 1 : 0).u8(0x5d, 0).u16(0x5e, 0);
      h.u32(at('KdDebuggerDataBlock', 0x60), kdbg);
    }
    // PHYSICAL_MEMORY_DESCRIPTOR64 {NumberOfRuns, pad, NumberOfPages u64, runs of u64 pairs} / 32 {u32 ×2, runs of u32 pairs}.
    const pmd = at('PhysicalMemoryBlock', wide ? 0x88 : 0x64);
    f.set('NumberOfRuns', pmd);
    f.set('NumberOfPages', pmd + (wide ? 8 : 4));
    if (runs) {
      const total = runs.reduce((n, r) => n + r.count, 0n);
      h.u32(pmd, runs.length);
      if (wide) h.u32(pmd + 4, 0).u64(pmd + 8, total);
      else h.u32(pmd + 4, total);
      runs.forEach((r, i) => {
        const o = pmd + (wide ? 16 + i * 16 : 8 + i * 8);
        if (wide) h.u64(o, r.base).u64(o + 8, r.count);
        else h.u32(o, r.base).u32(o + 4, r.count);
      });
    }
    const ctx = at('ContextRecord', wide ? 0x348 : 0x320);
    h.set(ctx, this.spec.encode(this.registers));
    // EXCEPTION_RECORD64 (0x98) / 32 (0x50): the breakpoint KeBugCheckEx raises.
    const exc = at('Exception', wide ? 0xf00 : 0x7d0);
    h.set(exc, new Uint8Array(wide ? 0x98 : 0x50));
    h.u32(exc, 0x80000003);
    h.u32(at('DumpType', wide ? 0xf98 : 0xf88), DUMP_TYPE[this.kind]);
    h.u64(at('RequiredDumpSpace', 0xfa0), fileSize);
    // 2024-01-01T00:00:00Z as a FILETIME.
    h.u64(at('SystemTime', wide ? 0xfa8 : 0xfc0), 133485408000000000n);
    return { bytes: h.bytes, fields: f };
  }

  private buildPhysical(): Uint8Array {
    const w = this.width;
    const ps = this.ptrSize;
    const m = new Machine(this.arch);
    for (const map of this.maps) {
      if (map.large) m.mapLarge(map.va);
    }
    for (const map of this.maps) m.write(map.va, map.bytes);
    for (const mod of this.modules) if (mod.image) m.write(mod.base, mod.image);

    // The builder's own structures, in a data area of kernel space.
    const data = this.spec.dataBase;
    const head = data;
    const kdbgVa = data + 0x100n;
    const processorBlock = data + 0x500n;
    const prcbs = Array.from({ length: this.cpuCount }, (_, i) => data + BigInt(PRCB_SIZE * (1 + i)));
    let bump = data + BigInt(PRCB_SIZE * (1 + this.cpuCount));
    const alloc = (size: number, align = 16): bigint => {
      const a = BigInt(align);
      const at = ((bump + a - 1n) / a) * a;
      bump = at + BigInt(size);
      return at;
    };
    const put = (va: bigint, b: Bytes): void => m.write(va, b.bytes);
    const ptr = (va: bigint, v: bigint): void => put(va, new Bytes(new Uint8Array(ps)).ptr(0, w, v));

    // KLDR_DATA_TABLE_ENTRY, linked by InLoadOrderLinks from PsLoadedModuleList.
    const o = w === 64 ? { base: 0x30, size: 0x40, full: 0x48, name: 0x58, checksum: 0x78, time: 0x80, length: 0xa0 } : { base: 0x18, size: 0x20, full: 0x24, name: 0x2c, checksum: 0x40, time: 0x44, length: 0x50 };
    const entries = this.modules.map(() => alloc(o.length));
    const string = (s: string): Bytes => {
      const buffer = alloc(s.length * 2 + 2, 2);
      m.write(buffer, utf16(`${s}\0`));
      const u = new Bytes(new Uint8Array(w === 64 ? 16 : 8)).u16(0, s.length * 2).u16(2, s.length * 2 + 2);
      return u.ptr(w === 64 ? 8 : 4, w, buffer);
    };
    const link = (i: number): bigint => (i < 0 || i >= entries.length ? head : entries[i]!);
    this.modules.forEach((mod, i) => {
      const e = new Bytes(new Uint8Array(o.length));
      e.ptr(0, w, link(i + 1)).ptr(ps, w, link(i - 1));
      e.ptr(o.base, w, mod.base).u32(o.size, mod.size);
      e.set(o.full, string(mod.fullName ?? mod.name).bytes).set(o.name, string(mod.name).bytes);
      e.u32(o.checksum, mod.checksum ?? 0).u32(o.time, mod.timeDateStamp ?? 0);
      put(entries[i]!, e);
    });
    put(head, new Bytes(new Uint8Array(ps * 2)).ptr(0, w, link(0)).ptr(ps, w, link(entries.length - 1)));

    // KiProcessorBlock -> KPRCBs; PRCB 0 runs the crashing thread.
    const block = new Bytes(new Uint8Array(ps * this.cpuCount));
    prcbs.forEach((p, i) => block.ptr(i * ps, w, p));
    put(processorBlock, block);
    for (const p of prcbs) put(p, new Bytes(new Uint8Array(PRCB_SIZE)));
    if (this.thread) ptr(prcbs[0]! + BigInt(this.spec.prcb.CurrentThread), this.thread.kthread);
    if (this.prcbRegisters) {
      const saved = alloc(this.spec.contextSize, 16);
      m.write(saved, this.spec.encode(this.prcbRegisters));
      ptr(prcbs[0]! + BigInt(this.spec.prcb.Context), saved);
    }
    if (this.thread) {
      const t = this.thread;
      const k = this.spec.kthread;
      ptr(t.kthread + BigInt(k.InitialStack), t.initialStack);
      ptr(t.kthread + BigInt(k.StackLimit), t.stackLimit);
      ptr(t.kthread + BigInt(k.StackBase), t.stackBase);
      ptr(t.kthread + BigInt(k.KernelStack), t.kernelStack);
    }
    const kernBase = this.modules[0]?.base ?? 0n;
    if (this.kdbg) m.write(kdbgVa, this.debuggerDataBytes(kernBase, head, processorBlock));

    // File layout: the header, the kind's own page directory, then the pages.
    const pfns = [...m.pages.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const runs: { base: bigint; count: bigint }[] = [];
    for (const pfn of pfns) {
      const last = runs[runs.length - 1];
      if (last && last.base + last.count === pfn) last.count++;
      else runs.push({ base: pfn, count: 1n });
    }
    const headerSize = w === 64 ? 0x2000 : 0x1000;
    const fields = new Map<string, number>();
    let firstPage = headerSize;
    let directory: Uint8Array = new Uint8Array(0);
    const kind = this.kind;
    if (kind === 'bitmap-full' || kind === 'bitmap-kernel' || kind === 'summary') {
      // BMP_HEADER64 / _SUMMARY_DUMP: 'SDMP'|'FDMP', 'DUMP', FirstPage +0x20, TotalPresentPages +0x28, Pages +0x30, bitmap +0x38.
      const bits = alignUp(Number(pfns[pfns.length - 1]!) + 1, 64);
      firstPage = alignUp(headerSize + 0x38 + bits / 8, PAGE);
      const b = new Bytes(new Uint8Array(firstPage - headerSize));
      b.ascii(0, kind === 'bitmap-full' ? 'FDMP' : 'SDMP').ascii(4, 'DUMP');
      b.u64(0x20, firstPage).u64(0x28, pfns.length).u64(0x30, bits);
      for (const pfn of pfns) b.bytes[0x38 + Number(pfn >> 3n)]! |= 1 << Number(pfn & 7n);
      directory = b.bytes;
      for (const [name, off] of [['Signature', 0], ['ValidDump', 4], ['FirstPage', 0x20], ['TotalPresentPages', 0x28], ['Pages', 0x30], ['Bitmap', 0x38]] as const) fields.set(`BITMAP.${name}`, headerSize + off);
    } else if (kind === 'rdmp-kernel' || kind === 'rdmp-complete') {
      // RDMP_HEADER64: Marker 0x40, 'RDMP', 'DUMP', MetadataSize +0x10, FirstPageOffset +0x18; PFN ranges from +0x30, a zero PFN ends them.
      firstPage = alignUp(headerSize + 0x30 + (runs.length + 1) * 16, PAGE);
      const b = new Bytes(new Uint8Array(firstPage - headerSize));
      b.u32(0, 0x40).ascii(4, 'RDMP').ascii(8, 'DUMP');
      // kdmp-parser checks MetadataSize - 0x20 == FirstPageOffset - 0x2040.
      b.u64(0x10, firstPage - headerSize - 0x20).u64(0x18, firstPage);
      if (kind === 'rdmp-complete') b.u32(0x20, runs.length).u64(0x28, pfns.length); // FULL_RDMP_HEADER64: NumberOfRanges, TotalNumberOfPages
      runs.forEach((r, i) => b.u64(0x30 + i * 16, r.base).u64(0x38 + i * 16, r.count));
      directory = b.bytes;
      for (const [name, off] of [['Marker', 0], ['MetadataSize', 0x10], ['FirstPageOffset', 0x18], ['Ranges', 0x30]] as const) fields.set(`RDMP.${name}`, headerSize + off);
    } else if (runs.length > (w === 64 ? 43 : 86)) {
      throw new Error(`KernelDumpBuilder: ${runs.length} physical memory runs do not fit in the header`);
    }
    const fileSize = firstPage + pfns.length * PAGE;
    const hdr = this.header(m.root, head, this.kdbg ? kdbgVa : 0n, runs, fileSize);
    const out = new Uint8Array(fileSize);
    out.set(hdr.bytes, 0);
    out.set(directory, headerSize);
    const fileOf = new Map<bigint, number>();
    pfns.forEach((pfn, i) => {
      out.set(m.pages.get(pfn)!, firstPage + i * PAGE);
      fileOf.set(pfn, firstPage + i * PAGE);
    });
    for (const [k, v] of hdr.fields) fields.set(k, v);
    const physicalOffsetOf = (pa: bigint): number | undefined => {
      const at = fileOf.get(pa >> 12n);
      return at === undefined ? undefined : at + Number(pa & 0xfffn);
    };
    this.built = this.makeLayout({
      dtb: m.root,
      kdDebuggerDataBlock: this.kdbg ? kdbgVa : 0n,
      psLoadedModuleList: head,
      moduleEntries: entries,
      prcbs,
      fields,
      fileOffsetOf: (va) => {
        const pa = m.translate(va, false);
        return pa === undefined ? undefined : physicalOffsetOf(pa);
      },
      tableEntryOffsetOf: (va, level) => {
        const pa = m.entryOf(va, level);
        return pa === undefined ? undefined : physicalOffsetOf(pa);
      },
      physicalOffsetOf,
    });
    return out;
  }

  private makeLayout(l: Omit<KernelDumpLayout, 'offsetOf'> & { fields: Map<string, number> }): KernelDumpLayout {
    const spec = this.spec;
    const structure: Record<string, number> = {
      ...Object.fromEntries(Object.entries(spec.kthread).map(([k, v]) => [`KTHREAD.${k}`, v])),
      ...Object.fromEntries(Object.entries(spec.prcb).map(([k, v]) => [`PRCB.${k}`, v])),
      ...Object.fromEntries(
        Object.entries(this.width === 64 ? { Flink: 0, Blink: 8, DllBase: 0x30, SizeOfImage: 0x40, FullDllName: 0x48, BaseDllName: 0x58, CheckSum: 0x78 } : { Flink: 0, Blink: 4, DllBase: 0x18, SizeOfImage: 0x20, FullDllName: 0x24, BaseDllName: 0x2c, CheckSum: 0x40 }).map(([k, v]) => [`KLDR.${k}`, v]),
      ),
    };
    const { fields, ...rest } = l;
    return {
      ...rest,
      offsetOf: (field: string): number => {
        const v = fields.get(field) ?? structure[field];
        if (v === undefined) throw new Error(`KernelDumpBuilder layout: no field '${field}' in this ${this.arch} ${this.kind} dump`);
        return v;
      },
    };
  }

  /** TRIAGE_DUMP64 at 0x2000 / TRIAGE_DUMP32 at 0x1000, then the copies it points at. */
  private buildTriage(): Uint8Array {
    const w = this.width;
    const wide = w === 64;
    const headerSize = wide ? 0x2000 : 0x1000;
    const fields = new Map<string, number>();
    const data = this.spec.dataBase;
    const kdbgVa = data + 0x100n;
    const head = data;
    const processorBlock = data + 0x500n;
    const prcb0 = data + BigInt(PRCB_SIZE);

    // Pieces appended after the TRIAGE_DUMP header, each at a file offset.
    const parts: { at: number; bytes: Uint8Array }[] = [];
    let end = headerSize + 0x1000;
    const append = (bytes: Uint8Array, align = 8): number => {
      const at = alignUp(end, align);
      parts.push({ at, bytes });
      end = at + bytes.length;
      return at;
    };
    const t = new Bytes(new Uint8Array(0x1000));
    const tf = (name: string, offset: number): number => (fields.set(`TRIAGE.${name}`, headerSize + offset), offset);

    const prcb = new Bytes(new Uint8Array(PRCB_SIZE));
    if (this.thread) prcb.ptr(this.spec.prcb.CurrentThread, w, this.thread.kthread);
    const prcbAt = append(prcb.bytes);
    const processAt = append(new Uint8Array(0x100));
    const ethread = new Bytes(new Uint8Array(0x400));
    if (this.thread) {
      const k = this.spec.kthread;
      ethread.ptr(k.InitialStack, w, this.thread.initialStack).ptr(k.StackLimit, w, this.thread.stackLimit);
      ethread.ptr(k.StackBase, w, this.thread.stackBase).ptr(k.KernelStack, w, this.thread.kernelStack);
    }
    const threadAt = append(ethread.bytes);
    const stackAt = this.callStack ? append(this.callStack.bytes, 16) : 0;

    // DUMP_DRIVER_ENTRY64 {DriverNameOffset, pad, KLDR_DATA_TABLE_ENTRY64} 0x90 / 32 {DriverNameOffset, KLDR32} 0x4c.
    const entrySize = wide ? 0x90 : 0x4c;
    const list = new Bytes(new Uint8Array(entrySize * this.modules.length));
    const listAt = append(list.bytes);
    // DUMP_STRING pool: u32 Length in characters, UTF-16, NUL.
    const pool: Uint8Array[] = [];
    let poolSize = 0;
    const poolAt = alignUp(end, 8);
    this.modules.forEach((mod, i) => {
      const o = i * entrySize;
      const s = new Bytes(new Uint8Array(alignUp(4 + mod.name.length * 2 + 2, 8)));
      s.u32(0, mod.name.length).set(4, utf16(mod.name));
      list.u32(o, poolAt + poolSize);
      if (wide) list.u64(o + 0x38, mod.base).u32(o + 0x48, mod.size).u32(o + 0x80, mod.checksum ?? 0).u32(o + 0x88, mod.timeDateStamp ?? 0);
      else list.u32(o + 0x1c, mod.base).u32(o + 0x24, mod.size).u32(o + 0x44, mod.checksum ?? 0).u32(o + 0x48, mod.timeDateStamp ?? 0);
      pool.push(s.bytes);
      poolSize += s.bytes.length;
    });
    for (const p of pool) append(p);
    const kdbgAt = this.kdbg ? append(this.debuggerDataBytes(this.modules[0]?.base ?? 0n, head, processorBlock)) : 0;

    // TRIAGE_DATA_BLOCK {u64 Address, u32 Offset, u32 Size} for every map().
    const blocks = new Bytes(new Uint8Array(16 * this.maps.length));
    const blocksAt = this.maps.length ? append(blocks.bytes) : 0;
    const direct: { base: bigint; size: number; at: number }[] = [];
    this.maps.forEach((mp, i) => {
      const at = append(mp.bytes);
      const address = wide ? mp.va : BigInt.asUintN(64, BigInt.asIntN(32, mp.va)); // 32-bit dumps sign-extend
      blocks.u64(i * 16, address).u32(i * 16 + 8, at).u32(i * 16 + 12, mp.bytes.length);
      direct.push({ base: mp.va, size: mp.bytes.length, at });
    });
    const unloadedAt = append(new Uint8Array(8)); // DUMP_UNLOADED_DRIVERS with a count of 0
    const validAt = append(new Uint8Array([0x54, 0x52, 0x47, 0x44]), 4); // "TRGD"
    const fileSize = alignUp(end, PAGE);

    t.u32(tf('ServicePackBuild', 0x00), 0).u32(tf('SizeOfDump', 0x04), fileSize).u32(tf('ValidOffset', 0x08), validAt);
    t.u32(tf('ContextOffset', 0x0c), wide ? 0x348 : 0x320).u32(tf('ExceptionOffset', 0x10), wide ? 0xf00 : 0x7d0);
    t.u32(tf('MmOffset', 0x14), 0).u32(tf('UnloadedDriversOffset', 0x18), unloadedAt).u32(tf('PrcbOffset', 0x1c), prcbAt);
    t.u32(tf('ProcessOffset', 0x20), processAt).u32(tf('ThreadOffset', 0x24), threadAt);
    t.u32(tf('CallStackOffset', 0x28), stackAt).u32(tf('SizeOfCallStack', 0x2c), this.callStack?.bytes.length ?? 0);
    t.u32(tf('DriverListOffset', 0x30), listAt).u32(tf('DriverCount', 0x34), this.modules.length);
    t.u32(tf('StringPoolOffset', 0x38), poolAt).u32(tf('StringPoolSize', 0x3c), poolSize);
    t.u32(tf('BrokenDriverOffset', 0x40), 0).u32(tf('TriageOptions', 0x44), 0);
    const top = this.callStack?.top ?? 0n;
    if (wide) {
      t.u64(tf('TopOfStack', 0x48), top).u32(tf('BStoreOffset', 0x50), 0).u32(tf('SizeOfBStore', 0x54), 0).u64(tf('LimitOfBStore', 0x58), 0);
      t.u64(tf('DataPageAddress', 0x60), 0).u32(tf('DataPageOffset', 0x68), 0).u32(tf('DataPageSize', 0x6c), 0);
      t.u32(tf('DebuggerDataOffset', 0x70), kdbgAt).u32(tf('DebuggerDataSize', 0x74), this.kdbg ? KDBG_SIZE : 0);
      t.u32(tf('DataBlocksOffset', 0x78), blocksAt).u32(tf('DataBlocksCount', 0x7c), this.maps.length);
    } else {
      t.u32(tf('TopOfStack', 0x48), top).u32(tf('DataPageAddress', 0x4c), 0).u32(tf('DataPageOffset', 0x50), 0).u32(tf('DataPageSize', 0x54), 0);
      t.u32(tf('DebuggerDataOffset', 0x58), kdbgAt).u32(tf('DebuggerDataSize', 0x5c), this.kdbg ? KDBG_SIZE : 0);
      t.u32(tf('DataBlocksOffset', 0x60), blocksAt).u32(tf('DataBlocksCount', 0x64), this.maps.length);
    }

    const dtb = 0x1aa000n;
    const hdr = this.header(dtb, head, this.kdbg ? kdbgVa : 0n, undefined, fileSize);
    const out = new Uint8Array(fileSize);
    out.set(hdr.bytes, 0);
    out.set(t.bytes, headerSize);
    for (const p of parts) out.set(p.bytes, p.at);
    for (const [k, v] of hdr.fields) fields.set(k, v);
    if (this.callStack) direct.push({ base: this.callStack.top, size: this.callStack.bytes.length, at: stackAt });
    if (this.kdbg) direct.push({ base: kdbgVa, size: KDBG_SIZE, at: kdbgAt });
    this.built = this.makeLayout({
      dtb,
      kdDebuggerDataBlock: this.kdbg ? kdbgVa : 0n,
      psLoadedModuleList: head,
      moduleEntries: [],
      prcbs: [prcb0],
      fields,
      fileOffsetOf: (va) => {
        const r = direct.find((d) => d.base <= va && va < d.base + BigInt(d.size));
        return r ? r.at + Number(va - r.base) : undefined;
      },
      tableEntryOffsetOf: () => undefined,
      physicalOffsetOf: () => undefined,
    });
    return out;
  }
}
