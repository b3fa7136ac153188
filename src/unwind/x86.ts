import { KTRAP_FRAME_DBG_EBP, KTRAP_FRAME_DBG_EIP, KTRAP_FRAME_EBP, KTRAP_FRAME_EIP, KTRAP_FRAME_ESP, KTRAP_FRAME_SEGCS, TRAP_ENTRY } from './trap-frame.js';
import { evaluateProgram } from '../symbolize/postfix.js';
import type { WindowsFrameInfo } from '../symbolize/provider.js';
import { callerByCfi } from './cfi.js';
import { registerValue, type StackFrame } from './frame.js';
import type { CallerCandidate, CpuUnwinder, WalkState } from './walker.js';

const M32 = 0xffffffffn;
/** Breakpad's kMaxReasonableGapBetweenFrames: a recovered EBP further than this above the slot is not trusted. */
const MAX_REASONABLE_GAP = 128n * 1024n;

/** x86 callee-saved registers and how STACK CFI names them. */
const CFI_REGISTERS = [
  { name: 'eip', cfi: '$eip', alternate: '.ra', calleeSaves: false },
  { name: 'esp', cfi: '$esp', alternate: '.cfa', calleeSaves: false },
  { name: 'ebp', cfi: '$ebp', calleeSaves: true },
  { name: 'eax', cfi: '$eax', calleeSaves: false },
  { name: 'ebx', cfi: '$ebx', calleeSaves: true },
  { name: 'ecx', cfi: '$ecx', calleeSaves: false },
  { name: 'edx', cfi: '$edx', calleeSaves: false },
  { name: 'esi', cfi: '$esi', calleeSaves: true },
  { name: 'edi', cfi: '$edi', calleeSaves: true },
  { name: 'efl', cfi: '$efl', calleeSaves: false },
] as const;

/**
 * x86 strategies in Breakpad's order: STACK WIN, STACK CFI, EBP chain, then scanning. With
 * `pendingReturn`, a context frame stopped on a `ret` is stepped over before the EBP chain is tried.
 */
