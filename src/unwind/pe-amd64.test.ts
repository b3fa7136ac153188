// The x64 virtual unwind on hand-built functions: one test per unwind code, chained info, frames
// stopped in a prologue or an epilogue, machine frames and leaf functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Directory, Machine } from '../formats/pe/constants.js';
import { PeImage } from '../formats/pe/pe-image.js';
import { PeBuilder, TEXT, runtimeFunctions, unwindInfo, uw, type UnwindInfoSpec } from '../formats/pe/testing.js';
import { UnwindFlags } from '../formats/pe/x64-unwind-info.js';
import { unwindAmd64, type Amd64UnwindInput, type Amd64UnwindResult } from './pe-amd64.js';

const RBX = 3;
const RBP = 5;
const RSI = 6;
const RDI = 7;
const R12 = 12;
const R13 = 13;

const BASE = 0x7ff6_1234_0000n;
const SP = 0x0000_00a0_0010_0000n;
const RA = BASE + 0x1f00n; // a return address into the caller
const TEXT_RVA = 0x1000;
const XDATA_RVA = 0x3000;
const SLOT = 0x100; // bytes of .text per function
const INFO_SLOT = 0x40; // bytes of .xdata per unwind info

/** Function i starts at this RVA; its unwind info is at `infoRva(i)`. */
const fnRva = (i: number): number => TEXT_RVA + i * SLOT;
const infoRva = (i: number): number => XDATA_RVA + i * INFO_SLOT;

interface FunctionSpec {
  /** Machine code from the function's start; the rest of its slot is int3. */
  readonly code?: readonly number[];
  /** Bytes covered by its RUNTIME_FUNCTION (default: the whole slot). */
  readonly size?: number;
  /** Unwind info; without it the function has no .pdata entry (a leaf). */
  readonly info?: UnwindInfoSpec;
  /** Instead of unwind info, an indirect entry pointing at function i's RUNTIME_FUNCTION. */
  readonly indirectTo?: number;
}

/** An x64 image: functions in .text, their unwind infos in .xdata, their RUNTIME_FUNCTIONs in .pdata. */
function image(functions: readonly FunctionSpec[], options: { layout?: 'file' | 'memory'; holes?: { rva: number; size: number }[]; machine?: number } = {}): Promise<PeImage> {
  const pe = new PeBuilder({ machine: options.machine ?? Machine.AMD64 });
  const text = new Uint8Array(0x2000).fill(0xcc);
  functions.forEach((f, i) => text.set(f.code ?? [], fnRva(i) - TEXT_RVA));
  pe.section({ name: '.text', data: text, characteristics: TEXT });
  const xdata = new Uint8Array(0x1000);
  functions.forEach((f, i) => {
    if (!f.info) return;
    const bytes = unwindInfo(f.info);
    if (bytes.length > INFO_SLOT) throw new Error('unwind info too long for its slot');
    xdata.set(bytes, infoRva(i) - XDATA_RVA);
  });
  assert.equal(pe.section({ name: '.xdata', data: xdata }), XDATA_RVA);
  const pdataRva = pe.nextRva;
  const entries = functions.flatMap((f, i) => {
    if (f.indirectTo !== undefined) return [{ begin: fnRva(i), end: fnRva(i) + (f.size ?? SLOT), unwindInfo: (pdataRva + indexOfEntry(functions, f.indirectTo) * 12) | 1 }];
    return f.info ? [{ begin: fnRva(i), end: fnRva(i) + (f.size ?? SLOT), unwindInfo: infoRva(i) }] : [];
  });
  const pdata = runtimeFunctions(entries);
  pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  return PeImage.parse(pe.build(options.layout ?? 'file', { holes: options.holes ?? [] }));
}

/** Position of function i's RUNTIME_FUNCTION in .pdata. */
function indexOfEntry(functions: readonly FunctionSpec[], i: number): number {
  return functions.slice(0, i).filter((f) => f.info || f.indirectTo !== undefined).length;
}

/** Stack memory: u64 values from `address` up. */
class Stack {
  readonly words = new Map<bigint, bigint>();
  readonly reads: bigint[] = [];

  at(address: bigint, ...values: (bigint | number)[]): this {
    values.forEach((v, i) => this.words.set(address + BigInt(i * 8), BigInt(v)));
    return this;
  }

  readonly readU64 = (address: bigint): bigint | undefined => {
    this.reads.push(address);
    return this.words.get(address);
  };
}

function regs(values: Record<string, bigint | number>): Map<string, bigint> {
  return new Map(Object.entries(values).map(([k, v]) => [k, BigInt(v)]));
}

/** Callee registers used by most tests: every nonvolatile one known, and some volatile ones. */
function calleeRegisters(rip: bigint, rsp: bigint, extra: Record<string, bigint | number> = {}): Map<string, bigint> {
  return regs({ rip, rsp, rax: 0xaa, rcx: 0xcc, rbx: 0xb0, rbp: 0xb1, rsi: 0xb2, rdi: 0xb3, r12: 0xc12, r13: 0xc13, r14: 0xc14, r15: 0xc15, ...extra });
}

async function unwind(img: PeImage, registers: Map<string, bigint>, stack: Stack, isContextFrame = true): Promise<Amd64UnwindResult | undefined> {
  const input: Amd64UnwindInput = { image: img, moduleBase: BASE, registers, readU64: stack.readU64, isContextFrame };
  return unwindAmd64(input);
}

