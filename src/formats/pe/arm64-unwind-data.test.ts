// ARM64 unwind data decoding on hand-built bytes: every unwind code of Microsoft's "ARM64 exception
// handling" table, .xdata headers (the doc's examples 2 and 3 byte for byte), packed unwind data
// expanded to the canonical prologues of the doc's step table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arm64FunctionLength,
  decodePackedUnwindData,
  decodeUnwindCode,
  decodeUnwindCodeSequence,
  decodeUnwindDataWord,
  decodeXData,
  expandPackedUnwindData,
  instructionCount,
  MAX_EPILOG_SCOPES,
  readXData,
  scopeInstructionCount,
  unwindCodeLength,
  xdataSize,
  type Arm64PackedUnwindData,
  type Arm64UnwindCode,
} from './arm64-unwind-data.js';

function le32(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}

function code(...bytes: number[]): Arm64UnwindCode | undefined {
  return decodeUnwindCode(Uint8Array.from(bytes), 0);
}

test('unwind codes: every code of the doc table decodes to its fields and byte length', () => {
  const cases: [number[], Arm64UnwindCode][] = [
    [[0x00], { op: 'alloc_s', length: 1, size: 0 }],
    [[0x1f], { op: 'alloc_s', length: 1, size: 496 }], // 000xxxxx: 31 * 16
    [[0x22], { op: 'save_r19r20_x', length: 1, stackOffset: 16 }], // 001zzzzz: [sp-#Z*8]!, Z=2
    [[0x44], { op: 'save_fplr', length: 1, stackOffset: 32 }], // 01zzzzzz: [sp+#Z*8], Z=4
    [[0x91], { op: 'save_fplr_x', length: 1, stackOffset: 144 }], // 10zzzzzz: [sp-(#Z+1)*8]!, Z=17
    [[0xc7, 0xff], { op: 'alloc_m', length: 2, size: 32752 }], // 11000xxx'xxxxxxxx: 2047 * 16
    [[0xc8, 0x9e], { op: 'save_regp', length: 2, reg: 21, stackOffset: 240 }], // X=0b0010, Z=30
    [[0xcc, 0x03], { op: 'save_regp_x', length: 2, reg: 19, stackOffset: 32 }], // X=0, Z=3
    [[0xd2, 0x42], { op: 'save_reg', length: 2, reg: 28, stackOffset: 16 }], // X=0b1001, Z=2
    [[0xd4, 0x61], { op: 'save_reg_x', length: 2, reg: 22, stackOffset: 16 }], // 1101010x'xxxzzzzz: X=3, Z=1
    [[0xd5, 0x60], { op: 'save_reg_x', length: 2, reg: 30, stackOffset: 8 }], // X=11: x30 (lr)
    [[0xd6, 0x45], { op: 'save_lrpair', length: 2, reg: 21, stackOffset: 40 }], // <x(19+2*1),lr>, Z=5
    [[0xd8, 0x1c], { op: 'save_fregp', length: 2, reg: 8, stackOffset: 224 }], // the doc's "save_fregp 0,224"
    [[0xda, 0x83], { op: 'save_fregp_x', length: 2, reg: 10, stackOffset: 32 }], // X=2, Z=3
    [[0xdd, 0xc1], { op: 'save_freg', length: 2, reg: 15, stackOffset: 8 }], // X=0b111, Z=1
    [[0xde, 0x41], { op: 'save_freg_x', length: 2, reg: 10, stackOffset: 16 }], // 11011110'xxxzzzzz: X=2, Z=1
    [[0xdf, 0x03], { op: 'alloc_z', length: 2, vectors: 3 }],
    [[0xe0, 0x01, 0x02, 0x03], { op: 'alloc_l', length: 4, size: 0x010203 * 16 }], // most significant byte first
    [[0xe1], { op: 'set_fp', length: 1 }],
    [[0xe2, 0x04], { op: 'add_fp', length: 2, offset: 32 }], // add x29,sp,#x*8
    [[0xe3], { op: 'nop', length: 1 }],
    [[0xe4], { op: 'end', length: 1 }],
    [[0xe5], { op: 'end_c', length: 1 }],
    [[0xe6], { op: 'save_next', length: 1 }],
    // 11100111'0pxrrrrr'ffoooooo
    [[0xe7, 0x13, 0x05], { op: 'save_any_xreg', length: 3, reg: 19, pair: false, preIndexed: false, stackOffset: 40 }],
    [[0xe7, 0x75, 0x01], { op: 'save_any_xreg', length: 3, reg: 21, pair: true, preIndexed: true, stackOffset: 32 }],
    [[0xe7, 0x08, 0x43], { op: 'save_any_dreg', length: 3, reg: 8, pair: false, preIndexed: false, stackOffset: 24 }],
    [[0xe7, 0x48, 0x42], { op: 'save_any_dreg', length: 3, reg: 8, pair: true, preIndexed: false, stackOffset: 32 }],
    // stp q6,q7,[sp,#-0xb0]! (Wine's unwind test 14, whose results come from Windows)
    [[0xe7, 0x66, 0x8a], { op: 'save_any_qreg', length: 3, reg: 6, pair: true, preIndexed: true, stackOffset: 176 }],
    // 11100111'0oo0rrrr'11oooooo: Z(8+3) at [sp + 0b01_000101 * VL]
    [[0xe7, 0x23, 0xc5], { op: 'save_zreg', length: 3, reg: 11, scaledOffset: 69 }],
    [[0xe7, 0x15, 0xc2], { op: 'save_preg', length: 3, reg: 5, scaledOffset: 2 }],
    [[0xe8], { op: 'trap_frame', length: 1 }],
    [[0xe9], { op: 'machine_frame', length: 1 }],
    [[0xea], { op: 'context', length: 1 }],
    [[0xeb], { op: 'ec_context', length: 1 }],
    [[0xec], { op: 'clear_unwound_to_call', length: 1 }],
    [[0xfc], { op: 'pac_sign_lr', length: 1 }],
  ];
  for (const [bytes, expected] of cases) {
    assert.deepEqual(code(...bytes), expected, bytes.map((b) => b.toString(16)).join(' '));
    assert.equal(unwindCodeLength(bytes[0]!), bytes.length);
  }
});

