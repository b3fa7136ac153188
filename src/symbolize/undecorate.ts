/**
 * A name that is not C++ as DIA undecorates it and dump_syms prints it (GetSymbolFunctionName):
 * the stdcall/fastcall rule, then the C underscore. sizeFromName says the decoration gave the
 * parameter size; when it did not, dump_syms computes one for a FUNC (GetFunctionStackParamSize).
 */
export function undecoratePublicName(decorated: string): { name: string; parameterSize: number; sizeFromName: boolean } {
  if (decorated.startsWith('?')) return { name: decorated, parameterSize: 0, sizeFromName: false };
  if (!decorated.includes(':') && !decorated.includes('(') && (decorated[0] === '_' || decorated[0] === '@')) {
    const lastAt = decorated.lastIndexOf('@');
    const digits = lastAt > 0 ? decorated.slice(lastAt + 1) : '';
    // wcstol_positive_strict: decimal digits, no leading zero unless "0".
    if (/^(0|[1-9][0-9]*)$/.test(digits) && Number(digits) <= 0x7fffffff) {
      let size = Number(digits);
      if (decorated[0] === '@') size = Math.max(0, size - 8);
      return { name: decorated.slice(1, lastAt), parameterSize: size, sizeFromName: true };
    }
  }
  // DIA's undecoration drops the C prefix underscore (both .sym files of the corpus show it, x86 and x64).
  if (decorated.startsWith('_')) return { name: decorated.slice(1), parameterSize: 0, sizeFromName: false };
  return { name: decorated, parameterSize: 0, sizeFromName: false };
}
