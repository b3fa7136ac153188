// Test support: a fluent builder that lays out Windows kernel crash dumps (PAGEDU64 / PAGEDUMP) for
// round-trip tests, as minidump.ts does for minidumps. A test maps virtual memory (stacks, module
// images, kernel structures); the builder allocates physical pages, writes the page tables for the
// architecture, the loaded-module list, KDDEBUGGER_DATA64, KiProcessorBlock and the PRCBs, and then
// writes the file in the form asked for: physical memory runs, a summary or bitmap, RDMP ranges, or
// a triage (small) dump that carries copies of the same structures. Field offsets are in
// kernel-dump-layout.ts; paging in kernel-dump-paging.ts.
import { BufferSource } from '../../io/byte-source.js';
import { amd64Context, arm64Context, x86Context, type RegisterValues } from './context.js';
import {
  BITMAP,
  BITMAP_BITS,
  DRIVER_ENTRY32,
  DRIVER_ENTRY64,
  HEADER32,
  HEADER32_AREAS,
  HEADER64,
  HEADER64_AREAS,
  KDBG,
  KDBG_SIZE,
  KDBG_TAG,
  KLDR32,
  KLDR64,
  MM_STORAGE32_SIZE,
  MM_STORAGE64_SIZE,
  PAGE_PATTERN,
  RDMP,
  RDMP_MARKER,
  RDMP_RANGES,
  SIGNATURE_FDMP,
  SIGNATURE_PAGE,
  SIGNATURE_RDMP,
  SIGNATURE_SDMP,
  SUMMARY32,
  SUMMARY32_BITS,
  TRIAGE32,
  TRIAGE32_SIZE,
  TRIAGE64,
  TRIAGE64_SIZE,
  TRIAGE_VALID,
  UNLOADED32,
  UNLOADED64,
  VALID_DUMP32,
  VALID_DUMP64,
  type Field,
  type FieldMap,
} from './kernel-dump-layout.js';
import { AddressSpace, PAGE_SIZE, type KernelArch, type PageSize } from './kernel-dump-paging.js';

export type { KernelArch, PageSize } from './kernel-dump-paging.js';

export type KernelDumpKind =
  | 'full' // 1: physical memory runs from the header's PHYSICAL_MEMORY_DESCRIPTOR
  | 'summary' // 2: 32-bit kernels, SUMMARY_DUMP32 and its bitmap
  | 'triage' // 4: small dump, TRIAGE_DUMP
  | 'bitmap-full' // 5: 'FDMP' bitmap
  | 'bitmap-kernel' // 6: 'SDMP' bitmap
  | 'rdmp-kernel' // 8: 'RDMP' PFN ranges
  | 'rdmp-kernel-user' // 9
  | 'rdmp-complete'; // 10

/** DUMP_HEADER.DumpType for each kind. */
export const DUMP_TYPE: Readonly<Record<KernelDumpKind, number>> = {
  full: 1,
  summary: 2,
  triage: 4,
  'bitmap-full': 5,
  'bitmap-kernel': 6,
  'rdmp-kernel': 8,
  'rdmp-kernel-user': 9,
  'rdmp-complete': 10,
};

/** IMAGE_FILE_MACHINE_* in MachineImageType. */
const MACHINE: Readonly<Record<KernelArch, number>> = { amd64: 0x8664, x86: 0x14c, 'x86-pae': 0x14c, arm64: 0xaa64 };

export interface KernelModuleSpec {
  /** The file name (BaseDllName), or a path whose last part is. */
  readonly name: string;
  /** FullDllName; defaults to `\SystemRoot\system32\drivers\<name>` (the kernel and HAL: `\SystemRoot\system32\<name>`). */
  readonly path?: string;
  readonly base: bigint;
  readonly size: number;
  readonly timeDateStamp?: number;
  readonly checksum?: number;
  readonly entryPoint?: bigint;
  /** The image bytes, mapped at base. Without them a minimal PE header (TimeDateStamp, SizeOfImage, CheckSum) is mapped there. */
  readonly image?: Uint8Array;
}

export interface KernelThreadSpec {
  /** The KTHREAD (ETHREAD) address. */
  readonly kthread: bigint;
  readonly initialStack: bigint;
  readonly stackBase: bigint;
  readonly stackLimit: bigint;
  readonly kernelStack: bigint;
  /** The processor it is current on (its PRCB's CurrentThread); default 0. */
  readonly processor?: number;
  /** KTHREAD.ApcState.Process; default a zeroed EPROCESS the builder places. */
  readonly process?: bigint;
}

export interface KernelExceptionSpec {
  readonly code: number;
  readonly flags?: number;
  readonly address: bigint;
  readonly parameters?: readonly bigint[];
}

export interface UnloadedDriverSpec {
  readonly name: string;
  readonly start: bigint;
  readonly end: bigint;
}

export interface LaidOutModule {
  readonly name: string;
  readonly base: bigint;
  /** The KLDR_DATA_TABLE_ENTRY's address in the PsLoadedModuleList. */
  readonly entry: bigint;
}

/** What was laid out, for assertions and for hostile patches. */
export interface KernelDumpLayout {
  readonly arch: KernelArch;
  readonly kind: KernelDumpKind;
  readonly dumpType: number;
  readonly size: number;
  readonly headerSize: number;
  /** DirectoryTableBase: the root table's physical address. */
  readonly dtb: bigint;
  readonly kdDebuggerDataBlock: bigint;
  readonly psLoadedModuleList: bigint;
  readonly kiProcessorBlock: bigint;
  /** PRCB address of each processor. */
  readonly prcbs: readonly bigint[];
  readonly modules: readonly LaidOutModule[];
  /** The KDDEBUGGER_DATA64 values written, by field name. */
  readonly debuggerData: ReadonlyMap<string, bigint>;
  /** Every named field in the file: header ('BugCheckCode'), 'PhysicalMemoryBlock.Run[0].PageCount', 'Triage.SizeOfDump', 'DriverList[2].DriverNameOffset', 'DataBlocks[0].Size', 'Bitmap.Pages', 'Summary.HeaderSize', 'Rdmp.MetadataSize', 'Rdmp.Range[0].NumberOfPages'. */
  readonly fields: FieldMap;
  field(name: string): Field;
  /** Where the byte at a virtual address is in the file (paged kinds through the page tables; triage through its copies and data blocks). */
  fileOffsetOf(va: bigint): number | undefined;
  physicalOf(va: bigint): bigint | undefined;
  fileOffsetOfPhysical(pa: bigint): number | undefined;
}