test('unwind codes: reserved encodings and codes cut short are decode errors', () => {
  for (const b of [0xed, 0xee, 0xef, 0xf0, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfd, 0xfe, 0xff]) {
    assert.equal(code(b, 0, 0, 0, 0), undefined, b.toString(16));
    assert.equal(unwindCodeLength(b), undefined);
  }
  assert.equal(code(0xe7, 0x80, 0x00), undefined, "11100111'1yyyyyyy is reserved");
  assert.equal(code(0xe7, 0x12, 0xc0), undefined, 'P0-P3 are reserved for save_preg');
  assert.equal(code(0xc8), undefined, 'two-byte code without its second byte');
  assert.equal(code(0xe0, 0x01, 0x02), undefined, 'alloc_l without its last byte');
  assert.equal(code(0xe7, 0x13), undefined);
  assert.equal(decodeUnwindCode(Uint8Array.of(0xe4), 1), undefined, 'past the end');
  assert.equal(decodeUnwindCode(Uint8Array.of(0xe4), -1), undefined);
});

test('unwind codes: any byte string decodes or fails, with the length its first byte announces', () => {
  for (let b0 = 0; b0 < 256; b0++) {
    for (const b1 of [0x00, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff]) {
      const decoded = code(b0, b1, 0xc5, 0xff);
      const length = unwindCodeLength(b0);
      if (decoded) assert.equal(decoded.length, length);
      else assert.ok(length === undefined || b0 === 0xe7, `0x${b0.toString(16)} ${b1.toString(16)}`);
    }
  }
});

test('unwind codes: custom stack codes stand for no instruction, all others for one', () => {
  const ops = [0xe8, 0xe9, 0xea, 0xeb, 0xec].map((b) => instructionCount(code(b)!));
  assert.deepEqual(ops, [0, 0, 0, 0, 0]);
  assert.equal(instructionCount(code(0xc8, 0x9e)!), 1);
  assert.equal(instructionCount(code(0xe0, 0, 0, 1)!), 1);
  // set_fp, machine_frame, save_r19r20_x, end_c, nop: the scope ends at end_c
  const codes = decodeUnwindCodeSequence(Uint8Array.of(0xe1, 0xe9, 0x22, 0xe5, 0xe3, 0xe4), 0)!;
  assert.equal(scopeInstructionCount(codes), 2);
});

