import type { ModuleIndex } from '../model/module-index.js';
import type { MemoryInfo, Snapshot } from '../model/snapshot.js';
import type { MemoryFacts } from './types.js';

/** MINIDUMP_MEMORY_INFO Type and Protect values. */
const MEM_IMAGE = 0x1000000;
const MEM_MAPPED = 0x40000;
const MEM_PRIVATE = 0x20000;
export const MEM_COMMIT = 0x1000;
export const PAGE_EXECUTE_ANY = 0x10 | 0x20 | 0x40 | 0x80;
const PAGE_WRITE_ANY = 0x04 | 0x08 | 0x40 | 0x80;
const PAGE_GUARD = 0x100;

export interface ThreadStackRange {
  readonly threadId: number;
  readonly base: bigint;
  readonly end: bigint;
}

const PROTECTION_NAMES: [number, string][] = [
  [0x01, 'PAGE_NOACCESS'],
  [0x02, 'PAGE_READONLY'],
  [0x04, 'PAGE_READWRITE'],
  [0x08, 'PAGE_WRITECOPY'],
  [0x10, 'PAGE_EXECUTE'],
  [0x20, 'PAGE_EXECUTE_READ'],
  [0x40, 'PAGE_EXECUTE_READWRITE'],
  [0x80, 'PAGE_EXECUTE_WRITECOPY'],
];

function protectionName(protect: number): string {
  const base = PROTECTION_NAMES.find(([bit]) => (protect & 0xff) === bit)?.[1] ?? `0x${(protect & 0xff).toString(16)}`;
  return protect & PAGE_GUARD ? `${base}|PAGE_GUARD` : base;
}

/**
 * The process's memory map as the dump describes it: Windows MemoryInfoList, or the Linux
 * /proc/self/maps stream, with the module list and the threads' stacks.
 */
export class MemoryMap {
  private readonly modules: ModuleIndex;
  private readonly info: readonly MemoryInfo[];
  private readonly maps: NonNullable<Snapshot['linux']>['maps'];
  private readonly stacks: readonly ThreadStackRange[];
  /** Paths of the module list's files: a Linux mapping of one of them is backed by that image. */
  private readonly moduleFiles: ReadonlySet<string>;

  constructor(snapshot: Snapshot, modules: ModuleIndex, stacks: readonly ThreadStackRange[]) {
    this.modules = modules;
    this.moduleFiles = new Set(snapshot.modules.map((m) => m.codeFile));
    this.info = [...snapshot.memoryInfo].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    this.maps = snapshot.linux?.maps ?? [];
    this.stacks = stacks;
  }

  /** Whether the dump says anything about protections (otherwise `executable` is always unknown). */
  get hasProtections(): boolean {
    return this.info.length > 0 || this.maps.length > 0;
  }

  /** Private executable regions (Windows memory info or Linux maps) that no module covers. */
  unbackedExecutableRegions(): { base: bigint; size: bigint; facts: MemoryFacts }[] {
    const out: { base: bigint; size: bigint; facts: MemoryFacts }[] = [];
    for (const i of this.info) {
      if (i.state !== MEM_COMMIT || (i.protect & PAGE_EXECUTE_ANY) === 0 || i.type === MEM_IMAGE) continue;
      if (this.modules.find(i.base) || this.stacks.some((s) => i.base < s.end && s.base < i.base + i.size)) continue;
      out.push({ base: i.base, size: i.size, facts: this.facts(i.base) });
    }
    for (const m of this.maps) {
      // The stack and heap are reported as hardening problems of their own; pointers into them are data.
      // Android's linker may place one library inside another's reserved range, which cuts the
      // outer module's range short (as Breakpad does): its code mapping still names its file.
      if (!m.executable || this.modules.find(m.start) || m.path.startsWith('[') || this.moduleFiles.has(m.path)) continue;
      out.push({ base: m.start, size: m.end - m.start, facts: this.facts(m.start) });
    }
    return out;
  }

