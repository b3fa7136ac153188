export { loadSymbolFile } from './symbol-file.js';
export type { InlineFrame, ModuleInfo, SymbolFile, SymbolLookup, WindowsFrameInfo } from './symbol-file.js';
export { applyCfiRuleSet } from './cfi-rules.js';
export { readModuleRecord } from './module-record.js';
