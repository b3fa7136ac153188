// Virtual unwind of one ARM64 frame with a PE image's .pdata/.xdata, as Microsoft's "ARM64 exception
// handling" describes it: find where pc is (prologue, an epilogue or the body), skip the codes of
// instructions not yet executed (or already undone), then execute the rest. Details the doc leaves
// open follow what Windows' unwinder does (its published copy in .NET, and Wine's tests run on
// Windows): custom stack codes count as no instruction, skipping counts codes, end_c is passed
// through in the body, the record layouts of trap/machine/context frames.
import {
  decodeUnwindCodeSequence,
  decodeUnwindDataWord,
  expandPackedUnwindData,
  readXData,
  scopeInstructionCount,
  type Arm64UnwindCode,
  type Arm64XData,
  type RvaReader,
} from '../formats/pe/arm64-unwind-data.js';

export interface Arm64UnwindInput {
  image: RvaReader;
  entry: { begin: number; unwindData: number };
  moduleBase: bigint;
  /** Registers of the frame being unwound: x0..x28, fp (x29), lr (x30), sp, pc — only known ones present. */
  registers: ReadonlyMap<string, bigint>;
  readU64(address: bigint): bigint | undefined;
  /**
   * Only the context frame can be mid-epilogue or anywhere in a prologue; a caller's return address
   * counts as mid-prologue only when it follows a call made there (e.g. to __chkstk).
   */
  isContextFrame: boolean;
  /** Strips pointer-authentication bits from lr after `pac_sign_lr` (default: left as is). */
  stripPointerAuth?(address: bigint): bigint;
}

export interface Arm64UnwindResult {
  /**
   * The caller's registers: x19-x28, fp, lr (restored, or the callee's values when the function
   * kept them), sp and pc; after a trap, context or ARM64EC context record also the volatile
   * registers it holds.
   */
  registers: Map<string, bigint>;
  /**
   * 'call': pc is the lr the codes restored (a return address); 'leaf': lr was not saved, pc is the
   * frame's own lr; 'machine_frame': pc came from a saved record (trap, machine frame, context) or
   * an unwound-to-call flag was cleared, so it is exact, not a return address.
   */
  kind: 'call' | 'machine_frame' | 'leaf';
  /** Bytes the function's prologue allocates (allocations and pre-indexed saves); dynamic ones excluded. */
  fixedAllocation: number;
}

const MASK64 = (1n << 64n) - 1n;

/** What to execute for a function: its body (= prologue) codes and where its epilogues are. */
interface UnwindProgram {
  /** Function length in instructions. */
  readonly length: number;
  readonly body: readonly Arm64UnwindCode[];
  /** The epilogue containing instruction `offset`, if any; 'invalid' when its codes do not decode. */
  epilogAt(offset: number): { readonly start: number; readonly codes: readonly Arm64UnwindCode[] } | undefined | 'invalid';
}

/**
 * Unwinds one frame. Undefined when the unwind data does not decode, pc lies outside the entry's
 * function, a register the codes need is unknown, or stack memory they read is missing. Never throws.
 */
export async function unwindArm64(input: Arm64UnwindInput): Promise<Arm64UnwindResult | undefined> {
  try {
    const program = await loadProgram(input.image, input.entry.unwindData);
    if (!program) return undefined;
    const start = startingPoint(program, input);
    if (!start) return undefined;
    const result = execute(start.codes, start.skip, input);
    if (!result) return undefined;
    return { ...result, fixedAllocation: fixedAllocation(program.body) };
  } catch {
    return undefined; // a throwing reader or corrupt input: no unwind, not a crash
  }
}

async function loadProgram(image: RvaReader, unwindData: number): Promise<UnwindProgram | undefined> {
  const ref = decodeUnwindDataWord(unwindData);
  if (!ref) return undefined;
  if (ref.kind === 'packed') {
    const canonical = expandPackedUnwindData(ref.packed);
    if (!canonical) return undefined;
    const length = ref.packed.functionLength / 4;
    const epilogue = canonical.epilogue;
    // Packed data: one epilogue, ending the function with its `ret`.
    const start = epilogue ? length - (scopeInstructionCount(epilogue) + 1) : undefined;
    return {
      length,
      body: canonical.prologue,
      epilogAt: (offset) => (epilogue && start !== undefined && offset >= start ? { start, codes: epilogue } : undefined),
    };
  }
  const xdata = await readXData(image, ref.rva);
  if (!xdata) return undefined;
  const body = decodeUnwindCodeSequence(xdata.codes, 0);
  if (!body) return undefined;
  return { length: xdata.functionLength / 4, body, epilogAt: (offset) => xdataEpilogAt(xdata, offset) };
}

