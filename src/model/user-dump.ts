import type { HeaderField } from './kernel.js';

/** What a legacy full user-mode dump (USERDU64 / USERDUMP) says beyond threads, modules and memory. */
export interface UserDumpInfo {
  /** 64-bit (USERDU64) or 32-bit (USERDUMP) header. */
  readonly headerWidth: 32 | 64;
  /** Every USERMODE_CRASHDUMP_HEADER field, in file order. */
  readonly header: readonly HeaderField[];
  /** The debug event the debugger stopped at when it wrote the dump, when the file holds one. */
  readonly debugEvent: UserDebugEvent | undefined;
  /** The name/value strings at VersionInfoOffset, e.g. ["CRASH: OS SP", "none"]. */
  readonly versionStrings: readonly (readonly [name: string, value: string])[];
}

/** DEBUG_EVENT's head: which event, in which process and thread. */
export interface UserDebugEvent {
  /** dwDebugEventCode: 1 exception, 2 create thread, 3 create process, ... 9 RIP. */
  readonly code: number;
  readonly codeName: string;
  readonly processId: number;
  readonly threadId: number;
  /** EXCEPTION_DEBUG_INFO.dwFirstChance, for an exception event. */
  readonly firstChance: boolean | undefined;
}
