// The one real legacy user dump in the corpus: kdlibcpp's targetapp_stacktest_x64_release.dmp (a
// USERDU64 file dbgeng wrote at the __debugbreak in stackTestClass::stackMethod). The header's counts
// are checked against what the file's own memory says (PE images, TEBs, KUSER_SHARED_DATA), and the
// crashing thread's frames against kdlibcpp's InlineStackTest (dbgeng, inline frames counted).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyze } from '../../analyze/process.js';
import { BufferSource } from '../../io/byte-source.js';
import { FileDirectories } from '../../node/directories.js';
import { openFileSource } from '../../node/file-source.js';
import { displayFrames } from '../../report/text.js';
import { loadPdbSymbols } from '../../symbolize/pdb-symbols.js';
import { SymbolStoreProvider } from '../../symbolize/store-provider.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { UserDumpBuilder } from '../../testing/synth/index.js';
import { readPdbIdentity } from '../pdb/identity.js';
import { readUserDump } from './read-user-dump.js';

const dir = (): string => corpusPath('external', 'user', 'kdlib', 'targetapp_stacktest_x64_release');
const dumpPath = (): string => join(dir(), 'targetapp_stacktest_x64_release.dmp');
const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

async function snapshot(): Promise<Awaited<ReturnType<typeof readUserDump>>> {
  const file = await openFileSource(dumpPath());
  try {
    return await readUserDump(file.source);
  } finally {
    await file.close();
  }
}

const field = (s: Awaited<ReturnType<typeof readUserDump>>, name: string): unknown => s.userDump!.header.find((f) => f.name === name)?.value;

test('kdlib USERDU64: the header as the file holds it, read with no warning', needsCorpus, async () => {
  const s = await snapshot();
  assert.deepEqual(s.warnings, []);
  assert.deepEqual(
    s.userDump!.header.map((f) => [f.name, typeof f.value === 'bigint' ? Number(f.value) : f.value]),
    [
      ['Signature', 'USER'],
      ['ValidDump', 'DU64'],
      ['MajorVersion', 10],
      ['MinorVersion', 0x42ee0000],
      ['MachineImageType', 0x8664],
      ['ThreadCount', 3],
      ['ModuleCount', 7],
      ['MemoryRegionCount', 56],
      ['ThreadOffset', 0xb90],
      ['ModuleOffset', 0x1af0],
      ['DataOffset', 0x1c23],
      ['MemoryRegionOffset', 0x110],
      ['DebugEventOffset', 0x60],
      ['ThreadStateOffset', 0x1a00],
      ['VersionInfoOffset', 0x7fec23],
      ['Spare1', 0],
    ],
  );
  assert.deepEqual(s.userDump!.versionStrings, [
    ['CRASH: OS SP', 'none'],
    ['CRASH: Hotfixes', 'none'],
  ]);
});

test('kdlib USERDU64: the synthetic builder lays its parts out where dbgeng did', needsCorpus, async () => {
  // Same counts, thread and module names, region sizes: every header offset must come out equal.
  const s = await snapshot();
  const b = new UserDumpBuilder({ width: 64 }).version(10, 0, 17134);
  b.exception({ threadId: 0x2098, code: 0x80000003, address: 0n, parameters: [0n] });
  for (const m of s.memoryInfo) b.memory({ base: m.base, bytes: new Uint8Array(Number(m.size)) });
  for (const t of s.threads) b.thread({ id: t.id, registers: {} });
  for (const m of s.modules) b.module({ base: m.base, size: m.size, name: m.codeFile });
  const built = new BufferSource(b.build().bytes, 'built.dmp');
  const mine = await readUserDump(built);
  for (const name of ['ThreadOffset', 'ModuleOffset', 'DataOffset', 'MemoryRegionOffset', 'DebugEventOffset', 'ThreadStateOffset', 'VersionInfoOffset']) {
    assert.equal(field(mine, name), field(s, name), name);
  }
  // With the same two version strings, the files are the same length too.
  const { size } = statSync(dumpPath());
  assert.equal(built.size, size);
});

