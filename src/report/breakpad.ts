// Google Breakpad's minidump_stackwalk output, byte for byte: the human form (`--format breakpad`)
// and the pipe-delimited machine form (`-m`, `--format breakpad-machine`), as
// src/processor/stackwalk_common.cc prints a ProcessState. Pure: the analysis in, a string out.
import type { Analysis, ThreadAnalysis } from '../analyze/types.js';
import type { AssertionInfo, Module, RawSystemInfo, SystemInfo, UnloadedModule } from '../model/snapshot.js';
import { baseName } from '../symbolize/symbol-store.js';
import type { StackFrame } from '../unwind/frame.js';
import { breakpadTrustWords, hexPad, registerLines } from './format.js';

export interface BreakpadOptions {
  /**
   * Whether symbol directories were given. Without them minidump_stackwalk has no symbol
   * supplier and flags no module as missing its symbols.
   */
  readonly symbolSupplier?: boolean;
  /** 'crashed': only the crashing or requesting thread, as `minidump_stackwalk -c` prints. */
  readonly threads?: 'all' | 'crashed';
}

/** One line of a thread's stack as Breakpad lists it: an inlined call or a physical frame. */
export interface StackwalkFrame {
  readonly frame: StackFrame;
  readonly inline: boolean;
  /** The code file's base name of the loaded (or unloaded) module holding the frame. */
  readonly module: string | undefined;
  readonly functionName: string | undefined;
  /** The source file as the symbol file spells it (the human form prints its base name). */
  readonly sourceFile: string | undefined;
  readonly line: number;
  /** From the source line's start, the function's, the module's base, or the absolute address. */
  readonly offset: bigint;
}

/** `minidump_stackwalk DUMP [SYMDIR]`. */
export function renderBreakpad(analysis: Analysis, options: BreakpadOptions = {}): string {
  const out: string[] = [];
  const { snapshot } = analysis;
  const sys = snapshot.system;
  const cpu = breakpadCpu(sys);
  const cpuInfo = breakpadCpuInfo(sys);
  out.push(`Operating system: ${breakpadOs(sys)}`);
  out.push(`                  ${osVersion(analysis)}`);
  out.push(`CPU: ${cpu}`);
  if (cpuInfo) out.push(`     ${cpuInfo}`);
  out.push(`     ${sys.cpuCount} CPU${sys.cpuCount !== 1 ? 's' : ''}`);
  out.push('');
  // GL version, vendor and renderer come only from microdumps.
  out.push('GPU: UNKNOWN');
  out.push('');
  const crash = analysis.crash;
  if (crash) {
    out.push(`Crash reason:  ${crash.reason}`);
    out.push(`Crash address: 0x${crash.address.toString(16)}`);
    if (crash.parameters.length > 0) {
      out.push('Crash parameters:');
      // Breakpad leaves every parameter's description empty.
      for (const p of crash.parameters) out.push(`    value: ${hexPad(p, 16)}  description: `);
    }
  } else {
    out.push('No crash');
  }
  const assertion = assertionText(snapshot.assertion);
  if (assertion) out.push(`Assertion: ${assertion}`);
  const uptime = processUptime(analysis);
  out.push(uptime === undefined ? 'Process uptime: not available' : `Process uptime: ${uptime} seconds`);

  const requesting = analysis.crashingThreadIndex;
  if (requesting !== undefined) {
    out.push('');
    out.push(`Thread ${requesting} (${crash ? 'crashed' : 'requested dump, did not crash'})`);
    out.push(...renderStack(analysis, analysis.threads[requesting]!, cpu));
  }
  analysis.threads.forEach((t, i) => {
    if (i === requesting || options.threads === 'crashed') return;
    out.push('');
    out.push(`Thread ${i}`);
    out.push(...renderStack(analysis, t, cpu));
  });

  const modules = sortedModules(analysis);
  if (modules.length > 0) {
    out.push('');
    out.push('Loaded modules:');
    const mainBase = analysis.mainModule?.base;
    const missing = options.symbolSupplier === false ? new Set<Module>() : modulesWithoutSymbols(analysis);
    for (const m of modules) {
      const warning = missing.has(m) ? `  (WARNING: No symbols, ${baseName(m.debugFile)}, ${m.debugId})` : '';
      out.push(
        `${hexPad(m.base, 8)} - ${hexPad(moduleEnd(m), 8)}  ${baseName(m.codeFile)}  ${m.version || '???'}${m.base === mainBase ? '  (main)' : ''}${warning}`,
      );
    }
  }
  return out.join('\n') + '\n';
}

