// ARM (Thumb-2) unwind data decoding on hand-built bytes: every unwind code of Microsoft's "ARM
// exception handling" table, .xdata headers (the doc's examples 4-6), packed unwind data expanded
// to the canonical prologues and epilogues (the doc's examples 1-3 and 7), and hostile records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../io/errors.js';
import {
  armFunctionLength,
  armFunctionStart,
  armScopeSize,
  armXDataSize,
  decodeArmPackedUnwindData,
  decodeArmUnwindCode,
  decodeArmUnwindCodes,
  decodeArmUnwindDataWord,
  decodeArmXData,
  expandArmPackedUnwindData,
  MAX_ARM_EPILOG_SCOPES,
  readArmXData,
  type ArmUnwindCode,
} from './arm-unwind-data.js';

function le32(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}

function code(...bytes: number[]): ArmUnwindCode {
  return decodeArmUnwindCode(Uint8Array.from(bytes), 0);
}

const LR = 1 << 14;
const range = (from: number, to: number): number => ((1 << (to + 1)) - 1) & ~((1 << from) - 1);

test('unwind codes: every code of the doc table decodes to its meaning, code length and opcode size', () => {
  const cases: [number[], ArmUnwindCode][] = [
    [[0x00], { op: 'add_sp', length: 1, opsize: 2, size: 0 }],
    [[0x7f], { op: 'add_sp', length: 1, opsize: 2, size: 0x7f * 4 }], // add sp,sp,#X, X = (Code & 0x7F) * 4
    [[0x88, 0xf0], { op: 'pop', length: 2, opsize: 4, registers: range(4, 7) | 1 << 11 }], // pop.w {r4-r7, r11}
    [[0xbf, 0xff], { op: 'pop', length: 2, opsize: 4, registers: range(0, 12) | LR }], // 0x2000 = lr
    [[0xc7], { op: 'mov_sp', length: 1, opsize: 2, reg: 7 }],
    [[0xcb], { op: 'mov_sp', length: 1, opsize: 2, reg: 11 }],
    [[0xd1], { op: 'pop', length: 1, opsize: 2, registers: range(4, 5) }], // pop {r4-r5}
    [[0xd7], { op: 'pop', length: 1, opsize: 2, registers: range(4, 7) | LR }], // pop {r4-r7, lr}
    [[0xdb], { op: 'pop', length: 1, opsize: 4, registers: range(4, 11) }], // pop.w {r4-r11}
    [[0xdd], { op: 'pop', length: 1, opsize: 4, registers: range(4, 9) | LR }], // the doc's example: pop {r4-r9, lr}
    [[0xe0], { op: 'vpop', length: 1, opsize: 4, first: 8, last: 8 }],
    [[0xe7], { op: 'vpop', length: 1, opsize: 4, first: 8, last: 15 }],
    [[0xe9, 0x2c], { op: 'add_sp', length: 2, opsize: 4, size: 300 * 4 }], // addw sp,sp,#X, X = (Code & 0x3FF) * 4
    [[0xeb, 0xff], { op: 'add_sp', length: 2, opsize: 4, size: 0x3ff * 4 }],
    [[0xec, 0x90], { op: 'pop', length: 2, opsize: 2, registers: 1 << 4 | 1 << 7 }], // pop {r4, r7}
    [[0xed, 0x90], { op: 'pop', length: 2, opsize: 2, registers: 1 << 4 | 1 << 7 | LR }], // the doc's example 6
    [[0xee, 0x01], { op: 'custom', length: 2, opsize: 0, frame: 1 }], // Windows counts it as no instruction
    [[0xef, 0x05], { op: 'ldr_lr', length: 2, opsize: 4, offset: 20 }], // ldr lr,[sp],#X, X = (Code & 0xF) * 4
    [[0xf5, 0x4b], { op: 'vpop', length: 2, opsize: 4, first: 4, last: 11 }], // vpop {dS-dE}
    [[0xf6, 0x0f], { op: 'vpop', length: 2, opsize: 4, first: 16, last: 31 }], // S, E + 16
    [[0xf7, 0x01, 0x02], { op: 'add_sp', length: 3, opsize: 2, size: 0x0102 * 4 }], // most significant byte first
    [[0xf8, 0x01, 0x02, 0x03], { op: 'add_sp', length: 4, opsize: 2, size: 0x010203 * 4 }],
    [[0xf9, 0x0b, 0xb8], { op: 'add_sp', length: 3, opsize: 4, size: 3000 * 4 }],
    [[0xfa, 0x00, 0x10, 0x00], { op: 'add_sp', length: 4, opsize: 4, size: 0x1000 * 4 }],
    [[0xfb], { op: 'nop', length: 1, opsize: 2 }],
    [[0xfc], { op: 'nop', length: 1, opsize: 4 }],
    [[0xfd], { op: 'end', length: 1, opsize: 2 }], // end + 16-bit nop in an epilogue
    [[0xfe], { op: 'end', length: 1, opsize: 4 }],
    [[0xff], { op: 'end', length: 1, opsize: 0 }],
  ];
  for (const [bytes, expected] of cases) assert.deepEqual(code(...bytes), expected, bytes.map((b) => b.toString(16)).join(' '));
});

