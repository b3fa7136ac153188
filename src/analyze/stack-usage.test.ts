import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeCorpusDump } from '../testing/breakpad-parity.js';
import { needsCorpus } from '../testing/corpus.js';
import type { Finding } from './findings.js';
import { renderText } from '../report/text.js';
import { stackFindings } from './stack-findings.js';
import { usedShareBasis } from './stack-usage.js';
import type { CrashInfo, StackUsage, ThreadAnalysis } from './types.js';

test('stack_exhaustion.dmp: a stack overflow explained by crashme.exe recursing in 0x10e8-byte frames', needsCorpus, async () => {
  const analysis = await analyzeCorpusDump('breakpad--stack_exhaustion');
  const thread = analysis.threads[analysis.crashingThreadIndex!]!;
  const usage = thread.usage;
  // No TEB in this dump: the bounds come from the captured stack and the guard-page fault address.
  assert.equal(usage.boundsSource, 'captured-memory');
  assert.equal(usage.base, 0x200000n);
  assert.equal(usage.limit, 0x102000n);
  assert.equal(usage.stackPointer, 0x103120n);
  assert.equal(usage.usedBytes, 0x200000 - 0x103120);
  assert.ok(usage.usedPercent! > 99 && usage.usedPercent! <= 100);
  const crashme = usage.byModule[0]!;
  assert.equal(crashme.name, 'crashme.exe');
  assert.ok(crashme.share >= 0.99, `crashme.exe holds ${crashme.share}`);

  const [overflow, recursion] = analysis.findings;
  assert.equal(overflow!.kind, 'stack_overflow');
  assert.equal(overflow!.severity, 'critical');
  assert.match(overflow!.summary, /crashme\.exe holds 99\.9% of the used stack/);
  assert.equal(recursion!.kind, 'recursion');
  assert.deepEqual(recursion!.data['cycle'], ['crashme.exe+0xa6a7']);
  assert.equal(recursion!.data['frames'], 239);
  assert.equal(recursion!.data['bytes_per_cycle'], 0x10e8);
});

test('a clean crash has no stack findings', needsCorpus, async () => {
  const analysis = await analyzeCorpusDump('breakpad--minidump2');
  assert.deepEqual(analysis.findings, []);
  const usage = analysis.threads[0]!.usage;
  assert.equal(usage.byModule[0]!.name, 'test_app.exe');
  assert.equal(usage.frames.length, 4);
});

test('tiny-exe-fastfail.dmp: bounds and reserve from the thread environment block (NT_TIB and DeallocationStack)', needsCorpus, async () => {
  const analysis = await analyzeCorpusDump('breakpad--tiny-exe-fastfail');
  const usage = analysis.threads[analysis.crashingThreadIndex!]!.usage;
  assert.equal(usage.boundsSource, 'teb');
  assert.equal(usage.base, 0xd2de500000n);
  assert.equal(usage.limit, 0xd2de4fc000n);
  assert.equal(usage.reserveBase, 0xd2de400000n);
  assert.equal(usage.reserveBytes, 1 << 20);
  assert.equal(usage.usedBytes, 0xd2de500000 - 0xd2de4ff720);
  assert.equal(usage.percentOf, 'reserve');
});

test('tiny-exe-fastfail.dmp: no stack overflow: a fail fast (STATUS_STACK_BUFFER_OVERRUN) and idle threads at their committed limit', needsCorpus, async () => {
  const analysis = await analyzeCorpusDump('breakpad--tiny-exe-fastfail');
  assert.equal(analysis.crash!.code, 0xc0000409, '__fastfail raises STATUS_STACK_BUFFER_OVERRUN, not EXCEPTION_STACK_OVERFLOW');
  // Thread 0x880c waits with one committed page: its stack pointer is within a page of StackLimit,
  // but 1 MiB of reserve is left below it.
  const idle = analysis.threads.find((t) => t.thread.id === 0x880c)!.usage;
  assert.equal(idle.limit, 0xd2de7ff000n);
  assert.ok(idle.stackPointer! < idle.limit! + 0x1000n);
  assert.equal(idle.reserveBase, 0xd2de700000n);
  assert.equal(idle.reserveSource, 'teb');
  assert.deepEqual(analysis.findings.filter((f) => f.kind === 'stack_overflow'), []);
});

/** A Windows user thread's stack as measured, with the overflow-relevant fields given. */
function userStack(fields: Partial<StackUsage>): StackUsage {
  return {
    base: 0x500000n,
    limit: 0x4fe000n,
    reserveBase: 0x400000n,
    boundsSource: 'teb',
    limitSource: 'teb',
    reserveSource: 'teb',
    stackPointer: 0x4fe100n,
    usedBytes: 0x1f00,
    reserveBytes: 0x100000,
    usedPercent: (0x1f00 / 0x100000) * 100,
    percentOf: 'reserve',
    walkedBytes: 0,
    byModule: [],
    byFunction: [],
    frames: [],
    ...fields,
  };
}

