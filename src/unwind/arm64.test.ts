// arm64 walker on synthetic stacks: the scenarios of Breakpad's stackwalker_arm64_unittest.cc
// (scanning, the FP/LR chain, CFI from every prologue point) plus LR recovery through the callee's
// frame record (CorrectRegLRByFramePointer) and pointer-authentication stripping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Label, StackBuilder, testModule, walkStack, type WalkFixture } from '../testing/synth/index.js';
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
  return walkStack({ cpu: 'arm64', os: 'ios', modules: MODULES, ...(stack ? { stack } : {}), registers, ...more });
}

function assertCaller(frame: StackFrame | undefined, trust: StackFrame['trust'], registers: Map<string, bigint>): void {
  assert.ok(frame, 'frame exists');
  assert.equal(frame.trust, trust);
  assert.deepEqual(frame.registers, registers);
  assert.equal(frame.ip, registers.get('pc'));
  assert.equal(frame.sp, registers.get('sp'));
  assert.equal(frame.instruction, frame.ip - 4n, 'a caller is attributed to the BL instruction');
}

/** Breakpad's ScanWithoutSymbols stack: two return addresses behind junk. */
function scanStack(): { stack: StackBuilder; frame1Sp: Label; frame2Sp: Label } {
  const frame1Sp = new Label('frame1 sp');
  const frame2Sp = new Label('frame2 sp');
  const stack = new StackBuilder(STACK, 8)
    .fill(16)
    .words(0x40090000, 0x60000000) // junk, not return addresses
    .word(0x50000100) // return address 1
    .mark(frame1Sp)
    .fill(16)
    .words(0xf0000000, 0x0000000d)
    .word(0x50000900) // return address 2
    .mark(frame2Sp)
    .fill(64);
  return { stack, frame1Sp, frame2Sp };
}

/** A frame pointer that cannot be read, so the FP/LR strategy fails and scanning is tried. */
const UNREADABLE_FP = 0x1234567812345678n;

test('arm64: the first caller of a context frame with an unreadable FP is found by scanning', async () => {
  const { stack, frame1Sp } = scanStack();
  const context = { pc: 0x40005510, sp: STACK, fp: UNREADABLE_FP, lr: 0x70000000, x19: 0x19 };
  const { frames } = await walk(stack, context);
  assert.equal(frames[0]!.trust, 'context');
  assert.deepEqual(frames[0]!.registers, regs(context));
  assert.equal(frames[0]!.instruction, 0x40005510n);
  assertCaller(frames[1], 'scan', regs({ pc: 0x50000100, sp: frame1Sp }));
});

test(
  'arm64: scanning continues past a scanned frame (Breakpad ScanWithoutSymbols)',
  async () => {
    const { stack, frame1Sp, frame2Sp } = scanStack();
    const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, fp: UNREADABLE_FP, lr: 0x70000000 });
    assert.equal(frames.length, 3);
    assertCaller(frames[1], 'scan', regs({ pc: 0x50000100, sp: frame1Sp }));
    assertCaller(frames[2], 'scan', regs({ pc: 0x50000900, sp: frame2Sp }));
  },
);

test('arm64: scanning with function symbols rejects addresses outside functions (ScanWithFunctionSymbols)', async () => {
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 8)
    .fill(16)
    .words(0x40090000, 0x60000000)
    .words(0x40001000, 0x5000f000) // in modules, outside functions
    .word(0x50000200)
    .mark(frame1Sp)
    .fill(64);
  const symbols = { module1: 'FUNC 100 400 10 monotreme\n', module2: 'FUNC 100 400 10 marsupial\n' };
  const { frames } = await walk(stack, { pc: 0x40000200, sp: STACK, fp: UNREADABLE_FP }, { symbols });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'monotreme');
  assertCaller(frames[1], 'scan', regs({ pc: 0x50000200, sp: frame1Sp }));
  assert.equal(frames[1]!.symbol?.functionName, 'marsupial');
});

test('arm64: the context frame scans much farther than its callers (ScanFirstFrame)', async () => {
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 8)
    .fill(32)
    .words(0x40090000, 0x60000000)
    .fill(96)
    .word(0x50000100) // 20 words up: beyond a caller's reach, within the context frame's
    .mark(frame1Sp)
    .fill(32)
    .words(0xf0000000, 0x0000000d)
    .fill(336)
    .word(0x50000900) // 46 words above frame 1: not found
    .fill(64);
  const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, fp: UNREADABLE_FP });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'scan', regs({ pc: 0x50000100, sp: frame1Sp }));
});

