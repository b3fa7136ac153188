import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { isFormatError } from '../../io/errors.js';
import { corpusPath, needsCorpus, repoPath } from '../../testing/corpus.js';
import { Scratch } from '../breakpad-sym/line-syntax.js';
import { parseStack } from '../breakpad-sym/records.js';
import { loadSymbolFile, windowsFrameInfo, type WindowsFrameInfo } from '../breakpad-sym/symbol-file.js';
import { decodeFpoData, decodeFrameData, frameInfoIndex, PdbFile, readFrameInfo, stringTable } from './index.js';

const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);
const kdlibI386 = (): string => corpusPath('external', 'user', 'kdlib', 'targetapp_test_cv_allreg_i386', 'targetapp.pdb');
const open = async (path: string): Promise<PdbFile> => PdbFile.open(new BufferSource(readFileSync(path), path));

/** A record as one comparable string, every field of it. */
function key(w: WindowsFrameInfo): string {
  const fields = [w.type, w.rva, w.codeSize, w.prologueSize, w.epilogueSize, w.parameterSize, w.savedRegisterSize, w.localSize, w.maxStackSize];
  return `${fields.map((n) => n.toString(16)).join(' ')} | ${w.programString ?? `bp=${w.allocatesBasePointer}`}`;
}

/** STACK WIN lines of a .sym, parsed by the .sym reader (not by the code under test). */
function stackWinOfSym(text: string): WindowsFrameInfo[] {
  const bytes = new TextEncoder().encode(text);
  const out: WindowsFrameInfo[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const lineEnd = end > start && bytes[end - 1] === 0x0d ? end - 1 : end;
    const line = new TextDecoder().decode(bytes.subarray(start, lineEnd));
    if (line.startsWith('STACK WIN ')) {
      const record = parseStack(bytes, start, lineEnd, new Scratch());
      assert.ok(record && record.kind === 'win', line);
      out.push(windowsFrameInfo(record.win, bytes));
    }
    start = end + 1;
  }
  return out;
}

function setDifference(a: readonly string[], b: readonly string[]): { onlyA: string[]; onlyB: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  return { onlyA: [...sa].filter((x) => !sb.has(x)), onlyB: [...sb].filter((x) => !sa.has(x)) };
}

test('crash.pdb: the STACK WIN records equal crash.sym\'s (Breakpad dump_syms) as a set, both ways, and in its order', needsCorpus, async () => {
  const frames = await readFrameInfo(await open(sentry('crash.pdb')));
  const expected = stackWinOfSym(readFileSync(sentry('crash.sym'), 'utf8'));
  const mine = frames.all().map(key);
  const theirs = expected.map(key);
  assert.equal(theirs.length, 154);
  assert.deepEqual(setDifference(mine, theirs), { onlyA: [], onlyB: [] });
  // Same multiset and order: FrameData records in stream order, then the two FPO records.
  assert.deepEqual(mine, theirs);
  assert.equal(frames.skipped, 0);
  assert.equal(frames.omap, false);
  // 165 FrameData records (llvm-pdbutil dump -fpo): 13 repeat their predecessor's type, RVA, size and prologue.
  assert.equal(frames.all().filter((w) => w.type === 4).length, 152);
  assert.deepEqual(frames.all().filter((w) => w.type === 0).map((w) => w.rva), [0x2dc4, 0x30fc]);
});

test('crash.pdb: find(rva) answers what the .sym reader answers for crash.sym at every RVA of the image', needsCorpus, async () => {
  const frames = await readFrameInfo(await open(sentry('crash.pdb')));
  const sym = await loadSymbolFile(new BufferSource(readFileSync(sentry('crash.sym')), 'crash.sym'));
  let found = 0;
  for (let rva = 0xff0; rva < 0x3800; rva++) {
    const a = frames.find(rva);
    const b = await sym.findWindowsFrameInfo(rva);
    assert.equal(a && key(a), b && key(b), `rva 0x${rva.toString(16)}`);
    if (a) found++;
  }
  assert.ok(found > 0x2000, `${found} RVAs covered`);
  // Inside a function's prologue the innermost (non-function-start) record wins; FrameData beats FPO.
  assert.equal(frames.find(0x1122)?.rva, 0x1121);
  assert.equal(frames.find(0x2dc4)?.type, 4);
});

/** llvm-pdbutil's `dump -fpo` rows: Old FPO (raw dword and register counts), New FPO (bytes). */
function llvmRows(text: string): { fpo: string[][]; frameData: string[][] } {
  const fpo: string[][] = [];
  const frameData: string[][] = [];
  let section: string[][] | undefined;
  for (const line of text.split('\n')) {
    if (line.includes('Old FPO Data')) section = fpo;
    else if (line.includes('New FPO Data')) section = frameData;
    else if (section && /^[0-9A-F]{8} \|/.test(line)) section.push(line.split('|').map((c) => c.trim()));
  }
  return { fpo, frameData };
}

