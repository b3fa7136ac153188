import type { Analysis, CrashInfo, MemoryFacts, ThreadReport } from '../analyze/types.js';
import { shortestF32 } from '../analyze/bit-flips.js';
import type { Finding } from '../analyze/findings.js';
import { registerOrder, type Cpu, type CpuContext } from '../model/cpu.js';
import type { HeaderField } from '../model/kernel.js';
import type { MacCrashInfoRecord, Module, Thread } from '../model/snapshot.js';
import type { FrameTrust, StackFrame } from '../unwind/frame.js';
import { moduleName } from '../symbolize/module-name.js';
import { rustMinidumpWindowsError } from '../analyze/crash-reason-rust.js';
import { hexPtr } from './format.js';
import { baseName } from '../symbolize/symbol-store.js';

/** rust-minidump's trust names; Breakpad's leaf-return simulation is a one-word scan. */
function jsonTrust(trust: FrameTrust): string {
  return trust === 'leaf' ? 'scan' : trust;
}

/** Which of the dump's threads the document lists, in the dump's order, and where the crashed one is. */
interface ThreadEntry {
  readonly thread: Thread;
  /** Undefined for the thread that wrote the dump: rust-minidump lists it with no frames, Breakpad not at all. */
  readonly report: ThreadReport | undefined;
}

function threadEntries(analysis: Analysis, crashedOnly: boolean): ThreadEntry[] {
  const reports = new Map(analysis.threads.map((t) => [t.thread, t] as const));
  const crashed = analysis.crashingThreadIndex === undefined ? undefined : analysis.threads[analysis.crashingThreadIndex];
  if (crashedOnly) return crashed ? [{ thread: crashed.thread, report: crashed }] : [];
  const dumpThreadId = analysis.snapshot.breakpad?.dumpThreadId;
  const out: ThreadEntry[] = [];
  for (const thread of analysis.snapshot.threads) {
    const report = reports.get(thread);
    if (report || thread.id === dumpThreadId) out.push({ thread, report });
  }
  // A walked thread that is not the snapshot's own object would still be listed.
  const listed = new Set(out.map((e) => e.report));
  for (const t of analysis.threads) if (!listed.has(t)) out.push({ thread: t.thread, report: t });
  return out;
}

/**
 * `status`: rust-minidump's field, "OK" when the dump was read whole. A damaged dump (exit code 2)
 * says so with Breakpad's ProcessResult names where one fits, and a report cut short by a limit
 * (exit code 4) says LIMIT_REACHED.
 */
export function jsonStatus(analysis: Analysis): string {
  if (analysis.warnings.length > 0) {
    return analysis.snapshot.threads.length === 0 && analysis.snapshot.format === 'minidump' ? 'ERROR_NO_THREAD_LIST' : 'ERROR_DAMAGED_INPUT';
  }
  return analysis.limits.length > 0 ? 'LIMIT_REACHED' : 'OK';
}

/** rust-minidump's crash-instruction keys of `crash_info`, in its value formats (null where it has no value). */
function crashAccessJson(crash: CrashInfo | undefined, cpu: Cpu): Record<string, unknown> {
  const a = crash?.access;
  return {
    adjusted_address: !a?.adjustedAddress
      ? null
      : a.adjustedAddress.kind === 'non-canonical'
        ? { kind: 'non-canonical', address: hexPtr(a.adjustedAddress.address, cpu) }
        : { kind: 'null-pointer', offset: hexPtr(a.adjustedAddress.offset, cpu) },
    instruction: a?.instruction ?? null,
    memory_accesses:
      a?.memoryAccesses?.map((m) => ({
        ...(m.accessType === 'underivable' ? {} : { access_type: m.accessType }),
        address: hexPtr(m.address, cpu),
        ...(m.likelyGuardPage ? { is_likely_guard_page: true } : {}),
        size: m.size ?? null,
      })) ?? null,
    instruction_pointer_update: a?.instructionPointerUpdate === undefined ? null : { address: hexPtr(a.instructionPointerUpdate, cpu) },
    possible_bit_flips: a?.possibleBitFlips.length
      ? a.possibleBitFlips.map((f) => ({
          address: hexPtr(f.address, cpu),
          confidence: shortestF32(f.confidence),
          details: {
            is_null: f.details.isNull,
            nearby_registers: f.details.nearbyRegisters,
            poison_registers: f.details.poisonRegisters,
            was_low: f.details.wasLow,
            was_non_canonical: f.details.wasNonCanonical,
          },
          source_register: f.sourceRegister ?? null,
        }))
      : null,
    crash_inconsistencies: crash ? [...(a?.inconsistencies ?? [])] : null,
  };
}

