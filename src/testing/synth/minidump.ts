// Test support: a fluent builder that writes minidump bytes (after rust-minidump's minidump-synth),
// so a test states exactly the streams it needs. Layout: header, directory, stream bodies in the
// order they were first added, then everything the streams point at (strings, contexts, memory),
// and last the Memory64List's bytes (as MiniDumpWriteDump lays them out), which may be LazyBytes:
// `chunks()` then writes a dump of any size piece by piece without holding it in memory.
// Structure layouts follow minidumpapiset.h and Breakpad's minidump_format.h; the constants here are
// written out independently of the reader's, so a wrong constant there fails a test.
import { BufferSource } from '../../io/byte-source.js';
import { Label, Section, StackBuilder, valueOf, type Value } from './section.js';

export const Stream = {
  ThreadList: 3,
  ModuleList: 4,
  MemoryList: 5,
  Exception: 6,
  SystemInfo: 7,
  Memory64List: 9,
  UnloadedModuleList: 14,
  MiscInfo: 15,
  MemoryInfoList: 16,
  ThreadInfoList: 17,
  ThreadNameList: 24,
  BreakpadInfo: 0x47670001,
  BreakpadAssertionInfo: 0x47670002,
  LinuxCpuInfo: 0x47670003,
  LinuxProcStatus: 0x47670004,
  LinuxLsbRelease: 0x47670005,
  LinuxCmdLine: 0x47670006,
  LinuxMaps: 0x47670009,
  CrashpadInfo: 0x43500001,
} as const;

/** SYSTEM_INFO.ProcessorArchitecture; 'arm64-old' is Breakpad's 0x8003. */
const ARCHITECTURE = { x86: 0, arm: 5, amd64: 9, arm64: 12, 'arm64-old': 0x8003 } as const;
/** SYSTEM_INFO.PlatformId, with Breakpad's values for the others. */
const PLATFORM = { windows: 2, linux: 0x8201, mac: 0x8101, ios: 0x8102, android: 0x8203 } as const;

export interface SystemInfoSpec {
  readonly cpu: keyof typeof ARCHITECTURE | number;
  readonly platform: keyof typeof PLATFORM | number;
  readonly version?: readonly [major: number, minor: number, build: number];
  readonly csd?: string;
  /** ProcessorLevel and ProcessorRevision (x86 family, model << 8 | stepping). */
  readonly level?: number;
  readonly revision?: number;
  readonly cpuCount?: number;
  /** x86 CPUID vendor, 12 characters. */
  readonly vendor?: string;
  /** CPU_INFORMATION as six u32 words instead of the vendor (ARM: cpuid, ELF hwcaps). */
  readonly cpuInformation?: readonly number[];
}

/** A thread's stack: a built StackBuilder, or raw bytes at an address. */
export type StackSpec = StackBuilder | { readonly base: Value; readonly bytes: Uint8Array };

export interface ThreadSpec {
  readonly id: number;
  readonly context?: Uint8Array;
  readonly stack?: StackSpec;
  readonly teb?: Value;
  readonly suspendCount?: number;
  readonly priorityClass?: number;
  readonly priority?: number;
}

export interface ModuleSpec {
  readonly base: Value;
  readonly size: number;
  /** The file name, or the raw bytes of a MINIDUMP_STRING (length prefix included) for hostile tests. */
  readonly name: string | Uint8Array;
  readonly timeDateStamp?: number;
  readonly checksum?: number;
  /** VS_FIXEDFILEINFO file version a.b.c.d. */
  readonly version?: readonly [number, number, number, number];
  /** A CodeView record: see `rsds`, `nb10`, `elfBuildId`. */
  readonly codeView?: Uint8Array;
}

export interface UnloadedModuleSpec {
  readonly base: Value;
  readonly size: number;
  readonly name: string;
  readonly timeDateStamp?: number;
  readonly checksum?: number;
}

export interface ExceptionSpec {
  readonly threadId: number;
  readonly code: number;
  readonly flags?: number;
  readonly address: Value;
  readonly parameters?: readonly Value[];
  /** NumberParameters as written; defaults to parameters.length. */
  readonly parameterCount?: number;
  readonly context?: Uint8Array;
}

