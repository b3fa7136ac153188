import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeMinidump } from './process.js';
import type { Analysis } from './types.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { frameSizes } from './stack-usage.js';
import { repoPath } from '../testing/corpus.js';

// Fixture dumps of mingw-w64 programs crashed under wine (test-data/fixtures, built by
// scripts/fixtures/build-fixtures.sh). The expected walks are MANIFEST.md's oracle: return
// addresses and frame sizes taken from the programs' disassembled prologues, not from .pdata.

async function analyze(name: string, withModules = true): Promise<Analysis> {
  const file = await openFileSource(repoPath('test-data', 'fixtures', name));
  const dirs = new FileDirectories(withModules ? [repoPath('test-data', 'fixtures')] : []);
  try {
    return await analyzeMinidump(file.source, { images: dirs.openers });
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

function walk(analysis: Analysis): { trust: string; ip: bigint; sp: bigint; size: number | undefined }[] {
  const frames = analysis.threads[analysis.crashingThreadIndex!]!.frames;
  const sizes = frameSizes(frames);
  return frames.map((f, i) => ({ trust: f.trust, ip: f.ip, sp: f.sp, size: sizes[i] }));
}

// frame: [return address (ip for frame 0), stack pointer, frame size]
const NESTED: [bigint, bigint, number][] = [
  [0x1400017d1n, 0x21e6c0n, 0x13a0], // c: ___chkstk_ms probe, sub rsp, rax (0x1398)
  [0x14000181fn, 0x21fa60n, 0x240], // b: push rsi, rbx; sub rsp, 0x228
  [0x14000186fn, 0x21fca0n, 0x70], // a: push rbp, rdi, rsi, rbx; sub rsp, 0x48
  [0x140007ffdn, 0x21fd10n, 0x40], // main: push rsi, rbx; sub rsp, 0x28
  [0x1400013aen, 0x21fd50n, 0xc0], // __tmainCRTStartup
  [0x1400014e6n, 0x21fe10n, 0x30], // mainCRTStartup
  [0x7b627e49n, 0x21fe40n, 0x30], // kernel32!BaseThreadInitThunk
  [0x17005dca8n, 0x21fe70n, 0x170], // ntdll!RtlUserThreadStart, whose return address is 0
];

test('nested-full.dmp: every frame from the crash site to ntdll!RtlUserThreadStart by unwind tables from dump memory', async () => {
  const frames = walk(await analyze('nested-full.dmp', false));
  assert.deepEqual(
    frames.map((f) => [f.ip, f.sp, f.size]),
    NESTED,
  );
  assert.deepEqual(frames.map((f) => f.trust), ['context', ...Array(7).fill('cfi')]);
});

test('nested.dmp with --modules: exe frames and kernel32 by .pdata, frame sizes from the prologues', async () => {
  const analysis = await analyze('nested.dmp');
  const frames = walk(analysis);
  assert.deepEqual(frames.slice(0, 7).map((f) => [f.ip, f.sp, f.size]), NESTED.slice(0, 7));
  assert.deepEqual(frames.slice(0, 8).map((f) => f.trust), ['context', ...Array(7).fill('cfi')].slice(0, 7).concat(frames[7]!.trust));
  // The exports name the scenario functions (approximately: they are exports, not symbols).
  const thread = analysis.threads[analysis.crashingThreadIndex!]!;
  assert.deepEqual(thread.frames.slice(0, 3).map((f) => [f.symbol?.functionName, f.symbolSource]), [
    ['c', 'pe-export'],
    ['b', 'pe-export'],
    ['a', 'pe-export'],
  ]);
  assert.equal(thread.frames[3]!.symbol, undefined, 'main is not exported, and the export before it is another function');
  // The prologues' fixed allocations, from the unwind codes (MANIFEST: c 0x1398 via ___chkstk_ms, b 0x228, a 0x48, main 0x28).
  assert.deepEqual(thread.frames.slice(0, 4).map((f) => f.fixedAllocation), [0x1398, 0x228, 0x48, 0x28]);
});

test('nested.dmp without images: the 5 KiB frame of c hides its return address from scanning, as in Breakpad', async () => {
  const frames = walk(await analyze('nested.dmp', false));
  assert.equal(frames.length, 1);
});

test('overflow.dmp with --modules: 1805 recursive frames of 0x240 bytes, then main and the CRT start-up', async () => {
  const frames = walk(await analyze('overflow.dmp'));
  assert.equal(frames[0]!.ip, 0x1400017c4n);
  const recursion = frames.slice(1, 1805);
  assert.ok(recursion.every((f) => f.trust === 'cfi' && f.ip === 0x1400017c9n && f.size === 0x240));
  assert.deepEqual(frames.slice(1805, 1809).map((f) => [f.trust, f.ip, f.sp, f.size]), [
    ['cfi', 0x140007ff1n, 0x11fd00n, 0x50], // main
    ['cfi', 0x1400013aen, 0x11fd50n, 0xc0], // __tmainCRTStartup
    ['cfi', 0x1400014e6n, 0x11fe10n, 0x30], // mainCRTStartup
    ['cfi', 0x7b627e49n, 0x11fe40n, 0x30], // kernel32!BaseThreadInitThunk
  ]);
});

test('overflow.dmp: still a stack overflow, on the exception\'s word (EXCEPTION_STACK_OVERFLOW)', async () => {
  const analysis = await analyze('overflow.dmp');
  const [overflow] = analysis.findings;
  assert.equal(overflow!.kind, 'stack_overflow');
  assert.match(overflow!.summary, /overflow\.exe holds 100\.0% of the used stack \(recursion of overflow\.exe!recurse\)/);
  assert.match(overflow!.evidence[0]!, /EXCEPTION_STACK_OVERFLOW \(0xC00000FD\)/);
});

test('jit.dmp with --modules: the stub in VirtualAlloc memory is found by .pdata of its callee, main by scanning past it', async () => {
  const frames = walk(await analyze('jit.dmp'));
  assert.deepEqual(frames.slice(0, 6).map((f) => [f.trust, f.ip, f.sp, f.size]), [
    ['context', 0x140001552n, 0x21fc90n, 0x50], // jit_callback
    ['cfi', 0x14a0050n, 0x21fce0n, 0x30], // the stub: sub rsp, 0x28; call rax
    ['scan', 0x140007f51n, 0x21fd10n, 0x40], // main: the stub has no unwind data
    ['cfi', 0x1400013aen, 0x21fd50n, 0xc0],
    ['cfi', 0x1400014e6n, 0x21fe10n, 0x30],
    ['cfi', 0x7b627e49n, 0x21fe40n, 0x30],
  ]);
});

test('--modules: a file whose TimeDateStamp or SizeOfImage differs is skipped with a note; symbol-server layout is found', async () => {
  const { mkdtempSync, mkdirSync, copyFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const fixtures = repoPath('test-data', 'fixtures');
  // A wrong image under the right name: jit.exe copied as nested.exe.
  const wrong = mkdtempSync(join(tmpdir(), 'stackhog-images-'));
  copyFileSync(join(fixtures, 'jit.exe'), join(wrong, 'nested.exe'));
  // The right image in symbol-server layout: nested.exe/<TimeDateStamp><SizeOfImage>/nested.exe.
  const server = mkdtempSync(join(tmpdir(), 'stackhog-symsrv-'));
  const file = await openFileSource(repoPath('test-data', 'fixtures', 'nested.dmp'));
  const dirs = new FileDirectories([wrong, server]);
  try {
    const { readMinidump } = await import('../formats/minidump/read-minidump.js');
    const exe = (await readMinidump(file.source)).modules[0]!;
    const key = exe.timeDateStamp.toString(16).toUpperCase().padStart(8, '0') + exe.size.toString(16);
    mkdirSync(join(server, 'nested.exe', key), { recursive: true });
    copyFileSync(join(fixtures, 'nested.exe'), join(server, 'nested.exe', key, 'nested.exe'));
    const analysis = await analyzeMinidump(file.source, { images: dirs.openers });
    assert.equal(analysis.notes.length, 1);
    assert.match(analysis.notes[0]!, /nested\.exe: skipped for nested\.exe: its TimeDateStamp 0x[0-9a-f]+ and SizeOfImage 0x[0-9a-f]+ do not match/);
    const frames = analysis.threads[analysis.crashingThreadIndex!]!.frames;
    assert.deepEqual(frames.slice(0, 6).map((f) => f.trust), ['context', 'cfi', 'cfi', 'cfi', 'cfi', 'cfi']);
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
});