test('unwind codes: the doc\'s "Available" codes and cut-short codes throw FormatError with the offset', () => {
  const where = { file: 'x.dll', structure: 'ARM .xdata unwind codes', offset: 0x100 };
  for (const bytes of [[0xf0], [0xf4], [0xee, 0x10], [0xef, 0xff]]) {
    assert.throws(() => decodeArmUnwindCode(Uint8Array.from(bytes), 0, where), (e) => e instanceof FormatError && /reserved/.test(e.reason));
  }
  for (const bytes of [[0x80], [0xe8], [0xec], [0xee], [0xef], [0xf5], [0xf7, 0x00], [0xfa, 0x00, 0x00]]) {
    assert.throws(
      () => decodeArmUnwindCode(Uint8Array.from([0xfb, ...bytes]), 1, where),
      (e) => e instanceof FormatError && e.offset === 0x101 && e.structure === where.structure,
    );
  }
});

test('code sequences: the doc\'s shared codes c7 dd 04 fd; prologue and epilogue sizes count halfword instructions', () => {
  const codes = decodeArmUnwindCodes(Uint8Array.from([0xc7, 0xdd, 0x04, 0xfd, 0xaa]), 0);
  assert.deepEqual(codes.map((c) => c.op), ['mov_sp', 'pop', 'add_sp', 'end']); // stops at the end code
  // push {r0-r3} (2), push {r4-r9, lr} (4), mov r7, sp (2): 8 bytes; the epilogue adds bx lr (2).
  assert.equal(armScopeSize(codes, 'prologue'), 8);
  assert.equal(armScopeSize(codes, 'epilogue'), 10);
  // Without an end code the sequence runs to the end of the table (as Windows' unwinder does).
  assert.deepEqual(decodeArmUnwindCodes(Uint8Array.from([0x01, 0xfb]), 0).map((c) => c.op), ['add_sp', 'nop']);
  assert.deepEqual(decodeArmUnwindCodes(Uint8Array.from([0x01]), 1), []);
});

// ---------------------------------------------------------------------------------------------
// .pdata words and packed unwind data

/** A packed UnwindData word from its fields. */
function packedWord(f: { flag?: number; length: number; ret: number; h?: number; reg: number; r?: number; l?: number; c?: number; adjust?: number }): number {
  return (
    ((f.flag ?? 1) |
      ((f.length / 2) << 2) |
      (f.ret << 13) |
      ((f.h ?? 0) << 15) |
      (f.reg << 16) |
      ((f.r ?? 0) << 19) |
      ((f.l ?? 0) << 20) |
      ((f.c ?? 0) << 21) |
      ((f.adjust ?? 0) << 22)) >>>
    0
  );
}

test('the UnwindData word: Flag 0 is an .xdata RVA, 1 and 2 packed data, 3 (bit 2 clear) a parent entry', () => {
  assert.deepEqual(decodeArmUnwindDataWord(0x2108), { kind: 'xdata', rva: 0x2108 });
  assert.equal(decodeArmUnwindDataWord(packedWord({ length: 0x62, ret: 1, reg: 1 })).kind, 'packed');
  assert.deepEqual(decodeArmUnwindDataWord(0x3003), { kind: 'parent', rva: 0x3000 });
  assert.throws(() => decodeArmUnwindDataWord(0x3007), FormatError);
  assert.equal(armFunctionStart({ begin: 0x535f9, unwindData: 0 }), 0x535f8);
});

