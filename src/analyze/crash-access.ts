/**
 * rust-minidump's crash-instruction analysis for `crash_info` (minidump-processor's
 * `get_exception_details`, `check_for_bitflips`, `check_for_guard_pages` and
 * `check_for_crash_inconsistencies`): the crashing instruction and its memory accesses, an adjusted
 * crash address, bit-flip candidates, likely guard pages, and contradictions between the crash
 * reason and what the instruction could have done.
 */
import { findRegion } from '../model/memory.js';
import { pointerWidth, registerOrder, type CpuContext } from '../model/cpu.js';
import type { Snapshot } from '../model/snapshot.js';
import { MAX_INSTRUCTION_LENGTH } from './amd64-decode.js';
import { MemoryMapRegions, possiblyAllowed, tryBitFlips, type BitRange, type MappedRegion, type MemoryOperation } from './bit-flips.js';
import { AMD64_REGISTERS, analyzeAmd64Instruction, type InstructionAnalysis } from './crash-instruction.js';
import type { AdjustedAddress, CrashAccess, CrashInconsistency, MemoryAccess, MemoryAccessType, PossibleBitFlip } from './types.js';

/** The exception as the checks need it: Breakpad's crash address plus the raw record. */
export interface CrashRecord {
  readonly address: bigint;
  readonly code: number;
  readonly flags: number;
  readonly parameters: readonly bigint[];
  readonly threadId: number;
}

const EXCEPTION_ACCESS_VIOLATION = 0xc0000005;
const EXCEPTION_STACK_OVERFLOW = 0xc00000fd;
const EXCEPTION_INT_DIVIDE_BY_ZERO = 0xc0000094;
const EXCEPTION_PRIV_INSTRUCTION = 0xc0000096;
const SIGBUS = 7;
const SIGFPE = 8;
const SIGSEGV = 11;
const SI_KERNEL = 0x80;
const FPE_INTDIV = 1;
const EXC_BAD_ACCESS = 1;
const EXC_ARITHMETIC = 3;
const EXC_I386_GPFLT = 13;
const EXC_I386_DIV = 1;

/** The 48-bit implementation's non-canonical hole. */
const NON_CANONICAL_LOW = 0x0000_8000_0000_0000n;
const NON_CANONICAL_HIGH = 0xffff_7fff_ffff_ffffn;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const isNonCanonical = (a: bigint): boolean => a >= NON_CANONICAL_LOW && a <= NON_CANONICAL_HIGH;

/** Guard pages are smaller than this (rust-minidump's GUARD_MEMORY_MAX_SIZE, 2 << 14). */
const GUARD_MEMORY_MAX_SIZE = 2n << 14n;

// MEMORY_BASIC_INFORMATION.Protect bits.
const READABLE = 0x02 | 0x04 | 0x20 | 0x40;
const WRITABLE = 0x04 | 0x08 | 0x40 | 0x80;
const EXECUTABLE = 0x10 | 0x20 | 0x40 | 0x80;

/** The Windows access violation kind (ExceptionInformation[0]: 0 read, 1 write, 8 execute). */
function windowsAccess(snapshot: Snapshot, crash: CrashRecord): 'read' | 'write' | 'execute' | undefined {
  if (snapshot.system.osShort !== 'windows' || crash.code !== EXCEPTION_ACCESS_VIOLATION) return undefined;
  const kind = crash.parameters[0];
  return kind === 0n ? 'read' : kind === 1n ? 'write' : kind === 8n ? 'execute' : undefined;
}

/** How each OS reports a general protection fault (most likely a non-canonical address). */
function representsGeneralProtectionFault(snapshot: Snapshot, crash: CrashRecord): boolean {
  switch (snapshot.system.osShort) {
    case 'windows':
      return windowsAccess(snapshot, crash) === 'read' && crash.address === U64_MAX;
    case 'mac':
      return crash.code === EXC_BAD_ACCESS && crash.flags === EXC_I386_GPFLT && crash.address === 0n;
    case 'linux':
      return (crash.code === SIGSEGV || crash.code === SIGBUS) && crash.flags === SI_KERNEL && crash.address === 0n;
    default:
      return false;
  }
}

