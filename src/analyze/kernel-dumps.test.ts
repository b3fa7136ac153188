// The real Windows kernel small dumps of ../shared/corpus/external/kernel, analysed end to end and
// compared with what rizin and kdlibcpp (dbgeng) say about them.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderText } from '../report/text.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { analyze } from './process.js';
import type { Analysis } from './types.js';

async function analyzeKernel(name: string, withModules: boolean): Promise<Analysis> {
  const file = await openFileSource(corpusPath('external', 'kernel', name));
  const images = new FileDirectories(withModules ? [corpusPath('external', 'kernel', 'modules')] : []);
  try {
    return await analyze(file.source, { images: images.openers });
  } finally {
    await images.close();
    await file.close();
  }
}

/** rizin's `dbt` rows: frame number, pc, sp. */
async function rizinBacktrace(): Promise<{ n: number; pc: bigint; sp: bigint; name: string }[]> {
  const text = await readFile(corpusPath('external', 'expected', 'rizin-triage_x64.txt'), 'utf8');
  const rows: { n: number; pc: bigint; sp: bigint; name: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(0x[0-9a-f]+)\s+sp: (0x[0-9a-f]+)\s+\d+\s+\[\?\?\]\s*(\S*)/.exec(line);
    if (m) rows.push({ n: Number(m[1]), pc: BigInt(m[2]!), sp: BigInt(m[3]!), name: m[4] ?? '' });
  }
  return rows;
}

test('rizin triage_x64 with --modules: rizin\'s frames 8-23 (amdppm, Wdf01000) at its exact pc and sp, each by PE unwind data', needsCorpus, async () => {
  const analysis = await analyzeKernel('rizin-triage_x64.dmp', true);
  const rows = await rizinBacktrace();
  assert.equal(rows.length, 37);
  const frames = analysis.threads[analysis.crashingThreadIndex!]!.frames;
  const driverRows = rows.filter((r) => r.n >= 8 && r.n <= 23);
  assert.ok(driverRows.every((r) => /pdb\.(amdppm|Wdf01000)\./.test(r.name)));
  driverRows.forEach((r, i) => {
    const f = frames[i]!;
    assert.equal(f.ip, r.pc, `rizin frame ${r.n}: pc`);
    assert.equal(f.sp, r.sp, `rizin frame ${r.n}: sp`);
    assert.equal(f.trust, i === 0 ? 'context' : 'cfi', `rizin frame ${r.n}: found by ${f.trust}`);
  });
  // ntoskrnl's image is not in the corpus: its frames are found by scanning, every one of rizin's among them.
  const kernelRows = rows.filter((r) => r.n >= 24 && r.n <= 35);
  const scanned = frames.slice(driverRows.length);
  for (const r of kernelRows) assert.ok(scanned.some((f) => f.ip === r.pc && f.sp === r.sp), `rizin frame ${r.n} (${r.name}) is among the scanned frames`);
});

test('rizin triage_x64: bugcheck explained, amdppm.sys blamed, 151 drivers, the bucket, JSON with every header field', needsCorpus, async () => {
  const analysis = await analyzeKernel('rizin-triage_x64.dmp', true);
  const k = analysis.kernel!;
  assert.equal(k.bugcheck.name, 'SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M');
  assert.match(k.bugcheck.explanation, /access violation/);
  assert.equal(k.culprit?.imageName, 'amdppm.sys');
  assert.equal(k.bucket, '0x7E_amdppm+0x334c');
  assert.match(k.walkedFrom, /parameter 4/);
  const text = renderText(analysis);
  assert.match(text, /^BUGCHECK_CODE: {2}0x1000007E \(SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M\)$/m);
  assert.match(text, /^IMAGE_NAME: {5}amdppm\.sys$/m);
  assert.match(text, /^Probably caused by: amdppm\.sys/m);
  const json = toJson(analysis) as { modules: unknown[]; bugcheck: { name: string; probably_caused_by: { module: string } }; kernel: { header: Record<string, string | null>; triage: Record<string, string | null>; processors: { context: Record<string, string> | null }[]; bugcheck_processor: number } };
  assert.equal(json.modules.length, 151);
  // The images from --modules name their PDBs, as the corpus's symbol folder files amdppm's.
  const amdppm = analysis.snapshot.modules.find((m) => m.codeFile.endsWith('amdppm.sys'))!;
  assert.deepEqual([amdppm.debugFile, amdppm.debugId], ['amdppm.pdb', '1C19FDDB27BB3399D9B45973EFEAFCF31']);
  assert.equal(json.bugcheck.probably_caused_by.module, 'amdppm.sys');
  assert.equal(json.kernel.header['DirectoryTableBase'], '0x1ad000');
  assert.equal(json.kernel.header['SecondaryDataState'], null, 'the PAGE filler reads as absent');
  assert.equal(json.kernel.triage['DataBlocksCount'], '0x727');
  const regs = json.kernel.processors[json.kernel.bugcheck_processor]!.context!;
  assert.equal(regs['rip'], '0xfffff8047bdf5a80');
  assert.equal(regs['rflags'], '0x0000000000040286');
  assert.equal(regs['mxcsr'], '0x0000000000001f80');
  assert.match(renderKf(analysis), /amdppm\+0x334c/);
});