export interface MemoryInfoSpec {
  readonly base: Value;
  readonly size: Value;
  readonly allocationBase?: Value;
  readonly allocationProtect?: number;
  readonly state?: number;
  readonly protect?: number;
  readonly type?: number;
}

export interface ThreadInfoSpec {
  readonly id: number;
  readonly startAddress: Value;
  readonly createTime?: Value;
  readonly affinity?: Value;
}

export interface CrashpadSpec {
  /** Dashed GUIDs. */
  readonly reportId?: string;
  readonly clientId?: string;
  readonly simpleAnnotations?: Readonly<Record<string, string>>;
  readonly modules?: readonly {
    readonly moduleIndex: number;
    readonly listAnnotations?: readonly string[];
    readonly simpleAnnotations?: Readonly<Record<string, string>>;
  }[];
}

/** Bytes made on demand: `chunks()` yields exactly `size` bytes in pieces, each time it is called. */
export interface LazyBytes {
  readonly size: number;
  readonly chunks: () => Iterable<Uint8Array>;
}

/** A MINIDUMP_LOCATION_DESCRIPTOR whose numbers are known once the file is laid out. */
export interface Location {
  readonly size: Label;
  readonly rva: Label;
}

/** What a stream writer may put after the streams. */
export type Place = (content: Uint8Array | ((s: Section) => void)) => Location;
export type StreamWriter = (s: Section, place: Place) => void;

/** Places bytes after everything else, in call order, and gives their file offset (an RVA64). */
type PlaceLast = (content: Uint8Array | LazyBytes) => Label;
type LayoutWriter = (s: Section, place: Place, placeLast: PlaceLast) => void;

export interface MinidumpOptions {
  /** Write the 4 padding bytes some writers put after the count of thread, module and memory lists. */
  readonly countPadding?: boolean;
  readonly timeDateStamp?: number;
  /** MINIDUMP_HEADER.Version (low 16 bits: 0xa793). */
  readonly version?: number;
  /** MINIDUMP_HEADER.Flags: the MINIDUMP_TYPE the writer was asked for. */
  readonly flags?: bigint;
}

export class SynthMinidump {
  private readonly options: MinidumpOptions;
  private readonly streams = new Map<number, LayoutWriter>();
  private readonly lists = new Map<number, unknown[]>();

  constructor(options: MinidumpOptions = {}) {
    this.options = options;
  }

  /** A stream written by the test itself: for hostile input and streams the builder lacks. */
  stream(type: number, content: Uint8Array | StreamWriter): this {
    if (this.streams.has(type)) throw new Error(`stream 0x${type.toString(16)} added twice`);
    this.streams.set(type, content instanceof Uint8Array ? (s) => s.bytes(content) : (s, place) => content(s, place));
    return this;
  }

  systemInfo(spec: SystemInfoSpec): this {
    return this.stream(Stream.SystemInfo, (s, place) => {
      // MINIDUMP_SYSTEM_INFO, 56 bytes.
      const [major, minor, build] = spec.version ?? [10, 0, 19041];
      s.u16(typeof spec.cpu === 'number' ? spec.cpu : ARCHITECTURE[spec.cpu]);
      s.u16(spec.level ?? 6).u16(spec.revision ?? 0x9e0a).u8(spec.cpuCount ?? 4).u8(1);
      s.u32(major).u32(minor).u32(build);
      s.u32(typeof spec.platform === 'number' ? spec.platform : PLATFORM[spec.platform]);
      s.u32(spec.csd === undefined ? 0 : place(minidumpString(spec.csd)).rva);
      s.u16(0).u16(0);
      if (spec.cpuInformation) {
        for (let i = 0; i < 6; i++) s.u32(spec.cpuInformation[i] ?? 0);
        return;
      }
      const vendor = new Uint8Array(12);
      vendor.set(new TextEncoder().encode(spec.vendor ?? '').subarray(0, 12));
      s.bytes(vendor).u32(0).u32(0).u32(0);
    });
  }