/** The result's registers as a plain object of hex strings, for readable comparisons. */
function hexRegisters(result: Amd64UnwindResult | undefined): Record<string, string> | undefined {
  if (!result) return undefined;
  return Object.fromEntries([...result.registers].map(([k, v]) => [k, '0x' + v.toString(16)]));
}

function expected(values: Record<string, bigint | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, '0x' + BigInt(v).toString(16)]));
}

/** What a caller keeps of `calleeRegisters`: the nonvolatile ones, then the given changes. */
function kept(changes: Record<string, bigint | number>): Record<string, string> {
  return expected({ rbx: 0xb0, rbp: 0xb1, rsi: 0xb2, rdi: 0xb3, r12: 0xc12, r13: 0xc13, r14: 0xc14, r15: 0xc15, ...changes });
}

const at = (i: number, offset: number): bigint => BASE + BigInt(fnRva(i) + offset);

// ---------------------------------------------------------------------------------------------
// One function per unwind code

test('UWOP_PUSH_NONVOL: pushed registers are restored in reverse order, rsp moves 8 each', async () => {
  // push rbx; push rbp; push r12; (body)
  const img = await image([{ code: [0x53, 0x55, 0x41, 0x54], info: { sizeOfProlog: 4, codes: [uw.pushNonvol(4, R12), uw.pushNonvol(2, RBP), uw.pushNonvol(1, RBX)] } }]);
  const stack = new Stack().at(SP, 0x112, 0x105, 0x103, RA);
  const result = await unwind(img, calleeRegisters(at(0, 0x10), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x103, rbp: 0x105, r12: 0x112, rip: RA, rsp: SP + 32n }));
  assert.equal(result?.kind, 'call');
  assert.equal(result?.cfa, SP + 32n);
  assert.equal(result?.fixedAllocation, 0);
});

test('UWOP_ALLOC_SMALL: sub rsp, 0x28', async () => {
  const img = await image([{ code: [0x48, 0x83, 0xec, 0x28], info: { sizeOfProlog: 4, codes: [uw.allocSmall(4, 0x28)] } }]);
  const result = await unwind(img, calleeRegisters(at(0, 0x20), SP), new Stack().at(SP + 0x28n, RA));
  assert.deepEqual(hexRegisters(result), kept({ rip: RA, rsp: SP + 0x30n }));
  assert.equal(result?.fixedAllocation, 0x28);
});

test('UWOP_ALLOC_LARGE, 16-bit scaled form: sub rsp, 0x7fff8', async () => {
  const img = await image([{ code: [0x48, 0x81, 0xec, 0xf8, 0xff, 0x07, 0x00], info: { sizeOfProlog: 7, codes: [uw.allocLarge(7, 0x7fff8)] } }]);
  const result = await unwind(img, calleeRegisters(at(0, 0x20), SP), new Stack().at(SP + 0x7fff8n, RA));
  assert.deepEqual(hexRegisters(result), kept({ rip: RA, rsp: SP + 0x80000n }));
  assert.equal(result?.fixedAllocation, 0x7fff8);
});

test('UWOP_ALLOC_LARGE, 32-bit unscaled form: sub rsp, 0x123450', async () => {
  const img = await image([{ code: [0x48, 0x81, 0xec, 0x50, 0x34, 0x12, 0x00], info: { sizeOfProlog: 7, codes: [uw.allocLarge(7, 0x123450, '32bit')] } }]);
  const result = await unwind(img, calleeRegisters(at(0, 0x20), SP), new Stack().at(SP + 0x123450n, RA));
  assert.deepEqual(hexRegisters(result), kept({ rip: RA, rsp: SP + 0x123458n }));
  assert.equal(result?.fixedAllocation, 0x123450);
});

/**
 * The prologue of "x64 exception handling"'s MASM sample: push rbp; sub rsp, 0x40;
 * lea rbp, [rsp+0x20] (.setframe rbp, 0x20); mov [rbp+0x18], rsi (.savereg rsi, 0x38);
 * mov [rsp+0x10], rdi (.savereg rdi, 0x10); then the body moves rsp again (alloca).
 */
const FRAME_SAMPLE: FunctionSpec = {
  code: [0x55, 0x48, 0x83, 0xec, 0x40, 0x48, 0x8d, 0x6c, 0x24, 0x20, 0x48, 0x89, 0x75, 0x18, 0x48, 0x89, 0x7c, 0x24, 0x10],
  info: {
    sizeOfProlog: 19,
    frameRegister: RBP,
    frameOffset: 2,
    codes: [uw.saveNonvol(19, RDI, 0x10), uw.saveNonvol(14, RSI, 0x38), uw.setFpreg(10), uw.allocSmall(5, 0x40), uw.pushNonvol(1, RBP)],
  },
};

