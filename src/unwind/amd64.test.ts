// amd64 walker on synthetic stacks: the scenarios of Breakpad's stackwalker_amd64_unittest.cc
// (scanning, RBP recovery off Windows, CFI with callee-saved registers) plus the Windows leaf rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Label, StackBuilder, testModule, walkStack, type WalkFixture } from '../testing/synth/index.js';
import type { StackFrame } from './frame.js';

const module1 = testModule('module1', 0x00007400c0000000n, 0x10000);
const module2 = testModule('module2', 0x00007500b0000000n, 0x10000);
const MODULES = [module1, module2];
const STACK = 0x8000000080000000n;

type Regs = Record<string, number | bigint | Label>;

function regs(entries: Regs): Map<string, bigint> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, v instanceof Label ? v.value : BigInt(v)]));
}

function walk(stack: StackBuilder, registers: Regs, more: Partial<WalkFixture> = {}): ReturnType<typeof walkStack> {
  return walkStack({ cpu: 'amd64', os: 'linux', modules: MODULES, stack, registers, ...more });
}

function assertCaller(frame: StackFrame | undefined, trust: StackFrame['trust'], registers: Map<string, bigint>): void {
  assert.ok(frame, 'frame exists');
  assert.equal(frame.trust, trust);
  assert.deepEqual(frame.registers, registers);
  assert.equal(frame.instruction, registers.get('rip')! - 1n);
}

test('amd64: scanning without symbols; a bogus saved RBP below a return address is not reported (ScanWithoutSymbols)', async () => {
  const frame1Sp = new Label('frame1 sp');
  const frame2Sp = new Label('frame2 sp');
  const frame1Rbp = new Label('frame1 rbp');
  const stack = new StackBuilder(STACK, 8)
    .fill(16)
    .words(0x00007400b0000000n, 0x00007500d0000000n) // junk, not return addresses
    .word(0x00007500b0000100n) // return address 1
    .mark(frame1Sp)
    .fill(16)
    .words(0x00007400b0000000n, 0x00007500d0000000n)
    .mark(frame1Rbp)
    .word(STACK) // in the right place to be a saved RBP, but it points down
    .word(0x00007500b0000900n) // return address 2
    .mark(frame2Sp)
    .fill(32);
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: frame1Rbp, rsp: STACK, rbx: 1 });
  assert.equal(frames.length, 3);
  assert.equal(frames[0]!.trust, 'context');
  assert.deepEqual(frames[0]!.registers, regs({ rip: 0x00007400c0000200n, rbp: frame1Rbp, rsp: STACK, rbx: 1 }));
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000100n, rsp: frame1Sp, rbp: frame1Rbp }));
  assertCaller(frames[2], 'scan', regs({ rip: 0x00007500b0000900n, rsp: frame2Sp }));
});

test('amd64: scanning with function symbols rejects addresses outside functions (ScanWithFunctionSymbols)', async () => {
  const frame1Sp = new Label('frame1 sp');
  const frame1Rbp = new Label('frame1 rbp');
  const stack = new StackBuilder(STACK, 8)
    .fill(16)
    .words(0x00007400b0000000n, 0x00007500b0000000n)
    .words(0x00007400c0001000n, 0x00007500b000aaaan) // in modules, outside functions
    .word(0x00007500b0000110n)
    .mark(frame1Sp)
    .fill(32)
    .mark(frame1Rbp);
  const symbols = { module1: 'FUNC 100 400 10 platypus\n', module2: 'FUNC 100 400 10 echidna\n' };
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: frame1Rbp, rsp: STACK }, { symbols });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'platypus');
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000110n, rsp: frame1Sp, rbp: frame1Rbp }));
  assert.equal(frames[1]!.symbol?.functionName, 'echidna');
});

