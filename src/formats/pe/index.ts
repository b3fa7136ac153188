export { PeImage } from './pe-image.js';
export type { DataDirectory, ImageBytes, PeSection } from './pe-image.js';
export { DebugType, Directory, Machine, SectionFlags } from './constants.js';
export type { CodeView } from './codeview.js';
export { ExportTable } from './exports.js';
export type { PeExport } from './exports.js';
export type { Arm64RuntimeFunction, ArmRuntimeFunction, FunctionLookup, RuntimeFunction } from './function-table.js';
export { UnwindFlags, UnwindOp, X64_REGISTERS, decodeX64UnwindInfo, readX64UnwindInfo, x64UnwindInfoSize } from './x64-unwind-info.js';
export type { X64Epilog, X64UnwindCode, X64UnwindInfo } from './x64-unwind-info.js';
