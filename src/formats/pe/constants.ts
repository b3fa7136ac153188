/** IMAGE_FILE_HEADER.Machine values this project meets (PE format, "Machine Types"). */
export const Machine = {
  I386: 0x014c,
  ARMNT: 0x01c4,
  AMD64: 0x8664,
  ARM64: 0xaa64,
} as const;

/** Data directory indices (PE format, "Optional Header Data Directories"). */
export const Directory = {
  Export: 0,
  Import: 1,
  Resource: 2,
  Exception: 3,
  Security: 4,
  BaseReloc: 5,
  Debug: 6,
} as const;

/** IMAGE_SECTION_HEADER.Characteristics bits (PE format, "Section Flags"). */
export const SectionFlags = {
  CNT_CODE: 0x00000020,
  MEM_EXECUTE: 0x20000000,
  MEM_READ: 0x40000000,
  MEM_WRITE: 0x80000000,
} as const;

/** IMAGE_DEBUG_DIRECTORY.Type (PE format, "Debug Type"). */
export const DebugType = {
  CodeView: 2,
} as const;

export const DOS_SIGNATURE = 0x5a4d; // 'MZ'
export const NT_SIGNATURE = 0x00004550; // 'PE\0\0'
export const PE32_MAGIC = 0x10b;
export const PE32_PLUS_MAGIC = 0x20b;

/** Caps that keep hostile images from making us allocate or loop without end. */
export const Limits = {
  /** e_lfanew beyond this is not a real image. */
  ntHeadersOffset: 0x10000000,
  /** The PE format allows 96 sections on Windows; the field allows 65535 and we accept that. */
  sections: 0xffff,
  dataDirectories: 16,
  /** RUNTIME_FUNCTION entries read from an exception directory. */
  functionEntries: 1 << 24,
  /** Export ordinals are 16-bit. */
  exports: 0x10000,
  exportNameBytes: 4096,
  debugDirectories: 64,
  codeViewBytes: 4096,
  /** Chained unwind info and indirect RUNTIME_FUNCTION entries followed at most this deep (Windows' UNWIND_CHAIN_LIMIT). */
  unwindChain: 32,
} as const;