test('code sequences run through end_c to the first end, and ignore what follows', () => {
  const bytes = Uint8Array.of(0xe5, 0xe1, 0xc8, 0x1e, 0xe4, 0xff, 0xff, 0xff);
  assert.deepEqual(
    decodeUnwindCodeSequence(bytes, 0)!.map((c) => c.op),
    ['end_c', 'set_fp', 'save_regp', 'end'],
  );
  assert.deepEqual(decodeUnwindCodeSequence(bytes, 2)!.map((c) => c.op), ['save_regp', 'end']);
  assert.deepEqual(decodeUnwindCodeSequence(Uint8Array.of(0x01, 0x02), 0)!.map((c) => c.op), ['alloc_s', 'alloc_s'], 'no end: up to the last byte');
  assert.equal(decodeUnwindCodeSequence(bytes, 5), undefined, 'a reserved code before any end');
  assert.equal(decodeUnwindCodeSequence(bytes, 9), undefined);
});

test('.pdata UnwindData: Flag 0 is an .xdata RVA, 1 and 2 packed data, 3 reserved', () => {
  assert.deepEqual(decodeUnwindDataWord(0x00012340), { kind: 'xdata', rva: 0x12340 });
  assert.equal(decodeUnwindDataWord(0x416101ed)?.kind, 'packed');
  assert.equal(decodeUnwindDataWord(0x416101ee)?.kind, 'packed');
  assert.equal(decodeUnwindDataWord(0x416101ef), undefined);
  assert.equal(decodeUnwindDataWord(-1), undefined);
  assert.equal(decodeUnwindDataWord(2 ** 32), undefined);
});

test('packed unwind data: the doc example 1 word 0x416101ed and its prologue', () => {
  // |Foo|: str x19,[sp,#-0x10]!; sub sp,sp,#0x810; stp fp,lr,[sp]; mov fp,sp
  // ;Flags[SingleProEpi] functionLength[492] RegF[0] RegI[1] H[0] frameChainReturn[Chained] frameSize[2080]
  const packed = decodePackedUnwindData(0x416101ed)!;
  assert.deepEqual(packed, { flag: 1, functionLength: 492, regF: 0, regI: 1, homesParameters: false, cr: 3, frameSize: 2080 });
  const canonical = expandPackedUnwindData(packed)!;
  assert.deepEqual(prologueOf(canonical.prologue), ['str x19,[sp,#-16]!', 'sub sp,sp,#2064', 'stp x29,lr,[sp,#0]', 'mov x29,sp']);
  assert.deepEqual(
    canonical.prologue.map((c) => c.op),
    ['set_fp', 'save_fplr', 'alloc_m', 'save_reg_x', 'end'],
  );
  assert.deepEqual(epilogueOf(canonical.epilogue!), ['ldp x29,lr,[sp,#0]', 'add sp,sp,#2064', 'ldr x19,[sp],#16']);
});

/** The prologue, in execution order, that unwind codes (in unwind order) describe. */
function prologueOf(codes: readonly Arm64UnwindCode[]): string[] {
  return codes
    .filter((c) => c.op !== 'end')
    .map(asPrologueInstruction)
    .reverse();
}

function epilogueOf(codes: readonly Arm64UnwindCode[]): string[] {
  return codes.filter((c) => c.op !== 'end').map(asEpilogueInstruction);
}

function x(n: number): string {
  return n === 30 ? 'lr' : `x${n}`;
}

function asPrologueInstruction(c: Arm64UnwindCode): string {
  switch (c.op) {
    case 'alloc_s':
    case 'alloc_m':
    case 'alloc_l':
      return `sub sp,sp,#${c.size}`;
    case 'save_regp':
      return `stp ${x(c.reg)},${x(c.reg + 1)},[sp,#${c.stackOffset}]`;
    case 'save_regp_x':
      return `stp ${x(c.reg)},${x(c.reg + 1)},[sp,#-${c.stackOffset}]!`;
    case 'save_reg':
      return `str ${x(c.reg)},[sp,#${c.stackOffset}]`;
    case 'save_reg_x':
      return `str ${x(c.reg)},[sp,#-${c.stackOffset}]!`;
    case 'save_lrpair':
      return `stp ${x(c.reg)},lr,[sp,#${c.stackOffset}]`;
    case 'save_fregp':
      return `stp d${c.reg},d${c.reg + 1},[sp,#${c.stackOffset}]`;
    case 'save_fregp_x':
      return `stp d${c.reg},d${c.reg + 1},[sp,#-${c.stackOffset}]!`;
    case 'save_freg':
      return `str d${c.reg},[sp,#${c.stackOffset}]`;
    case 'save_fplr':
      return `stp x29,lr,[sp,#${c.stackOffset}]`;
    case 'save_fplr_x':
      return `stp x29,lr,[sp,#-${c.stackOffset}]!`;
    case 'set_fp':
      return 'mov x29,sp';
    case 'pac_sign_lr':
      return 'pacibsp';
    case 'nop':
      return 'stp (home)';
    default:
      return c.op;
  }
}

