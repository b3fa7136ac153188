// Windows ARM (ARMNT, Thumb-2) unwind data of a PE image: the .pdata UnwindData word (packed unwind
// data or the RVA of an .xdata record), .xdata records and their unwind codes. Facts from
// Microsoft's "ARM exception handling" (learn.microsoft.com/cpp/build/arm-exception-handling); where
// that page is silent or disagrees with what Windows' own unwinder does (its published copy in
// .NET), the comment says so. Bytes that do not decode throw FormatError with the structure and the
// offset; nothing else is thrown, and every loop is bounded by the bytes it reads.
import { FormatError } from '../../io/errors.js';
import { xdataFunctionLength, type RvaReader } from './arm64-unwind-data.js';

export type { RvaReader } from './arm64-unwind-data.js';

/** One ARM .pdata entry, 8 bytes: BeginAddress (bit 0 set for Thumb code) and UnwindData. */
export interface ArmFunctionEntry {
  readonly begin: number;
  readonly unwindData: number;
}

/** The RVA of the function's first instruction: BeginAddress without the Thumb bit. */
export function armFunctionStart(entry: ArmFunctionEntry): number {
  return (entry.begin & ~1) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Unwind codes

/**
 * One unwind code in the doc's table, named after the epilogue instruction it stands for, with
 * its encoded length in bytes (`length`) and the size in bytes of that instruction (`opsize`:
 * 2 for a 16-bit opcode, 4 for a 32-bit one, 0 for a code that stands for none). Register masks
 * have bit n for rn (bit 14 is lr). Sizes are in bytes.
 */
export type ArmUnwindCode = { readonly length: number; readonly opsize: 0 | 2 | 4 } & (
  /** `add sp, sp, #size` (00-7F, E8-EB, F7-FA). */
  | { readonly op: 'add_sp'; readonly size: number }
  /** `pop {registers}` (80-BF, D0-DF, EC-ED). */
  | { readonly op: 'pop'; readonly registers: number }
  /** `mov sp, r<reg>` (C0-CF). */
  | { readonly op: 'mov_sp'; readonly reg: number }
  /** `vpop {d<first>-d<last>}` (E0-E7, F5, F6). */
  | { readonly op: 'vpop'; readonly first: number; readonly last: number }
  /** `ldr lr, [sp], #offset` (EF): lr from [sp], then sp += offset. */
  | { readonly op: 'ldr_lr'; readonly offset: number }
  /** EE 0x: a record Windows knows the layout of (`frame` is the low nibble). */
  | { readonly op: 'custom'; readonly frame: number }
  /** FB (16-bit) and FC (32-bit): an instruction with no effect on the unwind. */
  | { readonly op: 'nop' }
  /** FF, and FD/FE: the end, which in an epilogue stands for one more 16-bit/32-bit instruction (`opsize`). */
  | { readonly op: 'end' }
);

export type ArmUnwindOp = ArmUnwindCode['op'];

/** EE 0x frame records, as Windows' unwinder numbers them (the doc only says "Microsoft-specific"). */
export const ArmCustomFrame = {
  /** The KTRAP_FRAME of Windows 8 and before. */
  TrapFrameOld: 0,
  /** { Sp, Pc } at sp. */
  MachineFrame: 1,
  /** A whole CONTEXT at sp. */
  Context: 2,
  TrapFrame: 3,
  /** pc = lr; lr from [sp - 8]. */
  RedZone: 4,
} as const;

/** Codes whose first byte the doc marks "Available": F0-F4, and EE/EF with a second byte above 0x0F. */
function reserved(structure: string, file: string, offset: number, reason: string): FormatError {
  return new FormatError(file, structure, offset, reason);
}

/** Where errors point: the file, the structure and the offset of byte 0 of the bytes decoded. */
export interface Where {
  readonly file: string;
  readonly structure: string;
  readonly offset: number;
}

const NOWHERE: Where = { file: 'ARM unwind codes', structure: 'unwind codes', offset: 0 };

/**
 * Decodes the unwind code at `at`. Throws FormatError when the code is one the doc leaves
 * "Available" or is cut short by the end of `bytes`. Multi-byte values are most significant byte first.
 */
export function decodeArmUnwindCode(bytes: Uint8Array, at: number, where: Where = NOWHERE): ArmUnwindCode {
  const fail = (reason: string): FormatError => reserved(where.structure, where.file, where.offset + at, reason);
  if (!Number.isInteger(at) || at < 0 || at >= bytes.length) throw fail(`no unwind code at byte ${at} of ${bytes.length}`);
  const b0 = bytes[at]!;
  const need = (n: number): number[] => {
    if (at + n > bytes.length) throw fail(`unwind code 0x${b0.toString(16)} needs ${n} bytes, only ${bytes.length - at} are left`);
    return Array.from(bytes.subarray(at + 1, at + n));
  };
  if (b0 < 0x80) return { op: 'add_sp', length: 1, opsize: 2, size: (b0 & 0x7f) * 4 };
  if (b0 < 0xc0) {
    // 10Lxxxxx'xxxxxxxx: pop.w {r0-r12, lr}, L = lr
    const [b1] = need(2);
    return { op: 'pop', length: 2, opsize: 4, registers: ((b0 & 0x1f) << 8) | b1! | (b0 & 0x20 ? 1 << 14 : 0) };
  }
  if (b0 < 0xd0) return { op: 'mov_sp', length: 1, opsize: 2, reg: b0 & 0x0f };
  if (b0 < 0xe0) {
    // 1101Lxxx: pop {r4-r(4+x), lr?} (16-bit, D0-D7) or pop.w {r4-r(8+x), lr?} (D8-DF)
    const wide = (b0 & 0x08) !== 0;
    const last = (b0 & 0x03) + (wide ? 8 : 4);
    const registers = (((1 << (last + 1)) - 1) & ~0x0f) | (b0 & 0x04 ? 1 << 14 : 0);
    return { op: 'pop', length: 1, opsize: wide ? 4 : 2, registers };
  }
  if (b0 < 0xe8) return { op: 'vpop', length: 1, opsize: 4, first: 8, last: 8 + (b0 & 0x07) };
  if (b0 < 0xec) {
    const [b1] = need(2);
    return { op: 'add_sp', length: 2, opsize: 4, size: (((b0 & 0x03) << 8) | b1!) * 4 };
  }
  if (b0 < 0xee) {
    // 1110110L'xxxxxxxx: pop {r0-r7, lr?} (16-bit)
    const [b1] = need(2);
    return { op: 'pop', length: 2, opsize: 2, registers: b1! | (b0 & 0x01 ? 1 << 14 : 0) };
  }
  switch (b0) {
    case 0xee: {
      // Windows counts these as no instruction (its size table), though the doc lists them as 16-bit.
      const [b1] = need(2);
      if (b1! > 0x0f) throw fail(`unwind code 0xee 0x${b1!.toString(16)} is reserved`);
      return { op: 'custom', length: 2, opsize: 0, frame: b1! };
    }
    case 0xef: {
      const [b1] = need(2);
      if (b1! > 0x0f) throw fail(`unwind code 0xef 0x${b1!.toString(16)} is reserved`);
      return { op: 'ldr_lr', length: 2, opsize: 4, offset: b1! * 4 };
    }
    case 0xf5:
    case 0xf6: {
      const [b1] = need(2);
      const base = b0 === 0xf6 ? 16 : 0;
      return { op: 'vpop', length: 2, opsize: 4, first: base + (b1! >> 4), last: base + (b1! & 0x0f) };
    }
    case 0xf7:
    case 0xf9: {
      const [b1, b2] = need(3);
      return { op: 'add_sp', length: 3, opsize: b0 === 0xf7 ? 2 : 4, size: ((b1! << 8) | b2!) * 4 };
    }
    case 0xf8:
    case 0xfa: {
      const [b1, b2, b3] = need(4);
      return { op: 'add_sp', length: 4, opsize: b0 === 0xf8 ? 2 : 4, size: ((b1! << 16) | (b2! << 8) | b3!) * 4 };
    }
    case 0xfb:
      return { op: 'nop', length: 1, opsize: 2 };
    case 0xfc:
      return { op: 'nop', length: 1, opsize: 4 };
    case 0xfd:
      return { op: 'end', length: 1, opsize: 2 };
    case 0xfe:
      return { op: 'end', length: 1, opsize: 4 };
    case 0xff:
      return { op: 'end', length: 1, opsize: 0 };
    default:
      throw fail(`unwind code 0x${b0.toString(16)} is reserved`); // F0-F4
  }
}

/**
 * The codes from byte `start` through the first end code (inclusive), or to the end of `bytes`
 * when none comes (Windows stops at the end of the table). Throws FormatError for a reserved or
 * cut-short code.
 */
export function decodeArmUnwindCodes(bytes: Uint8Array, start: number, where: Where = NOWHERE): ArmUnwindCode[] {
  if (!Number.isInteger(start) || start < 0 || start > bytes.length) {
    throw reserved(where.structure, where.file, where.offset, `unwind codes start at byte ${start} of ${bytes.length}`);
  }
  const codes: ArmUnwindCode[] = [];
  for (let at = start; at < bytes.length; ) {
    const code = decodeArmUnwindCode(bytes, at, where);
    codes.push(code);
    if (code.op === 'end') break;
    at += code.length;
  }
  return codes;
}

/**
 * Bytes of the instructions a code sequence stands for, up to its end code: in a prologue the end
 * counts nothing, in an epilogue FD and FE count the 16-bit or 32-bit instruction that ends it
 * (`bx lr`, `b.w` to a tail call).
 */
export function armScopeSize(codes: readonly ArmUnwindCode[], scope: 'prologue' | 'epilogue'): number {
  let size = 0;
  for (const code of codes) {
    if (code.op === 'end') return scope === 'epilogue' ? size + code.opsize : size;
    size += code.opsize;
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// .pdata UnwindData word

/** Packed unwind data (Flag 1 or 2), fields as the doc names them. */
export interface ArmPackedUnwindData {
  /** 1: a function with prologue; 2: a fragment without one. */
  readonly flag: 1 | 2;
  /** Function Length in bytes (the field holds it / 2). */
  readonly functionLength: number;
  /** Ret: 0 `pop {pc}`, 1 a 16-bit branch (`bx lr`), 2 a 32-bit branch, 3 no epilogue. */
  readonly ret: 0 | 1 | 2 | 3;
  /** H: r0-r3 pushed first and the 16 bytes freed before returning. */
  readonly homesParameters: boolean;
  /** Reg: the last saved register, r(4+Reg) when R is 0, d(8+Reg) when R is 1 (R=1, Reg=7: none). */
  readonly reg: number;
  /** R: the saved registers are VFP ones (d8..). */
  readonly savesFloat: boolean;
  /** L: lr is saved with the others. */
  readonly savesLr: boolean;
  /** C: r11 is saved and set up as a frame chain. */
  readonly chained: boolean;
  /** Stack Adjust, the raw 10-bit field (words, or the 0x3F4+ folding form). */
  readonly stackAdjust: number;
}

/** What a .pdata UnwindData word holds. */
export type ArmUnwindDataRef =
  | { readonly kind: 'xdata'; readonly rva: number }
  | { readonly kind: 'packed'; readonly packed: ArmPackedUnwindData }
  /**
   * Flag 3, which the doc reserves: Windows' unwinder reads it, with bit 2 clear, as the RVA of
   * (UnwindData - 3) of the .pdata entry of the region a long branch left (its body applies).
   */
  | { readonly kind: 'parent'; readonly rva: number };

/** Splits the UnwindData word by its Flag (low 2 bits). Throws FormatError for Flag 3 with bit 2 set. */
export function decodeArmUnwindDataWord(unwindData: number, where: Where = NOWHERE): ArmUnwindDataRef {
  if (!Number.isInteger(unwindData) || unwindData < 0 || unwindData > 0xffffffff) {
    throw reserved(where.structure, where.file, where.offset, `UnwindData ${unwindData} is not a 32-bit word`);
  }
  const flag = unwindData & 3;
  if (flag === 0) return { kind: 'xdata', rva: unwindData };
  if (flag === 3) {
    if (unwindData & 4) throw reserved(where.structure, where.file, where.offset, `UnwindData 0x${unwindData.toString(16)} has the reserved Flag 3`);
    return { kind: 'parent', rva: unwindData - 3 };
  }
  return { kind: 'packed', packed: decodeArmPackedUnwindData(unwindData) };
}

/**
 * Packed unwind data: Flag (2 bits), Function Length (11, /2), Ret (2), H (1), Reg (3), R (1),
 * L (1), C (1), Stack Adjust (10). The caller has checked that Flag is 1 or 2.
 */
export function decodeArmPackedUnwindData(word: number): ArmPackedUnwindData {
  return {
    flag: (word & 3) === 2 ? 2 : 1,
    functionLength: ((word >>> 2) & 0x7ff) * 2,
    ret: ((word >>> 13) & 3) as 0 | 1 | 2 | 3,
    homesParameters: ((word >>> 15) & 1) === 1,
    reg: (word >>> 16) & 7,
    savesFloat: ((word >>> 19) & 1) === 1,
    savesLr: ((word >>> 20) & 1) === 1,
    chained: ((word >>> 21) & 1) === 1,
    stackAdjust: (word >>> 22) & 0x3ff,
  };
}

/** The unwind codes a packed record stands for, in unwind order, as .xdata would hold them. */
export interface ArmCanonicalUnwind {
  /** Prologue codes (also the body's), in unwind order, ending with `end`. */
  readonly prologue: readonly ArmUnwindCode[];
  /** The single epilogue, ending the function; undefined when Ret is 3. */
  readonly epilogue: readonly ArmUnwindCode[] | undefined;
}

const LR = 1 << 14;
const R11 = 1 << 11;

/**
 * The canonical prologue and epilogue of packed unwind data, after the doc's instruction tables
 * (1-5 and 6-10), with the instruction sizes Windows' unwinder gives them where the doc's are
 * looser: a push or pop is 16-bit when it names only r0-r7 and lr (push) or pc (pop); the frame
 * chain is the 16-bit `mov r11, sp` when nothing but r11 and lr is pushed, else `add.w r11, sp, #x`;
 * a stack adjustment is 16-bit below 0x80 words. With H and Ret 0 the epilogue ends in
 * `ldr pc, [sp], #0x14` (the pop before it leaves out pc, and is gone when nothing else is left).
 * Throws FormatError for the combinations the doc calls unsupported: C without L, Ret 0 without L.
 */
export function expandArmPackedUnwindData(p: ArmPackedUnwindData, where: Where = NOWHERE): ArmCanonicalUnwind {
  const fail = (reason: string): FormatError => reserved(where.structure, where.file, where.offset, reason);
  if (p.chained && !p.savesLr) throw fail('packed unwind data with C set needs L (frame chaining saves r11 and lr)');
  if (p.ret === 0 && !p.savesLr) throw fail('packed unwind data with Ret 0 (pop {pc}) needs L');
  const folded = p.stackAdjust >= 0x3f4;
  const words = folded ? (p.stackAdjust & 3) + 1 : p.stackAdjust;
  const prologueFolds = folded && (p.stackAdjust & 4) !== 0; // PF
  const epilogueFolds = folded && (p.stackAdjust & 8) !== 0; // EF
  const vfpCount = p.savesFloat ? (p.reg === 7 ? 0 : p.reg + 1) : 0;
  let ints = p.savesFloat ? 0 : ((1 << (p.reg + 5)) - 1) & ~0x0f; // r4-r(4+Reg)
  if (p.chained) {
    if (ints & R11) throw fail('packed unwind data with C set must not count r11 in Reg');
    ints |= R11;
  }
  if (p.savesLr) ints |= LR;
  const foldMask = ((1 << words) - 1) << (4 - words); // r(S)-r3, S = 4 - words
  const pushMask = ints | (prologueFolds ? foldMask : 0);
  const popMask = ints | (epilogueFolds ? foldMask : 0);

  const addSp = (size: number): ArmUnwindCode =>
    size < 0x80 * 4 ? { op: 'add_sp', length: 1, opsize: 2, size } : { op: 'add_sp', length: 2, opsize: 4, size };
  const pop = (registers: number, narrowAllows: number): ArmUnwindCode => ({
    op: 'pop',
    length: 2,
    opsize: (registers & ~narrowAllows) === 0 ? 2 : 4,
    registers,
  });
  const vpop: ArmUnwindCode = { op: 'vpop', length: 1, opsize: 4, first: 8, last: 8 + vfpCount - 1 };

  // Prologue, in unwind order: 5 sub sp; 4 vpush; 3 frame chain; 2 push; 1 push {r0-r3}.
  const prologue: ArmUnwindCode[] = [];
  if (words !== 0 && !prologueFolds) prologue.push(addSp(words * 4));
  if (vfpCount > 0) prologue.push(vpop);
  if (p.chained) prologue.push({ op: 'nop', length: 1, opsize: (pushMask & ~(R11 | LR)) === 0 ? 2 : 4 });
  if (pushMask !== 0) prologue.push(pop(pushMask, 0xff | LR));
  if (p.homesParameters) prologue.push({ op: 'add_sp', length: 1, opsize: 2, size: 16 });
  prologue.push({ op: 'end', length: 1, opsize: 0 });
  if (p.ret === 3) return { prologue, epilogue: undefined };

  // Epilogue: 6 add sp; 7 vpop; 8 pop; 9a add sp, #16 or 9b ldr pc, [sp], #0x14; 10 the branch.
  const epilogue: ArmUnwindCode[] = [];
  if (words !== 0 && !epilogueFolds) epilogue.push(addSp(words * 4));
  if (vfpCount > 0) epilogue.push(vpop);
  const returnsThroughHome = p.homesParameters && p.ret === 0;
  const popped = returnsThroughHome ? popMask & ~LR : popMask;
  if (popped !== 0) epilogue.push(pop(popped, 0xff | (p.ret === 0 ? LR : 0)));
  if (returnsThroughHome) epilogue.push({ op: 'ldr_lr', length: 2, opsize: 4, offset: 20 });
  else if (p.homesParameters) epilogue.push({ op: 'add_sp', length: 1, opsize: 2, size: 16 });
  epilogue.push({ op: 'end', length: 1, opsize: p.ret === 1 ? 2 : p.ret === 2 ? 4 : 0 });
  return { prologue, epilogue };
}

/**
 * The length in bytes of the function a .pdata entry describes (packed Function Length, or the
 * .xdata header's), so a caller can tell whether the entry found for an address covers it.
 * Undefined when the unwind data cannot be read or decoded.
 */
export async function armFunctionLength(image: RvaReader, entry: ArmFunctionEntry): Promise<number | undefined> {
  let ref: ArmUnwindDataRef;
  try {
    ref = decodeArmUnwindDataWord(entry.unwindData);
  } catch {
    return undefined;
  }
  if (ref.kind === 'packed') return ref.packed.functionLength;
  if (ref.kind === 'parent') return undefined;
  return xdataFunctionLength(image, ref.rva, 2);
}

// ---------------------------------------------------------------------------------------------
// .xdata records

/** Epilogue scopes beyond this many are taken for garbage (the extended field allows 65535). */
export const MAX_ARM_EPILOG_SCOPES = 4096;

export interface ArmEpilogScope {
  /** Epilogue Start Offset, in bytes from the start of the function (fragment). */
  readonly startOffset: number;
  /** Res: 2 bits the doc reserves (must be 0); kept as read. */
  readonly reserved: number;
  /** Condition: the ARM condition the epilogue runs under (0xE: always). */
  readonly condition: number;
  /** Epilogue Start Index: byte index of the scope's first unwind code. */
  readonly startIndex: number;
}

/** An .xdata record: header, epilogue scopes, the unwind code bytes and the handler RVA. */
export interface ArmXData {
  /** Function Length in bytes (the field holds it / 2). */
  readonly functionLength: number;
  readonly version: number;
  /** X: exception data (handler RVA and its data) follows the codes. */
  readonly hasExceptionData: boolean;
  /** E: a single epilogue, described in the header rather than by scope words. */
  readonly epilogInHeader: boolean;
  /** F: a fragment, without a prologue (its codes only describe the body). */
  readonly fragment: boolean;
  /** With E set, the index of the first unwind code of the one epilogue. */
  readonly epilogStartIndex: number | undefined;
  /** Epilogue scopes in order of increasing start offset (none when E is set). */
  readonly epilogScopes: readonly ArmEpilogScope[];
  /** The unwind code bytes (Code Words * 4, padding included). */
  readonly codes: Uint8Array;
  readonly exceptionHandlerRva: number | undefined;
  /** Bytes of the record up to and including the handler RVA. */
  readonly size: number;
}

/**
 * The size of an .xdata record (without the handler's own data) from its first one or two words,
 * as the doc's ComputeXdataSize: 1- or 2-word header, scope words unless E, code words, handler RVA.
 * Undefined when the second word is needed (Epilogue Count and Code Words both 0) and missing.
 */
export function armXDataSize(words: Uint8Array): number | undefined {
  if (words.length < 4) return undefined;
  const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
  const header = view.getUint32(0, true);
  let size = 4;
  let epilogs = (header >>> 23) & 0x1f;
  let codeWords = header >>> 28;
  if (header >>> 23 === 0) {
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

/**
 * Decodes an .xdata record from bytes holding at least its `armXDataSize`. Throws FormatError
 * (offsets relative to `where.offset`) for a short record, a version other than 0, too many
 * scopes, or an epilogue start index outside the codes.
 */
export function decodeArmXData(bytes: Uint8Array, where: Where = NOWHERE): ArmXData {
  const fail = (at: number, reason: string): FormatError => reserved(where.structure, where.file, where.offset + at, reason);
  const size = armXDataSize(bytes);
  if (size === undefined || bytes.length < size) {
    throw fail(0, `needs ${size ?? 8} bytes, ${bytes.length} are available`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = view.getUint32(0, true);
  const version = (header >>> 18) & 3;
  if (version !== 0) throw fail(0, `version ${version} (only 0 is defined)`);
  const hasExceptionData = (header & (1 << 20)) !== 0;
  const epilogInHeader = (header & (1 << 21)) !== 0;
  let at = 4;
  let epilogField = (header >>> 23) & 0x1f;
  let codeWords = header >>> 28;
  if (header >>> 23 === 0) {
    const extended = view.getUint32(4, true);
    epilogField = extended & 0xffff;
    codeWords = (extended >>> 16) & 0xff;
    at = 8;
  }
  const codeBytes = codeWords * 4;
  const epilogScopes: ArmEpilogScope[] = [];
  let epilogStartIndex: number | undefined;
  if (epilogInHeader) {
    if (epilogField >= Math.max(codeBytes, 1)) throw fail(0, `epilogue start index ${epilogField} is outside the ${codeBytes} code bytes`);
    epilogStartIndex = epilogField;
  } else {
    if (epilogField > MAX_ARM_EPILOG_SCOPES) throw fail(at, `${epilogField} epilogue scopes (more than ${MAX_ARM_EPILOG_SCOPES})`);
    for (let i = 0; i < epilogField; i++, at += 4) {
      const word = view.getUint32(at, true);
      const scope = {
        startOffset: (word & 0x3ffff) * 2,
        reserved: (word >>> 18) & 3,
        condition: (word >>> 20) & 0x0f,
        startIndex: word >>> 24,
      };
      if (scope.startIndex >= codeBytes) throw fail(at, `epilogue start index ${scope.startIndex} is outside the ${codeBytes} code bytes`);
      epilogScopes.push(scope);
    }
  }
  const codes = bytes.slice(at, at + codeBytes);
  at += codeBytes;
  const exceptionHandlerRva = hasExceptionData ? view.getUint32(at, true) : undefined;
  return {
    functionLength: (header & 0x3ffff) * 2,
    version,
    hasExceptionData,
    epilogInHeader,
    fragment: (header & (1 << 22)) !== 0,
    epilogStartIndex,
    epilogScopes,
    codes,
    exceptionHandlerRva,
    size,
  };
}

/** Where errors in the .xdata record at `rva` point. */
export function xdataWhere(image: RvaReader, rva: number): Where {
  return { file: image.name ?? 'image', structure: `ARM .xdata at RVA 0x${rva.toString(16)}`, offset: 0 };
}

/**
 * Reads and decodes the .xdata record at `rva`: its first word, the extension word if any, then
 * the rest. Throws FormatError when the record is misaligned, unreadable or does not decode (a
 * reader that throws counts as unreadable).
 */
export async function readArmXData(image: RvaReader, rva: number): Promise<ArmXData> {
  const where = xdataWhere(image, rva);
  const fail = (reason: string): FormatError => reserved(where.structure, where.file, 0, reason);
  if (!Number.isSafeInteger(rva) || rva < 0 || rva % 4 !== 0) throw fail('the record is not 4-byte aligned');
  const read = async (length: number): Promise<Uint8Array> => {
    let got: Uint8Array | undefined;
    try {
      got = await image.readRva(rva, length);
    } catch {
      got = undefined;
    }
    if (!got || got.length < length) throw fail(`${length} bytes are not available`);
    return got;
  };
  let head = await read(4);
  let size = armXDataSize(head);
  if (size === undefined) {
    head = await read(8);
    size = armXDataSize(head)!;
  }
  return decodeArmXData(size <= head.length ? head : await read(size), where);
}
