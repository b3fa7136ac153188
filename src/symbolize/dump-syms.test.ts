import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../io/byte-source.js';
import { loadSymbolFile } from '../formats/breakpad-sym/symbol-file.js';
import { PdbFile } from '../formats/pdb/index.js';
import { Directory } from '../formats/pe/constants.js';
import { PeImage } from '../formats/pe/pe-image.js';
import { PeBuilder, TEXT, imageBytes, runtimeFunctions, unwindInfo, uw } from '../formats/pe/testing.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { dumpSymsInput, undecoratePublicName, x64Cfi } from './dump-syms-input.js';
import { formatStackCfi, writeDumpSyms, type DumpSymsFunction, type DumpSymsInput } from './dump-syms.js';
import { PdbModuleSymbols } from './pdb-symbols.js';

const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);
const expected = (name: string): string => corpusPath('external', 'expected', name);
const lines = (text: string): string[] => text.split(/\r?\n/).filter((l) => l !== '');
const starting = (all: readonly string[], prefix: string): string[] => all.filter((l) => l.startsWith(prefix));

function setDifference(a: readonly string[], b: readonly string[]): { onlyA: string[]; onlyB: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  return { onlyA: [...sa].filter((x) => !sb.has(x)), onlyB: [...sb].filter((x) => !sa.has(x)) };
}

async function sources(pdbName: string, exeName: string): Promise<{ pdb: PdbFile; image: PeImage }> {
  const pdb = await PdbFile.open(new BufferSource(readFileSync(sentry(pdbName)), pdbName));
  const image = await PeImage.parse(imageBytes(new Uint8Array(readFileSync(sentry(exeName))), 'file', exeName));
  return { pdb, image };
}

/** FUNC stand-ins at the .sym's FUNC addresses: dump_syms prints a PUBLIC only where no function is. */
function funcStandIns(sym: readonly string[]): DumpSymsFunction[] {
  return starting(sym, 'FUNC ').map((l) => {
    const w = l.split(' ').filter((x) => x !== 'm');
    return { rva: parseInt(w[1]!, 16), size: parseInt(w[2]!, 16), parameterSize: 0, name: 'f', multiple: false, lines: [], inlines: [] };
  });
}

test('crash.pdb + crash.exe (x86): MODULE, INFO CODE_ID, STACK WIN and PUBLIC lines equal crash.sym\'s, as sets and in order', needsCorpus, async () => {
  const { pdb, image } = await sources('crash.pdb', 'crash.exe');
  const sym = lines(readFileSync(sentry('crash.sym'), 'utf8'));
  const input = await dumpSymsInput({ pdb, pdbName: 'C:\\build\\crash.pdb', image, imageName: '/tmp/crash.exe' });
  assert.deepEqual(input.warnings, []);
  const out = lines(writeDumpSyms({ ...input, functions: funcStandIns(sym) }));
  assert.deepEqual(out.slice(0, 2), sym.slice(0, 2));
  const win = starting(out, 'STACK WIN ');
  assert.equal(win.length, 154);
  assert.deepEqual(setDifference(win, starting(sym, 'STACK WIN ')), { onlyA: [], onlyB: [] });
  assert.deepEqual(win, starting(sym, 'STACK WIN '));
  const publics = starting(out, 'PUBLIC ');
  assert.equal(publics.length, 35);
  assert.deepEqual(setDifference(publics, starting(sym, 'PUBLIC ')), { onlyA: [], onlyB: [] });
  assert.equal(starting(out, 'STACK CFI').length, 0);
});

