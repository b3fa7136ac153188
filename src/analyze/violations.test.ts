import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { analyzeCorpusDump } from '../testing/breakpad-parity.js';
import { needsCorpus, repoPath } from '../testing/corpus.js';
import { amd64Context, StackBuilder, SynthMinidump } from '../testing/synth/index.js';
import { fullMemoryDump } from '../testing/synth/full-memory.js';
import { PagedSource } from '../io/byte-source.js';
import { analyze, analyzeMinidump } from './process.js';
import type { Analysis } from './types.js';

const kinds = (a: Analysis): string[] => a.findings.map((f) => f.kind);

test('exec_av_on_stack.dmp: the crash executed the thread\'s own stack, which is not executable', needsCorpus, async () => {
  const a = await analyzeCorpusDump('breakpad--exec_av_on_stack');
  const f = a.findings.find((x) => x.kind === 'nonexecutable_code')!;
  assert.equal(f.frame, 0);
  assert.equal(f.address, 0x3df944n);
  assert.match(f.summary, /executed code outside any module, in memory that is not executable: the instruction pointer 0x3df944 is in the stack of thread 0x1b08/);
  assert.match(f.evidence[0]!, /the stack of thread 0x1b08 \(region 0x3df288–0x3e0000\), protection not executable \(shown by the access violation on execute\)/);
  assert.ok(f.evidence.some((e) => /access violation on execute \(DEP\/NX\)/.test(e)));
});

test('Linux maps: an executable stack, an executable heap, execution where nothing is mapped', needsCorpus, async () => {
  assert.ok(kinds(await analyzeCorpusDump('breakpad--linux_executable_stack')).includes('executable_stack'));
  assert.ok(kinds(await analyzeCorpusDump('breakpad--linux_executable_heap')).includes('executable_heap'));
  const outside = (await analyzeCorpusDump('breakpad--linux_outside_module')).findings.find((f) => f.kind === 'nonexecutable_code')!;
  assert.match(outside.summary, /executed code outside any module/);
  assert.match(outside.evidence[0]!, /0x29cd74 lies in memory outside every module, nothing is mapped there/);
  const notExe = (await analyzeCorpusDump('breakpad--linux_jmp_to_module_not_exe_region')).findings.find((f) => f.kind === 'nonexecutable_code')!;
  assert.match(notExe.evidence[0]!, /protection r--p \(not executable\)/);
});

test('jit.dmp: unbacked_code on the stub in VirtualAlloc memory, and the walk continues past it to main', async () => {
  const file = await openFileSource(repoPath('test-data', 'fixtures', 'jit.dmp'));
  const dirs = new FileDirectories([repoPath('test-data', 'fixtures')]);
  try {
    const a = await analyzeMinidump(file.source, { images: dirs.openers });
    const unbacked = a.findings.filter((f) => f.kind === 'unbacked_code');
    assert.equal(unbacked.length, 1);
    assert.equal(unbacked[0]!.frame, 1);
    assert.equal(unbacked[0]!.address, 0x14a0050n);
    const frames = a.threads[a.crashingThreadIndex!]!.frames;
    assert.equal(frames[2]!.ip, 0x140007f51n, 'main, after the stub');
    assert.equal(a.threads[a.crashingThreadIndex!]!.frameMemory[1]!.module, undefined);
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
});

test('no unbacked code and no foreign thread starts on clean dumps', needsCorpus, async () => {
  for (const key of ['breakpad--minidump2', 'rust-minidump--test', 'rust-minidump--simple-crashpad', 'breakpad--thread_name_list', 'breakpad--tiny-exe-with-cet-xsave']) {
    const found = kinds(await analyzeCorpusDump(key)).filter((k) => k === 'unbacked_code' || k === 'thread_start_outside_image' || k === 'nonexecutable_code');
    assert.deepEqual(found, [], key);
  }
});

// A Windows x64 process with a memory map: an image, and a private RWX region holding a mapped PE.
const IMAGE = 0x140000000n;
const JIT = 0x20000000n;
const STACK = 0x10000n;

function windowsDump(): SynthMinidump {
  const pe = new Uint8Array(0x200);
  pe.set([0x4d, 0x5a]);
  new DataView(pe.buffer).setUint32(0x3c, 0x80, true);
  pe.set([0x50, 0x45, 0, 0], 0x80);
  // Thread 7's stack holds pointers into the JIT region, beyond its walked frames.
  const stack = new StackBuilder(STACK, 8).word(JIT + 0x105n).fill(0x40).word(JIT + 0x300n).fill(0x100);
  const jitCode = new Uint8Array(0x400);
  jitCode.set([0xe8, 0, 0, 0, 0], 0x100); // call rel32 ending at +0x105
  jitCode.set(pe.subarray(0, 0x100), 0);
  return new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: 'windows' })
    .module({ base: IMAGE, size: 0x10000, name: 'C:\\app\\app.exe' })
    .memory(JIT, jitCode)
    .memoryInfo({ base: IMAGE, size: 0x10000, allocationBase: IMAGE, state: 0x1000, protect: 0x20, type: 0x1000000 })
    .memoryInfo({ base: JIT, size: 0x1000, allocationBase: JIT, state: 0x1000, protect: 0x40, type: 0x20000 })
    .memoryInfo({ base: STACK, size: 0x2000, allocationBase: STACK, state: 0x1000, protect: 0x04, type: 0x20000 })
    .thread({ id: 7, stack, context: amd64Context({ rip: IMAGE + 0x1000n, rsp: STACK, rbp: 0n }) })
    .thread({ id: 8, stack: new StackBuilder(STACK + 0x1000n, 8).fill(0x40), context: amd64Context({ rip: JIT + 0x105n, rsp: STACK + 0x1000n }) })
    .threadInfo({ id: 7, startAddress: JIT + 0x10n })
    .breakpadInfo({ requestingThreadId: 7 });
}

