import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeCorpusDump } from '../testing/breakpad-parity.js';
import { needsCorpus } from '../testing/corpus.js';

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
