// Test support for unwinder tests: modules, symbols from .sym text, and one call that walks a
// synthetic stack from a register set, like the fixtures of Breakpad's stackwalker_*_unittest.cc.
import { loadSymbolFile } from '../../formats/breakpad-sym/index.js';
import { BufferSource } from '../../io/byte-source.js';
import { MemoryBlock } from '../../model/memory.js';
import { ModuleIndex } from '../../model/module-index.js';
import type { Module } from '../../model/snapshot.js';
import type { ModuleSymbols, SymbolProvider } from '../../symbolize/provider.js';
import { amd64Unwinder } from '../../unwind/amd64.js';
import { armUnwinder } from '../../unwind/arm.js';
import { arm64Unwinder } from '../../unwind/arm64.js';
import { defaultWalkOptions, walkThread, WalkState, type CpuUnwinder, type WalkOptions } from '../../unwind/walker.js';
import { x86Unwinder } from '../../unwind/x86.js';
import type { RegisterValues } from './context.js';
import { valueOf, type StackBuilder, type Value } from './section.js';

/** A loaded module as the snapshot model has it; the name doubles as the key for symbols. */
export function testModule(name: string, base: Value, size: number): Module {
  return { base: valueOf(base), size, codeFile: name, codeId: '', debugFile: name, debugId: '', version: undefined, timeDateStamp: 0, checksum: 0 };
}

/** Symbols from Breakpad .sym text, by module name; other modules have none. */
export class SymbolText implements SymbolProvider {
  private readonly loaded = new Map<string, Promise<ModuleSymbols>>();

  constructor(private readonly files: Readonly<Record<string, string>>) {}

  symbolsFor(module: Module): Promise<ModuleSymbols | undefined> {
    const text = this.files[module.codeFile];
    if (text === undefined) return Promise.resolve(undefined);
    let symbols = this.loaded.get(module.codeFile);
    if (!symbols) {
      symbols = loadSymbolFile(new BufferSource(new TextEncoder().encode(text), `${module.codeFile}.sym`));
      this.loaded.set(module.codeFile, symbols);
    }
    return symbols;
  }
}

export interface WalkFixture {
  readonly cpu: 'x86' | 'amd64' | 'arm64' | 'arm';
  /** Short OS name as SystemInfo gives it ('windows', 'linux', 'ios', ...). */
  readonly os?: string;
  readonly modules: readonly Module[];
  /** .sym text by module name. */
  readonly symbols?: Readonly<Record<string, string>>;
  /** The thread's stack memory; without it only the context frame can be found. */
  readonly stack?: StackBuilder;
  /** The context frame's registers; labels must be placed by now. */
  readonly registers: RegisterValues;
  readonly options?: Partial<WalkOptions>;
}

const UNWINDERS: Record<WalkFixture['cpu'], CpuUnwinder> = { x86: x86Unwinder, amd64: amd64Unwinder, arm64: arm64Unwinder, arm: armUnwinder };

/** A walk state that counts the stack words the walk reads (its strategies read only through readWord). */
class CountingWalkState extends WalkState {
  stackReads = 0;
  override readWord(address: bigint): bigint | undefined {
    this.stackReads++;
    return super.readWord(address);
  }
}

/** Walks the fixture's stack with the real walk loop and the CPU's unwinder; counts the stack words read. */
export async function walkStack(f: WalkFixture): Promise<Awaited<ReturnType<typeof walkThread>> & { stackReads: number }> {
  const stack = f.stack ? new MemoryBlock(f.stack.start, f.stack.finish()) : undefined;
  const state = new CountingWalkState(f.cpu, stack, new ModuleIndex(f.modules), new SymbolText(f.symbols ?? {}), f.os ?? 'linux');
  const registers = new Map(Object.entries(f.registers).map(([name, v]) => [name, valueOf(v)] as const));
  const walk = await walkThread(state, { cpu: f.cpu, registers }, UNWINDERS[f.cpu], { ...defaultWalkOptions, ...f.options });
  return { ...walk, stackReads: state.stackReads };
}