test('UWOP_SET_FPREG with UWOP_SAVE_NONVOL: rsp and the saves come from the frame register − 16 × FrameOffset, wherever rsp went', async () => {
  const img = await image([FRAME_SAMPLE]);
  const frameBase = SP + 0x1000n; // rsp when rbp was set, before the body's alloca
  const stack = new Stack().at(frameBase + 0x10n, 0x1d1).at(frameBase + 0x38n, 0x151).at(frameBase + 0x40n, 0xbb, RA);
  const registers = calleeRegisters(at(0, 0x40), frameBase - 0x60n, { rbp: frameBase + 0x20n });
  const result = await unwind(img, registers, stack);
  assert.deepEqual(hexRegisters(result), kept({ rbp: 0xbb, rsi: 0x151, rdi: 0x1d1, rip: RA, rsp: frameBase + 0x50n }));
  assert.equal(result?.cfa, frameBase + 0x50n);
  assert.equal(result?.fixedAllocation, 0x40);
});

test('UWOP_SET_FPREG: an unknown frame register makes the unwind fail, not guess', async () => {
  const img = await image([FRAME_SAMPLE]);
  const registers = calleeRegisters(at(0, 0x40), SP);
  registers.delete('rbp');
  assert.equal(await unwind(img, registers, new Stack().at(SP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), undefined);
});

test('UWOP_SAVE_NONVOL without a frame register: offsets from rsp (here into the home space above the return address)', async () => {
  // sub rsp, 0x28; mov [rsp+0x30], rbx; mov [rsp+0x38], rsi
  const img = await image([
    {
      code: [0x48, 0x83, 0xec, 0x28, 0x48, 0x89, 0x5c, 0x24, 0x30, 0x48, 0x89, 0x74, 0x24, 0x38],
      info: { sizeOfProlog: 14, codes: [uw.saveNonvol(14, RSI, 0x38), uw.saveNonvol(9, RBX, 0x30), uw.allocSmall(4, 0x28)] },
    },
  ]);
  const stack = new Stack().at(SP + 0x28n, RA, 0x103, 0x106);
  const result = await unwind(img, calleeRegisters(at(0, 0x20), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x103, rsi: 0x106, rip: RA, rsp: SP + 0x30n }));
});

test('UWOP_SAVE_NONVOL_FAR: a 32-bit unscaled offset', async () => {
  // sub rsp, 0x90000; mov [rsp+0x80010], r13
  const img = await image([
    {
      code: [0x48, 0x81, 0xec, 0x00, 0x00, 0x09, 0x00, 0x4c, 0x89, 0xac, 0x24, 0x10, 0x00, 0x08, 0x00],
      info: { sizeOfProlog: 15, codes: [uw.saveNonvolFar(15, R13, 0x80010), uw.allocLarge(7, 0x90000, '32bit')] },
    },
  ]);
  const stack = new Stack().at(SP + 0x80010n, 0x913).at(SP + 0x90000n, RA);
  const result = await unwind(img, calleeRegisters(at(0, 0x20), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ r13: 0x913, rip: RA, rsp: SP + 0x90008n }));
});

test('UWOP_SAVE_XMM128 and UWOP_SAVE_XMM128_FAR are skipped: no memory read, rsp unchanged by them', async () => {
  // sub rsp, 0x58; movaps [rsp+0x40], xmm6; movaps [rsp+0x30], xmm7 (far form)
  const img = await image([
    {
      code: [0x48, 0x83, 0xec, 0x58, 0x0f, 0x29, 0x74, 0x24, 0x40, 0x0f, 0x29, 0x7c, 0x24, 0x30],
      info: { sizeOfProlog: 14, codes: [uw.saveXmm128Far(14, 7, 0x30), uw.saveXmm128(9, 6, 0x40), uw.allocSmall(4, 0x58)] },
    },
  ]);
  const stack = new Stack().at(SP + 0x58n, RA);
  const result = await unwind(img, calleeRegisters(at(0, 0x20), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ rip: RA, rsp: SP + 0x60n }));
  assert.deepEqual(stack.reads, [SP + 0x58n], 'only the return address was read');
});

const MACHINE_FRAME_RIP = 0x7ff6_0000_4321n;
const INTERRUPTED_RSP = 0x0000_00a0_0020_0008n;

test('UWOP_PUSH_MACHFRAME without an error code: rip at [rsp], rsp at [rsp+24], rflags at [rsp+16]', async () => {
  const img = await image([{ code: [0x90], info: { sizeOfProlog: 0, codes: [uw.pushMachframe(0, false)] } }]);
  const stack = new Stack().at(SP, MACHINE_FRAME_RIP, 0x33, 0x246, INTERRUPTED_RSP, 0x2b);
  const result = await unwind(img, calleeRegisters(at(0, 0x8), SP), stack);
  assert.equal(result?.kind, 'machine_frame');
  assert.deepEqual(hexRegisters(result), kept({ rip: MACHINE_FRAME_RIP, rsp: INTERRUPTED_RSP, rflags: 0x246 }));
  assert.equal(result?.cfa, SP + 40n);
});

test('UWOP_PUSH_MACHFRAME with an error code: everything 8 bytes higher', async () => {
  const img = await image([{ code: [0x90], info: { sizeOfProlog: 0, codes: [uw.pushMachframe(0, true)] } }]);
  const stack = new Stack().at(SP, 0xe0, MACHINE_FRAME_RIP, 0x33, 0x10246, INTERRUPTED_RSP, 0x2b);
  const result = await unwind(img, calleeRegisters(at(0, 0x8), SP), stack);
  assert.equal(result?.kind, 'machine_frame');
  assert.deepEqual(hexRegisters(result), kept({ rip: MACHINE_FRAME_RIP, rsp: INTERRUPTED_RSP, rflags: 0x10246 }));
  assert.equal(result?.cfa, SP + 48n);
});

