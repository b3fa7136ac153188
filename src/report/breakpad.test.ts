import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyzeMinidump } from '../analyze/process.js';
import type { Analysis } from '../analyze/types.js';
import { analyzeCorpusDump } from '../testing/breakpad-parity.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { rsds, StackBuilder, SynthMinidump, x86Context } from '../testing/synth/index.js';
import { SymbolText } from '../testing/synth/unwind.js';
import { assertionText, renderBreakpad, renderBreakpadMachine, stripSeparator } from './breakpad.js';

/**
 * Frames Breakpad found by stack scanning that stackhog rejects, and why: each is dropped from
 * Breakpad's output (the frames after it renumbered) before the byte-for-byte comparison. Nothing
 * else may differ.
 */
interface ScannedDifference {
  readonly dump: string;
  readonly thread: number;
  /** The frame's number in Breakpad's output. */
  readonly frame: number;
  readonly location: string;
  readonly reason: string;
}

const SCANNED_DIFFERENCES: readonly ScannedDifference[] = [
  { dump: 'breakpad--linux_executable_stack', thread: 0, frame: 3, location: 'driver + 0x1edd', reason: 'the code before it is a jmp rel32 (e9 73 ff ff ff), not a call' },
  { dump: 'breakpad--linux_executable_stack', thread: 0, frame: 6, location: 'driver + 0x1f2e', reason: 'the code before it is pop rbp; ret (5d c3), not a call' },
  { dump: 'rust-minidump--linux-mini', thread: 0, frame: 8, location: 'crash + 0x1dc0', reason: 'a function entry after nop padding (0f 1f 40 00), not after a call' },
  { dump: 'rust-minidump--linux-mini', thread: 0, frame: 11, location: 'crash + 0x1dc0', reason: 'a function entry after nop padding (0f 1f 40 00), not after a call' },
  { dump: 'rust-minidump--linux-mini', thread: 0, frame: 14, location: 'crash + 0x1dc0', reason: 'a function entry after nop padding (0f 1f 40 00), not after a call' },
];

/** minidump_stackwalk's output for each corpus dump (expected/), Breakpad's own test expectations, and external/'s. */
const EXPECTED: readonly { readonly dump: string; readonly machine: boolean; readonly file: string }[] = [
  ...[
    'breakpad--exec_av_on_stack',
    'breakpad--linux_executable_stack',
    'breakpad--linux_overflow',
    'breakpad--minidump2',
    'breakpad--null_read_av',
    'breakpad--stack_exhaustion',
    'breakpad--tiny-exe-fastfail',
    'breakpad--write_av_non_canonical',
    'rust-minidump--linux-mini',
    'rust-minidump--pipeline-inlines-macos-segv',
    'rust-minidump--test',
  ].flatMap((dump) => [
    { dump, machine: false, file: corpusPath('expected', `${dump}.txt`) },
    { dump, machine: true, file: corpusPath('expected', `${dump}.m.txt`) },
  ]),
  { dump: 'breakpad--minidump2', machine: false, file: corpusPath('breakpad', 'minidump2.stackwalk.out') },
  { dump: 'breakpad--minidump2', machine: true, file: corpusPath('breakpad', 'minidump2.stackwalk.machine_readable.out') },
  // Breakpad's output for other projects' dumps (external/README.md): sentry's with crash.sym, kdlib's without symbols.
  ...[
    ['external/user/sentry-crash--windows', 'sentry-crash-windows.txt'],
    ['external/user/sentry-crash--windows', 'sentry-crash-windows.m.txt'],
    ['external/user/kdlib/targetapp_test_cv_allreg_amd64--targetapp_test_cv_allreg_amd64', 'kdlib-targetapp_test_cv_allreg_amd64.txt'],
    ['external/user/kdlib/targetapp_test_cv_allreg_i386--targetapp_test_cv_allreg_i386', 'kdlib-targetapp_test_cv_allreg_i386.txt'],
  ].map(([dump, name]) => ({ dump: dump!, machine: name!.endsWith('.m.txt'), file: corpusPath('external', 'expected', 'breakpad', name!) })),
];

