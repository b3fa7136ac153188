import { FormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';
import type { Cpu, CpuContext } from '../../model/cpu.js';
import type { DumpMemory } from '../../model/memory.js';
import type { Module, Thread } from '../../model/snapshot.js';
import { MACHINE_I386, x86FromCompatibilityMode, type Wow64ContextSource, type Wow64Process, type Wow64Thread } from '../../model/wow64.js';
import { parseWow64Context } from '../minidump/context.js';

// Offsets in the 64-bit TEB and the 32-bit TEB; model/wow64.ts says where each comes from.
const TEB64_TLS_SLOT_1 = 0x1480 + 8; // TlsSlots[WOW64_TLS_CPURESERVED]
const TEB64_WOW_TEB_OFFSET = 0x180c;
const TEB32_DISTANCE = 0x2000n; // the 64-bit TEB's 0x1838 bytes rounded up to pages
const TEB32_SELF = 0x18; // NT_TIB32.Self
const WOW64_CONTEXT_SIZE = 716; // the x86 CONTEXT
const WOW64_CONTEXT_REGISTERS = 204; // ContextFlags .. SegSs: what a walk needs
/** Module headers read to look for x86 images: enough to see one in any process. */
const MAX_IMAGE_PROBES = 32;

const WOW64_DLLS = new Set(['wow64.dll', 'wow64cpu.dll', 'wow64win.dll']);

export interface Wow64Reading {
  readonly threads: Thread[];
  readonly process: Wow64Process | undefined;
}

/**
 * Finds the 32-bit program in a 64-bit dump of a WOW64 process: what shows the process to be one,
 * and each thread's x86 context and 32-bit TEB. A thread counts only when the module list or its
 * own TEB says WOW64, so a native process's TLS slot is never read as a context. Damaged pointers
 * become warnings; a few reads per thread, and at most MAX_IMAGE_PROBES module headers.
 */
export async function readWow64(
  file: string,
  cpu: Cpu,
  memory: DumpMemory,
  modules: readonly Module[],
  threads: readonly Thread[],
  warnings: string[],
): Promise<Wow64Reading> {
  if (cpu !== 'amd64') return { threads: [...threads], process: undefined };
  const evidence = await moduleEvidence(memory, modules);
  const out: Thread[] = [];
  let withTeb32 = 0;
  for (const thread of threads) {
    const wow64 = await readThread(file, memory, thread, evidence.length > 0, warnings);
    if (wow64?.teb32 !== undefined) withTeb32++;
    out.push(wow64 ? { ...thread, wow64 } : thread);
  }
  if (withTeb32 > 0) evidence.push(`${withTeb32} thread${withTeb32 === 1 ? "'s" : "s'"} 64-bit TEB points to a 32-bit TEB`);
  return { threads: out, process: evidence.length > 0 ? { evidence } : undefined };
}

/** What the module list says: the WOW64 layer's DLLs, SysWOW64 paths, x86 images in memory. */
async function moduleEvidence(memory: DumpMemory, modules: readonly Module[]): Promise<string[]> {
  const out: string[] = [];
  const layer = modules.filter((m) => WOW64_DLLS.has(baseName(m.codeFile)));
  if (layer.length > 0) out.push(`the WOW64 layer is loaded (${layer.map((m) => baseName(m.codeFile)).join(', ')})`);
  const sysWow64 = modules.filter((m) => /\\syswow64\\/i.test(m.codeFile)).length;
  if (sysWow64 > 0) out.push(`${sysWow64} module${sysWow64 === 1 ? '' : 's'} from SysWOW64`);
  let x86Images = 0;
  for (const m of modules.slice(0, MAX_IMAGE_PROBES)) {
    if ((await imageMachine(memory, m.base)) === MACHINE_I386) x86Images++;
  }
  if (x86Images > 0) out.push(`${x86Images} x86 image${x86Images === 1 ? '' : 's'} in memory (PE Machine 0x014c)`);
  return out;
}

/** IMAGE_FILE_HEADER.Machine of the image at `base`, when its headers are in the dump. */
async function imageMachine(memory: DumpMemory, base: bigint): Promise<number | undefined> {
  const read = memory.probe?.bind(memory) ?? memory.read.bind(memory);
  const dos = await read(base, 0x40);
  if (!dos || dos[0] !== 0x4d || dos[1] !== 0x5a) return undefined; // "MZ"
  const lfanew = view(dos).getUint32(0x3c, true);
  if (lfanew > 0x1000) return undefined;
  const nt = await read(base + BigInt(lfanew), 6);
  if (!nt || view(nt).getUint32(0, true) !== 0x00004550) return undefined; // "PE\0\0"
  return view(nt).getUint16(4, true);
}

async function readThread(file: string, memory: DumpMemory, thread: Thread, wow64Process: boolean, warnings: string[]): Promise<Wow64Thread | undefined> {
  // A 32-bit dumper already wrote the x86 context: the thread walks as x86 as it is.
  if (thread.context?.cpu !== 'amd64') return undefined;
  const id = `thread 0x${thread.id.toString(16)}`;
  const teb = thread.teb;
  const tib = teb === 0n ? undefined : await memory.read(teb, 0x38);
  const teb32 = tib ? await findTeb32(memory, teb, tib, wow64Process) : undefined;
  if (!wow64Process && teb32 === undefined) return undefined;

  const stackBounds = teb32 === undefined ? undefined : await teb32Stack(memory, teb32);
  const state = (context: CpuContext | undefined, source: Wow64ContextSource | undefined, problem?: string): Wow64Thread => ({
    context,
    source,
    teb32,
    stackBounds,
    ...(problem ? { problem } : {}),
  });
  const compat = x86FromCompatibilityMode(thread.context);
  if (compat) return state(compat, 'compatibility-mode');
  if (!tib) return state(undefined, undefined, teb === 0n ? 'the thread has no TEB address' : `its 64-bit TEB (0x${teb.toString(16)}) is not in the dump`);

  const damaged = (reason: string): Wow64Thread => {
    warnings.push(`${file}: ${id}: WOW64: ${reason}; only its 64-bit stack is walked`);
    return state(undefined, undefined, reason);
  };
  const slot = await memory.read(teb + BigInt(TEB64_TLS_SLOT_1), 8);
  if (!slot) return damaged(`TEB64 TlsSlots[1] (0x${(teb + BigInt(TEB64_TLS_SLOT_1)).toString(16)}) is not in the dump`);
  const cpuReserved = view(slot).getBigUint64(0, true);
  if (cpuReserved === 0n) return damaged('TEB64 TlsSlots[1] (WOW64_CPURESERVED) is null');
  const header = await memory.read(cpuReserved, 4);
  if (!header) return damaged(`WOW64_CPURESERVED at 0x${cpuReserved.toString(16)} is not in the dump`);
  const machine = view(header).getUint16(2, true);
  if (machine !== MACHINE_I386) return damaged(`WOW64_CPURESERVED at 0x${cpuReserved.toString(16)} is for Machine 0x${machine.toString(16).padStart(4, '0')}, not x86 (0x014c)`);
  const at = cpuReserved + 4n;
  const bytes = (await memory.read(at, WOW64_CONTEXT_SIZE)) ?? (await memory.read(at, WOW64_CONTEXT_REGISTERS));
  if (!bytes) return damaged(`the WOW64_CONTEXT at 0x${at.toString(16)} is cut short (its registers are not all in the dump)`);
  try {
    return state(parseWow64Context(new Reader(bytes, file, 0, `${id} WOW64_CONTEXT at 0x${at.toString(16)}`)), 'cpu-reserved');
  } catch (e) {
    return damaged(e instanceof FormatError ? e.message : String(e));
  }
}

/**
 * The 32-bit TEB: where NtTib.ExceptionList or WowTebOffset point (or, in a process already known
 * to be WOW64, two pages on), accepted only when its NtTib.Self names itself.
 */
async function findTeb32(memory: DumpMemory, teb: bigint, tib: Uint8Array, wow64Process: boolean): Promise<bigint | undefined> {
  const candidates: bigint[] = [];
  const offset = await memory.read(teb + BigInt(TEB64_WOW_TEB_OFFSET), 4);
  const distance = offset ? view(offset).getInt32(0, true) : 0;
  if (distance > 0) candidates.push(teb + BigInt(distance));
  candidates.push(view(tib).getBigUint64(0, true));
  if (wow64Process) candidates.push(teb + TEB32_DISTANCE);
  for (const c of new Set(candidates)) {
    if (c === 0n || c > 0xffffffffn) continue;
    const self = await memory.read(c + BigInt(TEB32_SELF), 4);
    if (self && BigInt(view(self).getUint32(0, true)) === c) return c;
  }
  return undefined;
}

/** NT_TIB32 StackBase and StackLimit, when they make a stack. */
async function teb32Stack(memory: DumpMemory, teb32: bigint): Promise<{ base: bigint; limit: bigint } | undefined> {
  const tib = await memory.read(teb32 + 4n, 8);
  if (!tib) return undefined;
  const base = BigInt(view(tib).getUint32(0, true));
  const limit = BigInt(view(tib).getUint32(4, true));
  return limit < base ? { base, limit } : undefined;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function baseName(path: string): string {
  return (path.split(/[\\/]/).pop() ?? path).toLowerCase();
}