/**
 * The epilogue holding instruction `offset`: the header's single one (ending the function) or a
 * scope whose codes, plus the final `ret`, cover it. A scope is decoded only when `offset` is close
 * enough for it to matter (each code byte is at most one instruction).
 */
function xdataEpilogAt(xdata: Arm64XData, offset: number): { start: number; codes: Arm64UnwindCode[] } | undefined | 'invalid' {
  const length = xdata.functionLength / 4;
  const codeBytes = xdata.codes.length;
  if (xdata.epilogInHeader) {
    const index = xdata.epilogStartIndex ?? 0;
    if (offset < length - (codeBytes - index) - 1) return undefined;
    const codes = decodeUnwindCodeSequence(xdata.codes, index);
    if (!codes) return 'invalid';
    const start = length - (scopeInstructionCount(codes) + 1);
    return offset >= start ? { start, codes } : undefined;
  }
  for (const scope of xdata.epilogScopes) {
    const start = scope.startOffset / 4;
    if (offset < start) break; // scopes are sorted by start offset
    if (offset > start + (codeBytes - scope.startIndex)) continue;
    const codes = decodeUnwindCodeSequence(xdata.codes, scope.startIndex);
    if (!codes) return 'invalid';
    if (offset < start + scopeInstructionCount(codes) + 1) return { start, codes };
  }
  return undefined;
}

/**
 * Where execution of the codes starts. Inside the prologue: the body codes, skipping those of the
 * instructions not yet executed (a caller's return address can be there too, after a call such as
 * __chkstk's; Windows applies the same rule to it). Inside an epilogue (context frame only): that
 * epilogue's codes, skipping those already done. Elsewhere: the body codes from the start.
 * Undefined when pc is outside the function (the entry is not the one for pc).
 */
function startingPoint(
  program: UnwindProgram,
  input: Arm64UnwindInput,
): { codes: readonly Arm64UnwindCode[]; skip: number } | undefined {
  const body = { codes: program.body, skip: 0 };
  const pc = input.registers.get('pc');
  if (pc === undefined) return body;
  const byteOffset = pc - input.moduleBase - BigInt(input.entry.begin);
  const length = BigInt(program.length) * 4n;
  // Not this entry's function (a caller's return address may follow a final call: end inclusive).
  if (byteOffset < 0n || byteOffset > length || (byteOffset === length && input.isContextFrame)) return undefined;
  if (byteOffset === length) return body;
  const offset = Number(byteOffset) >> 2;
  const prologue = scopeInstructionCount(program.body);
  if (offset < prologue) return { codes: program.body, skip: prologue - offset };
  if (!input.isContextFrame) return body;
  const epilog = program.epilogAt(offset);
  if (epilog === 'invalid') return undefined;
  return epilog ? { codes: epilog.codes, skip: offset - epilog.start } : body;
}

function intName(n: number): string {
  return n === 29 ? 'fp' : n === 30 ? 'lr' : `x${n}`;
}

const KEPT = [...Array.from({ length: 10 }, (_, i) => `x${19 + i}`), 'fp', 'lr', 'sp'];

/** ARM64 CONTEXT (winnt.h, 0x390 bytes): X0-X28 at 0x08, Fp 0xF0, Lr 0xF8, Sp 0x100, Pc 0x108. */
const CONTEXT_X0 = 0x08n;
/** ARM64 KTRAP_FRAME (0x150 bytes): Sp at 0x98, X0-X18 at 0xA0, Lr 0x138, Fp 0x140, Pc 0x148. */
const KTRAP_FRAME = { sp: 0x98n, x0: 0xa0n, lr: 0x138n, fp: 0x140n, pc: 0x148n };
/**
 * ARM64EC context: an x64 CONTEXT whose registers map onto ARM64 ones (Microsoft's "Understanding
 * Arm64EC ABI"): offsets of Rcx, Rdx, R8-R11, Rax, R12-R15, Rsi, Rdi, Rbx, Rbp, Rsp, Rip, and the
 * x87 registers St0-St7 (low 64 bits) that carry lr, x6, x7, x9-x12 and x15.
 */
