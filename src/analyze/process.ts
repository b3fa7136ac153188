import type { ByteSource } from '../io/byte-source.js';
import { readSnapshot } from '../formats/detect.js';
import { pointerWidth, specialRegisters, type Cpu, type CpuContext } from '../model/cpu.js';
import { findRegion, MemoryBlock } from '../model/memory.js';
import { ModuleIndex } from '../model/module-index.js';
import type { Module, Snapshot, Thread } from '../model/snapshot.js';
import { x86FromCompatibilityMode } from '../model/wow64.js';
import { noSymbols, type SymbolProvider } from '../symbolize/provider.js';
import { amd64Unwinder } from '../unwind/amd64.js';
import { armUnwinder } from '../unwind/arm.js';
import { arm64Unwinder } from '../unwind/arm64.js';
import { defaultWalkOptions, walkThread, WalkState, type CodeReader, type CpuUnwinder, type WalkOptions } from '../unwind/walker.js';
import { x86Unwinder, x86Wow64Unwinder } from '../unwind/x86.js';
import { analyzeCrashAccess } from './crash-access.js';
import { crashReason, explainCrash } from './crash-reason.js';
import { rustMinidumpCrashReason } from './crash-reason-rust.js';
import { symbolizeFromExports } from './export-symbols.js';
import { reconstructAfterWalk } from './reconstruct-thread.js';
import { checkStart, type StartRegisters } from './start.js';
import type { Finding } from './findings.js';
import { decodeX86Prologue } from './prologue.js';
import { findRecursion, findRepeatedBlock } from './recursion.js';
import { reentrancyFinding, stackFindings } from './stack-findings.js';
import { MemoryMap } from './memory-map.js';
import { stackViolations } from './violations.js';
import { frameFunctionKey, measureStack } from './stack-usage.js';
import { ModuleImages } from '../images/module-images.js';
import { explainKernelCrash, withKernelFindings } from './kernel-crash.js';
import type { Analysis, AnalyzeOptions, CrashInfo, ThreadAnalysis, ThreadReport, WalkEnvironment } from './types.js';
import { crashSignature, signatureMatcher } from './signature.js';

function unwinderFor(cpu: Cpu): CpuUnwinder | undefined {
  switch (cpu) {
    case 'x86':
      return x86Unwinder;
    case 'amd64':
      return amd64Unwinder;
    case 'arm64':
      return arm64Unwinder;
    case 'arm':
      return armUnwinder;
    default:
      return undefined;
  }
}

/** Records which modules had symbols while delegating to the real provider. */
class TrackingProvider implements SymbolProvider {
  readonly found = new Set<Module>();
  readonly sought = new Set<Module>();
  constructor(private readonly inner: SymbolProvider) {}
  async symbolsFor(module: Module): ReturnType<SymbolProvider['symbolsFor']> {
    if (this.inner !== noSymbols) this.sought.add(module);
    const s = await this.inner.symbolsFor(module);
    if (s) this.found.add(module);
    return s;
  }
}

/** Reads any dump stackhog knows (minidump, Windows kernel dump), chosen by its signature, and analyses it. */
export async function analyze(source: ByteSource, options: AnalyzeOptions = {}): Promise<Analysis> {
  return analyzeSnapshot(await readSnapshot(source), options);
}

/** @deprecated The entry was named after one format; use {@link analyze}, which reads every dump stackhog knows. */
export const analyzeMinidump: (source: ByteSource, options?: AnalyzeOptions) => Promise<Analysis> = analyze;

