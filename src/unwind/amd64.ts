import { callerByCfi, type CfiRegister } from './cfi.js';
import { registerValue } from './frame.js';
import { unwindAmd64 } from './pe-amd64.js';
import type { CallerCandidate, CpuUnwinder, WalkState } from './walker.js';

const CFI_REGISTERS: readonly CfiRegister[] = [
  { name: 'rax', cfi: '$rax', calleeSaves: false },
  { name: 'rdx', cfi: '$rdx', calleeSaves: false },
  { name: 'rcx', cfi: '$rcx', calleeSaves: false },
  { name: 'rbx', cfi: '$rbx', calleeSaves: true },
  { name: 'rsi', cfi: '$rsi', calleeSaves: false },
  { name: 'rdi', cfi: '$rdi', calleeSaves: false },
  { name: 'rbp', cfi: '$rbp', calleeSaves: true },
  { name: 'rsp', cfi: '$rsp', alternate: '.cfa', calleeSaves: false },
  { name: 'r8', cfi: '$r8', calleeSaves: false },
  { name: 'r9', cfi: '$r9', calleeSaves: false },
  { name: 'r10', cfi: '$r10', calleeSaves: false },
  { name: 'r11', cfi: '$r11', calleeSaves: false },
  { name: 'r12', cfi: '$r12', calleeSaves: true },
  { name: 'r13', cfi: '$r13', calleeSaves: true },
  { name: 'r14', cfi: '$r14', calleeSaves: true },
  { name: 'r15', cfi: '$r15', calleeSaves: true },
  { name: 'rip', cfi: '$rip', alternate: '.ra', calleeSaves: false },
];

/** Non-canonical x86-64 addresses cannot be return addresses. */
function isNonCanonical(p: bigint): boolean {
  return p > 0x7fffffffffffn && p < 0xffff800000000000n;
}

/**
 * amd64 strategies in Breakpad's order: STACK CFI; for a Windows context frame, a return from a
 * leaf function; off Windows, the RBP chain; then scanning.
 */
export const amd64Unwinder: CpuUnwinder = {
  returnAddressBias: 1n,
  async callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined> {
    const last = state.last;
    const pe = await callerByPeUnwind(state);
    if (pe) return pe;
    const at = await state.symbolsAt(last.instruction);
    if (at?.symbols) {
      const rules = await at.symbols.findCfiRules(at.rva);
      if (rules) {
        const frame = callerByCfi(state, rules, CFI_REGISTERS);
        const rip = frame?.registers.get('rip');
        const rsp = frame?.registers.get('rsp');
        if (frame && rip && rsp) return { trust: 'cfi', registers: frame.registers, stale: 'fill' };
      }
    }
    const windows = state.osShort === 'windows';
    if (last.trust === 'context' && windows) {
      const leaf = await callerBySimulatingReturn(state);
      if (leaf) return leaf;
    }
    if (!windows) {
      const fp = callerByFramePointer(state);
      if (fp) return fp;
    }
    if (scanAllowed) return callerByScan(state);
    return undefined;
  },
};

/**
 * Windows x64 unwind data from the module's PE image (.pdata/.xdata), as RtlVirtualUnwind applies
 * it: exact for code compiled without frame pointers. A caller frame is never a leaf function, so
 * an address no RUNTIME_FUNCTION covers is left to the other strategies unless it is the context frame.
 */
async function callerByPeUnwind(state: WalkState): Promise<CallerCandidate | undefined> {
  const found = await state.lastFrameImage();
  if (!found) return undefined;
  const { module, image } = found;
  const last = state.last;
  const isContextFrame = last.interrupted;
  // Look the function up by the instruction inside the call, not the return address after it.
  const registers = new Map(last.registers);
  registers.set('rip', last.instruction);
  const result = await unwindAmd64({
    image,
    moduleBase: module.base,
    registers,
    readU64: (address) => state.readWord(address),
    isContextFrame,
  });
  if (!result || (result.kind === 'leaf' && !isContextFrame)) return undefined;
  last.fixedAllocation = result.fixedAllocation;
  if (!result.registers.has('rip') || !result.registers.has('rsp')) return undefined;
  return { trust: 'cfi', registers: result.registers, stale: 'fill', interrupted: result.kind === 'machine_frame', fromPeUnwind: true };
}

async function callerBySimulatingReturn(state: WalkState): Promise<CallerCandidate | undefined> {
  const last = state.last;
  const found = await state.scanForReturnAddress(last.sp, 1);
  if (!found) return undefined;
  const registers = new Map(last.registers);
  registers.set('rip', found.ip);
  registers.set('rsp', found.location + 8n);
  return { trust: 'leaf', registers, stale: 'inherit' };
}

function callerByFramePointer(state: WalkState): CallerCandidate | undefined {
  const last = state.last;
  const rbp = registerValue(last, 'rbp');
  if (rbp % 8n !== 0n) return undefined;
  const rip = state.readWord(rbp + 8n);
  const callerRbp = state.readWord(rbp);
  if (rip === undefined || callerRbp === undefined) return undefined;
  const rsp = rbp + 16n;
  if (isNonCanonical(rip)) return undefined;
  if (rsp <= rbp || callerRbp < rsp) return undefined;
  if (state.readWord(callerRbp) === undefined) return undefined;
  return {
    trust: 'frame_pointer',
    registers: new Map([
      ['rip', rip],
      ['rsp', rsp],
      ['rbp', callerRbp],
    ]),
    stale: 'inherit',
  };
}

async function callerByScan(state: WalkState): Promise<CallerCandidate | undefined> {
  const last = state.last;
  const found = await state.scanForReturnAddress(last.sp, state.scanWords(last.trust === 'context'));
  if (!found) return undefined;
  const registers = new Map<string, bigint>([
    ['rip', found.ip],
    ['rsp', found.location + 8n],
  ]);
  const rbp = last.registers.get('rbp');
  if (rbp !== undefined) {
    // The slot below the return address holding a saved RBP that points up the stack: a frame-pointer frame.
    if (found.location - 8n === rbp) {
      const callerRbp = state.readWord(rbp);
      if (callerRbp !== undefined && callerRbp > found.location) registers.set('rbp', callerRbp);
    } else if (rbp >= found.location + 8n) {
      registers.set('rbp', rbp);
    }
  }
  return { trust: 'scan', registers, stale: 'inherit' };
}