test('UWOP_PUSH_MACHFRAME after the handler\'s own pushes and allocation', async () => {
  // (dummy prologue: the machine frame), then push rbp; sub rsp, 0x20
  const img = await image([{ code: [0x55, 0x48, 0x83, 0xec, 0x20], info: { sizeOfProlog: 5, codes: [uw.allocSmall(5, 0x20), uw.pushNonvol(1, RBP), uw.pushMachframe(0, false)] } }]);
  const stack = new Stack().at(SP + 0x20n, 0x1bb, MACHINE_FRAME_RIP, 0x33, 0x202, INTERRUPTED_RSP, 0x2b);
  const result = await unwind(img, calleeRegisters(at(0, 0x10), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ rbp: 0x1bb, rip: MACHINE_FRAME_RIP, rsp: INTERRUPTED_RSP, rflags: 0x202 }));
  assert.equal(result?.cfa, SP + 0x28n + 40n);
});

// ---------------------------------------------------------------------------------------------
// Version 2: UWOP_EPILOG

/** push rbx; push r12; sub rsp, 0x20; (body); add rsp, 0x20; pop r12; pop rbx; ret — the epilog (pops and ret) at the end. */
const V2_CODE = [0x53, 0x41, 0x54, 0x48, 0x83, 0xec, 0x20, 0x90, 0x90, 0x48, 0x83, 0xc4, 0x20, 0x41, 0x5c, 0x5b, 0xc3];
const V2_END = V2_CODE.length;
const V2_EPILOG_START = V2_END - 4; // pop r12 (2 bytes), pop rbx, ret

function v2Function(code: readonly number[]): FunctionSpec {
  return {
    code,
    size: V2_END,
    info: { version: 2, sizeOfProlog: 7, codes: [uw.epilogHead(4, true), uw.epilogAt(0), uw.allocSmall(7, 0x20), uw.pushNonvol(3, R12), uw.pushNonvol(1, RBX)] },
  };
}

test('UWOP_EPILOG (version 2): in the epilog, only the pops not yet done are undone', async () => {
  const img = await image([v2Function(V2_CODE)]);
  // At the epilog's start nothing has been popped.
  let result = await unwind(img, calleeRegisters(at(0, V2_EPILOG_START), SP), new Stack().at(SP, 0x112, 0x103, RA));
  assert.deepEqual(hexRegisters(result), kept({ r12: 0x112, rbx: 0x103, rip: RA, rsp: SP + 24n }));
  // After pop r12 (a 2-byte instruction): rbx and the return address are left.
  result = await unwind(img, calleeRegisters(at(0, V2_EPILOG_START + 2), SP, { r12: 0x112 }), new Stack().at(SP, 0x103, RA));
  assert.deepEqual(hexRegisters(result), kept({ r12: 0x112, rbx: 0x103, rip: RA, rsp: SP + 16n }));
  // At ret.
  result = await unwind(img, calleeRegisters(at(0, V2_EPILOG_START + 3), SP, { r12: 0x112, rbx: 0x103 }), new Stack().at(SP, RA));
  assert.deepEqual(hexRegisters(result), kept({ r12: 0x112, rbx: 0x103, rip: RA, rsp: SP + 8n }));
  assert.equal(result?.fixedAllocation, 0x20);
});

test('UWOP_EPILOG (version 2): the descriptors decide, not the code bytes', async () => {
  // The same unwind info over code that is all int3: still found to be in the epilog.
  const img = await image([v2Function([])]);
  const result = await unwind(img, calleeRegisters(at(0, V2_EPILOG_START + 3), SP), new Stack().at(SP, RA));
  assert.deepEqual(hexRegisters(result), kept({ rip: RA, rsp: SP + 8n }));
  // At add rsp, 0x20 (before the epilog) the prologue's codes are undone, all of them.
  const before = await unwind(await image([v2Function(V2_CODE)]), calleeRegisters(at(0, V2_EPILOG_START - 4), SP), new Stack().at(SP + 0x20n, 0x112, 0x103, RA));
  assert.deepEqual(hexRegisters(before), kept({ r12: 0x112, rbx: 0x103, rip: RA, rsp: SP + 0x38n }));
});

test('UWOP_EPILOG (version 2): an epilog placed by its offset from the end', async () => {
  // push rbx; (body); pop rbx; ret; (more body) ... — the epilog 0x20 bytes before the end, 2 bytes long.
  const code = new Array(0x40).fill(0x90);
  code[0] = 0x53;
  code[0x20] = 0x5b;
  code[0x21] = 0xc3;
  const img = await image([{ code, size: 0x40, info: { version: 2, sizeOfProlog: 1, codes: [uw.epilogHead(2, false), uw.epilogAt(0x20), uw.pushNonvol(1, RBX)] } }]);
  const inEpilog = await unwind(img, calleeRegisters(at(0, 0x21), SP, { rbx: 0x103 }), new Stack().at(SP, RA));
  assert.deepEqual(hexRegisters(inEpilog), kept({ rbx: 0x103, rip: RA, rsp: SP + 8n }));
  const inBody = await unwind(img, calleeRegisters(at(0, 0x30), SP), new Stack().at(SP, 0x103, RA));
  assert.deepEqual(hexRegisters(inBody), kept({ rbx: 0x103, rip: RA, rsp: SP + 16n }));
});