/** Walks every thread of a snapshot (Breakpad skips the thread that wrote the dump) and names the crash. */
export async function analyzeSnapshot(input: Snapshot, options: AnalyzeOptions = {}): Promise<Analysis> {
  const images = new ModuleImages(input.memory, options.images ?? [], input.system.osShort);
  const snapshot = await withImageDebugIds(input, images);
  const warnings = [...snapshot.warnings];
  const provider = new TrackingProvider(options.symbols ?? noSymbols);
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  const walkOptions: WalkOptions = { ...defaultWalkOptions, ...options.walk, ...(deadline === undefined ? {} : { deadline }) };
  const limits: string[] = [];
  const modules = new ModuleIndex(snapshot.modules);
  const exception = snapshot.exception;
  // A kernel dump's first thread is the one that called KeBugCheckEx.
  const requestingId = exception?.threadId ?? snapshot.breakpad?.requestingThreadId ?? (snapshot.kernel ? snapshot.threads[0]?.id : undefined);

  let crash: CrashInfo | undefined;
  if (exception) {
    const r = crashReason(snapshot.system.osShort, snapshot.system.cpu, exception);
    // A kernel dump's bugcheck gets no instruction analysis (rust-minidump, whose JSON this follows, reads user-mode dumps only).
    const access =
      snapshot.format !== 'kernel-dump'
        ? await analyzeCrashAccess(snapshot, { ...exception, address: r.address }, exception.context)
        : undefined;
    crash = {
      access,
      reason: r.reason,
      rustMinidumpReason: rustMinidumpCrashReason(snapshot.system.osShort, snapshot.system.cpu, exception),
      address: r.address,
      code: exception.code,
      flags: exception.flags,
      parameters: exception.parameters,
      explanation: explainCrash(snapshot.system.osShort, exception, r),
      threadId: exception.threadId,
    };
  }

  const protections = new MemoryMap(snapshot, modules, []);
  const env: WalkEnvironment = {
    maxStackBytes: options.maxStackBytes ?? DEFAULT_MAX_STACK_BYTES,
    executable: protections.hasProtections ? (address) => protections.facts(address).executable : undefined,
    reconstruct: options.reconstruct ?? true,
    snapshot,
    modules,
    symbols: provider,
    images,
    code: codeReader(snapshot, modules, images),
    walkOptions,
    warnings,
    notes: [],
  };
  const threads: ThreadReport[] = [];
  const findings: Finding[] = [];
  let crashingThreadIndex: number | undefined;
  for (const thread of snapshot.threads) {
    if (snapshot.breakpad?.dumpThreadId !== undefined && thread.id === snapshot.breakpad.dumpThreadId) continue;
    const crashed = requestingId !== undefined && thread.id === requestingId && crashingThreadIndex === undefined;
    if (options.crashedThreadOnly && !crashed) continue;
    if (crashed) crashingThreadIndex = threads.length;
    let context = crashed && exception?.context ? exception.context : thread.context;
    if (options.start && (crashed || (requestingId === undefined && threads.length === 0))) context = startContext(context, snapshot, options.start);
    // A WOW64 thread stopped in 32-bit code (CS 0x23) has only x86 registers: no 64-bit frame to start from.
    const in32BitCode = thread.wow64 !== undefined && x86FromCompatibilityMode(context) !== undefined;
    const analysed = await analyzeThread(env, thread, in32BitCode ? undefined : context, crashed);
    const program = await analyzeWow64Thread(env, thread, context, crashed);
    const bounds = { timeoutMs: options.timeoutMs, maxFrames: walkOptions.maxFrames, maxStackBytes: env.maxStackBytes };
    for (const t of program ? [analysed, program] : [analysed]) {
      for (const l of limitsHit(t, bounds, limits)) if (!limits.includes(l)) limits.push(l);
    }
    const native = await measureThread(env, analysed);
    const wow64 = program ? await measureThread(env, program) : undefined;
    // A 32-bit program's findings come from its own stack, not the WOW64 layer's.
    findings.push(...threadFindings(wow64 ?? native, crash));
    threads.push(wow64 ? { ...native, wow64 } : native);
  }
  // Memory facts need every thread's stack (a frame may run on another thread's stack).
  const stacks = threads.flatMap((t) => (t.wow64 ? [t, t.wow64] : [t])).flatMap((t) =>
    t.usage.base !== undefined && t.usage.limit !== undefined ? [{ threadId: t.thread.id, base: t.usage.limit, end: t.usage.base }] : [],
  );
  const memoryMap = new MemoryMap(snapshot, modules, stacks);
  const withMemory = (t: ThreadReport): ThreadReport => ({
    ...t,
    frameMemory: t.frames.map((f) => memoryMap.facts(f.trust === 'context' || f.interrupted ? f.ip : f.instruction)),
  });
  threads.forEach((t, i) => {
    threads[i] = t.wow64 ? { ...withMemory(t), wow64: withMemory(t.wow64) } : withMemory(t);
  });
  findings.push(...(await stackViolations(snapshot, threads.map(programStack), crash, memoryMap, modules)));
  // The crashing thread's findings first.
  const crashedId = crashingThreadIndex === undefined ? undefined : threads[crashingThreadIndex]!.thread.id;
  findings.sort((a, b) => Number(b.threadId === crashedId) - Number(a.threadId === crashedId));
  const crashedThread = crashingThreadIndex === undefined ? undefined : threads[crashingThreadIndex];
  const kernel = explainKernelCrash(snapshot, crashedThread?.frames ?? [], exception?.address, options.notCulprits);
  const allFindings = kernel ? withKernelFindings(findings, kernel, crashedThread) : findings;
  const matcher = options.signatureRules ? signatureMatcher(options.signatureRules) : undefined;
  return {
    kernel,
    signature: crashSignature({ kernel, crashingThreadIndex, threads: threads.map(programStack) }, matcher),
    snapshot,
    crash,
    crashingThreadIndex,
    threads,
    findings: allFindings,
    modulesWithSymbols: provider.found,
    modulesSymbolsSought: provider.sought,
    lastErrors: await lastErrorValues(snapshot),
    mainModule: snapshot.modules[0],
    warnings,
    notes: [...env.notes, ...images.warnings],
    limits,
  };
}