/** Defaults for the KDDEBUGGER_DATA64 offsets and sizes: the real Windows 10 dumps in the corpus (x64 triage, ARM64, ARM32 for 32-bit kernels). */
const KDBG_DEFAULTS: Readonly<Record<'64' | 'arm64' | '32', Readonly<Record<string, number>>>> = {
  '64': {
    OffsetKThreadNextProcessor: 0x218,
    OffsetKThreadKernelStack: 0x58,
    OffsetKThreadInitialStack: 0x28,
    OffsetKThreadApcProcess: 0xb8,
    SizeEProcess: 0xa40,
    SizePrcb: 0xaf00,
    OffsetPrcbCurrentThread: 0x8,
    OffsetPrcbProcStateContext: 0x1f0,
    OffsetPrcbNumber: 0x24,
    SizeEThread: 0x898,
    OffsetPrcbContext: 0x85c0,
    OffsetKThreadStackLimit: 0x30,
    OffsetKThreadStackBase: 0x38,
    MmPageSize: 0x1000,
  },
  arm64: {
    OffsetKThreadNextProcessor: 0x238,
    OffsetKThreadKernelStack: 0x58,
    OffsetKThreadInitialStack: 0x28,
    OffsetKThreadApcProcess: 0xb0,
    SizeEProcess: 0x7f8,
    SizePrcb: 0x6400,
    OffsetPrcbCurrentThread: 0x8,
    OffsetPrcbProcStateContext: 0x360,
    OffsetPrcbNumber: 0x24,
    SizeEThread: 0x830,
    OffsetPrcbContext: 0x8a0,
    OffsetKThreadStackLimit: 0x30,
    OffsetKThreadStackBase: 0x38,
    MmPageSize: 0x1000,
  },
  '32': {
    OffsetKThreadNextProcessor: 0x148,
    OffsetKThreadKernelStack: 0x40,
    OffsetKThreadInitialStack: 0x20,
    OffsetKThreadApcProcess: 0x74,
    SizeEProcess: 0x400,
    SizePrcb: 0x4900,
    OffsetPrcbCurrentThread: 0x4,
    OffsetPrcbProcStateContext: 0x220,
    OffsetPrcbNumber: 0x14,
    SizeEThread: 0x478,
    OffsetPrcbContext: 0x518,
    OffsetKThreadStackLimit: 0x24,
    OffsetKThreadStackBase: 0x28,
    MmPageSize: 0x1000,
  },
};

/** Where the builder puts the kernel structures it places itself (nonpaged data of a plausible kernel). */
const DATA_BASE: Readonly<Record<KernelArch, bigint>> = {
  amd64: 0xfffff80760000000n,
  arm64: 0xfffff80360000000n,
  x86: 0x81000000n,
  'x86-pae': 0x81000000n,
};

type PatchValue = number | bigint | Uint8Array;

interface Segment {
  readonly va: bigint;
  readonly size: number;
  readonly offset: number;
}

export class KernelDumpBuilder {
  readonly arch: KernelArch;
  readonly kind: KernelDumpKind;
  private readonly is64: boolean;
  private readonly space: AddressSpace;
  private readonly regions: { va: bigint; size: number }[] = [];
  private dataCursor: bigint;
  private bugcheckCode = 0xe2;
  private bugcheckParameters: readonly bigint[] = [];
  private majorVersion = 0xf;
  private minorVersion = 19041;
  private registers: RegisterValues = {};
  private exceptionSpec: KernelExceptionSpec | undefined;
  private readonly moduleSpecs: KernelModuleSpec[] = [];
  private readonly threads: KernelThreadSpec[] = [];
  private readonly processorContexts = new Map<number, RegisterValues>();
  private readonly unloaded: UnloadedDriverSpec[] = [];
  private processorCount = 0;
  private debuggerOverrides: Partial<Record<string, bigint | number>> = {};
  private debuggerAddress: bigint | undefined;
  private callStack: { top: bigint; bytes: Uint8Array } | undefined;
  private readonly patches: { name: string; value: PatchValue }[] = [];
  private readonly filePatches: { offset: number; bytes: Uint8Array }[] = [];
  private readonly headerValues: Partial<Record<string, bigint | number>> = {};
  private commentText: string | undefined;
  private finalized: Finalized | undefined;
  private built: KernelDumpLayout | undefined;

  constructor(arch: KernelArch, kind: KernelDumpKind) {
    this.arch = arch;
    this.kind = kind;
    this.is64 = arch === 'amd64' || arch === 'arm64';
    if (kind === 'summary' && this.is64) throw new Error('summary dumps (DumpType 2) are built for 32-bit kernels only; use bitmap-kernel');
    if (kind.startsWith('rdmp') && !this.is64) throw new Error('RDMP dumps (DumpType 8-10) are 64-bit only');
    this.space = new AddressSpace(arch);
    this.dataCursor = DATA_BASE[arch];
  }

  bugcheck(code: number, parameters: readonly bigint[]): this {
    this.bugcheckCode = code;
    this.bugcheckParameters = parameters;
    return this;
  }

  /** MajorVersion (0xf free, 0xc checked) and MinorVersion (the build number). */
  version(major: number, minor: number): this {
    this.majorVersion = major;
    this.minorVersion = minor;
    return this;
  }

  /** The header's ContextRecord, registers named as the snapshot model does (see context.ts). */
  context(registers: RegisterValues): this {
    this.registers = registers;
    return this;
  }

  /** The header's exception record; default a breakpoint (0x80000003, flags 1) at the context's pc, as KeBugCheckEx leaves it. */
  exception(spec: KernelExceptionSpec): this {
    this.exceptionSpec = spec;
    return this;
  }

  /** NumberProcessors; at least one more than the highest processor a thread or context names. */
  processors(count: number): this {
    this.processorCount = count;
    return this;
  }

  /** Header fields by name (PfnDataBase, PsActiveProcessHead, SystemTime, ProductType, ...); they win over what the builder derives. Unset PfnDataBase and PsActiveProcessHead stay 'PAGE'. */
  header(values: Partial<Record<string, bigint | number>>): this {
    Object.assign(this.headerValues, values);
    return this;
  }

  comment(text: string): this {
    this.commentText = text;
    return this;
  }

  /** Maps virtual memory: physical pages are allocated (zero-filled around the bytes) and the page tables written. */
  map(va: bigint, bytes: Uint8Array, options: { readonly page?: PageSize } = {}): this {
    this.mutable();
    this.space.writeVirtual(va, bytes, options.page ?? '4k');
    this.regions.push({ va: this.norm(va), size: bytes.length });
    return this;
  }

  /** Bytes at a physical address, whether or not anything maps them. */
  mapPhysical(pa: bigint, bytes: Uint8Array): this {
    this.mutable();
    this.space.writePhysical(pa, bytes);
    return this;
  }

  /** A PsLoadedModuleList entry (and, for triage, a driver-list entry); the image or a minimal PE header is mapped at base. */
  module(m: KernelModuleSpec): this {
    this.mutable();
    this.moduleSpecs.push(m);
    this.map(m.base, m.image ?? peHeader(this.arch, m));
    return this;
  }

