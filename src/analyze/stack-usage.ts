import { pointerWidth, specialRegisters } from '../model/cpu.js';
import type { Snapshot } from '../model/snapshot.js';
import { frameSizes, moduleName } from '../report/format.js';
import type { StackFrame } from '../unwind/frame.js';
import type { ThreadAnalysis } from './process.js';

/** Where a thread's stack lies and how much of it was in use at the crash. */
export interface StackUsage {
  /** The highest address (the stack grows down from it). */
  readonly base: bigint | undefined;
  /** The lowest committed address (TEB StackLimit), or the lowest known one. */
  readonly limit: bigint | undefined;
  /** The start of the whole reservation (TEB DeallocationStack), when known. */
  readonly reserveBase: bigint | undefined;
  /** `teb`: from the thread's NT_TIB in the dump; `captured-memory`: from the stack memory the dump holds. */
  readonly boundsSource: 'teb' | 'captured-memory' | undefined;
  /** The innermost frame's stack pointer. */
  readonly stackPointer: bigint | undefined;
  /** base − stack pointer. */
  readonly usedBytes: number | undefined;
  /** base − reserve base, when known. */
  readonly reserveBytes: number | undefined;
  /** Used bytes as a percentage of the reserve, or of base − limit when the reserve is unknown. */
  readonly usedPercent: number | undefined;
  readonly percentOf: 'reserve' | 'committed' | undefined;
  /** Bytes the walked frames account for (the sum of known frame sizes). */
  readonly walkedBytes: number;
  /** Frame bytes per module and per function, largest first; shares are of the used stack. */
  readonly byModule: readonly UsageTotal[];
  readonly byFunction: readonly UsageTotal[];
  /** Per frame: its size and the key it is grouped by. */
  readonly frames: readonly FrameUsage[];
}

export interface UsageTotal {
  readonly name: string;
  readonly bytes: number;
  readonly frames: number;
  /** Fraction (0..1) of the used stack (or of the walked bytes when the stack's extent is unknown). */
  readonly share: number;
}

export interface FrameUsage {
  readonly size: number | undefined;
  readonly module: string;
  /** The function as far as it is known: `module!function`, or `module+0xOFFSET` of the frame's code address. */
  readonly function: string;
}

const PAGE = 0x1000n;

/** NT_TIB StackBase/StackLimit and TEB DeallocationStack offsets, per pointer width. */
function tebLayout(width: 4 | 8): { base: number; limit: number; deallocation: number } {
  return width === 4 ? { base: 4, limit: 8, deallocation: 0xe0c } : { base: 8, limit: 0x10, deallocation: 0x1478 };
}

function readPointer(bytes: Uint8Array | undefined, width: 4 | 8): bigint | undefined {
  if (!bytes || bytes.length < width) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return width === 8 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
}

/**
 * The function a frame belongs to, as precisely as symbols allow; without symbols, the frame's
 * code address as the reports print it (the return address for callers, like Breakpad and WinDbg).
 */
export function frameFunctionKey(frame: StackFrame): string {
  const m = frame.module;
  if (!m) return `0x${frame.ip.toString(16)}`;
  const name = moduleName(m);
  if (frame.symbol) return `${name}!${frame.symbol.functionName}`;
  return `${name}+0x${(frame.ip - m.base).toString(16)}`;
}

