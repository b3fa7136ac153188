// x86 walker on synthetic stacks: the scenarios of Breakpad's stackwalker_x86_unittest.cc
// (EBP chain, scanning, STACK WIN FrameData and FPO, STACK CFI), each frame's trust and registers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Label, StackBuilder, testModule, walkStack, type RegisterValues, type WalkFixture } from '../testing/synth/index.js';
import type { StackFrame } from './frame.js';

const module1 = testModule('module1', 0x40000000, 0x10000);
const module2 = testModule('module2', 0x50000000, 0x10000);
const MODULES = [module1, module2];

/** The context's other registers, which only the context frame keeps. */
const OTHERS = { eax: 0xaaaa0001, ecx: 0xcccc0002, edx: 0xdddd0003, ebx: 0xbbbb0004, esi: 0x51510005, edi: 0xd1d10006, efl: 0x246 };

function walk(stack: StackBuilder, registers: RegisterValues, more: Partial<WalkFixture> = {}): ReturnType<typeof walkStack> {
  return walkStack({ cpu: 'x86', modules: MODULES, stack, registers: { ...OTHERS, ...registers }, ...more });
}

function regs(entries: Record<string, number | bigint | Label>): Map<string, bigint> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, v instanceof Label ? v.value : BigInt(v)]));
}

function assertCaller(frame: StackFrame | undefined, trust: StackFrame['trust'], registers: Map<string, bigint>): void {
  assert.ok(frame, 'frame exists');
  assert.equal(frame.trust, trust);
  assert.deepEqual(frame.registers, registers);
  assert.equal(frame.ip, registers.get('eip'));
  assert.equal(frame.sp, registers.get('esp'));
  assert.equal(frame.instruction, frame.ip - 1n, 'a caller is attributed to the call instruction');
}

function assertContext(frame: StackFrame | undefined, registers: RegisterValues): void {
  assert.ok(frame);
  assert.equal(frame.trust, 'context');
  assert.deepEqual(frame.registers, regs({ ...OTHERS, ...(registers as Record<string, number | bigint | Label>) }));
  assert.equal(frame.instruction, frame.ip);
}

test('x86: EBP chain (Breakpad GetCallerFrame.Traditional)', async () => {
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(12)
    .mark(frame0Ebp)
    .word(frame1Ebp) // saved %ebp
    .word(0x40008679) // return address
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0); // stack end
  const context = { eip: 0x4000c7a5, esp: stack.start, ebp: frame0Ebp };
  const { frames, truncated } = await walk(stack, context);
  assert.equal(truncated, false);
  assert.equal(frames.length, 2);
  assertContext(frames[0], context);
  assert.equal(frames[0]!.module, module1);
  assert.equal(frames[0]!.parameterSize, undefined);
  assertCaller(frames[1], 'frame_pointer', regs({ eip: 0x40008679, esp: frame0Ebp.value + 8n, ebp: frame1Ebp }));
  assert.equal(frames[1]!.module, module1);
});

test('x86: a bogus EBP makes the walker scan, and take the saved EBP below the return address (TraditionalScan)', async () => {
  const frame1Ebp = new Label('frame1 ebp');
  const frame1Esp = new Label('frame1 esp');
  const stack = new StackBuilder(0x80000000, 4)
    .words(0xf065dc76, 0x46ee2167, 0xbab023ec) // locals: not return addresses
    .word(frame1Ebp) // saved %ebp (%ebp fails to point here)
    .word(0x4000129d) // return address
    .mark(frame1Esp)
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x4000f49d, esp: stack.start, ebp: 0xd43eed6e });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'scan', regs({ eip: 0x4000129d, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: scanning keeps the callee EBP when the word below the return address is no frame pointer', async () => {
  const frame1Esp = new Label('frame1 esp');
  const stack = new StackBuilder(0x80000000, 4)
    .word(0x7ffffff0) // below its own slot: not a saved EBP
    .word(0x4000129d)
    .mark(frame1Esp)
    .fill(8);
  const { frames } = await walk(stack, { eip: 0x4000f49d, esp: stack.start, ebp: 0xd43eed6e });
  assertCaller(frames[1], 'scan', regs({ eip: 0x4000129d, esp: frame1Esp, ebp: 0xd43eed6e }));
});

