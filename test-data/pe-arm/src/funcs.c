// Functions whose prologues and epilogues exercise Windows ARM unwind data: built with clang for
// thumbv7-windows-msvc, linked with lld-link, no CRT.
#include <stdarg.h>

__declspec(noinline) int sink(int x);
__declspec(noinline) int sink2(int *p, int n);
__declspec(noinline) double dsink(double x);

/* A leaf that touches no stack: usually no .pdata entry at all. */
__declspec(dllexport) int leaf_add(int a, int b) { return a * b + 7; }

/* A leaf that needs callee-saved registers: push {r4-r7...}, bx lr (packed, L=0, Ret=1). */
__declspec(dllexport) int leaf_regs(int *p, int n) {
  int a = 0, b = 1, c = 2, d = 3, e = 4, f = 5, g = 6, h = 7;
  for (int i = 0; i < n; i++) {
    a += p[i] * b; b ^= p[i + 1] + c; c += d * p[i + 2]; d -= e * p[i]; e += f; f ^= g * p[i + 3]; g += h; h ^= a;
  }
  return a + b + c + d + e + f + g + h;
}

/* Calls another function with a local array: push {r4..., lr}, sub sp. */
__declspec(dllexport) int locals(int a) {
  int x[12];
  for (int i = 0; i < 12; i++) x[i] = a + i;
  return sink2(x, a) + 1;
}

/* A large frame: __chkstk in the prologue. */
__declspec(dllexport) int big_frame(int a) {
  volatile int x[3000];
  x[a & 1023] = a;
  return sink2((int *)x, a) + x[5];
}

/* A medium frame (above 0x3f3 words would not pack). */
__declspec(dllexport) int medium_frame(int a) {
  volatile int x[300];
  x[a & 255] = a;
  return sink2((int *)x, a) + x[7];
}

/* Many callee-saved registers kept live across a call. */
__declspec(dllexport) int many_regs(int a, int b, int c, int d) {
  int r1 = sink(a), r2 = sink(b), r3 = sink(c), r4 = sink(d), r5 = sink(a + b), r6 = sink(c + d), r7 = sink(a - d), r8 = sink(b - c);
  return sink(r1 + r2) * r3 + r4 * r5 + sink(r6 ^ r7) + r8 + r1 * r6 + r2 * r7 + r3 * r8 + r4 * r1;
}

/* Floating point values kept across calls: vpush {d8-...}. */
__declspec(dllexport) double fp_regs(double a, double b, double c) {
  double x = dsink(a), y = dsink(b), z = dsink(c), w = dsink(a + b);
  return dsink(x * y) + z * w + x + y * z + w * a;
}

/* Several returns: more than one epilogue. */
__declspec(dllexport) int multi_ret(int a, int *p) {
  if (a == 0) return sink(1);
  int x[4] = {a, a + 1, a + 2, a + 3};
  if (a < 0) {
    int r = sink2(x, 4);
    return r + x[2];
  }
  if (a > 100) {
    int r = sink2(p, a);
    if (r) return r * 3 + sink(x[1]);
  }
  return sink(a) + x[3];
}

/* Variadic: r0-r3 homed by push {r0-r3}. */
__declspec(dllexport) int varsum(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, int);
  va_end(ap);
  return sink(s);
}

/* A tail call after restoring registers (b.w epilogue). */
__declspec(dllexport) int tail(int a, int b) {
  int r = sink(a) + sink(b);
  return sink2(&r, r);
}

/* Dynamic allocation: the epilogue restores sp from the frame pointer. */
__declspec(dllexport) int dynamic(int n) {
  int *p = __builtin_alloca(n * 4 + 4);
  for (int i = 0; i <= n; i++) p[i] = i;
  return sink2(p, n);
}
