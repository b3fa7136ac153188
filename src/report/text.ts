import type { Analysis, ThreadAnalysis, ThreadReport } from '../analyze/types.js';
import { usedShareBasis } from '../analyze/stack-usage.js';
import { describeMemory } from '../analyze/memory-map.js';
import { registerOrder, pointerWidth, type Cpu } from '../model/cpu.js';
import type { StackFrame } from '../unwind/frame.js';
import { moduleName } from '../symbolize/module-name.js';
import { hexPad, printable, registerLines, trustDescription } from './format.js';
import { baseName } from '../symbolize/symbol-store.js';
import { foldedRunText, foldedRuns, foldsByFirstFrame, type FoldedRun } from './runs.js';


export interface TextOptions {
  /** 'all' (default) or only the crashing thread. */
  readonly threads?: 'all' | 'crashed';
  /** List every frame of a recursion run instead of folding its repeats into one line. */
  readonly allFrames?: boolean;
}

/** A human report close to Breakpad's minidump_stackwalk, so its users can read it at once. */
export function renderText(analysis: Analysis, options: TextOptions = {}): string {
  const out: string[] = [];
  const { snapshot } = analysis;
  const sys = snapshot.system;
  out.push(`Operating system: ${sys.os}`);
  out.push(`                  ${sys.osVersion}`);
  out.push(`CPU: ${sys.cpu}`);
  if (sys.cpuInfo) out.push(`     ${sys.cpuInfo}`);
  out.push(`     ${sys.cpuCount} CPU${sys.cpuCount !== 1 ? 's' : ''}`);
  if (snapshot.wow64) out.push(`     a 32-bit (x86) process under WOW64: ${snapshot.wow64.evidence.join('; ')}`);
  out.push('');
  if (analysis.kernel) out.push(...renderBugcheck(analysis), '');
  if (analysis.crash) {
    const c = analysis.crash;
    out.push(`Crash reason:  ${c.reason}`);
    out.push(`Crash address: 0x${c.address.toString(16)}`);
    if (c.parameters.length > 0) {
      out.push('Crash parameters:');
      for (const p of c.parameters) out.push(`    value: ${hexPad(p, 16)}`);
    }
    if (c.explanation) out.push(`Explanation:   ${c.explanation}`);
  } else if (!analysis.kernel) {
    out.push('No crash');
  }
  const created = snapshot.process.createTime;
  if (snapshot.timeDateStamp !== 0 && created && snapshot.timeDateStamp >= created) {
    out.push(`Process uptime: ${snapshot.timeDateStamp - created} seconds`);
  } else if (!analysis.kernel) {
    out.push('Process uptime: not available');
  }
  out.push(`Signature:     ${analysis.signature.signature}`);
  if (snapshot.crashpad) out.push('', ...renderCrashpad(analysis));
  if (analysis.findings.length > 0) {
    out.push('');
    out.push(...renderFindings(analysis));
  }

  const crashedIndex = analysis.crashingThreadIndex;
  if (crashedIndex !== undefined) {
    const t = analysis.threads[crashedIndex]!;
    out.push('');
    const state = analysis.kernel ? 'bugcheck' : analysis.crash ? 'crashed' : 'requested dump, did not crash';
    out.push(`Thread ${crashedIndex} (${state})${threadLabel(t)}`);
    if (analysis.kernel) out.push(`    Walked from ${analysis.kernel.walkedFrom}`);
    out.push(...renderStack(t, t.context?.cpu ?? sys.cpu, options.allFrames ?? false));
    out.push(...renderUsage(t, t.context?.cpu ?? sys.cpu));
    out.push(...renderWow64(t, options.allFrames ?? false));
  }
  if (options.threads !== 'crashed') {
    analysis.threads.forEach((t, i) => {
      if (i === crashedIndex) return;
      out.push('');
      out.push(`Thread ${i}${threadLabel(t)}`);
      out.push(...renderStack(t, t.context?.cpu ?? sys.cpu, options.allFrames ?? false));
      out.push(...renderUsage(t, t.context?.cpu ?? sys.cpu));
      out.push(...renderWow64(t, options.allFrames ?? false));
    });
  }

  out.push('');
  if (analysis.kernel) {
    out.push(...renderDrivers(analysis));
  } else {
  out.push('Loaded modules:');
  const main = analysis.mainModule;
  const byAddress = [...snapshot.modules].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (const m of byAddress) {
    const missing = analysis.modulesWithSymbols.has(m) ? '' : symbolWarning(analysis, m);
    out.push(
      `${hexPad(m.base, 8)} - ${hexPad(m.base + BigInt(m.size) - 1n, 8)}  ${moduleName(m)}  ${m.version ?? '???'}${m === main ? '  (main)' : ''}${missing}`,
    );
  }
  }
  if (analysis.warnings.length > 0) {
    out.push('');
    out.push('Warnings (the parts that could not be read):');
    for (const w of analysis.warnings) out.push(`  ${w}`);
  }
  if (analysis.limits.length > 0) {
    out.push('');
    out.push('Limits (the report is partial there):');
    for (const l of analysis.limits) out.push(`  limit: ${l}`);
  }
  // Every line through printable: a dump's strings cannot move the cursor or recolour a terminal.
  return out.map(printable).join('\n') + '\n';
}

