import { callerByCfi, type CfiRegister } from './cfi.js';
import { unwindArm } from './pe-arm.js';
import { callerByScanning, leafCallerByLinkRegister, type CallerCandidate, type CpuUnwinder, type WalkState } from './walker.js';

// 32-bit ARM (ARMv7, ARM and Thumb-2 code). Windows' own unwind data first when the module's image
// is at hand, then Breakpad's stackwalker_arm order: STACK CFI, the frame-pointer chain only where
// the platform fixes which register holds it, then scanning.

const CFI_REGISTERS: readonly CfiRegister[] = [
  // r4-r11 are callee-saved (AAPCS; Windows on ARM follows it too).
  ...Array.from({ length: 13 }, (_, i) => ({ name: `r${i}`, cfi: `r${i}`, calleeSaves: i >= 4 && i <= 11 })),
  { name: 'sp', cfi: 'sp', alternate: '.cfa', calleeSaves: false },
  { name: 'lr', cfi: 'lr', calleeSaves: false },
  { name: 'pc', cfi: 'pc', alternate: '.ra', calleeSaves: false },
];

/**
 * The register that holds the frame pointer, by the platform's ABI: r7 on iOS (Apple's Thumb
 * convention, which Breakpad follows), r11 on Windows (Microsoft's ARM ABI: r11 points at the saved
 * {r11, lr} pair). Linux and Android code uses r7 or r11 or neither, depending on the compiler and
 * the instruction set, so no chain is assumed there (as Breakpad does).
 */
export function armFramePointer(osShort: string): 'r7' | 'r11' | undefined {
  if (osShort === 'ios') return 'r7';
  if (osShort === 'windows') return 'r11';
  return undefined;
}

export const armUnwinder: CpuUnwinder = {
  // Breakpad attributes a caller to pc - 2: inside the call in both Thumb (2- or 4-byte) and ARM code.
  returnAddressBias: 2n,
  async callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined> {
    const pe = await callerByPeUnwind(state);
    if (pe) return pe;
    const cfi = await callerByStackCfi(state);
    if (cfi) return cfi;
    const fpRegister = armFramePointer(state.osShort);
    const fp = fpRegister ? callerByFramePointer(state, fpRegister) : undefined;
    if (fp) return fp;
    if (!scanAllowed) return undefined;
    return callerByScanning(state);
  },
};

/**
 * Windows ARM unwind data (.pdata with packed or .xdata codes) from the module's PE image. A
 * function without an entry is a leaf that never saved lr: that only holds for an interrupted frame.
 * Windows runs only Thumb code, so a return address found this way gets back the Thumb bit that
 * the unwinder clears, and looks like one found on the stack or in a frame record.
 */
async function callerByPeUnwind(state: WalkState): Promise<CallerCandidate | undefined> {
  const found = await state.lastFrameImage();
  if (!found) return undefined;
  const { module, image } = found;
  const last = state.last;
  const entry = await image.armFunctionEntry(Number((last.instruction & ~1n) - module.base));
  if (!entry) return leafCallerByLinkRegister(last);
  const result = await unwindArm({
    image,
    entry,
    moduleBase: module.base,
    registers: last.registers,
    readU32: (address) => state.readWord(address),
    isContextFrame: last.interrupted,
  });
  if (!result || !result.registers.has('pc') || !result.registers.has('sp')) return undefined;
  last.fixedAllocation = result.fixedAllocation;
  if (result.kind !== 'machine_frame') result.registers.set('pc', result.registers.get('pc')! | 1n);
  return { trust: 'cfi', registers: result.registers, stale: 'fill', interrupted: result.kind === 'machine_frame', fromPeUnwind: true };
}

/** STACK CFI from the module's symbol file: the caller's pc is the rule's pc or else .ra, its sp .cfa. */
async function callerByStackCfi(state: WalkState): Promise<CallerCandidate | undefined> {
  const at = await state.symbolsAt(state.last.instruction);
  if (!at?.symbols) return undefined;
  const rules = await at.symbols.findCfiRules(at.rva);
  if (!rules) return undefined;
  const frame = callerByCfi(state, rules, CFI_REGISTERS);
  if (!frame || !frame.registers.has('pc') || !frame.registers.has('sp')) return undefined;
  return { trust: 'cfi', registers: frame.registers, stale: 'zero' };
}

/**
 * The frame record {fp, lr} at fp: the caller's pc is this frame's lr, its lr the saved one, its sp
 * just above the record. A zero fp ends the chain with this frame's lr as the last caller. Only a
 * frame whose fp is known (not a stale copy) may take this step.
 */
function callerByFramePointer(state: WalkState, fpRegister: 'r7' | 'r11'): CallerCandidate | undefined {
  const last = state.last;
  const fp = last.registers.get(fpRegister);
  const lr = last.registers.get('lr') ?? last.stale.get('lr') ?? 0n;
  if (fp === undefined) return undefined;
  let callerFp = 0n;
  let callerLr = 0n;
  if (fp !== 0n) {
    const savedFp = state.readWord(fp);
    const savedLr = state.readWord(fp + 4n);
    if (savedFp === undefined || savedLr === undefined) return undefined;
    callerFp = savedFp;
    callerLr = savedLr;
  }
  return {
    trust: 'frame_pointer',
    registers: new Map([
      [fpRegister, callerFp],
      ['sp', fp !== 0n ? fp + 8n : last.sp],
      ['pc', lr],
      ['lr', callerLr],
    ]),
    stale: 'inherit',
  };
}
