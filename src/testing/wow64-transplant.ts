// Test support: a 64-bit dump of a WOW64 process, made from a real 32-bit dump (a 32-bit dumper's
// x86 contexts, stacks and modules) by putting it into the layout a 64-bit dumper records
// (model/wow64.ts): SystemInfo amd64; the 64-bit ntdll, wow64.dll, wow64win.dll and wow64cpu.dll
// beside the program's modules (system DLLs from SysWOW64); each thread in the WOW64 layer (an
// amd64 context in 64-bit ntdll's system call, CS 0x33, on a small 64-bit stack of return
// addresses into wow64cpu and wow64); its x86 context (the exception's for the crashing thread, as
// Breakpad walks it) in WOW64_CPURESERVED behind TEB64 TlsSlots[1]; the 32-bit TEB two pages after
// the 64-bit one, at the original dump's TEB address, with the captured stack's extent. Wine cannot
// make such a dump: its dbghelp writes a 32-bit program's thread as an amd64 record holding the
// x86 registers (CS 0x23) and lists no WOW64 layer (scripts/fixtures/README.md).
import { readMinidump } from '../formats/minidump/read-minidump.js';
import type { CpuContext } from '../model/cpu.js';
import type { Module, Snapshot } from '../model/snapshot.js';
import type { ByteSource } from '../io/byte-source.js';
import { amd64Context, rsds, StackBuilder, SynthMinidump, wow64ThreadMemory, x86Context } from './synth/index.js';

/** The WOW64 layer's 64-bit modules in the made dump. */
export const WOW64_LAYER = {
  ntdll: { base: 0x7ffd_4e2d_0000n, size: 0x1d1000, name: 'C:\\Windows\\System32\\ntdll.dll' },
  wow64: { base: 0x7ffd_4c48_0000n, size: 0x52000, name: 'C:\\Windows\\System32\\wow64.dll' },
  wow64win: { base: 0x7ffd_4c4e_0000n, size: 0x78000, name: 'C:\\Windows\\System32\\wow64win.dll' },
  wow64cpu: { base: 0x7740_0000n, size: 0xa000, name: 'C:\\Windows\\System32\\wow64cpu.dll' },
} as const;

/** Where the threads' 64-bit stacks are: one 64 KiB slot each, below the 32-bit program's memory. */
const STACK64 = 0x0040_0000n;
/** The 64-bit return addresses each thread's 64-bit stack holds, innermost first. */
export const WOW64_RETURNS = [WOW64_LAYER.wow64cpu.base + 0x1783n, WOW64_LAYER.wow64.base + 0x7c4fn, WOW64_LAYER.wow64.base + 0x9a2bn] as const;

export interface Transplant {
  readonly dump: SynthMinidump;
  /** The 32-bit dump it was made from. */
  readonly original: Snapshot;
}

/** The 64-bit WOW64 dump of the 32-bit program in `source` (a 32-bit dumper's minidump). */
export async function wow64FromX86Dump(source: ByteSource): Promise<Transplant> {
  const original = await readMinidump(source);
  if (original.system.cpu !== 'x86') throw new Error(`${source.name}: not an x86 dump`);
  const d = new SynthMinidump({ timeDateStamp: original.timeDateStamp }).systemInfo({
    cpu: 'amd64',
    platform: 'windows',
    version: versionOf(original),
    cpuCount: original.system.cpuCount,
  });
  // The program first (Breakpad's main module), then the WOW64 layer, then the rest of the 32-bit modules.
  const [main, ...rest] = original.modules;
  if (main) d.module(moduleSpec(main));
  for (const m of Object.values(WOW64_LAYER)) d.module(m);
  for (const m of rest) d.module(moduleSpec(m));

  for (const region of original.memory.regions) {
    const bytes = await original.memory.read(region.base, region.size);
    if (bytes) d.memory(region.base, bytes);
  }
  const exception = original.exception;
  original.threads.forEach((t, i) => {
    const x86 = t.id === exception?.threadId && exception.context ? exception.context : t.context;
    if (!x86 || t.teb === 0n) return;
    const slot = STACK64 + BigInt(i) * 0x10000n;
    const cpuReserved = slot + 0xf000n;
    const rsp = cpuReserved - 0x400n;
    const stack = new StackBuilder(rsp, 8).words(...WOW64_RETURNS.flatMap((r) => [r, 0n, 0n, 0n])).fill(0x400 - WOW64_RETURNS.length * 32);
    const teb64 = t.teb - 0x2000n;
    const captured = t.stack ? { start: t.stack.base, end: t.stack.base + BigInt(t.stack.size) } : undefined;
    const stack32 = captured ? { base: roundUp(captured.end), limit: captured.start & ~0xfffn } : { base: 0n, limit: 0n };
    for (const m of wow64ThreadMemory({ teb64, cpuReserved, context: x86ContextBytes(x86), stack32, stack64: { base: cpuReserved, limit: slot } })) d.memory(m.base, m.bytes);
    d.thread({
      id: t.id,
      teb: teb64,
      stack: stack,
      // NtWaitForSingleObject's syscall return in the 64-bit ntdll.
      context: amd64Context({ rip: WOW64_LAYER.ntdll.base + 0x9f3a4n, rsp, rbp: 0n, cs: 0x33 }),
    });
  });
  if (exception) {
    d.exception({
      threadId: exception.threadId,
      code: exception.code,
      flags: exception.flags,
      address: exception.address,
      parameters: exception.parameters,
      // A 64-bit dumper records the thread where it is when the dump is written: in the WOW64 layer.
      context: amd64Context({ rip: WOW64_LAYER.ntdll.base + 0x9f3a4n, rsp: STACK64 + BigInt(original.threads.findIndex((t) => t.id === exception.threadId)) * 0x10000n + 0xf000n - 0x400n, cs: 0x33 }),
    });
  }
  const { processId, createTime } = original.process;
  d.miscInfo({ ...(processId === undefined ? {} : { processId }), ...(createTime === undefined ? {} : { createTime }) });
  return { dump: d, original };
}

function versionOf(s: Snapshot): [number, number, number] {
  const v = s.system.versionParts;
  return v ? [v.major, v.minor, v.build] : [10, 0, 0];
}

function roundUp(v: bigint): bigint {
  return (v + 0xfffn) & ~0xfffn;
}

/** A module as the 64-bit dumper lists it: system DLLs from SysWOW64, the CodeView record rebuilt from the debug id. */
function moduleSpec(m: Module): Parameters<SynthMinidump['module']>[0] {
  const id = m.debugId;
  const codeView =
    id.length >= 33 && m.debugFile !== ''
      ? rsds(`${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`, Number.parseInt(id.slice(32), 16), m.debugFile)
      : undefined;
  const version = m.version?.split('.').map(Number);
  return {
    base: m.base,
    size: m.size,
    name: m.codeFile.replace(/\\Windows\\System32\\/i, '\\Windows\\SysWOW64\\'),
    timeDateStamp: m.timeDateStamp,
    checksum: m.checksum,
    ...(version?.length === 4 && version.every(Number.isFinite) ? { version: version as [number, number, number, number] } : {}),
    ...(codeView ? { codeView } : {}),
  };
}

function x86ContextBytes(c: CpuContext): Uint8Array {
  const r = (name: string): bigint => c.registers.get(name) ?? 0n;
  return x86Context({ eip: r('eip'), esp: r('esp'), ebp: r('ebp'), ebx: r('ebx'), esi: r('esi'), edi: r('edi'), eax: r('eax'), ecx: r('ecx'), edx: r('edx'), efl: r('efl'), cs: 0x23, ss: 0x2b });
}
