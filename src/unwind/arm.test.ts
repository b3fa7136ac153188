// 32-bit ARM walker on synthetic stacks: the scenarios of Breakpad's stackwalker_arm_unittest.cc
// (scanning with and without symbols, STACK CFI at several prologue points, the frame-pointer chain
// where the platform fixes its register) and Thumb return addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Label, StackBuilder, testModule, walkStack, type WalkFixture } from '../testing/synth/index.js';
import { armFramePointer } from './arm.js';
import type { StackFrame } from './frame.js';

const module1 = testModule('module1', 0x40000000, 0x10000);
const module2 = testModule('module2', 0x50000000, 0x10000);
const MODULES = [module1, module2];
const STACK = 0x80000000n;

type Regs = Record<string, number | bigint | Label>;

function regs(entries: Regs): Map<string, bigint> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, v instanceof Label ? v.value : BigInt(v)]));
}

function walk(stack: StackBuilder | undefined, registers: Regs, more: Partial<WalkFixture> = {}): ReturnType<typeof walkStack> {
  return walkStack({ cpu: 'arm', os: 'linux', modules: MODULES, ...(stack ? { stack } : {}), registers, ...more });
}

function assertCaller(frame: StackFrame | undefined, trust: StackFrame['trust'], registers: Map<string, bigint>): void {
  assert.ok(frame, 'frame exists');
  assert.equal(frame.trust, trust);
  assert.deepEqual(frame.registers, registers);
  assert.equal(frame.ip, registers.get('pc'));
  assert.equal(frame.sp, registers.get('sp'));
  assert.equal(frame.instruction, frame.ip - 2n, 'a caller is attributed to pc - 2, inside the call');
}

test('arm: without symbols, callers are found by scanning, Thumb return addresses (bit 0 set) included', async () => {
  const frame1Sp = new Label('frame1 sp');
  const frame2Sp = new Label('frame2 sp');
  const stack = new StackBuilder(STACK, 4)
    .fill(16)
    .words(0x40090000, 0x60000000) // junk: outside every module
    .word(0x50000101) // return address 1 (Thumb)
    .mark(frame1Sp)
    .fill(16)
    .words(0xf0000000, 0x0000000d)
    .word(0x50000900) // return address 2 (ARM state)
    .mark(frame2Sp)
    .fill(64);
  const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, r7: 0x1234, lr: 0x70000000 });
  assert.equal(frames.length, 3);
  assert.equal(frames[0]!.trust, 'context');
  assertCaller(frames[1], 'scan', regs({ pc: 0x50000101, sp: frame1Sp }));
  assertCaller(frames[2], 'scan', regs({ pc: 0x50000900, sp: frame2Sp }));
});

test('arm: scanning with function symbols rejects addresses outside functions (ScanWithFunctionSymbols)', async () => {
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 4)
    .fill(16)
    .words(0x40001000, 0x5000f000) // in modules, outside functions
    .word(0x50000200)
    .mark(frame1Sp)
    .fill(64);
  const symbols = { module1: 'FUNC 100 400 10 monotreme\n', module2: 'FUNC 100 400 10 marsupial\n' };
  const { frames } = await walk(stack, { pc: 0x40000200, sp: STACK }, { symbols });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'monotreme');
  assertCaller(frames[1], 'scan', regs({ pc: 0x50000200, sp: frame1Sp }));
  assert.equal(frames[1]!.symbol?.functionName, 'marsupial');
});

// Breakpad's CFI fixture: a function that pushes r4, r5, r7 and lr, then moves sp.
const CFI_SYMBOLS = {
  module1: [
    'FUNC 4000 1000 10 enchiridion',
    'STACK CFI INIT 4000 100 .cfa: sp 0 + .ra: lr', // lr still holds the return address
    'STACK CFI 4001 .cfa: sp 12 + r4: .cfa 12 - ^ r5: .cfa 8 - ^ .ra: .cfa 4 - ^', // push {r4, r5, lr}
    'STACK CFI 4002 r4: r0 r5: r1 r6: r2 r7: r3', // r4..r7 kept in r0..r3
    'STACK CFI 4003 .cfa: sp 16 + r1: .cfa 16 - ^ r4: r4 r5: r5 r6: r6 r7: r7', // restored; r1 saved
    'STACK CFI 4005 .cfa: sp 12 + r1: .cfa 12 - ^ r11: .cfa 4 - ^ .ra: .cfa ^ sp: .cfa 4 +', // sp recovered explicitly
    'STACK CFI 4006 .cfa: sp 16 + pc: .cfa 16 - ^', // pc recovered explicitly
    'FUNC 5000 1000 10 epictetus',
    'STACK CFI INIT 5000 1000 .cfa: 0 .ra: 0', // end of stack
    '',
  ].join('\n'),
  module2: 'FUNC 0 1000 0 stoicism\n',
};

