// walkFrom on small hand-made stacks: WinDbg's `k = BasePtr StackPtr InstructionPtr` rows on x86,
// where each walk stops, trap hops, and the x64/arm64 walks by unwind data, scan and frame records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStackView } from './testing.js';
import { walkChain, walkFrom } from './walk-from.js';
import { StackFacts } from './stack-facts.js';

const APP = { name: 'app', base: 0x00400000n, size: 0x10000 };
const NT = { name: 'nt', base: 0x80800000n, size: 0x100000 };
const KI_TRAP = [0x80880000n, 0x80880400n] as const;

function x86View(): MemoryStackView {
  return new MemoryStackView({ cpu: 'x86', start: 0x1000n, size: 0x1000, modules: [APP, NT], trapEntries: [KI_TRAP] });
}

test('x86: rows follow the EBP chain; each caller runs at its callee return address; a zero return ends the walk', async () => {
  const view = x86View()
    .setWords(0x1100n, 0x1140n, 0x401010n) // frame 0: saved EBP, return address
    .setWords(0x1140n, 0x1200n, 0x402020n)
    .setWords(0x1200n, 0n, 0n); // the outermost frame
  const frames = await walkFrom(view, { basePtr: 0x1100n, stackPtr: 0x10f0n, instructionPtr: 0x400500n });
  assert.deepEqual(frames, [
    { childFrame: 0x1100n, sp: 0x10f0n, ip: 0x400500n, returnAddress: 0x401010n, trap: false },
    { childFrame: 0x1140n, sp: 0x1108n, ip: 0x401010n, returnAddress: 0x402020n, trap: false },
    { childFrame: 0x1200n, sp: 0x1148n, ip: 0x402020n, returnAddress: 0n, trap: false },
  ]);
  assert.equal((await walkChain(new StackFacts(view), { basePtr: 0x1100n, stackPtr: 0x10f0n, instructionPtr: 0x400500n })).end, 'zero_return');
});

test('x86: the walk stops after a frame whose return address is implausible, or whose saved EBP does not climb', async () => {
  const implausible = x86View().setWords(0x1100n, 0x1140n, 0x401010n).setWords(0x1140n, 0x1200n, 0x12345678n);
  const a = await walkChain(new StackFacts(implausible), { basePtr: 0x1100n, stackPtr: 0x1100n, instructionPtr: 0x400500n });
  assert.deepEqual(a.frames.map((f) => f.returnAddress), [0x401010n, 0x12345678n]);
  assert.equal(a.end, 'implausible_return');

  const self = x86View().setWords(0x1100n, 0x1100n, 0x401010n); // EBP pointing to itself
  const b = await walkChain(new StackFacts(self), { basePtr: 0x1100n, stackPtr: 0x1100n, instructionPtr: 0x400500n });
  assert.equal(b.frames.length, 1);
  assert.equal(b.end, 'bad_frame_pointer');

  const cycle = x86View().setWords(0x1100n, 0x1180n, 0x401010n).setWords(0x1180n, 0x1100n, 0x401020n);
  const c = await walkChain(new StackFacts(cycle), { basePtr: 0x1100n, stackPtr: 0x1100n, instructionPtr: 0x400500n });
  assert.deepEqual(c.frames.map((f) => f.childFrame), [0x1100n, 0x1180n]);
  assert.equal(c.end, 'bad_frame_pointer');

  const gap = new MemoryStackView({ cpu: 'x86', start: 0x100000n, size: 0x40000, modules: [APP] })
    .setWords(0x100100n, 0x120100n, 0x401010n) // a frame of 128 KiB
    .setWords(0x120100n, 0n, 0n);
  const start = { basePtr: 0x100100n, stackPtr: 0x100100n, instructionPtr: 0x400500n };
  assert.equal((await walkFrom(gap, start)).length, 1);
  assert.equal((await walkFrom(gap, start, { maxFrameGap: 0x40000 })).length, 2);
});

test('x86: a saved EBP outside the captured stack, an unreadable word, and the frame limit end the walk', async () => {
  const outside = x86View().setWords(0x1100n, 0x0012ff00n, 0x401010n);
  const a = await walkChain(new StackFacts(outside), { basePtr: 0x1100n, stackPtr: 0x1100n, instructionPtr: 0x400500n });
  assert.equal(a.frames.length, 1);
  assert.equal(a.end, 'left_stack');

  const hole = x86View().setWords(0x1100n, 0x1140n, 0x401010n).hole(0x1144n);
  assert.equal((await walkFrom(hole, { basePtr: 0x1100n, stackPtr: 0x1100n, instructionPtr: 0x400500n })).length, 1);
  assert.deepEqual(await walkFrom(hole, { basePtr: 0x5000n, stackPtr: 0x5000n, instructionPtr: 0x400500n }), []);

  const long = x86View();
  for (let ebp = 0x1000n; ebp < 0x1ff0n; ebp += 8n) long.setWords(ebp, ebp + 8n, 0x401000n);
  assert.equal((await walkFrom(long, { basePtr: 0x1000n, stackPtr: 0x1000n, instructionPtr: 0x400500n }, { maxFrames: 7 })).length, 7);
});