function asEpilogueInstruction(c: Arm64UnwindCode): string {
  switch (c.op) {
    case 'alloc_s':
    case 'alloc_m':
    case 'alloc_l':
      return `add sp,sp,#${c.size}`;
    case 'save_regp':
      return `ldp ${x(c.reg)},${x(c.reg + 1)},[sp,#${c.stackOffset}]`;
    case 'save_regp_x':
      return `ldp ${x(c.reg)},${x(c.reg + 1)},[sp],#${c.stackOffset}`;
    case 'save_reg':
      return `ldr ${x(c.reg)},[sp,#${c.stackOffset}]`;
    case 'save_reg_x':
      return `ldr ${x(c.reg)},[sp],#${c.stackOffset}`;
    case 'save_lrpair':
      return `ldp ${x(c.reg)},lr,[sp,#${c.stackOffset}]`;
    case 'save_fregp':
      return `ldp d${c.reg},d${c.reg + 1},[sp,#${c.stackOffset}]`;
    case 'save_fregp_x':
      return `ldp d${c.reg},d${c.reg + 1},[sp],#${c.stackOffset}`;
    case 'save_freg':
      return `ldr d${c.reg},[sp,#${c.stackOffset}]`;
    case 'save_fplr':
      return `ldp x29,lr,[sp,#${c.stackOffset}]`;
    case 'save_fplr_x':
      return `ldp x29,lr,[sp],#${c.stackOffset}`;
    case 'pac_sign_lr':
      return 'autibsp';
    default:
      return c.op;
  }
}

function packed(fields: Partial<Arm64PackedUnwindData> & { frameSize: number }): Arm64PackedUnwindData {
  return { flag: 1, functionLength: 0x100, regF: 0, regI: 0, homesParameters: false, cr: 0, ...fields };
}

