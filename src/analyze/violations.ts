import { pointerWidth } from '../model/cpu.js';
import type { ModuleIndex } from '../model/module-index.js';
import { findRegion } from '../model/memory.js';
import type { Snapshot } from '../model/snapshot.js';
import type { StackFrame } from '../unwind/frame.js';
import type { Finding } from './findings.js';
import { describeMemory, MEM_COMMIT, PAGE_EXECUTE_ANY, type MemoryMap } from './memory-map.js';
import { smashedReturnAddress } from './stack-smash.js';
import type { CrashInfo, MemoryFacts, ThreadReport } from './types.js';

const ACCESS_VIOLATION = 0xc0000005;
const EXECUTE_ACCESS = 8n; // ExceptionInformation[0] of an access violation that executed
/** Jumps to tiny addresses are null calls, not code running somewhere: the crash reason covers them. */
const NULL_PAGE_LIMIT = 0x10000n;
/** Most hidden-image probes (64 KiB-aligned addresses) per dump. */
const MAX_IMAGE_PROBES = 100_000;
/** Image-header probes read at once. */
const PROBE_BATCH = 64;
/** Most pointers into unbacked code listed per thread. */
const MAX_POINTERS_LISTED = 8;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function frameAddress(frame: StackFrame): bigint {
  return frame.trust === 'context' || frame.interrupted ? frame.ip : frame.instruction;
}

/**
 * A kernel EDR's stack check, offline: every walked or recovered frame whose code address lies in
 * memory no loaded image backs, or in memory that may not execute; thread start addresses outside
 * every image; pointers into unbacked executable memory left on stacks; PE images hidden in
 * private memory.
 */
export async function stackViolations(
  snapshot: Snapshot,
  threads: readonly ThreadReport[],
  crash: CrashInfo | undefined,
  map: MemoryMap,
  modules: ModuleIndex,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  // A kernel dump lists drivers only: a user-mode address on a kernel stack is the system call's caller.
  const kernelStart = kernelSpaceStart(snapshot);
  for (const t of threads) {
    for (const [index, frame] of t.frames.entries()) {
      const address = frameAddress(frame);
      if (address < NULL_PAGE_LIMIT || address < kernelStart) continue;
      const key = `${t.thread.id}:${address}`;
      if (seen.has(key)) continue;
      const facts = map.facts(address);
      const isCrashSite = index === 0 && t.crashed && crash?.code === ACCESS_VIOLATION && crash.parameters[0] === EXECUTE_ACCESS && crash.address === address;
      const role = index === 0 ? 'the instruction pointer' : `the return address of frame ${index}`;
      const shown = frame.ip;
      // A return address a buffer overflow wrote over never ran: it is not code outside a module.
      const smashed = isCrashSite ? undefined : await smashedReturnAddress(snapshot, t, index, facts, crash);
      // A scanned frame is a guess: a stale pointer in data says nothing about what ran.
      const guessed = frame.trust === 'scan' || frame.trust === 'cfi_scan' || frame.trust === 'leaf';
      if (smashed) {
        seen.add(key);
        findings.push(smashed);
      } else if ((facts.executable === false && !guessed) || isCrashSite) {
        seen.add(key);
        findings.push(nonExecutable(t, index, shown, facts, role, isCrashSite));
      } else if (!facts.module) {
        seen.add(key);
        findings.push(unbacked(t, index, shown, facts, role));
      }
    }
    const start = t.thread.startAddress;
    if (start !== undefined && start >= NULL_PAGE_LIMIT && !modules.find(start)) {
      const facts = map.facts(start);
      findings.push({
        kind: 'thread_start_outside_image',
        severity: facts.executable === false ? 'warning' : 'critical',
        threadId: t.thread.id,
        frame: undefined,
        address: start,
        summary: `thread 0x${t.thread.id.toString(16)} started at ${hex(start)}, outside every loaded image`,
        evidence: [
          `its start address lies in ${describeMemory(facts)}`,
          'threads normally start in an image (a thread entry point of the program or a DLL); one starting in private memory is how injected code (CreateRemoteThread, shellcode) gets a thread',
          'look at who created the thread and dump the memory at the start address',
        ],
        data: { start_address: hex(start), memory_type: facts.type ?? null, protection: facts.protection ?? null },
      });
    }
  }
  findings.push(...hardening(map));
  if (map.hasProtections) findings.push(...(await pointersIntoUnbackedCode(snapshot, threads, map)));
  findings.push(...(await hiddenImages(snapshot, map, modules)));
  return findings;
}

/** Where kernel space starts in a kernel dump (0 otherwise): user-mode images are not in its module list. */
function kernelSpaceStart(snapshot: Snapshot): bigint {
  if (!snapshot.kernel) return 0n;
  return pointerWidth(snapshot.system.cpu) === 8 ? 0xffff800000000000n : 0x80000000n;
}