test('amd64: RBP recovery never yields RIP 0; scanning and CFI take over (GetCallerByFramePointerRecovery)', async () => {
  const user32 = testModule('user32.dll', 0x00007ff9cb8a0000n, 0x14e000);
  const symbols = {
    'user32.dll': [
      'PUBLIC fa60 0 DispatchMessageWorker',
      'PUBLIC fee0 0 UserCallWinProcCheckWow',
      'PUBLIC 1cdb0 0 _fnHkINLPMSG',
      'STACK CFI INIT fa60 340 .cfa: $rsp .ra: .cfa 8 - ^',
      'STACK CFI fa60 .cfa: $rsp 128 +',
      'STACK CFI INIT fee0 49f .cfa: $rsp .ra: .cfa 8 - ^',
      'STACK CFI fee0 .cfa: $rsp 240 +',
      'STACK CFI INIT 1cdb0 9f .cfa: $rsp .ra: .cfa 8 - ^',
      'STACK CFI 1cdb0 .cfa: $rsp 80 +',
    ].join('\n'),
  };
  const frame0Rbp = new Label('frame0 rbp');
  const frame1Rsp = new Label('frame1 rsp');
  const frame2Rsp = new Label('frame2 rsp');
  const stack = new StackBuilder(0x00000099abf0f238n, 8)
    .word(0x00007ff9cb8b00dcn)
    .mark(frame1Rsp)
    .words(0n, 1n, 0x00000099abf0f308n)
    .word(0x00007ff9cb8bce3an) // residue from user32!_fnHkINLPMSG+0x8a
    .words(0xc2e0n, 0x00000099abf0f328n, 0x0000000100000001n, 0n, 0n, 0n, 0n, 0n, 0n)
    .words(0x00007ff9ccad53e4n, 0x48n, 1n, 0x00000099abf0f5e0n, 0x00000099b61f7388n, 0x30n, 0xffffff66540f0a1fn, 0xffffff6649e08c77n)
    .word(0x00007ff9cb8affb4n) // return address in UserCallWinProcCheckWow+0xd4
    .words(0n, 0x00000099abf0f368n, 0n, 0n, 0n, 0x00000099a8150fd8n, 0x00000099abf0f3e8n)
    .word(0x00007ff9cb8afc07n) // return address in DispatchMessageWorker+0x1a7
    .mark(frame2Rsp)
    .fill(256)
    .mark(frame0Rbp)
    .word(0xfffffffffffffffen) // caller rbp
    .word(0n) // caller rip: 0
    .word(0x00000099a3e31040n)
    .fill(256);
  const { frames } = await walk(stack, { rip: 0x00000099a8150fd8n, rsp: stack.start, rbp: frame0Rbp }, { modules: [user32], symbols });
  assert.equal(frames.length, 3);
  assert.equal(frames[0]!.module, undefined);
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007ff9cb8b00dcn, rsp: frame1Rsp, rbp: frame0Rbp }));
  assert.equal(frames[1]!.symbol?.functionName, 'UserCallWinProcCheckWow');
  assertCaller(frames[2], 'cfi', regs({ rip: 0x00007ff9cb8afc07n, rsp: frame2Rsp, rbp: frame0Rbp }));
  assert.equal(frames[2]!.symbol?.functionName, 'DispatchMessageWorker');
});

test('amd64: no RBP recovery from a misaligned RBP (FramePointerNotAligned)', async () => {
  const frame0Rbp = new Label('frame0 rbp');
  const notFrame1Rbp = new Label('not frame1 rbp');
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 8)
    .fill(2)
    .mark(frame0Rbp)
    .u64(notFrame1Rbp) // not the caller's rbp
    .u64(0x00007500b0000a00n) // plausible but wrong return address
    .align(8)
    .word(0x00007500b0000100n)
    .mark(frame1Sp)
    .mark(notFrame1Rbp)
    .fill(32);
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: frame0Rbp, rsp: STACK });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000100n, rsp: frame1Sp }));
});

test('amd64: no RBP recovery of a non-canonical RIP (NonCanonicalInstructionPointerFromFramePointer)', async () => {
  const frame0Rbp = new Label('frame0 rbp');
  const notFrame1Rbp = new Label('not frame1 rbp');
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 8)
    .mark(frame0Rbp)
    .word(notFrame1Rbp)
    .word(0xdadadadadadadadan) // not a return address
    .word(0x00007500b0000100n)
    .mark(frame1Sp)
    .fill(16)
    .mark(notFrame1Rbp)
    .fill(32);
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: frame0Rbp, rsp: STACK });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000100n, rsp: frame1Sp }));
});

test('amd64: no scanning once maxScannedFrames is reached (ScanningNotAllowed)', async () => {
  const stack = new StackBuilder(STACK, 8).fill(16).word(0x00007500b0000100n).fill(32);
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: 0x1234, rsp: STACK }, { options: { maxScannedFrames: 0 } });
  assert.equal(frames.length, 1);
});