/**
 * A kernel dump's driver list names no PDB (a small dump keeps no image headers): a matching image
 * from --modules gives its CodeView record, so symbol stores find the driver's symbols.
 */
async function withImageDebugIds(snapshot: Snapshot, images: ModuleImages): Promise<Snapshot> {
  if (!snapshot.kernel || snapshot.modules.every((m) => m.debugId !== '')) return snapshot;
  const modules = await Promise.all(
    snapshot.modules.map(async (m) => {
      if (m.debugId !== '') return m;
      const found = await images.fileImageFor(m);
      const cv = found ? await found.image.codeView() : undefined;
      return cv ? { ...m, debugFile: cv.debugFile, debugId: cv.debugId } : m;
    }),
  );
  return { ...snapshot, modules };
}

/** TEB.LastErrorValue, 13 pointers into the TEB on x86 and x64 (NT_TIB's 7, then 6 more), when captured. */
async function lastErrorValues(snapshot: Snapshot): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  // rust-minidump reads it on every minidump, whatever the OS (Crashpad's Linux and macOS TEB is TLS); a legacy user dump's TEBs are Windows'.
  if (snapshot.format === 'kernel-dump' || snapshot.system.cpu === 'unknown') return out;
  const offset = BigInt(pointerWidth(snapshot.system.cpu) * 13);
  for (const thread of snapshot.threads) {
    if (thread.teb === 0n) continue;
    const bytes = await snapshot.memory.read(thread.teb + offset, 4);
    if (bytes) out.set(thread.id, new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true));
  }
  return out;
}

/**
 * Every resource limit a thread's analysis hit, in one place: each makes the report partial, so each
 * is said (the report's limits, the CLI's exit code 4). The time budget is said once, for the first thread.
 */
function limitsHit(
  t: ThreadAnalysis,
  bounds: { readonly timeoutMs: number | undefined; readonly maxFrames: number; readonly maxStackBytes: number },
  earlier: readonly string[],
): string[] {
  const id = `thread 0x${t.thread.id.toString(16)}`;
  const out: string[] = [];
  if (t.stoppedBy === 'time' && !earlier.some((l) => l.startsWith('time'))) {
    out.push(`time budget of ${bounds.timeoutMs} ms ran out: ${id} and the threads after it were not walked to the end`);
  }
  if (t.stoppedBy === 'frames') out.push(`${id}: the walk stopped at the limit of ${bounds.maxFrames} frames`);
  const stackSize = t.thread.stack?.size;
  if (t.stackMemory && stackSize !== undefined && stackSize > bounds.maxStackBytes) {
    out.push(`${id}: only the innermost ${bounds.maxStackBytes} of ${stackSize} stack bytes were loaded and searched (the stack byte limit)`);
  }
  return out;
}