const FRAME_HEAD = /^( ?\d+) {2}(.*)$/;

/** Breakpad's human output without the listed frames (each must be a scanned frame at that location). */
function withoutFrames(text: string, drops: readonly ScannedDifference[]): string {
  const out: string[] = [];
  let thread: number | undefined;
  let number = 0;
  let dropping: ScannedDifference | undefined;
  let foundBy: string | undefined;
  const checkDropped = (): void => {
    if (dropping) assert.equal(foundBy, 'stack scanning', `${dropping.dump} thread ${dropping.thread} frame ${dropping.frame} is a scanned frame`);
    dropping = undefined;
  };
  for (const line of text.split('\n')) {
    const threadHead = /^Thread (\d+)/.exec(line);
    const frameHead = thread !== undefined ? FRAME_HEAD.exec(line) : null;
    if (threadHead || line === '' || line === 'Loaded modules:') {
      checkDropped();
      thread = threadHead ? Number(threadHead[1]) : undefined;
      number = 0;
      out.push(line);
    } else if (frameHead) {
      checkDropped();
      const frame = Number(frameHead[1]);
      dropping = drops.find((d) => d.thread === thread && d.frame === frame);
      foundBy = undefined;
      if (dropping) {
        assert.equal(frameHead[2], dropping.location, `${dropping.dump} thread ${thread} frame ${frame}`);
      } else {
        out.push(`${String(number++).padStart(2)}  ${frameHead[2]}`);
      }
    } else if (dropping) {
      foundBy = /^ {4}Found by: (.*)$/.exec(line)?.[1] ?? foundBy;
    } else {
      out.push(line);
    }
  }
  return out.join('\n');
}

/** Breakpad's machine output without the listed frames' `thread|frame|...` lines, the rest renumbered. */
function withoutMachineFrames(text: string, drops: readonly ScannedDifference[]): string {
  const next = new Map<number, number>();
  return text
    .split('\n')
    .flatMap((line) => {
      const m = /^(\d+)\|(\d+)\|(.*)$/.exec(line);
      if (!m) return [line];
      const [thread, frame] = [Number(m[1]), Number(m[2])];
      const drop = drops.find((d) => d.thread === thread && d.frame === frame);
      if (drop) {
        const [module, offset] = drop.location.split(' + ');
        assert.equal(m[3], `${module}||||${offset}`, `${drop.dump} thread ${thread} frame ${frame}`);
        return [];
      }
      const n = next.get(thread) ?? 0;
      next.set(thread, n + 1);
      return [`${thread}|${n}|${m[3]}`];
    })
    .join('\n');
}

const analyses = new Map<string, Promise<Analysis>>();
function corpusAnalysis(dump: string): Promise<Analysis> {
  let a = analyses.get(dump);
  if (!a) {
    // As the CLI runs it for --format breakpad: no stack reconstruction past where the walk stops.
    a = analyzeCorpusDump(dump, { reconstruct: false });
    analyses.set(dump, a);
  }
  return a;
}

for (const { dump, machine, file } of EXPECTED) {
  const name = file.slice(file.lastIndexOf('/') + 1);
  test(`${machine ? 'breakpad-machine' : 'breakpad'} renders ${name} byte for byte (but for the listed scanned frames)`, needsCorpus, async () => {
    const analysis = await corpusAnalysis(dump);
    const drops = SCANNED_DIFFERENCES.filter((d) => d.dump === dump);
    const breakpad = readFileSync(file, 'utf8');
    const expected = machine ? withoutMachineFrames(breakpad, drops) : withoutFrames(breakpad, drops);
    // minidump_stackwalk was given the folder's symbols/ when there is one.
    const symbolSupplier = existsSync(corpusPath(dump.split('--')[0]!, 'symbols'));
    const ours = machine ? renderBreakpadMachine(analysis) : renderBreakpad(analysis, { symbolSupplier });
    assert.equal(ours, expected);
    if (drops.length > 0) assert.notEqual(ours, breakpad, 'the listed differences still exist');
  });
}