test('x86: the context frame scans 160 words, a caller frame only 40 (TraditionalScanLongWay)', async () => {
  // Context frame: the return address 150 words up is found.
  const frame1Esp = new Label('frame1 esp');
  const stack = new StackBuilder(0x80000000, 4).fill(150 * 4, 0).word(0x40001234).mark(frame1Esp);
  // Frame 1 (scanned): its caller's return address exactly 40 words up is found, the next one 41 up is not.
  const frame2Esp = new Label('frame2 esp');
  stack.fill(40 * 4).word(0x50001111).mark(frame2Esp);
  stack.fill(41 * 4).word(0x50002222).fill(16);
  const { frames } = await walk(stack, { eip: 0x4000f49d, esp: stack.start, ebp: 0xd43eed6e });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x4000f49dn],
      ['scan', 0x40001234n],
      ['scan', 0x50001111n],
    ],
  );
  assert.equal(frames[2]!.sp, frame2Esp.value);
});

test('x86: scanning skips pointers into modules with symbols but no function there', async () => {
  const frame1Esp = new Label('frame1 esp');
  const stack = new StackBuilder(0x80000000, 4)
    .words(0x40090000, 0x60000000) // outside every module
    .words(0x40001000, 0x5000f000) // inside modules, but no FUNC covers them
    .word(0x50000200) // inside marsupial
    .mark(frame1Esp)
    .fill(16);
  const symbols = { module1: 'FUNC 100 400 10 monotreme\n', module2: 'FUNC 100 400 10 marsupial\n' };
  const { frames } = await walk(stack, { eip: 0x40000200, esp: stack.start, ebp: 0xd43eed6e }, { symbols });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'monotreme');
  assert.equal(frames[0]!.symbolsLoaded, true);
  assertCaller(frames[1], 'scan', regs({ eip: 0x50000200, esp: frame1Esp, ebp: 0xd43eed6e }));
  assert.equal(frames[1]!.symbol?.functionName, 'marsupial');
  assert.equal(frames[1]!.symbol?.functionAddress, 0x100);
});

test('x86: scanning accepts any pointer into a module without symbols', async () => {
  const stack = new StackBuilder(0x80000000, 4).words(0x60000000, 0x4000fffe).fill(8);
  const { frames } = await walk(stack, { eip: 0x40000200, esp: stack.start, ebp: 0 });
  assert.equal(frames[1]?.ip, 0x4000fffen);
});

test('x86: no scanning once maxScannedFrames is reached (ScanningNotAllowed)', async () => {
  const stack = new StackBuilder(0x80000000, 4).words(0xf065dc76, 0x46ee2167, 0xbab023ec, 0, 0x4000129d).fill(16);
  const { frames } = await walk(stack, { eip: 0x4000f49d, esp: stack.start, ebp: 0xd43eed6e }, { options: { maxScannedFrames: 0 } });
  assert.equal(frames.length, 1);
});

test('x86: STACK WIN 4 program string recovers EIP, ESP, EBP and callee-saved registers (WindowsFrameData)', async () => {
  const symbols = {
    module1:
      'STACK WIN 4 aa85 176 0 0 4 10 4 0 1' +
      ' $T2 $esp .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + =' +
      ' $ebx $T2 4  - ^ = $edi $T2 8  - ^ = $esi $T2 12 - ^ = $ebp $T2 16 - ^ =\n',
  };
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .word(frame1Ebp) // saved registers: %ebp
    .words(0xa7120d1a, 0x630891be, 0x9068a878) // %esi, %edi, %ebx
    .word(0xa08ea45f) // locals
    .word(0x40001350) // return address
    .mark(frame1Esp)
    .fill(12)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x4000aa85, esp: stack.start, ebp: 0xf052c1de }, { symbols });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'cfi', regs({ eip: 0x40001350, esp: frame1Esp, ebp: frame1Ebp, ebx: 0x9068a878, esi: 0xa7120d1a, edi: 0x630891be }));
});

