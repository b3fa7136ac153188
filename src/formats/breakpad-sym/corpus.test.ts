// Lookups on real .sym files from the shared corpus, checked against what Breakpad's own tests and
// minidump_stackwalk outputs say about them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BufferSource } from '../../io/byte-source.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { loadSymbolFile, type SymbolFile } from './symbol-file.js';

async function loadCorpus(...segments: string[]): Promise<SymbolFile> {
  const path = corpusPath(...segments);
  return loadSymbolFile(new BufferSource(await readFile(path), path));
}

const crashClient = (): Promise<SymbolFile> =>
  loadCorpus('rust-minidump', 'symbols', 'crash-client', '509C0610949836F7B70BD88BCF03E5400', 'crash-client.sym');
const testApp = (): Promise<SymbolFile> =>
  loadCorpus('breakpad', 'symbols', 'test_app.pdb', '5A9832E5287241C1838ED98914E9B7FF1', 'test_app.sym');

test('crash-client.sym (4 MB, Rust, inlines): the macOS SEGV crash address', needsCorpus, async () => {
  const file = await crashClient();
  assert.equal(file.parseErrors, 0);
  assert.deepEqual(file.module, { os: 'Mac', arch: 'x86_64', debugId: '509C0610949836F7B70BD88BCF03E5400', debugFile: 'crash-client' });
  assert.equal(file.codeId, '509C0610949836F7B70BD88BCF03E540');
  // rip 0x102a68cd4 in crash-client loaded at 0x102a54000. minidump_stackwalk prints
  //  0  crash-client!core::ptr::write_volatile::<u8> [mod.rs : 1574 + 0x0]   (inline record)
  //  1  crash-client!sadness_generator::raise_segfault [lib.rs : 133 + 0x0]
  const r = await file.lookup(0x102a68cd4 - 0x102a54000);
  assert.ok(r);
  assert.equal(r.functionName, 'sadness_generator::raise_segfault');
  assert.equal(r.functionAddress, 0x14cd0);
  assert.equal(r.isMultiple, true);
  assert.match(r.file ?? '', /sadness-generator\/src\/lib\.rs$/);
  assert.equal(r.line, 133);
  assert.equal(0x14cd4 - r.lineAddress!, 0);
  assert.equal(r.inlines.length, 1);
  assert.equal(r.inlines[0]!.name, 'core::ptr::write_volatile::<u8>');
  assert.match(r.inlines[0]!.file ?? '', /library\/core\/src\/ptr\/mod\.rs$/);
  assert.equal(r.inlines[0]!.line, 1574);
});

test('crash-client.sym: a caller with two inlined calls (frames 2-4 of the SEGV stack)', needsCorpus, async () => {
  const file = await crashClient();
  // rip 0x102a5823e is a return address; Breakpad looks up the byte before it.
  const r = await file.lookup(0x102a5823e - 1 - 0x102a54000);
  assert.ok(r);
  assert.equal(r.functionName, 'crash_client::main');
  assert.match(r.file ?? '', /main\.rs$/);
  assert.equal(r.line, 142);
  assert.equal(0x423e - r.lineAddress!, 5, 'printed from the return address: + 0x5');
  assert.deepEqual(
    r.inlines.map((i) => [i.name, i.file?.split('/').pop(), i.line, 0x423d - r.lineAddress!]),
    [
      ['crash_client::real_main::{closure#1}', 'main.rs', 88, 4],
      ['crash_client::real_main', 'main.rs', 132, 4],
    ],
  );
});

test('crash-client.sym: CFI rules at the crash address', needsCorpus, async () => {
  const file = await crashClient();
  const rules = await file.findCfiRules(0x14cd4);
  assert.deepEqual(rules && Object.fromEntries(rules), { '.cfa': '$rbp 16 +', $rbp: '.cfa -16 + ^', '.ra': '.cfa -8 + ^' });
});

test('test_app.sym: the minidump2 frames', needsCorpus, async () => {
  const file = await testApp();
  assert.equal(file.parseErrors, 0);
  // 0  test_app.exe!`anonymous namespace'::CrashFunction [test_app.cc : 58 + 0x3]  (eip 0x0040429e)
  const crash = await file.lookup(0x429e);
  assert.equal(crash?.functionName, "`anonymous namespace'::CrashFunction");
  assert.equal(crash?.file, 'c:\\test_app.cc');
  assert.equal(crash?.line, 58);
  assert.equal(0x429e - crash!.lineAddress!, 3);
  assert.equal(crash?.parameterSize, 0);
  // 1  test_app.exe!main [test_app.cc : 65 + 0x5]  (eip 0x00404200, a return address)
  const main = await file.lookup(0x41ff);
  assert.equal(main?.functionName, 'main');
  assert.equal(main?.functionSize, 0x86);
  assert.equal(main?.parameterSize, 8);
  assert.equal(main?.line, 65);
  assert.equal(main?.lineAddress, 0x41fb);
  assert.equal(0x4200 - main!.lineAddress!, 5);
});

