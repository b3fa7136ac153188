// Virtual unwind of one Windows ARM (Thumb-2) frame with a PE image's .pdata/.xdata, as Microsoft's
// "ARM exception handling" describes it: find where pc is (prologue, an epilogue or the body), skip
// the codes of the instructions not yet executed (or already undone) by counting their sizes, then
// execute the rest. Details the doc leaves open follow what Windows' unwinder does (its published
// copy in .NET): the EE custom frames and their record layouts, the epilogue condition against
// CPSR, Flag 3 entries, the instruction sizes of packed prologues and epilogues.
import {
  armFunctionStart,
  armScopeSize,
  decodeArmUnwindCodes,
  decodeArmUnwindDataWord,
  expandArmPackedUnwindData,
  readArmXData,
  xdataWhere,
  ArmCustomFrame,
  type ArmFunctionEntry,
  type ArmUnwindCode,
  type ArmXData,
  type RvaReader,
} from '../formats/pe/arm-unwind-data.js';

export interface ArmUnwindInput {
  image: RvaReader;
  entry: ArmFunctionEntry;
  moduleBase: bigint;
  /**
   * Registers of the frame being unwound: r0..r12, sp, lr, pc (r7 and r11 under those names),
   * and cpsr when known (it decides whether a conditional epilogue runs) — only known ones present.
   */
  registers: ReadonlyMap<string, bigint>;
  readU32(address: bigint): bigint | undefined;
  /**
   * Only the context frame can be mid-epilogue or anywhere in a prologue; a caller's return address
   * counts as mid-prologue only when it follows a call made there (e.g. to __chkstk).
   */
  isContextFrame: boolean;
}

export interface ArmUnwindResult {
  /**
   * The caller's registers: r4-r11, lr (restored, or the callee's values when the function kept
   * them), sp and pc; after a trap frame or context record also the volatile registers it holds.
   * pc has bit 0 (the Thumb state bit a return address carries) cleared; lr is kept as read.
   */
  registers: Map<string, bigint>;
  /**
   * 'call': pc is the lr the codes restored (a return address); 'leaf': lr was not saved, pc is the
   * frame's own lr; 'machine_frame': pc came from a saved record (trap frame, machine frame, or a
   * context not marked unwound-to-call), so it is exact, not a return address.
   */
  kind: 'call' | 'machine_frame' | 'leaf';
  /** Bytes the function's prologue allocates (pushes, vpushes, stack adjustments); dynamic ones excluded. */
  fixedAllocation: number;
}

const MASK32 = 0xffffffffn;
const LR_BIT = 1 << 14;

/** What to execute for a function: its body (= prologue) codes and where its epilogues are. */
interface UnwindProgram {
  /** Function length in bytes. */
  readonly length: number;
  readonly body: readonly ArmUnwindCode[];
  /** False for fragments (F, Flag 2): no partial prologue. */
  readonly hasPrologue: boolean;
  /** The epilogue containing byte `offset`, if any (throws FormatError when its codes do not decode). */
  epilogAt(offset: number, cpsr: bigint | undefined): { readonly start: number; readonly codes: readonly ArmUnwindCode[] } | undefined;
}

/**
 * Unwinds one frame. Undefined when the unwind data does not decode, pc lies outside the entry's
 * function, a register the codes need is unknown, or stack memory they read is missing. Never throws.
 */
export async function unwindArm(input: ArmUnwindInput): Promise<ArmUnwindResult | undefined> {
  try {
    const loaded = await loadProgram(input.image, input.entry);
    if (!loaded) return undefined;
    const { program, inBody } = loaded;
    const start = inBody ? { codes: program.body, skip: 0 } : startingPoint(program, input);
    if (!start) return undefined;
    const result = execute(start.codes, start.skip, input);
    if (!result) return undefined;
    return { ...result, fixedAllocation: fixedAllocation(program.body) };
  } catch {
    return undefined; // FormatError from the unwind data, or a throwing reader: no unwind, not a crash
  }
}

