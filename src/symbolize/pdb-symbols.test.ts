// PdbModuleSymbols against independent readers of the same PDBs: Breakpad's dump_syms (crash.sym and
// CrashWithException.pdb.sym were made from these PDBs), llvm-pdbutil 14 (values recorded below as
// literals), symbolicator's snapshot of windows.dmp, and kdlibcpp's expectations for its dumps.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import { loadSymbolFile } from '../formats/breakpad-sym/index.js';
import { PdbFile } from '../formats/pdb/index.js';
import { BufferSource } from '../io/byte-source.js';
import type { Module } from '../model/snapshot.js';
import { FileDirectories } from '../node/directories.js';
import { CountingSource } from '../testing/counting.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { inlineTree, loadPdbSymbols, PdbModuleSymbols, undecorateX86CName } from './pdb-symbols.js';
import type { ModuleSymbols, SymbolProvider } from './provider.js';

const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);
const kdlib = (dir: string, name: string): string => corpusPath('external', 'user', 'kdlib', dir, name);
const open = async (path: string): Promise<PdbModuleSymbols> => loadPdbSymbols(new BufferSource(readFileSync(path), path));

interface SymFunc {
  address: number;
  size: number;
  parameterSize: number;
  multiple: boolean;
  name: string;
  lines: { address: number; size: number; line: number; file: string }[];
}

/** The FUNC, line and PUBLIC records of a .sym file (test-side reading, independent of the .sym indexer). */
function readSym(path: string): { funcs: SymFunc[]; publics: { address: number; parameterSize: number; name: string }[] } {
  const files = new Map<string, string>();
  const funcs: SymFunc[] = [];
  const publics: { address: number; parameterSize: number; name: string }[] = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    let m: RegExpExecArray | null;
    if ((m = /^FILE (\d+) (.*)$/.exec(line))) files.set(m[1]!, m[2]!);
    else if ((m = /^FUNC (m )?([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)))
      funcs.push({ multiple: !!m[1], address: parseInt(m[2]!, 16), size: parseInt(m[3]!, 16), parameterSize: parseInt(m[4]!, 16), name: m[5]!, lines: [] });
    else if ((m = /^PUBLIC (m )?([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))) publics.push({ address: parseInt(m[2]!, 16), parameterSize: parseInt(m[3]!, 16), name: m[4]! });
    else if ((m = /^([0-9a-f]+) ([0-9a-f]+) (\d+) (\d+)$/.exec(line)))
      funcs[funcs.length - 1]!.lines.push({ address: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), line: Number(m[3]), file: files.get(m[4]!)! });
  }
  return { funcs, publics };
}

/**
 * How DIA (and so dump_syms) names differ from the PDB's own where no data says otherwise: it
 * prints x64 functions without a public as a declaration (`static int pre_c_initialization()`,
 * parameter types spelled `struct _CONTEXT *`). stackhog keeps the procedure's name there. (The x64
 * underscore DIA strips from C names, `__security_check_cookie` -> `_security_check_cookie`,
 * stackhog strips too: the public at the procedure's address says it is a C name.)
 */
function diaSpelling(symName: string, ours: string): boolean {
  const stripped = ours.replace(/^_/, '');
  return symName === stripped || (symName.startsWith('static ') && (symName.includes(` ${ours}(`) || symName.includes(` ${stripped}(`)));
}

interface Parity {
  funcs: number;
  found: number;
  sizes: number;
  names: number;
  diaNames: string[];
  nameExceptions: string[];
  multiple: number;
  parameterSizes: number;
  lineChecks: number;
  linesMatched: number;
  emptyLines: number;
  publics: number;
  publicNames: number;
  publicDiaNames: number;
  publicParameterSizes: number;
}