test('crash.pdb: symbolic\'s STACK WIN snapshot is ours less the two FPO records (symbolic drops FPO where FrameData exists)', needsCorpus, async () => {
  const { pdb } = await sources('crash.pdb', 'crash.exe');
  const win = starting(lines(writeDumpSyms(await dumpSymsInput({ pdb, pdbName: 'crash.pdb' }))), 'STACK WIN ');
  const snapshot = starting(lines(readFileSync(expected('test_cfi__cfi_pdb_windows.snap'), 'utf8')), 'STACK WIN ');
  assert.deepEqual(setDifference(win, snapshot), { onlyA: ['STACK WIN 0 2dc4 14 0 0 0 0 0 0 0 0', 'STACK WIN 0 30fc 13 0 0 0 0 0 0 0 0'], onlyB: [] });
  // symbolic reading crash.sym gives the .sym's lines unchanged.
  const fromSym = starting(lines(readFileSync(expected('test_cfi__cfi_sym_windows.snap'), 'utf8')), 'STACK WIN ');
  assert.deepEqual(setDifference(win, fromSym), { onlyA: [], onlyB: [] });
});

/** Breakpad's STACK CFI as one rule set per function: the INIT record's rules overridden by those at its first byte. */
function rulesAtEntry(cfi: readonly string[]): string[] {
  const out: string[] = [];
  let current: { head: string; rules: Map<string, string> } | undefined;
  const flush = (): void => {
    if (current) out.push(`${current.head} ${[...current.rules].map(([k, v]) => `${k} ${v}`).join(' ')}`);
  };
  const parse = (text: string, into: Map<string, string>): void => {
    for (const m of text.matchAll(/(\S+:) ((?:(?!\S+:).)*)/g)) into.set(m[1]!, m[2]!.trim());
  };
  for (const line of cfi) {
    const init = /^STACK CFI INIT (\S+) (\S+) (.*)$/.exec(line);
    if (init) {
      flush();
      current = { head: `${init[1]} ${init[2]}`, rules: new Map() };
      parse(init[3]!, current.rules);
    } else if (current) {
      parse(line.replace(/^STACK CFI \S+ /, ''), current.rules);
    }
  }
  flush();
  return out;
}

test('CrashWithException (x64): STACK CFI from the image equals symbolic\'s unwind snapshot line for line; MODULE, INFO, PUBLIC equal CrashWithException.pdb.sym\'s', needsCorpus, async () => {
  const { pdb, image } = await sources('CrashWithException.pdb', 'CrashWithException.exe');
  const sym = lines(readFileSync(sentry('CrashWithException.pdb.sym'), 'utf8'));
  const input = await dumpSymsInput({ pdb, pdbName: 'CrashWithException.pdb', image, imageName: 'CrashWithException.exe' });
  assert.deepEqual(input.warnings, []);
  const out = lines(writeDumpSyms({ ...input, functions: funcStandIns(sym) }));
  assert.deepEqual(out.slice(0, 2), sym.slice(0, 2));
  const cfi = starting(out, 'STACK CFI');
  const snapshot = starting(lines(readFileSync(expected('test_cfi__cfi_pe_windows.snap'), 'utf8')), 'STACK CFI');
  assert.equal(cfi.length, 41);
  assert.deepEqual(cfi, snapshot);
  assert.deepEqual(setDifference(starting(out, 'PUBLIC '), starting(sym, 'PUBLIC ')), { onlyA: [], onlyB: [] });
  assert.equal(starting(out, 'PUBLIC ').length, 33);
  assert.equal(starting(out, 'STACK WIN').length, 0);
});

test('CrashWithException (x64): Breakpad\'s dump_syms gives the same CFA and return address for all 41 functions, and no register rules where symbolic and we give them for 24', needsCorpus, async () => {
  const { image } = await sources('CrashWithException.pdb', 'CrashWithException.exe');
  const ours = rulesAtEntry((await x64Cfi(image)).records.flatMap(formatStackCfi));
  const breakpad = rulesAtEntry(starting(lines(readFileSync(sentry('CrashWithException.pdb.sym'), 'utf8')), 'STACK CFI'));
  assert.equal(ours.length, 41);
  const withoutRegisters = ours.map((l) => l.replace(/ \$r\w+: .cfa -?\d+ - \^/g, ''));
  assert.deepEqual(withoutRegisters, breakpad);
  assert.equal(ours.filter((l, i) => l !== withoutRegisters[i]).length, 24);
});