/** `minidump_stackwalk -m DUMP [SYMDIR]`: OS, CPU, GPU, Crash and Module lines, a blank line, then every frame. */
export function renderBreakpadMachine(analysis: Analysis): string {
  const out: string[] = [];
  const { snapshot } = analysis;
  const sys = snapshot.system;
  out.push(['OS', breakpadOs(sys), osVersion(analysis)].map(stripSeparator).join('|'));
  out.push(['CPU', breakpadCpu(sys), breakpadCpuInfo(sys)].map(stripSeparator).join('|') + `|${sys.cpuCount}`);
  out.push('GPU|||');
  const requesting = analysis.crashingThreadIndex;
  const thread = requesting === undefined ? '' : String(requesting);
  const crash = analysis.crash;
  if (crash) {
    out.push(`Crash|${stripSeparator(crash.reason)}|0x${crash.address.toString(16)}|${thread}`);
  } else {
    // The assertion, when there is one, stands in for "No crash".
    const assertion = assertionText(snapshot.assertion);
    out.push(`Crash|${assertion ? stripSeparator(assertion) : 'No crash'}||${thread}`);
  }
  const mainBase = analysis.mainModule?.base;
  for (const m of sortedModules(analysis)) {
    const fields = [baseName(m.codeFile), m.version ?? '', baseName(m.debugFile), m.debugId].map(stripSeparator);
    out.push(`Module|${fields.join('|')}|${hexPad(m.base, 8)}|${hexPad(moduleEnd(m), 8)}|${m.base === mainBase ? 1 : 0}`);
  }
  out.push('');
  const order = analysis.threads.map((_, i) => i).filter((i) => i !== requesting);
  if (requesting !== undefined) order.unshift(requesting);
  for (const i of order) {
    breakpadFrames(analysis, analysis.threads[i]!).forEach((f, n) => {
      const head = `${i}|${n}|`;
      if (f.module === undefined) {
        out.push(`${head}||||0x${f.offset.toString(16)}`);
      } else if (f.functionName === undefined) {
        out.push(`${head}${stripSeparator(f.module)}||||0x${f.offset.toString(16)}`);
      } else if (f.sourceFile === undefined) {
        out.push(`${head}${stripSeparator(f.module)}|${stripSeparator(f.functionName)}|||0x${f.offset.toString(16)}`);
      } else {
        const fields = [f.module, f.functionName, f.sourceFile].map(stripSeparator);
        out.push(`${head}${fields.join('|')}|${f.line}|0x${f.offset.toString(16)}`);
      }
    });
  }
  return out.join('\n') + '\n';
}

/** Breakpad's StripSeparator: the machine form drops every `|` and newline from a field. */
export function stripSeparator(text: string): string {
  return text.replace(/[|\n]/g, '');
}

/**
 * A thread's frames as Breakpad lists them: each inlined call (innermost first) before its
 * physical frame. Symbols only from symbol files: Breakpad reads no PE export tables.
 */