/**
 * The analysis as JSON: every key rust-minidump's `minidump-stackwalk --json` writes, with its
 * values, plus stackhog's own fields beside them (README lists both).
 */
export function toJson(analysis: Analysis, options: { threads?: 'all' | 'crashed' } = {}): unknown {
  const { snapshot } = analysis;
  const cpu = snapshot.system.cpu;
  const modules = snapshot.modules;
  const entries = threadEntries(analysis, options.threads === 'crashed');
  const crashedReport = analysis.crashingThreadIndex === undefined ? undefined : analysis.threads[analysis.crashingThreadIndex];
  const crashedIndex = crashedReport === undefined ? undefined : entries.findIndex((e) => e.report === crashedReport);
  const threadCpu = (t: ThreadReport): Cpu => t.context?.cpu ?? cpu;
  const threads = entries.map((e) => (e.report ? threadJson(e.report, threadCpu(e.report), analysis) : unwalkedThreadJson(e.thread, analysis)));
  const crashedJson =
    crashedReport === undefined || crashedIndex === undefined || crashedReport.frames.length === 0
      ? null
      : crashingThreadJson(threads[crashedIndex]!, crashedIndex, crashedReport, threadCpu(crashedReport));
  const linux = snapshot.linux;
  return {
    status: jsonStatus(analysis),
    pid: snapshot.process.processId ?? null,
    process_uptime: processUptime(snapshot),
    // Ours: the crash signature (analyze/signature.ts) and the frames that made it.
    signature: analysis.signature.signature,
    signature_frames: analysis.signature.frames.map((f) => ({ frame: f.index, name: f.name, role: f.role })),
    crash_info: {
      // rust-minidump's wording (Breakpad's is crash_info.breakpad_type; they differ on Linux and macOS).
      type: analysis.crash ? (analysis.crash.rustMinidumpReason ?? analysis.crash.reason) : null,
      breakpad_type: analysis.crash?.reason ?? null,
      address: analysis.crash ? hexPtr(analysis.crash.address, cpu) : null,
      ...crashAccessJson(analysis.crash, cpu),
      crashing_thread: crashedIndex ?? null,
      crashing_thread_id: crashedReport?.thread.id ?? null,
      assertion: null,
      explanation: analysis.crash?.explanation ?? null,
      parameters: analysis.crash?.parameters.map((p) => hexPtr(p, cpu)) ?? [],
    },
    system_info: {
      os: snapshot.system.os,
      os_ver: rustOsVersion(snapshot),
      cpu_arch: cpu,
      cpu_info: snapshot.system.cpuInfo,
      cpu_count: snapshot.system.cpuCount,
      cpu_microcode_version: null,
    },
    lsb_release: linux?.lsbRelease === undefined ? null : lsbRelease(linux.lsbRelease),
    proc_limits: linux?.procLimits === undefined ? null : { limits: procLimits(linux.procLimits) },
    soft_errors: softErrors(snapshot.mozilla?.softErrors),
    mac_crash_info: macCrashInfo(snapshot.mozilla?.macCrashInfo, cpu),
    mac_boot_args: snapshot.mozilla?.macBootArgs ?? null,
    linux_memory_map_count: linux && linux.maps.length > 0 ? linux.maps.length : null,
    crashing_thread: crashedJson,
    thread_count: threads.length,
    threads,
    threads_omitted: options.threads === 'crashed' ? snapshot.threads.length - threads.length : 0,
    main_module: analysis.mainModule ? modules.indexOf(analysis.mainModule) : null,
    modules_contains_cert_info: false,
    modules: modules.map((m) => moduleJson(m, cpu, analysis)),
    unloaded_modules: snapshot.unloadedModules.map((m) => ({
      base_addr: hexPtr(m.base, cpu),
      end_addr: hexPtr(m.base + BigInt(m.size), cpu),
      code_id: m.codeId.toLowerCase(),
      filename: baseName(m.codeFile),
      cert_subject: null,
    })),
    handles: snapshot.handles
      ? snapshot.handles.map((h) => ({ handle: Number(h.handle), type_name: h.typeName ?? null, object_name: h.objectName ?? null }))
      : null,
    crashpad_info: snapshot.crashpad
      ? {
          report_id: snapshot.crashpad.reportId,
          client_id: snapshot.crashpad.clientId,
          simple_annotations: Object.fromEntries(snapshot.crashpad.simpleAnnotations),
          module_info: snapshot.crashpad.moduleAnnotations.map((m) => ({
            module_index: m.moduleIndex,
            list_annotations: m.listAnnotations,
            simple_annotations: Object.fromEntries(m.simpleAnnotations),
          })),
        }
      : null,
    findings: analysis.findings.map((f) => findingJson(f, cpu)),
    ...(analysis.kernel ? kernelJson(analysis, cpu) : {}),
    // A limit hit makes the report partial: consumers of rust-minidump's schema read `warnings`.
    warnings: [...analysis.warnings, ...analysis.limits.map((l) => `limit: ${l}`)],
  };
}