test('packed unwind data: canonical prologues and epilogues of the doc table, per RegI/RegF/H/CR/FrameSize', () => {
  const cases: [string, Arm64PackedUnwindData, string[], string[]][] = [
    [
      'RegI=2 CR=01: step 2 pair, step 3 lr at the end of the int area, 6d locals',
      packed({ regI: 2, cr: 1, frameSize: 48 }),
      ['stp x19,x20,[sp,#-32]!', 'str lr,[sp,#16]', 'sub sp,sp,#16'],
      ['add sp,sp,#16', 'ldr lr,[sp,#16]', 'ldp x19,x20,[sp],#32'],
    ],
    [
      'RegI=3 RegF=2: odd int register alone, d8-d9 pair then d10 alone, no locals',
      packed({ regI: 3, regF: 2, frameSize: 48 }),
      ['stp x19,x20,[sp,#-48]!', 'str x21,[sp,#16]', 'stp d8,d9,[sp,#24]', 'str d10,[sp,#40]'],
      ['ldr d10,[sp,#40]', 'ldp d8,d9,[sp,#24]', 'ldr x21,[sp,#16]', 'ldp x19,x20,[sp],#48'],
    ],
    [
      'RegI=0 RegF=1: the first FP stp does the predecrement (note **)',
      packed({ regF: 1, frameSize: 48 }),
      ['stp d8,d9,[sp,#-16]!', 'sub sp,sp,#32'],
      ['add sp,sp,#32', 'ldp d8,d9,[sp],#16'],
    ],
    [
      'RegI=1 H=1: x0-x7 homed in the save area (step 5 nops), absent from the epilogue',
      packed({ regI: 1, homesParameters: true, frameSize: 112 }),
      ['str x19,[sp,#-80]!', 'stp (home)', 'stp (home)', 'stp (home)', 'stp (home)', 'sub sp,sp,#32'],
      ['add sp,sp,#32', 'ldr x19,[sp],#80'],
    ],
    [
      'RegI=1 CR=01: the doc\'s "only x19 saved" form, save area allocated first (note *)',
      packed({ regI: 1, cr: 1, frameSize: 80 }),
      ['sub sp,sp,#16', 'stp x19,lr,[sp,#0]', 'sub sp,sp,#64'],
      ['add sp,sp,#64', 'ldp x19,lr,[sp,#0]', 'add sp,sp,#16'],
    ],
    [
      'RegI=3 CR=01: odd int register and lr merged into one pair',
      packed({ regI: 3, cr: 1, frameSize: 48 }),
      ['stp x19,x20,[sp,#-32]!', 'stp x21,lr,[sp,#16]', 'sub sp,sp,#16'],
      ['add sp,sp,#16', 'ldp x21,lr,[sp,#16]', 'ldp x19,x20,[sp],#32'],
    ],
    [
      'CR=11, #locsz <= 512: 6a, no mov x29,sp in the epilogue',
      packed({ regI: 2, cr: 3, frameSize: 48 }),
      ['stp x19,x20,[sp,#-16]!', 'stp x29,lr,[sp,#-32]!', 'mov x29,sp'],
      ['ldp x29,lr,[sp],#32', 'ldp x19,x20,[sp],#16'],
    ],
    [
      'CR=11, 512 < #locsz <= 4080: 6b',
      packed({ regI: 2, cr: 3, frameSize: 544 }),
      ['stp x19,x20,[sp,#-16]!', 'sub sp,sp,#528', 'stp x29,lr,[sp,#0]', 'mov x29,sp'],
      ['ldp x29,lr,[sp,#0]', 'add sp,sp,#528', 'ldp x19,x20,[sp],#16'],
    ],
    [
      'CR=11, #locsz > 4080: 6c, two subs',
      packed({ regI: 2, cr: 3, frameSize: 5008 }),
      ['stp x19,x20,[sp,#-16]!', 'sub sp,sp,#4080', 'sub sp,sp,#912', 'stp x29,lr,[sp,#0]', 'mov x29,sp'],
      ['ldp x29,lr,[sp,#0]', 'add sp,sp,#912', 'add sp,sp,#4080', 'ldp x19,x20,[sp],#16'],
    ],
    [
      'CR=00, #locsz > 4080: 6e',
      packed({ frameSize: 8176 }),
      ['sub sp,sp,#4080', 'sub sp,sp,#4096'],
      ['add sp,sp,#4096', 'add sp,sp,#4080'],
    ],
    [
      'CR=10: pacibsp first (step 1), autibsp last; H with nothing saved homes into the local area',
      packed({ cr: 2, homesParameters: true, frameSize: 96 }),
      ['pacibsp', 'stp x29,lr,[sp,#-96]!', 'mov x29,sp'],
      ['ldp x29,lr,[sp],#96', 'autibsp'],
    ],
    [
      'RegI=10 RegF=7 H=1 CR=10: the largest save area',
      packed({ regI: 10, regF: 7, homesParameters: true, cr: 2, frameSize: 256 }),
      [
        'pacibsp',
        'stp x19,x20,[sp,#-208]!',
        'stp x21,x22,[sp,#16]',
        'stp x23,x24,[sp,#32]',
        'stp x25,x26,[sp,#48]',
        'stp x27,x28,[sp,#64]',
        'stp d8,d9,[sp,#80]',
        'stp d10,d11,[sp,#96]',
        'stp d12,d13,[sp,#112]',
        'stp d14,d15,[sp,#128]',
        'stp (home)',
        'stp (home)',
        'stp (home)',
        'stp (home)',
        'stp x29,lr,[sp,#-48]!',
        'mov x29,sp',
      ],
      [
        'ldp x29,lr,[sp],#48',
        'ldp d14,d15,[sp,#128]',
        'ldp d12,d13,[sp,#112]',
        'ldp d10,d11,[sp,#96]',
        'ldp d8,d9,[sp,#80]',
        'ldp x27,x28,[sp,#64]',
        'ldp x25,x26,[sp,#48]',
        'ldp x23,x24,[sp,#32]',
        'ldp x21,x22,[sp,#16]',
        'ldp x19,x20,[sp],#208',
        'autibsp',
      ],
    ],
  ];
  for (const [name, fields, prologue, epilogue] of cases) {
    const canonical = expandPackedUnwindData(fields);
    assert.ok(canonical, name);
    assert.deepEqual(prologueOf(canonical.prologue), prologue, name);
    assert.deepEqual(epilogueOf(canonical.epilogue!), epilogue, name);
    assert.equal(canonical.prologue.at(-1)?.op, 'end', name);
  }
});