  /** A thread current on a processor: its KTHREAD stack fields at the debugger data's offsets, and PRCB.CurrentThread pointing at it. */
  kernelThread(t: KernelThreadSpec): this {
    this.mutable();
    this.threads.push(t);
    return this;
  }

  /** A processor's saved context: PRCB.ProcessorState.ContextFrame (OffsetPrcbProcStateContext) and the PRCB's Context pointer to it. */
  processorContext(processor: number, registers: RegisterValues): this {
    this.mutable();
    this.processorContexts.set(processor, registers);
    return this;
  }

  /** KDDEBUGGER_DATA64 field values over the defaults and the derived ones (KiProcessorBlock, PsLoadedModuleList, ...); `at` places it. */
  debuggerData(over: Partial<Record<string, bigint | number>> = {}, at?: bigint): this {
    this.mutable();
    for (const name of Object.keys(over)) if (!(name in KDBG)) throw new Error(`KDDEBUGGER_DATA64 has no field '${name}' in this builder`);
    this.debuggerOverrides = { ...this.debuggerOverrides, ...over };
    if (at !== undefined) this.debuggerAddress = at;
    return this;
  }

  /** Triage only: the call-stack block (default: the crashing thread's stack from the context's stack pointer to its StackBase, at most 16 KiB). */
  triageCallStack(topOfStack: bigint, bytes: Uint8Array): this {
    this.callStack = { top: topOfStack, bytes };
    return this;
  }

  /** Triage only: an MmUnloadedDrivers entry in the unloaded-driver list. */
  unloadedDriver(d: UnloadedDriverSpec): this {
    this.unloaded.push(d);
    return this;
  }

  /** Overwrites a named field (see KernelDumpLayout.fields) after the file is laid out: for hostile inputs. */
  patch(name: string, value: PatchValue): this {
    this.patches.push({ name, value });
    return this;
  }

  /** Overwrites file bytes after everything else. */
  patchFile(offset: number, bytes: Uint8Array): this {
    this.filePatches.push({ offset, bytes });
    return this;
  }

  /** Writes a little-endian value at a physical address (e.g. a page-table entry, see tableEntryAddress). */
  patchPhysical(pa: bigint, value: bigint, width: 1 | 2 | 4 | 8): this {
    this.space.writePhysical(pa, littleEndian(value, width));
    return this;
  }

  /** Writes a little-endian value at a mapped virtual address after the kernel structures are placed (e.g. a module entry's Flink). */
  patchVirtual(va: bigint, value: bigint, width: 1 | 2 | 4 | 8): this {
    this.finalize();
    if (!this.space.isMapped(va)) throw new Error(`patchVirtual: 0x${va.toString(16)} is not mapped`);
    this.space.writeVirtual(va, littleEndian(value, width));
    return this;
  }

  /** Physical address of the table entry a walk for `va` reads at `level` (0: the root), for corrupting page tables. */
  tableEntryAddress(va: bigint, level: number): bigint {
    const pa = this.space.entryAddress(va, level);
    if (pa === undefined) throw new Error(`no level-${level} entry on the walk for 0x${va.toString(16)}`);
    return pa;
  }

  /** Table entry width at a level (4 on x86 without PAE, else 8). */
  tableEntrySize(level: number): 4 | 8 {
    return this.space.entrySize(level);
  }

  /** Places the kernel structures (idempotent); after this, memory can only be patched. */
  finalize(): KernelStructures {
    this.finalized ??= this.place();
    return this.finalized.structures;
  }

  build(): Uint8Array {
    this.finalize();
    const out = this.kind === 'triage' ? this.writeTriage() : this.writePaged();
    const file = out.file;
    for (const p of this.patches) {
      const field = out.fields.get(p.name);
      if (!field) throw new Error(`patch: no field '${p.name}' in this ${this.kind} dump`);
      putValue(file, field.offset, field.width, p.value);
    }
    for (const p of this.filePatches) file.set(p.bytes, p.offset);
    this.built = out.layout;
    return file;
  }

  /** The built dump as a ByteSource. */
  source(name = 'synth-kernel.dmp'): BufferSource {
    return new BufferSource(this.build(), name);
  }

  get layout(): KernelDumpLayout {
    if (!this.built) throw new Error('layout: call build() first');
    return this.built;
  }

  // ---- placing the kernel structures in memory ----

  private mutable(): void {
    if (this.finalized) throw new Error('the kernel structures are placed already (build or patchVirtual was called)');
  }

  private norm(va: bigint): bigint {
    return this.is64 ? BigInt.asUintN(64, va) : BigInt.asUintN(32, va);
  }

  /** A pointer as KDDEBUGGER_DATA64 holds it: 32-bit kernel addresses sign-extended. */
  private pointer64(va: bigint): bigint {
    return this.is64 ? BigInt.asUintN(64, va) : BigInt.asUintN(64, BigInt.asIntN(32, va));
  }

  private allocate(size: number, align = 16): bigint {
    const a = BigInt(align);
    const va = ((this.dataCursor + a - 1n) / a) * a;
    this.dataCursor = va + BigInt(size);
    return va;
  }

  private write(va: bigint, bytes: Uint8Array, record = true): void {
    this.space.writeVirtual(va, bytes);
    if (record) this.regions.push({ va: this.norm(va), size: bytes.length });
  }

  private writeValue(va: bigint, value: bigint, width: 1 | 2 | 4 | 8): void {
    this.space.writeVirtual(va, littleEndian(value, width));
  }

  private writePointer(va: bigint, value: bigint): void {
    this.writeValue(va, this.norm(value), this.is64 ? 8 : 4);
  }