test('packed fields: the doc\'s example 2 (push {r4-r7, lr}; sub sp, #0xc)', () => {
  // Function Length 0x35, Ret 0, H 0, R 0, Reg 3, L 1, C 0, Stack Adjust 3
  const word = packedWord({ length: 0x6a, ret: 0, reg: 3, l: 1, adjust: 3 });
  assert.deepEqual(decodeArmPackedUnwindData(word), {
    flag: 1,
    functionLength: 0x6a,
    ret: 0,
    homesParameters: false,
    reg: 3,
    savesFloat: false,
    savesLr: true,
    chained: false,
    stackAdjust: 3,
  });
  const { prologue, epilogue } = expandArmPackedUnwindData(decodeArmPackedUnwindData(word));
  assert.deepEqual(prologue, [
    { op: 'add_sp', length: 1, opsize: 2, size: 12 },
    { op: 'pop', length: 2, opsize: 2, registers: range(4, 7) | LR }, // B5F0: 16-bit push
    { op: 'end', length: 1, opsize: 0 },
  ]);
  assert.deepEqual(epilogue, [
    { op: 'add_sp', length: 1, opsize: 2, size: 12 },
    { op: 'pop', length: 2, opsize: 2, registers: range(4, 7) | LR }, // BDF0: pop {r4-r7, pc}
    { op: 'end', length: 1, opsize: 0 },
  ]);
});

/** The canonical codes as short text, to state many expansions compactly. */
function text(codes: readonly ArmUnwindCode[] | undefined): string {
  if (!codes) return '-';
  return codes
    .map((c) => {
      switch (c.op) {
        case 'add_sp':
          return `add${c.opsize === 4 ? '.w' : ''} ${c.size}`;
        case 'pop': {
          const regs: string[] = [];
          for (let n = 0; n <= 14; n++) if (c.registers & (1 << n)) regs.push(n === 14 ? 'lr' : `r${n}`);
          return `pop${c.opsize === 4 ? '.w' : ''} ${regs.join(',')}`;
        }
        case 'vpop':
          return `vpop d${c.first}-d${c.last}`;
        case 'nop':
          return c.opsize === 4 ? 'nop.w' : 'nop';
        case 'ldr_lr':
          return `ldr lr ${c.offset}`;
        case 'end':
          return ['end', '', 'end+2', '', 'end+4'][c.opsize]!;
        default:
          return c.op;
      }
    })
    .join('; ');
}

