// x86 trap and system-call frames: where a kernel stack continues past an interrupt, a fault or a
// system call. Shared by the walker (x86.ts) and the stack reconstruction (reconstruct/).

/** x86 KTRAP_FRAME fields (ks386.inc): the debugger's copies of EBP/EIP, the interrupted frame's EBP, EIP, CS. */
export const KTRAP_FRAME_DBG_EBP = 0x00n;
export const KTRAP_FRAME_DBG_EIP = 0x04n;
export const KTRAP_FRAME_EBP = 0x60n;
export const KTRAP_FRAME_EIP = 0x68n;
export const KTRAP_FRAME_SEGCS = 0x6cn;
/** HardwareEsp: for a kernel-mode trap the CPU pushed nothing above EFlags, so the interrupted ESP is here. */
export const KTRAP_FRAME_ESP = 0x74n;

/** The kernel's trap and system-call entry points, whose frame pointer is a KTRAP_FRAME (names with or without nt!). */
export const TRAP_ENTRY = /^(?:[^!]+!)?_?(?:KiTrap[0-9a-f]{2}|KiFastCallEntry|KiSystemService)\b/i;
