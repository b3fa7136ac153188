// ARM64 virtual unwind on hand-built functions: each test states the unwind data bytes, the stack
// words and the registers it expects. Stack memory is "tagged": the word at address A reads as
// TAG + (A - STACK), so a restored register says where it was loaded from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Directory, Machine } from '../formats/pe/constants.js';
import { arm64FunctionLength } from '../formats/pe/arm64-unwind-data.js';
import { PeImage } from '../formats/pe/pe-image.js';
import { PeBuilder, TEXT } from '../formats/pe/testing.js';
import { unwindArm64, type Arm64UnwindInput, type Arm64UnwindResult } from './pe-arm64.js';

const BASE = 0x7ff600000000n;
const FUNC = 0x1000; // function RVA
const XDATA = 0x8000; // .xdata RVA
const STACK = 0x10000n;
const TAG = 0x5a5a000000000000n;
const CALLER_LR = 0x7ff600002468n;

/** The tagged value of the stack word at `STACK + offset`. */
function at(offset: number): bigint {
  return TAG + BigInt(offset);
}

function taggedStack(size = 0x4000): (address: bigint) => bigint | undefined {
  return (address) => (address >= STACK && address + 8n <= STACK + BigInt(size) ? TAG + (address - STACK) : undefined);
}

function le32(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}

/** An .xdata record: header word(s), scope words (start offset in bytes, code index), code bytes padded with nop. */
function xdata(o: { functionLength: number; codes: number[]; scopes?: [number, number][]; epilogInHeader?: number }): Uint8Array {
  const codes = [...o.codes];
  while (codes.length % 4) codes.push(0xe3);
  const scopes = o.scopes ?? [];
  const e = o.epilogInHeader !== undefined;
  const header = (o.functionLength / 4) | (e ? 1 << 21 : 0) | ((e ? o.epilogInHeader! : scopes.length) << 22) | ((codes.length / 4) << 27);
  return Uint8Array.from([...le32(header, ...scopes.map(([start, index]) => (start / 4) | (index << 22))), ...codes]);
}

function imageWith(records: Record<number, Uint8Array>): Arm64UnwindInput['image'] {
  const bytes = new Uint8Array(0x10000);
  for (const [rva, data] of Object.entries(records)) bytes.set(data, Number(rva));
  return { readRva: async (rva, length) => (rva >= 0 && rva + length <= bytes.length ? bytes.slice(rva, rva + length) : undefined) };
}

interface Frame {
  /** pc as an offset into the function. */
  pc: number;
  sp: number;
  fp?: number;
  lr?: bigint;
  more?: Record<string, bigint>;
  context?: boolean;
}

function unwind(image: Arm64UnwindInput['image'], unwindData: number, frame: Frame, extra: Partial<Arm64UnwindInput> = {}): Promise<Arm64UnwindResult | undefined> {
  const registers = new Map<string, bigint>([
    ['pc', BASE + BigInt(FUNC + frame.pc)],
    ['sp', STACK + BigInt(frame.sp)],
    ['lr', frame.lr ?? CALLER_LR],
    ['x19', 0x19n],
    ['x20', 0x20n],
    ['x21', 0x21n],
    ['x22', 0x22n],
  ]);
  if (frame.fp !== undefined) registers.set('fp', STACK + BigInt(frame.fp));
  for (const [k, v] of Object.entries(frame.more ?? {})) registers.set(k, v);
  return unwindArm64({
    image,
    entry: { begin: FUNC, unwindData },
    moduleBase: BASE,
    registers,
    readU64: taggedStack(),
    isContextFrame: frame.context ?? true,
    ...extra,
  });
}

/** The expected caller registers: the frame's untouched callee-saved values, overridden. */
function expected(sp: number, changes: Record<string, bigint> = {}, lr: bigint = CALLER_LR): Map<string, bigint> {
  const regs = new Map<string, bigint>([
    ['x19', 0x19n],
    ['x20', 0x20n],
    ['x21', 0x21n],
    ['x22', 0x22n],
    ['lr', lr],
    ['sp', STACK + BigInt(sp)],
  ]);
  for (const [k, v] of Object.entries(changes)) regs.set(k, v);
  regs.set('pc', regs.get('lr')!);
  return regs;
}

