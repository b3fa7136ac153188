// ARM64 unwind data of a PE image: the .pdata UnwindData word (packed unwind data or the RVA of an
// .xdata record), .xdata records and their unwind codes. Facts from Microsoft's "ARM64 exception
// handling" (learn.microsoft.com/cpp/build/arm64-exception-handling); where that page is silent or
// disagrees with what Windows' own unwinder does, the comment says so. Decoders never throw: bytes
// that do not decode give undefined.

/** The part of a PE image the ARM64 and ARM unwind-data readers read (PeImage satisfies it); `name` goes into errors. */
export interface RvaReader {
  readonly name?: string;
  readRva(rva: number, length: number): Promise<Uint8Array | undefined>;
}

/** One ARM64 .pdata entry, 8 bytes: BeginAddress and UnwindData. */
export interface Arm64FunctionEntry {
  readonly begin: number;
  readonly unwindData: number;
}

/**
 * One unwind code, in the doc's names, with its encoded length in bytes. Offsets and sizes are in
 * bytes. `stackOffset` of an `_x` (pre-indexed) save is the amount the prologue's store
 * pre-decremented sp by, so unwinding reads at sp and then adds it.
 */
export type Arm64UnwindCode = { readonly length: number } & (
  | { readonly op: 'alloc_s' | 'alloc_m' | 'alloc_l'; readonly size: number }
  | { readonly op: 'save_r19r20_x'; readonly stackOffset: number }
  | { readonly op: 'save_fplr' | 'save_fplr_x'; readonly stackOffset: number }
  | { readonly op: 'save_regp' | 'save_regp_x' | 'save_reg' | 'save_reg_x'; readonly reg: number; readonly stackOffset: number }
  /** `stp x(reg), lr, [sp+stackOffset]` */
  | { readonly op: 'save_lrpair'; readonly reg: number; readonly stackOffset: number }
  /** `reg` is the d register number (8..15 from these codes). */
  | { readonly op: 'save_fregp' | 'save_fregp_x' | 'save_freg' | 'save_freg_x'; readonly reg: number; readonly stackOffset: number }
  /** sp -= vectors * SVE vector length (a length only the hardware knows). */
  | { readonly op: 'alloc_z'; readonly vectors: number }
  | { readonly op: 'set_fp' }
  /** `add x29, sp, #offset` */
  | { readonly op: 'add_fp'; readonly offset: number }
  | { readonly op: 'nop' | 'end' | 'end_c' | 'save_next' }
  /** Any X, D or Q register (or pair); `preIndexed`: the store pre-decremented sp by `stackOffset`. */
  | {
      readonly op: 'save_any_xreg' | 'save_any_dreg' | 'save_any_qreg';
      readonly reg: number;
      readonly pair: boolean;
      readonly preIndexed: boolean;
      readonly stackOffset: number;
    }
  /** SVE registers, saved at [sp + offset * VL] (Z) or [sp + offset * VL/8] (P): nothing the unwinder tracks. */
  | { readonly op: 'save_zreg' | 'save_preg'; readonly reg: number; readonly scaledOffset: number }
  /** Custom stacks for assembly routines: records whose layout Windows knows (not this doc). */
  | { readonly op: 'trap_frame' | 'machine_frame' | 'context' | 'ec_context' | 'clear_unwound_to_call' }
  | { readonly op: 'pac_sign_lr' }
);

export type Arm64UnwindOp = Arm64UnwindCode['op'];

// ---------------------------------------------------------------------------------------------
// Unwind codes

/** The byte length of the unwind code starting with `first`, or undefined for a reserved one. */
export function unwindCodeLength(first: number): number | undefined {
  if (first < 0xc0) return 1;
  if (first < 0xe0) return 2;
  switch (first) {
    case 0xe0:
      return 4; // alloc_l
    case 0xe2:
      return 2; // add_fp
    case 0xe7:
      return 3; // save_any_reg family
    case 0xe1:
    case 0xe3:
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe8:
    case 0xe9:
    case 0xea:
    case 0xeb:
    case 0xec:
    case 0xfc:
      return 1;
    default:
      return undefined;
  }
}

