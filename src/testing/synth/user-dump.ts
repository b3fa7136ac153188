// Test support: a fluent builder that writes legacy full user-mode dumps (USERDU64 / USERDUMP), so
// a test states the threads, modules, memory and debug event it needs and gets a file the userdump
// reader must read. Parts are laid out in the order the kdlib corpus dump has them: header, debug
// event, memory region list, thread contexts, thread states, modules, memory data, version strings.
// The structure sizes are written out here on their own (from the WDK's ntiodump.h names and the
// Windows SDK's MEMORY_BASIC_INFORMATION/DEBUG_EVENT), not taken from the reader.
import { amd64Context, x86Context, type RegisterValues } from './context.js';

export type UserDumpWidth = 32 | 64;

export interface UserDumpThreadSpec {
  readonly id: number;
  /** Registers for the CONTEXT the builder encodes (amd64 for machine 0x8664, x86 for 0x14c). */
  readonly registers?: RegisterValues;
  /** The CONTEXT record's bytes as they are, instead of `registers`. */
  readonly context?: Uint8Array;
  readonly teb?: bigint;
  readonly suspendCount?: number;
  readonly priorityClass?: number;
  readonly priority?: number;
}

export interface UserDumpRegionSpec {
  readonly base: bigint;
  readonly bytes: Uint8Array;
  readonly allocationBase?: bigint;
  readonly allocationProtect?: number;
  /** MEM_COMMIT (0x1000) unless given. */
  readonly state?: number;
  /** PAGE_READWRITE (4) unless given. */
  readonly protect?: number;
  /** MEM_PRIVATE (0x20000) unless given. */
  readonly type?: number;
}

export interface UserDumpModuleSpec {
  readonly base: bigint;
  readonly size: number;
  readonly name: string;
}

export interface UserDumpExceptionSpec {
  readonly threadId: number;
  readonly processId?: number;
  readonly code: number;
  readonly flags?: number;
  readonly address: bigint;
  readonly parameters?: readonly bigint[];
  /** NumberParameters as written, when it should differ from `parameters.length`. */
  readonly numberParameters?: number;
  readonly firstChance?: boolean;
}

/** The built file, and where its parts and header fields are, for tests that damage them. */
export interface UserDumpFile {
  readonly bytes: Uint8Array;
  /** File offset of a header field ('ThreadCount', 'DataOffset', ...) or of a part ('threads', 'threadStates', 'modules', 'data', ...). */
  offsetOf(name: string): number;
}

const HEADER_FIELDS = [
  'Signature', 'ValidDump', 'MajorVersion', 'MinorVersion', 'MachineImageType', 'ThreadCount', 'ModuleCount', 'MemoryRegionCount',
  'ThreadOffset', 'ModuleOffset', 'DataOffset', 'MemoryRegionOffset', 'DebugEventOffset', 'ThreadStateOffset', 'VersionInfoOffset', 'Spare1',
] as const;