test('packed expansion: the doc\'s examples and each canonical instruction of its tables', () => {
  const cases: [Parameters<typeof packedWord>[0], string, string][] = [
    // Example 1: push {r4-r5} ... pop {r4-r5}; bx lr
    [{ length: 0x62, ret: 1, reg: 1 }, 'pop r4,r5; end', 'pop r4,r5; end+2'],
    // Example 3: push {r0-r3}; push {r4-r6, lr} ... pop {r4-r6}; ldr pc, [sp], #0x14
    [{ length: 0x54, ret: 0, h: 1, reg: 2, l: 1 }, 'pop r4,r5,r6,lr; add 16; end', 'pop r4,r5,r6; ldr lr 20; end'],
    // Example 7: push {lr}; sub sp, #4 (R=1, Reg=7: no other registers)
    [{ length: 0x16, ret: 0, reg: 7, r: 1, l: 1, adjust: 1 }, 'add 4; pop lr; end', 'add 4; pop lr; end'],
    // H without L: add sp, #16, then an explicit return (9a, 10b)
    [{ length: 0x40, ret: 2, h: 1, reg: 0 }, 'pop r4; add 16; end', 'pop r4; add 16; end+4'],
    // Frame chain, r11 and lr only: the 16-bit mov r11, sp (3a); d8-d9 pushed after it
    [{ length: 0x40, ret: 0, reg: 1, r: 1, l: 1, c: 1, adjust: 2 }, 'add 8; vpop d8-d9; nop; pop.w r11,lr; end', 'add 8; vpop d8-d9; pop.w r11,lr; end'],
    // Frame chain with more registers: add.w r11, sp, #x (3b); a large frame needs addw
    [{ length: 0x80, ret: 0, reg: 6, l: 1, c: 1, adjust: 0x200 }, 'add.w 2048; nop.w; pop.w r4,r5,r6,r7,r8,r9,r10,r11,lr; end', 'add.w 2048; pop.w r4,r5,r6,r7,r8,r9,r10,r11,lr; end'],
    // Stack Adjust 0x3F4+: 2 words folded into the push (PF) and the pop (EF): push {r2-r7, lr}
    [{ length: 0x10, ret: 0, reg: 3, l: 1, adjust: 0x3f4 | 0xc | 1 }, 'pop r2,r3,r4,r5,r6,r7,lr; end', 'pop r2,r3,r4,r5,r6,r7,lr; end'],
    // Folded in the prologue only: the epilogue adds sp explicitly (instruction 6 without 5)
    [{ length: 0x10, ret: 1, reg: 0, adjust: 0x3f4 | 0x4 | 0 }, 'pop r3,r4; end', 'add 4; pop r4; end+2'],
    // R=1 with folding: r(S)-r3 and d8-dE (the C/L/R/PF table's 0 0 1 1 row)
    [{ length: 0x20, ret: 1, reg: 0, r: 1, adjust: 0x3f4 | 0x4 | 3 }, 'vpop d8-d8; pop r0,r1,r2,r3; end', 'add 16; vpop d8-d8; end+2'],
    // Ret 3: no epilogue (a fragment's prologue); Flag 2: a fragment without prologue
    [{ length: 0x40, ret: 3, reg: 2, l: 1 }, 'pop r4,r5,r6,lr; end', '-'],
    [{ flag: 2, length: 0x40, ret: 0, reg: 2, l: 1 }, 'pop r4,r5,r6,lr; end', 'pop r4,r5,r6,lr; end'],
    // A leaf with only a stack adjustment, returning with bx lr
    [{ length: 0x20, ret: 1, reg: 7, r: 1, adjust: 4 }, 'add 16; end', 'add 16; end+2'],
  ];
  for (const [fields, prologue, epilogue] of cases) {
    const p = decodeArmPackedUnwindData(packedWord(fields));
    const expanded = expandArmPackedUnwindData(p);
    assert.equal(text(expanded.prologue), prologue, JSON.stringify(fields));
    assert.equal(text(expanded.epilogue), epilogue, JSON.stringify(fields));
  }
});

test('packed expansion: the doc\'s unsupported combinations throw FormatError', () => {
  for (const fields of [
    { length: 0x10, ret: 1, reg: 0, c: 1 }, // C without L
    { length: 0x10, ret: 0, reg: 0 }, // Ret 0 without L
    { length: 0x10, ret: 0, reg: 7, l: 1, c: 1 }, // C with r11 already in Reg (r4-r11)
  ]) {
    assert.throws(() => expandArmPackedUnwindData(decodeArmPackedUnwindData(packedWord(fields))), FormatError, JSON.stringify(fields));
  }
});

// ---------------------------------------------------------------------------------------------
// .xdata records

test('xdata: the doc\'s example 4, four epilogue scopes sharing the prologue\'s codes 06 de ff', () => {
  const scope = (offset: number): number => (offset / 2) | (0xe << 20) | (0 << 24);
  const header = 0x1a3 | (4 << 23) | (1 << 28);
  const bytes = Uint8Array.from([...le32(header, scope(0x22), scope(0x14a), scope(0x2e0), scope(0x312)), 0x06, 0xde, 0xff, 0x00]);
  assert.equal(armXDataSize(bytes), 24);
  const x = decodeArmXData(bytes);
  assert.equal(x.functionLength, 0x346);
  assert.deepEqual(
    [x.version, x.hasExceptionData, x.epilogInHeader, x.fragment, x.epilogStartIndex, x.exceptionHandlerRva],
    [0, false, false, false, undefined, undefined],
  );
  assert.deepEqual(x.epilogScopes[1], { startOffset: 0x14a, reserved: 0, condition: 0xe, startIndex: 0 });
  assert.deepEqual(decodeArmUnwindCodes(x.codes, 0), [
    { op: 'add_sp', length: 1, opsize: 2, size: 24 },
    { op: 'pop', length: 1, opsize: 4, registers: range(4, 10) | LR },
    { op: 'end', length: 1, opsize: 0 },
  ]);
});

