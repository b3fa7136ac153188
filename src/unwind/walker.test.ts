// The shared walk loop: frame and scanning limits, the scan itself, and a whole synthetic dump
// walked through analyzeMinidump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeMinidump } from '../analyze/process.js';
import { MemoryBlock } from '../model/memory.js';
import { ModuleIndex } from '../model/module-index.js';
import { noSymbols } from '../symbolize/provider.js';
import {
  Label,
  StackBuilder,
  SymbolText,
  SynthMinidump,
  rsds,
  testModule,
  walkStack,
  x86Context,
} from '../testing/synth/index.js';
import { WalkState } from './walker.js';

const module1 = testModule('module1', 0x40000000, 0x10000);
const MODULES = [module1];

/** An x86 EBP chain of `callers` frames above the context frame, ending with a zero return address. */
function ebpChain(callers: number): { stack: StackBuilder; frame0Ebp: Label } {
  const stack = new StackBuilder(0x80000000, 4);
  const ebps = Array.from({ length: callers + 1 }, (_, i) => new Label(`frame${i} ebp`));
  for (let i = 0; i <= callers; i++) {
    stack.fill(8).mark(ebps[i]!);
    if (i < callers) stack.word(ebps[i + 1]!).word(0x40001000 + i * 0x10);
    else stack.words(0, 0);
  }
  return { stack, frame0Ebp: ebps[0]! };
}

test('walkThread: a walk that ends by itself is not truncated', async () => {
  const { stack, frame0Ebp } = ebpChain(5);
  const { frames, truncated } = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers: { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp } });
  assert.equal(frames.length, 6);
  assert.equal(truncated, false);
  assert.deepEqual(
    frames.map((f) => f.trust),
    ['context', 'frame_pointer', 'frame_pointer', 'frame_pointer', 'frame_pointer', 'frame_pointer'],
  );
});

test('walkThread: maxFrames stops the walk and says so', async () => {
  const { stack, frame0Ebp } = ebpChain(5);
  const { frames, truncated } = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers: { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp }, options: { maxFrames: 3 } });
  assert.equal(frames.length, 3);
  assert.equal(truncated, true);
  assert.deepEqual(
    frames.map((f) => f.ip),
    [0x40000100n, 0x40001000n, 0x40001010n],
  );
});

test('walkThread: maxFrames 1 gives the context frame only', async () => {
  const { stack, frame0Ebp } = ebpChain(2);
  const { frames, truncated } = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers: { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp }, options: { maxFrames: 1 } });
  assert.deepEqual([frames.length, truncated], [1, true]);
});

test(
  'walkThread: a stack that ends exactly at maxFrames is not reported as truncated',
  async () => {
    const { stack, frame0Ebp } = ebpChain(2);
    const { frames, truncated } = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers: { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp }, options: { maxFrames: 3 } });
    assert.equal(frames.length, 3);
    assert.equal(truncated, false);
  },
);

/** Return addresses behind junk, each found only by scanning (EBP is bogus). */
function scanChain(count: number): StackBuilder {
  const stack = new StackBuilder(0x80000000, 4);
  for (let i = 0; i < count; i++) stack.words(0x11111111, 0x40002000 + i * 0x10);
  return stack.fill(16);
}

test('walkThread: scanning stops after maxScannedFrames scanned frames', async () => {
  const stack = scanChain(5);
  const registers = { eip: 0x40000100, esp: stack.start, ebp: 0xdeadbeef };
  const all = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers });
  assert.deepEqual(
    all.frames.map((f) => f.trust),
    ['context', 'scan', 'scan', 'scan', 'scan', 'scan'],
  );
  const limited = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers, options: { maxScannedFrames: 2 } });
  assert.deepEqual(
    limited.frames.map((f) => f.trust),
    ['context', 'scan', 'scan'],
  );
  assert.equal(limited.truncated, false, 'the scan limit is not the frame limit');
});

test('walkThread: frames found by other means do not count toward maxScannedFrames', async () => {
  // context -> frame_pointer -> scan: with a limit of one scanned frame, the scan is still allowed.
  const frame0Ebp = new Label('frame0 ebp');
  const stack = new StackBuilder(0x80000000, 4).mark(frame0Ebp).word(0xdeadbeef).word(0x40003000).words(0x11111111, 0x40004000).fill(16);
  const { frames } = await walkStack({ cpu: 'x86', modules: MODULES, stack, registers: { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp }, options: { maxScannedFrames: 1 } });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x40000100n],
      ['frame_pointer', 0x40003000n],
      ['scan', 0x40004000n],
    ],
  );
});

function state(stack: StackBuilder, symbols: Record<string, string> = {}): WalkState {
  return new WalkState('x86', new MemoryBlock(stack.start, stack.finish()), new ModuleIndex(MODULES), new SymbolText(symbols), 'windows');
}