test('packed unwind data: a fragment (Flag 2) is all "phantom" prologue: end_c first, no epilogue', () => {
  const canonical = expandPackedUnwindData(packed({ flag: 2, regI: 2, cr: 3, frameSize: 48 }))!;
  assert.deepEqual(
    canonical.prologue.map((c) => c.op),
    ['end_c', 'set_fp', 'save_fplr_x', 'save_regp_x', 'end'],
  );
  assert.equal(scopeInstructionCount(canonical.prologue), 0);
  assert.equal(canonical.epilogue, undefined);
});

test('packed unwind data: invalid field combinations are decode errors', () => {
  assert.equal(decodePackedUnwindData(0x00000000), undefined, 'Flag 0');
  assert.equal(decodePackedUnwindData(0x000b0001), undefined, 'RegI 11');
  assert.equal(expandPackedUnwindData(packed({ regI: 4, frameSize: 16 })), undefined, 'frame smaller than its save area');
  assert.deepEqual(expandPackedUnwindData(packed({ frameSize: 0 }))!.prologue.map((c) => c.op), ['end']);
});

// The doc's example 2 (|Bar|): header 0x1040003d, one scope word, two code words
// e1 91 22 e4 = set_fp, save_fplr_x 144, save_r19r20_x 16, end (twice: prologue, epilogue).
const EXAMPLE_2 = le32(0x1040003d, 0x01000038, 0xe42291e1, 0xe42291e1);

test('.xdata: the doc example 2 decodes header, scope and codes', () => {
  assert.equal(xdataSize(EXAMPLE_2), 16);
  const xdata = decodeXData(EXAMPLE_2)!;
  assert.equal(xdata.functionLength, 0x3d * 4);
  assert.equal(xdata.version, 0);
  assert.equal(xdata.hasExceptionData, false);
  assert.equal(xdata.epilogInHeader, false);
  assert.deepEqual(xdata.epilogScopes, [{ startOffset: 0x38 * 4, reserved: 0, startIndex: 4 }]);
  assert.deepEqual([...xdata.codes], [0xe1, 0x91, 0x22, 0xe4, 0xe1, 0x91, 0x22, 0xe4]);
  assert.deepEqual(decodeUnwindCodeSequence(xdata.codes, 0), [
    { op: 'set_fp', length: 1 },
    { op: 'save_fplr_x', length: 1, stackOffset: 0x90 },
    { op: 'save_r19r20_x', length: 1, stackOffset: 0x10 },
    { op: 'end', length: 1 },
  ]);
  assert.equal(xdata.exceptionHandlerRva, undefined);
  assert.equal(xdata.size, 16);
});

test('.xdata: the doc example 3 (variadic, save_lrpair) decodes its nops and epilogue index', () => {
  const bytes = le32(0x18400012, 0x0200000f, 0xe3e3e3e3, 0xe40500d6, 0xe40500d6);
  const xdata = decodeXData(bytes)!;
  assert.equal(xdata.functionLength, 18 * 4);
  assert.deepEqual(xdata.epilogScopes, [{ startOffset: 15 * 4, reserved: 0, startIndex: 8 }]);
  assert.deepEqual(
    decodeUnwindCodeSequence(xdata.codes, 0)!.map((c) => c.op),
    ['nop', 'nop', 'nop', 'nop', 'save_lrpair', 'alloc_s', 'end'],
  );
  assert.deepEqual(decodeUnwindCodeSequence(xdata.codes, 8), [
    { op: 'save_lrpair', length: 2, reg: 19, stackOffset: 0 },
    { op: 'alloc_s', length: 1, size: 80 },
    { op: 'end', length: 1 },
  ]);
});