function sorted(map: Map<string, bigint> | undefined): [string, bigint][] {
  return [...(map ?? new Map<string, bigint>())].sort(([a], [b]) => (a < b ? -1 : 1));
}

// The doc's "Unwinding partial prologs and epilogs" example, function at FUNC:
//   0000 stp x29,lr,[sp,#-256]!  save_fplr_x 256 (0x9f)   0100 mov sp,x29        set_fp
//   0004 stp d8,d9,[sp,#224]     save_fregp 0,224 (d8 1c)  0104 ldp x19,x20,[sp,#240]
//   0008 stp x19,x20,[sp,#240]   save_regp 0,240 (c8 1e)   0108 ldp d8,d9,[sp,#224]
//   000c mov x29,sp              set_fp (e1)               010c ldp x29,lr,[sp],#256
//                                                          0110 ret                  end (e4)
// Codes e1 c8 1e d8 1c 9f e4, shared by the prologue and the one epilogue scope (0x100, index 0).
const DOC_EXAMPLE = imageWith({ [XDATA]: xdata({ functionLength: 0x114, codes: [0xe1, 0xc8, 0x1e, 0xd8, 0x1c, 0x9f, 0xe4], scopes: [[0x100, 0]] }) });
const S = 0x100; // sp (= fp) in the body; the caller's sp is S + 256

test('body of the doc example: fp, lr, x19, x20 from the frame, sp = fp + 256', async () => {
  const result = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x80, sp: S - 0x40, fp: S });
  assert.equal(result?.kind, 'call');
  assert.deepEqual(
    sorted(result?.registers),
    sorted(expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8))),
  );
  assert.equal(result?.fixedAllocation, 256);
});

test('mid-prologue of the doc example: only the executed instructions are undone', async () => {
  // At 0: nothing done yet; pc = lr, sp unchanged.
  let r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x0, sp: S + 256 });
  assert.equal(r?.kind, 'leaf');
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256)));
  // At 4 and 8 (stp x29,lr done; d8,d9 stored or not): fp, lr and sp only.
  for (const pc of [0x4, 0x8]) {
    r = await unwind(DOC_EXAMPLE, XDATA, { pc, sp: S });
    assert.equal(r?.kind, 'call');
    assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S) }, at(S + 8))), `pc ${pc}`);
  }
  // At 0xc (x19,x20 stored, mov x29,sp not yet): fp need not be known.
  r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0xc, sp: S });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8))));
});

test('mid-epilogue of the doc example: the rest of the epilogue is executed', async () => {
  // 0x100 (mov sp,x29 not done; sp below the frame): all codes, sp from fp.
  let r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x100, sp: S - 0x40, fp: S });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8))));
  // 0x104: set_fp skipped, fp unknown is fine.
  r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x104, sp: S });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8))));
  // 0x108 and 0x10c: x19,x20 already reloaded, they stay the frame's.
  for (const pc of [0x108, 0x10c]) {
    r = await unwind(DOC_EXAMPLE, XDATA, { pc, sp: S });
    assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S) }, at(S + 8))), `pc ${pc}`);
  }
  // 0x110 (ret): everything undone; pc = lr, kind leaf.
  r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x110, sp: S + 256 });
  assert.equal(r?.kind, 'leaf');
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256)));
});

test('a pc outside the entry\'s function gives no unwind; a caller may return just past its end', async () => {
  assert.equal(await unwind(DOC_EXAMPLE, XDATA, { pc: 0x114, sp: S }), undefined, 'context pc at the end');
  assert.equal(await unwind(DOC_EXAMPLE, XDATA, { pc: -4, sp: S }), undefined, 'before the function');
  const r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x114, sp: S - 0x40, fp: S, context: false });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8))));
});

test('a caller frame is never mid-epilogue: its return address is unwound as body', async () => {
  const r = await unwind(DOC_EXAMPLE, XDATA, { pc: 0x108, sp: S - 0x40, fp: S, context: false });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8))));
});

