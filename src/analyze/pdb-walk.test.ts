import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { loadPdbSymbols } from '../symbolize/pdb-symbols.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { windbgLocation } from '../report/kf.js';
import { analyze } from './process.js';
import type { Analysis, AnalyzeOptions } from './types.js';

// Walks symbolised from PDBs found in symbol stores, end to end: the store finds the PDB by GUID
// and age, the PDB reader names the frames, and on x86 its FrameData drives the walk.

async function walk(dump: string, symbolDirs: string[], options: AnalyzeOptions = {}): Promise<Analysis> {
  const file = await openFileSource(dump);
  const dirs = new FileDirectories(symbolDirs);
  try {
    return await analyze(file.source, { ...options, symbols: new SymbolStoreProvider(dirs.openers, undefined, { pdbLoader: loadPdbSymbols }) });
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

/** The physical frames of the crashing thread: address, stack pointer, trust, function, file, line. */
function physical(a: Analysis): string[] {
  return a.threads[a.crashingThreadIndex!]!.frames.map(
    (f) => `${f.ip.toString(16)} ${f.sp.toString(16)} ${f.trust} ${f.symbol?.functionName ?? '-'} ${f.symbol?.file ?? '-'}:${f.symbol?.line ?? '-'}`,
  );
}

const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);

test('sentry windows.dmp with only crash.pdb in a symstore: the same frames, names, files and lines as with crash.sym', needsCorpus, async () => {
  const store = mkdtempSync(join(tmpdir(), 'stackhog-pdbstore-'));
  mkdirSync(join(store, 'crash.pdb', '3249D99D0C4049318610F4E4FB0B69361'), { recursive: true });
  copyFileSync(sentry('crash.pdb'), join(store, 'crash.pdb', '3249D99D0C4049318610F4E4FB0B69361', 'crash.pdb'));
  const fromPdb = await walk(sentry('windows.dmp'), [store]);
  const fromSym = await walk(sentry('windows.dmp'), [sentry('symbols')]);
  assert.deepEqual(physical(fromPdb), physical(fromSym));
  // Breakpad's frames 0-4 (expected/breakpad/sentry-crash-windows.txt) and symbolicator's names.
  assert.deepEqual(
    physical(fromPdb).map((l) => l.split(' ').slice(2, 4).join(' ')),
    ['context main', 'cfi __scrt_common_main_seh', 'cfi -', 'frame_pointer -', 'frame_pointer -'],
  );
  const frames = fromPdb.threads[fromPdb.crashingThreadIndex!]!.frames;
  assert.deepEqual([frames[0]!.symbol?.file?.split('\\').pop(), frames[0]!.symbol?.line], ['main.cpp', 35]);
  assert.deepEqual([frames[1]!.symbol?.file?.split('\\').pop(), frames[1]!.symbol?.line], ['exe_common.inl', 283]);
  // The PDB adds what the old dump_syms left out: main's inlined calls.
  assert.deepEqual(frames[0]!.symbol?.inlines.map((i) => `${i.name}:${i.line}`), ["`anonymous namespace'::crash:24", "`anonymous namespace'::start:28"]);
});

test("rizin's x64 triage dump with amdppm.pdb from the kernel symstore: the amdppm frames are named as rizin names them", needsCorpus, async () => {
  const kernel = (...p: string[]): string => corpusPath('external', 'kernel', ...p);
  const images = new FileDirectories([kernel('modules')]);
  try {
    const a = await walk(kernel('rizin-triage_x64.dmp'), [kernel('symbols')], { images: images.openers });
    const names = a.threads[a.crashingThreadIndex!]!.frames.filter((f) => f.module?.codeFile.toLowerCase().includes('amdppm')).map(windbgLocation);
    // expected/rizin-triage_x64.txt frames 8-13, offsets in decimal there.
    assert.deepEqual(names, [
      'amdppm!WriteIoMemRawEx+0x70',
      'amdppm!WriteGenAddrEx+0x6b',
      'amdppm!WriteGenAddrMaybeHiddenEx+0x18',
      'amdppm!InitAcpiCpc+0x317',
      'amdppm!ProcLibDeviceStart+0x886',
      'amdppm!EvtDevicePrepareHardware+0xd2',
    ]);
  } finally {
    await images.close();
  }
});

test('kdlib x86 dump with its targetapp.pdb in a flat folder: frames named with lines, walked by the PDB\'s FrameData', needsCorpus, async () => {
  const dir = corpusPath('external', 'user', 'kdlib', 'targetapp_test_cv_allreg_i386');
  const a = await walk(join(dir, 'targetapp_test_cv_allreg_i386.dmp'), [dir]);
  const frames = a.threads[a.crashingThreadIndex!]!.frames;
  assert.deepEqual(
    frames.slice(0, 3).map((f) => [f.trust, f.symbol?.functionName.replace(/\(.*$/, ''), f.symbol?.file?.split('\\').pop(), f.symbol?.line]),
    [
      ['context', 'test_cv_allreg_i386', 'test_cv_allreg.cpp', 106],
      ['cfi', 'wmain', 'targetapp.cpp', 100],
      ['cfi', '__scrt_common_main_seh', 'exe_common.inl', 288],
    ],
  );
  assert.deepEqual(frames[1]!.symbol?.inlines.map((i) => `${i.name}:${i.line}`), ['test_cv_allreg:112']);
});