/** Decodes the unwind code at `at`; undefined when reserved or cut short by the end of `bytes`. */
export function decodeUnwindCode(bytes: Uint8Array, at: number): Arm64UnwindCode | undefined {
  if (!Number.isInteger(at) || at < 0 || at >= bytes.length) return undefined;
  const b0 = bytes[at]!;
  const length = unwindCodeLength(b0);
  if (length === undefined || at + length > bytes.length) return undefined;
  const b1 = length > 1 ? bytes[at + 1]! : 0;
  if (b0 < 0x20) return { op: 'alloc_s', length, size: (b0 & 0x1f) * 16 }; // 000xxxxx
  if (b0 < 0x40) return { op: 'save_r19r20_x', length, stackOffset: (b0 & 0x1f) * 8 }; // 001zzzzz: [sp-#Z*8]!
  if (b0 < 0x80) return { op: 'save_fplr', length, stackOffset: (b0 & 0x3f) * 8 }; // 01zzzzzz
  if (b0 < 0xc0) return { op: 'save_fplr_x', length, stackOffset: ((b0 & 0x3f) + 1) * 8 }; // 10zzzzzz
  if (b0 < 0xc8) return { op: 'alloc_m', length, size: (((b0 & 0x07) << 8) | b1) * 16 }; // 11000xxx'xxxxxxxx
  const x4 = ((b0 & 0x03) << 2) | (b1 >> 6); // 4-bit X spanning the two bytes (xx'xx)
  const x3 = ((b0 & 0x01) << 2) | (b1 >> 6); // 3-bit X (x'xx)
  const z6 = b1 & 0x3f;
  if (b0 < 0xcc) return { op: 'save_regp', length, reg: 19 + x4, stackOffset: z6 * 8 }; // 110010xx'xxzzzzzz
  if (b0 < 0xd0) return { op: 'save_regp_x', length, reg: 19 + x4, stackOffset: (z6 + 1) * 8 }; // 110011xx'xxzzzzzz
  if (b0 < 0xd4) return { op: 'save_reg', length, reg: 19 + x4, stackOffset: z6 * 8 }; // 110100xx'xxzzzzzz
  if (b0 < 0xd6) {
    // 1101010x'xxxzzzzz
    return { op: 'save_reg_x', length, reg: 19 + (((b0 & 0x01) << 3) | (b1 >> 5)), stackOffset: ((b1 & 0x1f) + 1) * 8 };
  }
  if (b0 < 0xd8) return { op: 'save_lrpair', length, reg: 19 + 2 * x3, stackOffset: z6 * 8 }; // 1101011x'xxzzzzzz
  if (b0 < 0xda) return { op: 'save_fregp', length, reg: 8 + x3, stackOffset: z6 * 8 }; // 1101100x'xxzzzzzz
  if (b0 < 0xdc) return { op: 'save_fregp_x', length, reg: 8 + x3, stackOffset: (z6 + 1) * 8 }; // 1101101x'xxzzzzzz
  if (b0 < 0xde) return { op: 'save_freg', length, reg: 8 + x3, stackOffset: z6 * 8 }; // 1101110x'xxzzzzzz
  if (b0 === 0xde) return { op: 'save_freg_x', length, reg: 8 + (b1 >> 5), stackOffset: ((b1 & 0x1f) + 1) * 8 }; // 11011110'xxxzzzzz
  if (b0 === 0xdf) return { op: 'alloc_z', length, vectors: b1 }; // 11011111'zzzzzzzz
  switch (b0) {
    case 0xe0: // 11100000'xxxxxxxx'xxxxxxxx'xxxxxxxx, most significant byte first
      return { op: 'alloc_l', length, size: ((b1 << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) * 16 };
    case 0xe1:
      return { op: 'set_fp', length };
    case 0xe2:
      return { op: 'add_fp', length, offset: b1 * 8 };
    case 0xe3:
      return { op: 'nop', length };
    case 0xe4:
      return { op: 'end', length };
    case 0xe5:
      return { op: 'end_c', length };
    case 0xe6:
      return { op: 'save_next', length };
    case 0xe7:
      return decodeSaveAnyReg(length, b1, bytes[at + 2]!);
    case 0xe8:
      return { op: 'trap_frame', length };
    case 0xe9:
      return { op: 'machine_frame', length };
    case 0xea:
      return { op: 'context', length };
    case 0xeb:
      return { op: 'ec_context', length };
    case 0xec:
      return { op: 'clear_unwound_to_call', length };
    case 0xfc:
      return { op: 'pac_sign_lr', length };
    default:
      return undefined;
  }
}

/**
 * 11100111'0pxrrrrr'ffoooooo (save_any_xreg/dreg/qreg, f = 00/01/10) and 11100111'0oo?rrrr'11oooooo
 * (save_zreg/save_preg). The doc gives no scale for a pre-indexed offset; Windows' unwinder (as
 * published with .NET) and Wine both pre-decrement by (o+1)*16, which is used here.
 */
function decodeSaveAnyReg(length: number, b1: number, b2: number): Arm64UnwindCode | undefined {
  if (b1 & 0x80) return undefined; // 11100111'1yyyyyyy: reserved
  const kind = b2 >> 6;
  const o = b2 & 0x3f;
  if (kind === 3) {
    const offset = (((b1 >> 5) & 0x03) << 6) | o;
    if (b1 & 0x10) {
      const reg = b1 & 0x0f;
      if (reg < 4) return undefined; // P0-P3: reserved
      return { op: 'save_preg', length, reg, scaledOffset: offset };
    }
    return { op: 'save_zreg', length, reg: 8 + (b1 & 0x0f), scaledOffset: offset };
  }
  const pair = (b1 & 0x40) !== 0;
  const preIndexed = (b1 & 0x20) !== 0;
  const reg = b1 & 0x1f;
  const scale = preIndexed || pair || kind === 2 ? 16 : 8;
  const stackOffset = (preIndexed ? o + 1 : o) * scale;
  const op = kind === 0 ? 'save_any_xreg' : kind === 1 ? 'save_any_dreg' : 'save_any_qreg';
  return { op, length, reg, pair, preIndexed, stackOffset };
}

/**
 * The codes from byte `start` through the first `end` (inclusive), or to the end of `bytes` when
 * none comes; `end_c` does not stop it (the codes after it are the parent region's "phantom"
 * prologue). Undefined when a code is reserved or cut short.
 */
export function decodeUnwindCodeSequence(bytes: Uint8Array, start: number): Arm64UnwindCode[] | undefined {
  if (!Number.isInteger(start) || start < 0 || start > bytes.length) return undefined;
  const codes: Arm64UnwindCode[] = [];
  for (let at = start; at < bytes.length; ) {
    const code = decodeUnwindCode(bytes, at);
    if (!code) return undefined;
    codes.push(code);
    if (code.op === 'end') break;
    at += code.length;
  }
  return codes;
}

/**
 * Instructions a code stands for in a prologue or epilogue: one each, except the custom stack
 * codes, which describe frames set up without an instruction (Windows counts them as zero).
 */
export function instructionCount(code: Arm64UnwindCode): 0 | 1 {
  switch (code.op) {
    case 'trap_frame':
    case 'machine_frame':
    case 'context':
    case 'ec_context':
    case 'clear_unwound_to_call':
      return 0;
    default:
      return 1;
  }
}

/** Instructions of the scope the codes describe: up to the first `end` or `end_c`. */
export function scopeInstructionCount(codes: readonly Arm64UnwindCode[]): number {
  let count = 0;
  for (const code of codes) {
    if (code.op === 'end' || code.op === 'end_c') break;
    count += instructionCount(code);
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// .pdata UnwindData word

/** Packed unwind data (Flag 1 or 2), fields as the doc names them; lengths and sizes in bytes. */
export interface Arm64PackedUnwindData {
  /** 1: one prologue and one epilogue; 2: a fragment without prologue or epilogue. */
  readonly flag: 1 | 2;
  readonly functionLength: number;
  /** 0, or one less than the number of FP registers d8.. saved. */
  readonly regF: number;
  /** Integer registers x19.. saved (0..10). */
  readonly regI: number;
  /** H: x0-x7 homed at the start of the function. */
  readonly homesParameters: boolean;
  /** CR: 0 unchained, 1 unchained with lr saved, 2 chained with pacibsp, 3 chained. */
  readonly cr: 0 | 1 | 2 | 3;
  readonly frameSize: number;
}

/** What a .pdata UnwindData word holds. */
export type Arm64UnwindDataRef =
  | { readonly kind: 'xdata'; readonly rva: number }
  | { readonly kind: 'packed'; readonly packed: Arm64PackedUnwindData };

/**
 * Splits the UnwindData word by its Flag (low 2 bits): 0, the RVA of an .xdata record; 1 and 2,
 * packed unwind data; 3 is reserved in the doc (undefined).
 */
export function decodeUnwindDataWord(unwindData: number): Arm64UnwindDataRef | undefined {
  if (!Number.isInteger(unwindData) || unwindData < 0 || unwindData > 0xffffffff) return undefined;
  const flag = unwindData & 3;
  if (flag === 0) return { kind: 'xdata', rva: unwindData };
  if (flag === 3) return undefined;
  const packed = decodePackedUnwindData(unwindData);
  return packed && { kind: 'packed', packed };
}

/**
 * Packed unwind data: Flag (2 bits), Function Length (11, /4), RegF (3), RegI (4), H (1), CR (2),
 * Frame Size (9, /16). RegI above 10 names registers past x28: undefined.
 */
export function decodePackedUnwindData(word: number): Arm64PackedUnwindData | undefined {
  if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) return undefined;
  const flag = word & 3;
  if (flag !== 1 && flag !== 2) return undefined;
  const regI = (word >>> 16) & 0x0f;
  if (regI > 10) return undefined;
  return {
    flag,
    functionLength: ((word >>> 2) & 0x7ff) * 4,
    regF: (word >>> 13) & 0x07,
    regI,
    homesParameters: ((word >>> 20) & 1) === 1,
    cr: ((word >>> 21) & 3) as 0 | 1 | 2 | 3,
    frameSize: ((word >>> 23) & 0x1ff) * 16,
  };
}

/** The unwind codes a packed record stands for, in unwind order (as .xdata would hold them). */
export interface Arm64CanonicalUnwind {
  /** Prologue codes (also the body's), in unwind order, ending with `end`. */
  readonly prologue: readonly Arm64UnwindCode[];
  /** The single epilogue at the end of the function; undefined for a fragment (Flag 2). */
  readonly epilogue: readonly Arm64UnwindCode[] | undefined;
}

/**
 * The canonical prologue and epilogue of packed unwind data, after the doc's step table (steps 1-6).
 * Where the doc's table and Windows' unwinder differ, Windows is followed (Wine's unwind tests,
 * whose expected values come from runs on Windows, show it): the homed parameters (H) count in the
 * save area, and get their four `nop` codes, only when some register is saved (otherwise the body
 * stores x0-x7 into the local area); with CR=01 and an odd RegI the last int register and lr share
 * one `save_lrpair` (the doc says `save_regp`), and RegI=1 with CR=01 allocates the save area with a
 * separate `alloc_s` first (the doc's "only x19 saved" form). Locals over 4080 bytes take two subs,
 * 4080 first, as the doc's 6c/6e say (Windows' own expansion uses one alloc code there). Undefined
 * when the frame is smaller than the save area.
 */
export function expandPackedUnwindData(p: Arm64PackedUnwindData): Arm64CanonicalUnwind | undefined {
  const intSlots = p.regI + (p.cr === 1 ? 1 : 0); // step 0: #intsz / 8
  const fpSlots = p.regF === 0 ? 0 : p.regF + 1; // #fpsz / 8
  let saveSlots = intSlots + fpSlots;
  const homesInSaveArea = p.homesParameters && saveSlots > 0;
  if (homesInSaveArea) saveSlots += 8;
  const saveSize = Math.ceil(saveSlots / 2) * 16; // #savsz
  const localSize = p.frameSize - saveSize; // #locsz
  if (localSize < 0) return undefined;

  const prologue: Arm64UnwindCode[] = []; // in execution order; reversed below
  if (p.cr === 2) prologue.push({ op: 'pac_sign_lr', length: 1 }); // step 1
  let slot = 0;
  let predecremented = false;
  const save = (op: 'save_regp' | 'save_reg' | 'save_fregp' | 'save_freg', reg: number, slots: number): void => {
    if (predecremented) {
      prologue.push({ op, length: 2, reg, stackOffset: slot * 8 });
    } else {
      prologue.push({ op: `${op}_x`, length: 2, reg, stackOffset: saveSize });
      predecremented = true;
    }
    slot += slots;
  };
  // Step 2 (and 3, lr at the end of the int area for CR=01).
  if (p.regI === 1 && p.cr === 1) {
    prologue.push(allocCode(saveSize)); // `stp x19,lr` has no pre-indexed unwind code
    predecremented = true;
  }
  for (let i = 0; i + 1 < p.regI; i += 2) save('save_regp', 19 + i, 2);
  if (p.regI % 2 === 1) {
    if (p.cr === 1) {
      prologue.push({ op: 'save_lrpair', length: 2, reg: 19 + p.regI - 1, stackOffset: slot * 8 });
      slot += 2;
    } else {
      save('save_reg', 19 + p.regI - 1, 1);
    }
  } else if (p.cr === 1) {
    save('save_reg', 30, 1);
  }
  // Step 4: d8.. in pairs, an odd last one alone.
  for (let i = 0; i + 1 < fpSlots; i += 2) save('save_fregp', 8 + i, 2);
  if (fpSlots % 2 === 1) save('save_freg', 8 + fpSlots - 1, 1);
  // Step 5: stp x0,x1 ... x6,x7 into the save area.
  if (homesInSaveArea) for (let i = 0; i < 4; i++) prologue.push({ op: 'nop', length: 1 });
  // Step 6: the rest of the frame; 6a-6c chained, 6d-6e not.
  const chained = p.cr === 2 || p.cr === 3;
  if (localSize > 0) {
    if (chained && localSize <= 512) {
      prologue.push({ op: 'save_fplr_x', length: 1, stackOffset: localSize });
    } else {
      if (localSize > 4080) prologue.push(allocCode(4080), allocCode(localSize - 4080));
      else prologue.push(allocCode(localSize));
      if (chained) prologue.push({ op: 'save_fplr', length: 1, stackOffset: 0 });
    }
    if (chained) prologue.push({ op: 'set_fp', length: 1 });
  }
  if (p.flag === 2) prologue.push({ op: 'end_c', length: 1 });

  const unwindOrder = [...prologue].reverse();
  unwindOrder.push({ op: 'end', length: 1 });
  if (p.flag === 2) return { prologue: unwindOrder, epilogue: undefined };
  // The epilogue mirrors the prologue without `mov x29,sp` and without the homing stores.
  const epilogue = unwindOrder.filter((c) => c.op !== 'nop');
  if (epilogue[0]?.op === 'set_fp') epilogue.shift();
  return { prologue: unwindOrder, epilogue };
}

/** The shortest code allocating `size` bytes (a multiple of 16). */
function allocCode(size: number): Arm64UnwindCode {
  if (size < 512) return { op: 'alloc_s', length: 1, size };
  if (size < 16 * 2048) return { op: 'alloc_m', length: 2, size };
  return { op: 'alloc_l', length: 4, size };
}

/**
 * The length in bytes of the function a .pdata entry describes (packed Function Length, or the
 * .xdata header's), so a caller can tell whether the entry found for an address covers it.
 */
export async function arm64FunctionLength(image: RvaReader, entry: Arm64FunctionEntry): Promise<number | undefined> {
  const ref = decodeUnwindDataWord(entry.unwindData);
  if (!ref) return undefined;
  if (ref.kind === 'packed') return ref.packed.functionLength;
  return xdataFunctionLength(image, ref.rva, 4);
}

/**
 * Function Length from an .xdata header's low 18 bits, counted in `unit` bytes (4 on ARM64, 2 on
 * ARM); undefined when the header cannot be read.
 */
export async function xdataFunctionLength(image: RvaReader, rva: number, unit: 2 | 4): Promise<number | undefined> {
  try {
    const head = await image.readRva(rva, 4);
    if (!head || head.length < 4) return undefined;
    return (new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) & 0x3ffff) * unit;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// .xdata records

/** Epilogue scopes beyond this many are taken for garbage (the field allows 65535). */
export const MAX_EPILOG_SCOPES = 4096;

export interface Arm64EpilogScope {
  /** Epilog Start Offset, in bytes from the start of the function (fragment). */
  readonly startOffset: number;
  /** Res: 4 bits the doc reserves (must be 0); kept as read. */
  readonly reserved: number;
  /** Epilog Start Index: byte index of the scope's first unwind code. */
  readonly startIndex: number;
}

/** An .xdata record: header, epilogue scopes, the unwind code bytes and the handler RVA. */
export interface Arm64XData {
  /** Function Length in bytes. */
  readonly functionLength: number;
  readonly version: number;
  /** X: exception data (handler RVA and its data) follows the codes. */
  readonly hasExceptionData: boolean;
  /** E: a single epilogue, described in the header rather than by scope words. */
  readonly epilogInHeader: boolean;
  /** With E set, the index of the first unwind code of the one epilogue. */
  readonly epilogStartIndex: number | undefined;
  /** Epilogue scopes in order of increasing start offset (none when E is set). */
  readonly epilogScopes: readonly Arm64EpilogScope[];
  /** The unwind code bytes (Code Words * 4, padding included). */
  readonly codes: Uint8Array;
  readonly exceptionHandlerRva: number | undefined;
  /** Bytes of the record up to and including the handler RVA. */
  readonly size: number;
}

/**
 * The size of an .xdata record (without the handler's own data) from its first one or two words,
 * as the doc's ComputeXdataSize: 1- or 2-word header, scope words unless E, code words, handler RVA.
 * `words` holds at least the first word; the second is needed when the first has Epilog Count and
 * Code Words both 0. Undefined when a needed word is missing.
 */
export function xdataSize(words: Uint8Array): number | undefined {
  if (words.length < 4) return undefined;
  const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
  const header = view.getUint32(0, true);
  let size = 4;
  let epilogs = (header >>> 22) & 0x1f;
  let codeWords = (header >>> 27) & 0x1f;
  if (epilogs === 0 && codeWords === 0) {
    if (words.length < 8) return undefined;
    const extended = view.getUint32(4, true);
    size = 8;
    epilogs = extended & 0xffff;
    codeWords = (extended >>> 16) & 0xff;
  }
  if (!(header & (1 << 21))) size += 4 * epilogs;
  size += 4 * codeWords;
  if (header & (1 << 20)) size += 4;
  return size;
}

/** Decodes an .xdata record from bytes holding at least its `xdataSize`. */
export function decodeXData(bytes: Uint8Array): Arm64XData | undefined {
  const size = xdataSize(bytes);
  if (size === undefined || bytes.length < size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = view.getUint32(0, true);
  const version = (header >>> 18) & 3;
  if (version !== 0) return undefined; // only version 0 is defined
  const hasExceptionData = (header & (1 << 20)) !== 0;
  const epilogInHeader = (header & (1 << 21)) !== 0;
  let at = 4;
  let epilogField = (header >>> 22) & 0x1f;
  let codeWords = (header >>> 27) & 0x1f;
  if (epilogField === 0 && codeWords === 0) {
    const extended = view.getUint32(4, true);
    epilogField = extended & 0xffff;
    codeWords = (extended >>> 16) & 0xff;
    at = 8;
  }
  const codeBytes = codeWords * 4;
  const epilogScopes: Arm64EpilogScope[] = [];
  let epilogStartIndex: number | undefined;
  if (epilogInHeader) {
    if (epilogField > codeBytes) return undefined;
    epilogStartIndex = epilogField;
  } else {
    if (epilogField > MAX_EPILOG_SCOPES) return undefined;
    for (let i = 0; i < epilogField; i++, at += 4) {
      const word = view.getUint32(at, true);
      const scope = { startOffset: (word & 0x3ffff) * 4, reserved: (word >>> 18) & 0x0f, startIndex: word >>> 22 };
      if (scope.startIndex >= codeBytes) return undefined;
      epilogScopes.push(scope);
    }
  }
  const codes = bytes.slice(at, at + codeBytes);
  at += codeBytes;
  const exceptionHandlerRva = hasExceptionData ? view.getUint32(at, true) : undefined;
  return {
    functionLength: (header & 0x3ffff) * 4,
    version,
    hasExceptionData,
    epilogInHeader,
    epilogStartIndex,
    epilogScopes,
    codes,
    exceptionHandlerRva,
    size,
  };
}

/** Reads and decodes the .xdata record at `rva`: its first word, the extension word if any, then the rest. */
export async function readXData(image: RvaReader, rva: number): Promise<Arm64XData | undefined> {
  try {
    if (!Number.isSafeInteger(rva) || rva < 0 || rva % 4 !== 0) return undefined;
    let head = await image.readRva(rva, 4);
    if (!head || head.length < 4) return undefined;
    let size = xdataSize(head);
    if (size === undefined) {
      head = await image.readRva(rva, 8);
      if (!head || head.length < 8) return undefined;
      size = xdataSize(head);
      if (size === undefined) return undefined;
    }
    const bytes = size <= head.length ? head : await image.readRva(rva, size);
    return bytes ? decodeXData(bytes) : undefined;
  } catch {
    return undefined; // a reader that throws is unreadable data, not our failure
  }
}
