import type { Module, Snapshot } from '../model/snapshot.js';
import { ModuleIndex } from '../model/module-index.js';
import { pointerWidth } from '../model/cpu.js';
import { baseName } from '../symbolize/symbol-store.js';
import { windbgModuleName } from '../symbolize/module-name.js';
import { baseBugcheckCode } from '../model/bugcheck-state.js';
import type { StackFrame } from '../unwind/frame.js';
import { explainBugcheck } from './bugcheck.js';
import type { Finding } from './findings.js';
import type { KernelCrash, ThreadReport } from './types.js';

/**
 * Modules never blamed by default: the kernel, the HAL and Windows components that only pass
 * calls on (the KMDF framework, its loader, the kernel debugger transports), as WinDbg's triage
 * rules and BlueScreenView's "caused by driver" skip them. Configurable with `notCulprits`.
 */
export const DEFAULT_NOT_CULPRITS: readonly string[] = [
  'ntoskrnl.exe',
  'ntkrnlmp.exe',
  'ntkrnlpa.exe',
  'ntkrpamp.exe',
  'hal.dll',
  'halmacpi.dll',
  'halacpi.dll',
  'halaacpi.dll',
  'kdcom.dll',
  'kdstub.dll',
  'kd.dll',
  'wdf01000.sys',
  'wdfldr.sys',
];


/** The instruction a bugcheck's parameters name as the faulting one (0x0A/0xD1 P4, 0x50 P3), when any. */
function faultingInstruction(code: number, parameters: readonly bigint[]): bigint | undefined {
  switch (baseBugcheckCode(code)) {
    case 0x0a:
    case 0xd1:
      return parameters[3];
    case 0x50:
      return parameters[2] !== 0n ? parameters[2] : undefined;
    default:
      return undefined;
  }
}

/** Explains a kernel dump's bugcheck and names the driver that probably caused it. */
export function explainKernelCrash(
  snapshot: Snapshot,
  frames: readonly StackFrame[],
  exceptionAddress: bigint | undefined,
  notCulprits: readonly string[] = DEFAULT_NOT_CULPRITS,
): KernelCrash | undefined {
  const kernel = snapshot.kernel;
  if (!kernel) return undefined;
  const { code, parameters } = kernel.bugcheck;
  const bugcheck = explainBugcheck(code, parameters, pointerWidth(snapshot.system.cpu));
  const skip = new Set(notCulprits.map((n) => n.toLowerCase()));
  const modules = new ModuleIndex(snapshot.modules);
  const blamable = (m: Module | undefined): m is Module => m !== undefined && !skip.has(baseName(m.codeFile).toLowerCase());

  let culprit: KernelCrash['culprit'];
  const named = (module: Module, rule: string): KernelCrash['culprit'] => {
    return { module, imageName: baseName(module.codeFile), moduleName: windbgModuleName(module), rule };
  };
  const instruction = faultingInstruction(code, parameters) ?? exceptionAddress;
  const atFault = instruction !== undefined ? modules.find(instruction) : undefined;
  if (blamable(atFault)) culprit = named(atFault, `it holds the faulting instruction 0x${instruction!.toString(16)}`);
  if (!culprit) {
    const index = frames.findIndex((f) => blamable(f.module));
    if (index >= 0) culprit = named(frames[index]!.module!, `frame ${index} is the first on the crashing stack in a module that is not on the skip list`);
  }
  const culpritRule = `the module holding the faulting instruction, else the first frame of the crashing stack, skipping ${notCulprits.join(', ')}`;

  const codeText = `0x${baseBugcheckCode(code).toString(16).toUpperCase()}`;
  let where = 'unknown';
  if (culprit) {
    const frame = frames.find((f) => f.module === culprit!.module);
    const symbol = frame?.symbol && frame.symbolSource !== 'pe-export' ? frame.symbol.functionName : undefined;
    where = symbol ? `${culprit.moduleName}!${symbol}` : frame ? `${culprit.moduleName}+0x${(frame.ip - culprit.module.base).toString(16)}` : `${culprit.moduleName}!unknown_function`;
  } else if (frames[0]?.module) {
    where = `${windbgModuleName(frames[0].module)}+0x${(frames[0].ip - frames[0].module.base).toString(16)}`;
  }
  const bucket = `${codeText}_${where}`;
  const walkedFrom = snapshot.exception?.contextSource
    ? `${snapshot.exception.contextSource}, as WinDbg's .cxr/.trap would`
    : kernel.bugcheckProcessor !== undefined
      ? `processor ${kernel.bugcheckProcessor}'s saved context (KPRCB.Context: where it called KeBugCheckEx or stopped for the debugger)`
      : "the dump header's context record";
  return { bugcheck, culprit, culpritRule, bucket, walkedFrom, processName: kernel.process?.imageName };
}

/**
 * The findings with what the bugcheck adds: a stack overflow the walk already found gets the
 * bugcheck's word first; otherwise a bugcheck that means one is a finding of its own, first.
 */
export function withKernelFindings(findings: readonly Finding[], crash: KernelCrash, thread: ThreadReport | undefined): Finding[] {
  const extra = kernelFindings(crash, thread);
  if (extra.length === 0) return [...findings];
  const found = findings.findIndex((f) => f.kind === 'stack_overflow' && f.threadId === thread?.thread.id);
  if (found < 0) return [...extra, ...findings];
  const f = findings[found]!;
  const word = `bugcheck ${crash.bugcheck.name}: ${crash.bugcheck.parameters[0]?.meaning ?? ''}: a kernel stack overflow`;
  return findings.map((g, i) => (i === found ? { ...f, evidence: [word, ...f.evidence] } : g));
}

/** What a kernel crash adds to the findings: a kernel stack overflow when the bugcheck says so. */
function kernelFindings(crash: KernelCrash, thread: ThreadReport | undefined): Finding[] {
  if (!crash.bugcheck.stackOverflowLikely) return [];
  const usage = thread?.usage;
  const evidence = [`bugcheck ${crash.bugcheck.name}: ${crash.bugcheck.explanation}`];
  if (usage?.usedBytes !== undefined && usage.base !== undefined && usage.limit !== undefined) {
    const size = Number(usage.base - usage.limit);
    evidence.push(`the thread's kernel stack is 0x${size.toString(16)} bytes (${usage.boundsSource === 'kthread' ? 'KTHREAD StackBase - StackLimit' : 'captured memory'}); 0x${usage.usedBytes.toString(16)} of it was in use at the fault`);
  }
  const top = usage?.byModule.filter((m) => m.bytes > 0).slice(0, 5) ?? [];
  if (top.length > 0) evidence.push(`who used it: ${top.map((m) => `${m.name} 0x${m.bytes.toString(16)} (${m.bytes} bytes, ${m.frames} frame${m.frames === 1 ? '' : 's'})`).join('; ')}`);
  evidence.push('a kernel stack is small (12 KiB on x86, 24 KiB on x64): look for large locals, deep driver call chains and re-entrancy in the frames below');
  return [
    {
      kind: 'kernel_stack_overflow',
      severity: 'critical',
      threadId: thread?.thread.id,
      frame: undefined,
      address: usage?.stackPointer,
      summary: `kernel stack overflow: ${crash.bugcheck.name} is the mark of a thread that ran out of kernel stack`,
      evidence,
      data: { used_bytes: usage?.usedBytes ?? null, by_module: top.map((m) => ({ module: m.name, bytes: m.bytes, frames: m.frames })) },
    },
  ];
}
