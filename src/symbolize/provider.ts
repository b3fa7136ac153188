import type { Module } from '../model/snapshot.js';

/** What a symbolised address resolves to (the shape Breakpad .sym files give). */
export interface SymbolInfo {
  readonly functionName: string;
  readonly functionAddress: number;
  readonly functionSize: number | undefined;
  readonly parameterSize: number;
  readonly isPublic: boolean;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly lineAddress: number | undefined;
  /** Inlined calls at the address, innermost first. */
  readonly inlines: readonly { readonly name: string; readonly file: string | undefined; readonly line: number | undefined }[];
}

/** STACK WIN data for x86 Windows code. */
export interface WindowsFrameInfo {
  readonly type: 0 | 4;
  readonly rva: number;
  readonly codeSize: number;
  readonly prologueSize: number;
  readonly epilogueSize: number;
  readonly parameterSize: number;
  readonly savedRegisterSize: number;
  readonly localSize: number;
  readonly maxStackSize: number;
  readonly allocatesBasePointer: boolean;
  readonly programString: string | undefined;
}

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

/** A provider that knows no symbols. */
export const noSymbols: SymbolProvider = {
  symbolsFor: () => Promise.resolve(undefined),
};