test('a caller returning into its prologue (after a __chkstk call) has not allocated the rest yet', async () => {
  // 0 str lr,[sp,#-16]!   save_reg_x lr (d5 61)   | codes in unwind order:
  // 4 mov x15,#0x200      nop                     | c2 00 (alloc_m 8192), e3, e3, d5 61, e4
  // 8 bl __chkstk         nop
  // c sub sp,sp,x15,lsl#4 alloc_m 8192
  const image = imageWith({ [XDATA]: xdata({ functionLength: 0x40, codes: [0xc2, 0x00, 0xe3, 0xe3, 0xd5, 0x61, 0xe4] }) });
  const r = await unwind(image, XDATA, { pc: 0xc, sp: S, context: false });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 16, {}, at(S))));
  const body = await unwind(image, XDATA, { pc: 0x10, sp: S - 8192 });
  assert.deepEqual(sorted(body?.registers), sorted(expected(S + 16, {}, at(S))));
  assert.equal(body?.fixedAllocation, 8192 + 16);
});

/** Unwinds from the body of a function whose codes are `codes` + end. */
async function body(codes: number[], frame: Partial<Frame> = {}, extra: Partial<Arm64UnwindInput> = {}): Promise<Arm64UnwindResult | undefined> {
  const image = imageWith({ [XDATA]: xdata({ functionLength: 0x400, codes: [...codes, 0xe4] }) });
  return unwind(image, XDATA, { pc: 0x200, sp: S, ...frame }, extra);
}

test('each unwind code undoes its prologue instruction', async () => {
  const cases: [string, number[], Map<string, bigint>][] = [
    ['alloc_s 496', [0x1f], expected(S + 496)],
    ['alloc_m 4128', [0xc1, 0x02], expected(S + 4128)],
    ['alloc_l 4096', [0xe0, 0x00, 0x01, 0x00], expected(S + 4096)],
    ['save_r19r20_x 16', [0x22], expected(S + 16, { x19: at(S), x20: at(S + 8) })],
    ['save_fplr 16', [0x42], expected(S, { fp: at(S + 16) }, at(S + 24))],
    ['save_fplr_x 16', [0x81], expected(S + 16, { fp: at(S) }, at(S + 8))],
    ['save_regp x21,x22 @240', [0xc8, 0x9e], expected(S, { x21: at(S + 240), x22: at(S + 248) })],
    ['save_regp_x x19,x20 @-32', [0xcc, 0x03], expected(S + 32, { x19: at(S), x20: at(S + 8) })],
    ['save_reg x28 @16', [0xd2, 0x42], expected(S, { x28: at(S + 16) })],
    ['save_reg_x lr @-8', [0xd5, 0x60], expected(S + 8, {}, at(S))],
    ['save_lrpair x21,lr @40', [0xd6, 0x45], expected(S, { x21: at(S + 40) }, at(S + 48))],
    ['save_fregp d8,d9 @224', [0xd8, 0x1c], expected(S)],
    ['save_fregp_x d10,d11 @-32', [0xda, 0x83], expected(S + 32)],
    ['save_freg d15 @8', [0xdd, 0xc1], expected(S)],
    ['save_freg_x d10 @-16', [0xde, 0x41], expected(S + 16)],
    ['alloc_z 0', [0xdf, 0x00], expected(S)],
    ['add_fp 32', [0xe2, 0x04], expected(S + 0x40 - 32)],
    ['set_fp', [0xe1], expected(S + 0x40)],
    ['nop', [0xe3], expected(S)],
    ['save_any_xreg x19 @40', [0xe7, 0x13, 0x05], expected(S, { x19: at(S + 40) })],
    ['save_any_xreg x21,x22 @-32', [0xe7, 0x75, 0x01], expected(S + 32, { x21: at(S), x22: at(S + 8) })],
    ['save_any_dreg d8 @24', [0xe7, 0x08, 0x43], expected(S)],
    ['save_any_qreg q6,q7 @-176', [0xe7, 0x66, 0x8a], expected(S + 176)],
    ['save_zreg z11', [0xe7, 0x23, 0xc5], expected(S)],
    ['save_preg p5', [0xe7, 0x15, 0xc2], expected(S)],
    ['save_next x2, save_regp_x x19 @-64: x19..x24', [0xe6, 0xe6, 0xcc, 0x07], expected(S + 64, {
      x19: at(S), x20: at(S + 8), x21: at(S + 16), x22: at(S + 24), x23: at(S + 32), x24: at(S + 40),
    })],
    ['save_next, save_r19r20_x 32: x19..x22', [0xe6, 0x24], expected(S + 32, { x19: at(S), x20: at(S + 8), x21: at(S + 16), x22: at(S + 24) })],
    ['save_next, save_fregp_x d8 @-64', [0xe6, 0xda, 0x07], expected(S + 64)],
    ['save_next, save_any_xreg pair x19 @32', [0xe6, 0xe7, 0x53, 0x02], expected(S, { x19: at(S + 32), x20: at(S + 40), x21: at(S + 48), x22: at(S + 56) })],
  ];
  for (const [name, codes, registers] of cases) {
    const r = await body(codes, { fp: S + 0x40 });
    assert.ok(r, name);
    const want = new Map(registers);
    if (!want.has('fp')) want.set('fp', STACK + BigInt(S + 0x40));
    assert.deepEqual(sorted(r.registers), sorted(want), name);
    assert.equal(r.kind, want.get('lr') === CALLER_LR ? 'leaf' : 'call', name);
  }
});