test('UWOP_EPILOG (version 2): only the context frame can be in an epilog', async () => {
  const img = await image([v2Function(V2_CODE)]);
  const stack = new Stack().at(SP + 0x20n, 0x112, 0x103, RA);
  const asCaller = await unwind(img, calleeRegisters(at(0, V2_EPILOG_START), SP), stack, false);
  // As a caller, the whole prologue is undone: sub rsp, 0x20 included.
  assert.equal(asCaller?.registers.get('rsp'), SP + 0x38n);
});

// ---------------------------------------------------------------------------------------------
// Chained unwind info

/** Function 0: push rbp; push rbx; sub rsp, 0x28. Function 1: a fragment of it that saved r12 in the home space, chained to function 0. */
function chainedImage(): Promise<PeImage> {
  return image([
    { code: [0x55, 0x53, 0x48, 0x83, 0xec, 0x28], size: 0x40, info: { sizeOfProlog: 6, codes: [uw.allocSmall(6, 0x28), uw.pushNonvol(2, RBX), uw.pushNonvol(1, RBP)] } },
    {
      code: [0x4c, 0x89, 0x64, 0x24, 0x48],
      size: 0x40,
      info: { sizeOfProlog: 5, codes: [uw.saveNonvol(5, R12, 0x48)], chained: { begin: fnRva(0), end: fnRva(0) + 0x40, unwindInfo: infoRva(0) } },
    },
  ]);
}

test('chained info: the fragment\'s codes, then all of the primary\'s', async () => {
  const img = await chainedImage();
  const stack = new Stack().at(SP + 0x28n, 0x103, 0x105, RA, 0, 0x112); // r12 in the home space, at rsp + 0x48
  const result = await unwind(img, calleeRegisters(at(1, 0x10), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x103, rbp: 0x105, r12: 0x112, rip: RA, rsp: SP + 0x40n }));
  assert.equal(result?.fixedAllocation, 0x28);
});

test('chained info: in the fragment\'s own prologue, its save is not undone yet', async () => {
  const img = await chainedImage();
  const stack = new Stack().at(SP + 0x28n, 0x103, 0x105, RA);
  const result = await unwind(img, calleeRegisters(at(1, 0), SP), stack);
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x103, rbp: 0x105, rip: RA, rsp: SP + 0x40n }));
});

test('chained info two links deep, and a chain that loops is given up', async () => {
  const primary: FunctionSpec = { code: [0x53], size: 0x10, info: { sizeOfProlog: 1, codes: [uw.pushNonvol(1, RBX)] } };
  const middle: FunctionSpec = { size: 0x10, info: { codes: [uw.saveNonvol(0, RSI, 0x10)], chained: { begin: fnRva(0), end: fnRva(0) + 0x10, unwindInfo: infoRva(0) } } };
  const last: FunctionSpec = { size: 0x10, info: { codes: [uw.saveNonvol(0, RDI, 0x18)], chained: { begin: fnRva(1), end: fnRva(1) + 0x10, unwindInfo: infoRva(1) } } };
  const result = await unwind(await image([primary, middle, last]), calleeRegisters(at(2, 4), SP), new Stack().at(SP, 0x103, RA, 0x106, 0x107));
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x103, rsi: 0x106, rdi: 0x107, rip: RA, rsp: SP + 16n }));

  const loop: FunctionSpec = { size: 0x10, info: { codes: [], chained: { begin: fnRva(0), end: fnRva(0) + 0x10, unwindInfo: infoRva(0) } } };
  assert.equal(await unwind(await image([loop]), calleeRegisters(at(0, 4), SP), new Stack().at(SP, RA)), undefined);
});

test('indirect RUNTIME_FUNCTION entries are followed to the entry they point at', async () => {
  const img = await image([{ code: [0x53], size: 0x10, info: { sizeOfProlog: 1, codes: [uw.pushNonvol(1, RBX)] } }, { indirectTo: 0, size: 0x10 }]);
  const result = await unwind(img, calleeRegisters(at(1, 4), SP), new Stack().at(SP, 0x103, RA));
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x103, rip: RA, rsp: SP + 16n }));
});

// ---------------------------------------------------------------------------------------------
// Stopped in a prologue

/** push rbp (1); push rbx (2); sub rsp, 0x28 (6). */
const PROLOGUE: FunctionSpec = {
  code: [0x55, 0x53, 0x48, 0x83, 0xec, 0x28, 0x90],
  info: { sizeOfProlog: 6, codes: [uw.allocSmall(6, 0x28), uw.pushNonvol(2, RBX), uw.pushNonvol(1, RBP)] },
};

