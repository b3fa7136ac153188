/** What an x86 function's prologue does to the stack, read from its first bytes. */
export interface X86Prologue {
  /** `push ebp; mov ebp, esp` (after an optional hot-patch `mov edi, edi`). */
  readonly framePointer: boolean;
  /** Registers and immediates pushed before the local allocation (SEH set-up included). */
  readonly pushes: number;
  /** The fixed local allocation: `sub esp, imm` or `add esp, -imm` (the blog's `add esp, -656`). */
  readonly localAllocation: number | undefined;
}

/**
 * Decodes the common MSVC/GCC x86 prologue forms: `mov edi, edi`; `push ebp; mov ebp, esp`
 * (8B EC or 89 E5); pushes of registers and immediates; the SEH frame set-up
 * (`mov eax, fs:[0]; push eax; mov fs:[0], esp`); then `sub esp, imm8/imm32` or
 * `add esp, -imm8/-imm32`. Stops at the first instruction it does not know.
 */
export function decodeX86Prologue(code: Uint8Array): X86Prologue {
  let i = 0;
  let framePointer = false;
  let pushes = 0;
  const at = (k: number): number | undefined => code[i + k];
  const i32 = (k: number): number => (code[i + k]! | (code[i + k + 1]! << 8) | (code[i + k + 2]! << 16) | (code[i + k + 3]! << 24)) | 0;
  const have = (n: number): boolean => i + n <= code.length;
  if (have(2) && at(0) === 0x8b && at(1) === 0xff) i += 2; // mov edi, edi
  if (have(3) && at(0) === 0x55 && ((at(1) === 0x8b && at(2) === 0xec) || (at(1) === 0x89 && at(2) === 0xe5))) {
    framePointer = true;
    i += 3;
  }
  for (let steps = 0; steps < 32 && i < code.length; steps++) {
    const op = at(0)!;
    if (op >= 0x50 && op <= 0x57) {
      pushes++; // push reg
      i += 1;
    } else if (op === 0x6a && have(2)) {
      pushes++; // push imm8
      i += 2;
    } else if (op === 0x68 && have(5)) {
      pushes++; // push imm32
      i += 5;
    } else if (op === 0x64 && have(6) && at(1) === 0xa1) {
      i += 6; // mov eax, fs:[imm32]
    } else if (op === 0x64 && have(7) && at(1) === 0x89 && at(2) === 0x25) {
      i += 7; // mov fs:[imm32], esp
    } else if (op === 0x83 && have(3) && (at(1) === 0xec || at(1) === 0xc4)) {
      const imm = ((at(2)! << 24) >> 24) * (at(1) === 0xec ? 1 : -1);
      return { framePointer, pushes, localAllocation: imm > 0 ? imm : undefined };
    } else if (op === 0x81 && have(6) && (at(1) === 0xec || at(1) === 0xc4)) {
      const imm = i32(2) * (at(1) === 0xec ? 1 : -1);
      return { framePointer, pushes, localAllocation: imm > 0 ? imm : undefined };
    } else {
      break;
    }
  }
  return { framePointer, pushes, localAllocation: undefined };
}