function unbacked(t: ThreadReport, index: number, address: bigint, facts: MemoryFacts, role: string): Finding {
  const known = facts.executable === true;
  return {
    kind: 'unbacked_code',
    severity: 'critical',
    threadId: t.thread.id,
    frame: index,
    address,
    summary: `thread 0x${t.thread.id.toString(16)} ran code outside every loaded module: ${role} is ${hex(address)}`,
    evidence: [
      `${hex(address)} lies in ${describeMemory(facts)}`,
      known
        ? 'executable memory that no image file backs is where shellcode, reflectively loaded DLLs and JIT compilers put code'
        : 'code demonstrably ran there (it is on the walked call chain), yet no loaded image covers the address',
      'if the process has no JIT (browsers, .NET, Java do), treat this as injected code: dump and disassemble the region, and find who allocated it',
    ],
    data: { memory_type: facts.type ?? null, executable: facts.executable ?? null, protection: facts.protection ?? null, region: facts.region ? hex(facts.region.base) : null },
  };
}

function nonExecutable(t: ThreadReport, index: number, address: bigint, facts: MemoryFacts, role: string, crashSite: boolean): Finding {
  const where = facts.label ?? (facts.module ? facts.module.codeFile : 'memory outside every module');
  const known = crashSite && facts.executable === undefined ? { ...facts, executable: false, protection: 'not executable (shown by the access violation on execute)' } : facts;
  const evidence = [`${hex(address)} lies in ${describeMemory(known)}`];
  if (crashSite) {
    evidence.push('the exception is an access violation on execute (DEP/NX): the CPU refused to run code from that memory');
  }
  evidence.push(
    facts.label?.includes('stack') || where.includes('stack')
      ? 'executing the stack is the classic sign of a stack buffer overflow whose payload was jumped to; look at the return address or function pointer that led here'
      : 'a jump or call to data: look for a corrupted function pointer, vtable or return address',
  );
  return {
    kind: 'nonexecutable_code',
    severity: 'critical',
    threadId: t.thread.id,
    frame: index,
    address,
    summary: facts.module
      ? `thread 0x${t.thread.id.toString(16)} executed memory that is not executable: ${role} ${hex(address)} is in ${where}`
      : `thread 0x${t.thread.id.toString(16)} executed code outside any module, in memory that is not executable: ${role} ${hex(address)} is in ${where}`,
    evidence,
    data: { memory_type: facts.type ?? null, executable: facts.executable ?? false, protection: facts.protection ?? null, region: facts.region ? hex(facts.region.base) : null, crash_site: crashSite },
  };
}

function hardening(map: MemoryMap): Finding[] {
  return map.executableSpecialMappings().map(({ kind, facts }) => ({
    kind: kind === 'stack' ? 'executable_stack' : 'executable_heap',
    severity: 'warning' as const,
    threadId: undefined,
    frame: undefined,
    address: facts.region?.base,
    summary: `the ${kind} is mapped writable and executable (${facts.protection ?? 'rwx'})`,
    evidence: [
      `${facts.label ?? kind} ${facts.region ? `${hex(facts.region.base)}–${hex(facts.region.base + facts.region.size)}` : ''} is ${facts.protection ?? 'rwx'}`,
      kind === 'stack'
        ? 'an executable stack lets an overflowed buffer run as code; it comes from a binary or library built without a non-executable stack (execstack), or from mprotect'
        : 'an executable heap lets injected data run as code; look for mprotect/mmap calls with PROT_EXEC on heap memory',
    ],
    data: { region: facts.region ? hex(facts.region.base) : null, protection: facts.protection ?? null },
  }));
}

async function pointersIntoUnbackedCode(snapshot: Snapshot, threads: readonly ThreadReport[], map: MemoryMap): Promise<Finding[]> {
  const regions = map.unbackedExecutableRegions().sort((a, b) => (a.base < b.base ? -1 : 1));
  if (regions.length === 0) return [];
  const inRegion = (v: bigint): (typeof regions)[number] | undefined => {
    let lo = 0;
    let hi = regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = regions[mid]!;
      if (v < r.base) hi = mid - 1;
      else if (v >= r.base + r.size) lo = mid + 1;
      else return r;
    }
    return undefined;
  };
  const findings: Finding[] = [];
  for (const t of threads) {
    if (!t.thread.stack || !t.context) continue;
    const block = await snapshot.memory.loadStack(t.thread.stack).catch(() => undefined);
    if (!block) continue;
    const width = t.context.cpu === 'amd64' || t.context.cpu === 'arm64' ? 8 : 4;
    const walked = new Set(t.frames.map((f) => f.ip));
    const hits: { slot: bigint; value: bigint }[] = [];
    for (let slot = block.base; slot + BigInt(width) <= block.end; slot += BigInt(width)) {
      const value = block.word(slot, width as 4 | 8);
      if (value === undefined || walked.has(value) || !inRegion(value)) continue;
      hits.push({ slot, value });
    }
    if (hits.length === 0) continue;
    const first = hits[0]!;
    findings.push({
      kind: 'unbacked_pointer_on_stack',
      severity: 'info',
      threadId: t.thread.id,
      frame: undefined,
      address: first.value,
      summary: `${hits.length} value${hits.length === 1 ? '' : 's'} on the stack of thread 0x${t.thread.id.toString(16)} point${hits.length === 1 ? 's' : ''} into executable memory no image backs`,
      evidence: [
        ...hits.slice(0, MAX_POINTERS_LISTED).map((h) => `[${hex(h.slot)}] = ${hex(h.value)}, in ${describeMemory(map.facts(h.value))}`),
        'lower confidence than a frame: these may be stale values or data, but code in such memory returned or was called from this thread at some point',
      ],
      data: { count: hits.length, pointers: hits.slice(0, MAX_POINTERS_LISTED).map((h) => ({ slot: hex(h.slot), value: hex(h.value) })) },
    });
  }
  return findings;
}