/** Every FUNC at its address (size, name, m flag), both ends of every line record, every PUBLIC. */
async function parity(pdbPath: string, symPath: string): Promise<Parity> {
  const syms = await open(pdbPath);
  const { funcs, publics } = readSym(symPath);
  const p: Parity = { funcs: funcs.length, found: 0, sizes: 0, names: 0, diaNames: [], nameExceptions: [], multiple: 0, parameterSizes: 0, lineChecks: 0, linesMatched: 0, emptyLines: 0, publics: publics.length, publicNames: 0, publicDiaNames: 0, publicParameterSizes: 0 };
  for (const f of funcs) {
    const r = await syms.lookup(f.address);
    if (!r || r.isPublic || r.functionAddress !== f.address) continue;
    p.found++;
    if (r.functionSize === f.size) p.sizes++;
    if (r.functionName === f.name) p.names++;
    else if (diaSpelling(f.name, r.functionName)) p.diaNames.push(f.name);
    else p.nameExceptions.push(`${f.address.toString(16)} ${f.name} / ${r.functionName}`);
    if (r.isMultiple === f.multiple) p.multiple++;
    if (r.parameterSize === f.parameterSize) p.parameterSizes++;
    for (const l of f.lines) {
      // dump_syms writes the earlier of two lines at one offset with size 0: it covers no byte.
      if (l.size === 0) {
        p.emptyLines++;
        continue;
      }
      for (const a of [l.address, l.address + l.size - 1]) {
        p.lineChecks++;
        const q = await syms.lookup(a);
        if (q?.file === l.file && q.line === l.line && q.lineAddress === l.address) p.linesMatched++;
      }
    }
  }
  for (const pub of publics) {
    const r = await syms.lookup(pub.address);
    if (!r?.isPublic || r.functionAddress !== pub.address) continue;
    if (r.functionName === pub.name) p.publicNames++;
    else if (diaSpelling(pub.name, r.functionName)) p.publicDiaNames++;
    if (r.parameterSize === pub.parameterSize) p.publicParameterSizes++;
  }
  return p;
}

const percent = (n: number, of: number): number => Math.round((n / of) * 1000) / 10;

test('crash.pdb (x86) against dump_syms\' crash.sym: every FUNC, line and PUBLIC', needsCorpus, async () => {
  const p = await parity(sentry('crash.pdb'), sentry('crash.sym'));
  assert.equal(p.funcs, 92);
  assert.equal(percent(p.found, p.funcs), 100, 'every FUNC found at its address');
  assert.equal(percent(p.sizes, p.funcs), 100);
  assert.equal(percent(p.multiple, p.funcs), 100, 'folded functions (FUNC m) are the ones with several procedures at their address');
  // Folded code (several modules' procedures at 2eb6, 2ec7, 3250, 3269) is named after the least
  // decorated name, as DIA's MaybeRecordSymbol keeps it: __scrt_initialize_winrt, not _get_startup_commit_mode.
  assert.equal(percent(p.names, p.funcs), 100);
  assert.deepEqual(p.diaNames, []);
  assert.deepEqual(p.nameExceptions, []);
  assert.equal(p.lineChecks, 1452);
  assert.equal(percent(p.linesMatched, p.lineChecks), 100, 'both ends of every line record: file, line and line start');
  assert.equal(p.emptyLines, 35);
  assert.equal(p.publics, 35);
  assert.equal(percent(p.publicNames, p.publics), 100, 'import thunks named by their public, the x86 C decoration removed');
  assert.equal(percent(p.publicParameterSizes, p.publics), 100, 'stdcall publics give their parameter bytes (_CxxThrowException@8)');
  // From a __stdcall name (___scrt_unhandled_exception_filter@4: 4), else from the EBP-relative
  // parameters as dump_syms computes it (swprintf_s c, WriteMinidumpWithExceptionForProcess 14, main 8).
  assert.equal(percent(p.parameterSizes, p.funcs), 100);
});

test('CrashWithException.pdb (x64) against its dump_syms .sym: every FUNC, line and PUBLIC', needsCorpus, async () => {
  const p = await parity(sentry('CrashWithException.pdb'), sentry('CrashWithException.pdb.sym'));
  assert.equal(p.funcs, 66);
  assert.equal(percent(p.found, p.funcs), 100);
  assert.equal(percent(p.sizes, p.funcs), 100);
  assert.equal(percent(p.multiple, p.funcs), 100);
  // Static procedures without a public are named by the declaration DIA makes up for them
  // ("static void capture_previous_context(struct _CONTEXT *)"); folded code by the least name.
  assert.equal(p.names, 66);
  assert.deepEqual(p.diaNames, []);
  assert.deepEqual(p.nameExceptions, []);
  assert.equal(p.lineChecks, 564);
  assert.equal(percent(p.linesMatched, p.lineChecks), 100);
  assert.equal(p.emptyLines, 22);
  assert.equal(p.publics, 33);
  assert.equal(p.publicNames + p.publicDiaNames, 33, 'every PUBLIC, 27 of them in DIA\'s x64 underscore spelling');
  assert.equal(p.publicNames, 6);
  assert.equal(percent(p.publicParameterSizes, p.publics), 100);
  assert.equal(percent(p.parameterSizes, p.funcs), 100, 'x64 FUNCs all say 0');
});