test('arm64: no scanning once maxScannedFrames is reached (ScanningNotAllowed)', async () => {
  const { stack } = scanStack();
  const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, fp: UNREADABLE_FP }, { options: { maxScannedFrames: 0 } });
  assert.equal(frames.length, 1);
});

test('arm64: the FP/LR chain (GetFramesByFramePointer.OnlyFramePointer)', async () => {
  const frame1Fp = new Label('frame1 fp');
  const frame1Sp = new Label('frame1 sp');
  const frame2Fp = new Label('frame2 fp');
  const frame2Sp = new Label('frame2 sp');
  const stack = new StackBuilder(STACK, 8)
    .fill(64)
    .words(0x0000000d, 0xf0000000)
    .mark(frame1Fp)
    .word(frame2Fp) // saved fp
    .word(0x50000900) // saved lr
    .mark(frame1Sp)
    .fill(64)
    .words(0x0000000d, 0xf0000000)
    .mark(frame2Fp)
    .words(0, 0)
    .mark(frame2Sp)
    .fill(64)
    .words(0x0000000d, 0xf0000000);
  const { frames } = await walk(stack, { pc: 0x40005510, lr: 0x50000100, fp: frame1Fp, sp: STACK });
  assert.equal(frames.length, 3);
  assertCaller(frames[1], 'frame_pointer', regs({ pc: 0x50000100, lr: 0x50000900, sp: frame1Sp, fp: frame2Fp }));
  assertCaller(frames[2], 'frame_pointer', regs({ pc: 0x50000900, lr: 0, sp: frame2Sp, fp: 0 }));
});

test('arm64: a zero FP returns through LR without moving SP; only the first unwind may do that', async () => {
  const stack = new StackBuilder(STACK, 8).fill(64);
  const { frames } = await walk(stack, { pc: 0x40005510, lr: 0x50000100, fp: 0, sp: STACK });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'frame_pointer', regs({ pc: 0x50000100, lr: 0, sp: STACK, fp: 0 }));
});

test('arm64: an FP whose frame record cannot be read ends the FP strategy; without scanning the walk ends', async () => {
  const stack = new StackBuilder(STACK, 8).fill(64);
  const { frames } = await walk(stack, { pc: 0x40005510, lr: 0x50000100, fp: STACK + 64n, sp: STACK }, { options: { maxScannedFrames: 0 } });
  assert.equal(frames.length, 1);
});

// Breakpad's CFI fixture: the same caller registers from every point of the prologue.
const CFI_SYMBOLS = {
  module1: [
    'FUNC 4000 1000 10 enchiridion',
    'STACK CFI INIT 4000 100 .cfa: sp 0 + .ra: x30', // the return address is still in x30
    'STACK CFI 4001 .cfa: sp 32 + .ra: .cfa -8 + ^ x19: .cfa -32 + ^ x20: .cfa -24 + ^  x29: .cfa -16 + ^', // push x19, x20, fp, lr
    'STACK CFI 4002 x19: x0 x20: x1 x21: x2 x22: x3', // x19..x22 kept in x0..x3
    'STACK CFI 4003 .cfa: sp 40 + x1: .cfa 40 - ^ x19: x19 x20: x20 x21: x21 x22: x22', // restored; x1 saved
    'STACK CFI 4005 .cfa: sp 32 + x1: .cfa 32 - ^ x29: .cfa 8 - ^ .ra: .cfa ^ sp: .cfa 8 +', // sp recovered explicitly
    'STACK CFI 4006 .cfa: sp 40 + pc: .cfa 40 - ^', // pc recovered explicitly; .ra is garbage
    'FUNC 5000 1000 10 epictetus',
    'STACK CFI INIT 5000 1000 .cfa: 0 .ra: 0', // end of stack
    'FUNC 6000 1000 20 palinal',
    'STACK CFI INIT 6000 1000 .cfa: sp 8 - .ra: x30', // the stack pointer goes backwards
    'FUNC 7000 1000 20 rhetorical',
    'STACK CFI INIT 7000 1000 .cfa: moot .ra: ambiguous', // cannot be evaluated
  ].join('\n'),
};