/** The crashed thread again at the top level, its first frame with the registers (rust-minidump's layout). */
function crashingThreadJson(thread: Record<string, unknown>, index: number, t: ThreadReport, cpu: Cpu): Record<string, unknown> {
  const registers = registersJson(t, cpu);
  const frames = (thread['frames'] as Record<string, unknown>[]).map((f, i) => (i === 0 ? { ...f, registers } : f));
  return { ...thread, threads_index: index, frames, registers };
}

/** The thread that wrote the dump: listed, never walked (its state is the dump writer's own). */
function unwalkedThreadJson(thread: Thread, analysis: Analysis): Record<string, unknown> {
  return {
    thread_id: thread.id,
    thread_name: thread.name ?? null,
    last_error_value: lastErrorJson(thread, analysis),
    frame_count: 0,
    frames_truncated: false,
    frames: [],
    not_walked: 'the thread that wrote the dump',
  };
}

/** rust-minidump's mac_crash_info: the records' fields, hex strings for the numbers. */
function macCrashInfo(records: readonly MacCrashInfoRecord[] | undefined, cpu: Cpu): unknown {
  if (!records) return null;
  const hex = (v: bigint | undefined): string | null => (v === undefined ? null : hexPtr(v, cpu));
  return {
    num_records: records.length,
    records: records.map((r) => ({
      thread: hex(r.thread),
      dialog_mode: hex(r.dialogMode),
      abort_cause: hex(r.abortCause),
      module: r.modulePath ?? null,
      message: r.message ?? null,
      signature_string: r.signatureString ?? null,
      backtrace: r.backtrace ?? null,
      message2: r.message2 ?? null,
    })),
  };
}

/** The TEB's LastErrorValue in rust-minidump's words (ERROR_SUCCESS, an NTSTATUS name, ...); null when not captured. */
function lastErrorJson(thread: Thread, analysis: Analysis): string | null {
  const value = analysis.lastErrors.get(thread.id);
  return value === undefined ? null : rustMinidumpWindowsError(value);
}

/** Seconds from the process's creation (MISC_INFO) to the dump's time stamp; null when unknown. */
function processUptime(snapshot: Analysis['snapshot']): number | null {
  const created = snapshot.process.createTime;
  if (created === undefined) return null;
  return Math.max(0, snapshot.timeDateStamp - created);
}

/**
 * rust-minidump's os_ver: "major.minor.build" and the CSD string; for Linux, whose writers leave the
 * numbers 0.0.0 and put `uname -srvmo` in the CSD string, the kernel release and the build from it.
 */
function rustOsVersion(snapshot: Analysis['snapshot']): string | null {
  const parts = snapshot.system.versionParts;
  if (!parts) return snapshot.system.osVersion || null;
  const numbers = `${parts.major}.${parts.minor}.${parts.build}`;
  const csd = parts.csd.trim();
  const plain = csd ? `${numbers} ${csd}` : numbers;
  if (snapshot.system.osShort !== 'linux' || numbers !== '0.0.0') return plain;
  const words = parts.csd.split(' ');
  const release = words[1] ?? '0.0.0';
  let rest = words.slice(2);
  // The last word is the machine (or "Linux/GNU" after it: then drop both).
  if (rest.length > 0 && rest[rest.length - 1] === 'Linux/GNU') rest = rest.slice(0, -2);
  else rest = rest.slice(0, -1);
  if (release === '0.0.0') return plain;
  return `${release} ${rest.join(' ')}`;
}