test('rizin triage_x64: the kernel stack is measured against KTHREAD StackBase/StackLimit', needsCorpus, async () => {
  const analysis = await analyzeKernel('rizin-triage_x64.dmp', true);
  const u = analysis.threads[analysis.crashingThreadIndex!]!.usage;
  assert.equal(u.boundsSource, 'kthread');
  assert.equal(u.base, 0xffff850429893000n);
  assert.equal(u.limit, 0xffff85042988d000n);
  assert.equal(u.usedBytes, Number(0xffff850429893000n - 0xffff850429892120n), 'from the .cxr context\'s rsp to StackBase');
  // Each frame's bytes: its caller's sp minus its own, the six amdppm frames from rizin's sp column.
  assert.ok(u.byModule.some((m) => m.name === 'amdppm.sys' && m.bytes === Number(0xffff850429892380n - 0xffff850429892120n) && m.frames === 6));
});

test('kdlib win10 ARM64 small dump: 0xE2 explained, at least 12 frames', needsCorpus, async () => {
  const analysis = await analyzeKernel('kdlib-win10_arm64_mem.dmp', false);
  assert.equal(analysis.kernel!.bugcheck.name, 'MANUALLY_INITIATED_CRASH');
  const frames = analysis.threads[analysis.crashingThreadIndex!]!.frames;
  assert.ok(frames.length >= 12, `${frames.length} frames`);
  // kdlibcpp's test (dbgeng): frame 11 is Wdf01000!FxRequest::CompleteInternal.
  assert.match(frames[11]!.module!.codeFile, /Wdf01000\.sys$/i);
});

test('kdlib RPi3 ARM32 small dump: frames 0 and 1 in Wdf01000 (kdlibcpp: FxRequest::CompleteInternal called by imp_WdfRequestCompleteWithInformation), then the r11 chain', needsCorpus, async () => {
  const analysis = await analyzeKernel('kdlib-RPi3_ARM_mini.dmp', false);
  assert.equal(analysis.snapshot.kernel!.processors.length, 4);
  assert.equal(analysis.snapshot.modules.length, 0x88);
  assert.deepEqual(analysis.notes.filter((w) => /not supported/.test(w)), []);
  assert.deepEqual(analysis.warnings, [], 'nothing in the dump is damaged: exit 0');
  const frames = analysis.threads[0]!.frames;
  // The processor stopped on CompleteInternal's first instruction, push.w {r4-r11, lr} (e92d 4ff0 in
  // the dump's copy of the page): lr still holds the return into its caller, and r11 the caller's frame record.
  const code = await analysis.snapshot.memory.read(frames[0]!.ip & ~1n, 4);
  assert.deepEqual([...code!], [0x2d, 0xe9, 0xf0, 0x4f]);
  const names = frames.map((f) => `${f.module?.codeFile.split('\\').pop()}+0x${(f.instruction - f.module!.base).toString(16)} ${f.trust}`);
  assert.deepEqual(names.slice(0, 3), ['Wdf01000.sys+0x1af2d context', 'Wdf01000.sys+0x15ce5 frame_pointer', 'SerCx2.sys+0x3a2f frame_pointer']);
  // The chain climbs through SerCx2 and Wdf01000 into ntoskrnl: 11 frame-record steps, each sp higher.
  assert.equal(frames.filter((f) => f.trust === 'frame_pointer').length, 11);
  assert.deepEqual(
    frames.slice(0, 12).map((f) => f.module?.codeFile.split('\\').pop()),
    ['Wdf01000.sys', 'Wdf01000.sys', ...Array(5).fill('SerCx2.sys'), 'Wdf01000.sys', 'Wdf01000.sys', 'ntoskrnl.exe', 'ntoskrnl.exe', 'ntoskrnl.exe'],
  );
  assert.match(renderText(analysis), /BUGCHECK_CODE/);
});