test('mid-prologue context frame: only the codes whose offset has been reached are undone', async () => {
  const img = await image([PROLOGUE]);
  const cases: [number, Stack, Record<string, string>][] = [
    [0, new Stack().at(SP, RA), kept({ rip: RA, rsp: SP + 8n })],
    [1, new Stack().at(SP, 0x105, RA), kept({ rbp: 0x105, rip: RA, rsp: SP + 16n })],
    [2, new Stack().at(SP, 0x103, 0x105, RA), kept({ rbx: 0x103, rbp: 0x105, rip: RA, rsp: SP + 24n })],
    [4, new Stack().at(SP, 0x103, 0x105, RA), kept({ rbx: 0x103, rbp: 0x105, rip: RA, rsp: SP + 24n })],
    [6, new Stack().at(SP + 0x28n, 0x103, 0x105, RA), kept({ rbx: 0x103, rbp: 0x105, rip: RA, rsp: SP + 0x40n })],
  ];
  for (const [offset, stack, want] of cases) {
    const result = await unwind(img, calleeRegisters(at(0, offset), SP), stack);
    assert.deepEqual(hexRegisters(result), want, `at prologue offset ${offset}`);
    assert.equal(result?.fixedAllocation, 0x28, 'the declared allocation, wherever rip is');
  }
});

test('mid-prologue with a frame register: saves before UWOP_SET_FPREG are relative to rsp, and none is undone early', async () => {
  const img = await image([FRAME_SAMPLE]);
  // After sub rsp, 0x40 (offset 5), before lea rbp: rbp is still the caller's.
  const result = await unwind(img, calleeRegisters(at(0, 5), SP), new Stack().at(SP + 0x40n, 0x105, RA));
  assert.deepEqual(hexRegisters(result), kept({ rbp: 0x105, rip: RA, rsp: SP + 0x50n }));
  // After mov [rbp+0x18], rsi (offset 14): rsi is restored from the frame, rdi is not yet saved.
  const frameBase = SP;
  const later = await unwind(img, calleeRegisters(at(0, 14), SP, { rbp: SP + 0x20n }), new Stack().at(frameBase + 0x38n, 0x151, 0x105, RA));
  assert.deepEqual(hexRegisters(later), kept({ rbp: 0x105, rsi: 0x151, rip: RA, rsp: SP + 0x50n }));
});

test('a caller stopped in its prologue at a call to __chkstk: the allocation after the call is not undone', async () => {
  // push rbp; mov eax, 0x2000; call __chkstk; sub rsp, rax — the walker passes the return address − 1.
  const code = [0x55, 0xb8, 0x00, 0x20, 0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x48, 0x29, 0xc4];
  const img = await image([{ code, info: { sizeOfProlog: 14, codes: [uw.allocLarge(14, 0x2000), uw.pushNonvol(1, RBP)] } }]);
  const result = await unwind(img, calleeRegisters(at(0, 10), SP), new Stack().at(SP, 0x105, RA), false);
  assert.deepEqual(hexRegisters(result), kept({ rbp: 0x105, rip: RA, rsp: SP + 16n }));
});

// ---------------------------------------------------------------------------------------------
// Stopped in an epilogue (version 1: the code decides)

/** push rbp; push rbx; push r12; sub rsp, 0x20; (body); add rsp, 0x20; pop r12; pop rbx; pop rbp; ret */
const V1_EPILOGUE_AT = 9;
const V1_FUNCTION: FunctionSpec = {
  code: [0x55, 0x53, 0x41, 0x54, 0x48, 0x83, 0xec, 0x20, 0x90, 0x48, 0x83, 0xc4, 0x20, 0x41, 0x5c, 0x5b, 0x5d, 0xc3],
  info: { sizeOfProlog: 8, codes: [uw.allocSmall(8, 0x20), uw.pushNonvol(4, R12), uw.pushNonvol(2, RBX), uw.pushNonvol(1, RBP)] },
};

test('mid-epilogue context frame: the rest of the epilogue is executed', async () => {
  const img = await image([V1_FUNCTION]);
  const full = new Stack().at(SP + 0x20n, 0x112, 0x103, 0x105, RA);
  const cases: [number, bigint, Stack, Record<string, bigint | number>][] = [
    [V1_EPILOGUE_AT, SP, full, { r12: 0x112, rbx: 0x103, rbp: 0x105, rsp: SP + 0x40n }],
    [V1_EPILOGUE_AT + 4, SP + 0x20n, full, { r12: 0x112, rbx: 0x103, rbp: 0x105, rsp: SP + 0x40n }],
    [V1_EPILOGUE_AT + 6, SP + 0x28n, full, { rbx: 0x103, rbp: 0x105, rsp: SP + 0x40n }],
    [V1_EPILOGUE_AT + 8, SP + 0x38n, full, { rsp: SP + 0x40n }],
  ];
  for (const [offset, rsp, stack, changes] of cases) {
    const result = await unwind(img, calleeRegisters(at(0, offset), rsp), stack);
    assert.deepEqual(hexRegisters(result), kept({ ...changes, rip: RA }), `at epilogue offset ${offset - V1_EPILOGUE_AT}`);
    assert.equal(result?.kind, 'call');
    assert.equal(result?.cfa, SP + 0x40n);
  }
});

