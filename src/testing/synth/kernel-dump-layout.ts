// Test support: field offsets of the Windows kernel dump structures the builder writes, written out
// here independently of the reader in src/formats/kdump, so a wrong offset on either side fails a
// round-trip test. Checked against the public layouts (kdmp-parser's kdmp-parser-structs.h,
// rizin's dmp_specs.h, volatility3's crash.json/crash64.json/crash_common.json, WDBGEXTS.H as
// published for KDDEBUGGER_DATA64) and against the real dumps in ../shared/corpus/external/kernel.

export interface Field {
  readonly offset: number;
  readonly width: 1 | 2 | 4 | 8;
}

type FieldTable = Readonly<Record<string, Field>>;

function table(entries: readonly (readonly [string, number, 1 | 2 | 4 | 8])[]): FieldTable {
  return Object.fromEntries(entries.map(([name, offset, width]) => [name, { offset, width }]));
}

/** 'PAGE': Windows fills every header byte it does not set with this pattern. */
export const PAGE_PATTERN = new Uint8Array([0x50, 0x41, 0x47, 0x45]);
export const SIGNATURE_PAGE = 0x45474150; // 'PAGE'
export const VALID_DUMP64 = 0x34365544; // 'DU64'
export const VALID_DUMP32 = 0x504d5544; // 'DUMP'
export const SIGNATURE_SDMP = 0x504d4453; // 'SDMP'
export const SIGNATURE_FDMP = 0x504d4446; // 'FDMP'
export const SIGNATURE_RDMP = 0x504d4452; // 'RDMP'
export const RDMP_MARKER = 0x40;
export const KDBG_TAG = 0x4742444b; // 'KDBG'
/** TRIAGE_DUMP_VALID, the multi-character constant 'DGRT': bytes "TRGD" in the file. */
export const TRIAGE_VALID = 0x44475254;

/** DUMP_HEADER64, 0x2000 bytes. kdmp-parser's HEADER64 and rizin's dmp64_header agree, and the x64 triage dump decodes with them. */
export const HEADER64 = table([
  ['Signature', 0x0, 4],
  ['ValidDump', 0x4, 4],
  ['MajorVersion', 0x8, 4],
  ['MinorVersion', 0xc, 4],
  ['DirectoryTableBase', 0x10, 8],
  ['PfnDataBase', 0x18, 8],
  ['PsLoadedModuleList', 0x20, 8],
  ['PsActiveProcessHead', 0x28, 8],
  ['MachineImageType', 0x30, 4],
  ['NumberProcessors', 0x34, 4],
  ['BugCheckCode', 0x38, 4],
  ['BugCheckParameter1', 0x40, 8],
  ['BugCheckParameter2', 0x48, 8],
  ['BugCheckParameter3', 0x50, 8],
  ['BugCheckParameter4', 0x58, 8],
  ['KdDebuggerDataBlock', 0x80, 8],
  // PHYSICAL_MEMORY_DESCRIPTOR64: NumberOfRuns u32, 4 bytes of padding, NumberOfPages u64, runs from +0x10.
  // volatility3's crash64.json has NumberOfPages as a u32 at +4; kdmp-parser, rizin and the natural
  // alignment of the published ULONG64 field put it at +8. Followed +8 (two readers and the C layout).
  ['PhysicalMemoryBlock.NumberOfRuns', 0x88, 4],
  ['PhysicalMemoryBlock.NumberOfPages', 0x90, 8],
  ['Exception.ExceptionCode', 0xf00, 4],
  ['Exception.ExceptionFlags', 0xf04, 4],
  ['Exception.ExceptionRecord', 0xf08, 8],
  ['Exception.ExceptionAddress', 0xf10, 8],
  ['Exception.NumberParameters', 0xf18, 4],
  ['DumpType', 0xf98, 4],
  ['RequiredDumpSpace', 0xfa0, 8],
  ['SystemTime', 0xfa8, 8],
  ['SystemUpTime', 0x1030, 8],
  ['MiniDumpFields', 0x1038, 4],
  ['SecondaryDataState', 0x103c, 4],
  ['ProductType', 0x1040, 4],
  ['SuiteMask', 0x1044, 4],
  ['WriterStatus', 0x1048, 4],
  ['KdSecondaryVersion', 0x104d, 1],
  ['Attributes', 0x1050, 4],
  ['BootId', 0x1054, 4],
]);

