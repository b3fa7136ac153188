// stackhog's library entry: the core runs anywhere (Node, workers, browsers) over a ByteSource.
export { BufferSource, BlobSource, PagedSource, type ByteSource, type ReadAt } from './io/byte-source.js';
export { FormatError, isFormatError } from './io/errors.js';
export { readSnapshot } from './formats/detect.js';
export { readMinidump } from './formats/minidump/read-minidump.js';
export type * from './model/snapshot.js';
export type { Cpu, CpuContext } from './model/cpu.js';
export { analyze, analyzeMinidump, analyzeSnapshot } from './analyze/process.js';
export type { Analysis, AnalyzeOptions, ThreadAnalysis, CrashInfo } from './analyze/types.js';
export type { StackFrame, FrameTrust } from './unwind/frame.js';
export { SymbolStoreProvider } from './symbolize/store-provider.js';
export { SymbolStore, type SymbolFileOpener } from './symbolize/symbol-store.js';
export { noSymbols, type SymbolProvider, type ModuleSymbols } from './symbolize/provider.js';
export { loadSymbolFile } from './formats/breakpad-sym/index.js';
export { renderText } from './report/text.js';
export { renderBreakpad, renderBreakpadMachine } from './report/breakpad.js';
export { toJson } from './report/json.js';