/** Measures one walked thread: its stack's extent from the TEB (or the captured memory) and who used it. */
export async function measureStack(snapshot: Snapshot, thread: ThreadAnalysis): Promise<StackUsage> {
  const frames = thread.frames;
  const cpu = thread.context?.cpu ?? snapshot.system.cpu;
  const width = pointerWidth(cpu);
  // The innermost stack pointer that lies in the captured stack (a damaged context's may not).
  const range = thread.stackMemory;
  const inRange = (v: bigint): boolean => !range || (v >= range.base && v <= range.base + BigInt(range.size));
  const sp = frames.find((f) => inRange(f.sp))?.sp ?? thread.context?.registers.get(specialRegisters(cpu).sp);

  // A WoW64 thread's 32-bit TEB follows its 64-bit TEB by two pages.
  const teb = cpu === 'x86' && snapshot.system.cpu === 'amd64' ? thread.thread.teb + 0x2000n : thread.thread.teb;
  const layout = tebLayout(width);
  let base: bigint | undefined;
  let limit: bigint | undefined;
  let reserveBase: bigint | undefined;
  let boundsSource: StackUsage['boundsSource'];
  if (teb !== 0n) {
    const tibBase = readPointer(await snapshot.memory.read(teb + BigInt(layout.base), width), width);
    const tibLimit = readPointer(await snapshot.memory.read(teb + BigInt(layout.limit), width), width);
    if (tibBase !== undefined && tibLimit !== undefined && tibLimit < tibBase && (sp === undefined || (sp >= tibLimit - PAGE * 16n && sp <= tibBase))) {
      base = tibBase;
      limit = tibLimit;
      boundsSource = 'teb';
      const dealloc = readPointer(await snapshot.memory.read(teb + BigInt(layout.deallocation), width), width);
      if (dealloc !== undefined && dealloc !== 0n && dealloc < tibLimit) reserveBase = dealloc;
    }
  }
  if (base === undefined && thread.stackMemory) {
    base = thread.stackMemory.base + BigInt(thread.stackMemory.size);
    limit = thread.stackMemory.base;
    boundsSource = 'captured-memory';
  }
  // A stack overflow's fault address is the guard page: the limit is at least that low.
  const exception = snapshot.exception;
  if (thread.crashed && exception?.code === 0xc00000fd && exception.parameters[1] !== undefined && limit !== undefined) {
    const fault = exception.parameters[1];
    if (fault < limit && base !== undefined && fault > base - 0x10000000n) limit = fault & ~(PAGE - 1n);
  }
  if (reserveBase === undefined && base !== undefined) reserveBase = reserveFromMemoryInfo(snapshot, base);

  const usedBytes = base !== undefined && sp !== undefined && sp <= base ? Number(base - sp) : undefined;
  const reserveBytes = base !== undefined && reserveBase !== undefined ? Number(base - reserveBase) : undefined;
  const committed = base !== undefined && limit !== undefined ? Number(base - limit) : undefined;
  const denominator = reserveBytes ?? committed;
  const usedPercent = usedBytes !== undefined && denominator ? (usedBytes / denominator) * 100 : undefined;

  const sizes = frameSizes(frames, thread.stackMemory);
  const frameUsage: FrameUsage[] = frames.map((f, i) => ({
    size: sizes[i],
    module: f.module ? moduleName(f.module) : '(no module)',
    function: frameFunctionKey(f),
  }));
  const walkedBytes = sizes.reduce<number>((sum, s) => sum + (s ?? 0), 0);
  const whole = usedBytes && usedBytes >= walkedBytes ? usedBytes : walkedBytes;
  return {
    base,
    limit,
    reserveBase,
    boundsSource,
    stackPointer: sp,
    usedBytes,
    reserveBytes,
    usedPercent,
    percentOf: usedPercent === undefined ? undefined : reserveBytes !== undefined ? 'reserve' : 'committed',
    walkedBytes,
    byModule: totals(frameUsage, (f) => f.module, whole),
    byFunction: totals(frameUsage, (f) => f.function, whole),
    frames: frameUsage,
  };
}

/** MemoryInfoList: the allocation base of the region holding the stack's top is the reservation's start. */
function reserveFromMemoryInfo(snapshot: Snapshot, base: bigint): bigint | undefined {
  const top = base - 1n;
  for (const info of snapshot.memoryInfo) {
    if (top >= info.base && top < info.base + info.size) return info.allocationBase < base ? info.allocationBase : undefined;
  }
  return undefined;
}

function totals(frames: readonly FrameUsage[], key: (f: FrameUsage) => string, whole: number): UsageTotal[] {
  const byKey = new Map<string, { bytes: number; frames: number }>();
  for (const f of frames) {
    const k = key(f);
    const t = byKey.get(k) ?? { bytes: 0, frames: 0 };
    t.bytes += f.size ?? 0;
    t.frames += 1;
    byKey.set(k, t);
  }
  return [...byKey.entries()]
    .map(([name, t]) => ({ name, bytes: t.bytes, frames: t.frames, share: whole > 0 ? t.bytes / whole : 0 }))
    .sort((a, b) => b.bytes - a.bytes || b.frames - a.frames || a.name.localeCompare(b.name));
}