test('arm: STACK CFI just after the push recovers pc, sp and the saved registers; untouched callee-saves carry over', async () => {
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 4)
    .word(0xb5b5b5b5) // saved r4
    .word(0x5a5a5a5a) // saved r5
    .word(0x50000201) // return address (Thumb)
    .mark(frame1Sp)
    .fill(32);
  const context = { pc: 0x40004001, sp: STACK, r4: 0x1, r5: 0x2, r6: 0x66, r8: 0x88, r12: 0xcc, lr: 0x40005510 };
  const { frames } = await walk(stack, context, { symbols: CFI_SYMBOLS });
  assert.equal(frames[0]!.symbol?.functionName, 'enchiridion');
  // r6 and r8 are callee-saved and no rule moves them; r12 is not callee-saved, so it is unknown.
  assertCaller(frames[1], 'cfi', regs({ r4: 0xb5b5b5b5, r5: 0x5a5a5a5a, r6: 0x66, r8: 0x88, sp: frame1Sp, pc: 0x50000201 }));
  assert.equal(frames[1]!.symbol?.functionName, 'stoicism');
});

test('arm: STACK CFI at the function entry takes the caller from lr; an explicit pc rule wins over .ra', async () => {
  const entry = await walk(new StackBuilder(STACK, 4).fill(32), { pc: 0x40004000, sp: STACK, lr: 0x50000301 }, { symbols: CFI_SYMBOLS });
  assertCaller(entry.frames[1], 'cfi', regs({ sp: STACK, pc: 0x50000301 }));
  const stack = new StackBuilder(STACK, 4).word(0x50000401).fill(32);
  const explicit = await walk(stack, { pc: 0x40004006, sp: STACK, lr: 0x40005510 }, { symbols: CFI_SYMBOLS });
  // Rows accumulate: at 0x4006 the rules of 0x4005 still restore r1, r11 and sp from the new CFA.
  assertCaller(explicit.frames[1], 'cfi', regs({ r1: 0, r11: 0, sp: STACK + 20n, pc: 0x50000401 }));
});

test('arm: CFI that gives a return address of 0 ends the walk', async () => {
  const { frames } = await walk(new StackBuilder(STACK, 4).fill(32), { pc: 0x40005000, sp: STACK }, { symbols: CFI_SYMBOLS });
  assert.equal(frames.length, 1);
});

test('arm: the frame-pointer register is fixed by the platform: r11 on Windows, r7 on iOS, none on Linux', () => {
  assert.equal(armFramePointer('windows'), 'r11');
  assert.equal(armFramePointer('ios'), 'r7');
  assert.equal(armFramePointer('linux'), undefined);
  assert.equal(armFramePointer('android'), undefined);
});

/** Two frame records {r11, lr}: frame 1's at `record1`, frame 2's at `record2`, then the chain's end. */
function fpStack(): { stack: StackBuilder; record1: Label; record2: Label } {
  const record1 = new Label('record 1');
  const record2 = new Label('record 2');
  const stack = new StackBuilder(STACK, 4)
    .fill(8)
    .mark(record1)
    .word(record2) // caller's r11
    .word(0x50000501) // frame 2's pc (Thumb)
    .fill(8)
    .mark(record2)
    .word(0) // the end of the chain
    .word(0x40000701)
    .fill(16);
  return { stack, record1, record2 };
}

test('arm (Windows): the r11 frame-record chain, starting with lr for the context frame, ends at a zero r11', async () => {
  // The zero record's lr (0x40000701) would be a frame at the same sp, which ends the walk (as in Breakpad).
  const { stack, record1, record2 } = fpStack();
  const { frames } = await walk(stack, { pc: 0x40000101, sp: STACK, r11: record1, lr: 0x50000201 }, { os: 'windows' });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x40000101n],
      ['frame_pointer', 0x50000201n],
      ['frame_pointer', 0x50000501n],
    ],
  );
  assertCaller(frames[1], 'frame_pointer', regs({ r11: record2, sp: record1.value + 8n, pc: 0x50000201, lr: 0x50000501 }));
  assertCaller(frames[2], 'frame_pointer', regs({ r11: 0, sp: record2.value + 8n, pc: 0x50000501, lr: 0x40000701 }));
});

test('arm (iOS): the chain runs through r7; on Linux the same stack is scanned instead', async () => {
  const { stack, record1 } = fpStack();
  const ios = await walk(stack, { pc: 0x40000101, sp: STACK, r7: record1, lr: 0x50000201 }, { os: 'ios' });
  assert.deepEqual(ios.frames.slice(1).map((f) => f.trust), ['frame_pointer', 'frame_pointer']);
  const linux = await walk(fpStack().stack, { pc: 0x40000101, sp: STACK, r7: record1, lr: 0x50000201 });
  assert.ok(linux.frames.slice(1).every((f) => f.trust === 'scan'));
  assert.equal(linux.frames[1]!.ip, 0x50000501n, 'the first return address on the stack, not lr');
});

test('arm (Windows): an unreadable frame pointer falls back to scanning', async () => {
  const stack = new StackBuilder(STACK, 4).fill(8).word(0x50000601).fill(32);
  const { frames } = await walk(stack, { pc: 0x40000101, sp: STACK, r11: 0x10, lr: 0x50000201 }, { os: 'windows' });
  assertCaller(frames[1], 'scan', regs({ pc: 0x50000601, sp: STACK + 12n }));
});