/** What `!analyze -v` users look for first: the stop code, its parameters in words, the culprit, the bucket. */
function renderBugcheck(analysis: Analysis): string[] {
  const k = analysis.kernel!;
  const kernel = analysis.snapshot.kernel!;
  const b = k.bugcheck;
  const digits = kernel.headerWidth === 64 ? 16 : 8;
  const out = [`BUGCHECK_CODE:  0x${b.code.toString(16).toUpperCase()} (${b.name})`];
  b.parameters.forEach((p, i) => {
    const said = p.meaning.toLowerCase().startsWith(p.name.toLowerCase());
    out.push(`  P${i + 1} ${hexPad(p.value, digits)}  ${said ? p.meaning : `${p.name}: ${p.meaning}`}`);
  });
  out.push(`Explanation:    ${b.explanation}`);
  if (b.guidance) out.push(`Guidance:       ${b.guidance}`);
  if (k.processName) out.push(`PROCESS_NAME:   ${k.processName}`);
  if (k.culprit) {
    out.push(`MODULE_NAME:    ${k.culprit.moduleName}`);
    out.push(`IMAGE_NAME:     ${k.culprit.imageName}`);
    out.push(`Probably caused by: ${k.culprit.imageName} (${k.culprit.rule})`);
  } else {
    out.push(`Probably caused by: no driver outside the skip list is on the crashing stack`);
  }
  out.push(`    rule: ${k.culpritRule}`);
  out.push(`BUCKET:         ${k.bucket}`);
  out.push(`Dump:           ${kernel.dumpTypeName}, Windows build ${kernel.buildNumber}, ${kernel.processors.length} processor${kernel.processors.length === 1 ? '' : 's'}`);
  if (kernel.unread.length > 0) out.push(`Not read:       ${kernel.unread.join('; ')}`);
  return out;
}

/** The driver list as WinDbg's `lm` shows it, with each image's TimeDateStamp. */
function renderDrivers(analysis: Analysis): string[] {
  const { snapshot } = analysis;
  const digits = snapshot.kernel!.headerWidth === 64 ? 16 : 8;
  const out = ['Loaded drivers (start - end, name, TimeDateStamp):'];
  const byAddress = [...snapshot.modules].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (const m of byAddress) {
    const stamp = m.timeDateStamp ? `${hexPad(m.timeDateStamp, 8)} ${timeText(m.timeDateStamp)}` : '(no TimeDateStamp)';
    const culprit = analysis.kernel?.culprit?.module === m ? '  <- probably caused the crash' : '';
    out.push(`${hexPad(m.base, digits)} - ${hexPad(m.base + BigInt(m.size), digits)}  ${baseName(m.codeFile).padEnd(24)} ${stamp}${culprit}`);
  }
  if (snapshot.kernel!.unloadedDrivers.length > 0) {
    out.push('Unloaded drivers:');
    for (const u of snapshot.kernel!.unloadedDrivers) out.push(`${hexPad(u.start, digits)} - ${hexPad(u.end, digits)}  ${u.name}`);
  }
  return out;
}

/** MINIDUMP_CRASHPAD_INFO: the report's ids, the process's simple annotations, then each module's (list and simple). */
function renderCrashpad(analysis: Analysis): string[] {
  const c = analysis.snapshot.crashpad!;
  const modules = analysis.snapshot.modules;
  const out = ['Crashpad annotations:', `  report id ${c.reportId}, client id ${c.clientId}`];
  for (const [key, value] of c.simpleAnnotations) out.push(`  ${key} = ${value}`);
  for (const m of c.moduleAnnotations) {
    const module = modules[m.moduleIndex];
    const name = module ? moduleName(module) : `module #${m.moduleIndex}`;
    for (const a of m.listAnnotations) out.push(`  ${name}: ${a}`);
    for (const [key, value] of m.simpleAnnotations) out.push(`  ${name}: ${key} = ${value}`);
  }
  return out;
}


/** A PE TimeDateStamp in UTC; many Windows images carry a build hash instead of a time (reproducible builds). */
function timeText(stamp: number): string {
  const year = new Date(stamp * 1000).getUTCFullYear();
  return year >= 1995 && year <= 2100 ? new Date(stamp * 1000).toISOString().replace('T', ' ').replace('.000Z', ' UTC') : '(not a date: a reproducible-build hash)';
}

