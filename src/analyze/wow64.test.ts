import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readMinidump } from '../formats/minidump/read-minidump.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { renderHtml } from '../report/html.js';
import { toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { displayFrames, renderText } from '../report/text.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { analyzeCorpusDump, compareThread, parseBreakpadOutput } from '../testing/breakpad-parity.js';
import { corpusPath, hasCorpus, needsCorpus, repoPath } from '../testing/corpus.js';
import { amd64Context, SynthMinidump, wow64ThreadMemory, x86Context } from '../testing/synth/index.js';
import { WOW64_LAYER, wow64FromX86Dump } from '../testing/wow64-transplant.js';
import { analyze } from './process.js';
import type { Analysis, ThreadReport } from './types.js';

const SENTRY = ['external', 'user', 'sentry-crash'] as const;

/** sentry's crash.exe dump (MSVC, x86, written by a 32-bit dumper) put into a 64-bit dumper's WOW64 layout, walked with crash.sym. */
async function sentryUnderWow64(): Promise<{ wow64: Analysis; original: Analysis }> {
  const file = await openFileSource(corpusPath(...SENTRY, 'windows.dmp'));
  const dirs = new FileDirectories([corpusPath(...SENTRY, 'symbols')]);
  try {
    const { dump } = await wow64FromX86Dump(file.source);
    const wow64 = await analyze(dump.source('sentry-wow64.dmp'), { symbols: new SymbolStoreProvider(dirs.openers), reconstruct: false });
    const original = await analyzeCorpusDump('external/user/sentry-crash--windows', { reconstruct: false });
    return { wow64, original };
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

function frameKeys(t: ThreadReport): string[] {
  return displayFrames(t.frames).map((e) => `${e.location} ip=0x${e.frame.ip.toString(16)} sp=0x${e.frame.sp.toString(16)} ${e.inline ? 'inline' : e.frame.trust}`);
}

test('WOW64: the 32-bit frames of a 64-bit dump walk through main to the C runtime, as Breakpad and stackhog walk the x86 dump', needsCorpus, async () => {
  const { wow64, original } = await sentryUnderWow64();
  const breakpad = parseBreakpadOutput(readFileSync(corpusPath('external', 'expected', 'breakpad', 'sentry-crash-windows.txt'), 'utf8'));
  assert.equal(wow64.snapshot.system.cpu, 'amd64');
  assert.equal(wow64.threads.length, original.threads.length);
  assert.equal(wow64.crashingThreadIndex, original.crashingThreadIndex);
  const popped: number[] = [];
  for (const [i, t] of wow64.threads.entries()) {
    assert.ok(t.wow64, `thread ${i} has a 32-bit walk`);
    assert.equal(t.wow64.context?.cpu, 'x86');
    // A thread waiting in a system call stopped on its ntdll stub's `ret 0Ch`: the 32-bit walk pops the
    // return address there (trust leaf), the caller that Breakpad's EBP chain skips (ebp is still the caller's).
    const frames = t.wow64.frames;
    if (frames[1]?.trust === 'leaf') {
      const code = await wow64.snapshot.memory.read(frames[0]!.ip, 1);
      assert.ok(code && (code[0] === 0xc2 || code[0] === 0xc3), `thread ${i}: frame 0 is on a ret`);
      assert.equal(await wow64.snapshot.memory.read(frames[0]!.sp, 4).then((b) => b && BigInt(new DataView(b.buffer, b.byteOffset).getUint32(0, true))), frames[1]!.ip);
      popped.push(i);
    }
    const rest = { ...t.wow64, frames: frames[1]?.trust === 'leaf' ? [frames[0]!, ...frames.slice(2)] : frames };
    // Every other 32-bit frame: same location, ip, sp and trust as the x86 dump's own walk, and as Breakpad's.
    assert.deepEqual(frameKeys(rest), frameKeys(original.threads[i]!), `thread ${i}`);
    const parity = compareThread(rest, breakpad.threads[i]!);
    assert.deepEqual(parity.mismatches, [], `thread ${i} against Breakpad`);
    assert.equal(parity.comparedFrames, breakpad.threads[i]!.length);
  }
  assert.deepEqual(popped, [1, 2, 3], "the three waiting threads");
  assert.equal(wow64.threads[1]!.wow64!.frames[1]!.ip, 0x771a6a11n, 'ntdll + 0x36a11, the thread pool worker that called the wait');
  const crashed = wow64.threads[wow64.crashingThreadIndex!]!.wow64!;
  assert.deepEqual(
    crashed.frames.slice(0, 2).map((f) => f.symbol?.functionName),
    ['main', '__scrt_common_main_seh'],
  );
  // The 64-bit frames are still there: the WOW64 layer's system call, found as before.
  for (const t of wow64.threads) {
    assert.equal(t.context?.cpu, 'amd64');
    assert.deepEqual(
      t.frames.map((f) => f.module?.base),
      [WOW64_LAYER.ntdll.base, WOW64_LAYER.wow64cpu.base, WOW64_LAYER.wow64.base, WOW64_LAYER.wow64.base],
    );
  }
  // The crash signature and the findings come from the 32-bit stack.
  assert.equal(wow64.signature.signature, original.signature.signature);
  assert.equal(wow64.signature.signature, 'crash.exe!main');
  assert.deepEqual(
    wow64.findings.map((f) => [f.kind, f.frame, f.threadId]),
    original.findings.map((f) => [f.kind, f.frame, f.threadId]),
  );
  assert.deepEqual(wow64.warnings, []);
});

test('WOW64: the reports list the 32-bit frames beside the 64-bit ones, marked as such', needsCorpus, async () => {
  const { wow64 } = await sentryUnderWow64();
  const text = renderText(wow64);
  assert.match(text, /a 32-bit \(x86\) process under WOW64: the WOW64 layer is loaded \(wow64\.dll, wow64win\.dll, wow64cpu\.dll\)/);
  assert.match(text, /Thread 0 \(crashed\) id 0x664\n 0 {2}ntdll\.dll \+ 0x9f3a4\n/);
  assert.match(text, /\n {2}WOW64: the 32-bit program's frames, walked from the x86 context saved in WOW64_CPURESERVED \(TEB64 TlsSlots\[1\]\):\n {2}\[x86\] {2}0 {2}crash\.exe!main \[main\.cpp : 35 \+ 0x0\]\n/);
  assert.match(text, /\n {2}\[x86\] {2}1 {2}crash\.exe!__scrt_common_main_seh \[exe_common\.inl : 283 \+ 0x1c\]\n {2}\[x86\] {5}eip = 0x002a2d97 {3}esp = 0x010ff744 {3}ebp = 0x010ff784\n {2}\[x86\] {5}Found by: call frame info\n/);
  // The 32-bit lines never read as the thread's own frames to a Breakpad-output parser.
  assert.equal(parseBreakpadOutput(text).threads[0]!.length, 4);

  const json = toJson(wow64) as { threads: Record<string, unknown>[]; crashing_thread: Record<string, unknown> };
  const thread = json.threads[0]!;
  assert.equal(thread['frame_count'], 4, 'frames stay the 64-bit ones');
  assert.equal((thread['frames'] as { module: string }[])[1]!.module, 'wow64cpu.dll');
  const w = thread['wow64'] as { context_source: string; teb32: string; frame_count: number; frames: { function: string | null; trust: string; offset: string }[]; stack: { base: string; bounds_source: string } };
  assert.equal(w.context_source, 'cpu-reserved');
  assert.equal(w.teb32, '0x00fe8000');
  assert.equal(w.frame_count, 5);
  // `offset` of a caller is its call instruction's (the return address − 1), as in every thread's frames.
  assert.deepEqual(w.frames.slice(0, 2).map((f) => [f.function, f.trust, f.offset]), [['main', 'context', '0x002a2a3d'], ['__scrt_common_main_seh', 'cfi', '0x002a2d96']]);
  assert.deepEqual([w.stack.base, w.stack.bounds_source], ['0x01100000', 'teb']);
  assert.equal((json.crashing_thread['wow64'] as { frame_count: number }).frame_count, 5);
  assert.equal(json.threads.filter((t) => 'wow64' in t).length, 4);

  const kf = renderKf(wow64, { threads: 'crashed' });
  assert.match(kf, /\nWOW64 32-bit frames \(\.effmach x86\):\n {2}Memory {2}ChildEBP RetAddr {2}\n {9}010ff670 002a2d97 crash!main\+0x12d\n {5}114 010ff784 750662c4 crash!__scrt_common_main_seh\+0xf9\n/);

  const html = renderHtml(wow64);
  assert.match(html, /<h3>WOW64: the 32-bit program's frames \(x86\)<\/h3>/);
  assert.match(html, /<tr id="t0-f0"><td class="num">0<\/td><td class="loc"><span class="swatch"[^>]*><\/span>crash\.exe!main \[main\.cpp : 35 \+ 0x0\]/);
  assert.match(html, /<tr id="t0-64-f0">/);
});

/** Every minidump of the corpus and of test-data/, by path. */
function minidumps(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (/\.dmp$/i.test(name) && st.size >= 32 && readFileSync(path).subarray(0, 4).toString('latin1') === 'MDMP') out.push(path);
    }
  };
  if (hasCorpus()) walk(corpusPath());
  walk(repoPath('test-data'));
  return out;
}

test('WOW64: no amd64 dump of the corpus is taken for a WOW64 process (zero false detections)', needsCorpus, async () => {
  let amd64 = 0;
  for (const path of minidumps()) {
    const file = await openFileSource(path);
    try {
      const s = await readMinidump(file.source);
      if (s.system.cpu !== 'amd64') continue;
      amd64++;
      assert.equal(s.wow64, undefined, `${path}: ${s.wow64?.evidence.join('; ')}`);
      assert.deepEqual(s.threads.filter((t) => t.wow64).map((t) => t.id), [], path);
      assert.ok(!s.warnings.some((w) => w.includes('WOW64')), path);
    } finally {
      await file.close();
    }
  }
  assert.ok(amd64 >= 10, `only ${amd64} amd64 minidumps were found`);
});

const TEB64 = 0x7ffd_e000n;

function damagedDump(spec: { machine?: number; teb?: boolean }): SynthMinidump {
  const d = new SynthMinidump().systemInfo({ cpu: 'amd64', platform: 'windows', version: [10, 0, 19045] });
  d.module({ base: WOW64_LAYER.ntdll.base, size: WOW64_LAYER.ntdll.size, name: WOW64_LAYER.ntdll.name });
  d.module({ base: WOW64_LAYER.wow64cpu.base, size: WOW64_LAYER.wow64cpu.size, name: WOW64_LAYER.wow64cpu.name });
  d.thread({ id: 7, teb: TEB64, context: amd64Context({ rip: WOW64_LAYER.ntdll.base + 0x9f3a4n, rsp: 0x0024_f000n, cs: 0x33 }) });
  if (spec.teb ?? true) {
    const x86 = x86Context({ eip: 0x0040_1234, esp: 0x0018_ff40, ebp: 0x0018_ff60 });
    for (const m of wow64ThreadMemory({ teb64: TEB64, cpuReserved: 0x0024_fd20n, context: x86, stack32: { base: 0x0019_0000n, limit: 0x0018_c000n }, machine: spec.machine ?? 0x014c })) d.memory(m.base, m.bytes);
  }
  return d;
}

test('WOW64: a damaged WOW64_CPURESERVED is a warning and the 64-bit walk stays; a TEB the writer left out is a note', async () => {
  const bad = await analyze(damagedDump({ machine: 0xaa64 }).source('bad.dmp'));
  assert.equal(bad.threads[0]!.wow64, undefined);
  assert.equal(bad.threads[0]!.frames[0]?.module?.base, WOW64_LAYER.ntdll.base);
  assert.deepEqual(bad.warnings, ['bad.dmp: thread 0x7: WOW64: WOW64_CPURESERVED at 0x24fd20 is for Machine 0xaa64, not x86 (0x014c); only its 64-bit stack is walked']);
  assert.deepEqual(bad.notes.filter((n) => n.includes('WOW64')), []);

  const absent = await analyze(damagedDump({ teb: false }).source('absent.dmp'));
  assert.equal(absent.threads[0]!.wow64, undefined);
  assert.deepEqual(absent.warnings, []);
  assert.equal(absent.notes.filter((n) => n.includes('WOW64')).length, 1);

  // The walk of a good one ends where its captured memory does: the context frame alone here.
  const good = await analyze(damagedDump({}).source('good.dmp'));
  assert.deepEqual(good.threads[0]!.wow64?.frames.map((f) => [f.ip, f.trust]), [[0x0040_1234n, 'context']]);
});