/** The dump's memory map: MemoryInfoList when present, else the Linux maps; empty when it has neither. */
export function memoryMapRegions(snapshot: Snapshot): MemoryMapRegions {
  if (snapshot.memoryInfo.length > 0) {
    const regions: MappedRegion[] = [];
    for (const m of snapshot.memoryInfo) {
      if (m.size === 0n || m.base + m.size - 1n > U64_MAX) continue;
      regions.push({
        start: m.base,
        end: m.base + m.size - 1n,
        readable: (m.protect & READABLE) !== 0,
        writable: (m.protect & WRITABLE) !== 0,
        executable: (m.protect & EXECUTABLE) !== 0,
      });
    }
    return new MemoryMapRegions(regions);
  }
  const maps = snapshot.linux?.maps ?? [];
  return new MemoryMapRegions(
    maps.filter((m) => m.start < m.end).map((m) => ({ start: m.start, end: m.end - 1n, readable: m.readable, writable: m.writable, executable: m.executable })),
  );
}

function accessible(r: MappedRegion): boolean {
  return r.readable || r.writable || r.executable;
}

/** A small inaccessible region next to an accessible one. */
function isLikelyGuardPage(address: bigint, map: MemoryMapRegions): boolean {
  const region = map.at(address);
  if (!region || accessible(region) || region.end - region.start >= GUARD_MEMORY_MAX_SIZE) return false;
  for (const other of map.regions) {
    if (other.end + 1n === region.start && accessible(other)) return true;
    if (region.end + 1n === other.start) return accessible(other);
  }
  return false;
}

/** Whether an access of `type` covers `address` (an access that wraps past the top of memory covers both ends). */
function containsAccess(accesses: readonly MemoryAccess[], address: bigint, type: MemoryAccessType): boolean {
  return accesses.some((a) => {
    if (a.size === undefined || a.accessType !== type) return false;
    const upper = a.address + BigInt(a.size);
    return upper > U64_MAX ? a.address <= address || address < upper - (U64_MAX + 1n) : a.address <= address && address < upper;
  });
}

/** A read that fails (a damaged or truncated file) is memory the dump does not have: the analysis is null, never an error. */
async function orUndefined<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

/** Reads captured memory within the one region holding `address`, as rust-minidump's memory list does. */
async function readWithinRegion(snapshot: Snapshot, address: bigint, length: number): Promise<Uint8Array | undefined> {
  const region = findRegion(snapshot.memory.regions, address);
  if (!region) return undefined;
  const available = region.base + BigInt(region.size) - address;
  if (available < BigInt(length)) return undefined;
  return orUndefined(() => snapshot.memory.read(address, length));
}