test('x64 STACK CFI as dump_syms adds it up: pushes, allocations, machine frames, chained and indirect entries; unreadable or looping unwind info skipped', async () => {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x100), characteristics: TEXT });
  const xdataRva = pe.nextRva;
  const infos: Uint8Array[] = [];
  const place = (bytes: Uint8Array): number => {
    const rva = xdataRva + infos.reduce((n, b) => n + b.length, 0);
    infos.push(bytes);
    return rva;
  };
  const a = place(unwindInfo({ codes: [uw.saveNonvol(9, 3, 0x40), uw.allocLarge(8, 0x12345, '32bit'), uw.allocLarge(4, 0x800), uw.allocSmall(2, 0x28), uw.pushNonvol(1, 5)] }));
  const b = place(unwindInfo({ codes: [uw.pushMachframe(0, true)] }));
  const cParent = place(unwindInfo({ codes: [uw.pushNonvol(1, 3)] }));
  const c = place(unwindInfo({ codes: [uw.allocSmall(4, 0x20)], chained: { begin: 0x1000, end: 0x1010, unwindInfo: cParent } }));
  const loop = place(unwindInfo({ codes: [uw.pushNonvol(1, 3)], chained: { begin: 0, end: 0, unwindInfo: 0 } }));
  // The looping entry chains to itself.
  new DataView(infos[4]!.buffer, infos[4]!.byteOffset).setUint32(infos[4]!.length - 4, loop, true);
  const xdata = new Uint8Array(infos.reduce((n, x) => n + x.length, 0));
  infos.reduce((at, x) => (xdata.set(x, at), at + x.length), 0);
  pe.section({ name: '.xdata', data: xdata });
  const table = runtimeFunctions([
    { begin: 0x1000, end: 0x1040, unwindInfo: a },
    { begin: 0x1040, end: 0x1050, unwindInfo: b },
    { begin: 0x1050, end: 0x1060, unwindInfo: c },
    { begin: 0x1060, end: 0x1070, unwindInfo: loop },
    { begin: 0x1070, end: 0x1080, unwindInfo: 0x7ffffff0 },
    // Indirect: bit 0 set names the RUNTIME_FUNCTION at 0x...; here the first entry's.
    { begin: 0x1080, end: 0x1090, unwindInfo: 0 },
  ]);
  const pdataRva = pe.nextRva;
  new DataView(table.buffer).setUint32(5 * 12 + 8, (pdataRva | 1) >>> 0, true);
  pe.section({ name: '.pdata', data: table });
  pe.directory(Directory.Exception, pdataRva, table.length);
  const image = await PeImage.parse(pe.build('file'));
  const got = await x64Cfi(image);
  assert.equal(got.skipped, 2, 'the self-chained entry and the one outside the image');
  assert.deepEqual(
    got.records.map((r) => `${r.rva.toString(16)} ${r.size.toString(16)} ${r.initRules}${r.deltas.length ? ' +deltas' : ''}`),
    [
      // Prologue: push rbp, sub 0x28, sub 0x800, sub 0x12345, mov [rsp+0x40], rbx: 8 + 8 + 0x28 + 0x800 + 0x12345 in all, rbx 0x40 above the final $rsp.
      `1000 40 .cfa: $rsp ${8 + 8 + 0x28 + 0x800 + 0x12345} + $rbp: .cfa 16 - ^ $rbx: .cfa ${8 + 8 + 0x28 + 0x800 + 0x12345 - 0x40} - ^ .ra: .cfa 8 - ^`,
      // A machine frame with an error code: 88 more bytes, the return address 80 further up, the interrupted $rsp 3 words above it.
      `1040 10 .cfa: $rsp ${8 + 88} + $rsp: .cfa 64 - ^ .ra: .cfa 88 - ^`,
      // Chained: the chained-to entry's push (rbx) ran first, then the primary's allocation.
      `1050 10 .cfa: $rsp ${8 + 8 + 0x20} + $rbx: .cfa 16 - ^ .ra: .cfa 8 - ^`,
      `1080 10 .cfa: $rsp ${8 + 8 + 0x28 + 0x800 + 0x12345} + $rbp: .cfa 16 - ^ $rbx: .cfa ${8 + 8 + 0x28 + 0x800 + 0x12345 - 0x40} - ^ .ra: .cfa 8 - ^`,
    ],
  );
});

