// Test support: build minidumps, register contexts and stacks in code (see section.ts, minidump.ts).
export { Label, LabelOffset, Section, StackBuilder, valueOf, type Value } from './section.js';
export { amd64Context, arm64Context, arm64OldContext, armContext, x86Context, type RegisterValues } from './context.js';
export {
  SynthMinidump,
  Stream,
  elfBuildId,
  guidBytes,
  minidumpString,
  nb10,
  rsds,
  utf8String,
  type CrashpadSpec,
  type ExceptionSpec,
  type LazyBytes,
  type Location,
  type MemoryInfoSpec,
  type MinidumpOptions,
  type ModuleSpec,
  type Place,
  type StackSpec,
  type StreamWriter,
  type SystemInfoSpec,
  type ThreadInfoSpec,
  type ThreadSpec,
  type UnloadedModuleSpec,
} from './minidump.js';
export { SymbolText, testModule, walkStack, type WalkFixture } from './unwind.js';
export { everyStream } from './every-stream.js';
export { KernelDumpBuilder, type KernelArch, type KernelDumpKind, type KernelDumpLayout, type KernelModuleSpec, type KernelThreadSpec } from './kernel.js';
export * as kernelDump from './kernel-dump.js';
export { msfFile, pdbInfoStream, synthPdb, type PdbIdentitySpec } from './pdb.js';
export { fullMemoryDump } from './full-memory.js';
export { UserDumpBuilder, type UserDumpExceptionSpec, type UserDumpFile, type UserDumpModuleSpec, type UserDumpRegionSpec, type UserDumpThreadSpec, type UserDumpWidth } from './user-dump.js';
export { wow64ThreadMemory, type Wow64ThreadSpec } from './wow64.js';