test('a Windows memory map: unbacked code, a thread started in private memory, a hidden image, pointers into unbacked code', async () => {
  const a = await analyzeMinidump(windowsDump().source());
  const byKind = new Map(a.findings.map((f) => [f.kind, f]));
  const start = byKind.get('thread_start_outside_image')!;
  assert.equal(start.address, JIT + 0x10n);
  assert.match(start.evidence[0]!, /private memory \(region 0x20000000–0x20001000\), protection PAGE_EXECUTE_READWRITE \(executable\)/);
  const hidden = byKind.get('hidden_image')!;
  assert.equal(hidden.address, JIT);
  const pointers = byKind.get('unbacked_pointer_on_stack')!;
  assert.equal(pointers.severity, 'info');
  assert.ok((pointers.data['count'] as number) >= 1);
  // Thread 7 runs in the image; thread 8 runs in the JIT region: executable private memory no image backs.
  assert.equal(a.threads[0]!.frameMemory[0]!.type, 'image');
  assert.equal(a.threads[0]!.frameMemory[0]!.executable, true);
  const unbacked = a.findings.find((f) => f.kind === 'unbacked_code')!;
  assert.equal(unbacked.threadId, 8);
  assert.equal(unbacked.address, JIT + 0x105n);
  assert.deepEqual([unbacked.data['memory_type'], unbacked.data['executable'], unbacked.data['protection']], ['private', true, 'PAGE_EXECUTE_READWRITE']);
});

test('a full-memory dump is not read whole: heap allocations without an executable page are not probed for images past their first page', async () => {
  const bytes = fullMemoryDump({ heapRegions: 4, regionBytes: 8 << 20 });
  let read = 0;
  const source = new PagedSource('full.dmp', bytes.length, (offset, length) => {
    read += length;
    return Promise.resolve(bytes.subarray(offset, offset + length));
  });
  const a = await analyze(source);
  assert.ok(a.threads.length > 0);
  assert.ok(bytes.length > 32 << 20);
  // The directory, the threads' stacks, the module's headers and one probe per region.
  assert.ok(read < 3 << 20, `${read} bytes read of ${bytes.length}`);
});

test('PagedSource.readUncached: a probe of a page not cached reads only its bytes and caches nothing; a cached page answers it', async () => {
  const bytes = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  const reads: number[] = [];
  const source = new PagedSource('p', bytes.length, (offset, length) => {
    reads.push(length);
    return Promise.resolve(bytes.subarray(offset, offset + length));
  });
  assert.deepEqual([...(await source.readUncached(0x20010, 4))], [0x10, 0x11, 0x12, 0x13]);
  assert.deepEqual(reads, [4]);
  await source.read(0x20000, 2);
  assert.deepEqual(reads, [4, 0x10000], 'read() fills the page');
  await source.readUncached(0x20010, 4);
  assert.deepEqual(reads, [4, 0x10000], 'the cached page answers the probe');
});

test('Android ARM32 (firefox-android-arm.dmp): only anonymous executable memory counts as unbacked; scanned stale copies are no recursion', needsCorpus, async () => {
  const a = await analyzeCorpusDump('external/user/android--firefox-android-arm', { reconstruct: false });
  // libnetd_client.so lies inside libmedia.so's reserved range, which cuts libmedia's module range
  // short; libmedia's code mapping still names its file, so pointers into it are image-backed.
  const unbacked = a.findings.filter((f) => f.kind === 'unbacked_pointer_on_stack');
  assert.equal(unbacked.length, 2);
  assert.ok(unbacked.flatMap((f) => f.evidence.slice(0, -1)).every((e) => / in anonymous memory \(region 0x75377000–0x75396000\), protection r-xp/.test(e)));
  // Every frame after the context frames is a scan here: the same return address found at several
  // depths is a stale copy, and no thread overflowed, so no recursion is claimed.
  assert.deepEqual(a.findings.filter((f) => f.kind === 'recursion'), []);
});