test('pac_sign_lr strips the restored lr through the given hook', async () => {
  // Prologue: pacibsp; stp x29,lr,[sp,#-16]!  -> codes 81 fc e4
  const strip = (p: bigint): bigint => p & 0x0000ffffffffffffn;
  const r = await body([0x81, 0xfc], {}, { stripPointerAuth: strip });
  assert.equal(r?.registers.get('lr'), strip(at(S + 8)));
  assert.equal(r?.registers.get('pc'), strip(at(S + 8)));
  const unstripped = await body([0x81, 0xfc]);
  assert.equal(unstripped?.registers.get('pc'), at(S + 8));
});

test('invalid sequences and unknown values give no unwind', async () => {
  assert.equal(await body([0xe6, 0xd2, 0x42]), undefined, 'save_next before save_reg');
  assert.equal(await body([0xe6]), undefined, 'save_next before end');
  assert.equal(await body([0xcb, 0xc0]), undefined, 'save_regp x34');
  assert.equal(await body([0xe7, 0x5e, 0x00]), undefined, 'save_any_xreg pair x30,x31');
  assert.equal(await body([0xdf, 0x01]), undefined, 'alloc_z needs the SVE vector length');
  assert.equal(await body([0xe1]), undefined, 'set_fp without fp');
  assert.equal(await body([0x81], { sp: 0x4000 }), undefined, 'stack word unreadable');
  assert.equal(await body([0xee]), undefined, 'reserved code');
  assert.equal(await body([0x01], {}, { registers: new Map([['pc', BASE + 0x1200n]]) }), undefined, 'no sp');
  assert.equal(await body([0x01], {}, { registers: new Map([['pc', BASE + 0x1200n], ['sp', STACK]]) }), undefined, 'no lr for pc');
  const noPc = await body([0x01], {}, { registers: new Map([['sp', STACK], ['lr', 5n]]) });
  assert.deepEqual(sorted(noPc?.registers), [['lr', 5n], ['pc', 5n], ['sp', STACK + 16n]], 'without pc: the body');
  assert.equal(await unwind(imageWith({}), 0x0000fff3, { pc: 0, sp: S }), undefined, 'Flag 3');
  assert.equal(await unwind(imageWith({}), 0x1fff0, { pc: 0, sp: S }), undefined, '.xdata outside the image');
});

test('end_c: an epilogue-only fragment runs its "phantom" prologue from anywhere in the body', async () => {
  // The doc's region 2: end_c, set_fp, save_regp 0,240, save_fplr_x 256, end; one epilogue at
  // 0x20 whose index (1) points at set_fp. Its prologue is empty: offset 0 is body.
  const image = imageWith({ [XDATA]: xdata({ functionLength: 0x34, codes: [0xe5, 0xe1, 0xc8, 0x1e, 0x9f, 0xe4], scopes: [[0x20, 1]] }) });
  const full = expected(S + 256, { fp: at(S), x19: at(S + 240), x20: at(S + 248) }, at(S + 8));
  for (const pc of [0x0, 0x10]) {
    const r = await unwind(image, XDATA, { pc, sp: S - 0x20, fp: S });
    assert.deepEqual(sorted(r?.registers), sorted(full), `pc ${pc}`);
  }
  const r = await unwind(image, XDATA, { pc: 0x28, sp: S }); // in the epilogue, after mov sp,x29 and ldp x19,x20
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 256, { fp: at(S) }, at(S + 8))));
});