async function loadProgram(image: RvaReader, entry: ArmFunctionEntry): Promise<{ program: UnwindProgram; inBody: boolean } | undefined> {
  const where = { file: image.name ?? 'image', structure: 'ARM .pdata entry', offset: 0 };
  let ref = decodeArmUnwindDataWord(entry.unwindData, where);
  let inBody = false;
  if (ref.kind === 'parent') {
    // Flag 3: the region's unwind is its parent entry's body unwind (Windows; the doc reserves it).
    const parent = await image.readRva(ref.rva, 8);
    if (!parent || parent.length < 8) return undefined;
    ref = decodeArmUnwindDataWord(new DataView(parent.buffer, parent.byteOffset, 8).getUint32(4, true), where);
    if (ref.kind === 'parent') return undefined; // one level only
    inBody = true;
  }
  if (ref.kind === 'packed') {
    const canonical = expandArmPackedUnwindData(ref.packed, where);
    const length = ref.packed.functionLength;
    const epilogue = canonical.epilogue;
    // Packed data: one epilogue, ending the function.
    const start = epilogue ? length - armScopeSize(epilogue, 'epilogue') : undefined;
    return {
      inBody,
      program: {
        length,
        body: canonical.prologue,
        hasPrologue: ref.packed.flag === 1,
        epilogAt: (offset) => (epilogue && start !== undefined && offset >= start ? { start, codes: epilogue } : undefined),
      },
    };
  }
  const xdata = await readArmXData(image, ref.rva);
  const codeWhere = { ...xdataWhere(image, ref.rva), structure: `ARM .xdata unwind codes at RVA 0x${ref.rva.toString(16)}` };
  const body = decodeArmUnwindCodes(xdata.codes, 0, codeWhere);
  return {
    inBody,
    program: {
      length: xdata.functionLength,
      body,
      hasPrologue: !xdata.fragment,
      epilogAt: (offset, cpsr) => xdataEpilogAt(xdata, offset, cpsr, codeWhere),
    },
  };
}

/**
 * The epilogue holding byte `offset`: the header's single one (ending the function) or a scope
 * whose codes cover it and whose condition holds (under CPSR when it is known; assumed to hold
 * otherwise). A scope is decoded only when `offset` is close enough for it to matter (each code
 * byte stands for at most one 32-bit instruction, the end code for one more).
 */
function xdataEpilogAt(
  xdata: ArmXData,
  offset: number,
  cpsr: bigint | undefined,
  where: Parameters<typeof decodeArmUnwindCodes>[2],
): { start: number; codes: ArmUnwindCode[] } | undefined {
  const codeBytes = xdata.codes.length;
  const reach = (index: number): number => 4 * (codeBytes - index) + 4;
  if (xdata.epilogInHeader) {
    const index = xdata.epilogStartIndex ?? 0;
    if (offset + reach(index) < xdata.functionLength) return undefined;
    const codes = decodeArmUnwindCodes(xdata.codes, index, where);
    const start = xdata.functionLength - armScopeSize(codes, 'epilogue');
    return offset >= start ? { start, codes } : undefined;
  }
  for (const scope of xdata.epilogScopes) {
    const start = scope.startOffset;
    if (offset < start) break; // scopes are sorted by start offset
    if (offset >= start + reach(scope.startIndex)) continue;
    const codes = decodeArmUnwindCodes(xdata.codes, scope.startIndex, where);
    if (offset < start + armScopeSize(codes, 'epilogue') && conditionHolds(scope.condition, cpsr)) return { start, codes };
  }
  return undefined;
}

/** ARM condition codes against CPSR's N, Z, C, V (bits 31-28); 0xE always, 0xF never; unknown CPSR: assumed to hold. */
function conditionHolds(condition: number, cpsr: bigint | undefined): boolean {
  if (condition >= 0xe) return condition === 0xe;
  if (cpsr === undefined) return true;
  const flags = Number((cpsr >> 28n) & 0xfn);
  const n = (flags & 8) !== 0;
  const z = (flags & 4) !== 0;
  const c = (flags & 2) !== 0;
  const v = (flags & 1) !== 0;
  const base = [z, c, n, v, c && !z, n === v, n === v && !z][condition >> 1]!;
  return condition & 1 ? !base : base;
}

/**
 * Where execution of the codes starts, and how many bytes of instructions to skip. Inside the
 * prologue: the body codes, skipping those of the instructions not yet executed (a caller's return
 * address can be there too, after a call such as __chkstk's). Inside an epilogue (context frame
 * only): that epilogue's codes, skipping those already done. Elsewhere: the body codes from the
 * start. Undefined when pc is outside the function (the entry is not the one for pc).
 */