test('.xdata: E bit, extension word, exception handler RVA', () => {
  // E=1, Epilog Count = code index 1, 1 code word, X=1: header, codes, handler RVA.
  const single = decodeXData(le32(20 | (1 << 20) | (1 << 21) | (1 << 22) | (1 << 27), 0xe40181e1, 0x00004560))!;
  assert.equal(single.epilogInHeader, true);
  assert.equal(single.epilogStartIndex, 1);
  assert.deepEqual(single.epilogScopes, []);
  assert.equal(single.exceptionHandlerRva, 0x4560);
  assert.equal(single.size, 12);

  // Epilog Count and Code Words 0 in the header: the extension word gives 2 scopes and 1 code word.
  const ext = le32(0x40, 2 | (1 << 16), 0x00000002, (2 << 22) | 0x10, 0xe4e4e4e4);
  assert.equal(xdataSize(ext), 20);
  const extended = decodeXData(ext)!;
  assert.deepEqual(extended.epilogScopes, [
    { startOffset: 8, reserved: 0, startIndex: 0 },
    { startOffset: 0x40, reserved: 0, startIndex: 2 },
  ]);
  assert.equal(extended.codes.length, 4);
  assert.equal(xdataSize(ext.subarray(0, 4)), undefined, 'needs the extension word');
});

test('.xdata: bad version, cut-short records, scope indexes past the codes and huge counts are decode errors', () => {
  assert.equal(decodeXData(le32(0x10 | (1 << 18) | (1 << 27), 0xe4e4e4e4)), undefined, 'Vers 1');
  assert.equal(decodeXData(EXAMPLE_2.subarray(0, 15)), undefined, 'one byte short');
  assert.equal(decodeXData(le32(0x10 | (1 << 22) | (1 << 27), 8 << 22, 0xe4e4e4e4)), undefined, 'index 8 of 4 code bytes');
  assert.equal(decodeXData(le32(0x10 | (1 << 21) | (5 << 22) | (1 << 27), 0xe4e4e4e4)), undefined, 'E: index 5 of 4 code bytes');
  const many = new Uint8Array(8 + 4 * (MAX_EPILOG_SCOPES + 1) + 4);
  many.set(le32(0x10, (MAX_EPILOG_SCOPES + 1) | (1 << 16)));
  assert.equal(decodeXData(many), undefined, 'more epilogue scopes than the cap');
  for (let cut = 0; cut < EXAMPLE_2.length; cut++) assert.equal(decodeXData(EXAMPLE_2.subarray(0, cut)), undefined);
});

test('.xdata: read through an image, first word first, a record ending the image read exactly', async () => {
  const image = new Uint8Array(0x40);
  image.set(EXAMPLE_2, 0x10);
  image.set(le32(4 | (1 << 21) | (1 << 27), 0xe3e3e3e4), 0x38); // E=1, index 0, 1 code word: 8 bytes
  const reads: [number, number][] = [];
  const reader = {
    async readRva(rva: number, length: number): Promise<Uint8Array | undefined> {
      reads.push([rva, length]);
      return rva + length <= image.length ? image.slice(rva, rva + length) : undefined;
    },
  };
  assert.equal((await readXData(reader, 0x10))?.epilogScopes.length, 1);
  assert.deepEqual(reads, [[0x10, 4], [0x10, 16]]);
  reads.length = 0;
  assert.equal((await readXData(reader, 0x38))?.size, 8);
  assert.deepEqual(reads, [[0x38, 4], [0x38, 8]]);
  image.set(le32(4 | (1 << 21)), 0x3c); // both counts 0: an extension word would follow, past the end
  assert.equal(await readXData(reader, 0x3c), undefined);
  assert.equal(await readXData(reader, 0x40), undefined, 'outside the image');
  assert.equal(await readXData(reader, 0x12), undefined, 'unaligned');
  const throwing = { readRva: async (): Promise<Uint8Array> => Promise.reject(new Error('io')) };
  assert.equal(await readXData(throwing, 0x10), undefined);
});

test('function length of a .pdata entry: packed field, or the .xdata header word', async () => {
  const image = { readRva: async (rva: number, length: number): Promise<Uint8Array | undefined> => (rva === 0x40 && length === 4 ? EXAMPLE_2.slice(0, 4) : undefined) };
  assert.equal(await arm64FunctionLength(image, { begin: 0x1000, unwindData: 0x416101ed }), 492);
  assert.equal(await arm64FunctionLength(image, { begin: 0x1000, unwindData: 0x40 }), 0x3d * 4);
  assert.equal(await arm64FunctionLength(image, { begin: 0x1000, unwindData: 0x80 }), undefined, 'unreadable');
  assert.equal(await arm64FunctionLength(image, { begin: 0x1000, unwindData: 0x43 }), undefined, 'Flag 3');
});
