// The legacy full user-mode dump reader on small USERDU64 and USERDUMP files built in code: every
// part of the model, and the walk and reports on top of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../../analyze/process.js';
import { BufferSource } from '../../io/byte-source.js';
import { toJson } from '../../report/json.js';
import { renderKf } from '../../report/kf.js';
import { renderHtml } from '../../report/html.js';
import { renderText } from '../../report/text.js';
import { UserDumpBuilder, type UserDumpWidth } from '../../testing/synth/index.js';
import { Directory, Machine } from '../pe/constants.js';
import { PeBuilder, TEXT, debugDirectory, rsdsRecord } from '../pe/testing.js';
import { readSnapshot } from '../detect.js';
import { readUserDump } from './read-user-dump.js';

const GUID = '5a9832e5-2872-41c1-838e-d98914e9b7ff';
const KUSER = 0x7ffe0000n;
/** 2021-06-01 00:00:00 UTC as a FILETIME. */
const SYSTEM_TIME = (1622505600n + 11_644_473_600n) * 10_000_000n;

/** An image with a .text of `ret`s but for a call that returns to +0x10, and a CodeView record naming hog.pdb. */
function image(is64: boolean, base: bigint): { bytes: Uint8Array; size: number; timeDateStamp: number; text: bigint } {
  const pe = new PeBuilder({ is64, imageBase: base, timeDateStamp: 0x5f001234, machine: is64 ? Machine.AMD64 : Machine.I386 });
  const text = new Uint8Array(0x200).fill(0xc3);
  text.set([0xe8, 0, 0, 0, 0], 0x0b);
  const textRva = pe.section({ name: '.text', data: text, characteristics: TEXT });
  const dir = debugDirectory(pe.nextRva, pe.nextFileOffset, [{ type: 2, data: rsdsRecord(GUID, 1, 'd:\\build\\hog.pdb') }]);
  pe.directory(Directory.Debug, pe.section({ name: '.rdata', data: dir }), 28);
  return { bytes: pe.bytes('memory'), size: pe.sizeOfImage, timeDateStamp: pe.timeDateStamp, text: base + BigInt(textRva) };
}

/** KUSER_SHARED_DATA's first bytes: SystemTime (KSYSTEM_TIME at 0x14) and ActiveProcessorCount (0x3c0). */
function sharedData(processors: number): Uint8Array {
  const page = new Uint8Array(0x1000);
  const v = new DataView(page.buffer);
  v.setUint32(0x14, Number(SYSTEM_TIME & 0xffffffffn), true);
  v.setUint32(0x18, Number(SYSTEM_TIME >> 32n), true);
  v.setUint32(0x1c, Number(SYSTEM_TIME >> 32n), true);
  v.setUint32(0x3c0, processors, true);
  return page;
}

interface Sample {
  readonly builder: UserDumpBuilder;
  readonly imageBase: bigint;
  readonly imageSize: number;
  readonly text: bigint;
  readonly stackBase: bigint;
  readonly sp: bigint;
}

/**
 * A process of two threads: 0x2098 stopped at an access violation in hog.exe, its frame chain
 * (x86: ebp-linked) returning into hog.exe; 0x2f64 waiting. Each has a TEB giving its stack.
 */
function sample(width: UserDumpWidth): Sample {
  const is64 = width === 64;
  const imageBase = is64 ? 0x7ff7e1450000n : 0x00400000n;
  const img = image(is64, imageBase);
  const stackBase = is64 ? 0x8fe1f30000n : 0x00130000n;
  const stackLimit = stackBase - 0x3000n;
  const sp = stackBase - 0x800n;
  const stack = new Uint8Array(0x3000);
  const view = new DataView(stack.buffer);
  // x64: a leaf's return address at sp (.text has no unwind data); x86: at ebp + 4, ebp = sp + 0x40.
  if (is64) view.setBigUint64(0x2800, img.text + 0x10n, true);
  else view.setUint32(0x2800 + 0x44, Number(img.text + 0x10n), true);
  const teb1 = is64 ? 0x8fe21a5000n : 0x7efdd000n;
  const teb2 = is64 ? 0x8fe21a7000n : 0x7efda000n;
  const builder = new UserDumpBuilder({ width })
    .version(10, 0, 17134)
    .memory({ base: KUSER, bytes: sharedData(4), protect: 2 })
    .memory({ base: imageBase, bytes: img.bytes, protect: 0x20, type: 0x1000000 })
    .memory({ base: stackLimit, bytes: stack })
    .teb(teb1, stackBase, stackLimit, 5)
    .teb(teb2, stackBase + 0x100000n, stackBase + 0x100000n - 0x1000n)
    .thread({
      id: 0x2098,
      teb: teb1,
      registers: is64 ? { rip: img.text + 4n, rsp: sp, rbp: sp + 0x40n, rax: 0x10n } : { eip: Number(img.text + 4n), esp: Number(sp), ebp: Number(sp) + 0x40, eax: 0x10 },
    })
    .thread({ id: 0x2f64, teb: teb2, suspendCount: 2, priority: 1, registers: is64 ? { rip: img.text + 8n, rsp: stackBase + 0x100000n - 0x100n } : { eip: Number(img.text) + 8, esp: Number(stackBase) + 0x100000 - 0x100 } })
    .module({ base: imageBase, size: img.size, name: 'C:\\hog\\hog.exe' })
    .module({ base: is64 ? 0x7ffe047c0000n : 0x77000000n, size: 0x1e1000, name: 'ntdll.dll' })
    .exception({ threadId: 0x2098, processId: 0xc3c, code: 0xc0000005, address: img.text + 4n, parameters: [0n, 0x10n] })
    .versionStrings([
      ['CRASH: OS SP', 'Service Pack 1'],
      ['CRASH: Hotfixes', 'none'],
    ]);
  return { builder, imageBase, imageSize: img.size, text: img.text, stackBase, sp };
}

