import { TRAP_ENTRY } from '../unwind/trap-frame.js';
import type { Cpu } from '../model/cpu.js';
import type { MemoryBlock } from '../model/memory.js';
import { windbgModuleName } from '../symbolize/module-name.js';
import type { ModuleRef, StackView } from '../unwind/reconstruct/stack-view.js';
import { unwindStep, type CpuUnwinder, type WalkState } from '../unwind/walker.js';


/**
 * A dump thread's stack as stack reconstruction sees it: the captured stack words, and what the
 * walker knows of code addresses (modules, symbols, call checks, unwind data).
 */
export function dumpStackView(state: WalkState, unwinder: CpuUnwinder, stack: MemoryBlock, scratch: WalkState): StackView {
  const cpu = state.cpu as Cpu;
  if (cpu !== 'x86' && cpu !== 'amd64' && cpu !== 'arm64') throw new Error(`no stack view for ${cpu}`);
  const symbolName = async (address: bigint): Promise<{ module: ModuleRef; name: string | undefined; functionAddress: number } | undefined> => {
    const module = state.modules.find(address);
    if (!module) return undefined;
    const ref = { name: windbgModuleName(module), base: module.base, size: module.size };
    const symbols = await state.symbols.symbolsFor(module);
    const info = symbols ? await symbols.lookup(Number(address - module.base)) : undefined;
    return { module: ref, name: info?.functionName, functionAddress: info?.functionAddress ?? 0 };
  };
  return {
    cpu,
    wordSize: state.wordSize,
    start: stack.base,
    end: stack.end,
    readWord: (address) => stack.word(address, state.wordSize),
    moduleAt(address) {
      const m = state.modules.find(address);
      return m ? { name: windbgModuleName(m), base: m.base, size: m.size } : undefined;
    },
    async describe(address) {
      const s = await symbolName(address);
      if (!s) return `0x${address.toString(16)}`;
      if (!s.name) return `${s.module.name}+0x${(address - s.module.base).toString(16)}`;
      const offset = address - s.module.base - BigInt(s.functionAddress);
      return `${s.module.name}!${s.name}${offset === 0n ? '' : `+0x${offset.toString(16)}`}`;
    },
    async isReturnAddress(address) {
      if (address === 0n || !state.modules.find(address - 1n)) return false;
      if (!(await state.instructionSeemsValid(address - 1n))) return false;
      return state.followsCall(address);
    },
    async isTrapEntry(address) {
      const s = await symbolName(address);
      return s?.name !== undefined && TRAP_ENTRY.test(s.name);
    },
    unwindFrom: cpu === 'x86' ? undefined : (ip, sp) => unwindStep(scratch, unwinder, ip, sp),
  };
}