test('kdlib USERDU64: memory regions, their data, and the OS version against KUSER_SHARED_DATA', needsCorpus, async () => {
  const s = await snapshot();
  assert.equal(s.memoryInfo.length, 56);
  // The regions' bytes fill DataOffset..VersionInfoOffset exactly, in list order.
  const total = s.memoryInfo.reduce((n, m) => n + m.size, 0n);
  assert.equal(total, BigInt(Number(field(s, 'VersionInfoOffset')) - Number(field(s, 'DataOffset'))));
  assert.ok(s.memoryInfo.every((m) => m.state === 0x1000), 'every region listed is committed');
  // KUSER_SHARED_DATA (the first region): NtBuildNumber 0x260, NtMajorVersion 0x26c, NtMinorVersion 0x270.
  const kuser = (await s.memory.read(0x7ffe0000n, 0x274))!;
  const v = new DataView(kuser.buffer, kuser.byteOffset, kuser.byteLength);
  assert.equal(s.system.osVersion, `${v.getUint32(0x26c, true)}.${v.getUint32(0x270, true)}.${v.getUint32(0x260, true)}`);
  assert.equal(s.system.osVersion, '10.0.17134');
  assert.equal(s.system.cpu, 'amd64');
  assert.equal(s.system.cpuCount, 4);
});

test('kdlib USERDU64: three threads, each the one its TEB names, in the process the debug event names', needsCorpus, async () => {
  const s = await snapshot();
  assert.equal(s.threads.length, Number(field(s, 'ThreadCount')));
  assert.deepEqual(s.threads.map((t) => t.id), [0x2098, 0x2f64, 0x1cf0]);
  assert.equal(s.process.processId, 0xc3c);
  for (const t of s.threads) {
    // TEB64: NT_TIB (0x38 bytes), EnvironmentPointer, then CLIENT_ID { UniqueProcess 0x40, UniqueThread 0x48 }.
    const teb = (await s.memory.read(t.teb, 0x50))!;
    const v = new DataView(teb.buffer, teb.byteOffset, teb.byteLength);
    assert.equal(v.getBigUint64(0x48, true), BigInt(t.id), `thread 0x${t.id.toString(16)}`);
    assert.equal(v.getBigUint64(0x40, true), BigInt(s.process.processId!));
    const sp = t.context!.registers.get('rsp')!;
    assert.ok(t.stack && t.stack.base === sp && t.stack.base + BigInt(t.stack.size) === v.getBigUint64(8, true), 'the stack runs from rsp to NT_TIB.StackBase');
  }
  // The debug event: the __debugbreak's breakpoint, on the first thread, where its context stopped.
  assert.deepEqual(s.userDump!.debugEvent, { code: 1, codeName: 'EXCEPTION_DEBUG_EVENT', processId: 0xc3c, threadId: 0x2098, firstChance: true });
  assert.equal(s.exception!.code, 0x80000003);
  assert.equal(s.exception!.address, 0x7ff7e1451e65n);
  assert.equal(s.threads[0]!.context!.registers.get('rip'), s.exception!.address);
});

test('kdlib USERDU64: the module list is the PE images in memory, with the PDB identity targetapp.pdb carries', needsCorpus, async () => {
  const s = await snapshot();
  assert.equal(s.modules.length, Number(field(s, 'ModuleCount')));
  assert.deepEqual(s.modules.map((m) => m.codeFile.split('\\').pop()), ['targetapp.exe', 'VCRUNTIME140.dll', 'MSVCP140.dll', 'ucrtbase.dll', 'KERNELBASE.dll', 'KERNEL32.DLL', 'ntdll.dll']);
  // Independently: every MEM_IMAGE allocation's first region starts with an MZ header, and its SizeOfImage is the module's size.
  const images: [bigint, number][] = [];
  for (const m of s.memoryInfo) {
    if (m.type !== 0x1000000 || m.base !== m.allocationBase) continue;
    const dos = (await s.memory.read(m.base, 0x40))!;
    assert.deepEqual([dos[0], dos[1]], [0x4d, 0x5a]);
    const lfanew = new DataView(dos.buffer, dos.byteOffset).getUint32(0x3c, true);
    const nt = (await s.memory.read(m.base + BigInt(lfanew), 0x54))!;
    images.push([m.base, new DataView(nt.buffer, nt.byteOffset).getUint32(0x50, true)]);
  }
  assert.deepEqual(images, s.modules.map((m) => [m.base, m.size]));
  const pdb = await readPdbIdentity(new BufferSource(new Uint8Array(readFileSync(join(dir(), 'targetapp.pdb'))), 'targetapp.pdb'));
  assert.equal(s.modules[0]!.debugId, pdb?.debugId);
  assert.equal(s.modules[0]!.debugFile.split('\\').pop(), 'targetapp.pdb');
});