function startingPoint(program: UnwindProgram, input: ArmUnwindInput): { codes: readonly ArmUnwindCode[]; skip: number } | undefined {
  const body = { codes: program.body, skip: 0 };
  const pc = input.registers.get('pc');
  if (pc === undefined) return body;
  const byteOffset = (pc & ~1n) - input.moduleBase - BigInt(armFunctionStart(input.entry));
  const length = BigInt(program.length);
  // Not this entry's function (a caller's return address may follow a final call: end inclusive).
  if (byteOffset < 0n || byteOffset > length || (byteOffset === length && input.isContextFrame)) return undefined;
  if (byteOffset === length) return body;
  const offset = Number(byteOffset);
  if (program.hasPrologue) {
    const prologue = armScopeSize(program.body, 'prologue');
    if (offset < prologue) return { codes: program.body, skip: prologue - offset };
  }
  if (!input.isContextFrame) return body;
  const epilog = program.epilogAt(offset, input.registers.get('cpsr'));
  return epilog ? { codes: epilog.codes, skip: offset - epilog.start } : body;
}

function regName(n: number): string {
  return n === 13 ? 'sp' : n === 14 ? 'lr' : n === 15 ? 'pc' : `r${n}`;
}

const KEPT = ['r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'lr', 'sp'];

/** ARM CONTEXT (winnt.h, 0x1A0 bytes): ContextFlags at 0, R0-R12 at 4, Sp 0x38, Lr 0x3C, Pc 0x40, Cpsr 0x44. */
const CONTEXT = { r0: 0x04n, sp: 0x38n, lr: 0x3cn, pc: 0x40n, cpsr: 0x44n };
/** CONTEXT_UNWOUND_TO_CALL in ContextFlags: the saved pc is a return address. */
const CONTEXT_UNWOUND_TO_CALL = 0x20000000n;
/** ARM KTRAP_FRAME (0x88 bytes): R0-R3 at 0x60, R12 0x70, Sp 0x74, Lr 0x78, R11 0x7C, Pc 0x80, Cpsr 0x84. */
const KTRAP_FRAME = { r0: 0x60n, r12: 0x70n, sp: 0x74n, lr: 0x78n, r11: 0x7cn, pc: 0x80n, cpsr: 0x84n };
/** The Windows 8 KTRAP_FRAME (0xC8 bytes), the same registers from 0xA0. */
const KTRAP_FRAME_OLD = { r0: 0xa0n, r12: 0xb0n, sp: 0xb4n, lr: 0xb8n, r11: 0xbcn, pc: 0xc0n, cpsr: 0xc4n };

/** Runs the codes after skipping `skip` bytes of instructions; undefined when a needed value is unknown or the sequence is invalid. */
function execute(
  codes: readonly ArmUnwindCode[],
  skip: number,
  input: ArmUnwindInput,
): { registers: Map<string, bigint>; kind: ArmUnwindResult['kind'] } | undefined {
  const regs = new Map<string, bigint>();
  for (let n = 0; n <= 14; n++) {
    const value = input.registers.get(regName(n));
    if (value !== undefined) regs.set(regName(n), value & MASK32);
  }
  const reported = new Set(KEPT);
  let sp = regs.get('sp');
  if (sp === undefined) return undefined;
  let lrRestored = false;
  let customFrame = false;
  let pcFromRecord: bigint | undefined;
  let failed = false;

  const read = (address: bigint): bigint => {
    const value = input.readU32(address & MASK32);
    if (value === undefined) failed = true;
    return (value ?? 0n) & MASK32;
  };
  const need = (name: string): bigint => {
    const value = regs.get(name);
    if (value === undefined) failed = true;
    return value ?? 0n;
  };
  /** A saved record's registers: r0-r3 (and r4-r12 for a context), r11, r12, sp, lr, pc. */
  const fromRecord = (base: bigint, layout: typeof KTRAP_FRAME | undefined): void => {
    if (layout) {
      for (let k = 0; k < 4; k++) regs.set(`r${k}`, read(base + layout.r0 + BigInt(4 * k)));
      regs.set('r12', read(base + layout.r12));
      regs.set('r11', read(base + layout.r11));
      for (const name of ['r0', 'r1', 'r2', 'r3', 'r12']) reported.add(name);
    } else {
      for (let k = 0; k <= 12; k++) {
        regs.set(`r${k}`, read(base + CONTEXT.r0 + BigInt(4 * k)));
        reported.add(`r${k}`);
      }
    }
    const at = layout ?? CONTEXT;
    regs.set('lr', read(base + at.lr));
    regs.set('cpsr', read(base + at.cpsr));
    reported.add('cpsr');
    pcFromRecord = read(base + at.pc);
    sp = read(base + at.sp);
    lrRestored = true;
  };

  let i = 0;
  for (; i < codes.length && skip > 0; i++) {
    const code = codes[i]!;
    if (code.op === 'end') break;
    skip -= code.opsize;
  }
  for (; i < codes.length && !failed; i++) {
    const code = codes[i]!;
    switch (code.op) {
      case 'add_sp':
        sp = (sp + BigInt(code.size)) & MASK32;
        break;
      case 'pop':
        for (let n = 0; n <= 14; n++) {
          if (!(code.registers & (1 << n))) continue;
          regs.set(regName(n), read(sp));
          sp = (sp + 4n) & MASK32;
        }
        if (code.registers & LR_BIT) lrRestored = true;
        break;
      case 'mov_sp':
        if (code.reg === 15) return undefined; // mov sp, pc: not a stack restore
        sp = need(regName(code.reg)) & MASK32;
        break;
      case 'vpop':
        // d registers are not tracked; only sp moves.
        if (code.last < code.first) return undefined;
        sp = (sp + BigInt(8 * (code.last - code.first + 1))) & MASK32;
        break;
      case 'ldr_lr':
        regs.set('lr', read(sp));
        sp = (sp + BigInt(code.offset)) & MASK32;
        lrRestored = true;
        break;
      case 'nop':
        break;
      case 'end':
        i = codes.length;
        break;
      case 'custom': {
        const base = sp;
        switch (code.frame) {
          case ArmCustomFrame.MachineFrame:
            // MACHINE_FRAME: { Sp, Pc } at sp
            sp = read(base);
            pcFromRecord = read(base + 4n);
            customFrame = true;
            break;
          case ArmCustomFrame.TrapFrame:
          case ArmCustomFrame.TrapFrameOld:
            fromRecord(base, code.frame === ArmCustomFrame.TrapFrame ? KTRAP_FRAME : KTRAP_FRAME_OLD);
            customFrame = true;
            break;
          case ArmCustomFrame.Context:
            fromRecord(base, undefined);
            // The saved context says whether its pc is a return address.
            customFrame = (read(base) & CONTEXT_UNWOUND_TO_CALL) === 0n;
            break;
          case ArmCustomFrame.RedZone:
            pcFromRecord = need('lr');
            regs.set('lr', read(sp - 8n));
            lrRestored = true;
            break;
          default:
            return undefined; // EE 05-0F: no frame Windows knows
        }
        break;
      }
    }
  }
  if (failed) return undefined;
  regs.set('sp', sp);
  const pc = pcFromRecord ?? regs.get('lr');
  if (pc === undefined) return undefined;
  const registers = new Map<string, bigint>();
  for (const [name, value] of regs) if (reported.has(name)) registers.set(name, value);
  registers.set('pc', pc & ~1n);
  const kind = customFrame ? 'machine_frame' : lrRestored ? 'call' : 'leaf';
  return { registers, kind };
}

/** Stack bytes the body codes allocate, up to the first custom frame record or `end`. */
function fixedAllocation(body: readonly ArmUnwindCode[]): number {
  let total = 0;
  for (const code of body) {
    switch (code.op) {
      case 'add_sp':
        total += code.size;
        break;
      case 'pop':
        for (let n = 0; n <= 14; n++) if (code.registers & (1 << n)) total += 4;
        break;
      case 'vpop':
        total += 8 * Math.max(0, code.last - code.first + 1);
        break;
      case 'ldr_lr':
        total += code.offset;
        break;
      case 'custom':
      case 'end':
        return total;
    }
  }
  return total;
}