/** A stack with an RBP chain whose first return address is four words up: too far for the leaf rule. */
function rbpChain(): { stack: StackBuilder; frame0Rbp: Label; frame1Sp: Label; frame1Rbp: Label } {
  const frame0Rbp = new Label('frame0 rbp');
  const frame1Sp = new Label('frame1 sp');
  const frame1Rbp = new Label('frame1 rbp');
  const stack = new StackBuilder(STACK, 8)
    .words(0x00007400b0000000n, 0x00007500d0000000n, 0n) // not return addresses
    .mark(frame0Rbp)
    .word(frame1Rbp) // caller-pushed rbp
    .word(0x00007500b0000110n)
    .mark(frame1Sp)
    .fill(32)
    .mark(frame1Rbp)
    .words(0n, 0n);
  return { stack, frame0Rbp, frame1Sp, frame1Rbp };
}

test('amd64: the RBP chain is followed off Windows (CallerPushedRBP)', async () => {
  const { stack, frame0Rbp, frame1Sp, frame1Rbp } = rbpChain();
  const symbols = { module1: 'FUNC 100 400 10 sasquatch\n', module2: 'FUNC 100 400 10 yeti\n' };
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: frame0Rbp, rsp: STACK }, { symbols });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'sasquatch');
  assertCaller(frames[1], 'frame_pointer', regs({ rip: 0x00007500b0000110n, rsp: frame1Sp, rbp: frame1Rbp }));
  assert.equal(frames[1]!.symbol?.functionName, 'yeti');
});

test('amd64: on Windows the RBP chain is not used; a scan finds the frame and the pushed RBP below it', async () => {
  const { stack, frame0Rbp, frame1Sp, frame1Rbp } = rbpChain();
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rbp: frame0Rbp, rsp: STACK }, { os: 'windows' });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000110n, rsp: frame1Sp, rbp: frame1Rbp }));
});

test('amd64 Windows: the context frame of a leaf function returns through the first two stack words, keeping every register', async () => {
  for (const junkWords of [0, 1]) {
    const frame1Sp = new Label('frame1 sp');
    const stack = new StackBuilder(STACK, 8).fill(junkWords * 8).word(0x00007500b0000100n).mark(frame1Sp).fill(32);
    const context = { rip: 0x00007400c0000200n, rsp: STACK, rbp: 0x1234n, rbx: 0xb0b0n, r12: 0x1212n, rax: 0xaaaan };
    const { frames } = await walk(stack, context, { os: 'windows' });
    assert.equal(frames.length, 2, `return address after ${junkWords} words`);
    assertCaller(frames[1], 'leaf', regs({ ...context, rip: 0x00007500b0000100n, rsp: frame1Sp }));
  }
});

test('amd64 Windows: a return address three words up is not a leaf return but a scan', async () => {
  const frame1Sp = new Label('frame1 sp');
  const stack = new StackBuilder(STACK, 8).fill(16).word(0x00007500b0000100n).mark(frame1Sp).fill(32);
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rsp: STACK, rbx: 5 }, { os: 'windows' });
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000100n, rsp: frame1Sp }));
});

test('amd64 Windows: the leaf rule applies to the context frame only', async () => {
  // Frame 1 is a leaf return; frame 2's return address is right at frame 1's RSP but must be found by a scan.
  const stack = new StackBuilder(STACK, 8).word(0x00007500b0000100n).word(0x00007500b0000200n).fill(32);
  const { frames } = await walk(stack, { rip: 0x00007400c0000200n, rsp: STACK }, { os: 'windows' });
  assert.deepEqual(
    frames.map((f) => f.trust),
    ['context', 'leaf', 'scan'],
  );
});

// Breakpad's CFI fixture: the same caller registers from every point of the prologue.
const CFI_SYMBOLS = {
  module1: [
    'FUNC 4000 1000 10 enchiridion',
    'STACK CFI INIT 4000 100 .cfa: $rsp 8 + .ra: .cfa 8 - ^', // just a return address
    'STACK CFI 4001 .cfa: $rsp 16 + $rbx: .cfa 16 - ^', // push %rbx
    'STACK CFI 4002 $r12: $rbx', // %r12 kept in %rbx
    'STACK CFI 4003 .cfa: $rsp 40 + $r13: .cfa 32 - ^', // frame space; save %r13
    'STACK CFI 4005 .ra: $r13', // return address in %r13
    'STACK CFI 4006 .cfa: $rbp 16 + $rbp: .cfa 24 - ^', // %rbp as frame pointer
    'FUNC 5000 1000 10 epictetus',
    'STACK CFI INIT 5000 1000 .cfa: $rsp .ra 0', // end of stack
  ].join('\n'),
};
const CALLER = {
  rsp: 0x8000000080000000n,
  rip: 0x00007400c0005510n,
  rbp: 0x68995b1de4700266n,
  rbx: 0x5a5beeb38de23be8n,
  r12: 0xed1b02e8cc0fc79cn,
  r13: 0x1d20ad8acacbe930n,
  r14: 0xe94cffc2f7adaa28n,
  r15: 0xb638d17d8da413b5n,
};