  /** The Linux stack and heap mappings marked executable (hardening problems, whether or not code ran there). */
  executableSpecialMappings(): { kind: 'stack' | 'heap'; facts: MemoryFacts }[] {
    const out: { kind: 'stack' | 'heap'; facts: MemoryFacts }[] = [];
    for (const m of this.maps) {
      if (!m.executable) continue;
      if (m.path === '[stack]' || m.path.startsWith('[stack:')) out.push({ kind: 'stack', facts: this.facts(m.start) });
      if (m.path === '[heap]') out.push({ kind: 'heap', facts: this.facts(m.start) });
    }
    return out;
  }

  facts(address: bigint): MemoryFacts {
    const module = this.modules.find(address);
    const stack = this.stacks.find((s) => address >= s.base && address < s.end);
    const stackLabel = stack ? `the stack of thread 0x${stack.threadId.toString(16)}` : undefined;
    const info = this.findInfo(address);
    if (info) {
      const committed = info.state === MEM_COMMIT;
      const type = info.type === MEM_IMAGE ? 'image' : info.type === MEM_MAPPED ? 'mapped' : info.type === MEM_PRIVATE ? 'private' : undefined;
      return {
        module,
        type,
        executable: committed && (info.protect & PAGE_EXECUTE_ANY) !== 0 && (info.protect & PAGE_GUARD) === 0,
        writable: committed && (info.protect & PAGE_WRITE_ANY) !== 0,
        mapped: committed,
        region: { base: info.base, size: info.size },
        protection: committed ? protectionName(info.protect) : info.state === 0x2000 ? 'MEM_RESERVE' : 'MEM_FREE',
        label: stackLabel ?? (module ? module.codeFile : undefined),
      };
    }
    // A memory map that misses a loaded module's range is incomplete there: say nothing rather than "free".
    if (this.info.length > 0 && !module) {
      return { module, type: undefined, executable: false, writable: false, mapped: false, region: undefined, protection: 'MEM_FREE', label: stackLabel };
    }
    const map = this.maps.find((m) => address >= m.start && address < m.end);
    if (map) {
      const special = map.path.startsWith('[');
      return {
        module,
        type: module ? 'image' : map.path && !special ? 'mapped' : 'private',
        executable: map.executable,
        writable: map.writable,
        mapped: true,
        region: { base: map.start, size: map.end - map.start },
        protection: `${map.readable ? 'r' : '-'}${map.writable ? 'w' : '-'}${map.executable ? 'x' : '-'}${map.private ? 'p' : 's'}`,
        label: map.path || stackLabel || 'anonymous memory',
      };
    }
    if (this.maps.length > 0 && !module) {
      return { module, type: undefined, executable: false, writable: false, mapped: false, region: undefined, protection: 'unmapped', label: stackLabel };
    }
    return {
      module,
      type: module ? 'image' : undefined,
      executable: undefined,
      writable: undefined,
      mapped: undefined,
      region: stack ? { base: stack.base, size: stack.end - stack.base } : undefined,
      protection: undefined,
      label: stackLabel ?? (module ? module.codeFile : undefined),
    };
  }

  private findInfo(address: bigint): MemoryInfo | undefined {
    let lo = 0;
    let hi = this.info.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const i = this.info[mid]!;
      if (address < i.base) hi = mid - 1;
      else if (address >= i.base + i.size) lo = mid + 1;
      else return i;
    }
    return undefined;
  }
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** The memory facts in words, saying "unknown" where the dump does not tell. */
export function describeMemory(f: MemoryFacts): string {
  const what = f.label ?? (f.type === 'private' ? 'private memory' : f.type === 'mapped' ? 'a mapped file' : f.module ? f.module.codeFile : 'memory outside every module');
  const region = f.region ? ` (region ${hex(f.region.base)}–${hex(f.region.base + f.region.size)})` : '';
  const protection =
    f.mapped === false
      ? 'nothing is mapped there'
      : f.executable === undefined
        ? 'its protection is unknown: the dump has no memory information'
        : `protection ${f.protection ?? '?'}${f.protection?.includes('executable') ? '' : f.executable ? ' (executable)' : ' (not executable)'}`;
  return `${what}${region}, ${protection}`;
}
