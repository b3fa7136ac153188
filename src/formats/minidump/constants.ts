/** MINIDUMP_STREAM_TYPE values, plus Breakpad's and Crashpad's private streams. */
export const StreamType = {
  ThreadList: 3,
  ModuleList: 4,
  MemoryList: 5,
  Exception: 6,
  SystemInfo: 7,
  ThreadExList: 8,
  Memory64List: 9,
  UnloadedModuleList: 14,
  MiscInfo: 15,
  MemoryInfoList: 16,
  ThreadInfoList: 17,
  HandleData: 12,
  ThreadNameList: 24,
  BreakpadInfo: 0x47670001,
  BreakpadAssertionInfo: 0x47670002,
  LinuxCpuInfo: 0x47670003,
  LinuxProcStatus: 0x47670004,
  LinuxLsbRelease: 0x47670005,
  LinuxCmdLine: 0x47670006,
  LinuxEnviron: 0x47670007,
  LinuxAuxv: 0x47670008,
  LinuxMaps: 0x47670009,
  LinuxDsoDebug: 0x4767000a,
  CrashpadInfo: 0x43500001,
  MozMacosCrashInfo: 0x4d7a0001,
  MozMacosBootargs: 0x4d7a0002,
  MozLinuxLimits: 0x4d7a0003,
  MozSoftErrors: 0x4d7a0004,
} as const;

export const MINIDUMP_SIGNATURE = 0x504d444d; // 'MDMP'
export const MINIDUMP_VERSION = 0xa793;

/** SYSTEM_INFO.ProcessorArchitecture, with Breakpad's extensions. */
export const ProcessorArchitecture = {
  X86: 0,
  MIPS: 1,
  PPC: 3,
  ARM: 5,
  IA64: 6,
  AMD64: 9,
  X86_WIN64: 10,
  ARM64: 12,
  SPARC: 0x8001,
  PPC64: 0x8002,
  ARM64_OLD: 0x8003,
  MIPS64: 0x8004,
  RISCV: 0x8005,
  RISCV64: 0x8006,
} as const;

/** SYSTEM_INFO.PlatformId, with Breakpad's extensions. */
export const PlatformId: Record<number, [name: string, short: string]> = {
  0: ['Windows 3.1', 'windows'],
  1: ['Windows 95', 'windows'],
  2: ['Windows NT', 'windows'],
  3: ['Windows CE', 'windows'],
  0x8000: ['Unix', 'unix'],
  0x8101: ['Mac OS X', 'mac'],
  0x8102: ['iOS', 'ios'],
  0x8201: ['Linux', 'linux'],
  0x8202: ['Solaris', 'solaris'],
  0x8203: ['Android', 'android'],
  0x8204: ['PS3', 'ps3'],
  0x8205: ['NaCl', 'nacl'],
  0x8206: ['Fuchsia', 'fuchsia'],
};

/** Upper bounds that keep hostile counts from allocating more than the file could describe. */
export const Limits = {
  streams: 4096,
} as const;