/** /etc/lsb-release (or os-release) pairs as rust-minidump names them. */
function lsbRelease(text: string): { id: string; release: string; codename: string; description: string } {
  const out = { id: '', release: '', codename: '', description: '' };
  for (const [key, value] of keyValueLines(text, '=')) {
    if (key === 'DISTRIB_ID' || key === 'ID') out.id = value;
    else if (key === 'DISTRIB_RELEASE' || key === 'VERSION_ID') out.release = value;
    else if (key === 'DISTRIB_CODENAME' || key === 'VERSION_CODENAME') out.codename = value;
    else if (key === 'DISTRIB_DESCRIPTION' || key === 'PRETTY_NAME') out.description = value;
  }
  return out;
}

/** `key<sep>value` lines, both trimmed and unquoted. */
function keyValueLines(text: string, separator: string): [string, string][] {
  const unquote = (v: string): string => {
    const t = v.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
  };
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(separator);
    if (at < 0) continue;
    out.push([unquote(line.slice(0, at)), unquote(line.slice(at + 1))]);
  }
  return out;
}

/** /proc/self/limits rows: columns are separated by runs of two or more spaces. */
function procLimits(text: string): { name: string; soft: number | string; hard: number | string; unit: string }[] {
  const value = (v: string): number | string => {
    const t = v.trim();
    if (t === 'unlimited') return 'unlimited';
    return /^\d+$/.test(t) ? Number(t) : 'err';
  };
  const rows = text.split('\n').filter((l) => l.length > 0).slice(1);
  const out: { name: string; soft: number | string; hard: number | string; unit: string }[] = [];
  for (const row of rows) {
    const cells = row.split('  ').filter((c) => c.length > 0);
    if (cells.length < 3) continue;
    out.push({ name: cells[0]!.trim(), soft: value(cells[1]!), hard: value(cells[2]!), unit: cells[3]?.trim() ?? 'n/a' });
  }
  return out;
}

/** MozSoftErrors holds JSON written by the dump writer; anything else is left out, as rust-minidump does. */
function softErrors(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text.replace(/\0+$/, '')) as unknown;
  } catch {
    return null;
  }
}

function fieldsJson(fields: readonly HeaderField[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const f of fields) out[f.name] = f.value === undefined ? null : typeof f.value === 'string' ? f.value : `0x${f.value.toString(16)}`;
  return out;
}

function contextJson(context: CpuContext | undefined, cpu: Cpu): Record<string, string> | null {
  if (!context) return null;
  const out: Record<string, string> = {};
  for (const [name, v] of context.registers) out[name] = hexPtr(v, cpu);
  return out;
}

/** A kernel dump's bugcheck and header, beside the user-dump document's fields. */
function kernelJson(analysis: Analysis, cpu: Cpu): Record<string, unknown> {
  const k = analysis.kernel!;
  const info = analysis.snapshot.kernel!;
  const b = k.bugcheck;
  const ptr = (v: bigint | undefined): string | null => (v === undefined ? null : hexPtr(v, cpu));
  return {
    bugcheck: {
      code: `0x${b.code.toString(16)}`,
      name: b.name,
      parameters: b.parameters.map((p) => ({ value: hexPtr(p.value, cpu), name: p.name, meaning: p.meaning })),
      explanation: b.explanation,
      guidance: b.guidance ?? null,
      probably_caused_by: k.culprit ? { module: k.culprit.imageName, module_name: k.culprit.moduleName, rule: k.culprit.rule } : null,
      culprit_rule: k.culpritRule,
      bucket: k.bucket,
      walked_from: k.walkedFrom,
      process_name: k.processName ?? null,
    },
    kernel: {
      dump_type: info.dumpType,
      dump_type_name: info.dumpTypeName,
      header_width: info.headerWidth,
      header: fieldsJson(info.header),
      triage: info.triage ? fieldsJson(info.triage) : null,
      memory_header: info.memoryHeader ? fieldsJson(info.memoryHeader) : null,
      physical_pages: info.physicalPages ?? null,
      header_context: contextJson(info.headerContext, cpu),
      bugcheck_processor: info.bugcheckProcessor ?? null,
      processors: info.processors.map((p) => ({
        index: p.index,
        prcb: ptr(p.prcb),
        current_thread: ptr(p.currentThread),
        context: contextJson(p.context, cpu),
      })),
      debugger_data: info.debuggerData
        ? {
            address: ptr(info.debuggerData.address),
            size: info.debuggerData.size,
            encoded: info.debuggerData.encoded,
            kern_base: ptr(info.debuggerData.kernBase),
            ps_loaded_module_list: ptr(info.debuggerData.psLoadedModuleList),
            ki_processor_block: ptr(info.debuggerData.kiProcessorBlock),
            offsets: info.debuggerData.offsets,
            note: info.debuggerData.note ?? null,
          }
        : null,
      crashing_thread: info.crashingThread
        ? {
            kthread: ptr(info.crashingThread.kthread),
            initial_stack: ptr(info.crashingThread.initialStack),
            stack_base: ptr(info.crashingThread.stackBase),
            stack_limit: ptr(info.crashingThread.stackLimit),
            kernel_stack: ptr(info.crashingThread.kernelStack),
          }
        : null,
      unloaded_drivers: info.unloadedDrivers.map((u) => ({ name: u.name, start: ptr(u.start), end: ptr(u.end) })),
      unread: info.unread,
    },
  };
}