test('end_c: a shrink-wrapped region undoes its own save only once it is done, then the parent prologue', async () => {
  // The doc's region 2: save_regp 2,224 (c8 9c), end_c, set_fp, save_regp 0,240, save_fplr_x 256, end.
  const image = imageWith({ [XDATA]: xdata({ functionLength: 0x40, codes: [0xc8, 0x9c, 0xe5, 0xe1, 0xc8, 0x1e, 0x9f, 0xe4] }) });
  const parent = { fp: at(S), x19: at(S + 240), x20: at(S + 248) };
  const atStart = await unwind(image, XDATA, { pc: 0x0, sp: S, fp: S }); // stp x21,x22 not yet executed
  assert.deepEqual(sorted(atStart?.registers), sorted(expected(S + 256, parent, at(S + 8))));
  const inBody = await unwind(image, XDATA, { pc: 0x8, sp: S, fp: S });
  assert.deepEqual(sorted(inBody?.registers), sorted(expected(S + 256, { ...parent, x21: at(S + 224), x22: at(S + 232) }, at(S + 8))));
});

test('machine_frame: sp and pc from the record, later codes continue from the new sp; it counts no instruction', async () => {
  // alloc_s 16, machine_frame, alloc_s 16, end: a 2-instruction prologue (sub; sub) around a
  // frame the hardware pushed. MACHINE_FRAME at sp: { Sp, Pc }.
  const image = imageWith({ [XDATA]: xdata({ functionLength: 0x20, codes: [0x01, 0xe9, 0x01, 0xe4] }) });
  // pc 0: the prologue is 2 instructions long (the record counts none), so Windows skips 2 codes,
  // the last sub and the record, and undoes the remaining alloc_s (Wine's test 2, run on Windows).
  let r = await unwind(image, XDATA, { pc: 0x0, sp: S });
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 16)));
  assert.equal(r?.kind, 'leaf');
  // pc 4: one code skipped: the record at sp, then 16 more from the record's sp.
  r = await unwind(image, XDATA, { pc: 0x4, sp: S });
  assert.equal(r?.kind, 'machine_frame');
  assert.equal(r?.registers.get('pc'), at(S + 8));
  assert.equal(r?.registers.get('sp'), (at(S) + 16n));
  // body: 16, then the record, then 16.
  r = await unwind(image, XDATA, { pc: 0x10, sp: S });
  assert.equal(r?.registers.get('pc'), at(S + 16 + 8));
  assert.equal(r?.registers.get('sp'), at(S + 16) + 16n);
  assert.equal(r?.registers.get('lr'), CALLER_LR, 'lr is the interrupted code\'s');
  assert.equal(r?.fixedAllocation, 16);
});

test('trap_frame: KTRAP_FRAME registers x0-x18, fp, lr, sp, pc', async () => {
  const r = await body([0xe8]);
  assert.equal(r?.kind, 'machine_frame');
  const want = new Map<string, bigint>([
    ['sp', at(S + 0x98)],
    ['fp', at(S + 0x140)],
    ['lr', at(S + 0x138)],
    ['pc', at(S + 0x148)],
    ['x19', 0x19n], ['x20', 0x20n], ['x21', 0x21n], ['x22', 0x22n],
  ]);
  for (let k = 0; k < 19; k++) want.set(`x${k}`, at(S + 0xa0 + 8 * k));
  assert.deepEqual(sorted(r?.registers), sorted(want));
});

