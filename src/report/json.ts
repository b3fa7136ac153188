import type { Analysis, CrashInfo, MemoryFacts, ThreadReport } from '../analyze/types.js';
import { shortestF32 } from '../analyze/bit-flips.js';
import type { Finding } from '../analyze/findings.js';
import { registerOrder, type Cpu, type CpuContext } from '../model/cpu.js';
import type { HeaderField } from '../model/kernel.js';
import type { Module } from '../model/snapshot.js';
import type { FrameTrust, StackFrame } from '../unwind/frame.js';
import { moduleName } from '../symbolize/module-name.js';
import { hexPtr } from './format.js';
import { baseName } from '../symbolize/symbol-store.js';

/** rust-minidump's trust names; Breakpad's leaf-return simulation is a one-word scan. */
function jsonTrust(trust: FrameTrust): string {
  return trust === 'leaf' ? 'scan' : trust;
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

/** The analysis as JSON in rust-minidump's schema, plus stackhog's fields (return_address, stack_pointer, frame_size). */
export function toJson(analysis: Analysis, options: { threads?: 'all' | 'crashed' } = {}): unknown {
  const { snapshot } = analysis;
  const cpu = snapshot.system.cpu;
  const modules = snapshot.modules;
  const crashedIndex = analysis.crashingThreadIndex;
  const threadCpu = (t: ThreadReport): Cpu => t.context?.cpu ?? cpu;
  const threads = analysis.threads.map((t) => threadJson(t, threadCpu(t), analysis));
  const crashed = crashedIndex === undefined ? null : analysis.threads[crashedIndex]!;
  return {
    status: 'OK',
    pid: snapshot.process.processId ?? null,
    crash_info: {
      type: analysis.crash?.reason ?? null,
      address: analysis.crash ? hexPtr(analysis.crash.address, cpu) : null,
      ...crashAccessJson(analysis.crash, cpu),
      crashing_thread: crashedIndex ?? null,
      crashing_thread_id: crashed?.thread.id ?? null,
      assertion: null,
      explanation: analysis.crash?.explanation ?? null,
      parameters: analysis.crash?.parameters.map((p) => hexPtr(p, cpu)) ?? [],
    },
    system_info: {
      os: snapshot.system.os,
      os_ver: snapshot.system.osVersion,
      cpu_arch: cpu,
      cpu_info: snapshot.system.cpuInfo,
      cpu_count: snapshot.system.cpuCount,
      cpu_microcode_version: null,
    },
    crashing_thread:
      crashed === null
        ? null
        : {
            threads_index: crashedIndex,
            ...threadJson(crashed, threadCpu(crashed), analysis),
            registers: registersJson(crashed, threadCpu(crashed)),
          },
    thread_count: threads.length,
    threads: options.threads === 'crashed' ? (crashed ? [threadJson(crashed, threadCpu(crashed), analysis)] : []) : threads,
    main_module: analysis.mainModule ? modules.indexOf(analysis.mainModule) : null,
    modules: modules.map((m) => moduleJson(m, cpu, analysis)),
    unloaded_modules: snapshot.unloadedModules.map((m) => ({
      base_addr: hexPtr(m.base, cpu),
      end_addr: hexPtr(m.base + BigInt(m.size), cpu),
      code_id: m.codeId,
      filename: baseName(m.codeFile),
      cert_subject: null,
    })),
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
    warnings: analysis.warnings,
  };
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
    code_id: m.codeId,
    version: m.version ?? null,
    cert_subject: null,
    missing_symbols: !loaded,
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
    if (v !== undefined) out[name] = hexPtr(v, cpu);
  }
  return out;
}

function threadJson(t: ThreadReport, cpu: Cpu, analysis: Analysis): Record<string, unknown> {
  const u = t.usage;
  const sizes = u.frames.map((f) => f.size);
  const ptr = (v: bigint | undefined): string | null => (v === undefined ? null : hexPtr(v, cpu));
  return {
    thread_id: t.thread.id,
    thread_name: t.thread.name ?? null,
    last_error_value: null,
    frame_count: t.frames.length,
    frames_truncated: t.truncated,
    frames: t.frames.map((f, i) => ({ ...(frameJson(f, i, sizes[i], cpu, analysis) as object), ...memoryJson(t.frameMemory[i], f, cpu) })),
    stack: {
      base: ptr(u.base),
      limit: ptr(u.limit),
      reserve_base: ptr(u.reserveBase),
      bounds_source: u.boundsSource ?? null,
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
  };
}

/** The stack-violation columns of a frame: what backs its code address. */
function memoryJson(m: MemoryFacts | undefined, f: StackFrame, cpu: Cpu): Record<string, unknown> {
  return {
    memory_in_module: m ? m.module !== undefined : f.module !== undefined,
    executable: m?.executable ?? null,
    memory_type: m?.type ?? null,
    module_path: f.module?.codeFile ?? null,
    module_offset: f.module ? hexPtr((f.trust === 'context' || f.interrupted ? f.ip : f.instruction) - f.module.base, cpu) : null,
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

function frameJson(f: StackFrame, index: number, size: number | undefined, cpu: Cpu, analysis: Analysis): unknown {
  const m = f.module;
  const s = f.symbol;
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
    inlines: s && s.inlines.length > 0 ? s.inlines.map((i) => ({ function_name: i.name, file: i.file ?? null, line: i.line ?? null })) : null,
    missing_symbols: m ? !analysis.modulesWithSymbols.has(m) : false,
    symbol_source: f.symbolSource === 'pe-export' ? 'exports' : f.symbolSource === 'symbol-file' ? 'symbol_file' : null,
    return_address: f.trust === 'context' ? null : hexPtr(f.ip, cpu),
    gap_before: f.afterGap,
    fixed_allocation: f.fixedAllocation ?? null,
    stack_pointer: hexPtr(f.sp, cpu),
    frame_size: size ?? null,
  };
}