test('x86: a STACK WIN 4 program with "=" glued to the next variable (MSVC LTO: "=$eip") still assigns EIP and ESP', async () => {
  // As crash.exe's main in sentry's windows.dmp: Breakpad walks it by this program ("call frame info").
  const symbols = { module1: 'STACK WIN 4 aa85 176 0 0 4 4 0 0 1 $T0 $ebp 8 + =$eip $T0 4 + ^ =$ebp $T0 ^ = $esp $T0 8 + =\n' };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .words(0x0ffa0ffa, 0xdeaddead) // locals
    .mark(frame0Ebp)
    .words(0, 0) // 8 bytes up to $T0
    .word(frame1Ebp)
    .word(0x5000129d)
    .mark(frame1Esp)
    .word(1)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x4000aa85, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assertCaller(frames[1], 'cfi', regs({ eip: 0x5000129d, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: STACK WIN 4 with an aligned frame, .raSearch and the @ operator (WindowsFrameDataAligned)', async () => {
  const symbols = { module1: 'STACK WIN 4 aa85 176 0 0 4 4 8 0 1 $T1 .raSearch = $T0 $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = $esp $T1 4 + =' };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .words(0x0ffa0ffa, 0xdeaddead, 0xbeefbeef, 0) // saved register, locals, 8-byte alignment
    .mark(frame0Ebp)
    .word(frame1Ebp)
    .word(0x5000129d)
    .mark(frame1Esp)
    .word(1) // parameter
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x4000aa85, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'cfi', regs({ eip: 0x5000129d, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: the MSVC FPO-style FrameData program ("$T0 .raSearch = ..."): EBP carried, DIA register numbers ($20) recover nothing', async () => {
  // The form of 55 of crash.sym's 152 STACK WIN 4 records (sentry's MSVC 2017 x86 build).
  const symbols = { module1: 'STACK WIN 4 1000 40 6 0 0 4 8 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =  $20 $T0 4 - ^ =\n' };
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .word(0x5a5a0001) // the saved register (.cbSavedRegs 4)
    .words(0x0ffa0ffa, 0xdeaddead) // locals (.cbLocals 8)
    .word(0x5000129d) // .raSearchStart = $esp + .cbCalleeParams + .cbLocals + .cbSavedRegs
    .mark(frame1Esp)
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40001010, esp: stack.start, ebp: frame1Ebp }, { symbols });
  assertCaller(frames[1], 'cfi', regs({ eip: 0x5000129d, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: the .raSearchStart FrameData program of a STACK WIN 4 record is used, not the FPO record covering the same code', async () => {
  // crash.sym at 2dc4: both records; the FPO one (no sizes) would find the return address only by scanning.
  const symbols = {
    module1:
      'STACK WIN 4 2dc4 14 0 0 0 10 24 0 1 $T0 $ebp = $T2 $esp = $T1 .raSearchStart = $eip $T1 ^ = $ebp $T0 = $esp $T1 4 + =\n' +
      'STACK WIN 0 2dc4 14 0 0 0 0 0 0 0 0\n',
  };
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(0x10 + 0x24, 0x2a) // saved registers and locals
    .word(0x5000129d) // return address at $esp + 0x34
    .mark(frame1Esp)
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40002dd0, esp: stack.start, ebp: frame1Ebp }, { symbols });
  assertCaller(frames[1], 'cfi', regs({ eip: 0x5000129d, esp: frame1Esp, ebp: frame1Ebp }));
});

test("x86: .cbCalleeParams is the innermost known parameter size, not the immediate callee's (Breakpad's loop keeps the last it sees)", async () => {
  const symbols = {
    module1: 'FUNC 1000 100 10 f0\nFUNC 2000 100 4 f1\nSTACK WIN 4 2000 100 0 0 4 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =\n',
    module2: 'FUNC aa85 176 0 f2\nSTACK WIN 4 aa85 176 0 0 0 0 0 0 1 $eip $esp .cbCalleeParams + ^ = $esp $esp .cbCalleeParams + 4 + = $ebp $ebp =\n',
  };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Ebp = new Label('frame1 ebp');
  const frame2Esp = new Label('frame2 esp');
  const frame2Ebp = new Label('frame2 ebp');
  const frame3Esp = new Label('frame3 esp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(8)
    .mark(frame0Ebp)
    .word(frame1Ebp)
    .word(0x40002010) // into f1 (parameter size 4)
    .fill(8)
    .mark(frame1Ebp)
    .word(frame2Ebp)
    .word(0x5000aa95) // into f2
    .mark(frame2Esp)
    .word(0)
    .word(0x40001111) // after f1's 4 bytes of parameters: not where Breakpad reads
    .words(0, 0)
    .word(0x40003333) // after f0's 16 bytes: where Breakpad reads
    .mark(frame3Esp)
    .mark(frame2Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40001004, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.parameterSize]),
    [
      ['context', 16],
      ['frame_pointer', 4],
      ['cfi', 0],
      ['cfi', undefined],
    ],
  );
  assertCaller(frames[3], 'cfi', regs({ eip: 0x40003333, esp: frame3Esp, ebp: frame2Ebp }));
});

test('x86: the callee parameter size from a FUNC record feeds the caller STACK WIN program (WindowsFrameDataParameterSize)', async () => {
  const symbols = {
    module1: 'FUNC 1000 100 c module1::wheedle\n',
    module2:
      'FUNC aa85 176 beef module2::whine\n' +
      'STACK WIN 4 aa85 176 0 0 4 10 4 0 1 $T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + = $ebp $T0 20 - ^ = $ebx $T0 8 - ^ =\n',
  };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Esp = new Label('frame1 esp');
  const frame2Esp = new Label('frame2 esp');
  const frame2Ebp = new Label('frame2 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(16)
    .mark(frame0Ebp)
    .word(0x6fa902e0) // saved %ebp: not a frame pointer
    .word(0x5000aa95) // return address into module2::whine
    .mark(frame1Esp)
    .words(0xbaa0cb7a, 0xbdc92f9f, 0x0b1d8442) // arguments to wheedle
    .word(frame2Ebp) // saved %ebp
    .words(0xb1b90a15, 0xf18e072d)
    .word(0x2558c7f3) // saved %ebx
    .word(0x0365e25e)
    .word(0x2a179e38) // return address, in no module; $T0 points here
    .mark(frame2Esp)
    .fill(12)
    .mark(frame2Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40001004, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assert.equal(frames.length, 3);
  assert.equal(frames[0]!.symbol?.functionName, 'module1::wheedle');
  assert.equal(frames[0]!.parameterSize, 12);
  assertCaller(frames[1], 'frame_pointer', regs({ eip: 0x5000aa95, esp: frame1Esp, ebp: 0x6fa902e0 }));
  assert.equal(frames[1]!.symbol?.functionName, 'module2::whine');
  assert.equal(frames[1]!.parameterSize, 4, 'STACK WIN wins over the FUNC parameter size');
  assertCaller(frames[2], 'cfi', regs({ eip: 0x2a179e38, esp: frame2Esp, ebp: frame2Ebp, ebx: 0x2558c7f3 }));
  assert.equal(frames[2]!.module, undefined);
});

test(
  'x86: a frame at a PUBLIC symbol gives its caller no callee parameter size (Breakpad FindWindowsFrameInfo returns nothing for PUBLIC)',
  async () => {
    const symbols = {
      module1: 'PUBLIC 1000 c pub\n',
      // .cbCalleeParams picks which word is the return address.
      module2: 'FUNC aa85 176 0 f\nSTACK WIN 4 aa85 176 0 0 0 0 0 0 1 $eip $esp .cbCalleeParams + ^ = $esp $esp .cbCalleeParams + 4 + = $ebp $ebp =\n',
    };
    const frame0Ebp = new Label('frame0 ebp');
    const frame1Esp = new Label('frame1 esp');
    const frame2Ebp = new Label('frame2 ebp');
    const stack = new StackBuilder(0x80000000, 4)
      .fill(8)
      .mark(frame0Ebp)
      .word(frame2Ebp)
      .word(0x5000aa95) // into module2::f
      .mark(frame1Esp)
      .word(0x40002222) // the return address with no callee parameters
      .words(0, 0)
      .word(0x40003333) // the return address after 12 bytes of them
      .mark(frame2Ebp)
      .words(0, 0);
    const { frames } = await walk(stack, { eip: 0x40001004, esp: stack.start, ebp: frame0Ebp }, { symbols });
    assert.equal(frames[0]!.symbol?.isPublic, true);
    assert.equal(frames[0]!.parameterSize, undefined);
    assertCaller(frames[2], 'cfi', regs({ eip: 0x40002222, esp: frame1Esp.value + 4n, ebp: frame2Ebp }));
  },
);

test('x86: a STACK WIN program that fails to evaluate falls back to scanning (WindowsFrameDataScan)', async () => {
  const symbols = {
    module1: 'STACK WIN 4 c8c 111 0 0 4 10 4 0 1 bad program string\n',
    module2: 'FUNC 7c38 accf 0 module2::function\nSTACK WIN 4 7c38 accf 0 0 4 10 4 0 1 $eip 0 = $ebp 0 =\n',
  };
  const frame1Esp = new Label('frame1 esp');
  const stack = new StackBuilder(0x80000000, 4).fill(16, 0x2a).word(0x50007ce9).mark(frame1Esp).fill(8);
  const { frames } = await walk(stack, { eip: 0x40000c9c, esp: stack.start, ebp: 0x2ae314cd }, { symbols });
  assert.equal(frames.length, 2, 'module2 marks the end of the stack: $esp is never assigned and nothing is left to scan');
  assertCaller(frames[1], 'scan', regs({ eip: 0x50007ce9, esp: frame1Esp, ebp: 0x2ae314cd }));
  assert.notEqual(frames[1]!.parameterSize, undefined, 'the frame that ended the walk has its STACK WIN parameter size');
});

test('x86: a STACK WIN program that fails part-way keeps the $ebp it assigned: the scanned caller gets it (as Breakpad)', async () => {
  // crash.exe's __scrt_common_main_seh program (sentry's crash.sym): the callee-saved tail reads
  // below $T0 = $ebp, here under the dump's stack memory, after $eip, $esp and $ebp were assigned.
  const symbols = { module1: 'STACK WIN 4 2c9e 177 c 0 0 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =  $20 $T0 40 - ^ =  $23 $T0 44 - ^ =  $24 $T0 48 - ^ =\n' };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .words(0x0ffa0ffa, 0xdeaddead) // locals: no return addresses
    .mark(frame0Ebp)
    .word(frame1Ebp) // saved %ebp
    .word(0x5000129d) // return address
    .mark(frame1Esp)
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40002d00, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assert.equal(frames.length, 2);
  // The program failed, so $eip and $esp come from a scan; its $ebp stands. $20 is no register name.
  assertCaller(frames[1], 'scan', regs({ eip: 0x5000129d, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: callee-saved registers a failing STACK WIN program assigned before it failed are recovered (as Breakpad)', async () => {
  const symbols = { module1: 'STACK WIN 4 2c9e 177 c 0 0 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $ebx $T0 4 - ^ = $esi $T0 40 - ^ =\n' };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .word(0x0ffa0ffa)
    .word(0x5a5a0001) // saved %ebx
    .mark(frame0Ebp)
    .word(frame1Ebp)
    .word(0x5000129d)
    .mark(frame1Esp)
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40002d00, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assertCaller(frames[1], 'scan', regs({ eip: 0x5000129d, esp: frame1Esp, ebp: frame1Ebp, ebx: 0x5a5a0001 }));
});

test('x86: a STACK WIN result outside every module is replaced by a scan, and EBP is searched for (WindowsFrameDataBadEIPScan)', async () => {
  const symbols = {
    module1: 'STACK WIN 4 6e6 e7 0 0 0 8 4 0 1 $eip $ebp 4 + ^ = $esp $ebp 8 + = $ebp $ebp ^ =\n',
    module2: 'FUNC cfdb 8406 0 module2::function\nSTACK WIN 4 cfdb 8406 0 0 0 0 0 0 1 $eip 0 = $ebp 0 =\n',
  };
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Ebp = new Label('frame1 ebp');
  const frame1Esp = new Label('frame1 esp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(8, 0x2a)
    .mark(frame0Ebp)
    .words(0x3d937b2b, 0x17847f5b) // what the program reads: garbage
    .word(frame1Ebp) // the real saved %ebp; found by the search
    .words(0x2b2b2b2b, 0x2c2c2c2c)
    .word(0x5000d000) // the real return address; found by the scan
    .mark(frame1Esp)
    .mark(frame1Ebp)
    .word(0x2d2d2d2d);
  const { frames } = await walk(stack, { eip: 0x40000700, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assert.equal(frames.length, 2);
  assertCaller(frames[1], 'cfi_scan', regs({ eip: 0x5000d000, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: STACK WIN 0 (FPO) for a function that leaves EBP alone; EBX is carried (WindowsFPOUnchangedEBP)', async () => {
  const symbols = { module1: 'FUNC e8a8 100 feeb module1::discombobulated\nSTACK WIN 0 e8a8 100 0 0 8 4 10 0 0 0\n' };
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .word(0x7c521352) // saved registers
    .fill(0x10, 0x42) // locals
    .word(0x40009b5b) // return address, in module1, no function
    .mark(frame1Esp)
    .word(0xf60ea7fc)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x4000e8b8, esp: stack.start, ebp: frame1Ebp }, { symbols });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.parameterSize, 8);
  assertCaller(frames[1], 'cfi', regs({ eip: 0x40009b5b, esp: frame1Esp, ebp: frame1Ebp, ebx: OTHERS.ebx }));
  assert.equal(frames[1]!.symbol, undefined);
  assert.equal(frames[1]!.symbolsLoaded, true);
});

test('x86: STACK WIN 0 (FPO) with allocates_base_pointer recovers EBP from the saved registers (WindowsFPOUsedEBP)', async () => {
  const symbols = { module1: 'FUNC 9aa8 e6 abbe module1::RaisedByTheAliens\nSTACK WIN 0 9aa8 e6 a 0 10 8 4 0 0 1\n' };
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .word(frame1Ebp) // saved %ebp
    .word(0xb68bd5f9) // another saved register
    .word(0xd25d05fc) // locals
    .word(0x4000debe) // return address
    .mark(frame1Esp)
    .word(0xf0c9a974)
    .mark(frame1Ebp)
    .words(0, 0);
  const { frames } = await walk(stack, { eip: 0x40009ab8, esp: stack.start, ebp: 0xecbdd1a5 }, { symbols });
  assert.equal(frames.length, 2);

  assertCaller(frames[1], 'cfi', regs({ eip: 0x4000debe, esp: frame1Esp, ebp: frame1Ebp }));
});

test('x86: an FPO context frame sitting on its own EIP (a system call) skips that slot (WindowsFPOSystemCall)', async () => {
  const ntdll = testModule('ntdll', 0x771d0000, 0x180000);
  const kernelbase = testModule('kernelbase', 0x75f90000, 0x46000);
  const kernel32 = testModule('kernel32', 0x75730000, 0x110000);
  const chrome = testModule('chrome', 0x647f0000, 0x1ba8000);
  const frameData = (rva: string, size: string, prologue: string, params: string): string =>
    `STACK WIN 4 ${rva} ${size} ${prologue} 0 ${params} 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =\n`;
  const symbols = {
    ntdll: 'PUBLIC 1f8ac c ZwWaitForSingleObject\nSTACK WIN 0 1f8ac 1b 0 0 c 0 0 0 0 0\n',
    kernelbase: 'PUBLIC 109f9 c WaitForSingleObjectEx\nPUBLIC 36590 0 _except_handler4\n' + frameData('109f9', 'df', 'c', 'c').replace(' 0 0 0 1 ', ' 0 48 0 1 '),
    kernel32: 'PUBLIC 11136 8 WaitForSingleObject\nPUBLIC 11151 c WaitForSingleObjectExImplementation\n' + frameData('11136', '16', '5', '8') + frameData('11151', '7a', '5', 'c'),
    chrome: 'FUNC 217ff1 a 4 function_217ff1\nSTACK WIN 0 217ff1 a 0 0 4 0 0 0 0 0\n',
  };
  const frame1Esp = new Label('frame1 esp');
  const frame1Ebp = new Label('frame1 ebp');
  const frame2Ebp = new Label('frame2 ebp');
  const frame3Ebp = new Label('frame3 ebp');
  const stack = new StackBuilder(0x002ff290, 4)
    .word(0x771ef8c1) // the context EIP itself
    .word(0x75fa0a91) // return address of frame 0
    .mark(frame1Esp)
    .words(0x17b0, 0, 0x002ff2d8, 0x88014a2e, 0x002ff364, 0x17b0, 0, 0x24, 1, 0, 0, 0, 0, 0, 0, 0, 0x9e3b9800, 0xfffffff7, 0, 0x002ff2a4)
    .word(0x64a07ff1) // confusable with a return address (chrome)
    .word(0x002ff8dc)
    .word(0x75fc6590) // confusable with a return address (kernelbase)
    .words(0xfdd2c6ea, 0)
    .mark(frame1Ebp)
    .word(frame2Ebp)
    .word(0x75741194) // return address of frame 1
    .words(0x17b0, 0x0036ee80, 0, 0x65bc7d14)
    .mark(frame2Ebp)
    .word(frame3Ebp)
    .word(0x75741148) // return address of frame 2
    .words(0x17b0, 0x0036ee80, 0)
    .mark(frame3Ebp)
    .words(0, 0);
  const { frames } = await walkStack({
    cpu: 'x86',
    modules: [ntdll, kernelbase, kernel32, chrome],
    symbols,
    stack,
    registers: { ...OTHERS, eip: 0x771ef8c1, esp: stack.start, ebp: frame1Ebp },
  });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip, f.symbol?.functionName]),
    [
      ['context', 0x771ef8c1n, 'ZwWaitForSingleObject'],
      ['cfi', 0x75fa0a91n, 'WaitForSingleObjectEx'],
      ['cfi', 0x75741194n, 'WaitForSingleObjectExImplementation'],
      ['cfi', 0x75741148n, 'WaitForSingleObject'],
    ],
  );
  assertCaller(frames[1], 'cfi', regs({ eip: 0x75fa0a91, esp: frame1Esp, ebp: frame1Ebp, ebx: OTHERS.ebx }));
  assertCaller(frames[2], 'cfi', regs({ eip: 0x75741194, esp: frame1Ebp.value + 8n, ebp: frame2Ebp }));
  assertCaller(frames[3], 'cfi', regs({ eip: 0x75741148, esp: frame2Ebp.value + 8n, ebp: frame3Ebp }));
});

// Breakpad's CFI fixture: the caller's registers are the same from every point of the prologue.
const CFI_SYMBOLS = {
  module1: [
    'FUNC 4000 1000 10 enchiridion',
    'STACK CFI INIT 4000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^', // just a return address
    'STACK CFI 4001 .cfa: $esp 8 + $ebx: .cfa 8 - ^', // push %ebx
    'STACK CFI 4002 $esi: $ebx', // %esi kept in %ebx
    'STACK CFI 4003 .cfa: $esp 20 + $edi: .cfa 16 - ^', // frame space; save %edi
    'STACK CFI 4005 .ra: $edi', // return address in %edi
    'STACK CFI 4006 .cfa: $ebp 8 + $ebp: .cfa 12 - ^', // %ebp as frame pointer
    'FUNC 5000 1000 10 epictetus',
    'STACK CFI INIT 5000 1000 .cfa: $esp .ra 0', // end of stack
  ].join('\n'),
};
const CALLER = { eip: 0x40005510, esp: 0x80000000, ebp: 0xc0d4aab9, ebx: 0x60f20ce6, esi: 0x53d1379d, edi: 0xafbae234 };

/** A stack whose words end at the caller's ESP. */
function stackEndingAtCaller(words: number[]): StackBuilder {
  return new StackBuilder(CALLER.esp - words.length * 4, 4).words(...words);
}

async function checkCfiWalk(stack: StackBuilder, registers: Record<string, number | bigint | Label>): Promise<void> {
  const { frames } = await walkStack({
    cpu: 'x86',
    modules: MODULES,
    symbols: CFI_SYMBOLS,
    stack,
    registers: { ...CALLER, esp: stack.start, ...registers },
  });
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.symbol?.functionName, 'enchiridion');
  assert.equal(frames[0]!.parameterSize, 0x10);
  assertCaller(frames[1], 'cfi', regs(CALLER));
  assert.equal(frames[1]!.symbol?.functionName, 'epictetus');
}

test('x86 CFI at 4000: return address only', () => checkCfiWalk(stackEndingAtCaller([0x40005510]), { eip: 0x40004000 }));

test('x86 CFI at 4001: %ebx pushed', () => checkCfiWalk(stackEndingAtCaller([0x60f20ce6, 0x40005510]), { eip: 0x40004001, ebx: 0x91aa9a8b }));

test('x86 CFI at 4002: %esi moved into %ebx', () =>
  checkCfiWalk(stackEndingAtCaller([0x60f20ce6, 0x40005510]), { eip: 0x40004002, ebx: 0x53d1379d, esi: 0xa5c790ed }));

test('x86 CFI at 4003 and 4004: frame space and %edi saved', async () => {
  for (const eip of [0x40004003, 0x40004004]) {
    await checkCfiWalk(stackEndingAtCaller([0x56ec3db7, 0xafbae234, 0x53d67131, 0x60f20ce6, 0x40005510]), { eip, ebx: 0x53d1379d, esi: 0xa97f229d, edi: 0xb05cc997 });
  }
});

test('x86 CFI at 4005: return address in %edi', () =>
  checkCfiWalk(stackEndingAtCaller([0xe29782c2, 0xafbae234, 0x5ba29ce9, 0x60f20ce6, 0x8036cc02]), { eip: 0x40004005, ebx: 0x53d1379d, esi: 0x0fb7dc4e, edi: 0x40005510 }));

test('x86 CFI at 4006: %ebp as frame pointer', async () => {
  const stack = stackEndingAtCaller([0xdcdd25cd, 0xafbae234, 0xc0d4aab9, 0x60f20ce6, 0x8036cc02]);
  await checkCfiWalk(stack, { eip: 0x40004006, ebp: stack.start + 12n, ebx: 0x53d1379d, esi: 0x743833c9, edi: 0x40005510 });
});

test('x86 CFI: a rule that fails to evaluate leaves a callee-saved register as the callee had it (as Breakpad)', async () => {
  const symbols = { module1: 'FUNC 4000 100 0 f\nSTACK CFI INIT 4000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^ $ebp: 0 ^ $ebx: 0 ^\n' };
  const stack = new StackBuilder(0x80000000, 4).word(0x50001000).fill(8);
  const { frames } = await walk(stack, { eip: 0x40004000, esp: stack.start, ebp: 0x80000008 }, { symbols });
  assertCaller(frames[1], 'cfi', regs({ eip: 0x50001000, esp: 0x80000004, ebp: 0x80000008, ebx: OTHERS.ebx, esi: OTHERS.esi, edi: OTHERS.edi }));
});

test('x86 CFI whose return address cannot be read is not used; the EBP chain is', async () => {
  const symbols = { module1: 'FUNC 4000 100 0 f\nSTACK CFI INIT 4000 100 .cfa: $esp 4 + .ra: 16 ^\n' };
  const frame0Ebp = new Label('frame0 ebp');
  const stack = new StackBuilder(0x80000000, 4).word(0x40005510).mark(frame0Ebp).word(0).word(0x50001000).fill(8);
  const { frames } = await walk(stack, { eip: 0x40004000, esp: stack.start, ebp: frame0Ebp }, { symbols });
  assertCaller(frames[1], 'frame_pointer', regs({ eip: 0x50001000, esp: frame0Ebp.value + 8n, ebp: 0 }));
});

test('x86: the walk ends when ESP does not grow (a saved EBP that points back down)', async () => {
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .mark(frame1Ebp)
    .word(frame0Ebp) // frame 1 chains back to frame 0's slot
    .word(0x40002000)
    .mark(frame0Ebp)
    .word(frame1Ebp)
    .word(0x40001000)
    .fill(8);
  const { frames } = await walk(stack, { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x40000100n],
      ['frame_pointer', 0x40001000n],
    ],
  );
});

test('x86: the first unwind may leave ESP unchanged; a later one may not', async () => {
  const frame0Ebp = new Label('frame0 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .mark(frame0Ebp)
    .word(frame0Ebp) // a saved EBP pointing at itself
    .word(0x40001000)
    .fill(8);
  // The context ESP is already above the frame: frame 1's ESP (ebp + 8) equals it.
  const { frames } = await walk(stack, { eip: 0x40000100, esp: frame0Ebp.value + 8n, ebp: frame0Ebp });
  assert.deepEqual(
    frames.map((f) => [f.trust, f.sp]),
    [
      ['context', frame0Ebp.value + 8n],
      ['frame_pointer', frame0Ebp.value + 8n],
    ],
  );
});

test('x86: a return address below 4 KiB ends the walk', async () => {
  const frame0Ebp = new Label('frame0 ebp');
  const stack = new StackBuilder(0x80000000, 4).mark(frame0Ebp).word(0x80000100).word(0xfff).fill(0x100);
  const { frames } = await walk(stack, { eip: 0x40000100, esp: stack.start, ebp: frame0Ebp });
  assert.equal(frames.length, 1);
});

test('x86: without stack memory only the context frame is found', async () => {
  const { frames } = await walkStack({ cpu: 'x86', modules: MODULES, registers: { eip: 0x40000100, esp: 0x80000000, ebp: 0x80000010 } });
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.trust, 'context');
});

// A kernel stack through a page fault: frame 0's caller returns into the trap handler (KiTrap0E),
// whose EBP is its KTRAP_FRAME T; the interrupted frame continues from T's Ebp/Eip (+0x60/+0x68)
// and its ESP begins right after the frame (+0x74) for a kernel-mode trap.
function trapStack(withEbpEip: boolean): { stack: StackBuilder; trap: Label; interrupted: Label } {
  const callee = new Label('callee ebp');
  const trap = new Label('KTRAP_FRAME');
  const interrupted = new Label('interrupted ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(4)
    .mark(callee)
    .word(trap) // saved EBP: the handler's frame pointer
    .word(0x40001234) // return address into KiTrap0E
    .fill(4)
    .mark(trap)
    .word(withEbpEip ? 0 : interrupted) // DbgEbp
    .word(withEbpEip ? 0 : 0x50002345) // DbgEip
    .fill(0x60 - 8)
    .word(withEbpEip ? interrupted : 0) // +0x60 Ebp
    .word(0) // ErrCode
    .word(withEbpEip ? 0x50002345 : 0) // +0x68 Eip
    .word(8) // SegCs: kernel mode
    .word(0x10246) // EFlags
    .fill(16)
    .mark(interrupted)
    .words(0, 0);
  return { stack, trap, interrupted };
}

for (const form of ['Ebp/Eip at +0x60/+0x68', 'DbgEbp/DbgEip at +0/+4 when +0x68 is empty'] as const) {
  test(`x86: a trap handler's KTRAP_FRAME leads to the interrupted frame (${form})`, async () => {
    const { stack, trap, interrupted } = trapStack(form.startsWith('Ebp'));
    const symbols = { module1: 'FUNC 1000 400 0 _KiTrap0E\nFUNC 100 100 0 MmAccessFault\n', module2: 'FUNC 2000 400 0 CcMapData\n' };
    const callee = stack.start + 4n;
    const { frames } = await walk(stack, { eip: 0x40000150, esp: stack.start, ebp: callee }, { symbols });
    assert.equal(frames[1]!.symbol?.functionName, '_KiTrap0E');
    assert.equal(frames[1]!.trapFrame, trap.value);
    const f = frames[2]!;
    assert.equal(f.ip, 0x50002345n);
    assert.equal(f.instruction, f.ip, 'the trap interrupted this instruction: an exact address');
    assert.equal(f.registers.get('ebp'), interrupted.value);
    assert.equal(f.sp, trap.value + 0x74n, 'the interrupted ESP follows a kernel-mode trap frame');
    assert.equal(f.symbol?.functionName, 'CcMapData');
  });
}