/**
 * DUMP_HEADER32, 0x1000 bytes. The tail (DumpType at 0xF88 ... SystemTime at 0xFC0) follows
 * volatility3's crash.json and the 32-bit ARM small dump in the corpus; rizin's dmp32_header lacks the
 * 1768 reserved bytes after Comment and would put DumpType at 0x8A0, which the real file contradicts.
 */
export const HEADER32 = table([
  ['Signature', 0x0, 4],
  ['ValidDump', 0x4, 4],
  ['MajorVersion', 0x8, 4],
  ['MinorVersion', 0xc, 4],
  ['DirectoryTableBase', 0x10, 4],
  ['PfnDataBase', 0x14, 4],
  ['PsLoadedModuleList', 0x18, 4],
  ['PsActiveProcessHead', 0x1c, 4],
  ['MachineImageType', 0x20, 4],
  ['NumberProcessors', 0x24, 4],
  ['BugCheckCode', 0x28, 4],
  ['BugCheckParameter1', 0x2c, 4],
  ['BugCheckParameter2', 0x30, 4],
  ['BugCheckParameter3', 0x34, 4],
  ['BugCheckParameter4', 0x38, 4],
  ['PaeEnabled', 0x5c, 1],
  ['KdSecondaryVersion', 0x5d, 1],
  ['KdDebuggerDataBlock', 0x60, 4],
  ['PhysicalMemoryBlock.NumberOfRuns', 0x64, 4],
  ['PhysicalMemoryBlock.NumberOfPages', 0x68, 4],
  ['Exception.ExceptionCode', 0x7d0, 4],
  ['Exception.ExceptionFlags', 0x7d4, 4],
  ['Exception.ExceptionRecord', 0x7d8, 4],
  ['Exception.ExceptionAddress', 0x7dc, 4],
  ['Exception.NumberParameters', 0x7e0, 4],
  ['DumpType', 0xf88, 4],
  ['MiniDumpFields', 0xf8c, 4],
  ['SecondaryDataState', 0xf90, 4],
  ['ProductType', 0xf94, 4],
  ['SuiteMask', 0xf98, 4],
  ['WriterStatus', 0xf9c, 4],
  ['RequiredDumpSpace', 0xfa0, 8],
  ['SystemUpTime', 0xfb8, 8],
  ['SystemTime', 0xfc0, 8],
]);

/** Byte ranges of the header that are not single numbers. */
export const HEADER64_AREAS = {
  versionUser: { offset: 0x60, size: 32 },
  runs: { offset: 0x98, size: 700 - 0x10, runSize: 16 },
  context: { offset: 0x348, size: 3000 },
  exceptionInformation: { offset: 0xf20, width: 8 },
  comment: { offset: 0xfb0, size: 128 },
  size: 0x2000,
} as const;

export const HEADER32_AREAS = {
  versionUser: { offset: 0x3c, size: 32 },
  runs: { offset: 0x6c, size: 700 - 0x8, runSize: 8 },
  context: { offset: 0x320, size: 1200 },
  exceptionInformation: { offset: 0x7e4, width: 4 },
  comment: { offset: 0x820, size: 128 },
  size: 0x1000,
} as const;

/** TRIAGE_DUMP64 at 0x2000, 0x80 bytes; every offset in it counts from the start of the file. */
export const TRIAGE64 = table([
  ['ServicePackBuild', 0x0, 4],
  ['SizeOfDump', 0x4, 4],
  ['ValidOffset', 0x8, 4],
  ['ContextOffset', 0xc, 4],
  ['ExceptionOffset', 0x10, 4],
  ['MmOffset', 0x14, 4],
  ['UnloadedDriversOffset', 0x18, 4],
  ['PrcbOffset', 0x1c, 4],
  ['ProcessOffset', 0x20, 4],
  ['ThreadOffset', 0x24, 4],
  ['CallStackOffset', 0x28, 4],
  ['SizeOfCallStack', 0x2c, 4],
  ['DriverListOffset', 0x30, 4],
  ['DriverCount', 0x34, 4],
  ['StringPoolOffset', 0x38, 4],
  ['StringPoolSize', 0x3c, 4],
  ['BrokenDriverOffset', 0x40, 4],
  ['TriageOptions', 0x44, 4],
  ['TopOfStack', 0x48, 8],
  ['BStoreOffset', 0x50, 4],
  ['SizeOfBStore', 0x54, 4],
  ['LimitOfBStore', 0x58, 8],
  ['DataPageAddress', 0x60, 8],
  ['DataPageOffset', 0x68, 4],
  ['DataPageSize', 0x6c, 4],
  ['DebuggerDataOffset', 0x70, 4],
  ['DebuggerDataSize', 0x74, 4],
  ['DataBlocksOffset', 0x78, 4],
  ['DataBlocksCount', 0x7c, 4],
]);
export const TRIAGE64_SIZE = 0x80;