export function breakpadFrames(analysis: Analysis, thread: ThreadAnalysis): StackwalkFrame[] {
  const out: StackwalkFrame[] = [];
  for (const frame of thread.frames) {
    // Breakpad finds the module by the frame's instruction (inside the call for a caller frame).
    const module: Module | UnloadedModule | undefined = frame.module ?? unloadedModuleAt(analysis, frame.instruction);
    const symbol = frame.module && frame.symbolSource !== 'pe-export' ? frame.symbol : undefined;
    if (!module) {
      out.push({ frame, inline: false, module: undefined, functionName: undefined, sourceFile: undefined, line: 0, offset: frame.ip });
      continue;
    }
    const name = baseName(module.codeFile);
    const lineBase = symbol?.lineAddress === undefined ? 0n : module.base + BigInt(symbol.lineAddress);
    for (const inline of symbol?.inlines ?? []) {
      // An inlined frame is a plain copy of the physical one: its address is the instruction itself.
      const offset = inline.file !== undefined ? frame.instruction - lineBase : frame.instruction - module.base - BigInt(inline.functionAddress);
      out.push({ frame, inline: true, module: name, functionName: inline.name, sourceFile: inline.file, line: inline.line ?? 0, offset });
    }
    if (!symbol || symbol.functionName === '') {
      out.push({ frame, inline: false, module: name, functionName: undefined, sourceFile: undefined, line: 0, offset: frame.ip - module.base });
    } else if (symbol.file !== undefined) {
      out.push({ frame, inline: false, module: name, functionName: symbol.functionName, sourceFile: symbol.file, line: symbol.line ?? 0, offset: frame.ip - lineBase });
    } else {
      const offset = frame.ip - module.base - BigInt(symbol.functionAddress);
      out.push({ frame, inline: false, module: name, functionName: symbol.functionName, sourceFile: undefined, line: 0, offset });
    }
  }
  return out;
}

/** `module!function [file : line + 0xN]`, `module!function + 0xN`, `module + 0xN` or `0xADDRESS`. */
export function breakpadLocation(f: StackwalkFrame): string {
  const offset = `0x${f.offset.toString(16)}`;
  if (f.module === undefined) return offset;
  if (f.functionName === undefined) return `${f.module} + ${offset}`;
  if (f.sourceFile === undefined) return `${f.module}!${f.functionName} + ${offset}`;
  return `${f.module}!${f.functionName} [${baseName(f.sourceFile)} : ${f.line} + ${offset}]`;
}

function renderStack(analysis: Analysis, thread: ThreadAnalysis, cpu: string): string[] {
  const frames = breakpadFrames(analysis, thread);
  if (frames.length === 0) return [' <no frames>'];
  const out: string[] = [];
  frames.forEach((f, n) => {
    out.push(`${String(n).padStart(2)}  ${breakpadLocation(f)}`);
    out.push(...registerLines(f.inline ? [] : printedRegisters(f.frame, cpu), registerDigits(cpu)));
    out.push(`    Found by: ${f.inline ? 'inline record' : breakpadTrustWords(f.frame.trust)}`);
  });
  return out;
}


/** Breakpad prints 64-bit registers for amd64, arm64, MIPS (both widths) and riscv64, 32-bit ones otherwise. */
function registerDigits(cpu: string): number {
  return ['amd64', 'arm64', 'mips', 'mips64', 'riscv64'].includes(cpu) ? 16 : 8;
}

const RISCV_ORDER = ['pc', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];