test('inline sites: crash.exe main+0x12d is start() and crash() inlined, named through the IPI, lines from the inlinee lines', needsCorpus, async () => {
  const syms = await open(sentry('crash.pdb'));
  // llvm-pdbutil: S_GPROC32 main 0001:6416 (rva 0x2910), size 350; S_INLINESITE 0x12FE (start) and
  // inside it 0x12FF (crash), both `0C0A812D` = [0x12d, 0x137); inlinee lines 0x12FE main.cpp:28,
  // 0x12FF main.cpp:24; the C13 line at 0x2a3d is main.cpp:35.
  const r = await syms.lookup(0x2a3d);
  const main = 'c:\\projects\\breakpad-tools\\windows\\crash\\main.cpp';
  assert.deepEqual(
    { name: r?.functionName, address: r?.functionAddress, size: r?.functionSize, file: r?.file, line: r?.line, inlines: r?.inlines },
    {
      name: 'main',
      address: 0x2910,
      size: 350,
      file: main,
      line: 35,
      inlines: [
        { name: "`anonymous namespace'::crash", file: main, line: 24, functionAddress: 0x2a3d },
        { name: "`anonymous namespace'::start", file: main, line: 28, functionAddress: 0x2a3d },
      ],
    },
  );
  // Cross-module inlinee ids (0x80000007 in main.obj) resolve through main.obj's imports and
  // client_info.obj's exports: every inline frame at every inline range start has a name and a file.
  let frames = 0;
  for (const rva of [0x29ea, 0x29f2, 0x2a26, 0x2a36]) {
    for (const f of (await syms.lookup(rva))?.inlines ?? []) {
      frames++;
      assert.notEqual(f.name, '<name omitted>');
      assert.ok(f.file);
    }
  }
  assert.ok(frames >= 4, `${frames} inline frames`);
  const first = await syms.lookup(0x29ea);
  // 0x80000007, the outermost there (llvm-pdbutil: inlinee lines xstring:2425), is the destructor.
  assert.equal(first?.inlines[first.inlines.length - 1]?.name, 'std::basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >::~basic_string<wchar_t,std::char_traits<wchar_t>,std::allocator<wchar_t> >');
});

test('kdlib stacktest: the inline chain kdlibcpp expects (targetapp.cpp:144, :172, :185)', needsCorpus, async () => {
  // kdlibcpp's test for targetapp_stacktest_x64_release.dmp (a USERDU64 dump; the walk itself is
  // formats/userdump/kdlib-corpus.test.ts): frames 1-3 at targetapp.cpp:144, :172, :185. The same chain from the PDB: stackTestRun1
  // (0001:3600, rva 0x1e10) inlines stackTestRun2 (0x1345, targetapp.cpp:144) which inlines
  // stackMethod (0x1346, :129) at +0x55 (llvm-pdbutil: `0355` code 0x55, `0C0155` [0x55, 0x56));
  // wmain inlines stackTestRun, which calls stackTestRun1 at :185.
  const syms = await open(kdlib('targetapp_stacktest_x64_release', 'targetapp.pdb'));
  const at = async (rva: number): Promise<string[]> => {
    const r = await syms.lookup(rva);
    return r ? [...r.inlines.map((i) => `${i.name}:${i.line}`), `${r.functionName}:${r.line}`] : [];
  };
  assert.deepEqual(await at(0x1e65), ['stackTestClass::stackMethod:129', 'stackTestRun2:144', 'stackTestRun1(int,float const &,std::basic_string<char,std::char_traits<char>,std::allocator<char> > const &):172']);
  assert.deepEqual(await at(0x1c19), ['stackTestRun:185', 'wmain:66']);
  // stackTestRun2's lines [0x55, 0x56) :144 and [0x56, 0x7a) :147 are one inlined range: at +0x60
  // its frame starts at +0x55, as a Breakpad INLINE record's range would.
  const inside = await syms.lookup(0x1e70);
  assert.deepEqual(inside?.inlines.map((i) => [i.name.replace(/^std::basic_string<char,std::char_traits<char>,std::allocator<char> >::/, ''), i.line, i.functionAddress]), [
    ['_Tidy_init', 3976, 0x1e66],
    ['basic_string<char,std::char_traits<char>,std::allocator<char> >', 2184, 0x1e66],
    ['stackTestRun2', 147, 0x1e65],
  ]);
  assert.ok((await syms.lookup(0x1c19))?.file?.endsWith('\\kdlib\\tests\\targetapp\\targetapp.cpp'));
});