/** TRIAGE_DUMP32 at 0x1000, 0x68 bytes (rizin's dmp32_triage; the ARM32 small dump decodes with it). */
export const TRIAGE32 = table([
  ['ServicePackBuild', 0x0, 4],
  ['SizeOfDump', 0x4, 4],
  ['ValidOffset', 0x8, 4],
  ['ContextOffset', 0xc, 4],
  ['ExceptionOffset', 0x10, 4],
  ['MmOffset', 0x14, 4],
  ['UnloadedDriversOffset', 0x18, 4],
  ['PrcbOffset', 0x1c, 4],
  ['ProcessOffset', 0x20, 4],
  ['ThreadOffset', 0x24, 4],
  ['CallStackOffset', 0x28, 4],
  ['SizeOfCallStack', 0x2c, 4],
  ['DriverListOffset', 0x30, 4],
  ['DriverCount', 0x34, 4],
  ['StringPoolOffset', 0x38, 4],
  ['StringPoolSize', 0x3c, 4],
  ['BrokenDriverOffset', 0x40, 4],
  ['TriageOptions', 0x44, 4],
  ['TopOfStack', 0x48, 4],
  ['DataPageAddress', 0x4c, 4],
  ['DataPageOffset', 0x50, 4],
  ['DataPageSize', 0x54, 4],
  ['DebuggerDataOffset', 0x58, 4],
  ['DebuggerDataSize', 0x5c, 4],
  ['DataBlocksOffset', 0x60, 4],
  ['DataBlocksCount', 0x64, 4],
]);
export const TRIAGE32_SIZE = 0x68;

/**
 * DUMP_DRIVER_ENTRY64 (144 bytes): DriverNameOffset, 4 bytes of alignment, then the
 * KLDR_DATA_TABLE_ENTRY64 copy as rizin lays it out (DllBase +0x30, SizeOfImage +0x40, CheckSum +0x78,
 * TimeDateStamp +0x80 of the entry); the x64 triage dump's 151 entries decode with it.
 */
export const DRIVER_ENTRY64 = { size: 0x90, ldr: 0x8 } as const;
/** DUMP_DRIVER_ENTRY32 (76 bytes): DriverNameOffset, then KLDR_DATA_TABLE_ENTRY32 (DllBase +0x18, CheckSum +0x40, TimeDateStamp +0x44). */
export const DRIVER_ENTRY32 = { size: 0x4c, ldr: 0x4 } as const;

/** KLDR_DATA_TABLE_ENTRY, the fields a reader follows: InLoadOrderLinks at 0, UNICODE_STRING names. */
export const KLDR64 = { DllBase: 0x30, EntryPoint: 0x38, SizeOfImage: 0x40, FullDllName: 0x48, BaseDllName: 0x58, Flags: 0x68, LoadCount: 0x6c, CheckSum: 0x78, TimeDateStamp: 0x80, size: 0x88 } as const;
export const KLDR32 = { DllBase: 0x18, EntryPoint: 0x1c, SizeOfImage: 0x20, FullDllName: 0x24, BaseDllName: 0x2c, Flags: 0x34, LoadCount: 0x38, CheckSum: 0x40, TimeDateStamp: 0x44, size: 0x48 } as const;

/** DUMP_UNLOADED_DRIVERS64 (56 bytes: UNICODE_STRING64, WCHAR[12], start, end) after a u32 count and 4 bytes of padding; 32-bit: 40 bytes after a bare u32 count. */
export const UNLOADED64 = { header: 8, size: 56, name: 16, start: 40, end: 48, chars: 12 } as const;
export const UNLOADED32 = { header: 4, size: 40, name: 8, start: 32, end: 36, chars: 12 } as const;

/** DUMP_MM_STORAGE: Version 1 and Size as the real dumps have them (0x50 on x64, 0x34 on 32-bit). */
export const MM_STORAGE64_SIZE = 0x50;
export const MM_STORAGE32_SIZE = 0x34;