/** The caller's registers Breakpad's fixture expects: pc, sp and the callee-saved x19..x28 and fp. */
const CALLER: Record<string, bigint> = {
  pc: 0x0000000040005510n,
  sp: 0x0000000080000000n,
  x19: 0x5e68b5d5b5d55e68n,
  x20: 0x34f3ebd1ebd134f3n,
  x21: 0x74bca31ea31e74bcn,
  x22: 0x16b32dcb2dcb16b3n,
  x23: 0x21372ada2ada2137n,
  x24: 0x557dbbbbbbbb557dn,
  x25: 0x8ca748bf48bf8ca7n,
  x26: 0x21f0ab46ab4621f0n,
  x27: 0x146732b732b71467n,
  x28: 0xa673645fa673645fn,
  fp: 0xe11081128112e110n,
};

function stackEndingAtCaller(words: bigint[]): StackBuilder {
  return new StackBuilder(CALLER.sp! - BigInt(words.length * 8), 8).words(...words);
}

async function checkCfiWalk(stack: StackBuilder, registers: Regs, expected: Record<string, bigint> = CALLER, contextOnly?: Regs): Promise<void> {
  // Volatile registers (x0..x18, lr) of the context must not reach the caller unless a rule says so.
  const context = contextOnly ?? { ...CALLER, x5: 5, x18: 18, lr: 0x1111, sp: stack.start, ...registers };
  const { frames } = await walk(stack, context, { symbols: CFI_SYMBOLS });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'enchiridion');
  assert.equal(frames[0]!.symbol?.functionAddress, 0x4000);
  assertCaller(frames[1], 'cfi', regs(expected));
  assert.equal(frames[1]!.symbol?.functionName, 'epictetus');
}

test('arm64 CFI at 4000: the return address in x30; SP unchanged on the first unwind', () =>
  checkCfiWalk(new StackBuilder(CALLER.sp!, 8), { pc: 0x40004000, lr: 0x40005510 }));

test('arm64 CFI at 4001: x19, x20, fp and lr pushed', () =>
  checkCfiWalk(stackEndingAtCaller([0x5e68b5d5b5d55e68n, 0x34f3ebd1ebd134f3n, 0xe11081128112e110n, 0x40005510n]), {
    pc: 0x40004001,
    x19: 0xadc9f635a635adc9n,
    x20: 0x623135ac35ac6231n,
    fp: 0x5fc4be14be145fc4n,
  }));

test('arm64 CFI at 4001 from a context with only pc and sp (At4001LimitedValidity)', async () => {
  const stack = stackEndingAtCaller([0x5e68b5d5b5d55e68n, 0x34f3ebd1ebd134f3n, 0xe11081128112e110n, 0x40005510n]);
  const expected = { pc: CALLER.pc!, sp: CALLER.sp!, fp: CALLER.fp!, x19: CALLER.x19!, x20: CALLER.x20! };
  await checkCfiWalk(stack, {}, expected, { pc: 0x40004001, sp: stack.start });
});

test('arm64 CFI at 4002: x19..x22 kept in x0..x3', () =>
  checkCfiWalk(stackEndingAtCaller([0xff3dfb81fb81ff3dn, 0x34f3ebd1ebd134f3n, 0xe11081128112e110n, 0x40005510n]), {
    pc: 0x40004002,
    x0: 0x5e68b5d5b5d55e68n,
    x1: 0x34f3ebd1ebd134f3n,
    x2: 0x74bca31ea31e74bcn,
    x3: 0x16b32dcb2dcb16b3n,
    x19: 0xadc9f635a635adc9n,
    x20: 0x623135ac35ac6231n,
    x21: 0xac4543564356ac45n,
    x22: 0x2561562f562f2561n,
    fp: 0x5fc4be14be145fc4n,
  }));