test('x64 STACK CFI with a frame register: the CFA from $rbp and its offset, saves from the frame register\'s base', async () => {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x100), characteristics: TEXT });
  const xdataRva = pe.nextRva;
  // push rbp; sub rsp, 0x40; lea rbp, [rsp+0x20]; mov [rsp+0x50], rsi  (codes in reverse order)
  const info = unwindInfo({ frameRegister: 5, frameOffset: 2, codes: [uw.saveNonvol(14, 6, 0x50), uw.setFpreg(10), uw.allocSmall(5, 0x40), uw.pushNonvol(1, 5)] });
  pe.section({ name: '.xdata', data: info });
  const table = runtimeFunctions([{ begin: 0x1000, end: 0x1080, unwindInfo: xdataRva }]);
  const pdataRva = pe.nextRva;
  pe.section({ name: '.pdata', data: table });
  pe.directory(Directory.Exception, pdataRva, table.length);
  const got = await x64Cfi(await PeImage.parse(pe.build('file')));
  // At the lea, $rsp = CFA - 0x50, so $rbp = CFA - 0x50 + 0x20 and the CFA is $rbp + 0x30; rsi is at $rsp(then) + 0x50 = the CFA.
  assert.deepEqual(got.records.map((r) => r.initRules), ['.cfa: $rbp 48 + $rbp: .cfa 16 - ^ $rsi: .cfa 0 - ^ .ra: .cfa 8 - ^']);
});

test('the writer: dump_syms\' record order and formats, folded-symbol flags, publics hidden by functions; the .sym reads back', async () => {
  const input: DumpSymsInput = {
    module: { arch: 'x86', debugId: '0123456789ABCDEF0123456789ABCDEF1', debugFile: 'app.pdb' },
    files: [{ id: 1, name: 'c:\\src\\a.cpp' }],
    inlineOrigins: [{ id: 0, name: 'inlined()' }],
    functions: [
      {
        rva: 0x1100,
        size: 0x20,
        parameterSize: 8,
        name: 'g(int)',
        multiple: true,
        inlines: [
          { nestLevel: 0, callSiteLine: 12, callSiteFileId: 1, originId: 0, ranges: [{ rva: 0x1104, size: 4 }] },
          { nestLevel: 1, callSiteLine: 3, callSiteFileId: 1, originId: 0, ranges: [] },
        ],
        lines: [
          { rva: 0x1100, size: 4, line: 10, fileId: 1 },
          { rva: 0x1104, size: 0x1c, line: 12, fileId: 1 },
        ],
      },
      { rva: 0x1000, size: 0x10, parameterSize: 0, name: 'f()', multiple: false, inlines: [], lines: [] },
      { rva: 0x1200, size: 0, parameterSize: 0, name: 'empty', multiple: false, inlines: [], lines: [] },
    ],
    publics: [
      { rva: 0x1100, parameterSize: 0, name: 'hidden', multiple: false },
      { rva: 0x1050, parameterSize: 4, name: 'pub', multiple: true },
    ],
    frameInfo: [
      { type: 0, rva: 0x1000, codeSize: 0x10, prologueSize: 1, epilogueSize: 0, parameterSize: 0, savedRegisterSize: 4, localSize: 0, maxStackSize: 0, allocatesBasePointer: true, programString: undefined },
    ],
    cfi: [],
  };
  const text = writeDumpSyms(input);
  assert.equal(
    text,
    [
      'MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 app.pdb',
      'FILE 1 c:\\src\\a.cpp',
      'FUNC 1000 10 0 f()',
      'PUBLIC m 1050 4 pub',
      'FUNC m 1100 20 8 g(int)',
      'INLINE 0 12 1 0 1104 4',
      '1100 4 10 1',
      '1104 1c 12 1',
      'STACK WIN 0 1000 10 1 0 0 4 0 0 0 1',
      'INLINE_ORIGIN 0 inlined()',
      '',
    ].join('\n'),
  );
  const sym = await loadSymbolFile(new BufferSource(new TextEncoder().encode(text), 'app.sym'));
  const at = await sym.lookup(0x1106);
  assert.equal(at?.functionName, 'g(int)');
  assert.equal(at?.line, 12);
  assert.deepEqual(at?.inlines.map((i) => i.name), ['inlined()']);
  assert.equal((await sym.findWindowsFrameInfo(0x1004))?.allocatesBasePointer, true);
});