test('context: ARM64 CONTEXT registers x0-x28, fp, lr, sp, pc', async () => {
  const r = await body([0xea]);
  assert.equal(r?.kind, 'machine_frame');
  const want = new Map<string, bigint>([['fp', at(S + 0xf0)], ['lr', at(S + 0xf8)], ['sp', at(S + 0x100)], ['pc', at(S + 0x108)]]);
  for (let k = 0; k < 29; k++) want.set(`x${k}`, at(S + 8 + 8 * k));
  assert.deepEqual(sorted(r?.registers), sorted(want));
});

test('ec_context: an x64 CONTEXT mapped onto ARM64 registers', async () => {
  const r = await body([0xeb]);
  assert.equal(r?.kind, 'machine_frame');
  const regs = r!.registers;
  assert.equal(regs.get('pc'), at(S + 0xf8), 'Rip');
  assert.equal(regs.get('sp'), at(S + 0x98), 'Rsp');
  assert.equal(regs.get('fp'), at(S + 0xa0), 'Rbp');
  assert.equal(regs.get('lr'), at(S + 0x120), 'St0');
  assert.equal(regs.get('x0'), at(S + 0x80), 'Rcx');
  assert.equal(regs.get('x19'), at(S + 0xd8), 'R12');
  assert.equal(regs.get('x27'), at(S + 0x90), 'Rbx');
  assert.equal(regs.get('x23'), 0n, 'no x64 home');
  // x16: the low 16 bits of the words at 0x128, 0x138, 0x148, 0x158 (tagged: 0x0128 ...).
  assert.equal(regs.get('x16'), BigInt(S + 0x128) | (BigInt(S + 0x138) << 16n) | (BigInt(S + 0x148) << 32n) | (BigInt(S + 0x158) << 48n));
});

test('clear_unwound_to_call: pc is the lr of that point, exact', async () => {
  const r = await body([0xec, 0x01]);
  assert.equal(r?.kind, 'machine_frame');
  assert.deepEqual(sorted(r?.registers), sorted(expected(S + 16)));
});

// Packed unwind data word: Flag | FunctionLength/4 << 2 | RegF << 13 | RegI << 16 | H << 20 | CR << 21 | FrameSize/16 << 23
function packedWord(o: { length: number; regF?: number; regI?: number; h?: number; cr?: number; frameSize: number; flag?: number }): number {
  return ((o.flag ?? 1) | ((o.length / 4) << 2) | ((o.regF ?? 0) << 13) | ((o.regI ?? 0) << 16) | ((o.h ?? 0) << 20) | ((o.cr ?? 0) << 21) | ((o.frameSize / 16) << 23)) >>> 0;
}

test('packed RegI=2 CR=01 FrameSize=48 at every instruction', async () => {
  // 00 stp x19,x20,[sp,#-32]!  04 str lr,[sp,#16]  08 sub sp,sp,#16  0c body
  // 10 add sp,sp,#16  14 ldr lr,[sp,#16]  18 ldp x19,x20,[sp],#32  1c ret
  const word = packedWord({ length: 0x20, regI: 2, cr: 1, frameSize: 48 });
  const image = imageWith({});
  const top = 0x200; // the caller's sp
  const frames: [number, number, Map<string, bigint>][] = [
    [0x00, top, expected(top)],
    [0x04, top - 32, expected(top, { x19: at(top - 32), x20: at(top - 24) })],
    [0x08, top - 32, expected(top, { x19: at(top - 32), x20: at(top - 24) }, at(top - 16))],
    [0x0c, top - 48, expected(top, { x19: at(top - 32), x20: at(top - 24) }, at(top - 16))],
    [0x10, top - 48, expected(top, { x19: at(top - 32), x20: at(top - 24) }, at(top - 16))],
    [0x14, top - 32, expected(top, { x19: at(top - 32), x20: at(top - 24) }, at(top - 16))],
    [0x18, top - 32, expected(top, { x19: at(top - 32), x20: at(top - 24) })],
    [0x1c, top, expected(top)],
  ];
  for (const [pc, sp, want] of frames) {
    const r = await unwind(image, word, { pc, sp });
    assert.deepEqual(sorted(r?.registers), sorted(want), `pc 0x${pc.toString(16)}`);
    assert.equal(r?.fixedAllocation, 48);
  }
});