test('arm64 CFI at 4003 and 4004: x1 recovered although it is not callee-saved', async () => {
  for (const pc of [0x40004003, 0x40004004]) {
    await checkCfiWalk(
      stackEndingAtCaller([0xdd5a48c848c8dd5an, 0xff3dfb81fb81ff3dn, 0x34f3ebd1ebd134f3n, 0xe11081128112e110n, 0x40005510n]),
      { pc, x1: 0xfb756319fb756319n, fp: 0x5fc4be14be145fc4n },
      { ...CALLER, x1: 0xdd5a48c848c8dd5an },
    );
  }
});

test('arm64 CFI at 4005: an explicit sp rule', () =>
  checkCfiWalk(
    stackEndingAtCaller([0xdd5a48c848c8dd5an, 0xff3dfb81fb81ff3dn, 0x34f3ebd1ebd134f3n, 0xe11081128112e110n, 0x40005510n]),
    { pc: 0x40004005, x1: 0xfb756319fb756319n },
    { ...CALLER, x1: 0xdd5a48c848c8dd5an },
  ));

test('arm64 CFI at 4006: an explicit pc rule wins over a garbage .ra', () =>
  checkCfiWalk(
    stackEndingAtCaller([0x40005510n, 0xdd5a48c848c8dd5an, 0xff3dfb81fb81ff3dn, 0x34f3ebd1ebd134f3n, 0xe11081128112e110n, 0xf8d157835783f8d1n]),
    { pc: 0x40004006, x1: 0xfb756319fb756319n },
    { ...CALLER, x1: 0xdd5a48c848c8dd5an },
  ));

test('arm64 CFI that moves SP backwards ends the walk (RejectBackwards)', async () => {
  const { frames } = await walk(new StackBuilder(STACK - 64n, 8).fill(128), { pc: 0x40006000, sp: STACK, lr: 0x40005510 }, { symbols: CFI_SYMBOLS });
  assert.equal(frames.length, 1);
});

test('arm64 CFI whose expressions fail is not used (RejectBadExpressions)', async () => {
  const { frames } = await walk(undefined, { pc: 0x40007000, sp: STACK, fp: CALLER.fp! }, { symbols: CFI_SYMBOLS });
  assert.equal(frames.length, 1);
});

test('arm64 CFI naming x30 gives the caller an LR for the FP/LR strategy', async () => {
  const symbols = { module1: 'FUNC 1000 100 0 f\nSTACK CFI INIT 1000 100 .cfa: sp 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^ x30: .cfa -8 + ^\n' };
  const frame1Fp = new Label('frame1 fp');
  const stack = new StackBuilder(STACK, 8)
    .word(frame1Fp)
    .word(0x50000100)
    .mark(frame1Fp)
    .words(0, 0x50000900) // frame 1's record: end of chain, its caller
    .fill(16);
  const { frames } = await walk(stack, { pc: 0x40001010, sp: STACK, fp: 0x1 }, { symbols });
  // As in Breakpad, the FP/LR strategy takes that LR (here frame 1's own return address) as the next pc.
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x40001010n],
      ['cfi', 0x50000100n],
      ['frame_pointer', 0x50000100n],
    ],
  );
  assertCaller(frames[1], 'cfi', regs({ pc: 0x50000100, sp: STACK + 16n, fp: frame1Fp, lr: 0x50000100 }));
});

/**
 * Frame 0 has CFI that recovers pc (from x30) and fp but not lr; frame 1 is in a module without
 * symbols. Breakpad's CorrectRegLRByFramePointer gives frame 1 the LR saved next to the FP that
 * frame 0's record holds, if that FP is frame 1's.
 */
function lrRecoveryStack(): { stack: StackBuilder; frame1Fp: Label } {
  const frame1Fp = new Label('frame1 fp');
  const stack = new StackBuilder(STACK, 8)
    .word(frame1Fp) // frame 0's record: saved fp (CFI reads x29 here too)
    .word(0x50000700) // frame 0's record: saved lr
    .fill(16)
    .fill(16) // frame 1's locals (CFA = STACK + 32)
    .mark(frame1Fp)
    .words(0, 0x50000900) // frame 1's record
    .fill(16);
  return { stack, frame1Fp };
}
const LR_SYMBOLS = { module1: 'FUNC 1000 100 0 f\nSTACK CFI INIT 1000 100 .cfa: sp 32 + .ra: x30 x29: .cfa -32 + ^\n' };