test('public names: C underscores, __stdcall and __fastcall decorations go as dump_syms removes them; C++ names stay decorated', () => {
  assert.deepEqual(undecoratePublicName('_memset'), { name: 'memset', parameterSize: 0, sizeFromName: false });
  assert.deepEqual(undecoratePublicName('__CxxThrowException@8'), { name: '_CxxThrowException', parameterSize: 8, sizeFromName: true });
  assert.deepEqual(undecoratePublicName('_IsProcessorFeaturePresent@4'), { name: 'IsProcessorFeaturePresent', parameterSize: 4, sizeFromName: true });
  assert.deepEqual(undecoratePublicName('@_guard_check_icall@4'), { name: '_guard_check_icall', parameterSize: 0, sizeFromName: true });
  assert.deepEqual(undecoratePublicName('@f@12'), { name: 'f', parameterSize: 4, sizeFromName: true });
  assert.deepEqual(undecoratePublicName('?what@exception@std@@UBEPBDXZ'), { name: '?what@exception@std@@UBEPBDXZ', parameterSize: 0, sizeFromName: false });
  assert.deepEqual(undecoratePublicName('mainCRTStartup'), { name: 'mainCRTStartup', parameterSize: 0, sizeFromName: false });
});

for (const [pdbName, exeName] of [
  ['crash.pdb', 'crash.exe'],
  ['CrashWithException.pdb', 'CrashWithException.exe'],
] as const) {
  test(`${pdbName} round trip: the .sym we write, read back, looks up every FUNC address and line start as the PDB does`, needsCorpus, async () => {
    const { pdb, image } = await sources(pdbName, exeName);
    const symbols = new PdbModuleSymbols(pdb);
    const input = await dumpSymsInput({ pdb, pdbName, image, imageName: exeName, symbols });
    const sym = await loadSymbolFile(new BufferSource(new TextEncoder().encode(writeDumpSyms(input)), `${pdbName}.sym`));
    assert.equal(sym.parseErrors, 0);
    // Every FUNC start, every byte a line record starts at, and the last byte of each function.
    const addresses = input.functions.flatMap((f) => [f.rva, f.rva + f.size - 1, ...f.lines.filter((l) => l.size > 0).map((l) => l.rva)]);
    assert.ok(addresses.length > 300, `${addresses.length} addresses`);
    // The .sym has no INLINE records (yet): compare the outer frame only.
    const outer = (r: Awaited<ReturnType<PdbModuleSymbols['lookup']>>): unknown =>
      r && { name: r.functionName, address: r.functionAddress, size: r.functionSize, parameterSize: r.parameterSize, isPublic: r.isPublic, isMultiple: r.isMultiple, file: r.file, line: r.line, lineAddress: r.lineAddress };
    const differing: string[] = [];
    let withInlines = 0;
    for (const rva of addresses) {
      const fromPdb = await symbols.lookup(rva);
      const fromSym = await sym.lookup(rva);
      const a = outer(fromPdb);
      const b = fromSym && { name: fromSym.functionName, address: fromSym.functionAddress, size: fromSym.functionSize, parameterSize: fromSym.parameterSize, isPublic: fromSym.isPublic, isMultiple: fromSym.isMultiple, file: fromSym.file, line: fromSym.line, lineAddress: fromSym.lineAddress };
      // Where code is inlined the PDB's outer file and line are the outermost call site; the .sym,
      // without INLINE records, gives the line record there.
      const inlined = fromPdb !== undefined && fromPdb.inlines.length > 0;
      if (inlined) withInlines++;
      try {
        if (inlined) assert.deepEqual({ ...(b as object), file: 0, line: 0 }, { ...(a as object), file: 0, line: 0 });
        else assert.deepEqual(b, a);
      } catch {
        differing.push(rva.toString(16));
      }
    }
    assert.deepEqual(differing, []);
    assert.ok(withInlines < addresses.length / 4, `${withInlines} of ${addresses.length} addresses inlined`);
  });
}

