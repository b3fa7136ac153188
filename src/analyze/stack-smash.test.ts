import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Module, Snapshot } from '../model/snapshot.js';
import { publicSymbol } from '../symbolize/provider.js';
import { analyzeCorpusDump } from '../testing/breakpad-parity.js';
import { needsCorpus } from '../testing/corpus.js';
import type { StackFrame } from '../unwind/frame.js';
import { asciiText, smashedReturnAddress } from './stack-smash.js';
import type { CrashInfo, MemoryFacts, ThreadReport } from './types.js';

test('linux_stacksmash.dmp: the text over stack_smash\'s return address is a stack smash, not code run outside a module', needsCorpus, async () => {
  const a = await analyzeCorpusDump('breakpad--linux_stacksmash');
  const kinds = a.findings.map((f) => `${f.kind}@${f.frame}`);
  assert.deepEqual(kinds, ['smashed_return_address@7']);
  const f = a.findings[0]!;
  assert.equal(f.severity, 'critical');
  assert.equal(f.address, 0x6172747320746f6en);
  assert.match(f.summary, /corrupted return address \(stack smash\): the return address of frame 7 0x6172747320746f6e \("not stra"\) was overwritten in overflow!stack_smash\(char const\*\)'s frame/);
  assert.ok(f.evidence.some((e) => /frame 4 is __fortify_fail, frame 5 is __stack_chk_fail/.test(e)), f.evidence.join('\n'));
  assert.ok(f.evidence.some((e) => /the return slot \[0x7fffda9cecc8\] of frame 6 holds 0x6172747320746f6e/.test(e)), f.evidence.join('\n'));
  assert.equal(f.data['text'], 'not stra');
});

test('asciiText: printable bytes in memory order, zero high bytes aside, at least four', () => {
  assert.equal(asciiText(0x6172747320746f6en, 8), 'not stra');
  assert.equal(asciiText(0x41414141n, 4), 'AAAA');
  assert.equal(asciiText(0x0000434241414141n, 8), 'AAAABC', "a copied string's terminator zeroes the top");
  assert.equal(asciiText(0x00007f8181ad93bcn, 8), undefined, 'a code address');
  assert.equal(asciiText(0x00414141n, 4), undefined, 'three bytes');
  assert.equal(asciiText(0x0a414141n, 4), undefined, 'a control character');
});

const LIBC: Module = { base: 0x7f0000000000n, size: 0x100000, codeFile: '/lib/libc.so.6', codeId: '', debugFile: 'libc.so.6', debugId: '', version: undefined, timeDateStamp: 0, checksum: 0 };
const APP: Module = { ...LIBC, base: 0x400000n, codeFile: '/app', debugFile: 'app' };

function frame(ip: bigint, sp: bigint, trust: StackFrame['trust'], module?: Module, name?: string): StackFrame {
  return {
    trust,
    afterGap: false,
    cfiSource: undefined,
    registers: new Map(),
    stale: new Map(),
    ip,
    instruction: trust === 'context' ? ip : ip - 1n,
    interrupted: false,
    sp,
    endOfStackSp: undefined,
    module,
    symbol: name && module ? publicSymbol(name, Number(ip - module.base) - 0x10) : undefined,
    symbolSource: undefined,
    symbolsLoaded: name !== undefined,
    fixedAllocation: undefined,
    parameterSize: undefined,
  };
}

function thread(frames: StackFrame[]): ThreadReport {
  return {
    thread: { id: 0x10, name: undefined, context: undefined, stack: undefined, teb: 0n, suspendCount: 0, priority: 0, startAddress: undefined },
    crashed: true,
    context: { cpu: 'amd64', registers: new Map() },
    frames,
    truncated: false,
    stackMemory: undefined,
    reconstruction: undefined,
    usage: undefined as never, // not read
    recursion: [],
    frameMemory: [],
  };
}

const snapshot = { system: { cpu: 'amd64' }, memory: { read: () => Promise.resolve(undefined) } } as unknown as Snapshot;
const unmapped: MemoryFacts = { module: undefined, type: undefined, executable: undefined, writable: undefined, mapped: false, region: undefined, protection: 'unmapped', label: undefined };
const jit: MemoryFacts = { ...unmapped, type: 'private', executable: true, mapped: true, protection: 'PAGE_EXECUTE_READWRITE' };
const abort: CrashInfo = { reason: 'SIGABRT', address: 0n, code: 6, flags: 0, parameters: [], explanation: undefined, threadId: 0x10 };

test('smashedReturnAddress: text, or a stack-protector exit above it, in memory that is not code', async () => {
  const smashedText = thread([frame(0x401000n, 0x1000n, 'context', APP, 'copy'), frame(0x4141414141414141n, 0x1100n, 'cfi')]);
  const byText = await smashedReturnAddress(snapshot, smashedText, 1, unmapped, abort);
  assert.equal(byText?.kind, 'smashed_return_address');
  assert.equal(byText.data['victim_function'], 'app!copy');

  // Not text, but __stack_chk_fail ran on the way down: the canary before this return address was hit.
  const protector = thread([
    frame(LIBC.base + 0x2000n, 0x1000n, 'context', LIBC, 'raise'),
    frame(LIBC.base + 0x3000n, 0x1040n, 'cfi', LIBC, '__stack_chk_fail'),
    frame(0x401100n, 0x1080n, 'cfi', APP, 'parse'),
    frame(0x1234567890abcdefn, 0x1100n, 'cfi'),
  ]);
  const byProtector = await smashedReturnAddress(snapshot, protector, 3, unmapped, abort);
  assert.deepEqual(byProtector?.data['stack_protector'], [{ frame: 1, function: '__stack_chk_fail' }]);

  // Binary garbage with no protector, code in executable memory, the instruction pointer: not a smash.
  const plain = thread([frame(0x401000n, 0x1000n, 'context', APP, 'copy'), frame(0x1234567890abcdefn, 0x1100n, 'cfi')]);
  assert.equal(await smashedReturnAddress(snapshot, plain, 1, unmapped, abort), undefined);
  assert.equal(await smashedReturnAddress(snapshot, smashedText, 1, jit, abort), undefined);
  const ipText = thread([frame(0x41414141n, 0x1000n, 'context')]);
  assert.equal(await smashedReturnAddress(snapshot, ipText, 0, unmapped, abort), undefined);
});
