/* Benchmark scenario "full-dump": a process with a large committed heap and several threads
 * parked at different call depths; the main thread then writes through NULL and its
 * unhandled-exception filter writes one full-memory minidump. Built and run under wine by
 * scripts/bench/make-full-dump.sh; the dump is hundreds of MB and is never committed.
 * Usage: full-dump.exe <full.dmp> [heap MiB, default 160] [threads, default 6] */
#include "dump-writer.h"
#include <stdlib.h>

/* Keeps a local array in memory without telling the compiler what is done with it. */
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

static const char *g_dump_path;
static HANDLE g_parked; /* semaphore: each worker releases it once, at the bottom of its descent */
static HANDLE g_never;  /* manual-reset event never set: parked workers wait on it */
int *volatile g_null;   /* stays NULL; volatile so the store in crash is not optimised away */
volatile int g_sink;

static LONG WINAPI on_crash(EXCEPTION_POINTERS *pointers)
{
    DWORD thread_id = GetCurrentThreadId();
    fixture_report(pointers, thread_id);
    fixture_write_dump(g_dump_path, FIXTURE_FULL_DUMP_TYPE, pointers, thread_id);
    return EXCEPTION_EXECUTE_HANDLER;
}

/* Each level has a frame of its own, so every worker's stack is a walk of depth + a few frames. */
__declspec(dllexport) __attribute__((noipa)) int descend(int depth)
{
    char frame[0x180];
    int r;
    frame[depth & 0xff] = (char)depth;
    KEEP(frame);
    if (depth == 0) {
        ReleaseSemaphore(g_parked, 1, NULL);
        WaitForSingleObject(g_never, INFINITE);
        return frame[1];
    }
    r = descend(depth - 1);
    KEEP(frame);
    return r + frame[(depth * 5) & 0xff];
}

static DWORD WINAPI worker(void *arg)
{
    return (DWORD)descend(8 + 4 * (int)(INT_PTR)arg);
}

__declspec(dllexport) __attribute__((noipa)) int crash(int n)
{
    char buf[0x100];
    buf[n & 0xff] = (char)n;
    KEEP(buf);
    *g_null = n + buf[(n * 3) & 0xff];
    return buf[5];
}

int main(int argc, char **argv)
{
    size_t heap_mib, size, i;
    unsigned long long *heap;
    int threads, t;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <full.dmp> [heap MiB] [threads]\n", argv[0]);
        return 2;
    }
    g_dump_path = argv[1];
    heap_mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 160;
    threads = argc > 3 ? atoi(argv[3]) : 6;
    size = heap_mib << 20;
    heap = VirtualAlloc(NULL, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!heap) {
        fprintf(stderr, "VirtualAlloc(%lu MiB) failed: error %lu\n", (unsigned long)heap_mib, GetLastError());
        return 1;
    }
    /* Every page touched and none all zero: the dump writer must copy all of it. */
    for (i = 0; i < size / sizeof *heap; i++) heap[i] = (unsigned long long)(i * 0x9e3779b97f4a7c15ull);
    g_parked = CreateSemaphoreA(NULL, 0, threads, NULL);
    g_never = CreateEventA(NULL, TRUE, FALSE, NULL);
    for (t = 0; t < threads; t++) {
        HANDLE h = CreateThread(NULL, 0, worker, (void *)(INT_PTR)t, 0, NULL);
        if (!h) {
            fprintf(stderr, "CreateThread failed: error %lu\n", GetLastError());
            return 1;
        }
        CloseHandle(h);
    }
    for (t = 0; t < threads; t++) WaitForSingleObject(g_parked, INFINITE);
    printf("heap %p, %lu MiB; %d threads parked\n", (void *)heap, (unsigned long)heap_mib, threads);
    fflush(stdout);
    SetUnhandledExceptionFilter(on_crash);
    g_sink = crash(argc); /* a store after the call: main must not tail-call crash */
    return 0;
}