/**
 * For a dump with a Windows memory map: whether the allocation holding an address has an
 * executable page. Undefined without a map (then every 64 KiB is probed).
 */
function runnableAllocations(snapshot: Snapshot): ((address: bigint) => boolean) | undefined {
  const info = snapshot.memoryInfo;
  if (info.length === 0) return undefined;
  const executable = new Set<bigint>();
  for (const i of info) if (i.state === MEM_COMMIT && (i.protect & PAGE_EXECUTE_ANY) !== 0) executable.add(i.allocationBase);
  const regions = [...info].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0)).map((i) => ({ base: i.base, size: Number(i.size), allocationBase: i.allocationBase }));
  return (address) => {
    const region = findRegion(regions, address);
    // Memory the map does not describe: probe it.
    return region === undefined || executable.has(region.allocationBase);
  };
}

async function hiddenImages(snapshot: Snapshot, map: MemoryMap, modules: ModuleIndex): Promise<Finding[]> {
  const findings: Finding[] = [];
  let probes = 0;
  const step = 0x10000n;
  // A kernel dump lists drivers only: user-mode images (the process's own) are not hidden from it.
  const lowest = kernelSpaceStart(snapshot);
  const memory = snapshot.memory;
  const probe = (address: bigint, length: number): Promise<Uint8Array | undefined> => (memory.probe ? memory.probe(address, length) : memory.read(address, length));
  // With a memory map, an image that can run has executable pages in its allocation: allocations
  // without any (heaps, mapped data) are not probed past their first page.
  const runnable = runnableAllocations(snapshot);
  const candidates: bigint[] = [];
  for (const region of memory.regions) {
    const end = region.base + BigInt(region.size);
    if (region.base < lowest) continue;
    let address = region.base % 0x1000n === 0n ? region.base : ((region.base + step - 1n) / step) * step;
    for (; address + 0x40n <= end && probes < MAX_IMAGE_PROBES; address = ((address + step) / step) * step, probes++) {
      if (modules.find(address)) continue;
      if (runnable && address !== region.base && !runnable(address)) continue;
      candidates.push(address);
    }
  }
  // The probes are independent reads: a batch at a time keeps the file's reads in flight together.
  const headers: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < candidates.length; i += PROBE_BATCH) {
    headers.push(...(await Promise.all(candidates.slice(i, i + PROBE_BATCH).map((a) => probe(a, 0x40)))));
  }
  for (let i = 0; i < candidates.length; i++) {
    const address = candidates[i]!;
    const dos = headers[i];
    if (!dos || dos[0] !== 0x4d || dos[1] !== 0x5a) continue;
    const lfanew = new DataView(dos.buffer, dos.byteOffset, dos.byteLength).getUint32(0x3c, true);
    if (lfanew < 0x40 || lfanew > 0x1000) continue;
    const nt = await probe(address + BigInt(lfanew), 4);
    if (!nt || nt[0] !== 0x50 || nt[1] !== 0x45 || nt[2] !== 0 || nt[3] !== 0) continue;
    const facts = map.facts(address);
    if (facts.type === 'image') continue;
    findings.push({
      kind: 'hidden_image',
      severity: 'critical',
      threadId: undefined,
      frame: undefined,
      address,
      summary: `a PE image (MZ/PE headers) at ${hex(address)} is not in the module list`,
      evidence: [
        `${hex(address)} lies in ${describeMemory(facts)}`,
        'an image the loader does not know about is the mark of reflective DLL loading or process hollowing; a manually mapped image has its headers in private or mapped memory',
        'dump the region and compare it with the files on disk',
      ],
      data: { memory_type: facts.type ?? null, protection: facts.protection ?? null },
    });
  }
  return findings;
}