function stackEndingAtCaller(words: bigint[]): StackBuilder {
  return new StackBuilder(CALLER.rsp - BigInt(words.length * 8), 8).words(...words);
}

async function checkCfiWalk(stack: StackBuilder, registers: Regs, os = 'linux'): Promise<void> {
  // Volatile registers in the context must not reach the caller.
  const { frames } = await walk(stack, { ...CALLER, rax: 0xaaa, rcx: 0xccc, rsi: 0x51, rdi: 0xd1, r8: 8, r11: 11, rsp: stack.start, ...registers }, { symbols: CFI_SYMBOLS, os });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'enchiridion');
  assert.equal(frames[0]!.symbol?.functionAddress, 0x4000);
  assertCaller(frames[1], 'cfi', regs(CALLER));
  assert.equal(frames[1]!.symbol?.functionName, 'epictetus');
}

test('amd64 CFI at 4000: return address only', () => checkCfiWalk(stackEndingAtCaller([0x00007400c0005510n]), { rip: 0x00007400c0004000n }));

test('amd64 CFI at 4000 on Windows: CFI comes before the leaf rule', () =>
  checkCfiWalk(stackEndingAtCaller([0x00007400c0005510n]), { rip: 0x00007400c0004000n }, 'windows'));

test('amd64 CFI at 4001: %rbx pushed', () =>
  checkCfiWalk(stackEndingAtCaller([0x5a5beeb38de23be8n, 0x00007400c0005510n]), { rip: 0x00007400c0004001n, rbx: 0xbe0487d2f9eafe29n }));

test('amd64 CFI at 4002: %r12 kept in %rbx', () =>
  checkCfiWalk(stackEndingAtCaller([0x5a5beeb38de23be8n, 0x00007400c0005510n]), { rip: 0x00007400c0004002n, rbx: 0xed1b02e8cc0fc79cn, r12: 0xb0118de918a4bcean }));

test('amd64 CFI at 4003 and 4004: frame space and %r13 saved', async () => {
  for (const rip of [0x00007400c0004003n, 0x00007400c0004004n]) {
    await checkCfiWalk(stackEndingAtCaller([0x0e023828dffd4d81n, 0x1d20ad8acacbe930n, 0x319e68b49e3ace0fn, 0x5a5beeb38de23be8n, 0x00007400c0005510n]), {
      rip,
      rbx: 0xed1b02e8cc0fc79cn,
      r12: 0x89d04fa804c87a43n,
      r13: 0x5118e02cbdb24b03n,
    });
  }
});

test('amd64 CFI at 4005: return address in %r13', () =>
  checkCfiWalk(stackEndingAtCaller([0x4b516dd035745953n, 0x1d20ad8acacbe930n, 0xa6d445e16ae3d872n, 0x5a5beeb38de23be8n, 0xaa95fa054aedfbaen]), {
    rip: 0x00007400c0004005n,
    rbx: 0xed1b02e8cc0fc79cn,
    r12: 0x46b1b8868891b34an,
    r13: 0x00007400c0005510n,
  }));

test('amd64 CFI at 4006: %rbp as frame pointer', async () => {
  const stack = stackEndingAtCaller([0x043c6dfceb91aa34n, 0x1d20ad8acacbe930n, 0x68995b1de4700266n, 0x5a5beeb38de23be8n, 0xf015ee516ad89eabn]);
  await checkCfiWalk(stack, { rip: 0x00007400c0004006n, rbp: stack.start + 24n, rbx: 0xed1b02e8cc0fc79cn, r12: 0x26e007b341acfebdn, r13: 0x00007400c0005510n });
});

test('amd64 CFI that yields RIP 0 is not used', async () => {
  const symbols = { module1: 'FUNC 4000 100 0 f\nSTACK CFI INIT 4000 100 .cfa: $rsp 8 + .ra: .cfa 8 - ^\n' };
  const frame1Sp = new Label('frame1 sp');
  // CFI says the return address is the 0 at RSP; the scan finds the real one further up.
  const stack = new StackBuilder(STACK, 8).word(0).word(0x00007500b0000100n).mark(frame1Sp).fill(16);
  const { frames } = await walk(stack, { rip: 0x00007400c0004000n, rsp: STACK }, { symbols });
  assertCaller(frames[1], 'scan', regs({ rip: 0x00007500b0000100n, rsp: frame1Sp }));
});