function threadLabel(t: ThreadAnalysis): string {
  const id = ` id 0x${t.thread.id.toString(16)}`;
  return t.thread.name ? `${id} "${t.thread.name}"` : id;
}

/** Breakpad flags a module without symbols only when a frame needed it. */
function symbolWarning(analysis: Analysis, m: (typeof analysis.snapshot.modules)[number]): string {
  const needed = analysis.threads.some((t) => t.frames.some((f) => f.module === m));
  return needed ? `  (WARNING: No symbols, ${baseName(m.debugFile)}, ${m.debugId})` : '';
}

/** The findings, most important first: what was found, why, and what to look at next. */
export function renderFindings(analysis: Analysis): string[] {
  if (analysis.findings.length === 0) return ['No findings.'];
  const out = ['Findings:'];
  for (const f of analysis.findings) {
    const thread = f.threadId !== undefined && !f.summary.includes(`thread 0x${f.threadId.toString(16)}`) ? ` (thread 0x${f.threadId.toString(16)})` : '';
    out.push(`  [${f.severity}] ${f.summary}${thread}`);
    for (const e of f.evidence) out.push(`      - ${e}`);
  }
  return out;
}

/** The thread's stack extent and its biggest users, after its frames. */
function renderUsage(t: ThreadReport, cpu: Cpu): string[] {
  const u = t.usage;
  const digits = pointerWidth(cpu) * 2;
  const out: string[] = [];
  if (u.base !== undefined && u.limit !== undefined) {
    const basis = usedShareBasis(u);
    const used =
      u.usedBytes === undefined
        ? ''
        : `  used 0x${u.usedBytes.toString(16)} (${u.usedBytes} bytes${basis !== undefined ? `, ${u.usedPercent!.toFixed(1)}% of ${basis}` : '; no share: the dump gives no stack limit or reserve'})`;
    const source = u.boundsSource === 'teb' ? 'from the TEB' : u.boundsSource === 'kthread' ? "from the thread's KTHREAD" : 'from the captured stack memory';
    out.push(`    Stack: base ${hexPad(u.base, digits)}  limit ${hexPad(u.limit, digits)}${u.reserveBase !== undefined ? `  reserve ${hexPad(u.reserveBase, digits)}` : ''}${used}  (bounds ${source})`);
  }
  const modules = u.byModule.filter((m) => m.bytes > 0).slice(0, 5);
  if (modules.length > 0) {
    out.push(`    Stack by module: ${modules.map((m) => `${m.name} 0x${m.bytes.toString(16)} (${(m.share * 100).toFixed(1)}%, ${m.frames} frame${m.frames === 1 ? '' : 's'})`).join('; ')}`);
  }
  return out;
}

/** A WOW64 thread's 32-bit program stack after its 64-bit one, every line marked `[x86]`. */
function renderWow64(t: ThreadReport, allFrames: boolean): string[] {
  const w = t.wow64;
  if (!w) return [];
  const lines = [...renderStack(w, 'x86', allFrames), ...renderUsage(w, 'x86')];
  return [`  WOW64: the 32-bit program's frames, walked from ${wow64ContextText(t)}:`, ...lines.map((l) => `  [x86] ${l}`)];
}

/** Where a WOW64 thread's x86 walk started, in words. */
export function wow64ContextText(t: ThreadReport): string {
  const w = t.thread.wow64;
  if (!t.wow64 || !w) return 'no x86 context';
  if (t.wow64.context !== w.context) return "the exception's context (the thread stopped in 32-bit code)";
  return w.source === 'compatibility-mode'
    ? "the thread's own context (it stopped in 32-bit code, CS 0x23)"
    : 'the x86 context saved in WOW64_CPURESERVED (TEB64 TlsSlots[1])';
}