test('ARM (Android Firefox, external/): header and module list as Breakpad prints them', needsCorpus, async () => {
  const analysis = await analyzeCorpusDump('external/user/android--firefox-android-arm', { reconstruct: false });
  const ours = renderBreakpad(analysis, { symbolSupplier: false });
  const breakpad = readFileSync(corpusPath('external', 'expected', 'breakpad', 'firefox-android-arm.txt'), 'utf8');
  const header = (text: string): string => text.slice(0, text.indexOf('\nThread '));
  const modules = (text: string): string => text.slice(text.indexOf('\nLoaded modules:\n'));
  assert.equal(header(ours), header(breakpad));
  assert.equal(modules(ours), modules(breakpad));
  const machine = renderBreakpadMachine(analysis);
  const breakpadMachine = readFileSync(corpusPath('external', 'expected', 'breakpad', 'firefox-android-arm.m.txt'), 'utf8');
  assert.equal(machine.slice(0, machine.indexOf('\n\n')), breakpadMachine.slice(0, breakpadMachine.indexOf('\n\n')));
});

test('every listed scanned-frame difference names a dump that is compared', () => {
  for (const d of SCANNED_DIFFERENCES) assert.ok(EXPECTED.some((e) => e.dump === d.dump), d.dump);
});

// Unit cases on synthetic dumps: x86 Windows, one module with symbols, one without.
const MAIN = 0x400000;
const SYMBOLS = ['MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 ma|in.pdb', 'FILE 0 c:\\src|dir\\ma|in.cc', 'FUNC 1000 20 0 Crash|Here', '1000 20 7 0', ''].join('\n');

function x86Dump(): SynthMinidump {
  return new SynthMinidump({ timeDateStamp: 1000 })
    .systemInfo({ cpu: 'x86', platform: 'windows', version: [6, 1, 7600], csd: '', cpuCount: 1, vendor: 'GenuineIntel', level: 6, revision: 0x1a05 })
    .module({ base: MAIN, size: 0x10000, name: 'C:\\app\\ma|in\nx.exe', codeView: rsds('01234567-89ab-cdef-0123-456789abcdef', 1, 'c:\\build\\ma|in.pdb') })
    .module({ base: 0x10000000, size: 0x1000, name: 'C:\\app\\other.dll' });
}

async function analyze(dump: SynthMinidump, symbols: Record<string, string> = { 'C:\\app\\ma|in\nx.exe': SYMBOLS }): Promise<Analysis> {
  return analyzeMinidump(dump.source(), { symbols: new SymbolText(symbols), reconstruct: false });
}

test('machine form: | and newlines are stripped from every field; the human form prints names as they are', async () => {
  const dump = x86Dump()
    .thread({ id: 7, context: x86Context({ eip: MAIN + 0x1004, esp: 0x8000, ebp: 0 }) })
    .exception({ threadId: 7, code: 0xc0000005, address: MAIN + 0x1004, parameters: [1n, 0x45n] });
  const analysis = await analyze(dump);
  const machine = renderBreakpadMachine(analysis).split('\n');
  assert.ok(machine.includes('0|0|main' + 'x.exe|CrashHere|c:\\srcdir\\main.cc|7|0x4'), machine.join('\n'));
  assert.ok(machine.includes('Module|mainx.exe||main.pdb|0123456789ABCDEF0123456789ABCDEF1|0x00400000|0x0040ffff|1'), machine.join('\n'));
  assert.ok(machine.includes('Crash|EXCEPTION_ACCESS_VIOLATION_WRITE|0x45|0'));
  const human = renderBreakpad(analysis);
  assert.ok(human.includes(' 0  ma|in\nx.exe!Crash|Here [ma|in.cc : 7 + 0x4]\n'), human);
  assert.ok(human.includes('Crash parameters:\n    value: 0x0000000000000001  description: \n    value: 0x0000000000000045  description: \n'));
  assert.equal(stripSeparator('a|b\nc||'), 'abc');
});