test("kdlib USERDU64 with targetapp.pdb: frames 1-3 of the crashing thread at targetapp.cpp:144, :172, :185, as kdlibcpp's InlineStackTest says", needsCorpus, async () => {
  const file = await openFileSource(dumpPath());
  const dirs = new FileDirectories([dir()]);
  try {
    const a = await analyze(file.source, { symbols: new SymbolStoreProvider(dirs.openers, undefined, { pdbLoader: loadPdbSymbols }) });
    assert.equal(a.crashingThreadIndex, 0);
    // The breakpoint's address holds the __debugbreak's int3.
    assert.equal(a.crash?.access?.instruction, 'int 0x3');
    const thread = a.threads[0]!;
    assert.equal(thread.thread.id, 0x2098);
    // As the text report numbers them (and dbgeng does): each inlined call a frame of its own, innermost first.
    const shown = displayFrames(thread.frames).map((d) => [d.inline ? 'inline' : d.frame.trust, d.location.replace(/\(int,.*\)/, '(...)')]);
    assert.deepEqual(shown.slice(0, 5), [
      ['inline', 'targetapp.exe!stackTestClass::stackMethod [targetapp.cpp : 129 + 0x6]'],
      ['inline', 'targetapp.exe!stackTestRun2 [targetapp.cpp : 144 + 0x6]'],
      ['context', 'targetapp.exe!stackTestRun1(...) [targetapp.cpp : 172 + 0x6]'],
      ['inline', 'targetapp.exe!stackTestRun [targetapp.cpp : 185 + 0x3a]'],
      ['cfi', 'targetapp.exe!wmain [targetapp.cpp : 66 + 0x3b]'],
    ]);
    // The walk reaches the thread's start, as on every thread.
    for (const t of a.threads) assert.match(t.frames[t.frames.length - 1]!.module?.codeFile ?? '', /ntdll\.dll$/);
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
});

test('kdlib USERDU64 through the CLI: the text report prints frames 1-3 at :144, :172, :185; json and kf work', needsCorpus, () => {
  const run = (...args: string[]): string => {
    const r = spawnSync(process.execPath, [MAIN, dumpPath(), '--symbols', dir(), ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const text = run('--threads', 'crashed');
  assert.match(text, /^ 1 {2}targetapp\.exe!stackTestRun2 \[targetapp\.cpp : 144 \+ 0x6\]\n \n {4}Found by: inline record$/m);
  assert.match(text, /^ 2 {2}targetapp\.exe!stackTestRun1\(int,.*\) \[targetapp\.cpp : 172 \+ 0x6\]$/m);
  assert.match(text, /^ 3 {2}targetapp\.exe!stackTestRun \[targetapp\.cpp : 185 \+ 0x3a\]\n \n {4}Found by: inline record$/m);
  assert.match(text, /^Crash reason: {2}EXCEPTION_BREAKPOINT$/m);
  assert.match(text, /^0x7ff7e1450000 - 0x7ff7e145ffff {2}targetapp\.exe/m);
  const json = JSON.parse(run('-f', 'json')) as { threads: { frames: { function: string; line: number; inlines: { function: string; line: number }[] }[] }[] };
  const f = json.threads[0]!.frames;
  assert.deepEqual([f[0]!.line, f[0]!.inlines.map((i) => i.line), f[1]!.function, f[1]!.inlines.map((i) => `${i.function}:${i.line}`)], [172, [129, 144], 'wmain', ['stackTestRun:185']]);
  const kf = run('-f', 'kf', '--threads', 'crashed');
  assert.match(kf, /\(Inline\) +-+ +targetapp!stackTestRun2\n.*targetapp!stackTestRun1\(int,[^\n]*\+0x55\n +\(Inline\) +-+ +targetapp!stackTestRun\n/);
});