test('test_app.sym: STACK WIN records', needsCorpus, async () => {
  const file = await testApp();
  const info = await file.findWindowsFrameInfo(0x429e);
  assert.deepEqual(info, {
    type: 4,
    rva: 0x4290,
    codeSize: 0x18,
    prologueSize: 4,
    epilogueSize: 0,
    parameterSize: 0,
    savedRegisterSize: 0,
    localSize: 4,
    maxStackSize: 0,
    allocatesBasePointer: false,
    programString: '$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =',
  });
  // STACK WIN 0 1000 13 0 0 4 0 0 0 0 0: covered by no FrameData record, so FPO is used.
  const fpo = await file.findWindowsFrameInfo(0x1005);
  assert.equal(fpo?.type, 0);
  assert.equal(fpo?.parameterSize, 4);
  assert.equal(fpo?.programString, undefined);
  assert.equal(fpo?.allocatesBasePointer, false);
});

test('kernel32.sym: PUBLIC-only symbols (BaseProcessStart + 0x23 in minidump2)', needsCorpus, async () => {
  const file = await loadCorpus('breakpad', 'symbols', 'kernel32.pdb', 'BCE8785C57B44245A669896B6A19B9542', 'kernel32.sym');
  // eip 0x7c816fd7 is a return address in kernel32 at 0x7c800000.
  const r = await file.lookup(0x16fd6);
  assert.equal(r?.functionName, 'BaseProcessStart');
  assert.equal(r?.isPublic, true);
  assert.equal(r?.parameterSize, 4);
  assert.equal(0x16fd7 - r!.functionAddress, 0x23);
  assert.equal(r?.file, undefined);
});

for (const form of ['old', 'new'] as const) {
  test(`linux_inline.${form}.sym: Breakpad's inline frames at 0x161b6`, needsCorpus, async () => {
    const file = await loadCorpus('breakpad', 'symbols', 'linux_inline', 'BBA6FA10B8AAB33D00000000000000000', `linux_inline.${form}.sym`);
    assert.equal(file.parseErrors, 0);
    const r = await file.lookup(0x161b6);
    assert.ok(r);
    assert.equal(r.functionName, 'main');
    assert.equal(r.functionAddress, 0x15b30);
    assert.equal(r.lineAddress, 0x161b6);
    assert.equal(r.line, 42);
    // Breakpad's unit test: the old form has no call-site files, so every frame shows the line
    // record's file; the new form names them.
    const files = form === 'old' ? ['linux_inline.cpp', 'linux_inline.cpp', 'linux_inline.cpp', 'linux_inline.cpp'] : ['a.cpp', 'b.cpp', 'c.cpp', 'linux_inline.cpp'];
    assert.equal(r.file, files[0]);
    assert.deepEqual(
      r.inlines.map((i) => [i.name, i.functionAddress, i.file, i.line]),
      [
        ['func()', 0x15b83, files[3], 27],
        ['bar()', 0x15b72, files[2], 32],
        ['foo()', 0x15b45, files[1], 39],
      ],
    );
  });
}

test('every corpus .sym file indexes without parse errors', needsCorpus, async () => {
  const files: [string, ...string[]][] = [
    ['breakpad', 'symbols', 'libc-2.13.so', 'F4F8DFCD5A5FB5A7CE64717E9E6AE3890', 'libc-2.13.so.sym'],
    ['breakpad', 'symbols', 'ld-2.13.so', 'C32AD7E235EA6112E02A5B9D6219C4850', 'ld-2.13.so.sym'],
    ['breakpad', 'symbols', 'libgcc_s.so.1', '18B180F90887D8F8B5C35D185444AF4C0', 'libgcc_s.so.1.sym'],
    ['breakpad', 'symbols', 'overflow', 'B0E1FC01EF48E39CAF5C881D2DF0C3840', 'overflow.sym'],
    ['breakpad', 'symbols', 'null_read_av', '7B7D1968FF0D47AE4366E9C3A7E1B6750', 'null_read_av.sym'],
    ['breakpad', 'symbols', 'microdump', 'crash_example', '8F36148CC4647A8116CAF2A25F591F570', 'crash_example.sym'],
    ['breakpad', 'symbols', 'microdump', 'breakpad_unittests', 'DA7778FB66018A4E9B4110ED06E730D00', 'breakpad_unittests.sym'],
  ];
  for (const segments of files) {
    const file = await loadCorpus(...segments);
    assert.equal(file.parseErrors, 0, segments.join('/'));
    assert.ok(file.module, segments.join('/'));
  }
});