/** A test-only provider: crash.pdb for the module whose debug id is the PDB's. */
function pdbProvider(syms: PdbModuleSymbols, frameInfoFallback?: ModuleSymbols): SymbolProvider {
  const module: ModuleSymbols = {
    lookup: (rva) => syms.lookup(rva),
    findCfiRules: () => Promise.resolve(undefined),
    findWindowsFrameInfo: async (rva) => (await syms.findWindowsFrameInfo(rva)) ?? frameInfoFallback?.findWindowsFrameInfo(rva),
  };
  return { symbolsFor: (m: Module) => Promise.resolve(m.debugId === syms.pdb.debugId ? module : undefined) };
}

test('windows.dmp symbolised from crash.pdb: frames 0-4 of the crashing thread as symbolicator names them', needsCorpus, async () => {
  const syms = await open(sentry('crash.pdb'));
  // The x86 walk needs STACK WIN data: the PDB's FrameData once formats/pdb/frame-data.ts reads it,
  // meanwhile crash.sym's (dump_syms made it from this PDB's FrameData). Names and lines: the PDB only.
  const sym = await loadSymbolFile(new BufferSource(readFileSync(sentry('crash.sym')), 'crash.sym'));
  const frameInfo: ModuleSymbols = { lookup: () => Promise.resolve(undefined), findCfiRules: () => Promise.resolve(undefined), findWindowsFrameInfo: (rva) => sym.findWindowsFrameInfo(rva) };
  const analysis = await analyze(new BufferSource(readFileSync(sentry('windows.dmp')), 'windows.dmp'), { symbols: pdbProvider(syms, frameInfo) });
  const thread = analysis.threads[analysis.crashingThreadIndex!]!;
  // expected/symbolicator-minidump_windows.snap, thread 1636: symbol, sym_addr, abs_path, lineno and
  // trust of frames 0-4 (frames 2-4 have no symbols there either). ip is Breakpad's eip
  // (expected/breakpad/sentry-crash-windows.txt); symbolicator prints frame 1's as 0x2a2d96, one less.
  const base = 0x2a0000n;
  assert.deepEqual(
    thread.frames.slice(0, 5).map((f) => ({
      ip: f.ip,
      trust: f.trust,
      function: f.symbol?.functionName,
      symAddr: f.symbol === undefined ? undefined : base + BigInt(f.symbol.functionAddress),
      file: f.symbol?.file,
      line: f.symbol?.line,
    })),
    [
      { ip: 0x2a2a3dn, trust: 'context', function: 'main', symAddr: 0x2a2910n, file: 'c:\\projects\\breakpad-tools\\windows\\crash\\main.cpp', line: 35 },
      { ip: 0x2a2d97n, trust: 'cfi', function: '__scrt_common_main_seh', symAddr: 0x2a2c9en, file: 'f:\\dd\\vctools\\crt\\vcstartup\\src\\startup\\exe_common.inl', line: 283 },
      { ip: 0x750662c4n, trust: 'cfi', function: undefined, symAddr: undefined, file: undefined, line: undefined },
      { ip: 0x771d0f79n, trust: 'frame_pointer', function: undefined, symAddr: undefined, file: undefined, line: undefined },
      { ip: 0x771d0f44n, trust: 'frame_pointer', function: undefined, symAddr: undefined, file: undefined, line: undefined },
    ],
  );
  // symbolicator's snapshot does not expand inlines; the PDB has them at both addresses.
  assert.deepEqual(thread.frames[0]!.symbol?.inlines.map((i) => i.name), ["`anonymous namespace'::crash", "`anonymous namespace'::start"]);
  assert.deepEqual(thread.frames[1]!.symbol?.inlines.map((i) => `${i.name}:${i.line}`), ['invoke_main:78']);
});