/** Default cap on the stack bytes loaded per thread: far above any real stack (1 MiB on Windows, 8 MiB on Linux). */
export const DEFAULT_MAX_STACK_BYTES = 64 * 1024 * 1024;

/** x86 frames whose function start is known: the fixed local allocation their prologue makes. */
async function decodeX86Prologues(t: ThreadAnalysis, code: CodeReader): Promise<void> {
  if (t.context?.cpu !== 'x86') return;
  for (const frame of t.frames) {
    if (!frame.module || !frame.symbol || frame.fixedAllocation !== undefined) continue;
    const bytes = await code(frame.module.base + BigInt(frame.symbol.functionAddress), 64);
    if (bytes) frame.fixedAllocation = decodeX86Prologue(bytes).localAllocation;
  }
}

/** Code bytes from the dump's memory, else from the module's image. */
function codeReader(snapshot: Snapshot, modules: ModuleIndex, images: ModuleImages): CodeReader {
  return async (address, length) => {
    const captured = await snapshot.memory.read(address, length);
    if (captured) return captured;
    const module = modules.find(address);
    if (!module) return undefined;
    const found = await images.imageFor(module);
    return found?.image.readRva(Number(address - module.base), length);
  };
}

async function analyzeThread(
  env: WalkEnvironment,
  thread: Thread,
  context: CpuContext | undefined,
  crashed: boolean,
): Promise<ThreadAnalysis> {
  const stack = await loadStack(env.snapshot, thread, env.warnings, env.maxStackBytes);
  return walkStack(env, thread, context, crashed, stack);
}

/** Walks one stack from a context: the frames, and the raw-stack reconstruction when the walk falls short. */
async function walkStack(
  env: WalkEnvironment,
  thread: Thread,
  context: CpuContext | undefined,
  crashed: boolean,
  stack: MemoryBlock | undefined,
  unwinderOverride?: CpuUnwinder,
): Promise<ThreadAnalysis> {
  const { snapshot } = env;
  const base = { thread, crashed, context, stackMemory: stack ? { base: stack.base, size: stack.bytes.length } : undefined };
  if (!context) return { ...base, frames: [], truncated: false, reconstruction: undefined };
  // The context's own CPU decides: an x86 thread of a WoW64 process walks as x86.
  const cpu = context.cpu;
  let unwinder = unwinderOverride ?? unwinderFor(cpu);
  if (!unwinder) {
    const message = `${snapshot.file}: stack walking is not supported for CPU '${cpu}'; showing context frames only`;
    // A limitation of stackhog, not damage in the dump: a note, not a warning (exit code 0).
    if (!env.notes.includes(message)) env.notes.push(message);
    unwinder = { returnAddressBias: 1n, callerFrame: () => Promise.resolve(undefined) };
  }
  const state = new WalkState(cpu, stack, env.modules, env.symbols, snapshot.system.osShort, env.code, env.images, env.executable);
  const { frames, truncated, stoppedBy } = await walkThread(state, context, unwinder, env.walkOptions);
  const reconstruction = env.reconstruct && stack && !truncated ? await reconstructAfterWalk(env, cpu, stack, unwinder, frames) : undefined;
  return { ...base, frames, truncated, reconstruction, ...(stoppedBy ? { stoppedBy } : {}) };
}

/** A walked thread measured: exports named, x86 prologues decoded, stack usage and recursion. */
async function measureThread(env: WalkEnvironment, analysed: ThreadAnalysis): Promise<ThreadReport> {
  await symbolizeFromExports(analysed.frames, env.images);
  await decodeX86Prologues(analysed, env.code);
  const usage = await measureStack(env.snapshot, analysed);
  const recursion = findRecursion(analysed.frames.map(frameFunctionKey));
  return { ...analysed, usage, recursion, frameMemory: [] };
}