  thread(spec: ThreadSpec): this {
    return this.list(Stream.ThreadList, spec, (s, place, threads: ThreadSpec[]) => {
      this.count(s, threads.length);
      for (const t of threads) {
        // MINIDUMP_THREAD, 48 bytes.
        s.u32(t.id).u32(t.suspendCount ?? 0).u32(t.priorityClass ?? 0x20).u32(t.priority ?? 0).u64(t.teb ?? 0);
        const stack = t.stack ? stackBytes(t.stack) : undefined;
        s.u64(stack?.base ?? 0);
        location(s, stack ? place(stack.bytes) : undefined);
        location(s, t.context ? place(t.context) : undefined);
      }
    });
  }

  module(spec: ModuleSpec): this {
    return this.list(Stream.ModuleList, spec, (s, place, modules: ModuleSpec[]) => {
      this.count(s, modules.length);
      for (const m of modules) {
        // MINIDUMP_MODULE, 108 bytes.
        s.u64(m.base).u32(m.size).u32(m.checksum ?? 0).u32(m.timeDateStamp ?? 0);
        s.u32(place(typeof m.name === 'string' ? minidumpString(m.name) : m.name).rva);
        fixedFileInfo(s, m.version);
        location(s, m.codeView ? place(m.codeView) : undefined);
        location(s, undefined); // MiscRecord
        s.u64(0).u64(0);
      }
    });
  }

  unloadedModule(spec: UnloadedModuleSpec): this {
    return this.list(Stream.UnloadedModuleList, spec, (s, place, modules: UnloadedModuleSpec[]) => {
      s.u32(12).u32(24).u32(modules.length);
      for (const m of modules) {
        // MINIDUMP_UNLOADED_MODULE, 24 bytes.
        s.u64(m.base).u32(m.size).u32(m.checksum ?? 0).u32(m.timeDateStamp ?? 0).u32(place(minidumpString(m.name)).rva);
      }
    });
  }

  /** A MemoryList range. */
  memory(base: Value, bytes: Uint8Array): this {
    return this.list(Stream.MemoryList, { base, bytes }, (s, place, ranges: { base: Value; bytes: Uint8Array }[]) => {
      this.count(s, ranges.length);
      for (const r of ranges) location(s.u64(r.base), place(r.bytes));
    });
  }

  /**
   * A Memory64List range; all ranges' bytes follow each other from BaseRva, at the end of the file.
   * LazyBytes are made only when the dump is written, so `chunks()` can write gigabytes.
   */
  memory64(base: Value, bytes: Uint8Array | LazyBytes): this {
    return this.list(Stream.Memory64List, { base, bytes }, (s, _place, ranges: { base: Value; bytes: Uint8Array | LazyBytes }[], placeLast) => {
      // MINIDUMP_MEMORY64_LIST: NumberOfMemoryRanges, BaseRva, then 16-byte MINIDUMP_MEMORY_DESCRIPTOR64s.
      const rvas = ranges.map((r) => placeLast(r.bytes));
      s.u64(ranges.length).u64(rvas[0]!);
      for (const r of ranges) s.u64(r.base).u64(size(r.bytes));
    });
  }

  memoryInfo(spec: MemoryInfoSpec): this {
    return this.list(Stream.MemoryInfoList, spec, (s, _place, infos: MemoryInfoSpec[]) => {
      s.u32(16).u32(48).u64(infos.length);
      for (const m of infos) {
        // MINIDUMP_MEMORY_INFO, 48 bytes.
        s.u64(m.base).u64(m.allocationBase ?? m.base).u32(m.allocationProtect ?? 0).u32(0).u64(m.size);
        s.u32(m.state ?? 0x1000).u32(m.protect ?? 0).u32(m.type ?? 0).u32(0);
      }
    });
  }

