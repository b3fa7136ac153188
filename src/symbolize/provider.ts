import type { SymbolLookup as SymbolInfo, WindowsFrameInfo } from '../formats/breakpad-sym/index.js';
import type { Module } from '../model/snapshot.js';

/**
 * What a symbolised address resolves to, and the x86 STACK WIN data: the shapes Breakpad .sym files
 * give. Other providers (PE exports, later PDB) fill the same records.
 */
export type { SymbolLookup as SymbolInfo, WindowsFrameInfo } from '../formats/breakpad-sym/index.js';

/** Per-module symbol and unwind data, looked up by module-relative address. */
export interface ModuleSymbols {
  lookup(rva: number): Promise<SymbolInfo | undefined>;
  findCfiRules(rva: number): Promise<Map<string, string> | undefined>;
  findWindowsFrameInfo(rva: number): Promise<WindowsFrameInfo | undefined>;
}

/** Finds symbols for modules; implementations: symbol-store directories, later PE exports and PDB. */
export interface SymbolProvider {
  symbolsFor(module: Module): Promise<ModuleSymbols | undefined>;
}

/** A name without size, lines or inlines (a PE export, a PUBLIC record, a name a debugger printed). */
export function publicSymbol(functionName: string, functionAddress: number): SymbolInfo {
  return {
    functionName,
    functionAddress,
    functionSize: undefined,
    parameterSize: 0,
    isPublic: true,
    isMultiple: false,
    file: undefined,
    line: undefined,
    lineAddress: undefined,
    inlines: [],
  };
}

/** A provider that knows no symbols. */
export const noSymbols: SymbolProvider = {
  symbolsFor: () => Promise.resolve(undefined),
};
