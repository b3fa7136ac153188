import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyzeCorpusDump, breakpadExpectations, compareThread, parseBreakpadOutput, type BreakpadDump } from '../testing/breakpad-parity.js';
import type { Analysis } from './types.js';
import { MemoryMap } from './memory-map.js';
import { ModuleIndex } from '../model/module-index.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';

// Every corpus minidump Breakpad can walk: each thread must agree frame for frame (address, way
// found, symbol and line) up to the last frame Breakpad found by context, CFI or frame pointer.
// Frames found by scanning beyond that may differ (later issues improve on Breakpad there).
/** The crashing thread, the thread count and every thread's frames agree with Breakpad's. */
function assertThreadsMatch(key: string, analysis: Analysis, expected: BreakpadDump): void {
  assert.equal(analysis.crashingThreadIndex ?? null, expected.crashed, 'crashing thread');
  assert.equal(analysis.threads.length, expected.threads.length, 'thread count');
  expected.threads.forEach((frames, i) => {
    const result = compareThread(analysis.threads[i], frames);
    assert.deepEqual(result.mismatches, [], `${key} thread ${i}: ${result.mismatches.join('; ')}`);
  });
}

for (const [key, expected] of Object.entries(breakpadExpectations())) {
  test(`threads match Breakpad: ${key}`, needsCorpus, async () => {
    assertThreadsMatch(key, await analyzeCorpusDump(key), expected);
  });
}

test('scanning drops the stale pointers Breakpad takes for frames: driver + 0x1edd follows a jmp, not a call', needsCorpus, async () => {
  const expected = breakpadExpectations()['breakpad--linux_divide_by_zero']!;
  const breakpadIps = expected.threads[0]!.map((f) => f.ip);
  assert.ok(breakpadIps.includes('0x0000000000401edd'), 'Breakpad has the stale frame');
  const analysis = await analyzeCorpusDump('breakpad--linux_divide_by_zero');
  const ours = analysis.threads[0]!.frames.map((f) => f.ip);
  assert.ok(!ours.includes(0x401eddn));
  assert.ok(!ours.includes(0x401f2fn));
  assert.ok(ours.includes(0x401df4n), 'the call-preceded return addresses remain');
});

// Other projects' dumps (external/README.md), against Breakpad's output in external/expected/breakpad.
for (const [key, name] of [
  ['external/user/sentry-crash--windows', 'sentry-crash-windows.txt'],
  ['external/user/kdlib/targetapp_test_cv_allreg_i386--targetapp_test_cv_allreg_i386', 'kdlib-targetapp_test_cv_allreg_i386.txt'],
  ['external/user/kdlib/targetapp_test_cv_allreg_amd64--targetapp_test_cv_allreg_amd64', 'kdlib-targetapp_test_cv_allreg_amd64.txt'],
] as const) {
  test(`threads match Breakpad: ${key}`, needsCorpus, async () => {
    const expected = parseBreakpadOutput(readFileSync(corpusPath('external', 'expected', 'breakpad', name), 'utf8'));
    assertThreadsMatch(key, await analyzeCorpusDump(key), expected);
  });
}

test('sentry windows.dmp (MSVC x86, crash.sym): every frame Breakpad found is found the same way, none by scanning', needsCorpus, async () => {
  const expected = parseBreakpadOutput(readFileSync(corpusPath('external', 'expected', 'breakpad', 'sentry-crash-windows.txt'), 'utf8'));
  assert.deepEqual(
    expected.threads.map((t) => t.length),
    [5, 4, 4, 1],
  );
  assert.ok(expected.threads.every((t) => t.every((f) => f.trust !== 'scan' && f.trust !== 'cfi_scan')));
  const analysis = await analyzeCorpusDump('external/user/sentry-crash--windows', { reconstruct: false });
  expected.threads.forEach((frames, i) => {
    const result = compareThread(analysis.threads[i], frames);
    assert.equal(result.comparedFrames, frames.length);
    assert.deepEqual([...result.mismatches, ...result.laterDifferences], [], `thread ${i}`);
  });
  // main's STACK WIN program has '=' glued to its targets ("=$eip"); __scrt_common_main_seh's is
  // the EBP form with a callee-saved tail in DIA register numbers ("$20 $T0 40 - ^ =").
  const crashed = analysis.threads[0]!.frames;
  assert.deepEqual(
    crashed.map((f) => [f.trust, f.symbol?.functionName]),
    [
      ['context', 'main'],
      ['cfi', '__scrt_common_main_seh'],
      ['cfi', undefined],
      ['frame_pointer', undefined],
      ['frame_pointer', undefined],
    ],
  );
  assert.deepEqual([...crashed[1]!.registers.keys()].sort(), ['ebp', 'eip', 'esp'], 'no callee-saved register is named $ebx, $esi or $edi');
  assert.equal(crashed[0]!.parameterSize, 8, "main's STACK WIN parameter size");
});

// 32-bit ARM: Breakpad walks Android's ARM code by STACK CFI then scanning (no symbols here, so its
// frames after the context frame are all scans). Every thread agrees up to Breakpad's first scanned
// frame; after it, each stackhog frame is one of Breakpad's, and each Breakpad frame stackhog lacks
// has a reason: its return address points into memory the dump's /proc maps say cannot execute
// (dalvik heaps, .art/.odex data, the apk mapping), or it lies beyond the end of stackhog's walk,
// which ran out of plausible candidates within the scan window where Breakpad kept moving on junk.
test('ARM32 (Android Firefox, external/): every thread agrees with Breakpad; every scanned-frame difference is explained', needsCorpus, async () => {
  const expected = parseBreakpadOutput(readFileSync(corpusPath('external', 'expected', 'breakpad', 'firefox-android-arm.txt'), 'utf8'));
  const analysis = await analyzeCorpusDump('external/user/android--firefox-android-arm', { reconstruct: false });
  assertThreadsMatch('firefox-android-arm', analysis, expected);
  const map = new MemoryMap(analysis.snapshot, new ModuleIndex(analysis.snapshot.modules), []);
  const tally = { same: 0, nonExecutable: 0, pastOurEnd: 0, scannedByUs: 0 };
  expected.threads.forEach((breakpad, i) => {
    const ours = analysis.threads[i]!.frames;
    const key = (ip: bigint, sp: bigint): string => `${ip}/${sp}`;
    const theirs = new Set(breakpad.map((f) => key(BigInt(f.ip!), BigInt(f.sp!))));
    for (const f of ours) {
      assert.ok(theirs.has(key(f.ip, f.sp)), `thread ${i}: stackhog's frame pc 0x${f.ip.toString(16)} sp 0x${f.sp.toString(16)} is not Breakpad's`);
      if (f.trust === 'scan') tally.scannedByUs++;
    }
    const mine = new Set(ours.map((f) => key(f.ip, f.sp)));
    const end = ours[ours.length - 1]!.sp;
    for (const f of breakpad) {
      const ip = BigInt(f.ip!);
      const sp = BigInt(f.sp!);
      if (mine.has(key(ip, sp))) tally.same++;
      else if (map.facts(ip - 1n).executable === false) tally.nonExecutable++;
      else {
        assert.ok(sp > end, `thread ${i}: Breakpad's frame ${f.location} (sp 0x${sp.toString(16)}) is executable and inside stackhog's walk`);
        tally.pastOurEnd++;
      }
    }
  });
  // 114 context frames plus 2,790 scans in common; 9,425 scans in Breakpad's output.
  assert.deepEqual(tally, { same: 2904, nonExecutable: 6164, pastOurEnd: 471, scannedByUs: 2790 });
});