  exception(spec: ExceptionSpec): this {
    return this.stream(Stream.Exception, (s, place) => {
      // MINIDUMP_EXCEPTION_STREAM, 168 bytes.
      const parameters = spec.parameters ?? [];
      s.u32(spec.threadId).u32(0);
      s.u32(spec.code).u32(spec.flags ?? 0).u64(0).u64(spec.address).u32(spec.parameterCount ?? parameters.length).u32(0);
      for (let i = 0; i < 15; i++) s.u64(parameters[i] ?? 0);
      location(s, spec.context ? place(spec.context) : undefined);
    });
  }

  miscInfo(spec: { readonly processId?: number; readonly createTime?: number }): this {
    return this.stream(Stream.MiscInfo, (s) => {
      // MINIDUMP_MISC_INFO, 24 bytes; Flags1 bit 0: process id, bit 1: process times.
      const flags = (spec.processId !== undefined ? 1 : 0) | (spec.createTime !== undefined ? 2 : 0);
      s.u32(24).u32(flags).u32(spec.processId ?? 0).u32(spec.createTime ?? 0).u32(0).u32(0);
    });
  }

  threadInfo(spec: ThreadInfoSpec): this {
    return this.list(Stream.ThreadInfoList, spec, (s, _place, infos: ThreadInfoSpec[]) => {
      s.u32(12).u32(64).u32(infos.length);
      for (const t of infos) {
        // MINIDUMP_THREAD_INFO, 64 bytes.
        s.u32(t.id).u32(0).u32(0).u32(0).u64(t.createTime ?? 0).u64(0).u64(0).u64(0).u64(t.startAddress).u64(t.affinity ?? 1);
      }
    });
  }

  threadName(id: number, name: string): this {
    return this.list(Stream.ThreadNameList, { id, name }, (s, place, names: { id: number; name: string }[]) => {
      this.count(s, names.length);
      // MINIDUMP_THREAD_NAME, packed to 12 bytes: ThreadId, RVA64 of a MINIDUMP_STRING.
      for (const n of names) s.u32(n.id).u64(place(minidumpString(n.name)).rva);
    });
  }

  breakpadInfo(spec: { readonly dumpThreadId?: number; readonly requestingThreadId?: number }): this {
    return this.stream(Stream.BreakpadInfo, (s) => {
      const validity = (spec.dumpThreadId !== undefined ? 1 : 0) | (spec.requestingThreadId !== undefined ? 2 : 0);
      s.u32(validity).u32(spec.dumpThreadId ?? 0).u32(spec.requestingThreadId ?? 0);
    });
  }

  /** Breakpad's MDRawAssertionInfo; each text is cut to 127 UTF-16 units and NUL-ended, as the handler writes it. */
  assertion(spec: { readonly expression?: string; readonly function?: string; readonly file?: string; readonly line?: number; readonly type: number }): this {
    return this.stream(Stream.BreakpadAssertionInfo, (s) => {
      for (const text of [spec.expression, spec.function, spec.file]) {
        const units = new Uint16Array(128);
        for (let i = 0; i < Math.min((text ?? '').length, 127); i++) units[i] = text!.charCodeAt(i);
        for (const u of units) s.u16(u);
      }
      s.u32(spec.line ?? 0).u32(spec.type);
    });
  }

  crashpadInfo(spec: CrashpadSpec): this {
    return this.stream(Stream.CrashpadInfo, (s, place) => {
      // MinidumpCrashpadInfo: version, report_id, client_id, simple_annotations, module_list.
      s.u32(1).bytes(guidBytes(spec.reportId ?? '00000000-0000-0000-0000-000000000000'));
      s.bytes(guidBytes(spec.clientId ?? '00000000-0000-0000-0000-000000000000'));
      location(s, spec.simpleAnnotations ? place(dictionary(spec.simpleAnnotations, place)) : undefined);
      const modules = spec.modules;
      location(
        s,
        modules
          ? place((list) => {
              list.u32(modules.length);
              for (const m of modules) {
                const info = place((i) => {
                  // MinidumpModuleCrashpadInfo: version, list_annotations, simple_annotations.
                  i.u32(1);
                  location(i, m.listAnnotations ? place(stringList(m.listAnnotations, place)) : undefined);
                  location(i, m.simpleAnnotations ? place(dictionary(m.simpleAnnotations, place)) : undefined);
                });
                location(list.u32(m.moduleIndex), info);
              }
            })
          : undefined,
      );
    });
  }