for (const width of [64, 32] as const) {
  const signature = width === 64 ? 'USERDU64' : 'USERDUMP';

  test(`${signature}: header, memory, threads, modules, exception and system info in the model`, async () => {
    const s = sample(width);
    const file = s.builder.build();
    const snap = await readUserDump(new BufferSource(file.bytes, 'user.dmp'));
    assert.deepEqual(snap.warnings, []);
    assert.equal(snap.format, 'user-dump');
    assert.equal(snap.userDump!.headerWidth, width);
    const field = (name: string): unknown => snap.userDump!.header.find((f) => f.name === name)?.value;
    assert.deepEqual([field('ValidDump'), field('ThreadCount'), field('ModuleCount'), field('MemoryRegionCount')], [signature.slice(4), 2, 2, 5]);
    assert.equal(Number(field('DataOffset')), file.offsetOf('data'));

    assert.equal(snap.system.cpu, width === 64 ? 'amd64' : 'x86');
    assert.equal(snap.system.osVersion, '10.0.17134');
    assert.equal(snap.system.csdVersion, 'Service Pack 1');
    assert.equal(snap.system.cpuCount, 4);
    assert.equal(snap.timeDateStamp, 1622505600);
    assert.deepEqual(snap.userDump!.versionStrings, [
      ['CRASH: OS SP', 'Service Pack 1'],
      ['CRASH: Hotfixes', 'none'],
    ]);

    // Memory: every region's bytes, at its address; the region list as memory info.
    assert.equal(snap.memoryInfo.length, 5);
    assert.deepEqual(snap.memoryInfo[1], { base: s.imageBase, allocationBase: s.imageBase, allocationProtect: 0x20, size: BigInt(s.imageSize), state: 0x1000, protect: 0x20, type: 0x1000000 });
    const mz = await snap.memory.read(s.imageBase, 2);
    assert.deepEqual([...mz!], [0x4d, 0x5a]);
    assert.deepEqual([...(await snap.memory.read(s.text, 4))!], [0xc3, 0xc3, 0xc3, 0xc3]);
    assert.equal(await snap.memory.read(s.stackBase, 1), undefined, 'nothing past the stack region');

    // Threads: ids, states and contexts; the stack from sp to the TEB's StackBase.
    assert.deepEqual(snap.threads.map((t) => [t.id, t.suspendCount, t.priority]), [[0x2098, 1, 0], [0x2f64, 2, 1]]);
    const [t0] = snap.threads;
    assert.equal(t0!.context!.cpu, width === 64 ? 'amd64' : 'x86');
    assert.equal(t0!.context!.registers.get(width === 64 ? 'rip' : 'eip'), s.text + 4n);
    assert.deepEqual(t0!.stack, { base: s.sp, size: 0x800, fileOffset: undefined });

    // Modules: names as listed; TimeDateStamp, SizeOfImage and the PDB from the image in memory.
    const [hog, ntdll] = snap.modules;
    assert.deepEqual([hog!.codeFile, hog!.base, hog!.size, hog!.timeDateStamp, hog!.debugFile, hog!.debugId], ['C:\\hog\\hog.exe', s.imageBase, s.imageSize, 0x5f001234, 'd:\\build\\hog.pdb', '5A9832E5287241C1838ED98914E9B7FF1']);
    assert.equal(hog!.codeId, `5F001234${s.imageSize.toString(16)}`);
    assert.deepEqual([ntdll!.codeFile, ntdll!.size, ntdll!.debugId, ntdll!.timeDateStamp], ['ntdll.dll', 0x1e1000, '', 0], 'an image not in memory keeps the listed size');

    // The debug event: an exception on thread 0x2098 of process 0xc3c.
    assert.deepEqual(snap.userDump!.debugEvent, { code: 1, codeName: 'EXCEPTION_DEBUG_EVENT', processId: 0xc3c, threadId: 0x2098, firstChance: true });
    assert.deepEqual(snap.exception, { threadId: 0x2098, code: 0xc0000005, flags: 0, address: s.text + 4n, parameters: [0n, 0x10n], context: t0!.context });
    assert.equal(snap.process.processId, 0xc3c);
  });

  test(`${signature}: readSnapshot reads it, and the analysis walks the crashing thread into its module`, async () => {
    const s = sample(width);
    const source = new BufferSource(s.builder.build().bytes, 'user.dmp');
    assert.deepEqual(await readSnapshot(source), await readUserDump(source));
    const analysis = await analyze(source);
    assert.equal(analysis.crashingThreadIndex, 0);
    assert.equal(analysis.crash?.reason, 'EXCEPTION_ACCESS_VIOLATION_READ');
    const frames = analysis.threads[0]!.frames;
    assert.equal(frames[0]!.ip, s.text + 4n);
    assert.equal(frames[0]!.module?.codeFile, 'C:\\hog\\hog.exe');
    // The return address on the stack, found from the TEB-bounded stack memory.
    assert.ok(frames.some((f, i) => i > 0 && f.ip === s.text + 0x10n), `frames: ${frames.map((f) => f.ip.toString(16)).join(' ')}`);
    // What a minidump's crash gets too: the faulting instruction decoded (amd64 only, as there), TEB.LastErrorValue.
    assert.equal(analysis.crash?.access?.instruction, width === 64 ? 'ret' : undefined);
    assert.equal(analysis.lastErrors.get(0x2098), 5);
    assert.match(renderText(analysis), /Thread 0 \(crashed\) id 0x2098/);
    assert.match(renderKf(analysis), /hog\+0x1004/);
    assert.equal((toJson(analysis) as { crash_info: { crashing_thread: number } }).crash_info.crashing_thread, 0);
  });
}