const EC_CONTEXT: readonly (readonly [string, bigint])[] = [
  ['x0', 0x80n], ['x1', 0x88n], ['x2', 0xb8n], ['x3', 0xc0n], ['x4', 0xc8n], ['x5', 0xd0n], ['x8', 0x78n],
  ['x19', 0xd8n], ['x20', 0xe0n], ['x21', 0xe8n], ['x22', 0xf0n], ['x25', 0xa8n], ['x26', 0xb0n], ['x27', 0x90n],
  ['fp', 0xa0n], ['sp', 0x98n], ['pc', 0xf8n],
  ['lr', 0x120n], ['x6', 0x130n], ['x7', 0x140n], ['x9', 0x150n], ['x10', 0x160n], ['x11', 0x170n], ['x12', 0x180n], ['x15', 0x190n],
];
/** Registers an ARM64EC context has no place for: Windows unwinds them to 0. */
const EC_CONTEXT_ZERO = ['x13', 'x14', 'x18', 'x23', 'x24', 'x28'];
/** x16 and x17 are assembled from the 16-bit top halves of St0-St3 and St4-St7. */
const EC_CONTEXT_X16 = [0x128n, 0x138n, 0x148n, 0x158n];
const EC_CONTEXT_X17 = [0x168n, 0x178n, 0x188n, 0x198n];

/** Codes that a pending save_next may extend. */
function takesSaveNext(code: Arm64UnwindCode): boolean {
  switch (code.op) {
    case 'save_r19r20_x':
    case 'save_regp':
    case 'save_regp_x':
    case 'save_fregp':
    case 'save_fregp_x':
    case 'save_next':
      return true;
    case 'save_any_xreg':
    case 'save_any_dreg':
    case 'save_any_qreg':
      return code.pair;
    default:
      return false;
  }
}