test('kdlib cv_allreg dumps symbolised from their targetapp.pdb: frames named with lines', needsCorpus, async () => {
  const cases = [
    {
      dir: 'targetapp_test_cv_allreg_i386',
      frames: [
        'test_cv_allreg_i386(unsigned __int64,std::vector<unsigned char,std::allocator<unsigned char> > const &,bool) test_cv_allreg.cpp:106',
        'test_cv_allreg test_cv_allreg.cpp:112 < wmain targetapp.cpp:100',
        'invoke_main exe_common.inl:90 < __scrt_common_main_seh exe_common.inl:288',
      ],
    },
    { dir: 'targetapp_test_cv_allreg_amd64', frames: ['test_cv_allreg_amd64(char *,char *) test_cv_allreg.cpp:126'] },
  ];
  for (const c of cases) {
    const syms = await open(kdlib(c.dir, 'targetapp.pdb'));
    const analysis = await analyze(new BufferSource(readFileSync(kdlib(c.dir, `${c.dir}.dmp`)), c.dir), { symbols: pdbProvider(syms) });
    const thread = analysis.threads[analysis.crashingThreadIndex!]!;
    const leaf = (path: string | undefined): string => path?.slice(path.lastIndexOf('\\') + 1) ?? '?';
    const named = thread.frames.slice(0, c.frames.length).map((f) => {
      const s = f.symbol!;
      return [...s.inlines.map((i) => `${i.name} ${leaf(i.file)}:${i.line}`), `${s.functionName} ${leaf(s.file)}:${s.line}`].join(' < ');
    });
    assert.deepEqual(named, c.frames, c.dir);
  }
});

test('rizin triage_x64 (kernel): amdppm frames named from amdppm.pdb\'s publics as rizin names them', needsCorpus, async () => {
  // amdppm.pdb is a public (stripped) PDB: no module symbols, 513 code publics.
  const id = '1C19FDDB27BB3399D9B45973EFEAFCF31';
  const syms = await open(corpusPath('external', 'kernel', 'symbols', 'amdppm.pdb', id, 'amdppm.pdb'));
  assert.equal(syms.pdb.debugId, id);
  assert.deepEqual(await syms.indexStats(), { modules: 51, modulesSkipped: 32, procedures: 1, publics: 513, recordsSkipped: 0 });
  const images = new FileDirectories([corpusPath('external', 'kernel', 'modules')]);
  try {
    const analysis = await analyze(new BufferSource(readFileSync(corpusPath('external', 'kernel', 'rizin-triage_x64.dmp')), 'rizin-triage_x64.dmp'), { images: images.openers, symbols: pdbProvider(syms) });
    const frames = analysis.threads[analysis.crashingThreadIndex!]!.frames;
    // expected/rizin-triage_x64.txt, backtrace frames 8-13: pc and pdb.amdppm.<public>+<offset>.
    const rizin: [bigint, string][] = [
      [0xfffff8048b58334cn, 'WriteIoMemRawEx+112'],
      [0xfffff8048b58313fn, 'WriteGenAddrEx+107'],
      [0xfffff8048b583234n, 'WriteGenAddrMaybeHiddenEx+24'],
      [0xfffff8048b5a0e8fn, 'InitAcpiCpc+791'],
      [0xfffff8048b5a83f6n, 'ProcLibDeviceStart+2182'],
      [0xfffff8048b59f852n, 'EvtDevicePrepareHardware+210'],
    ];
    for (const [pc, name] of rizin) {
      const f = frames.find((x) => x.ip === pc);
      assert.ok(f?.symbol && f.module, `a frame at ${pc.toString(16)}`);
      assert.equal(`${f.symbol.functionName}+${Number(pc - f.module.base) - f.symbol.functionAddress}`, name);
      assert.equal(f.symbol.isPublic, true);
    }
  } finally {
    await images.close();
  }
});

test('the index reads each module stream once; lookups in an indexed module read nothing more', needsCorpus, async () => {
  const source = new CountingSource(new BufferSource(readFileSync(sentry('crash.pdb')), 'crash.pdb'));
  const syms = new PdbModuleSymbols(await PdbFile.open(source));
  const opened = source.counts.bytes;
  await syms.lookup(0x2a3d);
  const afterFirst = source.counts.bytes;
  assert.ok(afterFirst - opened < 2 * source.size, `index and first lookup read ${afterFirst - opened} bytes of ${source.size}`);
  // 0x2a36 has inlinees imported from client_info.obj: that module is decoded too, once.
  await syms.lookup(0x2a36);
  const afterSecond = source.counts.bytes;
  const walked = syms.scopeRecordsWalked;
  await syms.lookup(0x2a3d);
  await syms.lookup(0x2a36);
  assert.equal(source.counts.bytes, afterSecond, 'main.obj and client_info.obj decoded once');
  assert.equal(syms.scopeRecordsWalked, walked, "main's inline sites decoded once");
  assert.deepEqual(await syms.indexStats(), { modules: 71, modulesSkipped: 0, procedures: 138, publics: 139, recordsSkipped: 0 });
});