/** What one thread's stack shows: overflow, recursion, re-entrancy. */
function threadFindings(t: ThreadReport, crash: CrashInfo | undefined): Finding[] {
  const out = stackFindings(t, t.usage, t.recursion, crash);
  const block = findRepeatedBlock(t.frames.map(frameFunctionKey), t.recursion);
  if (block) out.push(reentrancyFinding(block, (i) => t.usage.frames[i]?.size, t.thread.id, 'warning'));
  return out;
}

/** The stack a thread's program runs on: a 32-bit program's own under WOW64, else the thread's. */
function programStack(t: ThreadReport): ThreadReport {
  return t.wow64 ?? t;
}

/**
 * The 32-bit program's stack of a WOW64 thread in a 64-bit dump, walked as x86 from its saved
 * context (Thread.wow64); undefined for every other thread, and when the walk already is x86 (a
 * 32-bit dumper's context, or `--start`). The crashing thread stopped in 32-bit code starts from
 * the exception's context. The stack is the captured memory holding esp, bounded by the 32-bit
 * TEB's StackBase and StackLimit when known.
 */
async function analyzeWow64Thread(env: WalkEnvironment, thread: Thread, context: CpuContext | undefined, crashed: boolean): Promise<ThreadAnalysis | undefined> {
  const w = thread.wow64;
  if (!w || context?.cpu !== 'amd64') return undefined;
  const atCrash = crashed && context === env.snapshot.exception?.context ? x86FromCompatibilityMode(context) : undefined;
  const x86 = atCrash ?? w.context;
  if (!x86) {
    // Damage was a warning when the dump was read; a TEB the writer left out is only a limit.
    const message = `${env.snapshot.file}: a 32-bit process under WOW64, but the x86 context of some threads is not in the dump (their 64-bit TEB or WOW64_CPURESERVED was not captured): only their 64-bit stacks are walked`;
    if (!env.snapshot.warnings.some((m) => m.includes(`thread 0x${thread.id.toString(16)}: WOW64:`)) && !env.notes.includes(message)) env.notes.push(message);
    return undefined;
  }
  const stack = await wow64Stack(env, x86.registers.get('esp'), w.stackBounds);
  return walkStack(env, thread, x86, crashed, stack, x86Wow64Unwinder);
}

/** The captured memory holding a 32-bit stack pointer, from the stack's limit (when known and captured) up to its base. */
async function wow64Stack(env: WalkEnvironment, esp: bigint | undefined, bounds: { readonly base: bigint; readonly limit: bigint } | undefined): Promise<MemoryBlock | undefined> {
  if (esp === undefined) return undefined;
  const region = findRegion(env.snapshot.memory.regions, esp);
  if (!region) return undefined;
  const start = bounds && bounds.limit > region.base && bounds.limit <= esp ? bounds.limit : region.base;
  const end = bounds && bounds.base > esp ? bounds.base : region.base + BigInt(region.size);
  return env.snapshot.memory.loadRange(start, Math.min(Number(end - start), env.maxStackBytes));
}

/** The crashing thread's context with `--start` registers in place of its ip, sp and frame pointer. */
function startContext(context: CpuContext | undefined, snapshot: Snapshot, given: StartRegisters): CpuContext {
  const cpu = context?.cpu ?? snapshot.system.cpu;
  const start = checkStart(given, cpu);
  const regs = specialRegisters(cpu);
  const registers = new Map(context?.registers ?? []);
  registers.set(regs.ip, start.instructionPtr);
  registers.set(regs.sp, start.stackPtr);
  if (given.basePtr !== undefined) registers.set(regs.fp, start.basePtr);
  return { cpu, registers };
}

/** The thread's stack bytes: from its own descriptor, or else the captured region holding its stack start. */
async function loadStack(snapshot: Snapshot, thread: Thread, warnings: string[], maxBytes: number): Promise<MemoryBlock | undefined> {
  const desc = thread.stack;
  if (!desc) return undefined;
  try {
    // The innermost part of the stack (its low addresses) matters most: keep that when capping.
    return await snapshot.memory.loadStack({ ...desc, size: Math.min(desc.size, maxBytes) });
  } catch (e) {
    warnings.push(`thread 0x${thread.id.toString(16)}: stack memory unreadable: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}