test('kdlib targetapp.pdb (x86): every record equals llvm-pdbutil dump -fpo\'s, folded as dump_syms folds repeats', needsCorpus, async () => {
  const frames = await readFrameInfo(await open(kdlibI386()));
  const { fpo, frameData } = llvmRows(readFileSync(repoPath('test-data', 'pdb', 'kdlib-targetapp-i386.fpo.txt'), 'utf8'));
  assert.equal(fpo.length, 2);
  assert.equal(frameData.length, 188);
  // New FPO columns: RVA | Code | Locals | Params | Stack | Prolog | Saved Regs | Has SEH | Has C++EH | Start | Program
  const fromLlvm: WindowsFrameInfo[] = frameData.map((c) => ({
    type: 4,
    rva: parseInt(c[0]!, 16),
    codeSize: Number(c[1]),
    localSize: Number(c[2]),
    parameterSize: Number(c[3]),
    maxStackSize: Number(c[4]),
    prologueSize: Number(c[5]),
    savedRegisterSize: Number(c[6]),
    epilogueSize: 0,
    allocatesBasePointer: false,
    programString: c[10]!.replace(/ +$/, ''),
  }));
  // Old FPO columns: RVA | Code | Locals | Params | Prolog | Saved Regs | ... | Frame Type. Counts of dwords and
  // registers, which STACK WIN holds as bytes. (llvm-pdbutil 14 reads fHasSEH and fUseBP from the cbRegs bits, so
  // those two columns are not compared; both records here save no registers and use no frame pointer.)
  for (const c of fpo) {
    assert.equal(c[5], '0');
    assert.equal(c[8], 'FPO');
    fromLlvm.push({
      type: 0,
      rva: parseInt(c[0]!, 16),
      codeSize: Number(c[1]),
      localSize: Number(c[2]) * 4,
      parameterSize: Number(c[3]) * 4,
      prologueSize: Number(c[4]),
      savedRegisterSize: Number(c[5]) * 4,
      epilogueSize: 0,
      maxStackSize: 0,
      allocatesBasePointer: false,
      programString: undefined,
    });
  }
  // dump_syms prints a record unless type, RVA, size and prologue all repeat the previous one.
  const folded = fromLlvm.filter((w, i) => {
    const p = fromLlvm[i - 1];
    return !(p && p.type === w.type && p.rva === w.rva && p.codeSize === w.codeSize && p.prologueSize === w.prologueSize);
  });
  assert.deepEqual(setDifference(frames.all().map(key), folded.map(key)), { onlyA: [], onlyB: [] });
  assert.deepEqual(frames.all().map(key), folded.map(key));
  assert.equal(frames.all().length, 174);
});

/** FPO_DATA bytes: the attribute word is cbProlog:8, cbRegs:3, fHasSEH:1, fUseBP:1, reserved:1, cbFrame:2. */
function fpoData(r: { rva: number; size: number; locals: number; params: number; prolog: number; regs: number; seh: boolean; bp: boolean; frame: number }): Uint8Array {
  const bytes = new Uint8Array(16);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, r.rva, true);
  v.setUint32(4, r.size, true);
  v.setUint32(8, r.locals, true);
  v.setUint16(12, r.params, true);
  v.setUint16(14, r.prolog | (r.regs << 8) | (Number(r.seh) << 11) | (Number(r.bp) << 12) | (r.frame << 14), true);
  return bytes;
}

test('FPO_DATA: dwords and registers become bytes, fUseBP is allocates_base_pointer, cbFrame the type', () => {
  // Breakpad's dump_syms_regtest.sym prints these FPO records as
  // STACK WIN 0 2d20 90 3 0 c c 0 0 0 0 and STACK WIN 0 2db0 46 0 0 10 4 0 0 0 1.
  const bytes = new Uint8Array([
    ...fpoData({ rva: 0x2d20, size: 0x90, locals: 0, params: 3, prolog: 3, regs: 3, seh: true, bp: false, frame: 0 }),
    ...fpoData({ rva: 0x2db0, size: 0x46, locals: 0, params: 4, prolog: 0, regs: 1, seh: false, bp: true, frame: 0 }),
    ...fpoData({ rva: 0x3000, size: 0x10, locals: 2, params: 0, prolog: 0xff, regs: 7, seh: false, bp: false, frame: 3 }),
  ]);
  const records = decodeFpoData(bytes, 'fpo');
  assert.deepEqual(records.map(key), ['0 2d20 90 3 0 c c 0 0 | bp=false', '0 2db0 46 0 0 10 4 0 0 | bp=true', '3 3000 10 ff 0 0 1c 8 0 | bp=false']);
  // Type 3 (FRAME_NONFPO) is printed but, as in Breakpad's resolver, never answers a lookup.
  const index = frameInfoIndex(records);
  assert.equal(index.find(0x3004), undefined);
  assert.equal(index.find(0x2d30)?.rva, 0x2d20);
});

