// The callees the functions in funcs.c call, in another translation unit so they stay calls.
int sink(int x) { return x * 3; }
int sink2(int *p, int n) { return p[0] + n; }
double dsink(double x) { return x * 0.5; }
int _DllMainCRTStartup(void *h, unsigned reason, void *r) { return 1; }