  private place(): Finalized {
    const ptr = this.is64 ? 8 : 4;
    const defaults = KDBG_DEFAULTS[this.arch === 'arm64' ? 'arm64' : this.is64 ? '64' : '32'];
    const value = (name: string): bigint => BigInt(this.debuggerOverrides[name] ?? defaults[name] ?? 0);
    const kdSize = this.is64 && this.arch === 'amd64' ? KDBG_SIZE : 0x368;

    const kdbgVa = this.debuggerAddress ?? this.allocate(kdSize, 16);
    const listHead = this.allocate(2 * ptr, 16);
    const maxProcessor = Math.max(-1, ...this.threads.map((t) => t.processor ?? 0), ...this.processorContexts.keys());
    const processors = Math.max(this.processorCount, maxProcessor + 1, 1);
    const kiProcessorBlock = this.allocate(processors * ptr, 16);
    const prcbSize = Number(value('SizePrcb'));
    const prcbs = Array.from({ length: processors }, () => this.allocate(prcbSize, 0x1000));
    let defaultProcess: bigint | undefined;

    // PRCBs and KiProcessorBlock.
    prcbs.forEach((prcb, i) => {
      this.space.ensure(prcb, prcbSize);
      this.regions.push({ va: prcb, size: prcbSize });
      this.writePointer(kiProcessorBlock + BigInt(i * ptr), prcb);
      this.writeValue(prcb + value('OffsetPrcbNumber'), BigInt(i), 2);
    });
    this.space.ensure(kiProcessorBlock, processors * ptr);
    this.regions.push({ va: kiProcessorBlock, size: processors * ptr });

    // Current threads: KTHREAD stack fields, ApcState.Process, PRCB.CurrentThread.
    const threadRegions: { va: bigint; size: number }[] = [];
    const processRegions: { va: bigint; size: number }[] = [];
    for (const t of this.threads) {
      const kthread = this.norm(t.kthread);
      const ethreadSize = Number(value('SizeEThread'));
      this.space.ensure(kthread, ethreadSize);
      threadRegions.push({ va: kthread, size: ethreadSize });
      this.regions.push({ va: kthread, size: ethreadSize });
      this.writePointer(kthread + value('OffsetKThreadInitialStack'), t.initialStack);
      this.writePointer(kthread + value('OffsetKThreadStackLimit'), t.stackLimit);
      this.writePointer(kthread + value('OffsetKThreadStackBase'), t.stackBase);
      this.writePointer(kthread + value('OffsetKThreadKernelStack'), t.kernelStack);
      this.writeValue(kthread + value('OffsetKThreadNextProcessor'), BigInt(t.processor ?? 0), 4);
      let process = t.process;
      if (process === undefined) {
        defaultProcess ??= this.allocate(Number(value('SizeEProcess')), 0x40);
        process = defaultProcess;
      }
      const eprocessSize = Number(value('SizeEProcess'));
      this.space.ensure(process, eprocessSize);
      processRegions.push({ va: this.norm(process), size: eprocessSize });
      this.regions.push({ va: this.norm(process), size: eprocessSize });
      this.writePointer(kthread + value('OffsetKThreadApcProcess'), process);
      const prcb = prcbs[t.processor ?? 0]!;
      this.writePointer(prcb + value('OffsetPrcbCurrentThread'), kthread);
    }

    // Processor contexts inside their PRCBs.
    for (const [p, regs] of this.processorContexts) {
      const prcb = prcbs[p]!;
      const at = prcb + value('OffsetPrcbProcStateContext');
      this.space.writeVirtual(at, contextBytes(this.arch, regs));
      this.writePointer(prcb + value('OffsetPrcbContext'), at);
    }

    // PsLoadedModuleList: a circular list through InLoadOrderLinks (at offset 0 of each entry).
    const kldr = this.is64 ? KLDR64 : KLDR32;
    const modules: LaidOutModule[] = this.moduleSpecs.map((m) => ({ name: baseName(m.name), base: this.norm(m.base), entry: this.allocate(kldr.size + 0x18, 16) }));
    const links = [listHead, ...modules.map((m) => m.entry)];
    this.space.ensure(listHead, 2 * ptr);
    this.regions.push({ va: listHead, size: 2 * ptr });
    links.forEach((link, i) => {
      this.writePointer(link, links[(i + 1) % links.length]!);
      this.writePointer(link + BigInt(ptr), links[(i + links.length - 1) % links.length]!);
    });
    this.moduleSpecs.forEach((m, i) => {
      const entry = modules[i]!.entry;
      this.space.ensure(entry, kldr.size);
      this.regions.push({ va: entry, size: kldr.size });
      const full = m.path ?? defaultPath(m.name);
      const base = baseName(m.name);
      const fullVa = this.allocate(full.length * 2 + 2, 8);
      const baseVa = this.allocate(base.length * 2 + 2, 8);
      this.write(fullVa, utf16(full, true));
      this.write(baseVa, utf16(base, true));
      this.writePointer(entry + BigInt(kldr.DllBase), m.base);
      this.writePointer(entry + BigInt(kldr.EntryPoint), m.entryPoint ?? m.base);
      this.writeValue(entry + BigInt(kldr.SizeOfImage), BigInt(m.size), 4);
      this.writeUnicodeString(entry + BigInt(kldr.FullDllName), full, fullVa);
      this.writeUnicodeString(entry + BigInt(kldr.BaseDllName), base, baseVa);
      this.writeValue(entry + BigInt(kldr.LoadCount), 1n, 2);
      this.writeValue(entry + BigInt(kldr.CheckSum), BigInt(m.checksum ?? 0), 4);
      // Newer kernels moved TimeDateStamp in memory (0x9c on Windows 10 x64); readers should take it from the PE header.
      this.writeValue(entry + BigInt(kldr.TimeDateStamp), BigInt(m.timeDateStamp ?? 0), 4);
    });

    // KDDEBUGGER_DATA64: defaults, then what this builder placed, then the test's overrides.
    const kd = new Map<string, bigint>();
    for (const [name, v] of Object.entries(defaults)) kd.set(name, BigInt(v));
    kd.set('OwnerTag', BigInt(KDBG_TAG));
    kd.set('Size', BigInt(kdSize));
    kd.set('KernBase', this.pointer64(this.moduleSpecs[0]?.base ?? 0n));
    kd.set('PsLoadedModuleList', this.pointer64(listHead));
    kd.set('KiProcessorBlock', this.pointer64(kiProcessorBlock));
    for (const [name, v] of Object.entries(this.debuggerOverrides)) if (v !== undefined) kd.set(name, BigInt(v));
    this.space.ensure(kdbgVa, kdSize);
    for (const [name, v] of kd) {
      const field = KDBG[name]!;
      const width = field.width;
      const stored = width === 8 && !this.is64 && name !== 'MmPageSize' ? this.pointer64(v) : v;
      this.writeValue(kdbgVa + BigInt(field.offset), stored, width);
    }

    const crashProcessor = this.threads[0]?.processor ?? 0;
    const crashThread = this.threads.find((t) => (t.processor ?? 0) === crashProcessor);
    return {
      structures: { kdDebuggerDataBlock: kdbgVa, psLoadedModuleList: listHead, kiProcessorBlock, prcbs, modules, debuggerData: kd },
      kdSize,
      processors,
      crashProcessor,
      crashThread,
      threadRegions,
      processRegions,
    };
  }

  private writeUnicodeString(at: bigint, text: string, buffer: bigint): void {
    // UNICODE_STRING: Length and MaximumLength in bytes, then the Buffer pointer (aligned to 8 on 64-bit).
    this.writeValue(at, BigInt(text.length * 2), 2);
    this.writeValue(at + 2n, BigInt(text.length * 2 + 2), 2);
    this.writePointer(at + (this.is64 ? 8n : 4n), buffer);
  }

  // ---- the header ----

  private headerTable(): { fields: Readonly<Record<string, Field>>; areas: typeof HEADER64_AREAS | typeof HEADER32_AREAS; size: number } {
    return this.is64 ? { fields: HEADER64, areas: HEADER64_AREAS, size: 0x2000 } : { fields: HEADER32, areas: HEADER32_AREAS, size: 0x1000 };
  }

