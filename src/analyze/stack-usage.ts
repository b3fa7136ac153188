import { pointerWidth, specialRegisters } from '../model/cpu.js';
import type { Snapshot } from '../model/snapshot.js';
import { moduleName } from '../symbolize/module-name.js';
import type { StackFrame } from '../unwind/frame.js';
import type { FrameUsage, StackUsage, ThreadAnalysis, UsageTotal } from './types.js';

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
 * Bytes frame i holds: the next frame's stack pointer minus its own; undefined for the outermost
 * frame (unless its unwind ended the stack), and, when the stack's range is given, for a frame
 * whose stack pointer lies outside it (a damaged context).
 */
export function frameSizes(frames: readonly StackFrame[], stack?: { readonly base: bigint; readonly size: number }): (number | undefined)[] {
  const inStack = (sp: bigint): boolean => !stack || (sp >= stack.base && sp <= stack.base + BigInt(stack.size));
  return frames.map((f, i) => {
    const callerSp = frames[i + 1]?.sp ?? f.endOfStackSp;
    if (callerSp === undefined || !inStack(f.sp) || !inStack(callerSp)) return undefined;
    const size = callerSp - f.sp;
    return size >= 0n && size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : undefined;
  });
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
  let limitSource: StackUsage['limitSource'];
  let reserveSource: StackUsage['reserveSource'];
  if (teb !== 0n) {
    const tibBase = readPointer(await snapshot.memory.read(teb + BigInt(layout.base), width), width);
    const tibLimit = readPointer(await snapshot.memory.read(teb + BigInt(layout.limit), width), width);
    if (tibBase !== undefined && tibLimit !== undefined && tibLimit < tibBase && (sp === undefined || (sp >= tibLimit - PAGE * 16n && sp <= tibBase))) {
      base = tibBase;
      limit = tibLimit;
      boundsSource = limitSource = 'teb';
      const dealloc = readPointer(await snapshot.memory.read(teb + BigInt(layout.deallocation), width), width);
      if (dealloc !== undefined && dealloc !== 0n && dealloc < tibLimit) {
        reserveBase = dealloc;
        reserveSource = 'teb';
      }
    }
  }
  const bounds = thread.thread.stackBounds;
  if (base === undefined && bounds && (sp === undefined || (sp >= bounds.limit - PAGE * 16n && sp <= bounds.base))) {
    base = bounds.base;
    limit = bounds.limit;
    boundsSource = limitSource = bounds.source;
  }
  if (base === undefined && thread.stackMemory) {
    base = thread.stackMemory.base + BigInt(thread.stackMemory.size);
    limit = thread.stackMemory.base;
    boundsSource = limitSource = 'captured-memory';
  }
  // A stack overflow's fault address is the guard page: the limit is at least that low.
  const exception = snapshot.exception;
  if (thread.crashed && exception?.code === 0xc00000fd && exception.parameters[1] !== undefined && limit !== undefined) {
    const fault = exception.parameters[1];
    if (fault < limit && base !== undefined && fault > base - 0x10000000n) {
      limit = fault & ~(PAGE - 1n);
      limitSource = 'guard-page';
    }
  }
  if (reserveBase === undefined && base !== undefined) {
    reserveBase = reserveFromMemoryInfo(snapshot, base);
    if (reserveBase !== undefined) reserveSource = 'memory-info';
  }

  const usedBytes = base !== undefined && sp !== undefined && sp <= base ? Number(base - sp) : undefined;
  const reserveBytes = base !== undefined && reserveBase !== undefined ? Number(base - reserveBase) : undefined;
  // The captured memory is only what the writer saved near the stack pointer: a share of it says nothing.
  const committed = base !== undefined && limit !== undefined && limitSource !== 'captured-memory' ? Number(base - limit) : undefined;
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
    limitSource,
    reserveSource,
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

/**
 * What `usedPercent` is a share of, in words for the reports (`the reserved stack: 0x100000 bytes
 * from TEB DeallocationStack`); undefined when there is no share (only captured memory is known).
 */
export function usedShareBasis(usage: StackUsage): string | undefined {
  if (usage.usedPercent === undefined || usage.base === undefined) return undefined;
  if (usage.percentOf === 'reserve' && usage.reserveBytes !== undefined) {
    return `the reserved stack: 0x${usage.reserveBytes.toString(16)} bytes from ${usage.reserveSource === 'teb' ? 'TEB DeallocationStack' : 'the allocation base in the memory info'}`;
  }
  if (usage.limit === undefined) return undefined;
  const size = `0x${(usage.base - usage.limit).toString(16)} bytes`;
  switch (usage.limitSource) {
    case 'teb':
      return `the committed stack: ${size} down to TEB StackLimit (the reserve is unknown)`;
    case 'kthread':
      return `the kernel stack: ${size} from KTHREAD StackBase to StackLimit`;
    case 'guard-page':
      return `the stack down to the guard page the overflow hit: ${size}`;
    default:
      return undefined;
  }
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
    .sort((a, b) => b.bytes - a.bytes || b.frames - a.frames || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
