import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Module } from '../model/snapshot.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import type { SymbolInfo } from '../symbolize/provider.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import type { StackFrame } from '../unwind/frame.js';
import { analyze } from './process.js';
import { DEFAULT_SIGNATURE_RULES } from './signature-rules.js';
import { crashSignature, framesSignature, signatureFunctionName, signatureMatcher } from './signature.js';
import type { Analysis } from './types.js';

const module = (name: string, base: bigint): Module => ({ base, size: 0x100000, codeFile: `C:\\Windows\\${name}`, debugFile: name.replace(/\.\w+$/, '.pdb'), debugId: 'X', codeId: '', version: undefined, timeDateStamp: 0 }) as unknown as Module;
const ntdll = module('ntdll.dll', 0x7ff800000000n);
const app = module('app.exe', 0x140000000n);
const ucrt = module('ucrtbase.dll', 0x7ff700000000n);

function frame(m: Module | undefined, offset: number, functionName?: string): StackFrame {
  const ip = (m?.base ?? 0x5000000n) + BigInt(offset);
  const symbol: SymbolInfo | undefined = functionName === undefined ? undefined : ({ functionName, functionAddress: offset, inlines: [] } as unknown as SymbolInfo);
  return { trust: 'cfi', ip, instruction: ip - 1n, sp: 0n, module: m, symbol, registers: new Map(), stale: new Map() } as unknown as StackFrame;
}

test('signature: dispatch frames skipped, memcpy and the heap kept as a prefix, the first telling frame ends it; parameters dropped', () => {
  const s = framesSignature([
    frame(ntdll, 0x10, 'KiUserExceptionDispatcher'),
    frame(ucrt, 0x20, 'memcpy'),
    frame(ntdll, 0x30, 'RtlFreeHeap'),
    frame(app, 0x1234, 'Parser::readChunk(unsigned char const *, int) const'),
    frame(app, 0x2000, 'main'),
  ]);
  assert.equal(s.signature, 'ucrtbase.dll!memcpy | ntdll.dll!RtlFreeHeap | app.exe!Parser::readChunk');
  assert.deepEqual(s.frames.map((f) => f.role), ['skipped', 'prefix', 'prefix', 'signature']);
  // Without symbols: module+offset from its base, the same in every process of that build.
  assert.equal(framesSignature([frame(app, 0x1234), frame(app, 0x2000)]).signature, 'app.exe+0x1234');
  // Code outside every module: kept, and the module code that led there named too.
  assert.equal(framesSignature([frame(undefined, 0x10), frame(app, 0x2000)]).signature, '(no module) | app.exe+0x2000');
  assert.equal(framesSignature([]).signature, 'EMPTY: no frames');
  // Only skipped frames: the innermost one.
  assert.equal(framesSignature([frame(ntdll, 0x10, 'KiUserExceptionDispatcher')]).signature, 'ntdll.dll!KiUserExceptionDispatcher');
});

test('signature: rules can be replaced; the prefix is bounded; names lose parameter lists, not templates or operator()', () => {
  const none = signatureMatcher({ skip: [], prefix: [], maxPrefixFrames: 0 });
  assert.equal(framesSignature([frame(ntdll, 0x10, 'KiUserExceptionDispatcher'), frame(app, 1, 'f')], none).signature, 'ntdll.dll!KiUserExceptionDispatcher');
  const many = Array.from({ length: 20 }, (_, i) => frame(ucrt, i, 'memset'));
  assert.equal(framesSignature([...many, frame(app, 1, 'f')]).signature.split(' | ').length, DEFAULT_SIGNATURE_RULES.maxPrefixFrames + 1);
  assert.equal(signatureFunctionName('std::vector<int, std::allocator<int> >::push_back(int const &)'), 'std::vector<int, std::allocator<int> >::push_back');
  assert.equal(signatureFunctionName('Functor::operator()(int)'), 'Functor::operator()');
  assert.equal(signatureFunctionName("`anonymous namespace'::CrashFunction"), "`anonymous namespace'::CrashFunction");
  assert.equal(signatureFunctionName('static void setSBCS(struct threadmbcinfostruct *)'), 'static void setSBCS');
});

async function analysed(path: string, symbols?: string): Promise<Analysis> {
  const file = await openFileSource(path);
  const dirs = new FileDirectories(symbols ? [symbols] : []);
  try {
    return await analyze(file.source, symbols ? { symbols: new SymbolStoreProvider(dirs.openers) } : {});
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

test('the same bug in two corpus dumps (minidump2.dmp, rust-minidump test.dmp) gets one signature, with symbols and without; other crashes get others', needsCorpus, async () => {
  const symbols = corpusPath('breakpad', 'symbols');
  const a = await analysed(corpusPath('breakpad', 'minidump2.dmp'), symbols);
  const b = await analysed(corpusPath('rust-minidump', 'test.dmp'), symbols);
  assert.equal(a.signature.signature, "test_app.exe!`anonymous namespace'::CrashFunction");
  assert.equal(b.signature.signature, a.signature.signature);
  assert.equal((await analysed(corpusPath('breakpad', 'minidump2.dmp'))).signature.signature, 'test_app.exe+0x429e');
  assert.equal((await analysed(corpusPath('rust-minidump', 'test.dmp'))).signature.signature, 'test_app.exe+0x429e');
  const others = await Promise.all(['stack_exhaustion.dmp', 'null_read_av.dmp', 'write_av_non_null.dmp', 'linux_overflow.dmp'].map((d) => analysed(corpusPath('breakpad', d))));
  const all = new Set([a, ...others].map((x) => x.signature.signature));
  assert.equal(all.size, 5);
});

test('a kernel dump\'s signature is its bucket: the bugcheck code and the blamed driver', needsCorpus, async () => {
  const a = await analysed(corpusPath('external', 'kernel', 'rizin-triage_x64.dmp'));
  assert.equal(a.signature.signature, a.kernel!.bucket);
  assert.match(a.signature.signature, /^0x7E_amdppm/);
  assert.deepEqual(crashSignature({ kernel: undefined, crashingThreadIndex: undefined, threads: [] }).signature, 'EMPTY: no crashing thread');
});