  private pc(): bigint {
    const r = this.registers;
    const v = this.arch === 'amd64' ? r['rip'] : this.arch === 'arm64' ? r['pc'] : r['eip'];
    return v === undefined ? 0n : BigInt(typeof v === 'number' || typeof v === 'bigint' ? v : v.value);
  }

  private sp(): bigint | undefined {
    const r = this.registers;
    const v = this.arch === 'amd64' ? r['rsp'] : this.arch === 'arm64' ? r['sp'] : r['esp'];
    return v === undefined ? undefined : BigInt(typeof v === 'number' || typeof v === 'bigint' ? v : v.value);
  }

  /** DUMP_HEADER64/32 over a 'PAGE' fill; runs are written by the caller. Returns the field map. */
  private writeHeader(file: Uint8Array, f: Finalized, requiredDumpSpace: number, fields: Map<string, Field>): void {
    const { fields: table, areas, size } = this.headerTable();
    for (let i = 0; i < size; i += 4) file.set(PAGE_PATTERN, i);
    for (const [name, field] of Object.entries(table)) fields.set(name, field);
    const put = (name: string, v: bigint | number): void => {
      const field = table[name];
      if (!field) throw new Error(`DUMP_HEADER has no field '${name}'`);
      putValue(file, field.offset, field.width, v);
    };
    const params = this.bugcheckParameters.map((p) => (this.is64 ? p : BigInt.asUintN(32, p)));
    put('Signature', SIGNATURE_PAGE);
    put('ValidDump', this.is64 ? VALID_DUMP64 : VALID_DUMP32);
    put('MajorVersion', this.majorVersion);
    put('MinorVersion', this.minorVersion);
    put('DirectoryTableBase', this.space.dtb);
    put('PsLoadedModuleList', f.structures.psLoadedModuleList);
    put('MachineImageType', MACHINE[this.arch]);
    put('NumberProcessors', f.processors);
    put('BugCheckCode', this.bugcheckCode);
    for (let i = 0; i < 4; i++) put(`BugCheckParameter${i + 1}`, params[i] ?? 0n);
    put('KdDebuggerDataBlock', f.structures.kdDebuggerDataBlock);
    if (!this.is64) {
      put('PaeEnabled', this.arch === 'x86-pae' ? 1 : 0);
      put('KdSecondaryVersion', 0);
    } else {
      put('KdSecondaryVersion', 0);
    }
    file.set(contextBytes(this.arch, this.registers).subarray(0, areas.context.size), areas.context.offset);
    const e = this.exceptionSpec ?? { code: 0x80000003, flags: 1, address: this.pc(), parameters: [] };
    const eParams = e.parameters ?? [];
    put('Exception.ExceptionCode', e.code);
    put('Exception.ExceptionFlags', e.flags ?? 0);
    put('Exception.ExceptionRecord', 0);
    put('Exception.ExceptionAddress', e.address);
    put('Exception.NumberParameters', eParams.length);
    eParams.forEach((p, i) => putValue(file, areas.exceptionInformation.offset + i * areas.exceptionInformation.width, areas.exceptionInformation.width, p));
    put('DumpType', DUMP_TYPE[this.kind]);
    put('RequiredDumpSpace', requiredDumpSpace);
    put('SystemTime', 0x01d707f23dbb3399n);
    put('SystemUpTime', 0x023bc1e9n);
    if (this.kind === 'triage') put('MiniDumpFields', 0xcff);
    put('ProductType', 1);
    put('SuiteMask', 0x110);
    put('WriterStatus', 0);
    if (this.commentText !== undefined) {
      const text = new TextEncoder().encode(this.commentText).subarray(0, areas.comment.size - 1);
      file.fill(0, areas.comment.offset, areas.comment.offset + areas.comment.size);
      file.set(text, areas.comment.offset);
    }
    for (const [name, v] of Object.entries(this.headerValues)) if (v !== undefined) put(name, v);
  }

  /** PHYSICAL_MEMORY_DESCRIPTOR runs at the header; the named Run[i] fields go into `fields`. */
  private writeRuns(file: Uint8Array, runs: readonly { base: bigint; count: bigint }[], fields: Map<string, Field>): void {
    const { fields: table, areas } = this.headerTable();
    const runSize = areas.runs.runSize;
    const max = Math.floor(areas.runs.size / runSize);
    if (runs.length > max) throw new Error(`${runs.length} physical memory runs do not fit the header (at most ${max}); map less scattered memory`);
    const width = (runSize / 2) as 4 | 8;
    putValue(file, table['PhysicalMemoryBlock.NumberOfRuns']!.offset, 4, runs.length);
    if (this.is64) putValue(file, table['PhysicalMemoryBlock.NumberOfRuns']!.offset + 4, 4, 0);
    const pages = runs.reduce((n, r) => n + r.count, 0n);
    const total = table['PhysicalMemoryBlock.NumberOfPages']!;
    putValue(file, total.offset, total.width, pages);
    runs.forEach((r, i) => {
      const at = areas.runs.offset + i * runSize;
      putValue(file, at, width, r.base);
      putValue(file, at + width, width, r.count);
      fields.set(`PhysicalMemoryBlock.Run[${i}].BasePage`, { offset: at, width });
      fields.set(`PhysicalMemoryBlock.Run[${i}].PageCount`, { offset: at + width, width });
    });
  }

  // ---- paged forms: full, summary, bitmap, RDMP ----