test('xdata: the doc\'s example 6, E set (one epilogue at index 0), X set with the handler RVA', () => {
  const header = 0x27 | (1 << 20) | (1 << 21) | (0 << 23) | (2 << 28);
  const bytes = Uint8Array.from([...le32(header), 0xc7, 0x05, 0xed, 0x90, 0xff, 0, 0, 0, ...le32(0x0019a7ed, 0x1234)]);
  assert.equal(armXDataSize(bytes), 16);
  const x = decodeArmXData(bytes);
  assert.deepEqual(
    [x.functionLength, x.hasExceptionData, x.epilogInHeader, x.epilogStartIndex, x.epilogScopes.length, x.codes.length, x.exceptionHandlerRva, x.size],
    [0x4e, true, true, 0, 0, 8, 0x0019a7ed, 16],
  );
});

test('xdata: the extension word (Epilogue Count and Code Words both 0), F and the reserved bits', () => {
  const header = 0x10 | (1 << 22); // F: a fragment
  const bytes = Uint8Array.from([...le32(header, 1 | (1 << 16), 0x8 | (0xe << 20) | (3 << 18)), 0x01, 0xff, 0, 0]);
  assert.equal(armXDataSize(bytes.subarray(0, 4)), undefined); // needs the second word
  assert.equal(armXDataSize(bytes), 16);
  const x = decodeArmXData(bytes);
  assert.equal(x.fragment, true);
  assert.deepEqual(x.epilogScopes, [{ startOffset: 0x10, reserved: 3, condition: 0xe, startIndex: 0 }]);
});

test('xdata: hostile records throw FormatError with structure and offset, never a raw error', async () => {
  const where = { file: 'x.dll', structure: 'ARM .xdata at RVA 0x2000', offset: 0 };
  const bad: [string, Uint8Array][] = [
    ['short', Uint8Array.from([0x01, 0x00, 0x00])],
    ['version 1', le32(0x10 | (1 << 18) | (1 << 28), 0xff)],
    ['scope index past the codes', le32(0x10 | (1 << 23) | (1 << 28), 8 << 24, 0xff)],
    ['E index past the codes', le32(0x10 | (1 << 21) | (9 << 23) | (1 << 28), 0xff)],
    ['too many scopes', le32(0x10, MAX_ARM_EPILOG_SCOPES + 1)],
    ['cut short', le32(0x10 | (3 << 23) | (1 << 28), 0)],
  ];
  for (const [why, bytes] of bad) {
    assert.throws(() => decodeArmXData(bytes, where), (e) => e instanceof FormatError && e.structure === where.structure && e.offset !== undefined, why);
  }
  const image = (bytes: Uint8Array | 'throw') => ({
    name: 'x.dll',
    readRva: async (rva: number, length: number) => {
      if (bytes === 'throw') throw new RangeError('boom');
      return rva + length <= bytes.length ? bytes.slice(rva, rva + length) : undefined;
    },
  });
  const good = le32(0x10 | (1 << 28), 0x00ff0401);
  assert.equal((await readArmXData(image(good), 0)).functionLength, 0x20);
  await assert.rejects(readArmXData(image(good), 2), FormatError); // misaligned
  await assert.rejects(readArmXData(image(good.subarray(0, 6)), 0), FormatError); // the codes are missing
  await assert.rejects(readArmXData(image('throw'), 0), FormatError);
  // The largest record a header can claim is read once, in one piece, and decodes or throws.
  const huge = new Uint8Array(8 + 4 * 0xffff + 4 * 0xff);
  huge.set(le32(0x10, 0xffff | (0xff << 16)));
  await assert.rejects(readArmXData(image(huge), 0), FormatError);
});

test('armFunctionLength: packed Function Length or the .xdata header\'s, in bytes', async () => {
  const image = { readRva: async (rva: number, length: number) => (rva === 0x100 ? le32(0x31 | (1 << 28)).slice(0, length) : undefined) };
  assert.equal(await armFunctionLength(image, { begin: 0x1001, unwindData: packedWord({ length: 0x62, ret: 1, reg: 1 }) }), 0x62);
  assert.equal(await armFunctionLength(image, { begin: 0x1001, unwindData: 0x100 }), 0x62);
  assert.equal(await armFunctionLength(image, { begin: 0x1001, unwindData: 0x200 }), undefined);
  assert.equal(await armFunctionLength(image, { begin: 0x1001, unwindData: 0x7 }), undefined);
});