test('x86: a return into a trap entry hops through the KTRAP_FRAME; without one in the stack the chain goes on as usual', async () => {
  const trapFrame = 0x1200n;
  const view = x86View()
    .setWords(0x1100n, trapFrame, 0x80880123n) // MmAccessFault returns into KiTrap0E; its saved EBP is the trap handler's
    .set(trapFrame + 0x60n, 0x1300n) // KTRAP_FRAME.Ebp
    .set(trapFrame + 0x68n, 0x401234n) // KTRAP_FRAME.Eip: where the fault hit
    .setWords(0x1300n, 0n, 0n);
  const frames = await walkFrom(view, { basePtr: 0x1100n, stackPtr: 0x10f0n, instructionPtr: 0x80812345n });
  assert.deepEqual(frames, [
    { childFrame: 0x1100n, sp: 0x10f0n, ip: 0x80812345n, returnAddress: 0x80880123n, trap: false },
    { childFrame: 0x1100n, sp: 0x1108n, ip: 0x80880123n, returnAddress: 0x401234n, trap: true },
    { childFrame: 0x1300n, sp: trapFrame + 0x74n, ip: 0x401234n, returnAddress: 0n, trap: false },
  ]);

  // A system call from user mode: the KTRAP_FRAME's EBP is a user-mode address, and the chain ends with the trap row.
  const user = x86View().setWords(0x1100n, trapFrame, 0x80880200n).set(trapFrame + 0x60n, 0x0012ff40n).set(trapFrame + 0x68n, 0x7c8285ecn);
  const walk = await walkChain(new StackFacts(user), { basePtr: 0x1100n, stackPtr: 0x10f0n, instructionPtr: 0x80812345n });
  assert.deepEqual(walk.frames.map((f) => [f.childFrame, f.returnAddress, f.trap]), [[0x1100n, 0x80880200n, false], [0x1100n, 0x7c8285ecn, true]]);
  assert.equal(walk.end, 'user_transition');

  // The trap frame would reach past the captured stack: no hop, [EBP] is followed as for any frame.
  const cut = x86View().setWords(0x1f90n, 0x1fe0n, 0x80880123n).setWords(0x1fe0n, 0n, 0n);
  const plain = await walkFrom(cut, { basePtr: 0x1f90n, stackPtr: 0x1f90n, instructionPtr: 0x80812345n });
  assert.deepEqual(plain.map((f) => [f.childFrame, f.trap]), [[0x1f90n, false], [0x1fe0n, false]]);
});

/** x64 unwind data in a table: each function's fixed frame (bytes from SP to the return address slot). */
function x64View(functions: readonly { start: bigint; end: bigint; frame: bigint }[], withUnwind = true): MemoryStackView {
  let view: MemoryStackView | undefined;
  const unwindFrom = (ip: bigint, sp: bigint): { ip: bigint; sp: bigint } | undefined => {
    const f = functions.find((fn) => ip >= fn.start && ip < fn.end);
    if (!f) return undefined;
    const slot = sp + f.frame;
    const ret = view!.readWord(slot);
    return ret === undefined ? undefined : { ip: ret, sp: slot + 8n };
  };
  view = new MemoryStackView({
    cpu: 'amd64',
    start: 0x10000n,
    size: 0x1000,
    modules: [{ name: 'app', base: 0x140000000n, size: 0x10000 }],
    ...(withUnwind ? { unwindFrom } : {}),
  });
  return view;
}

test('x64: frames by unwind data; a function without unwind data is passed by scanning for the next return address', async () => {
  const functions = [
    { start: 0x140001000n, end: 0x140001100n, frame: 0x28n },
    { start: 0x140002000n, end: 0x140002100n, frame: 0x58n },
  ];
  const view = x64View(functions)
    .set(0x10100n + 0x10n, 0x140002010n) // a stale return address in frame 0's locals
    .set(0x10128n, 0x140002050n) // frame 0's return slot (SP + 0x28)
    .set(0x10130n + 0x58n, 0x140003010n) // frame 1 returns into code without unwind data
    .set(0x10200n, 0x140001080n) // the scan finds this one
    .set(0x10208n + 0x28n, 0n);
  const frames = await walkFrom(view, { basePtr: 0n, stackPtr: 0x10100n, instructionPtr: 0x140001010n });
  assert.deepEqual(
    frames.map((f) => [f.childFrame, f.ip, f.returnAddress]),
    [
      [0x10100n, 0x140001010n, 0x140002050n],
      [0x10130n, 0x140002050n, 0x140003010n],
      [0x10190n, 0x140003010n, 0x140001080n],
      [0x10208n, 0x140001080n, 0n],
    ],
  );
  const walk = await walkChain(new StackFacts(view), { basePtr: 0n, stackPtr: 0x10100n, instructionPtr: 0x140001010n });
  assert.equal(walk.confirmed, 2, 'the scanned frame is not confirmed');
  assert.equal(walk.end, 'zero_return');
});

test('arm64: frame records (x29, x30) with a basePtr; unwind data from SP and PC without one', async () => {
  const view = new MemoryStackView({ cpu: 'arm64', start: 0x20000n, size: 0x1000, modules: [{ name: 'app', base: 0x140000000n, size: 0x10000 }] })
    .setWords(0x20100n, 0x20180n, 0x140001234n)
    .setWords(0x20180n, 0x20400n, 0x140002468n)
    .setWords(0x20400n, 0n, 0n);
  const frames = await walkFrom(view, { basePtr: 0x20100n, stackPtr: 0x200f0n, instructionPtr: 0x140000010n });
  assert.deepEqual(frames.map((f) => [f.childFrame, f.sp, f.ip, f.returnAddress]), [
    [0x20100n, 0x200f0n, 0x140000010n, 0x140001234n],
    [0x20180n, 0x20110n, 0x140001234n, 0x140002468n],
    [0x20400n, 0x20190n, 0x140002468n, 0n],
  ]);
  // Without a basePtr: scanning (no unwind data here) finds 0x140001234 at 0x20108 first.
  const scanned = await walkFrom(view, { basePtr: 0n, stackPtr: 0x200f0n, instructionPtr: 0x140000010n });
  assert.deepEqual(scanned.map((f) => f.returnAddress).slice(0, 2), [0x140001234n, 0x140002468n]);
});