test('mid-epilogue: lea rsp, [frame register + disp] starts an epilogue only with the function\'s frame register', async () => {
  // push rbp; mov rbp, rsp (.setframe rbp, 0); ...; lea rsp, [rbp+0]; pop rbp; ret
  const code = [0x55, 0x48, 0x89, 0xe5, 0x90, 0x48, 0x8d, 0x65, 0x00, 0x5d, 0xc3];
  const info = { sizeOfProlog: 4, frameRegister: RBP, frameOffset: 0, codes: [uw.setFpreg(4), uw.pushNonvol(1, RBP)] };
  const stack = new Stack().at(SP + 0x100n, 0x105, RA);
  const result = await unwind(await image([{ code, info }]), calleeRegisters(at(0, 5), SP, { rbp: SP + 0x100n }), stack);
  assert.deepEqual(hexRegisters(result), kept({ rbp: 0x105, rip: RA, rsp: SP + 0x110n }));
  // lea rsp, [rbx+0] is not an epilogue: the codes are undone instead (from rbp, not rbx).
  const other = [...code];
  other[7] = 0x63; // ModRM base rbx
  const notEpilogue = await unwind(await image([{ code: other, info }]), calleeRegisters(at(0, 5), SP, { rbp: SP + 0x100n, rbx: 0x7777 }), stack);
  assert.deepEqual(hexRegisters(notEpilogue), kept({ rbx: 0x7777, rbp: 0x105, rip: RA, rsp: SP + 0x110n }));
  // lea rsp, [rbp+0x7f0] (32-bit displacement)
  const far = [0x55, 0x48, 0x89, 0xe5, 0x90, 0x48, 0x8d, 0xa5, 0xf0, 0x07, 0x00, 0x00, 0x5d, 0xc3];
  const farResult = await unwind(await image([{ code: far, info }]), calleeRegisters(at(0, 5), SP, { rbp: SP }), new Stack().at(SP + 0x7f0n, 0x105, RA));
  assert.deepEqual(hexRegisters(farResult), kept({ rbp: 0x105, rip: RA, rsp: SP + 0x800n }));
});

test('epilogue endings: ret, ret imm16, rep ret, bnd ret, tail-call jumps; other jumps are not epilogues', async () => {
  const body = (...end: number[]): FunctionSpec => ({ code: [0x53, 0x90, 0x5b, ...end], size: 0x40, info: { sizeOfProlog: 1, codes: [uw.pushNonvol(1, RBX)] } });
  const callee: FunctionSpec = { code: [0xc3], size: 0x10, info: { codes: [] } };
  const cases: [string, FunctionSpec, boolean][] = [
    ['ret', body(0xc3), true],
    ['ret 8', body(0xc2, 0x08, 0x00), true],
    ['rep ret', body(0xf3, 0xc3), true],
    ['bnd ret', body(0xf2, 0xc3), true],
    ['jmp rel32 to another function', body(0xe9, ...le32(fnRva(1) - (fnRva(0) + 8))), true],
    ['jmp rel8 inside the function', body(0xeb, 0x10), false],
    ['jmp rel8 to the function\'s own start (recursive tail call)', body(0xeb, 0xfb), true],
    ['jmp [rip+disp32]', body(0xff, 0x25, 0, 0, 0, 0), true],
    ['rex.w jmp rax', body(0x48, 0xff, 0xe0), true],
    ['jmp rax without rex.w', body(0xff, 0xe0), false],
    ['call', body(0xe8, 0, 0, 0, 0), false],
  ];
  for (const [what, fn, isEpilogue] of cases) {
    const img = await image([fn, callee]);
    // At the jump or return itself: an epilogue pops only the return address; otherwise the push is undone first.
    const atEnd = await unwind(img, calleeRegisters(at(0, 3), SP, { rbx: 0x103 }), new Stack().at(SP, RA, 0x999));
    const wantEnd = isEpilogue ? kept({ rbx: 0x103, rip: RA, rsp: SP + 8n }) : kept({ rbx: RA, rip: 0x999, rsp: SP + 16n });
    assert.deepEqual(hexRegisters(atEnd), wantEnd, `${what}, at its last instruction`);
  }
});

test('an epilogue jump into another fragment of the same function is not a tail call', async () => {
  // Function 0: push rbx; ... pop rbx; jmp fragment. Function 1: a fragment chained to function 0.
  const jump = [0x53, 0x90, 0x5b, 0xe9, ...le32(fnRva(1) - (fnRva(0) + 8))];
  const img = await image([
    { code: jump, size: 0x40, info: { sizeOfProlog: 1, codes: [uw.pushNonvol(1, RBX)] } },
    { code: [0xc3], size: 0x10, info: { codes: [], chained: { begin: fnRva(0), end: fnRva(0) + 0x40, unwindInfo: infoRva(0) } } },
  ]);
  const result = await unwind(img, calleeRegisters(at(0, 3), SP, { rbx: 0x103 }), new Stack().at(SP, 0x111, RA));
  assert.deepEqual(hexRegisters(result), kept({ rbx: 0x111, rip: RA, rsp: SP + 16n }), 'prologue undone, not a return');
});

test('epilogue detection reads code from a memory image, and gives up when the code is not there', async () => {
  const memory = await image([V1_FUNCTION], { layout: 'memory' });
  const stack = new Stack().at(SP, 0x103, 0x105, RA);
  const fromMemory = await unwind(memory, calleeRegisters(at(0, V1_EPILOGUE_AT + 6), SP + 0x28n), new Stack().at(SP + 0x28n, 0x103, 0x105, RA));
  assert.deepEqual(hexRegisters(fromMemory), kept({ rbx: 0x103, rbp: 0x105, rip: RA, rsp: SP + 0x40n }));
  const noCode = await image([V1_FUNCTION], { layout: 'memory', holes: [{ rva: TEXT_RVA, size: 0x1000 }] });
  assert.equal(await unwind(noCode, calleeRegisters(at(0, V1_EPILOGUE_AT), SP), stack), undefined, 'context frame: epilogue unknown');
  const asCaller = await unwind(noCode, calleeRegisters(at(0, V1_EPILOGUE_AT), SP), new Stack().at(SP + 0x20n, 0x112, 0x103, 0x105, RA), false);
  assert.equal(asCaller?.registers.get('rip'), RA, 'a caller needs no code bytes');
});

