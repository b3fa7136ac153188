// ARM (Thumb-2) virtual unwind. Most tests use real functions of test-data/pe-arm/arm-fp.dll
// (clang -O2, lld-link; code in arm-fp.dll.disasm.txt, unwind data in arm-fp.dll.unwind.txt) at pc
// positions in the prologue, the body and each epilogue, on stacks built to match what the
// disassembly has executed by then; the rest hand-build unwind data for codes no compiler emits.
// Stack memory is "tagged": the word at address A reads as TAG + (A - STACK), so a restored
// register says where it was loaded from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from '../testing/corpus.js';
import { PeImage } from '../formats/pe/pe-image.js';
import { imageBytes } from '../formats/pe/testing.js';
import type { RvaReader } from '../formats/pe/arm-unwind-data.js';
import { unwindArm, type ArmUnwindInput, type ArmUnwindResult } from './pe-arm.js';

const BASE = 0x10000000n; // arm-fp.dll's ImageBase
const STACK = 0x00100000n;
const TAG = 0x7e000000n;
const E = 0x4000; // sp at the function's entry, as an offset into the stack
const CALLER_LR = 0x10001235n; // the frame's own lr: a return address, Thumb bit set

/** The tagged value of the stack word at `STACK + offset`. */
function at(offset: number): bigint {
  return TAG + BigInt(offset);
}

function taggedStack(overrides: Record<number, bigint> = {}): (address: bigint) => bigint | undefined {
  return (address) => {
    const offset = Number(address - STACK);
    if (offset in overrides) return overrides[offset];
    return address >= STACK && address + 4n <= STACK + 0x10000n ? TAG + (address - STACK) : undefined;
  };
}

const dll = (async () => {
  const bytes = new Uint8Array(readFileSync(repoPath('test-data', 'pe-arm', 'arm-fp.dll')));
  return PeImage.parse(imageBytes(bytes, 'file', 'arm-fp.dll'));
})();

// Function starts (RVAs) in arm-fp.dll: funcs.c's code from 0x1000, seh.s's from 0x1470.
const LOCALS = 0x10a0;
const BIG_FRAME = 0x1110;
const MANY_REGS = 0x1168;
const MULTI_RET = 0x125c;
const SEH = 0x1470;
const HOMED = SEH + 0x00;
const CONDITIONAL = SEH + 0x0c;
const MOVSP = SEH + 0x30;
const TRAP_HANDLER = SEH + 0x3e;
const LEAFPAIR = SEH + 0x48;
const FOLDED = SEH + 0x72;
const TAILB = SEH + 0x7a;

interface Frame {
  /** The function's RVA and pc as an offset into it. */
  fn: number;
  pc: number;
  /** sp as an offset into the stack. */
  sp: number;
  more?: Record<string, bigint>;
  context?: boolean;
  stack?: Record<number, bigint>;
}

async function unwind(frame: Frame, image?: RvaReader, entry?: ArmUnwindInput['entry']): Promise<ArmUnwindResult | undefined> {
  const pe = await dll;
  const registers = new Map<string, bigint>([
    ['pc', BASE + BigInt(frame.fn + frame.pc) + 1n], // a Thumb pc as a return address carries it
    ['sp', STACK + BigInt(frame.sp)],
    ['lr', CALLER_LR],
    ['r4', 0x4n],
    ['r5', 0x5n],
    ['r6', 0x6n],
    ['r7', 0x7n],
    ['r8', 0x8n],
    ['r11', 0xbn],
  ]);
  for (const [k, v] of Object.entries(frame.more ?? {})) registers.set(k, v);
  const found = entry ?? (await pe.armFunctionEntry(frame.fn + frame.pc));
  assert.ok(found, `an entry for 0x${(frame.fn + frame.pc).toString(16)}`);
  return unwindArm({
    image: image ?? pe,
    entry: found,
    moduleBase: BASE,
    registers,
    readU32: taggedStack(frame.stack),
    isContextFrame: frame.context ?? true,
  });
}