test('USERDU64 of a debug event that is no exception: the event is kept, no exception', async () => {
  const s = sample(64);
  const snap = await readUserDump(new BufferSource(s.builder.debugEvent(6, 0x10, 0x2098).build().bytes, 'load-dll.dmp'));
  assert.deepEqual(snap.userDump!.debugEvent, { code: 6, codeName: 'LOAD_DLL_DEBUG_EVENT', processId: 0x10, threadId: 0x2098, firstChance: undefined });
  assert.equal(snap.exception, undefined);
  assert.equal(snap.process.processId, 0x10);
});

test('USERDU64 "none" as the service pack: an empty CSD version', async () => {
  const s = sample(64);
  const snap = await readUserDump(new BufferSource(s.builder.versionStrings([['CRASH: OS SP', 'none']]).build().bytes, 'none.dmp'));
  assert.equal(snap.system.csdVersion, '');
  assert.deepEqual(snap.system.versionParts, { major: 10, minor: 0, build: 17134, csd: '' });
});

test('USERDU64 of a 32-bit program (WOW64, as kdlibcpp\'s targetapp_stacktest_wow64_release.dmp): the thread stopped in 32-bit code walks as x86, and no 64-bit frame is made up from its x86 registers', async () => {
  // A 32-bit stack: main's frame (ebp chain) returning into the CRT, both in the x86 image.
  const image = 0x00a80000n;
  const stackBase = 0x003e0000n;
  const stack = new Uint8Array(0x1000);
  const view = new DataView(stack.buffer);
  const esp = stackBase - 0x400n;
  view.setUint32(0xc00, Number(esp) + 0x20, true); // saved ebp at ebp = esp
  view.setUint32(0xc04, Number(image + 0x2aean), true); // return address
  const b = new UserDumpBuilder()
    .version(10, 0, 17134)
    .memory({ base: KUSER, bytes: sharedData(4), protect: 2 })
    .memory({ base: stackBase - 0x1000n, bytes: stack })
    .thread({ id: 0x34d8, registers: { rip: image + 0x1c38n, rsp: esp, rbp: esp, cs: 0x23 } })
    .module({ base: image, size: 0x10000, name: 'targetapp.exe' })
    .module({ base: 0x77c80000n, size: 0x9000, name: 'C:\\WINDOWS\\System32\\wow64cpu.dll' })
    .module({ base: 0x7ff837b80000n, size: 0x1e1000, name: 'ntdll.dll' })
    .exception({ threadId: 0x34d8, code: 0x4000001f, address: image + 0x1c38n });
  const source = new BufferSource(b.build().bytes, 'wow64.dmp');
  const snap = await readUserDump(source);
  assert.deepEqual(snap.wow64?.evidence, ['the WOW64 layer is loaded (wow64cpu.dll)']);
  assert.equal(snap.threads[0]!.wow64?.source, 'compatibility-mode');
  const analysis = await analyze(source, { reconstruct: false });
  const t = analysis.threads[0]!;
  assert.deepEqual(t.frames, [], 'the x86 eip/esp are not walked as a 64-bit stack');
  assert.deepEqual(
    t.wow64!.frames.map((f) => [f.trust, f.ip]),
    [
      ['context', image + 0x1c38n],
      ['frame_pointer', image + 0x2aean],
    ],
  );
  assert.match(renderText(analysis), /<no 64-bit frames: the thread was running 32-bit code \(CS 0x23\)/);
  assert.match(renderHtml(analysis), /No 64-bit frames: the thread was running 32-bit code \(CS 0x23\)/);
});