  /** A Breakpad Linux text stream (/proc/self/maps, cpuinfo, ...). */
  linuxText(type: number, text: string): this {
    return this.stream(type, new TextEncoder().encode(text));
  }

  /** The whole dump in memory; LazyBytes ranges are made and copied in. */
  build(): Uint8Array {
    const { head, last } = this.layout();
    const out = new Uint8Array(head.length + last.reduce((n, c) => n + size(c), 0));
    out.set(head);
    let at = head.length;
    for (const content of last) {
      for (const piece of pieces(content)) {
        out.set(piece, at);
        at += piece.length;
      }
    }
    return out;
  }

  /**
   * The dump as pieces to write one after the other: everything but the Memory64List's bytes in one
   * piece, then each range's bytes as given or as its LazyBytes yields them. Nothing is held beyond
   * the piece at hand, so a dump of gigabytes needs only its structure in memory.
   */
  *chunks(): Generator<Uint8Array, void, undefined> {
    const { head, last } = this.layout();
    yield head;
    for (const content of last) yield* pieces(content);
  }

  private layout(): { head: Uint8Array; last: readonly (Uint8Array | LazyBytes)[] } {
    const file = new Section(0n);
    const pending: (() => void)[] = [];
    const place: Place = (content) => {
      const loc = { size: new Label('size'), rva: new Label('rva') };
      pending.push(() => {
        file.align(4).mark(loc.rva);
        if (content instanceof Uint8Array) file.bytes(content);
        else content(file);
        loc.size.set(file.here - loc.rva.value);
      });
      return loc;
    };
    const last: { content: Uint8Array | LazyBytes; rva: Label }[] = [];
    const placeLast: PlaceLast = (content) => {
      const rva = new Label('rva64');
      last.push({ content, rva });
      return rva;
    };

    const streams = [...this.streams];
    const directory = new Label('directory');
    // MINIDUMP_HEADER, 32 bytes.
    file.u32(0x504d444d).u32(this.options.version ?? 0xa793).u32(streams.length).u32(directory);
    file.u32(0).u32(this.options.timeDateStamp ?? 0x5f000000).u64(this.options.flags ?? 0n);
    file.mark(directory);
    const bodies = streams.map(([type]) => {
      const loc = { size: new Label(`stream ${type} size`), rva: new Label(`stream ${type} rva`) };
      file.u32(type);
      location(file, loc);
      return loc;
    });
    streams.forEach(([, write], i) => {
      const loc = bodies[i]!;
      file.align(4).mark(loc.rva);
      write(file, place, placeLast);
      loc.size.set(file.here - loc.rva.value);
    });
    for (let i = 0; i < pending.length; i++) pending[i]!();
    file.align(4);
    let at = file.here;
    for (const l of last) {
      l.rva.set(at);
      at += BigInt(size(l.content));
    }
    return { head: file.finish(), last: last.map((l) => l.content) };
  }

  /** The dump as a ByteSource, for readMinidump. */
  source(name = 'synth.dmp'): BufferSource {
    return new BufferSource(this.build(), name);
  }

  private list<T>(type: number, item: T, write: (s: Section, place: Place, items: T[], placeLast: PlaceLast) => void): this {
    let items = this.lists.get(type) as T[] | undefined;
    if (!items) {
      if (this.streams.has(type)) throw new Error(`stream 0x${type.toString(16)} added twice`);
      items = [];
      this.lists.set(type, items);
      const all = items;
      this.streams.set(type, (s, place, placeLast) => write(s, place, all, placeLast));
    }
    items.push(item);
    return this;
  }

  private count(s: Section, n: number): void {
    s.u32(n);
    if (this.options.countPadding) s.u32(0);
  }
}

function size(content: Uint8Array | LazyBytes): number {
  return content instanceof Uint8Array ? content.length : content.size;
}