for (const [pdbName, exeName, inlineRecords] of [
  ['crash.pdb', 'crash.exe', 273],
  ['CrashWithException.pdb', 'CrashWithException.exe', 25],
] as const) {
  test(`${pdbName} with INLINE (dump_syms --i), read back: every line record's first and last byte gives the PDB's inline frames`, needsCorpus, async () => {
    const { pdb, image } = await sources(pdbName, exeName);
    const symbols = new PdbModuleSymbols(pdb);
    const input = await dumpSymsInput({ pdb, pdbName, image, imageName: exeName, symbols, inline: true });
    const text = writeDumpSyms(input);
    const all = lines(text);
    assert.equal(all[2], 'FILE 0 unknown file');
    assert.equal(starting(all, 'INLINE ').length, inlineRecords);
    assert.equal(starting(all, 'INLINE_ORIGIN ').length, input.inlineOrigins.length);
    const sym = await loadSymbolFile(new BufferSource(new TextEncoder().encode(text), `${pdbName}.sym`));
    assert.equal(sym.parseErrors, 0);
    const addresses = input.functions.flatMap((f) => f.lines.flatMap((l) => [l.rva, l.rva + l.size - 1]));
    const differing: string[] = [];
    let inlined = 0;
    for (const rva of addresses) {
      const a = await symbols.lookup(rva);
      const b = await sym.lookup(rva);
      if (a && a.inlines.length > 0) inlined++;
      // --i splits line records where code is inlined, so a line record starts elsewhere than the
      // PDB's line entry; and a call site no line covers is FILE 0 line 0 in the .sym, unknown in the PDB.
      const known = (file: string | undefined, line: number | undefined): unknown => ((file === 'unknown file' && line === 0) || (file === undefined && line === undefined) ? undefined : { file, line });
      const view = (r: typeof a): unknown => r && { name: r.functionName, address: r.functionAddress, size: r.functionSize, at: known(r.file, r.line), inlines: r.inlines };
      try {
        assert.deepEqual(view(b), view(a));
      } catch {
        differing.push(rva.toString(16));
      }
    }
    assert.deepEqual(differing, []);
    assert.ok(inlined > addresses.length / 8, `${inlined} of ${addresses.length} addresses in inlined code`);
  });
}

test('crash.pdb --i: main\'s INLINE records, start() and crash() inlined at 2a3d with their call sites', needsCorpus, async () => {
  const { pdb, image } = await sources('crash.pdb', 'crash.exe');
  const input = await dumpSymsInput({ pdb, pdbName: 'crash.pdb', image, imageName: 'crash.exe', inline: true });
  const main = input.functions.find((f) => f.name === 'main')!;
  const origin = (id: number): string | undefined => input.inlineOrigins.find((o) => o.id === id)?.name;
  const file = (id: number): string | undefined => input.files.find((f) => f.id === id)?.name;
  const first = main.inlines.slice(0, 2).map((i) => ({ nest: i.nestLevel, line: i.callSiteLine, file: file(i.callSiteFileId), origin: origin(i.originId), ranges: i.ranges }));
  const mainCpp = 'c:\\projects\\breakpad-tools\\windows\\crash\\main.cpp';
  assert.deepEqual(first, [
    { nest: 0, line: 35, file: mainCpp, origin: "`anonymous namespace'::start", ranges: [{ rva: 0x2a3d, size: 0xa }] },
    { nest: 1, line: 28, file: mainCpp, origin: "`anonymous namespace'::crash", ranges: [{ rva: 0x2a3d, size: 0xa }] },
  ]);
});