function moduleJson(m: Module, cpu: Cpu, analysis: Analysis): unknown {
  const loaded = analysis.modulesWithSymbols.has(m);
  return {
    base_addr: hexPtr(m.base, cpu),
    end_addr: hexPtr(m.base + BigInt(m.size), cpu),
    debug_file: baseName(m.debugFile),
    debug_id: m.debugId,
    filename: moduleName(m),
    // rust-minidump prints code ids in lowercase; symbol servers' TIMESTAMPsize form stays in the model.
    code_id: m.codeId.toLowerCase(),
    version: m.version ?? null,
    cert_subject: null,
    // rust-minidump: a symbol source was searched for this module and had nothing.
    missing_symbols: analysis.modulesSymbolsSought.has(m) && !loaded,
    loaded_symbols: loaded,
    corrupt_symbols: false,
    symbol_url: null,
  };
}

function registersJson(t: ThreadReport, cpu: Cpu): Record<string, string> {
  const out: Record<string, string> = {};
  const ctx = t.frames[0]?.registers ?? t.context?.registers;
  if (!ctx) return out;
  for (const name of registerOrder(cpu)) {
    const v = ctx.get(name);
    if (v !== undefined) out[JSON_REGISTER_NAMES[name] ?? name] = hexPtr(v, cpu);
  }
  return out;
}

/** Where rust-minidump's register names differ from Breakpad's (which the model uses). */
const JSON_REGISTER_NAMES: Readonly<Record<string, string>> = { efl: 'eflags' };

function threadJson(t: ThreadReport, cpu: Cpu, analysis: Analysis): Record<string, unknown> {
  const u = t.usage;
  const sizes = u.frames.map((f) => f.size);
  const ptr = (v: bigint | undefined): string | null => (v === undefined ? null : hexPtr(v, cpu));
  return {
    thread_id: t.thread.id,
    thread_name: t.thread.name ?? null,
    last_error_value: lastErrorJson(t.thread, analysis),
    frame_count: t.frames.length,
    frames_truncated: t.truncated,
    frames: t.frames.map((f, i) => ({ ...frameJson(f, i, sizes[i], cpu, analysis), ...memoryJson(t.frameMemory[i], f) })),
    stack: {
      base: ptr(u.base),
      limit: ptr(u.limit),
      reserve_base: ptr(u.reserveBase),
      bounds_source: u.boundsSource ?? null,
      limit_source: u.limitSource ?? null,
      reserve_source: u.reserveSource ?? null,
      stack_pointer: ptr(u.stackPointer),
      used_bytes: u.usedBytes ?? null,
      reserve_bytes: u.reserveBytes ?? null,
      used_percent: u.usedPercent === undefined ? null : Math.round(u.usedPercent * 100) / 100,
      percent_of: u.percentOf ?? null,
    },
    stack_usage: {
      walked_bytes: u.walkedBytes,
      by_module: u.byModule.map((m) => ({ module: m.name, bytes: m.bytes, frames: m.frames, share: round4(m.share) })),
      by_function: u.byFunction.map((m) => ({ function: m.name, bytes: m.bytes, frames: m.frames, share: round4(m.share) })),
    },
    findings: analysis.findings.filter((f) => f.threadId === t.thread.id).map((f) => findingJson(f, cpu)),
    reconstruction: t.reconstruction ? { used: t.reconstruction.used ?? null, alternatives: t.reconstruction.alternatives } : null,
    ...(t.wow64 ? { wow64: wow64Json(t, t.wow64, analysis) } : {}),
  };
}