test('header: an empty CSD string leaves a trailing space; uptime from MiscInfo; the GPU is unknown', async () => {
  const dump = x86Dump().miscInfo({ createTime: 990 }).thread({ id: 7 });
  const human = renderBreakpad(await analyze(dump));
  assert.ok(
    human.startsWith(
      'Operating system: Windows NT\n                  6.1.7600 \nCPU: x86\n     GenuineIntel family 6 model 26 stepping 5\n     1 CPU\n\nGPU: UNKNOWN\n\nNo crash\nProcess uptime: 10 seconds\n',
    ),
    human,
  );
  const machine = renderBreakpadMachine(await analyze(dump));
  assert.ok(machine.startsWith('OS|Windows NT|6.1.7600 \nCPU|x86|GenuineIntel family 6 model 26 stepping 5|1\nGPU|||\nCrash|No crash||\n'), machine);
  const noCsd = new SynthMinidump({ timeDateStamp: 100 }).systemInfo({ cpu: 'amd64', platform: 'windows', version: [10, 0, 19041], cpuCount: 2 }).miscInfo({ createTime: 200 }).thread({ id: 1 });
  const later = renderBreakpad(await analyze(noCsd));
  assert.ok(later.includes('                  10.0.19041\nCPU: amd64\n'), later);
  assert.ok(later.includes('\nProcess uptime: not available\n'), 'created after the dump was written');
});

test('a requested dump that did not crash, with an assertion: the thread is named so and -m puts the assertion in the Crash line', async () => {
  const dump = x86Dump()
    .thread({ id: 3 })
    .thread({ id: 4 })
    .breakpadInfo({ requestingThreadId: 4 })
    .assertion({ expression: 'p != 0', function: 'Parse', file: 'parse.cc', line: 12, type: 1 });
  const analysis = await analyze(dump);
  const human = renderBreakpad(analysis);
  assert.ok(human.includes('\nNo crash\nAssertion: Invalid parameter passed to library function p != 0 in function Parse, in file parse.cc at line 12\n'), human);
  assert.ok(human.includes('\nThread 1 (requested dump, did not crash)\n <no frames>\n\nThread 0\n <no frames>\n'), human);
  const machine = renderBreakpadMachine(analysis);
  assert.ok(machine.includes('\nCrash|Invalid parameter passed to library function p != 0 in function Parse, in file parse.cc at line 12||1\n'), machine);
});

test('assertion sentences: pure virtual call, unknown types in hex, empty parts left out', () => {
  assert.equal(assertionText({ expression: '', function: '', file: '', line: 0, type: 2 }), 'Pure virtual function called');
  assert.equal(assertionText({ expression: '', function: 'f', file: '', line: 0, type: 7 }), 'Unknown assertion type 0x00000007 in function f');
  assert.equal(assertionText(undefined), undefined);
});

test('frames: module + offset from scanning, a bare address, an unloaded module; missing symbols flagged only with a supplier', async () => {
  // A return address in the module without symbols, for stack scanning.
  const stack = new StackBuilder(0x8000, 4).word(0x10000105);
  const dump = x86Dump()
    .unloadedModule({ base: 0x20000000, size: 0x1000, name: 'C:\\app\\gone.dll' })
    .thread({ id: 7, context: x86Context({ eip: MAIN + 0x1004, esp: 0x8000, ebp: 0 }), stack })
    .thread({ id: 8, context: x86Context({ eip: 0x7000, esp: 0x9000, ebp: 0 }) })
    .thread({ id: 9, context: x86Context({ eip: 0x20000010, esp: 0x9000, ebp: 0 }) })
    .exception({ threadId: 7, code: 0xc0000005, address: 0x45 });
  const analysis = await analyze(dump);
  const human = renderBreakpad(analysis);
  assert.ok(human.includes('\n 1  other.dll + 0x105\n    eip = 0x10000105   esp = 0x00008004   ebp = 0x00000000\n    Found by: stack scanning\n'), human);
  assert.ok(human.includes('\nThread 1\n 0  0x7000\n    eip = 0x00007000'), human);
  assert.ok(human.includes('\nThread 2\n 0  gone.dll + 0x10\n'), human);
  const modules = human.slice(human.indexOf('Loaded modules:'));
  // No CodeView record: Breakpad's debug file and identifier are empty as well.
  assert.equal(
    modules,
    'Loaded modules:\n0x00400000 - 0x0040ffff  ma|in\nx.exe  ???  (main)\n0x10000000 - 0x10000fff  other.dll  ???  (WARNING: No symbols, , )\n',
  );
  assert.ok(!renderBreakpad(analysis, { symbolSupplier: false }).includes('WARNING'));
  const machine = renderBreakpadMachine(analysis).split('\n');
  for (const line of ['0|1|other.dll||||0x105', '1|0|||||0x7000', '2|0|gone.dll||||0x10']) assert.ok(machine.includes(line), machine.join('\n'));
});