/**
 * The 64-bit bitmap header (kernel 'SDMP', full 'FDMP') right after the dump header. kdmp-parser names
 * +0x28 TotalPresentPages and +0x30 Pages (bits in the bitmap); volatility3's crash_common.json calls
 * them Pages and BitmapSize, same offsets (its own note says the original JSON had them swapped).
 * volatility3 reads the same header at 0x1000 for 32-bit bitmap dumps, so 32-bit kernels use it too.
 */
export const BITMAP = table([
  ['Signature', 0x0, 4],
  ['ValidDump', 0x4, 4],
  ['DumpOptions', 0x8, 4],
  ['FirstPage', 0x20, 8],
  ['TotalPresentPages', 0x28, 8],
  ['Pages', 0x30, 8],
]);
export const BITMAP_BITS = 0x38;

/** SUMMARY_DUMP32 at 0x1000 (DumpType 2 on 32-bit kernels), as the public WDK symbols lay it out: an on-disk RTL_BITMAP at +0x18. */
export const SUMMARY32 = table([
  ['Signature', 0x0, 4],
  ['ValidDump', 0x4, 4],
  ['DumpOptions', 0x8, 4],
  ['HeaderSize', 0xc, 4],
  ['BitmapSize', 0x10, 4],
  ['Pages', 0x14, 4],
  ['SizeOfBitMap', 0x18, 4],
]);
export const SUMMARY32_BITS = 0x20;

/**
 * RDMP_HEADER64 at 0x2000 (DumpType 8, 9, 10), after kdmp-parser: Marker 0x40, 'RDMP', 'DUMP',
 * MetadataSize, FirstPageOffset, with MetadataSize - 0x20 == FirstPageOffset - 0x2040 (the metadata
 * starts at 0x2020). Kernel forms have two unknown u64 at +0x20, the complete form NumberOfRanges and
 * TotalNumberOfPages; PFN ranges { PageFileNumber u64, NumberOfPages u64 } from +0x30, a zero PFN ends them.
 */
export const RDMP = table([
  ['Marker', 0x0, 4],
  ['Signature', 0x4, 4],
  ['ValidDump', 0x8, 4],
  ['MetadataSize', 0x10, 8],
  ['FirstPageOffset', 0x18, 8],
  ['NumberOfRanges', 0x20, 4],
  ['TotalNumberOfPages', 0x28, 8],
]);
export const RDMP_RANGES = 0x30;

/**
 * KDDEBUGGER_DATA64 (WDBGEXTS.H), the fields the builder writes. 32-bit kernels use the same layout
 * with pointers sign-extended to 64 bits: the ARM32 small dump's copy has KernBase 0xffffffff80c06000.
 */
export const KDBG = table([
  ['OwnerTag', 0x10, 4],
  ['Size', 0x14, 4],
  ['KernBase', 0x18, 8],
  ['BreakpointWithStatus', 0x20, 8],
  ['SavedContext', 0x28, 8],
  ['PsLoadedModuleList', 0x48, 8],
  ['PsActiveProcessHead', 0x50, 8],
  ['MmPfnDatabase', 0xc0, 8],
  ['MmPageSize', 0x138, 8],
  ['KiProcessorBlock', 0x218, 8],
  ['MmUnloadedDrivers', 0x220, 8],
  ['MmPhysicalMemoryBlock', 0x270, 8],
  ['OffsetKThreadNextProcessor', 0x298, 2],
  ['OffsetKThreadTeb', 0x29a, 2],
  ['OffsetKThreadKernelStack', 0x29c, 2],
  ['OffsetKThreadInitialStack', 0x29e, 2],
  ['OffsetKThreadApcProcess', 0x2a0, 2],
  ['OffsetKThreadState', 0x2a2, 2],
  ['SizeEProcess', 0x2a8, 2],
  ['SizePrcb', 0x2b0, 2],
  ['OffsetPrcbCurrentThread', 0x2b4, 2],
  ['OffsetPrcbProcStateContext', 0x2bc, 2],
  ['OffsetPrcbNumber', 0x2be, 2],
  ['SizeEThread', 0x2c0, 2],
  ['OffsetPrcbContext', 0x338, 2],
  ['OffsetKThreadStackLimit', 0x340, 4],
  ['OffsetKThreadStackBase', 0x344, 4],
  ['PteBase', 0x360, 8],
]);
/** KDDEBUGGER_DATA64's Size on Windows 10 x64 (the triage dump's DebuggerDataSize). */
export const KDBG_SIZE = 0x380;

/** Exported field names a test may patch or look up, per structure. */
export type FieldMap = ReadonlyMap<string, Field>;