function renderStack(t: ThreadAnalysis, cpu: Cpu, allFrames: boolean): string[] {
  const out: string[] = [];
  if (t.frames.length === 0) {
    const report = t as Partial<ThreadReport>;
    out.push(
      // Only a WOW64 thread stopped in 32-bit code has a 32-bit walk and no 64-bit one.
      report.wow64
        ? ' <no 64-bit frames: the thread was running 32-bit code (CS 0x23), so its registers are the x86 ones>'
        : ' <no frames>',
    );
    return out;
  }
  const report = t as Partial<ThreadReport>;
  const folds = allFrames || !report.recursion || !report.usage ? new Map<number, FoldedRun>() : foldsByFirstFrame(foldedRuns(report as ThreadReport));
  let n = 0;
  for (let i = 0; i < t.frames.length; i++) {
    const fold = folds.get(i);
    if (fold) {
      const shown = displayFrames(t.frames.slice(fold.first, fold.last + 1)).length;
      out.push(`    ... frames ${n}–${n + shown - 1}: ${foldedRunText(fold)} (--all-frames lists them)`);
      n += shown;
      i = fold.last;
      continue;
    }
    for (const entry of displayFrames([t.frames[i]!])) {
      if (entry.frame.afterGap && !entry.inline) out.push('    --- the walk stopped above; the frames below were rebuilt from the raw stack ---');
      out.push(`${String(n).padStart(2)}  ${entry.location}`);
      n++;
      if (entry.inline) {
        out.push(' ');
        out.push('    Found by: inline record');
        continue;
      }
      out.push(...frameRegisterLines(entry.frame, cpu));
      out.push(`    Found by: ${trustDescription(entry.frame)}`);
      const memory = report.frameMemory?.[i];
      if (memory && (!memory.module || memory.executable === false)) out.push(`    Memory: ${describeMemory(memory)}`);
      const fixed = entry.frame.fixedAllocation;
      if (fixed !== undefined && fixed > 0) out.push(`    Prologue allocates 0x${fixed.toString(16)} bytes of locals`);
    }
  }
  if (t.truncated) out.push(`    (walk stopped at the ${t.stoppedBy === 'time' ? 'time budget' : 'frame limit'})`);
  const r = (t as Partial<ThreadReport>).reconstruction;
  if (r) {
    if (r.used) out.push(`    Rebuilt from WinDbg's ${r.used}`);
    if (r.alternatives.length > 0) out.push(`    Other chains in the raw stack: ${r.alternatives.join('; ')}`);
  }
  return out;
}

/** A frame as Breakpad lists it: each inlined call first (innermost first), then the physical frame. */
export interface DisplayFrame {
  readonly frame: StackFrame;
  readonly inline: boolean;
  readonly location: string;
}

export function displayFrames(frames: readonly StackFrame[]): DisplayFrame[] {
  const out: DisplayFrame[] = [];
  for (const frame of frames) {
    const s = frame.symbol;
    const m = frame.module;
    if (s && m) {
      for (const inline of s.inlines) {
        // Inline frames share the physical frame's line record; Breakpad measures from the instruction.
        const loc =
          inline.file !== undefined && s.lineAddress !== undefined
            ? ` [${baseName(inline.file)} : ${inline.line ?? 0} + 0x${(frame.instruction - m.base - BigInt(s.lineAddress)).toString(16)}]`
            : '';
        out.push({ frame, inline: true, location: `${moduleName(m)}!${inline.name}${loc}` });
      }
    }
    out.push({ frame, inline: false, location: frameLocation(frame) });
  }
  return out;
}

/** `module!function [file : line + 0xN]`, `module!function + 0xN`, `module + 0xN` or a bare address. */
export function frameLocation(frame: StackFrame): string {
  const m = frame.module;
  const address = locationAddress(frame);
  if (!m) return `0x${address.toString(16)}`;
  const s = frame.symbol;
  if (!s) return `${moduleName(m)} + 0x${(address - m.base).toString(16)}`;
  if (s.file !== undefined && s.lineAddress !== undefined) {
    return `${moduleName(m)}!${s.functionName} [${baseName(s.file)} : ${s.line ?? 0} + 0x${(address - m.base - BigInt(s.lineAddress)).toString(16)}]`;
  }
  const approximate = frame.symbolSource === 'pe-export' ? ' (nearest export)' : '';
  return `${moduleName(m)}!${s.functionName} + 0x${(address - m.base - BigInt(s.functionAddress)).toString(16)}${approximate}`;
}

/**
 * The address a frame's location is measured from, as Breakpad prints it: the return address on
 * x86 and amd64 (their frames override ReturnAddress), the attributed instruction (pc - 2) for a
 * 32-bit ARM caller, whose bias of 2 no other CPU uses.
 */
function locationAddress(frame: StackFrame): bigint {
  return frame.ip - frame.instruction === 2n ? frame.instruction : frame.ip;
}

function frameRegisterLines(frame: StackFrame, cpu: Cpu): string[] {
  const known = printedRegisters(frame, cpu).flatMap((name): [string, bigint][] => {
    const value = frame.registers.get(name);
    return value === undefined ? [] : [[name, value]];
  });
  return registerLines(known, pointerWidth(cpu) * 2);
}

/** x86 shows eax/ecx/edx/efl only when every register is known (the context frame), as Breakpad does. */
function printedRegisters(frame: StackFrame, cpu: Cpu): readonly string[] {
  const order = registerOrder(cpu);
  if (cpu !== 'x86' || frame.trust === 'context') return order;
  return order.filter((r) => !['eax', 'ecx', 'edx', 'efl'].includes(r));
}