test('OS and CPU as Breakpad names them: unknown numbers in hex (no registers then), "Windows" for platform 1, ARM cpu info', async () => {
  const context = x86Context({ eip: 0x7000, esp: 0x9000, ebp: 0 });
  const odd = await analyze(new SynthMinidump().systemInfo({ cpu: 10, platform: 0x1234, cpuCount: 1 }).thread({ id: 1, context }));
  const human = renderBreakpad(odd);
  // IA32 on Win64: stackhog walks it as x86, Breakpad prints it by number, without registers or cpu info.
  assert.ok(human.startsWith('Operating system: 0x00001234\n                  10.0.19041\nCPU: 0x000a\n     1 CPU\n'), human);
  assert.ok(human.includes('\nThread 0\n 0  0x7000\n \n    Found by: given as instruction pointer in context\n'), human);
  assert.ok(renderBreakpadMachine(odd).startsWith('OS|0x00001234|10.0.19041\nCPU|0x000a||1\n'));
  const win9x = renderBreakpad(await analyze(new SynthMinidump().systemInfo({ cpu: 'x86', platform: 1 })));
  assert.ok(win9x.startsWith('Operating system: Windows\n'), win9x);
  const arm = new SynthMinidump().systemInfo({ cpu: 'arm', platform: 'android', level: 7, cpuCount: 4, cpuInformation: [0x413fc090, 0x0000b0d7] });
  const armText = renderBreakpad(await analyze(arm));
  assert.ok(armText.includes('\nCPU: arm\n     ARMv7 ARM Cortex-A9 features: swp,half,thumb,fastmult,vfpv2,edsp,neon,vfpv3,tls\n     4 CPUs\n'), armText);
  const unknownArm = new SynthMinidump().systemInfo({ cpu: 'arm', platform: 'linux', level: 8, cpuInformation: [0x12345678, 0] });
  assert.ok(renderBreakpad(await analyze(unknownArm)).includes('\n     ARMv8 vendor(0x12) part(0x12005670)\n'));
});

test('missing symbols: Breakpad matches flagged modules by debug file and identifier, so a twin without frames is flagged too', async () => {
  const cv = rsds('01234567-89ab-cdef-0123-456789abcdef', 2, 'twin.pdb');
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'x86', platform: 'windows' })
    .module({ base: 0x400000, size: 0x1000, name: 'a.dll', codeView: cv })
    .module({ base: 0x500000, size: 0x1000, name: 'b.dll', codeView: cv })
    .module({ base: 0x600000, size: 0x1000, name: 'c.dll' })
    .thread({ id: 1, context: x86Context({ eip: 0x400010, esp: 0x9000, ebp: 0 }) });
  const lines = renderBreakpad(await analyze(dump, {})).split('\n');
  const id = '0123456789ABCDEF0123456789ABCDEF2';
  assert.ok(lines.includes(`0x00400000 - 0x00400fff  a.dll  ???  (main)  (WARNING: No symbols, twin.pdb, ${id})`), lines.join('\n'));
  assert.ok(lines.includes(`0x00500000 - 0x00500fff  b.dll  ???  (WARNING: No symbols, twin.pdb, ${id})`), lines.join('\n'));
  assert.ok(lines.includes('0x00600000 - 0x00600fff  c.dll  ???'), lines.join('\n'));
});