test('arm64: a frame without LR takes it from the callee frame record (CorrectRegLRByFramePointer)', async () => {
  const { stack, frame1Fp } = lrRecoveryStack();
  const { frames } = await walk(stack, { pc: 0x40001010, sp: STACK, fp: STACK, lr: 0x50000100 }, { symbols: LR_SYMBOLS });
  assertCaller(frames[1], 'cfi', regs({ pc: 0x50000100, sp: STACK + 32n, fp: frame1Fp }));
  assertCaller(frames[2], 'frame_pointer', regs({ pc: 0x50000700, lr: 0x50000900, sp: frame1Fp.value + 16n, fp: 0 }));
  assert.equal(frames.length, 3, 'then fp 0 and an unmoved SP end the walk');
});

test("arm64: no LR from the callee record when that record does not hold this frame's FP; pc 0 ends the walk", async () => {
  const { stack, frame1Fp } = lrRecoveryStack();
  // The callee's FP points one word up, at 0x50000700 rather than at frame 1's FP.
  const { frames } = await walk(stack, { pc: 0x40001010, sp: STACK, fp: STACK + 8n, lr: 0x50000100 }, { symbols: LR_SYMBOLS });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'cfi', regs({ pc: 0x50000100, sp: STACK + 32n, fp: frame1Fp }));
});

// Pointer authentication: the top bits of a signed return address are not part of the address.
const SIGNED = (address: bigint, pac = 0x002f000000000000n): bigint => address | pac;

test('arm64 pointer auth: a signed pc from CFI is stripped when the rest lies in a module', async () => {
  const symbols = { module1: 'FUNC 1000 100 0 f\nSTACK CFI INIT 1000 100 .cfa: sp 16 + .ra: x30\n' };
  const stack = new StackBuilder(STACK, 8).fill(32);
  const { frames } = await walk(stack, { pc: 0x40001010, sp: STACK, lr: SIGNED(0x50000100n) }, { symbols });
  assertCaller(frames[1], 'cfi', regs({ pc: 0x50000100, sp: STACK + 16n }));
  assert.equal(frames[1]!.module, module2);
});

test('arm64 pointer auth: a signed pc whose stripped value is in no module is kept as it is', async () => {
  const symbols = { module1: 'FUNC 1000 100 0 f\nSTACK CFI INIT 1000 100 .cfa: sp 16 + .ra: x30\n' };
  const stack = new StackBuilder(STACK, 8).fill(32);
  const { frames } = await walk(stack, { pc: 0x40001010, sp: STACK, lr: SIGNED(0x60000100n) }, { symbols });
  assert.equal(frames[1]!.ip, SIGNED(0x60000100n));
  assert.equal(frames[1]!.module, undefined);
});

test('arm64 pointer auth: saved LRs in frame records are stripped', async () => {
  const frame1Fp = new Label('frame1 fp');
  const stack = new StackBuilder(STACK, 8)
    .mark(frame1Fp)
    .word(0)
    .word(SIGNED(0x50000900n))
    .fill(16);
  const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, fp: frame1Fp, lr: 0x50000100 });
  assertCaller(frames[1], 'frame_pointer', regs({ pc: 0x50000100, lr: 0x50000900, sp: STACK + 16n, fp: 0 }));
});

test(
  "arm64 pointer auth: the context frame's LR is stripped, as Breakpad's GetContextFrame does",
  async () => {
    const stack = new StackBuilder(STACK, 8).fill(32);
    const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, fp: 0, lr: SIGNED(0x50000100n) });
    assert.equal(frames[1]?.ip, 0x50000100n);
    assert.equal(frames[1]?.module, module2);
  },
);

test(
  'arm64 pointer auth: the address mask comes from the highest module, so PAC bits below bit 48 are stripped too',
  async () => {
    const high = testModule('high', 0x100000000n, 0x10000); // highest module ends at 0x1_0001_0000: mask 0x1_ffff_ffff
    const frame1Fp = new Label('frame1 fp');
    const stack = new StackBuilder(STACK, 8).mark(frame1Fp).word(0).word(0x0000800100001234n).fill(16);
    const { frames } = await walk(stack, { pc: 0x40005510, sp: STACK, fp: frame1Fp, lr: 0x50000100 }, { modules: [...MODULES, high] });
    assert.equal(frames[1]?.registers.get('lr'), 0x100001234n);
  },
);