test('WalkState.scanForReturnAddress: inclusive of the last word, skipping zeros and non-code', async () => {
  const stack = new StackBuilder(0x1000, 4).words(0, 0x12345678, 0x40000000, 0x40000010, 0x40000020);
  const s = state(stack);
  // 0x40000000 - 1 is outside the module: the scan looks at the byte inside the call.
  assert.deepEqual(await s.scanForReturnAddress(0x1000n, 3), { location: 0x100cn, ip: 0x40000010n });
  assert.equal(await s.scanForReturnAddress(0x1000n, 2), undefined, 'three words only: start, +4, +8');
  assert.equal(await s.scanForReturnAddress(0x1014n, 10), undefined, 'the stack ends');
});

test('WalkState.readWord: only the thread stack is memory to a walker', () => {
  const s = state(new StackBuilder(0x1000, 4).words(0xaabbccdd, 0x11223344));
  assert.equal(s.readWord(0x1004n), 0x11223344n);
  assert.equal(s.readWord(0x1006n), undefined, 'a word crossing the end');
  assert.equal(s.readWord(0xffcn), undefined);
  assert.equal(s.readWord(-4n), undefined);
  const noStack = new WalkState('amd64', undefined, new ModuleIndex([]), noSymbols, 'linux');
  assert.equal(noStack.readWord(0x1000n), undefined);
});

test('WalkState.instructionSeemsValid: any address of a module without symbols; with symbols, only inside a FUNC or after a PUBLIC', async () => {
  const bare = state(new StackBuilder(0x1000, 4));
  assert.equal(await bare.instructionSeemsValid(0x4000fff0n), true);
  assert.equal(await bare.instructionSeemsValid(0x50000000n), false);
  const withSymbols = state(new StackBuilder(0x1000, 4), { module1: 'FUNC 100 10 0 f\nPUBLIC 800 0 p\n' });
  assert.equal(await withSymbols.instructionSeemsValid(0x40000108n), true);
  assert.equal(await withSymbols.instructionSeemsValid(0x40000200n), false);
  assert.equal(await withSymbols.instructionSeemsValid(0x40000900n), true);
  assert.equal(await withSymbols.instructionSeemsValid(0x40000050n), false);
});

test('analyzeMinidump: the crashing thread is walked from the exception context with symbols; the dump thread is skipped', async () => {
  const frame1Ebp = new Label('frame1 ebp');
  const frame0Ebp = new Label('frame0 ebp');
  const stack = new StackBuilder(0x0012f000, 4)
    .fill(8)
    .mark(frame0Ebp)
    .word(frame1Ebp)
    .word(0x00401234) // into main
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'x86', platform: 'windows' })
    .module({ base: 0x400000, size: 0x10000, name: 'C:\\app\\app.exe', timeDateStamp: 0x5a000000, codeView: rsds('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'app.pdb') })
    .thread({ id: 0x10, context: x86Context({ eip: 0x00401000, esp: 0x12f100, ebp: 0 }), stack })
    .thread({ id: 0x20, context: x86Context({ eip: 0x00401100, esp: 0 }) })
    .exception({ threadId: 0x10, code: 0xc0000005, address: 0x8, parameters: [0n, 8n], context: x86Context({ eip: 0x00401010, esp: stack.start, ebp: frame0Ebp }) })
    .breakpadInfo({ dumpThreadId: 0x20, requestingThreadId: 0x10 });
  const symbols = new SymbolText({ 'C:\\app\\app.exe': 'MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 app.pdb\nFUNC 1000 20 0 crash\nFUNC 1200 100 0 main\n' });
  const analysis = await analyzeMinidump(dump.source(), { symbols });
  assert.deepEqual(analysis.warnings, []);
  assert.equal(analysis.threads.length, 1, 'the thread that wrote the dump is not walked');
  assert.equal(analysis.crashingThreadIndex, 0);
  assert.equal(analysis.crash?.reason, 'EXCEPTION_ACCESS_VIOLATION_READ');
  const thread = analysis.threads[0]!;
  assert.equal(thread.crashed, true);
  assert.deepEqual(thread.stackMemory, { base: 0x12f000n, size: stack.size });
  assert.deepEqual(
    thread.frames.map((f) => [f.trust, f.ip, f.symbol?.functionName]),
    [
      ['context', 0x401010n, 'crash'],
      ['frame_pointer', 0x401234n, 'main'],
    ],
  );
  assert.ok(analysis.modulesWithSymbols.has(analysis.snapshot.modules[0]!));
  assert.equal(analysis.mainModule?.codeFile, 'C:\\app\\app.exe');
});