function x86Strategies(pendingReturn: boolean): CpuUnwinder {
  return {
    returnAddressBias: 1n,
    async callerFrame(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined> {
      const last = state.last;
      const at = await state.symbolsAt(last.instruction);
      if (at?.symbols) {
        const info = await at.symbols.findWindowsFrameInfo(at.rva);
        if (info) {
          last.parameterSize = info.parameterSize;
          const frame = await callerByWindowsFrameInfo(state, info, scanAllowed);
          if (frame) return frame;
        } else if (last.symbol && !last.symbol.isPublic) {
          // Without STACK WIN, a covering FUNC still gives the parameter size later steps use (not a PUBLIC).
          last.parameterSize = last.symbol.parameterSize;
        }
        const rules = await at.symbols.findCfiRules(at.rva);
        if (rules) {
          const frame = callerByCfi(state, rules, CFI_REGISTERS);
          if (frame && frame.registers.has('eip') && frame.registers.has('esp') && frame.registers.has('ebp')) {
            return { trust: 'cfi', registers: frame.registers, stale: 'fill' };
          }
        }
      }
      if (pendingReturn) {
        const popped = await callerByPendingReturn(state);
        if (popped) return popped;
      }
      return callerByEbp(state, scanAllowed);
    },
  };
}

/** Breakpad's x86 walk: its frames are compared with Breakpad's, frame for frame. */
export const x86Unwinder: CpuUnwinder = x86Strategies(false);

/**
 * The 32-bit stack of a WOW64 thread, which Breakpad never walks: its saved context is nearly always
 * a system-call stub's `ret`, so that step comes first (see callerByPendingReturn).
 */
export const x86Wow64Unwinder: CpuUnwinder = x86Strategies(true);

function calleeParameterSize(frames: readonly StackFrame[]): number {
  // Breakpad walks every earlier frame and keeps the last one it sees, i.e. the innermost.
  let size = 0;
  for (let i = frames.length - 2; i >= 0; i--) {
    const known = frames[i]!.parameterSize;
    if (known !== undefined) size = known;
  }
  return size;
}

async function callerByWindowsFrameInfo(
  state: WalkState,
  info: WindowsFrameInfo,
  scanAllowed: boolean,
): Promise<CallerCandidate | undefined> {
  const last = state.last;
  const ebp = registerValue(last, 'ebp');
  const esp = registerValue(last, 'esp');
  const ebx = last.registers.get('ebx');
  const calleeParams = BigInt(calleeParameterSize(state.frames));
  const vars = new Map<string, bigint>([
    ['$ebp', ebp],
    ['$esp', esp],
    ['.cbCalleeParams', calleeParams],
    ['.cbSavedRegs', BigInt(info.savedRegisterSize)],
    ['.cbLocals', BigInt(info.localSize)],
    ['.cbParams', BigInt(info.parameterSize)],
  ]);
  if (ebx !== undefined) vars.set('$ebx', ebx);

  let raSearchStart = (esp + calleeParams + BigInt(info.localSize) + BigInt(info.savedRegisterSize)) & M32;
  const raSearchStartOld = raSearchStart;
  const hit = await state.scanForReturnAddress(raSearchStart, 3);
  if (hit) {
    raSearchStart = hit.location;
    // An FPO context frame whose first hit is its own eip: the real return address is further up.
    if (last.trust === 'context' && info.type === 0 && raSearchStartOld === raSearchStart && hit.ip === last.ip) {
      raSearchStart += 4n;
      const again = await state.scanForReturnAddress(raSearchStart, 3);
      if (again) raSearchStart = again.location;
    }
  }

  let program: string;
  let recoverEbp = true;
  if (info.programString) {
    program = info.programString;
  } else if (info.allocatesBasePointer) {
    program = '$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = $esp .raSearchStart 4 + =';
  } else {
    program = '$eip .raSearchStart ^ = $esp .raSearchStart 4 + =';
    if (ebx !== undefined) program += ' $ebx $ebx =';
    recoverEbp = false;
  }
  if (last.registers.has('ebp') && program.includes('@')) raSearchStart = (ebp + 4n) & M32;
  vars.set('.raSearchStart', raSearchStart);
  vars.set('.raSearch', raSearchStart);

  let trust: CallerCandidate['trust'] = 'cfi';
  const ctx = { wordSize: 4 as const, readWord: (a: bigint) => state.readWord(a) };
  // As Breakpad, a program that fails part-way keeps what it assigned before failing ($ebp, say) for
  // the steps below, though $eip and $esp then come from a scan.
  const run = evaluateProgram(program, vars, ctx);
  const assigned = run.assigned;
  const dict = run.variables;
  if (!run.ok || !assigned.has('$eip') || !assigned.has('$esp')) {
    if (!scanAllowed) return undefined;
    const found = await state.scanForReturnAddress(esp, state.scanWords(last.trust === 'context'));
    if (!found) return undefined;
    dict.set('$eip', found.ip);
    dict.set('$esp', (found.location + 4n) & M32);
    trust = 'scan';
  }

  const get = (name: string): bigint => dict.get(name) ?? 0n;
  if (get('$eip') !== 0n || get('$ebp') !== 0n) {
    let offset = 0n;
    if (!state.modules.find(get('$eip'))) {
      const start = (get('.raSearchStart') + 4n) & M32;
      if (scanAllowed) {
        const found = await state.scanForReturnAddress(start, state.scanWords(last.trust === 'context'));
        if (found) {
          dict.set('$eip', found.ip);
          dict.set('$esp', (found.location + 4n) & M32);
          offset = found.location - start;
          trust = 'cfi_scan';
        }
      }
    }
    if (recoverEbp) {
      const skipped = trust !== 'cfi' && get('$ebp') <= raSearchStart + offset;
      if (skipped || state.readWord(get('$ebp')) === undefined) {
        // Find the saved EBP among the callee-saved register slots: the first that points into the stack.
        const end = (esp + calleeParams) & M32;
        for (let location = end + BigInt(info.savedRegisterSize) + offset; location >= end; location -= 4n) {
          const candidate = state.readWord(location);
          if (candidate === undefined) break;
          if (state.readWord(candidate) !== undefined) {
            dict.set('$ebp', candidate);
            break;
          }
        }
      }
    }
  }

  const registers = new Map<string, bigint>([
    ['eip', get('$eip') & M32],
    ['esp', get('$esp') & M32],
    ['ebp', get('$ebp') & M32],
  ]);
  for (const reg of ['ebx', 'esi', 'edi']) {
    if (assigned.has('$' + reg) && dict.has('$' + reg)) registers.set(reg, dict.get('$' + reg)! & M32);
  }
  return { trust, registers, stale: 'inherit' };
}

/**
 * A trap or system-call entry's frame pointer is its KTRAP_FRAME: the interrupted frame's EBP and
 * EIP are at +0x60/+0x68 (when those do not hold a readable EIP, the debugger's copies at +0/+4),
 * and its ESP follows the frame for a kernel-mode trap or is HardwareEsp (+0x74) from user mode.
 */
function callerByTrapFrame(state: WalkState): CallerCandidate | undefined {
  const last = state.last;
  const name = last.symbol?.functionName;
  if (name === undefined || !TRAP_ENTRY.test(name)) return undefined;
  const t = registerValue(last, 'ebp');
  let ebp = state.readWord((t + KTRAP_FRAME_EBP) & M32);
  let eip = state.readWord((t + KTRAP_FRAME_EIP) & M32);
  const cs = state.readWord((t + KTRAP_FRAME_SEGCS) & M32);
  if (ebp === undefined || eip === undefined || eip === 0n) {
    ebp = state.readWord((t + KTRAP_FRAME_DBG_EBP) & M32);
    eip = state.readWord((t + KTRAP_FRAME_DBG_EIP) & M32);
  }
  if (ebp === undefined || eip === undefined) return undefined;
  // The privilege level in CS: 3 for user mode (0x1b), 0 for the kernel (0x08).
  const userMode = cs !== undefined && (cs & 3n) === 3n;
  const esp = userMode ? state.readWord((t + KTRAP_FRAME_ESP) & M32) : (t + KTRAP_FRAME_ESP) & M32;
  if (esp === undefined) return undefined;
  if (eip === 0n) return undefined;
  last.trapFrame = t;
  return {
    trust: 'frame_pointer',
    registers: new Map([
      ['eip', eip],
      ['esp', esp],
      ['ebp', ebp],
    ]),
    stale: 'inherit',
    // The trap interrupted the code at eip: an exact address, not a return address.
    interrupted: true,
    ...(userMode ? { leavesStack: true } : {}),
  };
}

/**
 * A context frame stopped on a `ret` (C3) or `ret imm16` (C2 iw): that instruction pops the return
 * address at esp, so the caller is exact whatever ebp holds. A thread in a system call stops so:
 * WOW64 saves the x86 context of a frameless ntdll stub (`mov edx, …; call edx; ret 14h`), whose
 * ebp is still its caller's, so the EBP chain would skip that caller.
 */
async function callerByPendingReturn(state: WalkState): Promise<CallerCandidate | undefined> {
  const last = state.last;
  if (last.trust !== 'context' || !state.code) return undefined;
  const code = await state.code(last.ip, 3);
  if (!code || !(code[0] === 0xc3 || (code[0] === 0xc2 && code.length >= 3))) return undefined;
  const popped = code[0] === 0xc2 ? BigInt(code[1]! | (code[2]! << 8)) : 0n;
  const esp = registerValue(last, 'esp');
  const eip = state.readWord(esp);
  if (eip === undefined) return undefined;
  return {
    trust: 'leaf',
    registers: new Map([
      ['eip', eip],
      ['esp', (esp + 4n + popped) & M32],
      ['ebp', registerValue(last, 'ebp')],
    ]),
    stale: 'inherit',
  };
}

async function callerByEbp(state: WalkState, scanAllowed: boolean): Promise<CallerCandidate | undefined> {
  const last = state.last;
  const trap = callerByTrapFrame(state);
  if (trap) return trap;
  const lastEsp = registerValue(last, 'esp');
  const lastEbp = registerValue(last, 'ebp');
  const savedEip = state.readWord((lastEbp + 4n) & M32);
  const savedEbp = state.readWord(lastEbp);
  if (savedEip !== undefined && savedEbp !== undefined) {
    return {
      trust: 'frame_pointer',
      registers: new Map([
        ['eip', savedEip],
        ['esp', (lastEbp + 8n) & M32],
        ['ebp', savedEbp],
      ]),
      stale: 'inherit',
    };
  }
  if (!scanAllowed) return undefined;
  const found = await state.scanForReturnAddress(lastEsp, state.scanWords(last.trust === 'context'));
  if (!found) return undefined;
  const callerEsp = (found.location + 4n) & M32;
  // If the word below the return address is a plausible saved EBP, take it; else keep the callee's.
  const chainSlot = callerEsp - 8n;
  let callerEbp = state.readWord(chainSlot);
  if (callerEbp === undefined || callerEbp <= chainSlot || callerEbp - chainSlot > MAX_REASONABLE_GAP) callerEbp = lastEbp;
  return {
    trust: 'scan',
    registers: new Map([
      ['eip', found.ip],
      ['esp', callerEsp],
      ['ebp', callerEbp],
    ]),
    stale: 'inherit',
  };
}