/** FRAMEDATA bytes. */
function frameData(r: { rva: number; size: number; locals: number; params: number; maxStack: number; program: number; prolog: number; saved: number; flags: number }): Uint8Array {
  const bytes = new Uint8Array(32);
  const v = new DataView(bytes.buffer);
  [r.rva, r.size, r.locals, r.params, r.maxStack, r.program].forEach((n, i) => v.setUint32(i * 4, n, true));
  v.setUint16(24, r.prolog, true);
  v.setUint16(26, r.saved, true);
  v.setUint32(28, r.flags, true);
  return bytes;
}

test('FRAMEDATA: fields, program strings from /names, a leading relocation word, offsets past /names skipped', () => {
  const names = stringTable(new TextEncoder().encode('\0$T0 .raSearch = $eip $T0 ^ = \0unterminated'));
  const a = frameData({ rva: 0x1000, size: 0x20, locals: 8, params: 4, maxStack: 0x10, program: 1, prolog: 3, saved: 4, flags: 4 });
  const b = frameData({ rva: 0x1003, size: 0x1d, locals: 8, params: 4, maxStack: 0, program: 0x7fffffff, prolog: 0, saved: 8, flags: 0 });
  const c = frameData({ rva: 0x1010, size: 0x2, locals: 0, params: 0, maxStack: 0, program: 31, prolog: 0, saved: 0, flags: 0 });
  const d = frameData({ rva: 0x1020, size: 0x2, locals: 0, params: 0, maxStack: 0, program: 0, prolog: 0, saved: 0, flags: 0 });
  const got = decodeFrameData(new Uint8Array([...a, ...b, ...c, ...d]), names, 'fd');
  assert.deepEqual(got.records.map(key), ['4 1000 20 3 0 4 4 8 10 | $T0 .raSearch = $eip $T0 ^ =', '4 1020 2 0 0 0 0 0 0 | bp=false']);
  assert.equal(got.skipped, 2, 'an offset past the strings and a string without its NUL');
  const withReloc = decodeFrameData(new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd, ...a]), names, 'fd');
  assert.deepEqual(withReloc.records.map((w) => w.rva), [0x1000]);
});

test('hostile frame data: streams of odd sizes are FormatErrors; all work is bounded by the stream', () => {
  for (const n of [1, 15, 17, 31]) assert.throws(() => decodeFpoData(new Uint8Array(n), 'fpo'), (e) => isFormatError(e) && e.structure === 'FPO stream');
  for (const n of [1, 31, 33, 35, 63]) {
    assert.throws(() => decodeFrameData(new Uint8Array(n), stringTable(new Uint8Array(0)), 'fd'), (e) => isFormatError(e) && e.structure === 'FrameData stream');
  }
  // A megabyte of zeros: 32768 records, each naming offset 0 of an empty string table: all skipped, none kept.
  const got = decodeFrameData(new Uint8Array(1 << 20), stringTable(new Uint8Array(0)), 'fd');
  assert.deepEqual([got.records.length, got.skipped], [0, 32768]);
});

test('hostile crash.pdb: a FrameData record whose program offset is past /names is skipped, the rest kept', needsCorpus, async () => {
  const bytes = new Uint8Array(readFileSync(sentry('crash.pdb')));
  // The first FRAMEDATA record (llvm-pdbutil): rva 0x1000, 276 bytes, 0 locals, 8 params, 0 max stack.
  const pattern = new Uint8Array(20);
  new DataView(pattern.buffer).setUint32(0, 0x1000, true);
  new DataView(pattern.buffer).setUint32(4, 276, true);
  new DataView(pattern.buffer).setUint32(12, 8, true);
  let at = -1;
  for (let i = 0; i + 32 <= bytes.length && at < 0; i += 4) if (pattern.every((b, k) => bytes[i + k] === b)) at = i;
  assert.ok(at > 0);
  new DataView(bytes.buffer).setUint32(at + 20, 0xfffffff0, true);
  const frames = await readFrameInfo(await PdbFile.open(new BufferSource(bytes, 'x.pdb')));
  assert.equal(frames.skipped, 1);
  assert.equal(frames.all().length, 153);
  assert.equal(frames.all().some((w) => w.type === 4 && w.rva === 0x1000), false);
});
