// Test support: a minidump and a .sym file whose every writer-chosen string is hostile: markup,
// attribute breakers, script URLs, terminal escapes, bidirectional overrides, a NUL, and the value
// of rust-minidump's evil.json. The report tests and the browser tests render them and check that
// each shows as literal text.
import { StackBuilder, SynthMinidump, rsds, x86Context } from './synth/index.js';

/** rust-minidump's test-data evil.json carries one hostile annotation value. */
export const RUST_MINIDUMP_EVIL = '{ "rust-minidump": ["test_app.exe", "whatever.dll"] }';

export const EVIL = {
  module: '<script>alert("module")</script>.dll',
  debugFile: '"><img src=x onerror=alert(1)>.pdb',
  thread: "</title><svg onload=alert('thread')>",
  functionName: "<b onmouseover=alert('fn')>boom</b>",
  caller: 'javascript:alert(document.domain)//&amp;&lt;',
  file: '<iframe src="https://evil.example/"></iframe>.cpp',
  annotationKey: '<style>*{display:none}</style>',
  annotationValue: RUST_MINIDUMP_EVIL,
  moduleAnnotation: '\u202eexe.evil\u202c <a href="//x">x</a>\u0000\u001b[31mred',
} as const;

/** Every hostile string, for a test to look for as text. */
export const EVIL_STRINGS: readonly string[] = Object.values(EVIL);

const MODULE_BASE = 0x00400000;
const DEBUG_ID_GUID = '11111111-2222-3333-4444-555555555555';
/** The .sym's MODULE id: the GUID's hex, then age 1. */
export const EVIL_DEBUG_ID = '11111111222233334444555555555555' + '1';

/** An x86 crash in the hostile module: frame 0 in its first function, a frame-pointer frame in the second. */
export function evilDump(): Uint8Array {
  const stack = new StackBuilder(0x00120000, 4);
  const frame0Ebp = stack.here;
  // Frame 0's EBP points at the caller's saved EBP, then the return address into the second function.
  stack.word(0x00120100).word(MODULE_BASE + 0x1105).fill(0x100 - 8).word(0).word(0).fill(32);
  return new SynthMinidump()
    .systemInfo({ cpu: 'x86', platform: 'windows', version: [10, 0, 19045] })
    .module({ base: MODULE_BASE, size: 0x10000, name: `C:\\${EVIL.module}`, codeView: rsds(DEBUG_ID_GUID, 1, EVIL.debugFile) })
    .thread({ id: 0x42, context: x86Context({ eip: MODULE_BASE + 0x1010, esp: frame0Ebp, ebp: frame0Ebp }), stack })
    .threadName(0x42, EVIL.thread)
    .exception({ threadId: 0x42, code: 0xc0000005, address: 0x45, parameters: [1, 0x45], context: x86Context({ eip: MODULE_BASE + 0x1010, esp: frame0Ebp, ebp: frame0Ebp }) })
    .crashpadInfo({
      reportId: '00000000-0000-0000-0000-000000000001',
      clientId: '00000000-0000-0000-0000-000000000002',
      simpleAnnotations: { [EVIL.annotationKey]: EVIL.annotationValue },
      modules: [{ moduleIndex: 0, listAnnotations: [EVIL.moduleAnnotation] }],
    })
    .build();
}

/** The hostile module's symbols: two functions with hostile names, lines in a hostile file. */
export function evilSym(): string {
  return [
    `MODULE windows x86 ${EVIL_DEBUG_ID} ${EVIL.debugFile}`,
    `FILE 1 ${EVIL.file}`,
    `FUNC 1000 80 0 ${EVIL.functionName}`,
    '1000 80 7 1',
    `FUNC 1100 80 0 ${EVIL.caller}`,
    '1100 80 9 1',
    '',
  ].join('\n');
}