test('packed chained CR=10 (pacibsp) with H=1 and RegI=1: prologue, body and epilogue', async () => {
  // RegI=1 H=1 CR=10 FrameSize=96: #savsz = 8 + 64 -> 80, #locsz = 16.
  // 00 pacibsp  04 str x19,[sp,#-80]!  08-14 stp x0..x7 (nop)  18 stp x29,lr,[sp,#-16]!  1c mov x29,sp
  // 20 body ... 30 ldp x29,lr,[sp],#16  34 ldr x19,[sp],#80  38 autibsp  3c ret
  const word = packedWord({ length: 0x40, regI: 1, h: 1, cr: 2, frameSize: 96 });
  const image = imageWith({});
  const top = 0x300;
  const saved = { x19: at(top - 80) };
  const chain = { ...saved, fp: at(top - 96) };
  const strip = (p: bigint): bigint => p & 0xffffffffffffn;
  const frames: [number, number, number | undefined, Map<string, bigint>][] = [
    [0x00, top, undefined, expected(top)],
    [0x04, top, undefined, expected(top)], // pacibsp done: lr is signed, nothing on the stack
    [0x08, top - 80, undefined, expected(top, saved)],
    [0x14, top - 80, undefined, expected(top, saved)],
    [0x18, top - 80, undefined, expected(top, saved)],
    [0x1c, top - 96, undefined, expected(top, chain, strip(at(top - 88)))],
    [0x20, top - 200, top - 96, expected(top, chain, strip(at(top - 88)))],
    [0x30, top - 96, undefined, expected(top, chain, strip(at(top - 88)))],
    [0x34, top - 80, undefined, expected(top, saved)],
    [0x38, top, undefined, expected(top)],
    [0x3c, top, undefined, expected(top)],
  ];
  for (const [pc, sp, fp, want] of frames) {
    const frame: Frame = fp === undefined ? { pc, sp } : { pc, sp, fp };
    const r = await unwind(image, word, frame, { stripPointerAuth: strip });
    assert.deepEqual(sorted(r?.registers), sorted(want), `pc 0x${pc.toString(16)}`);
  }
});

test('packed frame over 4080 bytes of locals: the two subs are undone one at a time', async () => {
  // CR=00 FrameSize=8176: 00 sub sp,sp,#4080  04 sub sp,sp,#4096  08 body  ...  ret at 0x7c
  const word = packedWord({ length: 0x80, frameSize: 8176 });
  const image = imageWith({});
  const top = 0x3000;
  assert.deepEqual(sorted((await unwind(image, word, { pc: 0x0, sp: top }))?.registers), sorted(expected(top)));
  assert.deepEqual(sorted((await unwind(image, word, { pc: 0x4, sp: top - 4080 }))?.registers), sorted(expected(top)));
  assert.deepEqual(sorted((await unwind(image, word, { pc: 0x8, sp: top - 8176 }))?.registers), sorted(expected(top)));
  // epilogue: 74 add sp,sp,#4096  78 add sp,sp,#4080  7c ret
  assert.deepEqual(sorted((await unwind(image, word, { pc: 0x78, sp: top - 4080 }))?.registers), sorted(expected(top)));
  assert.equal((await unwind(image, word, { pc: 0x8, sp: top - 8176 }))?.fixedAllocation, 8176);
});

test('packed fragment (Flag 2): the parent frame is undone from any offset', async () => {
  const word = packedWord({ flag: 2, length: 0x20, regI: 2, cr: 3, frameSize: 48 });
  const top = 0x200;
  for (const pc of [0x0, 0x1c]) {
    const r = await unwind(imageWith({}), word, { pc, sp: top - 48 - 64, fp: top - 48 });
    assert.deepEqual(sorted(r?.registers), sorted(expected(top, { fp: at(top - 48), x19: at(top - 16), x20: at(top - 8) }, at(top - 40))), `pc ${pc}`);
  }
});