/**
 * Ours, only on a WOW64 thread: the 32-bit program's stack, walked as x86 from the context its
 * WOW64 layer saved. The thread's `frames` stay the 64-bit ones that rust-minidump lists.
 */
function wow64Json(t: ThreadReport, w: ThreadReport, analysis: Analysis): Record<string, unknown> {
  const { thread_id: _id, thread_name: _name, last_error_value: _error, findings: _findings, ...walk } = threadJson(w, 'x86', analysis);
  const info = t.thread.wow64;
  return {
    context_source: w.context === info?.context ? (info?.source ?? null) : 'exception',
    teb32: info?.teb32 === undefined ? null : hexPtr(info.teb32, 'x86'),
    registers: registersJson(w, 'x86'),
    ...walk,
  };
}

/** The stack-violation columns of a frame: what backs its code address. */
function memoryJson(m: MemoryFacts | undefined, f: StackFrame): Record<string, unknown> {
  return {
    memory_in_module: m ? m.module !== undefined : f.module !== undefined,
    executable: m?.executable ?? null,
    memory_type: m?.type ?? null,
    module_path: f.module?.codeFile ?? null,
  };
}

function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

export function findingJson(f: Finding, cpu: Cpu): unknown {
  return {
    kind: f.kind,
    severity: f.severity,
    thread_id: f.threadId ?? null,
    frame: f.frame ?? null,
    address: f.address === undefined ? null : hexPtr(f.address, cpu),
    summary: f.summary,
    evidence: f.evidence,
    data: f.data,
  };
}

function frameJson(f: StackFrame, index: number, size: number | undefined, cpu: Cpu, analysis: Analysis): Record<string, unknown> {
  const m = f.module;
  // rust-minidump's fields come from symbol files only; a name from the PE export table is ours.
  const fromExports = f.symbolSource === 'pe-export';
  const s = fromExports ? undefined : f.symbol;
  const exported = fromExports ? f.symbol : undefined;
  const rva = m ? f.instruction - m.base : undefined;
  return {
    frame: index,
    module: m ? moduleName(m) : null,
    module_offset: rva === undefined ? null : hexPtr(rva, cpu),
    offset: hexPtr(f.instruction, cpu),
    function: s?.functionName ?? null,
    function_offset: s && rva !== undefined ? hexPtr(rva - BigInt(s.functionAddress), cpu) : null,
    file: s?.file ?? null,
    line: s?.line ?? null,
    trust: jsonTrust(f.trust),
    inlines: s && s.inlines.length > 0 ? s.inlines.map((i) => ({ function: i.name, file: i.file ?? null, line: i.line ?? null })) : null,
    unloaded_modules: m ? null : unloadedModulesAt(f.instruction, analysis, cpu),
    missing_symbols: s === undefined,
    exported_function: exported?.functionName ?? null,
    exported_function_offset: exported && rva !== undefined ? hexPtr(rva - BigInt(exported.functionAddress), cpu) : null,
    symbol_source: fromExports ? 'exports' : f.symbolSource === 'symbol-file' ? 'symbol_file' : null,
    return_address: f.trust === 'context' ? null : hexPtr(f.ip, cpu),
    gap_before: f.afterGap,
    fixed_allocation: f.fixedAllocation ?? null,
    stack_pointer: hexPtr(f.sp, cpu),
    frame_size: size ?? null,
  };
}

/** For a frame outside every loaded module: the unloaded modules that once held its address, by name. */
function unloadedModulesAt(address: bigint, analysis: Analysis, cpu: Cpu): { module: string; offsets: string[] }[] | null {
  const byName = new Map<string, Set<bigint>>();
  for (const u of analysis.snapshot.unloadedModules) {
    if (address < u.base || address >= u.base + BigInt(u.size)) continue;
    const name = baseName(u.codeFile);
    const offsets = byName.get(name) ?? new Set<bigint>();
    offsets.add(address - u.base);
    byName.set(name, offsets);
  }
  if (byName.size === 0) return null;
  return [...byName.keys()].sort().map((name) => ({
    module: name,
    offsets: [...byName.get(name)!].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((o) => hexPtr(o, cpu)),
  }));
}
