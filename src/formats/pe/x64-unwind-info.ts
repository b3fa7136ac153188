// x64 unwind data as Microsoft's "x64 exception handling" describes it: UNWIND_INFO, its
// UNWIND_CODE array and what follows it (exception handler or chained RUNTIME_FUNCTION).
import { FormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';
import type { RuntimeFunction } from './function-table.js';
import type { PeImage } from './pe-image.js';

/** UNWIND_INFO.Flags. */
export const UnwindFlags = {
  EHANDLER: 0x01,
  UHANDLER: 0x02,
  CHAININFO: 0x04,
} as const;

/** UNWIND_CODE.UnwindOp values; 6 is UWOP_EPILOG in version 2 (an obsolete XMM save before), 7 is spare. */
export const UnwindOp = {
  PUSH_NONVOL: 0,
  ALLOC_LARGE: 1,
  ALLOC_SMALL: 2,
  SET_FPREG: 3,
  SAVE_NONVOL: 4,
  SAVE_NONVOL_FAR: 5,
  EPILOG: 6,
  SPARE_CODE: 7,
  SAVE_XMM128: 8,
  SAVE_XMM128_FAR: 9,
  PUSH_MACHFRAME: 10,
} as const;

/** Integer register numbers of UNWIND_CODE.OpInfo and UNWIND_INFO.FrameRegister, by our names. */
export const X64_REGISTERS = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;

/**
 * One unwind operation, as many slots as it takes. `codeOffset` is the offset in the prologue just
 * after the instruction it describes; byte offsets and sizes are unscaled.
 */
export type X64UnwindCode =
  | { readonly op: 'push_nonvol'; readonly codeOffset: number; readonly register: number }
  /** 2 slots (size / 8) when `scaled`, else 3 (32-bit size). */
  | { readonly op: 'alloc_large'; readonly codeOffset: number; readonly size: number; readonly scaled: boolean }
  | { readonly op: 'alloc_small'; readonly codeOffset: number; readonly size: number }
  | { readonly op: 'set_fpreg'; readonly codeOffset: number }
  /** Offset from the frame base: RSP, or the frame register minus 16 × FrameOffset when one is used. */
  | { readonly op: 'save_nonvol'; readonly codeOffset: number; readonly register: number; readonly offset: number }
  | { readonly op: 'save_nonvol_far'; readonly codeOffset: number; readonly register: number; readonly offset: number }
  /** A version 2 epilog descriptor, 2 slots as Windows steps over them; its meaning is in `X64UnwindInfo.epilogs`. */
  | { readonly op: 'epilog'; readonly codeOffset: number; readonly info: number }
  /** UWOP_SPARE_CODE (7), 3 slots, only in very old images. */
  | { readonly op: 'spare'; readonly codeOffset: number; readonly info: number }
  | { readonly op: 'save_xmm128'; readonly codeOffset: number; readonly register: number; readonly offset: number }
  | { readonly op: 'save_xmm128_far'; readonly codeOffset: number; readonly register: number; readonly offset: number }
  | { readonly op: 'push_machframe'; readonly codeOffset: number; readonly errorCode: boolean };

/** A version 2 epilog: it starts `offsetFromEnd` bytes before the function's end and is `size` bytes long. */
export interface X64Epilog {
  readonly offsetFromEnd: number;
  readonly size: number;
}

export interface X64UnwindInfo {
  /** RVA of this UNWIND_INFO. */
  readonly rva: number;
  readonly version: number;
  readonly flags: number;
  readonly sizeOfProlog: number;
  readonly countOfCodes: number;
  /** 0 for none, else the register number (see X64_REGISTERS). */
  readonly frameRegister: number;
  /** Scaled: the frame register is set to RSP + 16 × frameOffset. */
  readonly frameOffset: number;
  /** In array order: the reverse of the order in which the prologue executes them. */
  readonly codes: readonly X64UnwindCode[];
  /** Version 2 epilog descriptors (empty in version 1). */
  readonly epilogs: readonly X64Epilog[];
  /** RVA of the language-specific handler (EHANDLER or UHANDLER, not CHAININFO). */
  readonly handler: number | undefined;
  /** RVA of the handler's data, just after the handler's address. */
  readonly handlerData: number | undefined;
  /** With CHAININFO: the RUNTIME_FUNCTION whose unwind info continues this one. */
  readonly chained: RuntimeFunction | undefined;
}

/** Bytes of the UNWIND_INFO whose 4-byte header is given: header, codes padded to an even count, then handler RVA or chained entry. */
export function x64UnwindInfoSize(header: Uint8Array): number {
  const flags = (header[0] ?? 0) >> 3;
  const codes = 2 * ((((header[2] ?? 0) + 1) >> 1) << 1);
  if (flags & UnwindFlags.CHAININFO) return 4 + codes + 12;
  if (flags & (UnwindFlags.EHANDLER | UnwindFlags.UHANDLER)) return 4 + codes + 4;
  return 4 + codes;
}

/** Decodes an UNWIND_INFO (as many bytes as `x64UnwindInfoSize` says); throws FormatError when it is not one. */
export function decodeX64UnwindInfo(bytes: Uint8Array, rva: number, file = '<image>'): X64UnwindInfo {
  const r = new Reader(bytes, file, rva, 'UNWIND_INFO');
  const first = r.u8(0);
  const version = first & 7;
  const flags = first >> 3;
  if (version !== 1 && version !== 2) throw r.error(0, `unsupported version ${version}`);
  const sizeOfProlog = r.u8(1);
  const countOfCodes = r.u8(2);
  const frame = r.u8(3);
  r.check(0, x64UnwindInfoSize(bytes.subarray(0, 4)));
  const slot = (i: number): number => r.u16(4 + i * 2);
  const codeError = (i: number, reason: string): FormatError => r.error(4 + i * 2, reason, 'UNWIND_CODE');

  const codes: X64UnwindCode[] = [];
  for (let i = 0; i < countOfCodes; ) {
    const s = slot(i);
    const codeOffset = s & 0xff;
    const op = (s >> 8) & 0xf;
    const info = s >> 12;
    const needs = (n: number): void => {
      if (i + n > countOfCodes) throw codeError(i, `operation ${op} needs ${n} slots but only ${countOfCodes - i} remain`);
    };
    switch (op) {
      case UnwindOp.PUSH_NONVOL:
        codes.push({ op: 'push_nonvol', codeOffset, register: info });
        i += 1;
        break;
      case UnwindOp.ALLOC_LARGE:
        if (info === 0) {
          needs(2);
          codes.push({ op: 'alloc_large', codeOffset, size: slot(i + 1) * 8, scaled: true });
          i += 2;
        } else {
          needs(3);
          codes.push({ op: 'alloc_large', codeOffset, size: slot(i + 1) + slot(i + 2) * 0x10000, scaled: false });
          i += 3;
        }
        break;
      case UnwindOp.ALLOC_SMALL:
        codes.push({ op: 'alloc_small', codeOffset, size: info * 8 + 8 });
        i += 1;
        break;
      case UnwindOp.SET_FPREG:
        codes.push({ op: 'set_fpreg', codeOffset });
        i += 1;
        break;
      case UnwindOp.SAVE_NONVOL:
        needs(2);
        codes.push({ op: 'save_nonvol', codeOffset, register: info, offset: slot(i + 1) * 8 });
        i += 2;
        break;
      case UnwindOp.SAVE_NONVOL_FAR:
        needs(3);
        codes.push({ op: 'save_nonvol_far', codeOffset, register: info, offset: slot(i + 1) + slot(i + 2) * 0x10000 });
        i += 3;
        break;
      case UnwindOp.EPILOG:
        // Windows steps over it as 2 slots wherever it appears (UnwindOpSlots); a trailing one may have only 1.
        codes.push({ op: 'epilog', codeOffset, info });
        i += 2;
        break;
      case UnwindOp.SPARE_CODE:
        needs(3);
        codes.push({ op: 'spare', codeOffset, info });
        i += 3;
        break;
      case UnwindOp.SAVE_XMM128:
        needs(2);
        codes.push({ op: 'save_xmm128', codeOffset, register: info, offset: slot(i + 1) * 16 });
        i += 2;
        break;
      case UnwindOp.SAVE_XMM128_FAR:
        needs(3);
        codes.push({ op: 'save_xmm128_far', codeOffset, register: info, offset: slot(i + 1) + slot(i + 2) * 0x10000 });
        i += 3;
        break;
      case UnwindOp.PUSH_MACHFRAME:
        codes.push({ op: 'push_machframe', codeOffset, errorCode: info !== 0 });
        i += 1;
        break;
      default:
        throw codeError(i, `unknown operation ${op}`);
    }
  }

  const epilogs: X64Epilog[] = [];
  if (version >= 2 && countOfCodes > 0 && ((slot(0) >> 8) & 0xf) === UnwindOp.EPILOG) {
    // The first descriptor holds the size of every epilog and, in bit 0 of OpInfo, whether one ends
    // the function; the ones after it hold offsets from the end (12 bits); an offset of 0 is padding.
    const size = slot(0) & 0xff;
    if (slot(0) & 0x1000) epilogs.push({ offsetFromEnd: size, size });
    for (let i = 1; i < countOfCodes && ((slot(i) >> 8) & 0xf) === UnwindOp.EPILOG; i++) {
      const offsetFromEnd = (slot(i) & 0xff) | ((slot(i) >> 12) << 8);
      if (offsetFromEnd === 0) break;
      epilogs.push({ offsetFromEnd, size });
    }
  }

  const tail = 4 + 2 * (((countOfCodes + 1) >> 1) << 1);
  let handler: number | undefined;
  let handlerData: number | undefined;
  let chained: RuntimeFunction | undefined;
  if (flags & UnwindFlags.CHAININFO) {
    chained = { begin: r.u32(tail), end: r.u32(tail + 4), unwindInfo: r.u32(tail + 8) };
  } else if (flags & (UnwindFlags.EHANDLER | UnwindFlags.UHANDLER)) {
    handler = r.u32(tail);
    handlerData = rva + tail + 4;
  }
  return {
    rva,
    version,
    flags,
    sizeOfProlog,
    countOfCodes,
    frameRegister: frame & 0xf,
    frameOffset: frame >> 4,
    codes,
    epilogs,
    handler,
    handlerData,
    chained,
  };
}

/** Reads and decodes the UNWIND_INFO at `rva`; undefined when its bytes are not available or it is malformed. */
export async function readX64UnwindInfo(image: PeImage, rva: number): Promise<X64UnwindInfo | undefined> {
  const header = await image.readRva(rva, 4);
  if (!header) return undefined;
  const bytes = await image.readRva(rva, x64UnwindInfoSize(header));
  if (!bytes) return undefined;
  try {
    return decodeX64UnwindInfo(bytes, rva, image.name);
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}