function u64(bytes: Uint8Array | undefined): bigint | undefined {
  if (!bytes || bytes.length < 8) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

/** The crashing instruction's bytes: up to 15, from the captured region holding the instruction pointer. */
async function instructionBytes(snapshot: Snapshot, ip: bigint): Promise<Uint8Array | undefined> {
  const region = findRegion(snapshot.memory.regions, ip);
  if (!region) return undefined;
  const available = region.base + BigInt(region.size) - ip;
  const length = Number(available < BigInt(MAX_INSTRUCTION_LENGTH) ? available : BigInt(MAX_INSTRUCTION_LENGTH));
  return length > 0 ? orUndefined(() => snapshot.memory.read(ip, length)) : undefined;
}

/** The values of the registers rust-minidump's context iterates (for the nearby and poison heuristics). */
function contextValues(context: CpuContext): bigint[] {
  const names: readonly string[] = context.cpu === 'amd64' ? AMD64_REGISTERS : registerOrder(context.cpu);
  if (names.length === 0) return [...context.registers.values()];
  return names.flatMap((n) => {
    const v = context.registers.get(n);
    return v === undefined ? [] : [v];
  });
}

async function analyzeInstruction(snapshot: Snapshot, crash: CrashRecord, context: CpuContext): Promise<InstructionAnalysis | undefined> {
  // Only amd64 is disassembled, as in rust-minidump (its `disasm_amd64` feature).
  if (context.cpu !== 'amd64') return undefined;
  const ip = context.registers.get('rip');
  if (ip === undefined) return undefined;
  const bytes = await instructionBytes(snapshot, ip);
  if (!bytes) return undefined;
  const stack = snapshot.threads.find((t) => t.id === crash.threadId)?.stack;
  return analyzeAmd64Instruction({
    bytes,
    registers: context.registers,
    readMemoryU64: async (address) => u64(await readWithinRegion(snapshot, address, 8)),
    // The thread's own stack memory (its descriptor may point at bytes the memory list lacks): 8 bytes of it.
    readStackU64: async (address) => {
      if (!stack || address < stack.base || address + 8n > stack.base + BigInt(stack.size)) return undefined;
      const offset = Number(address - stack.base);
      const fileOffset = stack.fileOffset === undefined ? undefined : stack.fileOffset + offset;
      const block = await orUndefined(() => snapshot.memory.loadStack({ base: address, size: 8, fileOffset }));
      return block?.u64(address);
    },
  });
}

function adjustedAddress(snapshot: Snapshot, crash: CrashRecord, op: InstructionAnalysis): AdjustedAddress | undefined {
  if (!op.accesses) return undefined;
  const addresses = op.accesses.map((a) => ({ address: a.address, nullPointer: a.likelyNullPointer }));
  if (op.ipUpdate?.kind === 'update') addresses.push({ address: op.ipUpdate.address, nullPointer: op.ipUpdate.address === 0n });
  const disguisedNull = addresses.find((a) => a.nullPointer);
  if (disguisedNull) return { kind: 'null-pointer', offset: disguisedNull.address };
  if (snapshot.system.cpu !== 'amd64' || !representsGeneralProtectionFault(snapshot, crash)) return undefined;
  const nonCanonical = addresses.find((a) => isNonCanonical(a.address));
  return nonCanonical ? { kind: 'non-canonical', address: nonCanonical.address } : undefined;
}

function bitFlips(
  snapshot: Snapshot,
  crash: CrashRecord,
  context: CpuContext | undefined,
  op: InstructionAnalysis | undefined,
  adjusted: AdjustedAddress | undefined,
  map: MemoryMapRegions,
): PossibleBitFlip[] {
  // Only 64-bit address spaces make false positives unlikely; arm64 is skipped until it is disassembled.
  const cpu = snapshot.system.cpu;
  if (pointerWidth(cpu) !== 8 || cpu === 'arm64') return [];
  let address: bigint;
  let range: BitRange;
  if (adjusted?.kind === 'null-pointer') return [];
  if (adjusted?.kind === 'non-canonical') {
    address = adjusted.address;
    range = 'amd64-non-canonical';
  } else {
    address = crash.address;
    range = cpu === 'amd64' ? 'amd64-canonical' : 'all';
  }
  const operation: MemoryOperation = windowsAccess(snapshot, crash) ?? 'undetermined';
  // The access that faulted: its base address is flipped, not the address within it.
  const faulting = op?.accesses?.find((a) => {
    const end = a.address + BigInt(a.size ?? 0);
    return a.address <= crash.address && crash.address < (end > U64_MAX ? U64_MAX : end);
  });
  const registers = context ? contextValues(context) : undefined;
  const query = { range, registers, map, operation, accessSize: faulting?.size };
  const flips = tryBitFlips({ ...query, address: faulting?.address ?? address, sourceRegister: undefined });
  if (context && op) {
    for (const name of op.registers) {
      const value = context.cpu === 'amd64' && !(AMD64_REGISTERS as readonly string[]).includes(name) ? undefined : context.registers.get(name);
      if (value !== undefined) flips.push(...tryBitFlips({ ...query, address: value, sourceRegister: name }));
    }
  }
  return flips;
}

function inconsistencies(snapshot: Snapshot, crash: CrashRecord, context: CpuContext | undefined, op: InstructionAnalysis | undefined, map: MemoryMapRegions): CrashInconsistency[] {
  const os = snapshot.system.osShort;
  const found: CrashInconsistency[] = [];
  const access = windowsAccess(snapshot, crash);
  const x86Family = snapshot.system.cpu === 'x86' || snapshot.system.cpu === 'amd64';
  const intDivide =
    (os === 'windows' && crash.code === EXCEPTION_INT_DIVIDE_BY_ZERO) ||
    (os === 'linux' && crash.code === SIGFPE && crash.flags === FPE_INTDIV) ||
    (os === 'mac' && x86Family && crash.code === EXC_ARITHMETIC && crash.flags === EXC_I386_DIV);
  if (intDivide) {
    if (op && !op.division) found.push('int_div_by_zero_not_possible');
    return found;
  }
  if (os === 'windows' && crash.code === EXCEPTION_PRIV_INSTRUCTION) {
    if (op && !op.privileged) found.push('priv_instruction_crash_without_priv_instruction');
    return found;
  }
  const stackOverflow = os === 'windows' && crash.code === EXCEPTION_STACK_OVERFLOW;
  if (!access && !stackOverflow) return found;

  // Each returns false when there is too little to tell.
  const crashingAccessNotAmongAccesses = (): boolean => {
    const accesses = op?.accesses;
    if (!accesses) return false;
    const derivable = op.accessDerivable;
    switch (stackOverflow ? 'stack-overflow' : access) {
      case 'read':
        return derivable && !containsAccess(accesses, crash.address, 'read') && !containsAccess(accesses, crash.address, 'readwrite');
      case 'write':
        return derivable && !containsAccess(accesses, crash.address, 'write') && !containsAccess(accesses, crash.address, 'readwrite');
      case 'execute':
        return context !== undefined && context.registers.get('rip') !== crash.address;
      default:
        return derivable && accesses.length === 0;
    }
  };
  const accessIsNotViolation = (): boolean => {
    const region = map.at(crash.address);
    return access !== undefined && region !== undefined && possiblyAllowed(access, region);
  };
  const nonCanonicalNotAmongAccesses = (): boolean =>
    op !== undefined &&
    op.accessDerivable &&
    op.accesses !== undefined &&
    !op.accesses.some((a) => isNonCanonical(a.address)) &&
    op.ipUpdate !== undefined &&
    (op.ipUpdate.kind === 'none' || !isNonCanonical(op.ipUpdate.address));

  if (access === 'read' && representsGeneralProtectionFault(snapshot, crash) && crashingAccessNotAmongAccesses()) {
    if (op?.onlyGpfWhenNonCanonical && nonCanonicalNotAmongAccesses()) found.push('non_canonical_address_falsely_reported');
    return found;
  }
  if (crashingAccessNotAmongAccesses()) found.push('crashing_access_not_found_in_memory_accesses');
  if (accessIsNotViolation()) found.push('access_violation_when_access_allowed');
  return found;
}

/** rust-minidump's crash_info analysis for a minidump's exception; `context` is the exception's own. */
export async function analyzeCrashAccess(snapshot: Snapshot, crash: CrashRecord, context: CpuContext | undefined): Promise<CrashAccess> {
  const op = context ? await analyzeInstruction(snapshot, crash, context) : undefined;
  const adjusted = op ? adjustedAddress(snapshot, crash, op) : undefined;
  const map = memoryMapRegions(snapshot);
  const possibleBitFlips = bitFlips(snapshot, crash, context, op, adjusted, map);
  const memoryAccesses = op?.accesses?.map((a) => (isLikelyGuardPage(a.address, map) ? { ...a, likelyGuardPage: true } : a));
  const withGuards = op && memoryAccesses ? { ...op, accesses: memoryAccesses } : op;
  return {
    instruction: op?.instruction,
    memoryAccesses,
    instructionPointerUpdate: op?.ipUpdate?.kind === 'update' ? op.ipUpdate.address : undefined,
    adjustedAddress: adjusted,
    possibleBitFlips,
    inconsistencies: inconsistencies(snapshot, crash, context, withGuards, map),
  };
}