/** The caller's registers: the frame's untouched callee-saved ones, overridden; pc = lr without the Thumb bit. */
function expected(sp: number, changes: Record<string, bigint> = {}): [string, bigint][] {
  const regs = new Map<string, bigint>([
    ['r4', 0x4n],
    ['r5', 0x5n],
    ['r6', 0x6n],
    ['r7', 0x7n],
    ['r8', 0x8n],
    ['r11', 0xbn],
    ['lr', CALLER_LR],
    ['sp', STACK + BigInt(sp)],
  ]);
  for (const [k, v] of Object.entries(changes)) regs.set(k, v);
  regs.set('pc', regs.get('lr')! & ~1n);
  return sorted(regs);
}

function sorted(map: Map<string, bigint> | undefined): [string, bigint][] {
  return [...(map ?? new Map<string, bigint>())].sort(([a], [b]) => (a < b ? -1 : 1));
}

// locals (.xdata, one epilogue scope): 0 push.w {r11, lr}; 4 mov r11, sp; 6 sub sp, #0x30; ...
// 0x48 add sp, #0x30; 0x4a pop.w {r11, pc}. Codes 0c cb a8 00, epilogue 0c a8 00.
const POPPED_R11_LR = { r11: at(E - 8), lr: at(E - 4) };

test('locals, body: sp += 48, sp = r11, pop {r11, lr}; pc is the restored lr', async () => {
  const r = await unwind({ fn: LOCALS, pc: 0x46, sp: E - 56, more: { r11: STACK + BigInt(E - 8) }, context: false });
  assert.equal(r?.kind, 'call');
  assert.deepEqual(sorted(r?.registers), expected(E, POPPED_R11_LR));
  assert.equal(r?.fixedAllocation, 56);
});

test('locals, prologue: at 0 nothing is undone; after the push only the pop; after mov r11, sp also sp = r11', async () => {
  const first = await unwind({ fn: LOCALS, pc: 0, sp: E });
  assert.equal(first?.kind, 'leaf');
  assert.deepEqual(sorted(first?.registers), expected(E));
  const pushed = await unwind({ fn: LOCALS, pc: 4, sp: E - 8, more: { r11: 0xbn } });
  assert.deepEqual(sorted(pushed?.registers), expected(E, POPPED_R11_LR));
  // sp = r11 runs here, so a wrong sp shows the codes were (correctly) taken from r11.
  const chained = await unwind({ fn: LOCALS, pc: 6, sp: E - 200, more: { r11: STACK + BigInt(E - 8) } });
  assert.deepEqual(sorted(chained?.registers), expected(E, POPPED_R11_LR));
});

test('locals, epilogue: at its start everything runs; after add sp only the pop (the epilogue codes have no sp = r11)', async () => {
  const start = await unwind({ fn: LOCALS, pc: 0x48, sp: E - 56, more: { r11: STACK + BigInt(E - 8) } });
  assert.deepEqual(sorted(start?.registers), expected(E, POPPED_R11_LR));
  // r11 is already the caller's here: the body codes (sp = r11) would go wrong, the epilogue's do not.
  const popping = await unwind({ fn: LOCALS, pc: 0x4a, sp: E - 8, more: { r11: 0x1234n } });
  assert.equal(popping?.kind, 'call');
  assert.deepEqual(sorted(popping?.registers), expected(E, POPPED_R11_LR));
  // The same pc as a caller's return address is not mid-epilogue: the body codes apply.
  const asCaller = await unwind({ fn: LOCALS, pc: 0x4a, sp: E - 56, more: { r11: STACK + BigInt(E - 8) }, context: false });
  assert.deepEqual(sorted(asCaller?.registers), expected(E, POPPED_R11_LR));
});

