import { callerByCfi, type CfiRegister } from './cfi.js';
import { registerValue, type StackFrame } from './frame.js';
import { unwindArm64 } from './pe-arm64.js';
import { callerByScanning, leafCallerByLinkRegister, type CallerCandidate, type CpuUnwinder, type WalkState } from './walker.js';

function regName(i: number): string {
  return i === 29 ? 'fp' : i === 30 ? 'lr' : `x${i}`;
}

const CFI_REGISTERS: readonly CfiRegister[] = [
  ...Array.from({ length: 31 }, (_, i) => ({ name: regName(i), cfi: `x${i}`, calleeSaves: i >= 19 && i <= 29 })),
  { name: 'sp', cfi: 'sp', alternate: '.cfa', calleeSaves: false },
  { name: 'pc', cfi: 'pc', alternate: '.ra', calleeSaves: false },
];

/**
 * Pointer-authentication bits stripped from a code address when what remains lies in a module.
 * The mask covers every address up to the end of the highest module, as Breakpad guesses it.
 */
function ptrauthStrip(state: WalkState, p: bigint): bigint {
  const end = state.modules.highestEnd();
  if (end === undefined) return p;
  let mask = end;
  for (const shift of [1n, 2n, 4n, 8n, 16n, 32n]) mask |= mask >> shift;
  const stripped = p & mask;
  return state.modules.find(stripped) ? stripped : p;
}

/** arm64 strategies in Breakpad's order: STACK CFI, the FP/LR chain, then scanning. */
export const arm64Unwinder: CpuUnwinder = {
  returnAddressBias: 4n,
  contextRegisters(state: WalkState, registers: Map<string, bigint>): void {
    const lr = registers.get('lr');
    if (lr !== undefined) registers.set('lr', ptrauthStrip(state, lr));
  },
  async callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined> {
    const pe = await callerByPeUnwind(state);
    if (pe) return pe;
    const at = await state.symbolsAt(state.last.instruction);
    if (at?.symbols) {
      const rules = await at.symbols.findCfiRules(at.rva);
      if (rules) {
        const frame = callerByCfi(state, rules, CFI_REGISTERS);
        if (frame && frame.registers.has('pc') && frame.registers.has('sp')) {
          frame.registers.set('pc', ptrauthStrip(state, frame.registers.get('pc')!));
          return { trust: 'cfi', registers: frame.registers, stale: 'zero' };
        }
      }
    }
    const fp = callerByFramePointer(state);
    if (fp) return fp;
    if (!scanAllowed) return undefined;
    return callerByScanning(state);
  },
};

/**
 * Windows ARM64 unwind data (.pdata with packed or .xdata codes) from the module's PE image. A
 * function without an entry is a leaf that never saved LR: that only holds for an interrupted frame.
 */
async function callerByPeUnwind(state: WalkState): Promise<CallerCandidate | undefined> {
  const found = await state.lastFrameImage();
  if (!found) return undefined;
  const { module, image } = found;
  const last = state.last;
  const entry = await image.arm64FunctionEntry(Number(last.instruction - module.base));
  if (!entry) return leafCallerByLinkRegister(last, (lr) => ptrauthStrip(state, lr));
  const result = await unwindArm64({
    image,
    entry,
    moduleBase: module.base,
    registers: last.registers,
    readU64: (address) => state.readWord(address),
    isContextFrame: last.interrupted,
    stripPointerAuth: (address) => ptrauthStrip(state, address),
  });
  if (!result || !result.registers.has('pc') || !result.registers.has('sp')) return undefined;
  last.fixedAllocation = result.fixedAllocation;
  result.registers.set('pc', ptrauthStrip(state, result.registers.get('pc')!));
  return { trust: 'cfi', registers: result.registers, stale: 'fill', interrupted: result.kind === 'machine_frame', fromPeUnwind: true };
}

/** The frame record chain: [fp] holds the caller's fp, [fp+8] its lr; fp 0 ends it with the callee's lr as pc. */
function callerByFramePointer(state: WalkState): CallerCandidate | undefined {
  const last = state.last;
  const lr = last.registers.get('lr') ?? lrFromCalleeChain(state, last) ?? registerValue(last, 'lr');
  const fp = registerValue(last, 'fp');
  let callerFp = 0n;
  let callerLr = 0n;
  if (fp !== 0n) {
    const savedFp = state.readWord(fp);
    const savedLr = state.readWord(fp + 8n);
    if (savedFp === undefined || savedLr === undefined) return undefined;
    callerFp = savedFp;
    callerLr = ptrauthStrip(state, savedLr);
  }
  return {
    trust: 'frame_pointer',
    registers: new Map([
      ['fp', callerFp],
      ['sp', fp !== 0n ? fp + 16n : last.sp],
      ['pc', lr],
      ['lr', callerLr],
    ]),
    stale: 'inherit',
  };
}

/**
 * A frame recovered without LR (e.g. by CFI that did not restore it): when its FP is the one the
 * callee saved, the callee's saved LR slot holds the return address (Breakpad's CorrectRegLRByFramePointer).
 */
function lrFromCalleeChain(state: WalkState, last: StackFrame): bigint | undefined {
  const frames = state.frames;
  const fp = registerValue(last, 'fp');
  if (frames.length < 2 || fp <= last.sp) return undefined;
  const callee = frames[frames.length - 2]!;
  const calleeFp = registerValue(callee, 'fp');
  const savedFp = calleeFp === 0n ? 0n : state.readWord(calleeFp);
  if (savedFp === undefined || savedFp !== fp) return undefined;
  const savedLr = calleeFp === 0n ? 0n : state.readWord(calleeFp + 8n);
  return savedLr === undefined ? undefined : ptrauthStrip(state, savedLr);
}