  private writePaged(): { file: Uint8Array; fields: Map<string, Field>; layout: KernelDumpLayout } {
    const f = this.finalized!;
    const headerSize = this.headerTable().size;
    const frames = this.space.presentFrames();
    const fields = new Map<string, Field>();
    const runs = contiguousRuns(frames);
    const highest = this.space.highestFrame();

    // What follows the header before the first page, and where that page is.
    let firstPage: number;
    let bitmapBits = 0n;
    let rangesMeta = 0;
    switch (this.kind) {
      case 'full':
        firstPage = headerSize;
        break;
      case 'summary':
        bitmapBits = roundUp(highest + 1n, 32n);
        firstPage = roundUpNumber(headerSize + SUMMARY32_BITS + Number(bitmapBits / 8n), PAGE_SIZE);
        break;
      case 'bitmap-full':
      case 'bitmap-kernel':
        // kdmp-parser and rizin read Pages / 8 bitmap bytes; a multiple of 64 keeps the bitmap whole ULONG64s.
        bitmapBits = roundUp(highest + 1n, 64n);
        firstPage = roundUpNumber(headerSize + BITMAP_BITS + Number(bitmapBits / 8n), PAGE_SIZE);
        break;
      default: {
        if (frames[0] === 0n) throw new Error('RDMP ranges cannot start at PFN 0 (kdmp-parser reads a zero PFN as the end of the ranges)');
        // Ranges, then at least one zero range as terminator, padded so the first page is page-aligned.
        rangesMeta = RDMP_RANGES + (runs.length + 1) * 16;
        firstPage = roundUpNumber(headerSize + rangesMeta, PAGE_SIZE);
        break;
      }
    }
    const size = firstPage + frames.length * PAGE_SIZE;
    const file = new Uint8Array(size);
    this.writeHeader(file, f, size, fields);

    // The machine's memory, as the descriptor tells it: the runs present in a full dump; for the
    // other forms one run over all RAM, so a reader that mistakes it for the file's pages fails.
    this.writeRuns(file, this.kind === 'full' ? runs : [{ base: 1n, count: highest }], fields);

    const put = (base: number, table: Readonly<Record<string, Field>>, name: string, v: bigint | number): void => {
      const field = table[name]!;
      putValue(file, base + field.offset, field.width, v);
    };
    const register = (base: number, table: Readonly<Record<string, Field>>, prefix: string): void => {
      for (const [name, field] of Object.entries(table)) fields.set(`${prefix}.${name}`, { offset: base + field.offset, width: field.width });
    };
    const writeBitmap = (at: number): void => {
      for (const pfn of frames) file[at + Number(pfn / 8n)]! |= 1 << Number(pfn % 8n);
    };

    if (this.kind === 'summary') {
      register(headerSize, SUMMARY32, 'Summary');
      put(headerSize, SUMMARY32, 'Signature', SIGNATURE_SDMP);
      put(headerSize, SUMMARY32, 'ValidDump', VALID_DUMP32);
      put(headerSize, SUMMARY32, 'DumpOptions', 0);
      put(headerSize, SUMMARY32, 'HeaderSize', firstPage);
      put(headerSize, SUMMARY32, 'BitmapSize', bitmapBits);
      put(headerSize, SUMMARY32, 'Pages', frames.length);
      put(headerSize, SUMMARY32, 'SizeOfBitMap', bitmapBits);
      writeBitmap(headerSize + SUMMARY32_BITS);
    } else if (this.kind === 'bitmap-full' || this.kind === 'bitmap-kernel') {
      register(headerSize, BITMAP, 'Bitmap');
      put(headerSize, BITMAP, 'Signature', this.kind === 'bitmap-full' ? SIGNATURE_FDMP : SIGNATURE_SDMP);
      put(headerSize, BITMAP, 'ValidDump', VALID_DUMP32);
      put(headerSize, BITMAP, 'FirstPage', firstPage);
      put(headerSize, BITMAP, 'TotalPresentPages', frames.length);
      put(headerSize, BITMAP, 'Pages', bitmapBits);
      writeBitmap(headerSize + BITMAP_BITS);
    } else if (this.kind !== 'full') {
      register(headerSize, RDMP, 'Rdmp');
      const metadataSize = firstPage - (headerSize + 0x20);
      put(headerSize, RDMP, 'Marker', RDMP_MARKER);
      put(headerSize, RDMP, 'Signature', SIGNATURE_RDMP);
      put(headerSize, RDMP, 'ValidDump', VALID_DUMP32);
      put(headerSize, RDMP, 'MetadataSize', metadataSize);
      put(headerSize, RDMP, 'FirstPageOffset', firstPage);
      if (this.kind === 'rdmp-complete') {
        put(headerSize, RDMP, 'NumberOfRanges', runs.length);
        put(headerSize, RDMP, 'TotalNumberOfPages', frames.length);
      }
      runs.forEach((r, i) => {
        const at = headerSize + RDMP_RANGES + i * 16;
        putValue(file, at, 8, r.base);
        putValue(file, at + 8, 8, r.count);
        fields.set(`Rdmp.Range[${i}].PageFileNumber`, { offset: at, width: 8 });
        fields.set(`Rdmp.Range[${i}].NumberOfPages`, { offset: at + 8, width: 8 });
      });
    }

    // The pages, in PFN order.
    const offsetOfFrame = new Map<bigint, number>();
    frames.forEach((pfn, i) => {
      const at = firstPage + i * PAGE_SIZE;
      file.set(this.space.frame(pfn)!, at);
      offsetOfFrame.set(pfn, at);
    });
    const fileOffsetOfPhysical = (pa: bigint): number | undefined => {
      const at = offsetOfFrame.get(pa / BigInt(PAGE_SIZE));
      return at === undefined ? undefined : at + Number(pa % BigInt(PAGE_SIZE));
    };
    const layout = this.layoutOf(f, size, fields, fileOffsetOfPhysical, (va) => {
      const pa = this.space.translate(va);
      return pa === undefined ? undefined : fileOffsetOfPhysical(pa);
    });
    return { file, fields, layout };
  }

  // ---- the triage (small) dump ----