const thread = (crashed: boolean): ThreadAnalysis => ({
  thread: { id: 1, name: undefined, context: undefined, stack: undefined, teb: 0n, suspendCount: 0, priority: 0, startAddress: undefined },
  crashed,
  context: undefined,
  frames: [],
  truncated: false,
  stackMemory: undefined,
  reconstruction: undefined,
});

const crashWith = (code: number): CrashInfo => ({ reason: '', address: 0n, code, flags: 0, parameters: [], explanation: undefined, threadId: 1 });
const overflows = (usage: StackUsage, crashed = false, crash?: CrashInfo): Finding[] => stackFindings(thread(crashed), usage, [], crash).filter((f) => f.kind === 'stack_overflow');

test('stack overflow: a stack pointer near the committed limit of a large reserve is not one', () => {
  assert.deepEqual(overflows(userStack({})), []);
  assert.deepEqual(overflows(userStack({}), true, crashWith(0xc0000409)), [], 'STATUS_STACK_BUFFER_OVERRUN is a /GS or fail-fast exit, not an overflow');
  // Without a known reserve, the committed limit says nothing either.
  assert.deepEqual(overflows(userStack({ reserveBase: undefined, reserveSource: undefined, reserveBytes: undefined, percentOf: 'committed' })), []);
});

test('stack overflow: EXCEPTION_STACK_OVERFLOW, most of the reserve in use, or a kernel stack at its limit', () => {
  const [byException] = overflows(userStack({}), true, crashWith(0xc00000fd));
  assert.match(byException!.evidence[0]!, /EXCEPTION_STACK_OVERFLOW/);

  const full = userStack({ limit: 0x403000n, stackPointer: 0x403100n, usedBytes: 0xfcf00 });
  const [byReserve] = overflows(full);
  assert.equal(byReserve!.severity, 'critical');
  assert.match(byReserve!.evidence[0]!, /the stack pointer 0x403100 is 12 KiB above the end of the reserved stack 0x400000 \(TEB DeallocationStack\): 98\.8% of the 1024 KiB reserve is in use/);

  const kernel = userStack({ base: 0xb8ae9000n, limit: 0xb8ae6000n, reserveBase: undefined, reserveBytes: undefined, reserveSource: undefined, boundsSource: 'kthread', limitSource: 'kthread', stackPointer: 0xb8ae6200n, usedBytes: 0x2e00 });
  const [byKernelLimit] = overflows(kernel);
  assert.match(byKernelLimit!.evidence[0]!, /within a page of the stack limit 0xb8ae6000/);
});

test('linux_stacksmash.dmp: bounds from the captured memory only give no share of "the committed stack"', needsCorpus, async () => {
  const analysis = await analyzeCorpusDump('breakpad--linux_stacksmash');
  const usage = analysis.threads[analysis.crashingThreadIndex!]!.usage;
  assert.equal(usage.limitSource, 'captured-memory');
  assert.equal(usage.usedBytes, 0x1f60);
  assert.equal(usage.usedPercent, undefined);
  assert.equal(usage.percentOf, undefined);
  const text = renderText(analysis);
  assert.doesNotMatch(text, /% of the committed stack/);
  assert.match(text, /used 0x1f60 \(8032 bytes; no share: the dump gives no stack limit or reserve\)/);
});

test('the used share names what it is measured against: reserve (TEB, memory info), StackLimit, KTHREAD, guard page', needsCorpus, async () => {
  const fastfail = renderText(await analyzeCorpusDump('breakpad--tiny-exe-fastfail'));
  assert.match(fastfail, /used 0x4e8 \(1256 bytes, 0\.1% of the reserved stack: 0x100000 bytes from TEB DeallocationStack\)/);
  const exhaustion = await analyzeCorpusDump('breakpad--stack_exhaustion');
  assert.equal(exhaustion.threads[exhaustion.crashingThreadIndex!]!.usage.limitSource, 'guard-page');
  assert.match(exhaustion.findings[0]!.evidence.join('\n'), /of stack in use, 99\.6% of the stack down to the guard page the overflow hit: 0xfe000 bytes/);

  assert.equal(usedShareBasis(userStack({ reserveSource: 'memory-info' })), 'the reserved stack: 0x100000 bytes from the allocation base in the memory info');
  const committed = { reserveBase: undefined, reserveBytes: undefined, reserveSource: undefined, percentOf: 'committed' } as const;
  assert.equal(usedShareBasis(userStack(committed)), 'the committed stack: 0x2000 bytes down to TEB StackLimit (the reserve is unknown)');
  assert.equal(usedShareBasis(userStack({ ...committed, boundsSource: 'kthread', limitSource: 'kthread' })), 'the kernel stack: 0x2000 bytes from KTHREAD StackBase to StackLimit');
  assert.equal(usedShareBasis(userStack({ ...committed, boundsSource: 'captured-memory', limitSource: 'captured-memory' })), undefined);
});