test('garbage unwind data, code bytes and stacks never throw', async () => {
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const bytes = new Uint8Array(0x1000);
  const image = { readRva: async (rva: number, length: number): Promise<Uint8Array | undefined> => (rva + length <= bytes.length ? bytes.slice(rva, rva + length) : undefined) };
  let unwound = 0;
  for (let round = 0; round < 3000; round++) {
    for (let i = 0; i < 64; i++) bytes[0x100 + i] = random() & 0xff;
    const unwindData = round % 3 === 0 ? 0x100 : random();
    const registers = new Map<string, bigint>([
      ['pc', BASE + BigInt(FUNC + (random() % 0x200))],
      ['sp', STACK + BigInt(random() % 0x3000)],
      ['lr', BigInt(random())],
      ['fp', STACK + BigInt(random() % 0x3000)],
    ]);
    const r = await unwindArm64({
      image,
      entry: { begin: FUNC, unwindData },
      moduleBase: BASE,
      registers,
      readU64: round % 2 ? taggedStack() : () => BigInt(random()) * BigInt(random()),
      isContextFrame: round % 4 !== 1,
    });
    if (r) {
      unwound++;
      assert.ok(r.registers.has('pc') && r.registers.has('sp'));
      for (const v of r.registers.values()) assert.ok(v >= 0n && v < 1n << 64n);
    }
  }
  assert.ok(unwound > 0, 'some random data does unwind');
  const throwing = await unwindArm64({
    image: { readRva: async () => Promise.reject(new Error('io')) },
    entry: { begin: FUNC, unwindData: 0x100 },
    moduleBase: BASE,
    registers: new Map([['sp', STACK]]),
    readU64: () => {
      throw new Error('boom');
    },
    isContextFrame: true,
  });
  assert.equal(throwing, undefined);
});

test('through a PeImage: .pdata entry lookup, function length, packed and .xdata unwinding', async () => {
  // An ARM64 image: .text at 0x1000 (two functions), .xdata at 0x2000, .pdata at 0x3000.
  //   0x1000: packed RegI=2 CR=01 FrameSize=48, 0x20 bytes (word 0x01a20021)
  //   0x1040: .xdata at 0x2000: the doc's partial prolog/epilog example, 0x114 bytes
  const pe = new PeBuilder({ machine: Machine.ARM64, imageBase: BASE });
  pe.section({ name: '.text', data: new Uint8Array(0x200), characteristics: TEXT });
  const xdataRva = pe.section({ name: '.xdata', data: xdata({ functionLength: 0x114, codes: [0xe1, 0xc8, 0x1e, 0xd8, 0x1c, 0x9f, 0xe4], scopes: [[0x100, 0]] }) });
  const packed = packedWord({ length: 0x20, regI: 2, cr: 1, frameSize: 48 });
  assert.equal(packed, 0x01a20021);
  const pdata = le32(0x1000, packed, 0x1040, xdataRva);
  const pdataRva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  const image = await PeImage.parse(pe.build('memory'));

  const first = (await image.arm64FunctionEntry(0x1010))!;
  assert.deepEqual(first, { begin: 0x1000, unwindData: packed });
  assert.equal(await arm64FunctionLength(image, first), 0x20);
  const r1 = await unwindArm64({
    image,
    entry: first,
    moduleBase: BASE,
    registers: new Map([['pc', BASE + 0x100cn], ['sp', STACK + 0x1d0n], ['lr', 1n]]),
    readU64: taggedStack(),
    isContextFrame: true,
  });
  assert.deepEqual(sorted(r1?.registers), [['lr', at(0x1f0)], ['pc', at(0x1f0)], ['sp', STACK + 0x200n], ['x19', at(0x1e0)], ['x20', at(0x1e8)]]);

  const second = (await image.arm64FunctionEntry(0x1100))!;
  assert.deepEqual(second, { begin: 0x1040, unwindData: xdataRva });
  assert.equal(await arm64FunctionLength(image, second), 0x114);
  const r2 = await unwindArm64({
    image,
    entry: second,
    moduleBase: BASE,
    registers: new Map([['pc', BASE + 0x1040n + 0x104n], ['sp', STACK + BigInt(S)], ['lr', 1n]]),
    readU64: taggedStack(),
    isContextFrame: true,
  });
  assert.deepEqual(sorted(r2?.registers), [['fp', at(S)], ['lr', at(S + 8)], ['pc', at(S + 8)], ['sp', STACK + BigInt(S + 256)], ['x19', at(S + 240)], ['x20', at(S + 248)]]);
});