  private writeTriage(): { file: Uint8Array; fields: Map<string, Field>; layout: KernelDumpLayout } {
    const f = this.finalized!;
    const headerSize = this.headerTable().size;
    const triage = this.is64 ? TRIAGE64 : TRIAGE32;
    const ptr = this.is64 ? 8 : 4;
    const kd = f.structures.debuggerData;
    const chunks: { offset: number; bytes: Uint8Array }[] = [];
    const segments: Segment[] = [];
    let cursor = headerSize + (this.is64 ? TRIAGE64_SIZE : TRIAGE32_SIZE);
    const place = (bytes: Uint8Array, align = 8): number => {
      cursor = roundUpNumber(cursor, align);
      const at = cursor;
      chunks.push({ offset: at, bytes });
      cursor += bytes.length;
      return at;
    };
    const copy = (va: bigint, size: number): number => {
      const at = place(this.space.readVirtual(va, size));
      segments.push({ va: this.norm(va), size, offset: at });
      return at;
    };

    // DUMP_MM_STORAGE: Version 1 and its Size, as the real dumps.
    const mmSize = this.is64 ? MM_STORAGE64_SIZE : MM_STORAGE32_SIZE;
    const mm = new Uint8Array(mmSize);
    putValue(mm, 0, 4, 1);
    putValue(mm, 4, 4, mmSize);
    const mmOffset = place(mm);

    // MmUnloadedDrivers: a u32 count (64-bit: and 4 bytes of padding), then the entries.
    const u = this.is64 ? UNLOADED64 : UNLOADED32;
    const unloaded = new Uint8Array(u.header + this.unloaded.length * u.size);
    putValue(unloaded, 0, 4, this.unloaded.length);
    this.unloaded.forEach((d, i) => {
      const at = u.header + i * u.size;
      const name = d.name.slice(0, u.chars);
      putValue(unloaded, at, 2, name.length * 2);
      putValue(unloaded, at + 2, 2, name.length * 2);
      unloaded.set(utf16(name, false), at + u.name);
      putValue(unloaded, at + u.start, ptr as 4 | 8, d.start);
      putValue(unloaded, at + u.end, ptr as 4 | 8, d.end);
    });
    const unloadedOffset = place(unloaded);

    // Copies of the crashing processor's PRCB, its current thread and that thread's process.
    const prcb = f.structures.prcbs[f.crashProcessor]!;
    const prcbOffset = copy(prcb, Number(kd.get('SizePrcb')));
    const thread = f.crashThread;
    const threadRegion = thread ? f.threadRegions[this.threads.indexOf(thread)] : undefined;
    const processRegion = thread ? f.processRegions[this.threads.indexOf(thread)] : undefined;
    const processOffset = processRegion ? copy(processRegion.va, processRegion.size) : 0;
    const threadOffset = threadRegion ? copy(threadRegion.va, threadRegion.size) : 0;

    // The call stack from TopOfStack.
    let stack = this.callStack;
    const sp = this.sp();
    if (!stack && thread && sp !== undefined && this.norm(thread.stackBase) > this.norm(sp)) {
      const size = Number(bigMin(this.norm(thread.stackBase) - this.norm(sp), 0x4000n));
      stack = { top: this.norm(sp), bytes: this.space.readVirtual(sp, size) };
    }
    const callStackOffset = stack ? place(stack.bytes) : 0;
    if (stack) segments.push({ va: this.norm(stack.top), size: stack.bytes.length, offset: callStackOffset });

    // The debugger data block copy.
    const kdbgOffset = copy(f.structures.kdDebuggerDataBlock, f.kdSize);

    // The driver list and its string pool (DUMP_STRING: Length in characters, WCHARs, a NUL, each
    // 8-aligned). ntiodump.h's comment says Length is in bytes, but both real small dumps and rizin
    // count characters ("\SystemRoot\system32\ntoskrnl.exe" has Length 33): followed the files.
    const de = this.is64 ? DRIVER_ENTRY64 : DRIVER_ENTRY32;
    const kldr = this.is64 ? KLDR64 : KLDR32;
    const driverList = new Uint8Array(this.moduleSpecs.length * de.size);
    const driverListOffset = place(driverList);
    const fields = new Map<string, Field>();
    cursor = roundUpNumber(cursor, 8);
    const stringPoolOffset = cursor;
    this.moduleSpecs.forEach((m, i) => {
      const full = m.path ?? defaultPath(m.name);
      const s = new Uint8Array(4 + full.length * 2 + 2);
      putValue(s, 0, 4, full.length);
      s.set(utf16(full, true), 4);
      const nameOffset = place(s, 8);
      const at = i * de.size;
      putValue(driverList, at, 4, nameOffset);
      const ldr = at + de.ldr;
      putValue(driverList, ldr + kldr.DllBase, ptr as 4 | 8, this.norm(m.base));
      putValue(driverList, ldr + kldr.SizeOfImage, 4, m.size);
      putValue(driverList, ldr + kldr.CheckSum, 4, m.checksum ?? 0);
      putValue(driverList, ldr + kldr.TimeDateStamp, 4, m.timeDateStamp ?? 0);
      const base = driverListOffset + at;
      fields.set(`DriverList[${i}].DriverNameOffset`, { offset: base, width: 4 });
      fields.set(`DriverList[${i}].DllBase`, { offset: base + de.ldr + kldr.DllBase, width: ptr as 4 | 8 });
      fields.set(`DriverList[${i}].SizeOfImage`, { offset: base + de.ldr + kldr.SizeOfImage, width: 4 });
      fields.set(`DriverList[${i}].TimeDateStamp`, { offset: base + de.ldr + kldr.TimeDateStamp, width: 4 });
    });
    const stringPoolSize = roundUpNumber(cursor, 8) - stringPoolOffset;
    cursor = stringPoolOffset + stringPoolSize;

    // Data blocks: every other mapped range, less what the copies above already hold.
    const covered = [...segments];
    const blocks = mergeRanges(this.regions.map((r) => ({ va: this.norm(r.va), size: r.size })))
      .flatMap((r) => subtractRanges(r, covered))
      .filter((r) => r.size > 0);
    // TRIAGE_DATA_BLOCK { Address u64, Offset u32, Size u32 } on 32-bit kernels too, the address
    // sign-extended: the ARM32 small dump has 0xffffffff80e171a0 there (rizin's 12-byte
    // dmp32_triage_datablock does not match the file).
    const table = new Uint8Array(blocks.length * 16);
    const dataBlocksOffset = place(table);
    blocks.forEach((b, i) => {
      const bytes = this.space.readVirtual(b.va, b.size);
      const at = place(bytes, 1);
      segments.push({ va: b.va, size: b.size, offset: at });
      const e = i * 16;
      putValue(table, e, 8, this.pointer64(b.va));
      putValue(table, e + 8, 4, at);
      putValue(table, e + 12, 4, b.size);
      const base = dataBlocksOffset + e;
      fields.set(`DataBlocks[${i}].Address`, { offset: base, width: 8 });
      fields.set(`DataBlocks[${i}].Offset`, { offset: base + 8, width: 4 });
      fields.set(`DataBlocks[${i}].Size`, { offset: base + 12, width: 4 });
    });

    const validOffset = roundUpNumber(cursor, 4);
    const size = validOffset + 4;
    const file = new Uint8Array(size);
    this.writeHeader(file, f, size, fields);
    for (const c of chunks) file.set(c.bytes, c.offset);
    putValue(file, validOffset, 4, TRIAGE_VALID);

    const { areas } = this.headerTable();
    const exceptionOffset = this.is64 ? 0xf00 : 0x7d0;
    const values: Record<string, bigint | number> = {
      ServicePackBuild: 0,
      SizeOfDump: size,
      ValidOffset: validOffset,
      ContextOffset: areas.context.offset,
      ExceptionOffset: exceptionOffset,
      MmOffset: mmOffset,
      UnloadedDriversOffset: unloadedOffset,
      PrcbOffset: prcbOffset,
      ProcessOffset: processOffset,
      ThreadOffset: threadOffset,
      CallStackOffset: callStackOffset,
      SizeOfCallStack: stack?.bytes.length ?? 0,
      DriverListOffset: driverListOffset,
      DriverCount: this.moduleSpecs.length,
      StringPoolOffset: stringPoolOffset,
      StringPoolSize: stringPoolSize,
      BrokenDriverOffset: 0,
      TriageOptions: 0xffffffff,
      TopOfStack: stack?.top ?? sp ?? 0n,
      DataPageAddress: 0,
      DataPageOffset: 0,
      DataPageSize: 0,
      DebuggerDataOffset: kdbgOffset,
      DebuggerDataSize: f.kdSize,
      DataBlocksOffset: dataBlocksOffset,
      DataBlocksCount: blocks.length,
    };
    for (const [name, field] of Object.entries(triage)) {
      const at = headerSize + field.offset;
      putValue(file, at, field.width, values[name] ?? 0);
      fields.set(`Triage.${name}`, { offset: at, width: field.width });
    }

    const fileOffsetOf = (va: bigint): number | undefined => {
      const v = this.norm(va);
      const s = segments.find((seg) => v >= seg.va && v < seg.va + BigInt(seg.size));
      return s ? s.offset + Number(v - s.va) : undefined;
    };
    const layout = this.layoutOf(f, size, fields, () => undefined, fileOffsetOf);
    return { file, fields, layout };
  }