test('the Thumb bit: a restored return address keeps it in lr and loses it in pc', async () => {
  const r = await unwind({ fn: LOCALS, pc: 4, sp: E - 8, stack: { [E - 4]: 0x10004567n } });
  assert.equal(r?.registers.get('lr'), 0x10004567n);
  assert.equal(r?.registers.get('pc'), 0x10004566n);
});

// big_frame (.xdata): 0 push.w {r4, r7, r11, lr}; 4 add.w r11, sp, #8; 8 movw r4, #0xbb8;
// 0xc bl __chkstk; 0x10 sub.w sp, sp, r4; ... 0x2a add.w sp, sp, #0x2ec0; 0x2e add sp, #0x20; 0x30 pop.w.
// Codes f9 0b b8 (sp += 12000, 32-bit), fc, fc, fc, a8 90; epilogue f9 0b b0, 08, a8 90.
const BIG_POPPED = { r4: at(E - 16), r7: at(E - 12), r11: at(E - 8), lr: at(E - 4) };

test('big_frame: the return address from __chkstk is mid-prologue: the sub.w sp, sp, r4 has not run', async () => {
  const r = await unwind({ fn: BIG_FRAME, pc: 0x10, sp: E - 16, context: false });
  assert.equal(r?.kind, 'call');
  assert.deepEqual(sorted(r?.registers), expected(E, BIG_POPPED));
  assert.equal(r?.fixedAllocation, 16 + 12000);
});

test('big_frame: body and the two-step epilogue deallocation', async () => {
  const body = await unwind({ fn: BIG_FRAME, pc: 0x26, sp: E - 16 - 12000, context: false });
  assert.deepEqual(sorted(body?.registers), expected(E, BIG_POPPED));
  const second = await unwind({ fn: BIG_FRAME, pc: 0x2e, sp: E - 16 - 32 });
  assert.deepEqual(sorted(second?.registers), expected(E, BIG_POPPED));
  const last = await unwind({ fn: BIG_FRAME, pc: 0x30, sp: E - 16 });
  assert.deepEqual(sorted(last?.registers), expected(E, BIG_POPPED));
});

