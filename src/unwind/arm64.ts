import { callerByCfi, type CfiRegister } from './cfi.js';
import type { StackFrame } from './frame.js';
import type { CallerCandidate, CpuUnwinder, WalkState } from './walker.js';

function regName(i: number): string {
  return i === 29 ? 'fp' : i === 30 ? 'lr' : `x${i}`;
}

const CFI_REGISTERS: readonly CfiRegister[] = [
  ...Array.from({ length: 31 }, (_, i) => ({ name: regName(i), cfi: `x${i}`, calleeSaves: i >= 19 && i <= 29 })),
  { name: 'sp', cfi: 'sp', alternate: '.cfa', calleeSaves: false },
  { name: 'pc', cfi: 'pc', alternate: '.ra', calleeSaves: false },
];

/** Pointer-authentication bits stripped from a code address when what remains lies in a module. */
function ptrauthStrip(state: WalkState, p: bigint): bigint {
  const stripped = p & 0x0000ffffffffffffn;
  return stripped !== p && state.modules.find(stripped) ? stripped : p;
}

/** arm64 strategies in Breakpad's order: STACK CFI, the FP/LR chain, then scanning. */
export const arm64Unwinder: CpuUnwinder = {
  returnAddressBias: 4n,
  async callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined> {
    const at = await state.symbolsAt(state.last.instruction);
    if (at?.symbols) {
      const rules = await at.symbols.findCfiRules(at.rva);
      if (rules) {
        const frame = callerByCfi(state, rules, CFI_REGISTERS);
        if (frame && frame.registers.has('pc') && frame.registers.has('sp')) {
          frame.registers.set('pc', ptrauthStrip(state, frame.registers.get('pc')!));
          return { trust: 'cfi', registers: frame.registers };
        }
      }
    }
    const fp = callerByFramePointer(state);
    if (fp) return fp;
    if (!scanAllowed) return undefined;
    const found = await state.scanForReturnAddress(state.last.sp, state.scanWords(state.last.trust === 'context'));
    if (!found) return undefined;
    return {
      trust: 'scan',
      registers: new Map([
        ['pc', found.ip],
        ['sp', found.location + 8n],
      ]),
    };
  },
};

function callerByFramePointer(state: WalkState): CallerCandidate | undefined {
  const last = state.last;
  let lr = last.registers.get('lr');
  if (lr === undefined) lr = lrFromCalleeChain(state, last);
  const fp = last.registers.get('fp') ?? 0n;
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
      ['pc', lr ?? 0n],
      ['lr', callerLr],
    ]),
  };
}

/**
 * A frame recovered without LR (e.g. by CFI that did not restore it): when its FP is the one the
 * callee saved, the callee's saved LR slot holds the return address (Breakpad's CorrectRegLRByFramePointer).
 */
function lrFromCalleeChain(state: WalkState, last: StackFrame): bigint | undefined {
  const frames = state.frames;
  const fp = last.registers.get('fp');
  if (frames.length < 2 || fp === undefined || fp <= last.sp) return undefined;
  const callee = frames[frames.length - 2]!;
  const calleeFp = callee.registers.get('fp') ?? 0n;
  if (calleeFp === 0n) return undefined;
  if (state.readWord(calleeFp) !== fp) return undefined;
  const lr = state.readWord(calleeFp + 8n);
  return lr === undefined ? undefined : ptrauthStrip(state, lr);
}