test('hostile: a module whose symbol size runs past its stream is passed over, the rest still symbolise', needsCorpus, async () => {
  const pdb = await PdbFile.open(new BufferSource(readFileSync(sentry('crash.pdb')), 'crash.pdb'));
  const mainObj = pdb.dbi.modules.findIndex((m) => m.moduleName.endsWith('\\main.obj'));
  // The same PDB with main.obj's SymByteSize past the end of its stream (a cut module stream).
  const forged: PdbFile = Object.create(pdb, {
    dbi: { value: { ...pdb.dbi, modules: pdb.dbi.modules.map((m) => (m.index === mainObj ? { ...m, symByteSize: m.symByteSize + 0x100000 } : m)) } },
  });
  const syms = new PdbModuleSymbols(forged);
  const stats = await syms.indexStats();
  assert.equal(stats.modulesSkipped, 1);
  // main itself is gone (its public remains: a name without lines); other modules are untouched.
  const main = await syms.lookup(0x2a3d);
  assert.deepEqual([main?.functionName, main?.isPublic], ['main', true]);
  assert.equal((await syms.lookup(0x2c9e))?.functionName, '__scrt_common_main_seh');
});

test('hostile: C13 lines claimed past the module stream keep the subsections that fit; names are unaffected', needsCorpus, async () => {
  const pdb = await PdbFile.open(new BufferSource(readFileSync(sentry('crash.pdb')), 'crash.pdb'));
  const mainObj = pdb.dbi.modules.findIndex((m) => m.moduleName.endsWith('\\main.obj'));
  const forged: PdbFile = Object.create(pdb, {
    dbi: { value: { ...pdb.dbi, modules: pdb.dbi.modules.map((m) => (m.index === mainObj ? { ...m, c13ByteSize: m.c13ByteSize + 0x100000 } : m)) } },
  });
  const r = await new PdbModuleSymbols(forged).lookup(0x2a3d);
  assert.deepEqual([r?.functionName, r?.line, r?.inlines.length], ['main', 35, 2]);
});

test('x86 C names lose their calling-convention decoration; C++ and plain names are left alone', () => {
  assert.deepEqual(undecorateX86CName('_main'), { name: 'main', parameterSize: 0 });
  assert.deepEqual(undecorateX86CName('__CxxThrowException@8'), { name: '_CxxThrowException', parameterSize: 8 });
  assert.deepEqual(undecorateX86CName('@_guard_check_icall@4'), { name: '_guard_check_icall', parameterSize: 4 });
  assert.equal(undecorateX86CName('?what@exception@std@@UBEPBDXZ'), undefined);
  assert.equal(undecorateX86CName('memcpy'), undefined);
  assert.equal(undecorateX86CName('@fastcall_without_size'), undefined);
});

test('inline tree as dump_syms --i builds it: call sites from the lines as they stand, inlinee lines splitting what they overlap, contiguous ranges merged', () => {
  const lines = [
    { rva: 0x1000, size: 0, line: 9, fileId: 5 },
    { rva: 0x1000, size: 0x10, line: 1, fileId: 5 },
    { rva: 0x1010, size: 0x10, line: 2, fileId: 5 },
  ];
  const sites = [
    { recordOffset: 0, inlinee: 0x1001, parent: -1, depth: 0, ranges: [{ start: 4, size: 4, fileId: 0x18, line: 10 }, { start: 8, size: 4, fileId: 0x18, line: 11 }] },
    { recordOffset: 8, inlinee: 0x1002, parent: 0, depth: 1, ranges: [{ start: 8, size: 2, fileId: 0x30, line: 20 }] },
  ];
  const files = new Map([[0x18, 7], [0x30, 8]]);
  const origins: string[] = [];
  const tree = inlineTree(lines, sites, ['outer', 'inner'], 0x1000, (f) => files.get(f!) ?? 0, (name) => origins.push(name) - 1);
  assert.deepEqual(tree.inlines, [
    { nestLevel: 0, callSiteLine: 1, callSiteFileId: 5, originId: 0, ranges: [{ rva: 0x1004, size: 8 }] },
    { nestLevel: 1, callSiteLine: 11, callSiteFileId: 7, originId: 1, ranges: [{ rva: 0x1008, size: 2 }] },
  ]);
  assert.deepEqual(
    tree.lines.map((l) => [l.rva, l.size, l.line, l.fileId]),
    [
      [0x1000, 4, 1, 5],
      [0x1004, 4, 10, 7],
      [0x1008, 2, 20, 8],
      [0x100a, 2, 11, 7],
      [0x100c, 4, 1, 5],
      [0x1010, 0x10, 2, 5],
    ],
  );
});