/** The bytes of a range in pieces; LazyBytes that yield more or fewer bytes than they promised throw. */
function* pieces(content: Uint8Array | LazyBytes): Generator<Uint8Array, void, undefined> {
  if (content instanceof Uint8Array) {
    yield content;
    return;
  }
  let made = 0;
  for (const piece of content.chunks()) {
    made += piece.length;
    if (made > content.size) throw new Error(`LazyBytes yielded more than its ${content.size} bytes`);
    yield piece;
  }
  if (made !== content.size) throw new Error(`LazyBytes yielded ${made} of its ${content.size} bytes`);
}

function location(s: Section, loc: Location | undefined): Section {
  return loc ? s.u32(loc.size).u32(loc.rva) : s.u32(0).u32(0);
}

function stackBytes(stack: StackSpec): { base: bigint; bytes: Uint8Array } {
  return stack instanceof StackBuilder ? { base: stack.start, bytes: stack.finish() } : { base: valueOf(stack.base), bytes: stack.bytes };
}

/** VS_FIXEDFILEINFO, 52 bytes; all zero (no signature) without a version. */
function fixedFileInfo(s: Section, version: readonly [number, number, number, number] | undefined): void {
  if (!version) {
    s.fill(52);
    return;
  }
  const [a, b, c, d] = version;
  const ms = ((a << 16) | b) >>> 0;
  const ls = ((c << 16) | d) >>> 0;
  s.u32(0xfeef04bd).u32(0x00010000).u32(ms).u32(ls).u32(ms).u32(ls).fill(7 * 4);
}

/** MINIDUMP_STRING: byte length, UTF-16LE code units, and a terminating NUL not counted. */
export function minidumpString(text: string): Uint8Array {
  const s = new Section().u32(text.length * 2);
  for (let i = 0; i < text.length; i++) s.u16(text.charCodeAt(i));
  return s.u16(0).finish();
}

/** Crashpad's MinidumpUTF8String: byte length, UTF-8, NUL. */
export function utf8String(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return new Section().u32(bytes.length).bytes(bytes).u8(0).finish();
}

function dictionary(entries: Readonly<Record<string, string>>, place: Place): (s: Section) => void {
  return (s) => {
    const pairs = Object.entries(entries);
    s.u32(pairs.length);
    for (const [key, value] of pairs) s.u32(place(utf8String(key)).rva).u32(place(utf8String(value)).rva);
  };
}

function stringList(items: readonly string[], place: Place): (s: Section) => void {
  return (s) => {
    s.u32(items.length);
    for (const item of items) s.u32(place(utf8String(item)).rva);
  };
}

/** A GUID written as Windows stores it: Data1..Data3 little-endian, Data4 as bytes. */
export function guidBytes(dashed: string): Uint8Array {
  const hex = dashed.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a GUID: ${dashed}`);
  const s = new Section()
    .u32(Number.parseInt(hex.slice(0, 8), 16))
    .u16(Number.parseInt(hex.slice(8, 12), 16))
    .u16(Number.parseInt(hex.slice(12, 16), 16));
  for (let i = 16; i < 32; i += 2) s.u8(Number.parseInt(hex.slice(i, i + 2), 16));
  return s.finish();
}

/** CodeView PDB 7.0 record: 'RSDS', GUID, age, PDB file name. */
export function rsds(guid: string, age: number, pdbFile: string): Uint8Array {
  return new Section().u32(0x53445352).bytes(guidBytes(guid)).u32(age).bytes(new TextEncoder().encode(pdbFile)).u8(0).finish();
}

/** CodeView PDB 2.0 record: 'NB10', offset, signature (a timestamp), age, PDB file name. */
export function nb10(signature: number, age: number, pdbFile: string): Uint8Array {
  return new Section().u32(0x3031424e).u32(0).u32(signature).u32(age).bytes(new TextEncoder().encode(pdbFile)).u8(0).finish();
}

/** Breakpad's ELF CodeView record: 'BpEL' and the build id bytes. */
export function elfBuildId(buildId: Uint8Array | readonly number[]): Uint8Array {
  return new Section().u32(0x4270454c).bytes(buildId).finish();
}