/** Printed name and the register the frame knows it by, in the order stackwalk_common.cc prints them. */
function registerNames(cpu: string): readonly (readonly [string, string])[] {
  const same = (names: readonly string[]): (readonly [string, string])[] => names.map((n) => [n, n] as const);
  switch (cpu) {
    case 'x86':
      return same(['eip', 'esp', 'ebp', 'ebx', 'esi', 'edi', 'eax', 'ecx', 'edx', 'efl']);
    case 'amd64':
      return same(['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip']);
    case 'arm':
      // Caller-saved, callee-saved, then fp (r11), sp, lr, pc.
      return [...same(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r12']), ['fp', 'r11'], ...same(['sp', 'lr', 'pc'])];
    case 'arm64':
      return same([...Array.from({ length: 29 }, (_, i) => `x${i}`), 'fp', 'lr', 'sp', 'pc']);
    case 'ppc':
      return same(['srr0', 'r1']);
    case 'sparc':
      return same(['sp', 'fp', 'pc']);
    case 'mips':
    case 'mips64':
      return same(['gp', 'sp', 'fp', 'ra', 'pc', 's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']);
    case 'riscv':
    case 'riscv64':
      return same(RISCV_ORDER);
    default:
      return [];
  }
}

/** The registers the frame knows; x86 shows eax, ecx, edx and efl only when every register is known. */
function printedRegisters(frame: StackFrame, cpu: string): [string, bigint][] {
  const known = registerNames(cpu).flatMap(([printed, name]): [string, bigint][] => {
    const value = frame.registers.get(name);
    return value === undefined ? [] : [[printed, value]];
  });
  if (cpu !== 'x86' || known.length === 10) return known;
  return known.filter(([name]) => !['eax', 'ecx', 'edx', 'efl'].includes(name));
}


/** MINIDUMP_SYSTEM_INFO.PlatformId as MinidumpProcessor::GetOSInfo names it; others by number. */
const BREAKPAD_OS: Record<number, string> = {
  1: 'Windows',
  2: 'Windows NT',
  0x8101: 'Mac OS X',
  0x8102: 'iOS',
  0x8201: 'Linux',
  0x8202: 'Solaris',
  0x8203: 'Android',
  0x8204: 'PS3',
  0x8205: 'NaCl',
  0x8206: 'Fuchsia',
};

/** ProcessorArchitecture as MinidumpProcessor::GetCPUInfo names it; others (IA64, IA32 on Win64, ...) by number. */
const BREAKPAD_CPU: Record<number, string> = {
  0: 'x86',
  9: 'amd64',
  3: 'ppc',
  0x8002: 'ppc64',
  0x8001: 'sparc',
  5: 'arm',
  12: 'arm64',
  0x8003: 'arm64',
  1: 'mips',
  0x8004: 'mips64',
  0x8005: 'riscv',
  0x8006: 'riscv64',
};

function breakpadOs(sys: SystemInfo): string {
  if (!sys.raw) return sys.os;
  return BREAKPAD_OS[sys.raw.platformId] ?? hexPad(sys.raw.platformId, 8);
}

/** Breakpad's CPU name; it also chooses which registers are printed. */
function breakpadCpu(sys: SystemInfo): string {
  if (!sys.raw) return sys.cpu;
  return BREAKPAD_CPU[sys.raw.processorArchitecture] ?? hexPad(sys.raw.processorArchitecture, 4);
}

/** x86 and amd64: vendor, family, model, stepping (the model's text); ARM: version, vendor, part, ELF features; others none. */
function breakpadCpuInfo(sys: SystemInfo): string {
  if (!sys.raw) return sys.cpuInfo;
  switch (sys.raw.processorArchitecture) {
    case 0:
    case 9:
      return sys.cpuInfo;
    case 5:
      return armCpuInfo(sys.raw);
    default:
      return '';
  }
}

const ARM_VENDORS: Record<number, string> = { 0x41: 'ARM', 0x51: 'Qualcomm', 0x56: 'Marvell', 0x69: 'Intel/Marvell' };
const ARM_PARTS: Record<number, string> = {
  0x4100c050: 'Cortex-A5',
  0x4100c080: 'Cortex-A8',
  0x4100c090: 'Cortex-A9',
  0x4100c0f0: 'Cortex-A15',
  0x4100c140: 'Cortex-R4',
  0x4100c150: 'Cortex-R5',
  0x4100b360: 'ARM1136',
  0x4100b560: 'ARM1156',
  0x4100b760: 'ARM1176',
  0x4100b020: 'ARM11-MPCore',
  0x41009260: 'ARM926',
  0x41009460: 'ARM946',
  0x41009660: 'ARM966',
  0x510006f0: 'Krait',
  0x510000f0: 'Scorpion',
};
/** Linux's ARM ELF hwcap bits, from bit 0 up. */
const ARM_FEATURES = ['swp', 'half', 'thumb', '26bit', 'fastmult', 'fpa', 'vfpv2', 'edsp', 'java', 'iwmmxt', 'crunch', 'thumbee', 'neon', 'vfpv3', 'vfpv3d16', 'tls', 'vfpv4', 'idiva', 'idivt'];

/** "ARMv7 ARM Cortex-A9 features: swp,half,...", from ProcessorLevel and CPU_INFORMATION's cpuid and ELF hwcaps. */
function armCpuInfo(raw: RawSystemInfo): string {
  let text = `ARMv${raw.processorLevel}`;
  const cpuid = raw.cpuInformation[0] ?? 0;
  if (cpuid !== 0) {
    const vendor = (cpuid >>> 24) & 0xff;
    const part = (cpuid & 0xff00fff0) >>> 0;
    text += ` ${ARM_VENDORS[vendor] ?? `vendor(0x${vendor.toString(16)})`}`;
    text += ` ${ARM_PARTS[part] ?? `part(0x${part.toString(16)})`}`;
  }
  const hwcaps = raw.cpuInformation[1] ?? 0;
  if (hwcaps !== 0) text += ` features: ${ARM_FEATURES.filter((_, bit) => hwcaps & (1 << bit)).join(',')}`;
  return text;
}

/** "major.minor.build CSD": Breakpad adds the space whenever the dump has a CSDVersion string, even an empty one. */
function osVersion(analysis: Analysis): string {
  const sys = analysis.snapshot.system;
  return sys.csdVersion === '' ? `${sys.osVersion} ` : sys.osVersion;
}

/** Seconds from process creation to the dump, when both times are known and in order (printed as a C int). */
function processUptime(analysis: Analysis): number | undefined {
  const { timeDateStamp, process } = analysis.snapshot;
  const created = process.createTime;
  if (timeDateStamp === 0 || !created || timeDateStamp < created) return undefined;
  return (timeDateStamp - created) | 0;
}

/** MinidumpProcessor::GetAssertion's sentence for the Breakpad assertion stream. */
export function assertionText(a: AssertionInfo | undefined): string | undefined {
  if (!a) return undefined;
  let text =
    a.type === 1 ? 'Invalid parameter passed to library function' : a.type === 2 ? 'Pure virtual function called' : `Unknown assertion type ${hexPad(a.type, 8)}`;
  if (a.expression) text += ` ${a.expression}`;
  if (a.function) text += ` in function ${a.function}`;
  if (a.file) text += `, in file ${a.file}`;
  if (a.line !== 0) text += ` at line ${a.line}`;
  return text;
}

/** The module list in address order, as Breakpad's module map hands it out. */
function sortedModules(analysis: Analysis): Module[] {
  return [...analysis.snapshot.modules].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

function moduleEnd(m: Module): bigint {
  return m.base + BigInt(m.size) - 1n;
}

function unloadedModuleAt(analysis: Analysis, address: bigint): UnloadedModule | undefined {
  return analysis.snapshot.unloadedModules.find((u) => address >= u.base && address - u.base < BigInt(u.size));
}

/**
 * Modules Breakpad flags as missing symbols: a frame is in a module whose symbol file was not found
 * (an unloaded module never has one), and Breakpad matches the flagged ones by debug file and identifier.
 */
function modulesWithoutSymbols(analysis: Analysis): Set<Module> {
  const flagged = new Set<string>();
  const key = (debugFile: string, debugId: string): string => `${debugFile}\u0000${debugId}`;
  for (const t of analysis.threads) {
    for (const f of t.frames) {
      if (f.module) {
        if (!analysis.modulesWithSymbols.has(f.module)) flagged.add(key(f.module.debugFile, f.module.debugId));
      } else if (unloadedModuleAt(analysis, f.instruction)) {
        flagged.add(key('', ''));
      }
    }
  }
  return new Set(analysis.snapshot.modules.filter((m) => flagged.has(key(m.debugFile, m.debugId))));
}