class Bytes {
  private buffer = new Uint8Array(1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
  put(bytes: Uint8Array | readonly number[]): this {
    this.room(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.put(b);
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return this.put(b);
  }
  ptr(width: UserDumpWidth, v: bigint): this {
    return width === 64 ? this.u64(v) : this.u32(Number(BigInt.asUintN(32, v)));
  }
  zeros(n: number): this {
    return this.put(new Uint8Array(n));
  }
  setU32(at: number, v: number): void {
    new DataView(this.buffer.buffer).setUint32(at, v >>> 0, true);
  }
  setU64(at: number, v: bigint): void {
    new DataView(this.buffer.buffer).setBigUint64(at, v, true);
  }
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class UserDumpBuilder {
  readonly width: UserDumpWidth;
  readonly machine: number;
  private majorVersion = 10;
  private minorVersion = 19041 << 16;
  private readonly threads: UserDumpThreadSpec[] = [];
  private readonly modules: UserDumpModuleSpec[] = [];
  private readonly regions: UserDumpRegionSpec[] = [];
  private event: { code: number; processId: number; threadId: number; exception: UserDumpExceptionSpec | undefined } | undefined;
  private strings: readonly (readonly [string, string])[] = [
    ['CRASH: OS SP', 'none'],
    ['CRASH: Hotfixes', 'none'],
  ];

  /** A 64-bit (USERDU64) dump of an x64 process by default; `machine` 0x14c gives x86 contexts. */
  constructor(options: { width?: UserDumpWidth; machine?: number } = {}) {
    this.width = options.width ?? 64;
    this.machine = options.machine ?? (this.width === 64 ? 0x8664 : 0x14c);
  }

  /** The OS version the header records: MinorVersion holds the minor version and, in its high word, the build. */
  version(major: number, minor: number, build: number): this {
    this.majorVersion = major;
    this.minorVersion = ((build << 16) | minor) >>> 0;
    return this;
  }

  thread(spec: UserDumpThreadSpec): this {
    this.threads.push(spec);
    return this;
  }

  module(spec: UserDumpModuleSpec): this {
    this.modules.push(spec);
    return this;
  }

  memory(spec: UserDumpRegionSpec): this {
    this.regions.push(spec);
    return this;
  }

  /** An EXCEPTION_DEBUG_EVENT: the event the debugger stopped at. */
  exception(spec: UserDumpExceptionSpec): this {
    this.event = { code: 1, processId: spec.processId ?? 0x1234, threadId: spec.threadId, exception: spec };
    return this;
  }

  /** A debug event of another kind (2 create thread ... 9 RIP), with no exception record. */
  debugEvent(code: number, processId: number, threadId: number): this {
    this.event = { code, processId, threadId, exception: undefined };
    return this;
  }

  versionStrings(pairs: readonly (readonly [string, string])[]): this {
    this.strings = pairs;
    return this;
  }

  /** A TEB whose NT_TIB gives a stack's bounds (StackBase, StackLimit), and LastErrorValue (13 pointers in), as its own region. */
  teb(address: bigint, stackBase: bigint, stackLimit: bigint, lastError = 0): this {
    const b = new Bytes();
    b.ptr(this.width, 0n).ptr(this.width, stackBase).ptr(this.width, stackLimit);
    b.zeros(13 * (this.width / 8) - b.length).u32(lastError);
    b.zeros(0x1000 - b.length);
    return this.memory({ base: address, bytes: b.finish() });
  }

  build(): UserDumpFile {
    const w = this.width;
    const offsets = new Map<string, number>();
    const out = new Bytes();
    const headerSize = w === 64 ? 0x60 : 0x40;
    HEADER_FIELDS.forEach((name, i) => offsets.set(name, i < 8 ? i * 4 : 0x20 + (i - 8) * (w / 8)));
    out.put([...'USER'].map((c) => c.charCodeAt(0))).put([...(w === 64 ? 'DU64' : 'DUMP')].map((c) => c.charCodeAt(0)));
    out.u32(this.majorVersion).u32(this.minorVersion).u32(this.machine).u32(this.threads.length).u32(this.modules.length).u32(this.regions.length);
    out.zeros(headerSize - out.length);
    // Writes a header offset field, once the part it points at is placed.
    const setOffset = (name: (typeof HEADER_FIELDS)[number], value: number): void => {
      const at = offsets.get(name)!;
      if (w === 64) out.setU64(at, BigInt(value));
      else out.setU32(at, value);
    };

    // DEBUG_EVENT: code, process, thread, then the union (8-aligned in a 64-bit process): EXCEPTION_RECORD, dwFirstChance.
    if (this.event) {
      const start = out.length;
      setOffset('DebugEventOffset', start);
      offsets.set('debugEvent', start);
      out.u32(this.event.code).u32(this.event.processId).u32(this.event.threadId);
      if (w === 64) out.zeros(4);
      const e = this.event.exception;
      if (e) {
        const params = e.parameters ?? [];
        out.u32(e.code).u32(e.flags ?? 0).ptr(w, 0n).ptr(w, e.address).u32(e.numberParameters ?? params.length);
        if (w === 64) out.zeros(4);
        for (let i = 0; i < 15; i++) out.ptr(w, params[i] ?? 0n);
        out.u32(e.firstChance === false ? 0 : 1);
      }
      out.zeros(start + (w === 64 ? 0xb0 : 0x60) - out.length);
    }

    // MEMORY_BASIC_INFORMATION64 (0x30 bytes, two alignment words) or MEMORY_BASIC_INFORMATION32 (0x1c).
    setOffset('MemoryRegionOffset', out.length);
    offsets.set('regions', out.length);
    for (const r of this.regions) {
      const size = BigInt(r.bytes.length);
      if (w === 64) {
        out.u64(r.base).u64(r.allocationBase ?? r.base).u32(r.allocationProtect ?? r.protect ?? 4).zeros(4).u64(size);
        out.u32(r.state ?? 0x1000).u32(r.protect ?? 4).u32(r.type ?? 0x20000).zeros(4);
      } else {
        out.u32(Number(r.base)).u32(Number(r.allocationBase ?? r.base)).u32(r.allocationProtect ?? r.protect ?? 4).u32(Number(size));
        out.u32(r.state ?? 0x1000).u32(r.protect ?? 4).u32(r.type ?? 0x20000);
      }
    }

    setOffset('ThreadOffset', out.length);
    offsets.set('threads', out.length);
    for (const t of this.threads) out.put(t.context ?? this.encodeContext(t.registers ?? {}));

    // CRASH_THREAD64 (0x50) / CRASH_THREAD32 (0x30): ThreadId, SuspendCount, PriorityClass, Priority, Teb, seven spares.
    setOffset('ThreadStateOffset', out.length);
    offsets.set('threadStates', out.length);
    for (const t of this.threads) {
      out.u32(t.id).u32(t.suspendCount ?? 1).u32(t.priorityClass ?? 0x20).u32(t.priority ?? 0).ptr(w, t.teb ?? 0n);
      out.zeros(7 * (w / 8));
    }

    // CRASH_MODULE64 / 32: BaseOfImage, SizeOfImage, ImageNameLength (with the NUL), ImageName.
    setOffset('ModuleOffset', out.length);
    offsets.set('modules', out.length);
    for (const m of this.modules) {
      const name = new TextEncoder().encode(m.name + '\0');
      out.ptr(w, m.base).u32(m.size).u32(name.length).put(name);
    }

    setOffset('DataOffset', out.length);
    offsets.set('data', out.length);
    for (const r of this.regions) out.put(r.bytes);

    setOffset('VersionInfoOffset', out.length);
    offsets.set('versionInfo', out.length);
    for (const [name, value] of this.strings) out.put(utf16z(name)).put(utf16z(value));
    out.zeros(2);

    const bytes = out.finish();
    return {
      bytes,
      offsetOf(name: string): number {
        const at = offsets.get(name);
        if (at === undefined) throw new Error(`UserDumpBuilder: no field or part named '${name}'`);
        return at;
      },
    };
  }

  private encodeContext(registers: RegisterValues): Uint8Array {
    if (this.machine === 0x8664) return amd64Context(registers);
    if (this.machine === 0x14c) return x86Context(registers);
    throw new Error(`UserDumpBuilder: no CONTEXT encoder for machine 0x${this.machine.toString(16)}; give the thread's context bytes`);
  }
}

function utf16z(s: string): Uint8Array {
  const out = new Uint8Array((s.length + 1) * 2);
  for (let i = 0; i < s.length; i++) new DataView(out.buffer).setUint16(i * 2, s.charCodeAt(i), true);
  return out;
}