// ---------------------------------------------------------------------------------------------
// Leaf functions and what cannot be unwound

test('leaf function: no RUNTIME_FUNCTION, so the return address is at [rsp]; volatile registers are dropped', async () => {
  const img = await image([PROLOGUE, { code: [0xc3] }]);
  const result = await unwind(img, calleeRegisters(at(1, 0), SP), new Stack().at(SP, RA));
  assert.equal(result?.kind, 'leaf');
  assert.deepEqual(hexRegisters(result), kept({ rip: RA, rsp: SP + 8n }));
  assert.equal(result?.cfa, SP + 8n);
  assert.equal(result?.fixedAllocation, 0);
  assert.equal(result?.registers.has('rax'), false);
});

test('registers the callee did not know stay unknown; a save slot not captured makes its register unknown', async () => {
  const img = await image([PROLOGUE]);
  const registers = regs({ rip: at(0, 0x10), rsp: SP, r12: 0xc12 });
  const result = await unwind(img, registers, new Stack().at(SP + 0x28n, 0x103).at(SP + 0x38n, RA));
  assert.deepEqual(hexRegisters(result), expected({ r12: 0xc12, rbx: 0x103, rip: RA, rsp: SP + 0x40n }));
});

test('nothing to unwind with: undefined, never a throw', async () => {
  const img = await image([PROLOGUE]);
  const stack = new Stack().at(SP + 0x28n, 0x103, 0x105, RA);
  assert.equal(await unwind(img, calleeRegisters(BASE - 1n, SP), stack), undefined, 'rip below the module');
  assert.equal(await unwind(img, calleeRegisters(BASE + BigInt(img.sizeOfImage), SP), stack), undefined, 'rip past the image');
  assert.equal(await unwind(img, regs({ rip: at(0, 0x10) }), stack), undefined, 'no rsp');
  assert.equal(await unwind(img, calleeRegisters(at(0, 0x10), SP), new Stack()), undefined, 'no stack memory');
  assert.equal(await unwind(img, calleeRegisters(at(1, 0), SP), new Stack()), undefined, 'leaf without stack memory');
  const arm64 = await image([PROLOGUE], { machine: Machine.ARM64 });
  assert.equal(await unwind(arm64, calleeRegisters(at(0, 0x10), SP), stack), undefined, 'not an x64 image');
  const noPdata = await image([PROLOGUE], { layout: 'memory', holes: [{ rva: 0x4000, size: 0x1000 }] });
  assert.equal(await unwind(noPdata, calleeRegisters(at(0, 0x10), SP), stack), undefined, '.pdata not captured: not a leaf');
  const noXdata = await image([PROLOGUE], { layout: 'memory', holes: [{ rva: XDATA_RVA, size: 0x1000 }] });
  assert.equal(await unwind(noXdata, calleeRegisters(at(0, 0x10), SP), stack), undefined, '.xdata not captured');
  const badCode = await image([{ code: [0x90], info: { codes: [[uw.slot(0, 12, 0)]] } }]);
  assert.equal(await unwind(badCode, calleeRegisters(at(0, 0x10), SP), stack), undefined, 'unknown unwind operation');
  const pushRsp = await image([{ code: [0x90], info: { codes: [uw.pushNonvol(0, 4)] } }]);
  assert.equal(await unwind(pushRsp, calleeRegisters(at(0, 0x10), SP), stack), undefined, 'push of rsp');
});

test('damaged unwind data never throws', async () => {
  let seed = 99;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 0x80000000;
    return seed / 0x80000000;
  };
  for (let i = 0; i < 300; i++) {
    const slots = Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 0x10000));
    const info: UnwindInfoSpec = {
      version: 1 + Math.floor(next() * 2),
      flags: next() < 0.2 ? UnwindFlags.CHAININFO : 0,
      sizeOfProlog: Math.floor(next() * 0x20),
      frameRegister: Math.floor(next() * 16),
      frameOffset: Math.floor(next() * 16),
      codes: [slots],
      ...(next() < 0.3 ? { chained: { begin: fnRva(0), end: fnRva(0) + Math.floor(next() * 0x200), unwindInfo: infoRva(Math.floor(next() * 2)) } } : {}),
    };
    const code = Array.from({ length: 0x40 }, () => Math.floor(next() * 256));
    const img = await image([{ code, info }, { code, info: { codes: [uw.pushNonvol(1, RBX)] } }]);
    const stack = new Stack().at(SP, ...Array.from({ length: 64 }, () => Math.floor(next() * 0x100000)));
    for (const offset of [0, 1, 4, 0x10, 0x3f]) {
      for (const context of [true, false]) await unwind(img, calleeRegisters(at(0, offset), SP), stack, context);
    }
  }
});

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}