  private layoutOf(
    f: Finalized,
    size: number,
    fields: Map<string, Field>,
    fileOffsetOfPhysical: (pa: bigint) => number | undefined,
    fileOffsetOf: (va: bigint) => number | undefined,
  ): KernelDumpLayout {
    const s = f.structures;
    return {
      arch: this.arch,
      kind: this.kind,
      dumpType: DUMP_TYPE[this.kind],
      size,
      headerSize: this.headerTable().size,
      dtb: this.space.dtb,
      kdDebuggerDataBlock: s.kdDebuggerDataBlock,
      psLoadedModuleList: s.psLoadedModuleList,
      kiProcessorBlock: s.kiProcessorBlock,
      prcbs: s.prcbs,
      modules: s.modules,
      debuggerData: s.debuggerData,
      fields,
      field: (name) => {
        const field = fields.get(name);
        if (!field) throw new Error(`no field '${name}' in this ${this.kind} dump`);
        return field;
      },
      fileOffsetOf,
      physicalOf: (va) => this.space.translate(va),
      fileOffsetOfPhysical,
    };
  }
}

/** The kernel structures the builder placed in memory. */
export interface KernelStructures {
  readonly kdDebuggerDataBlock: bigint;
  readonly psLoadedModuleList: bigint;
  readonly kiProcessorBlock: bigint;
  readonly prcbs: readonly bigint[];
  readonly modules: readonly LaidOutModule[];
  readonly debuggerData: ReadonlyMap<string, bigint>;
}

interface Finalized {
  readonly structures: KernelStructures;
  readonly kdSize: number;
  readonly processors: number;
  readonly crashProcessor: number;
  readonly crashThread: KernelThreadSpec | undefined;
  readonly threadRegions: readonly { va: bigint; size: number }[];
  readonly processRegions: readonly { va: bigint; size: number }[];
}

function contextBytes(arch: KernelArch, regs: RegisterValues): Uint8Array {
  if (arch === 'amd64') return amd64Context(regs);
  if (arch === 'arm64') return arm64Context(regs);
  return x86Context(regs);
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('\\') + 1);
}

function defaultPath(name: string): string {
  if (name.includes('\\')) return name;
  const lower = name.toLowerCase();
  const system = lower.startsWith('ntoskrnl') || lower.startsWith('ntkrnl') || lower === 'hal.dll' || lower === 'kd.dll';
  return system ? `\\SystemRoot\\system32\\${name}` : `\\SystemRoot\\system32\\drivers\\${name}`;
}

/** A minimal PE image header: MZ, e_lfanew 0x80, 'PE\0\0', IMAGE_FILE_HEADER, the optional header up to CheckSum. */
function peHeader(arch: KernelArch, m: KernelModuleSpec): Uint8Array {
  const out = new Uint8Array(0x200);
  putValue(out, 0, 2, 0x5a4d);
  putValue(out, 0x3c, 4, 0x80);
  putValue(out, 0x80, 4, 0x00004550);
  putValue(out, 0x84, 2, MACHINE[arch]);
  putValue(out, 0x88, 4, m.timeDateStamp ?? 0);
  const pe32plus = arch === 'amd64' || arch === 'arm64';
  putValue(out, 0x94, 2, pe32plus ? 0xf0 : 0xe0); // SizeOfOptionalHeader
  putValue(out, 0x96, 2, 0x22); // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
  const opt = 0x98;
  putValue(out, opt, 2, pe32plus ? 0x20b : 0x10b);
  putValue(out, opt + 56, 4, m.size); // SizeOfImage
  putValue(out, opt + 60, 4, 0x400); // SizeOfHeaders
  putValue(out, opt + 64, 4, m.checksum ?? 0); // CheckSum
  putValue(out, opt + 68, 2, 1); // Subsystem: native
  return out;
}

function utf16(text: string, nul: boolean): Uint8Array {
  const out = new Uint8Array(text.length * 2 + (nul ? 2 : 0));
  for (let i = 0; i < text.length; i++) putValue(out, i * 2, 2, text.charCodeAt(i));
  return out;
}

function littleEndian(value: bigint, width: 1 | 2 | 4 | 8): Uint8Array {
  const out = new Uint8Array(width);
  putValue(out, 0, width, value);
  return out;
}

/** Writes the low `width` bytes of a number, or a byte string, at an offset. */
function putValue(out: Uint8Array, offset: number, width: 1 | 2 | 4 | 8, value: PatchValue): void {
  if (value instanceof Uint8Array) {
    out.set(value, offset);
    return;
  }
  let v = BigInt.asUintN(width * 8, BigInt(value));
  for (let i = 0; i < width; i++) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function contiguousRuns(frames: readonly bigint[]): { base: bigint; count: bigint }[] {
  const runs: { base: bigint; count: bigint }[] = [];
  for (const pfn of frames) {
    const last = runs[runs.length - 1];
    if (last && last.base + last.count === pfn) last.count++;
    else runs.push({ base: pfn, count: 1n });
  }
  return runs;
}

function mergeRanges(ranges: readonly { va: bigint; size: number }[]): { va: bigint; size: number }[] {
  const sorted = [...ranges].filter((r) => r.size > 0).sort((a, b) => (a.va < b.va ? -1 : a.va > b.va ? 1 : 0));
  const out: { va: bigint; end: bigint }[] = [];
  for (const r of sorted) {
    const end = r.va + BigInt(r.size);
    const last = out[out.length - 1];
    if (last && r.va <= last.end) last.end = bigMax(last.end, end);
    else out.push({ va: r.va, end });
  }
  return out.map((r) => ({ va: r.va, size: Number(r.end - r.va) }));
}

function subtractRanges(range: { va: bigint; size: number }, holes: readonly { va: bigint; size: number }[]): { va: bigint; size: number }[] {
  let pieces = [{ va: range.va, end: range.va + BigInt(range.size) }];
  for (const h of holes) {
    const hEnd = h.va + BigInt(h.size);
    pieces = pieces.flatMap((p) => {
      if (hEnd <= p.va || h.va >= p.end) return [p];
      const out: { va: bigint; end: bigint }[] = [];
      if (h.va > p.va) out.push({ va: p.va, end: h.va });
      if (hEnd < p.end) out.push({ va: hEnd, end: p.end });
      return out;
    });
  }
  return pieces.map((p) => ({ va: p.va, size: Number(p.end - p.va) }));
}

function roundUp(v: bigint, to: bigint): bigint {
  return ((v + to - 1n) / to) * to;
}

function roundUpNumber(v: number, to: number): number {
  return Math.ceil(v / to) * to;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