// many_regs (packed, C=1): 0 push.w {r4-r11, lr}; 4 add.w r11, sp, #0x1c; 8 sub sp, #0xc; ...
// 0x84 add sp, #0xc; 0x86 pop.w {r4-r11, pc}.
const MANY_POPPED = Object.fromEntries(
  ['r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'lr'].map((name, k) => [name, at(E - 36 + 4 * k)]),
);

test('many_regs (packed): body, mid-prologue after add.w r11, and mid-epilogue after add sp', async () => {
  const body = await unwind({ fn: MANY_REGS, pc: 0x16, sp: E - 48, context: false });
  assert.equal(body?.kind, 'call');
  assert.deepEqual(sorted(body?.registers), expected(E, MANY_POPPED));
  assert.equal(body?.fixedAllocation, 48);
  const prologue = await unwind({ fn: MANY_REGS, pc: 8, sp: E - 36 });
  assert.deepEqual(sorted(prologue?.registers), expected(E, MANY_POPPED));
  const epilogue = await unwind({ fn: MANY_REGS, pc: 0x86, sp: E - 36 });
  assert.deepEqual(sorted(epilogue?.registers), expected(E, MANY_POPPED));
});

// multi_ret (.xdata, two scopes): 0 push.w {r4-r7, r11, lr}; 4 add.w r11; 8 sub sp, #0x10; ...
// 0x44 add sp; 0x46 pop.w {r4-r7, r11, lr}; 0x4a b.w (a tail call; codes 04 a8 f0 fe);
// 0x62 add sp; 0x64 pop.w {r4-r7, r11, pc} (codes 04 a8 f0 ff).
const MULTI_POPPED = Object.fromEntries(['r4', 'r5', 'r6', 'r7', 'r11', 'lr'].map((name, k) => [name, at(E - 24 + 4 * k)]));

test('multi_ret: each epilogue scope; at the tail call lr is already the caller\'s (a leaf-like unwind)', async () => {
  const first = await unwind({ fn: MULTI_RET, pc: 0x46, sp: E - 24 });
  assert.deepEqual(sorted(first?.registers), expected(E, MULTI_POPPED));
  const branch = await unwind({ fn: MULTI_RET, pc: 0x4a, sp: E });
  assert.equal(branch?.kind, 'leaf');
  assert.deepEqual(sorted(branch?.registers), expected(E));
  const second = await unwind({ fn: MULTI_RET, pc: 0x64, sp: E - 24 });
  assert.equal(second?.kind, 'call');
  assert.deepEqual(sorted(second?.registers), expected(E, MULTI_POPPED));
  const body = await unwind({ fn: MULTI_RET, pc: 0x56, sp: E - 40, context: false });
  assert.deepEqual(sorted(body?.registers), expected(E, MULTI_POPPED));
});

// homed (packed, H=1, Ret=0): 0 push {r0-r3}; 2 push {r4-r6, lr}; 4 adds; 6 pop {r4-r6}; 8 ldr pc, [sp], #20.
const HOMED_POPPED = { r4: at(E - 32), r5: at(E - 28), r6: at(E - 24), lr: at(E - 20) };

test('homed (packed H): the home area is freed; mid-epilogue the return is ldr pc, [sp], #20', async () => {
  const pushedHomes = await unwind({ fn: HOMED, pc: 2, sp: E - 16 });
  assert.equal(pushedHomes?.kind, 'leaf');
  assert.deepEqual(sorted(pushedHomes?.registers), expected(E));
  const body = await unwind({ fn: HOMED, pc: 4, sp: E - 32 });
  assert.deepEqual(sorted(body?.registers), expected(E, HOMED_POPPED));
  assert.equal(body?.fixedAllocation, 32);
  const returning = await unwind({ fn: HOMED, pc: 8, sp: E - 20 });
  assert.equal(returning?.kind, 'call');
  assert.deepEqual(sorted(returning?.registers), expected(E, { lr: at(E - 20) }));
});

// conditional (.xdata): 0 push.w {r4-r8, lr}; 4 vpush {d8-d15}; 8 sub sp, #16; 0xa cmp; 0xc ittt eq;
// 0xe addeq sp; 0x10 vpopeq; 0x14 popeq.w {r4-r8, pc} (scope condition 0, EQ); ... 0x1a the unconditional one.
const COND_POPPED = Object.fromEntries(['r4', 'r5', 'r6', 'r7', 'r8', 'lr'].map((name, k) => [name, at(E - 24 + 4 * k)]));

test('conditional epilogue: CPSR decides whether pc is in it (Z set: vpop and pop remain; Z clear: the body)', async () => {
  const Z = 1n << 30n;
  const taken = await unwind({ fn: CONDITIONAL, pc: 0x10, sp: E - 88, more: { cpsr: Z } });
  assert.deepEqual(sorted(taken?.registers), expected(E, COND_POPPED));
  const skipped = await unwind({ fn: CONDITIONAL, pc: 0x10, sp: E - 104, more: { cpsr: 0n } });
  assert.deepEqual(sorted(skipped?.registers), expected(E, COND_POPPED));
  // Without CPSR the condition is taken to hold.
  const unknown = await unwind({ fn: CONDITIONAL, pc: 0x10, sp: E - 88 });
  assert.deepEqual(sorted(unknown?.registers), expected(E, COND_POPPED));
  assert.equal(taken?.fixedAllocation, 104);
});

test('movsp: sp comes back from r7 whatever the body did to it', async () => {
  // 0 push {r4-r7, lr}; 2 mov r7, sp; 4 sub.w sp, sp, #0x800; 8 adds; 0xa mov sp, r7; 0xc pop {r4-r7, pc}
  const popped = { r4: at(E - 20), r5: at(E - 16), r6: at(E - 12), r7: at(E - 8), lr: at(E - 4) };
  const body = await unwind({ fn: MOVSP, pc: 8, sp: E - 20 - 0x800 - 0x40, more: { r7: STACK + BigInt(E - 20) } });
  assert.deepEqual(sorted(body?.registers), expected(E, popped));
  const epilogue = await unwind({ fn: MOVSP, pc: 0xc, sp: E - 20, more: { r7: 0x77n } });
  assert.deepEqual(sorted(epilogue?.registers), expected(E, popped));
});

test('trap_handler: the machine frame { Sp, Pc } under the pushed registers gives an exact pc', async () => {
  // 0 push.w {r11, lr} (codes a8 00 ee 01): then sp points at the MACHINE_FRAME.
  const r = await unwind({ fn: TRAP_HANDLER, pc: 8, sp: E - 8, context: false, stack: { [E]: STACK + 0x2000n, [E + 4]: 0x10001111n } });
  assert.equal(r?.kind, 'machine_frame');
  assert.equal(r?.registers.get('sp'), STACK + 0x2000n);
  assert.equal(r?.registers.get('pc'), 0x10001110n);
  assert.equal(r?.registers.get('r11'), at(E - 8));
});

test('leafpair (packed, L=0, Ret=1): lr never left the register; the bx lr is the epilogue\'s last instruction', async () => {
  const body = await unwind({ fn: LEAFPAIR, pc: 2, sp: E - 8 });
  assert.equal(body?.kind, 'leaf');
  assert.deepEqual(sorted(body?.registers), expected(E, { r4: at(E - 8), r5: at(E - 4) }));
  const bx = await unwind({ fn: LEAFPAIR, pc: 6, sp: E });
  assert.deepEqual(sorted(bx?.registers), expected(E));
});

test('folded (packed, Stack Adjust 0x3F4+): push {r2-r7, lr} allocates the two extra words', async () => {
  const popped = { r4: at(E - 20), r5: at(E - 16), r6: at(E - 12), r7: at(E - 8), lr: at(E - 4) };
  const r = await unwind({ fn: FOLDED, pc: 6, sp: E - 28, context: false });
  assert.deepEqual(sorted(r?.registers), expected(E, popped));
  assert.equal(r?.fixedAllocation, 28);
});

test('tailb (packed, Ret=2): before the pop.w {r4, lr} lr is restored; at the b.w it is already there', async () => {
  const before = await unwind({ fn: TAILB, pc: 6, sp: E - 8 });
  assert.equal(before?.kind, 'call');
  assert.deepEqual(sorted(before?.registers), expected(E, { r4: at(E - 8), lr: at(E - 4) }));
  const branch = await unwind({ fn: TAILB, pc: 0xa, sp: E });
  assert.equal(branch?.kind, 'leaf');
  assert.deepEqual(sorted(branch?.registers), expected(E));
});

// ---------------------------------------------------------------------------------------------
// Hand-built unwind data

function le32(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}

function imageWith(records: Record<number, Uint8Array>): RvaReader {
  const bytes = new Uint8Array(0x10000);
  for (const [rva, data] of Object.entries(records)) bytes.set(data, Number(rva));
  return { name: 'hand.dll', readRva: async (rva, length) => (rva >= 0 && rva + length <= bytes.length ? bytes.slice(rva, rva + length) : undefined) };
}

const FN = 0x1000;
const XDATA = 0x8000;
/** An .xdata record for a 0x100-byte function with the given code bytes (padded with FF) and no epilogue. */
function xdata(codes: number[], flags = 0): Uint8Array {
  const padded = [...codes];
  while (padded.length % 4) padded.push(0xff);
  return Uint8Array.from([...le32(0x80 | flags | ((padded.length / 4) << 28)), ...padded]);
}

async function handUnwind(records: Record<number, Uint8Array>, unwindData: number, frame: Omit<Frame, 'fn'>): Promise<ArmUnwindResult | undefined> {
  return unwind({ ...frame, fn: FN }, imageWith(records), { begin: FN | 1, unwindData });
}

test('custom frames: CONTEXT, KTRAP_FRAME (both layouts) and the red zone', async () => {
  const ctx = (flags: bigint): Record<number, bigint> => ({ [E]: flags, [E + 0x38]: STACK + 0x3000n, [E + 0x3c]: 0x10002223n, [E + 0x40]: 0x10002221n });
  const context = await handUnwind({ [XDATA]: xdata([0xee, 0x02]) }, XDATA, { pc: 0x10, sp: E, stack: ctx(0n) });
  assert.equal(context?.kind, 'machine_frame');
  assert.equal(context?.registers.get('r0'), at(E + 4));
  assert.equal(context?.registers.get('r12'), at(E + 0x34));
  assert.equal(context?.registers.get('r4'), at(E + 0x14));
  assert.equal(context?.registers.get('sp'), STACK + 0x3000n);
  assert.equal(context?.registers.get('lr'), 0x10002223n);
  assert.equal(context?.registers.get('pc'), 0x10002220n);
  assert.equal(context?.registers.get('cpsr'), at(E + 0x44));
  const toCall = await handUnwind({ [XDATA]: xdata([0xee, 0x02]) }, XDATA, { pc: 0x10, sp: E, stack: ctx(0x20000000n) });
  assert.equal(toCall?.kind, 'call', 'CONTEXT_UNWOUND_TO_CALL in the saved flags');

  for (const [frame, r0, r11, sp, pc] of [
    [0x03, 0x60, 0x7c, 0x74, 0x80],
    [0x00, 0xa0, 0xbc, 0xb4, 0xc0],
  ] as const) {
    const trap = await handUnwind({ [XDATA]: xdata([0xee, frame]) }, XDATA, { pc: 0x10, sp: E });
    assert.equal(trap?.kind, 'machine_frame');
    assert.equal(trap?.registers.get('r0'), at(E + r0));
    assert.equal(trap?.registers.get('r3'), at(E + r0 + 12));
    assert.equal(trap?.registers.get('r11'), at(E + r11));
    assert.equal(trap?.registers.get('sp'), at(E + sp));
    assert.equal(trap?.registers.get('pc'), at(E + pc));
    assert.equal(trap?.registers.get('r4'), 0x4n, 'r4-r10 are not in a trap frame');
  }
  // Red zone: pc from the lr the codes before it restored, lr from [sp - 8].
  const red = await handUnwind({ [XDATA]: xdata([0x02, 0xee, 0x04]) }, XDATA, { pc: 0x10, sp: E });
  assert.equal(red?.kind, 'call');
  assert.equal(red?.registers.get('pc'), CALLER_LR & ~1n);
  assert.equal(red?.registers.get('lr'), at(E + 8 - 8));
  assert.equal(await handUnwind({ [XDATA]: xdata([0xee, 0x05]) }, XDATA, { pc: 0x10, sp: E }), undefined);
});

test('codes no compiler here emits: F5/F6 vpop ranges, F7-FA adds, EC/ED low pops, FB nops in a prologue', async () => {
  // Prologue in unwind order: nop (2), add sp 0x20000*4 (F8, 2), vpop d0-d1 (F5), vpop d16-d17 (F6), pop {r4, lr} (ED 10).
  const codes = [0xfb, 0xf8, 0x02, 0x00, 0x00, 0xf5, 0x01, 0xf6, 0x01, 0xed, 0x10, 0xff];
  const size = 0x20000 * 4;
  const sp = E - 8 - 16 - 16 - size;
  const body = await handUnwind({ [XDATA]: xdata(codes) }, XDATA, { pc: 0x80, sp });
  assert.deepEqual(sorted(body?.registers), expected(E, { r4: at(E - 8), lr: at(E - 4) }));
  assert.equal(body?.fixedAllocation, size + 40);
  // 2 + 2 + 4 + 4 + 2 = 14 bytes of prologue, the push first: at 2 only it has run.
  const mid = await handUnwind({ [XDATA]: xdata(codes) }, XDATA, { pc: 2, sp: E - 8 });
  assert.deepEqual(sorted(mid?.registers), expected(E, { r4: at(E - 8), lr: at(E - 4) }));
});

test('fragments (F, Flag 2) have no prologue; Flag 3 takes its parent entry\'s body unwind', async () => {
  const codes = [0xd4, 0xff]; // pop {r4, lr} (16-bit)
  const fragment = await handUnwind({ [XDATA]: xdata(codes, 1 << 22) }, XDATA, { pc: 0, sp: E - 8 });
  assert.deepEqual(sorted(fragment?.registers), expected(E, { r4: at(E - 8), lr: at(E - 4) }));
  const full = await handUnwind({ [XDATA]: xdata(codes) }, XDATA, { pc: 0, sp: E });
  assert.deepEqual(sorted(full?.registers), expected(E), 'at 0 of a function nothing has run');
  const parent = le32(0x2001, XDATA);
  const child = await handUnwind({ [XDATA]: xdata(codes), 0x9000: parent }, 0x9000 | 3, { pc: 0, sp: E - 8 });
  assert.deepEqual(sorted(child?.registers), expected(E, { r4: at(E - 8), lr: at(E - 4) }));
  // A packed fragment (Flag 2): push {r4, lr} ... pop {r4, pc}.
  const packed = 2 | (0x40 << 1) | (0 << 13) | (0 << 16) | (1 << 20);
  const r = await handUnwind({}, packed >>> 0, { pc: 0, sp: E - 8 });
  assert.deepEqual(sorted(r?.registers), expected(E, { r4: at(E - 8), lr: at(E - 4) }));
});

test('no unwind (undefined, never a throw): pc outside the function, missing stack or registers, hostile data', async () => {
  const ok = { [XDATA]: xdata([0xd4, 0xff]) };
  assert.equal(await handUnwind(ok, XDATA, { pc: 0x100, sp: E - 8 }), undefined, 'pc at the end of a context frame');
  assert.ok(await handUnwind(ok, XDATA, { pc: 0x100, sp: E - 8, context: false }), 'a return address after a final call');
  assert.equal(await handUnwind(ok, XDATA, { pc: 0x102, sp: E - 8, context: false }), undefined);
  assert.equal(await handUnwind(ok, XDATA, { pc: 0x80, sp: 0xfffc }), undefined, 'the pop reads past the stack');
  assert.equal(await handUnwind({ [XDATA]: xdata([0xc9, 0xff]) }, XDATA, { pc: 0x80, sp: E }), undefined, 'sp = r9, r9 unknown');
  for (const bad of [xdata([0xf0]), xdata([0xee, 0x20]), le32(0x80 | (1 << 18) | (1 << 28), 0xff), le32(0x80 | (1 << 23) | (1 << 28), 8 << 24)]) {
    assert.equal(await handUnwind({ [XDATA]: bad }, XDATA, { pc: 0x80, sp: E }), undefined);
  }
  assert.equal(await handUnwind(ok, XDATA + 2, { pc: 0x80, sp: E }), undefined, 'misaligned .xdata');
  assert.equal(await handUnwind(ok, 0x7, { pc: 0x80, sp: E }), undefined, 'Flag 3 with bit 2 set');
  const throwing: RvaReader = { readRva: async () => { throw new Error('boom'); } };
  assert.equal(await unwind({ fn: FN, pc: 0x80, sp: E }, throwing, { begin: FN | 1, unwindData: XDATA }), undefined);
});