/** Runs the codes from `skip` codes in; undefined when a needed value is unknown or the sequence is invalid. */
function execute(
  codes: readonly Arm64UnwindCode[],
  skip: number,
  input: Arm64UnwindInput,
): { registers: Map<string, bigint>; kind: Arm64UnwindResult['kind'] } | undefined {
  const regs = new Map<string, bigint>();
  for (const name of KEPT) {
    const value = input.registers.get(name);
    if (value !== undefined) regs.set(name, value);
  }
  let sp = regs.get('sp');
  if (sp === undefined) return undefined;
  let lrRestored = false;
  let customFrame = false;
  let pcFromRecord: bigint | undefined;
  let failed = false;

  const read = (address: bigint): bigint => {
    const value = input.readU64(address & MASK64);
    if (value === undefined) failed = true;
    return value ?? 0n;
  };
  /** Restores `count` int registers from `first`; a pre-indexed save reads at sp, then pops `offset`. */
  const restoreInt = (first: number, count: number, offset: number, preIndexed: boolean): void => {
    if (first + count > 31) {
      failed = true;
      return;
    }
    const base = preIndexed ? sp! : sp! + BigInt(offset);
    for (let k = 0; k < count; k++) {
      regs.set(intName(first + k), read(base + BigInt(8 * k)));
      if (first + k === 30) lrRestored = true;
    }
    if (preIndexed) sp = (sp! + BigInt(offset)) & MASK64;
  };
  /** FP/SIMD registers are not tracked; only a pre-indexed save moves sp. */
  const skipVector = (first: number, count: number, offset: number, preIndexed: boolean): void => {
    if (first + count > 32) failed = true;
    else if (preIndexed) sp = (sp! + BigInt(offset)) & MASK64;
  };
  const need = (name: string): bigint => {
    const value = regs.get(name);
    if (value === undefined) failed = true;
    return value ?? 0n;
  };

  let i = 0;
  for (; i < codes.length && skip > 0; i++, skip--) {
    const op = codes[i]!.op;
    if (op === 'end' || op === 'end_c') break;
  }
  let saveNexts = 0;
  for (; i < codes.length && !failed; i++) {
    const code = codes[i]!;
    if (saveNexts > 0 && !takesSaveNext(code)) return undefined; // save_next must precede a pair save
    const pairCount = 2 + 2 * saveNexts;
    switch (code.op) {
      case 'alloc_s':
      case 'alloc_m':
      case 'alloc_l':
        sp = (sp + BigInt(code.size)) & MASK64;
        break;
      case 'save_r19r20_x':
        restoreInt(19, pairCount, code.stackOffset, true);
        break;
      case 'save_fplr':
      case 'save_fplr_x':
        restoreInt(29, 2, code.stackOffset, code.op === 'save_fplr_x');
        break;
      case 'save_regp':
      case 'save_regp_x':
        restoreInt(code.reg, pairCount, code.stackOffset, code.op === 'save_regp_x');
        break;
      case 'save_reg':
      case 'save_reg_x':
        restoreInt(code.reg, 1, code.stackOffset, code.op === 'save_reg_x');
        break;
      case 'save_lrpair':
        restoreInt(code.reg, 1, code.stackOffset, false);
        restoreInt(30, 1, code.stackOffset + 8, false);
        break;
      case 'save_fregp':
      case 'save_fregp_x':
        skipVector(code.reg, pairCount, code.stackOffset, code.op === 'save_fregp_x');
        break;
      case 'save_freg':
      case 'save_freg_x':
        skipVector(code.reg, 1, code.stackOffset, code.op === 'save_freg_x');
        break;
      case 'save_any_xreg':
        restoreInt(code.reg, (code.pair ? 2 : 1) + 2 * saveNexts, code.stackOffset, code.preIndexed);
        break;
      case 'save_any_dreg':
      case 'save_any_qreg':
        skipVector(code.reg, (code.pair ? 2 : 1) + 2 * saveNexts, code.stackOffset, code.preIndexed);
        break;
      case 'save_zreg':
      case 'save_preg':
        break; // SVE state: not tracked, sp unchanged
      case 'alloc_z':
        if (code.vectors !== 0) return undefined; // needs the SVE vector length
        break;
      case 'set_fp':
        sp = need('fp');
        break;
      case 'add_fp':
        sp = (need('fp') - BigInt(code.offset)) & MASK64;
        break;
      case 'nop':
      case 'end_c': // the parent region's codes follow
        break;
      case 'end':
        i = codes.length;
        break;
      case 'save_next':
        saveNexts++;
        continue;
      case 'machine_frame': {
        // MACHINE_FRAME: { Sp, Pc } at sp
        const base = sp;
        sp = read(base);
        pcFromRecord = read(base + 8n);
        customFrame = true;
        break;
      }
      case 'trap_frame': {
        const base = sp;
        for (let k = 0; k < 19; k++) regs.set(`x${k}`, read(base + KTRAP_FRAME.x0 + BigInt(8 * k)));
        regs.set('lr', read(base + KTRAP_FRAME.lr));
        regs.set('fp', read(base + KTRAP_FRAME.fp));
        pcFromRecord = read(base + KTRAP_FRAME.pc);
        sp = read(base + KTRAP_FRAME.sp);
        lrRestored = true;
        customFrame = true;
        break;
      }
      case 'context': {
        const base = sp;
        for (let k = 0; k < 29; k++) regs.set(`x${k}`, read(base + CONTEXT_X0 + BigInt(8 * k)));
        regs.set('fp', read(base + 0xf0n));
        regs.set('lr', read(base + 0xf8n));
        pcFromRecord = read(base + 0x108n);
        sp = read(base + 0x100n);
        lrRestored = true;
        customFrame = true;
        break;
      }
      case 'ec_context': {
        const base = sp;
        const halves = (offsets: readonly bigint[]): bigint =>
          offsets.reduce((value, at, k) => value | ((read(base + at) & 0xffffn) << BigInt(16 * k)), 0n);
        for (const [name, at] of EC_CONTEXT) {
          if (name === 'pc') pcFromRecord = read(base + at);
          else if (name === 'sp') sp = read(base + at);
          else regs.set(name, read(base + at));
        }
        for (const name of EC_CONTEXT_ZERO) regs.set(name, 0n);
        regs.set('x16', halves(EC_CONTEXT_X16));
        regs.set('x17', halves(EC_CONTEXT_X17));
        lrRestored = true;
        customFrame = true;
        break;
      }
      case 'clear_unwound_to_call':
        pcFromRecord = need('lr');
        customFrame = true;
        break;
      case 'pac_sign_lr': {
        const lr = regs.get('lr');
        if (lr !== undefined && input.stripPointerAuth) regs.set('lr', input.stripPointerAuth(lr) & MASK64);
        break;
      }
    }
    saveNexts = 0;
  }
  if (failed || saveNexts > 0) return undefined;
  regs.set('sp', sp);
  const pc = pcFromRecord ?? regs.get('lr');
  if (pc === undefined) return undefined;
  regs.set('pc', pc);
  const kind = customFrame ? 'machine_frame' : lrRestored ? 'call' : 'leaf';
  return { registers: regs, kind };
}

/** Stack bytes the body codes allocate, up to the first custom frame record or `end`. */
function fixedAllocation(body: readonly Arm64UnwindCode[]): number {
  let total = 0;
  for (const code of body) {
    switch (code.op) {
      case 'alloc_s':
      case 'alloc_m':
      case 'alloc_l':
        total += code.size;
        break;
      case 'save_r19r20_x':
      case 'save_fplr_x':
      case 'save_regp_x':
      case 'save_reg_x':
      case 'save_fregp_x':
      case 'save_freg_x':
        total += code.stackOffset;
        break;
      case 'save_any_xreg':
      case 'save_any_dreg':
      case 'save_any_qreg':
        if (code.preIndexed) total += code.stackOffset;
        break;
      case 'trap_frame':
      case 'machine_frame':
      case 'context':
      case 'ec_context':
      case 'end':
        return total;
    }
  }
  return total;
}
