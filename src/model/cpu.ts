/** CPU architectures the snapshot model knows; the walkers cover x86, amd64 and arm64. */
export type Cpu = 'x86' | 'amd64' | 'arm64' | 'arm' | 'ppc' | 'ppc64' | 'mips' | 'mips64' | 'sparc' | 'riscv' | 'riscv64' | 'unknown';

/**
 * A register set: register name (Breakpad's names: eip, rsp, x29/fp, pc ...) to value.
 * A register absent from the map is not known (callee-saved registers a walker could not recover).
 */
export interface CpuContext {
  readonly cpu: Cpu;
  readonly registers: ReadonlyMap<string, bigint>;
  /** amd64: the CS selector the record holds, when read (it tells 64-bit code from 32-bit code under WOW64). */
  readonly codeSegment?: number;
}

export function pointerWidth(cpu: Cpu): 4 | 8 {
  switch (cpu) {
    case 'amd64':
    case 'arm64':
    case 'ppc64':
    case 'mips64':
    case 'riscv64':
      return 8;
    default:
      return 4;
  }
}

/** Names of the instruction pointer, stack pointer and frame pointer for a CPU. */
export function specialRegisters(cpu: Cpu): { ip: string; sp: string; fp: string } {
  switch (cpu) {
    case 'x86':
      return { ip: 'eip', sp: 'esp', fp: 'ebp' };
    case 'amd64':
      return { ip: 'rip', sp: 'rsp', fp: 'rbp' };
    case 'arm64':
      return { ip: 'pc', sp: 'sp', fp: 'fp' };
    case 'arm':
      return { ip: 'pc', sp: 'sp', fp: 'r11' };
    default:
      return { ip: 'pc', sp: 'sp', fp: 'fp' };
  }
}

/** The order Breakpad prints a context frame's registers in. */
export function registerOrder(cpu: Cpu): readonly string[] {
  switch (cpu) {
    case 'x86':
      return ['eip', 'esp', 'ebp', 'ebx', 'esi', 'edi', 'eax', 'ecx', 'edx', 'efl'];
    case 'amd64':
      return ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'];
    case 'arm64':
      return [...Array.from({ length: 29 }, (_, i) => `x${i}`), 'fp', 'lr', 'sp', 'pc'];
    case 'arm':
      return ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'sp', 'lr', 'pc'];
    default:
      return [];
  }
}
