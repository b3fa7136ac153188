// Fuzz targets: one per parser family, each taking bytes through parsing and everything that uses
// the result (walks, lookups, unwinding, reports). A target may throw only FormatError; any other
// exception, or a run over the time limit, is a finding. Seeds come from ../shared/corpus and
// test-data, plus a few synthetic inputs for what the corpus lacks (ARM64 images, every stream).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, analyzeMinidump } from '../../analyze/process.js';
import { kernelDumpSeeds } from './kernel-seeds.js';
import { userDumpSeeds } from './user-dump-seeds.js';
import { analyzeDps } from '../../analyze/windbg-stack.js';
import { loadSymbolFile } from '../../formats/breakpad-sym/index.js';
import { arm64FunctionLength } from '../../formats/pe/arm64-unwind-data.js';
import { armFunctionLength } from '../../formats/pe/arm-unwind-data.js';
import { Directory, Machine } from '../../formats/pe/constants.js';
import { PeImage } from '../../formats/pe/pe-image.js';
import { PeBuilder, TEXT, exportDirectory, imageBytes, runtimeFunctions, unwindInfo, uw } from '../../formats/pe/testing.js';
import { readX64UnwindInfo } from '../../formats/pe/x64-unwind-info.js';
import { parseKf, parseLm } from '../../formats/windbg-text/index.js';
import { BufferSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { renderDps, dpsJson } from '../../report/dps.js';
import { MSF_MAGIC, PdbFile, readFrameInfo } from '../../formats/pdb/index.js';
import { loadPdbSymbols } from '../../symbolize/pdb-symbols.js';
import { writeDumpSyms } from '../../symbolize/dump-syms.js';
import { dumpSymsInput } from '../../symbolize/dump-syms-input.js';
import { msfFile, pdbInfoStream } from '../synth/pdb.js';
import { toJson } from '../../report/json.js';
import { renderKf } from '../../report/kf.js';
import { renderText } from '../../report/text.js';
import { evaluateExpression, runProgram, type PostfixContext } from '../../symbolize/postfix.js';
import { unwindAmd64 } from '../../unwind/pe-amd64.js';
import { unwindArm64 } from '../../unwind/pe-arm64.js';
import { unwindArm } from '../../unwind/pe-arm.js';
import { corpusPath, repoPath } from '../corpus.js';
import { StackBuilder, Stream, SynthMinidump, amd64Context, arm64Context, everyStream, rsds } from '../synth/index.js';
import { dictionary } from './mutate.js';

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface FuzzTarget {
  readonly name: TargetName;
  /** Line-oriented text: the mutator adds line and number edits. */
  readonly text: boolean;
  readonly dictionary: readonly Uint8Array[];
  seeds(): Seed[];
  /** File offsets of fields worth mutating (counts, RVAs, sizes), found by a bounded look at the input. */
  hotspots(bytes: Uint8Array): number[];
  run(bytes: Uint8Array): Promise<void>;
}

export const TARGET_NAMES = ['minidump', 'kernel-dump', 'user-dump', 'breakpad-sym', 'pe', 'windbg-text', 'pdb'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** The documented failure: anything else a target throws is a bug. */
export function isExpectedError(e: unknown): boolean {
  return e instanceof FormatError;
}

function filesIn(dir: string, keep: (name: string) => boolean = () => true): Seed[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return []; // a missing corpus folder only means fewer seeds
  }
  const out: Seed[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (!keep(name) || !statSync(path).isFile()) continue;
    out.push({ name: path, bytes: new Uint8Array(readFileSync(path)) });
  }
  return out;
}

function filesBelow(dir: string, keep: (name: string) => boolean): Seed[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  } catch {
    return [];
  }
  return names.filter(keep).map((name) => ({ name: join(dir, name), bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

function u32(bytes: Uint8Array, at: number): number | undefined {
  if (at < 0 || at + 4 > bytes.length) return undefined;
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function u16(bytes: Uint8Array, at: number): number | undefined {
  if (at < 0 || at + 2 > bytes.length) return undefined;
  return bytes[at]! | (bytes[at + 1]! << 8);
}

/** Line-aligned windows of a large text seed, each after its first line (the MODULE or prompt line). */
function textSlices(seed: Seed, size: number, count: number): Seed[] {
  const bytes = seed.bytes;
  if (bytes.length <= size * 2) return [];
  const firstEnd = bytes.indexOf(0x0a) + 1;
  const out: Seed[] = [];
  for (let i = 0; i < count; i++) {
    let start = firstEnd + Math.floor(((bytes.length - firstEnd - size) * (i + 1)) / (count + 1));
    while (start < bytes.length && bytes[start - 1] !== 0x0a) start++;
    let end = Math.min(bytes.length, start + size);
    while (end < bytes.length && bytes[end - 1] !== 0x0a) end++;
    const slice = new Uint8Array(firstEnd + end - start);
    slice.set(bytes.subarray(0, firstEnd));
    slice.set(bytes.subarray(start, end), firstEnd);
    out.push({ name: `${seed.name}[slice ${i}]`, bytes: slice });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// minidump: read, analyse (walk every thread), and render every report.

/** A small dump with one of each stream the reader knows, for coverage the real dumps lack. */
function everyStreamDump(): Uint8Array {
  return everyStream().build();
}

/** amd64 and arm64 dumps with a frame-pointer chain through a module, so walks get past frame 0. */
function chainDump(cpu: 'amd64' | 'arm64'): Uint8Array {
  const base = 0x7ff600000000n;
  const stack = new StackBuilder(0x10000n, 8);
  stack.words(0x10020n, base + 0x1234n, 0, 0, 0x10040n, base + 0x2345n, 0, 0, 0n, 0n);
  const context =
    cpu === 'amd64'
      ? amd64Context({ rip: base + 0x1000n, rsp: 0x10000n, rbp: 0x10000n })
      : arm64Context({ pc: base + 0x1000n, sp: 0x10000n, fp: 0x10000n, lr: base + 0x1100n });
  return new SynthMinidump()
    .systemInfo({ cpu, platform: 'windows' })
    .thread({ id: 7, context, stack })
    .module({ base, size: 0x10000, name: 'C:\\app.exe', codeView: rsds('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'app.pdb') })
    .memoryInfo({ base: 0x10000n, size: 0x1000n, protect: 4 })
    .exception({ threadId: 7, code: 0xc00000fd, address: base + 0x1000n, context })
    .build();
}

/** MINIDUMP_HEADER fields, directory entries and the count and location fields of the streams they point at. */
function minidumpHotspots(bytes: Uint8Array): number[] {
  const out = [8, 12, 16, 20, 24];
  const count = u32(bytes, 8) ?? 0;
  const directory = u32(bytes, 12) ?? 0;
  for (let i = 0; i < Math.min(count, 64); i++) {
    const entry = directory + i * 12;
    const type = u32(bytes, entry);
    const rva = u32(bytes, entry + 8);
    if (type === undefined || rva === undefined) break;
    out.push(entry, entry + 4, entry + 8);
    for (let k = 0; k < 24; k += 4) out.push(rva + k);
    const each = (first: number, size: number, fields: readonly number[]): void => {
      const n = Math.min(u32(bytes, rva) ?? 0, 16);
      for (let j = 0; j < n; j++) for (const f of fields) out.push(rva + first + j * size + f);
    };
    if (type === Stream.ThreadList) each(4, 48, [0, 24, 32, 36, 40, 44]);
    else if (type === Stream.ModuleList) each(4, 108, [8, 20, 76, 80, 84, 88]);
    else if (type === Stream.MemoryList) each(4, 16, [0, 8, 12]);
    else if (type === Stream.Memory64List) each(16, 16, [0, 8]);
    else if (type === Stream.MemoryInfoList || type === Stream.ThreadInfoList || type === Stream.UnloadedModuleList) out.push(rva + 8);
    else if (type === Stream.Exception) out.push(rva + 24, rva + 160, rva + 164);
  }
  return out.filter((at) => at >= 0 && at < bytes.length);
}

const minidump: FuzzTarget = {
  name: 'minidump',
  text: false,
  dictionary: dictionary('MDMP', [0x93, 0xa7, 0, 0], 'RSDS', 'NB10', 'BpEL', [0x05, 0, 0, 0xc0], [0xfd, 0, 0, 0xc0], [0x4d, 0x5a], 'PE\0\0'),
  seeds(): Seed[] {
    const isDump = (n: string): boolean => n.endsWith('.dmp') || n.endsWith('.mdmp');
    return [
      ...filesIn(corpusPath('breakpad'), isDump),
      ...filesIn(corpusPath('rust-minidump'), isDump),
      ...filesIn(corpusPath('radare2')),
      ...filesIn(corpusPath('malformed')),
      ...filesIn(repoPath('test-data', 'fixtures'), isDump),
      { name: 'synth:every-stream', bytes: everyStreamDump() },
      { name: 'synth:amd64-chain', bytes: chainDump('amd64') },
      { name: 'synth:arm64-chain', bytes: chainDump('arm64') },
    ];
  },
  hotspots: minidumpHotspots,
  async run(bytes) {
    const analysis = await analyzeMinidump(new BufferSource(bytes, 'fuzz.dmp'));
    renderText(analysis);
    renderText(analysis, { threads: 'crashed' });
    JSON.stringify(toJson(analysis));
    renderKf(analysis);
  },
};

// ---------------------------------------------------------------------------------------------
// breakpad-sym: index, look up, and evaluate the CFI rules and STACK WIN programs found.

const SYM_RECORD = /^(?:FUNC (?:m )?|PUBLIC (?:m )?|STACK CFI INIT |STACK CFI |STACK WIN [0-9a-f] |INLINE \d+ \d+ \d+ |)([0-9a-fA-F]{1,16}) /;

/** Addresses of records sampled over the file, each with neighbours, plus fixed edge values. */
function symRvas(bytes: Uint8Array): number[] {
  const rvas = new Set<number>([0, 1, 0xfff, 0x1000, 0x7fffffff, 0xffffffff, 2 ** 32, Number.MAX_SAFE_INTEGER]);
  const decoder = new TextDecoder();
  const samples = 24;
  for (let i = 0; i < samples && bytes.length > 0; i++) {
    let start = Math.floor((bytes.length * i) / samples);
    while (start > 0 && bytes[start - 1] !== 0x0a) start--;
    const end = Math.min(bytes.length, start + 200);
    const m = SYM_RECORD.exec(decoder.decode(bytes.subarray(start, end)));
    if (!m) continue;
    const rva = Number.parseInt(m[1]!, 16);
    for (const v of [rva, rva + 1, rva + 7, rva - 1]) if (v >= 0 && Number.isSafeInteger(v)) rvas.add(v);
  }
  return [...rvas];
}

/** Stack memory that answers for most addresses, deterministically, and is missing for some. */
function syntheticMemory(wordSize: 4 | 8): PostfixContext {
  const mask = wordSize === 4 ? 0xffffffffn : 0xffffffffffffffffn;
  return {
    wordSize,
    readWord: (address) => (address % 7n === 3n ? undefined : ((address * 0x9e3779b97f4a7c15n) ^ 0x1234n) & mask),
  };
}

const REGISTERS = ['$eip', '$esp', '$ebp', '$ebx', '$esi', '$edi', '$rip', '$rsp', '$rbp', '$rbx', 'pc', 'sp', 'x29', 'x30', 'lr', 'fp'];

function registerValues(extra: Iterable<string>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  let v = 0x10000n;
  for (const name of [...REGISTERS, ...extra]) {
    if (out.size >= 64) break;
    out.set(name, v);
    v += 0x1008n;
  }
  return out;
}

/** Evaluates a rule set as the CFI walker does: .cfa first, then the others with .cfa known. */
function evaluateCfi(rules: ReadonlyMap<string, string>): void {
  const names = new Set<string>();
  for (const [name, expr] of rules) {
    names.add(name);
    for (const token of expr.split(/\s+/).slice(0, 64)) if (/^[$.a-z]/i.test(token)) names.add(token);
  }
  for (const wordSize of [4, 8] as const) {
    const ctx = syntheticMemory(wordSize);
    const vars = registerValues(names);
    vars.delete('.cfa');
    const cfaRule = rules.get('.cfa');
    const cfa = cfaRule === undefined ? undefined : evaluateExpression(cfaRule, vars, ctx);
    if (cfa !== undefined) vars.set('.cfa', cfa);
    for (const [, expr] of rules) evaluateExpression(expr, vars, ctx);
  }
}

const breakpadSym: FuzzTarget = {
  name: 'breakpad-sym',
  text: true,
  dictionary: dictionary(
    'MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 a.pdb\n', 'INFO CODE_ID 5A000000 a.exe\n', 'FILE 0 a.cc\n', 'FUNC ',
    'FUNC m ', 'PUBLIC ', 'INLINE_ORIGIN 0 f\n', 'INLINE 0 10 0 1 1000 10\n', 'STACK CFI INIT 1000 10 .cfa: $esp 4 + .ra: .cfa 4 - ^\n',
    'STACK CFI 1004 .cfa: $esp 8 +\n', 'STACK WIN 4 1000 10 0 0 0 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =\n',
    'STACK WIN 0 1000 10 0 0 4 0 0 0 0 1\n', '1000 10 1 0\n', '.cfa:', '.ra:', '$esp', '$ebp', '$eip', '.cfa', '.ra', '^', '=', '@', '+', '%',
    ' ', '\n', '\r\n', 'ffffffffffffffff', '-1',
  ),
  seeds(): Seed[] {
    const files = [...filesBelow(corpusPath('breakpad', 'symbols'), (n) => n.endsWith('.sym')), ...filesBelow(corpusPath('rust-minidump', 'symbols'), (n) => n.endsWith('.sym'))];
    return [...files, ...files.flatMap((f) => textSlices(f, 8192, 4))];
  },
  hotspots: () => [],
  async run(bytes) {
    const sym = await loadSymbolFile(new BufferSource(bytes, 'fuzz.sym'));
    for (const rva of symRvas(bytes)) {
      sym.hasSymbol(rva);
      await sym.lookup(rva);
      const rules = await sym.findCfiRules(rva);
      if (rules) evaluateCfi(rules);
      const win = await sym.findWindowsFrameInfo(rva);
      if (win?.programString !== undefined) {
        const vars = registerValues(['.cbSavedRegs', '.cbParams', '.cbLocals', '.raSearchStart', '.raSearch', '.cbCalleeParams']);
        runProgram(win.programString, vars, syntheticMemory(4));
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// pe: parse in both layouts, read exports and CodeView, and unwind at every function found.

/** An ARM64 image with a packed and an .xdata function, and exports: the corpus has none. */
function arm64Image(): Uint8Array {
  const pe = new PeBuilder({ machine: Machine.ARM64, imageBase: 0x7ff600000000n });
  pe.section({ name: '.text', data: new Uint8Array(0x200), characteristics: TEXT });
  // .xdata: function length 0x114, one epilog scope at 0x100, codes save_fplr_x, save_regp, alloc_s, end.
  const header = (0x114 / 4) | (1 << 22) | (2 << 27);
  const xdata = Uint8Array.from([...le32(header, 0x100 / 4), 0xe1, 0xc8, 0x1e, 0xd8, 0x1c, 0x9f, 0xe4, 0xe3]);
  const xdataRva = pe.section({ name: '.xdata', data: xdata });
  const pdata = le32(0x1000, 0x01a20021, 0x1040, xdataRva, 0x1180, 0x00000000);
  const pdataRva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  const edataRva = pe.nextRva;
  const edata = exportDirectory(edataRva, 'a.dll', 1, [{ rva: 0x1000, names: ['f'] }, { rva: 0x1040, names: ['g'] }, { forwarder: 'b.h', names: ['h'] }]);
  pe.section({ name: '.edata', data: edata.bytes });
  pe.directory(Directory.Export, edataRva, edata.size);
  return pe.bytes('file');
}

/** An x64 image with chained unwind info, a frame register and a machine frame. */
function amd64Image(): Uint8Array {
  const pe = new PeBuilder();
  pe.section({ name: '.text', data: new Uint8Array(0x100).fill(0xc3), characteristics: TEXT });
  const xdataRva = pe.nextRva;
  const first = unwindInfo({ sizeOfProlog: 5, codes: [uw.allocSmall(5, 0x28), uw.pushNonvol(1, 3)] });
  const second = unwindInfo({ codes: [], chained: { begin: 0x1000, end: 0x1010, unwindInfo: xdataRva } });
  pe.section({ name: '.xdata', data: [...first, ...second] });
  const pdata = runtimeFunctions([
    { begin: 0x1000, end: 0x1010, unwindInfo: xdataRva },
    { begin: 0x1010, end: 0x1020, unwindInfo: xdataRva + first.length },
  ]);
  const pdataRva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  return pe.bytes('file');
}

function le32(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return bytes;
}

/** DOS, file and optional header fields, data directories, the section table and the start of the tables they point at. */
function peHotspots(bytes: Uint8Array): number[] {
  const nt = u32(bytes, 0x3c);
  const out = [0, 0x3c];
  if (nt === undefined || nt > bytes.length) return out;
  const fh = nt + 4;
  const oh = fh + 20;
  out.push(nt, fh, fh + 2, fh + 16, oh, oh + 16, oh + 24, oh + 28, oh + 32, oh + 36, oh + 56, oh + 60);
  const is64 = u16(bytes, oh) === 0x20b;
  const dirs = oh + (is64 ? 112 : 96);
  out.push(dirs - 4);
  const sectionCount = Math.min(u16(bytes, fh + 2) ?? 0, 32);
  const sectionTable = oh + (u16(bytes, fh + 16) ?? 0);
  const sections: { va: number; size: number; raw: number }[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = sectionTable + i * 40;
    out.push(s + 8, s + 12, s + 16, s + 20, s + 36);
    sections.push({ va: u32(bytes, s + 12) ?? 0, size: u32(bytes, s + 16) ?? 0, raw: u32(bytes, s + 20) ?? 0 });
  }
  const fileOffset = (rva: number): number | undefined => {
    for (const s of sections) if (rva >= s.va && rva < s.va + s.size) return s.raw + rva - s.va;
    return undefined;
  };
  for (let i = 0; i < 16; i++) {
    out.push(dirs + i * 8, dirs + i * 8 + 4);
    const at = fileOffset(u32(bytes, dirs + i * 8) ?? 0);
    if (at !== undefined) for (let k = 0; k < 48; k += 4) out.push(at + k);
  }
  return out.filter((at) => at >= 0 && at < bytes.length);
}

const STACK = 0x10000n;

function peStack(address: bigint): bigint | undefined {
  return address >= STACK && address < STACK + 0x10000n ? STACK + ((address * 0x9e3779b1n) & 0xffffn) : undefined;
}

/** RVAs worth looking up: section starts, export RVAs and .pdata entries with points inside them. */
async function peRvas(image: PeImage): Promise<number[]> {
  const rvas = new Set<number>([0, 1, 0x1000, image.sizeOfImage - 1, image.sizeOfImage, 0xffffffff]);
  for (const s of image.sections.slice(0, 16)) rvas.add(s.virtualAddress).add(s.virtualAddress + 4);
  const exports = await image.exports();
  for (const e of exports.entries.slice(0, 16)) {
    rvas.add(e.rva);
    exports.lookup(e.rva + 2);
  }
  const exception = image.directory(Directory.Exception);
  if (exception) {
    const table = await image.readRva(exception.rva, Math.min(exception.size, 12 * 24));
    if (table) {
      const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
      for (let at = 0; at + 8 <= table.length; at += image.machine === Machine.ARM64 || image.machine === Machine.ARMNT ? 8 : 12) {
        const begin = view.getUint32(at, true);
        rvas.add(begin).add(begin + 1).add(begin + 0x10);
      }
    }
  }
  return [...rvas].filter((rva) => rva >= 0);
}

async function exercisePe(image: PeImage): Promise<void> {
  await image.codeView();
  const base = image.imageBase;
  for (const rva of await peRvas(image)) {
    image.isExecutable(rva);
    await image.readRva(rva, 16);
    const x64 = await image.functionEntry(rva);
    if (x64) {
      await readX64UnwindInfo(image, x64.unwindInfo);
      for (const isContextFrame of [true, false]) {
        await unwindAmd64({
          image,
          moduleBase: base,
          registers: new Map([['rip', base + BigInt(rva)], ['rsp', STACK + 0x100n], ['rbp', STACK + 0x200n], ['rbx', 1n], ['r12', 2n]]),
          readU64: peStack,
          isContextFrame,
        });
      }
    }
    const arm64 = await image.arm64FunctionEntry(rva);
    if (arm64) {
      await arm64FunctionLength(image, arm64);
      for (const isContextFrame of [true, false]) {
        await unwindArm64({
          image,
          entry: arm64,
          moduleBase: base,
          registers: new Map([['pc', base + BigInt(rva)], ['sp', STACK + 0x100n], ['fp', STACK + 0x200n], ['lr', base + 0x1234n], ['x19', 1n]]),
          readU64: peStack,
          isContextFrame,
        });
      }
    }
    const arm = await image.armFunctionEntry(rva);
    if (arm) {
      await armFunctionLength(image, arm);
      for (const isContextFrame of [true, false]) {
        await unwindArm({
          image,
          entry: arm,
          moduleBase: base,
          registers: new Map([['pc', base + BigInt(rva)], ['sp', STACK + 0x100n], ['r11', STACK + 0x200n], ['lr', base + 0x1235n], ['r4', 1n]]),
          readU32: (address) => {
            const value = peStack(address);
            return value === undefined ? undefined : value & 0xffffffffn;
          },
          isContextFrame,
        });
      }
    }
  }
}

const pe: FuzzTarget = {
  name: 'pe',
  text: false,
  dictionary: dictionary('MZ', 'PE\0\0', [0x0b, 0x01], [0x0b, 0x02], [0x64, 0x86], [0x64, 0xaa], [0x4c, 0x01], 'RSDS', 'NB10', '.pdata', '.xdata', '.text'),
  seeds(): Seed[] {
    return [
      ...filesIn(repoPath('test-data', 'fixtures'), (n) => n.endsWith('.exe') || n.endsWith('.dll')),
      ...filesIn(repoPath('test-data', 'pe-arm'), (n) => n.endsWith('.exe') || n.endsWith('.dll')),
      { name: 'synth:arm64', bytes: arm64Image() },
      { name: 'synth:amd64', bytes: amd64Image() },
    ];
  },
  hotspots: peHotspots,
  async run(bytes) {
    for (const layout of ['file', 'memory'] as const) {
      let image: PeImage;
      try {
        image = await PeImage.parse(imageBytes(bytes, layout, 'fuzz.exe'));
      } catch (e) {
        if (isExpectedError(e)) continue;
        throw e;
      }
      await exercisePe(image);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// windbg-text: a dps capture and an lm listing (split at the first NUL byte), rebuilt and rendered;
// the whole text also as a k listing and an lm listing.

const windbgText: FuzzTarget = {
  name: 'windbg-text',
  text: true,
  dictionary: dictionary(
    '\0', 'kd> dps ', '0:000> dqs ', ' dds ', '????????', '`', '<omitting output>', 'nt!KiTrap0e+0xdc', 'nt!KiFastCallEntry',
    'ChildEBP RetAddr  \n', ' # Child-SP          RetAddr               Call Site\n', 'start    end        module name\n',
    '  (deferred)  ', '00000000', 'ffffffff', 'fffff800`00000000', 'Memory  ', ' ', '\n',
  ),
  seeds(): Seed[] {
    const dir = repoPath('test-data', 'windbg');
    const files = filesIn(dir);
    const lm = files.find((f) => f.name.endsWith('lm.txt'))?.bytes ?? new Uint8Array(0);
    const withLm = (s: Seed): Seed => {
      const joined = new Uint8Array(s.bytes.length + 1 + lm.length);
      joined.set(s.bytes);
      joined.set(lm, s.bytes.length + 1);
      return { name: `${s.name}+lm`, bytes: joined };
    };
    const dps = files.filter((f) => /dps/.test(f.name));
    const slices = dps.flatMap((f) => textSlices(f, 4096, 4));
    return [...files, ...dps.map(withLm), ...slices, ...slices.map(withLm)];
  },
  hotspots: () => [],
  async run(bytes) {
    const text = new TextDecoder().decode(bytes);
    const nul = text.indexOf('\0');
    const dps = nul < 0 ? text : text.slice(0, nul);
    const lm = nul < 0 ? undefined : text.slice(nul + 1);
    const a = await analyzeDps(dps, lm);
    if (a) {
      renderDps(a, 'fuzz.txt');
      JSON.stringify(dpsJson(a));
      // Walking from a given start is its own path (WinDbg's k = ...); one input in four takes it.
      if (a.best && bytes.length % 4 === 0) await analyzeDps(dps, lm, a.best.start);
    }
    parseKf(text);
    parseLm(text);
  },
};

// ---------------------------------------------------------------------------------------------
// kernel-dump: read a Windows kernel dump (header, triage or physical memory, page tables, kernel
// structures), analyse the bugcheck thread, and render every report.

/** DUMP_HEADER fields, the memory descriptor and the TRIAGE_DUMP offsets and counts. */
function kernelHotspots(bytes: Uint8Array): number[] {
  const wide = bytes[4] === 0x44 && bytes[5] === 0x55 && bytes[6] === 0x36;
  const out = wide
    ? [0x10, 0x20, 0x28, 0x30, 0x34, 0x38, 0x40, 0x50, 0x58, 0x80, 0x88, 0x90, 0x98, 0xa0, 0xf98, 0x2020, 0x2028, 0x2030, 0x2010, 0x2018]
    : [0x10, 0x18, 0x20, 0x24, 0x28, 0x34, 0x38, 0x5c, 0x60, 0x64, 0x68, 0x6c, 0xf88, 0x1020, 0x1028, 0x1030];
  const triage = wide ? 0x2000 : 0x1000;
  for (let k = 0; k < 0x80; k += 4) out.push(triage + k);
  // The first driver entries and data blocks the triage header points at.
  const drivers = u32(bytes, triage + 0x30) ?? 0;
  for (let i = 0; i < 4; i++) out.push(drivers + i * (wide ? 0x90 : 0x4c), drivers + i * (wide ? 0x90 : 0x4c) + (wide ? 0x38 : 0x1c));
  const blocks = u32(bytes, triage + (wide ? 0x78 : 0x60)) ?? 0;
  for (let i = 0; i < 4; i++) out.push(blocks + i * 16, blocks + i * 16 + 8, blocks + i * 16 + 12);
  return out.filter((at) => at >= 0 && at < bytes.length);
}

const kernelDump: FuzzTarget = {
  name: 'kernel-dump',
  text: false,
  dictionary: dictionary('PAGEDU64', 'PAGEDUMP', 'PAGE', 'SDMP', 'FDMP', 'RDMPDUMP', 'DUMP', 'KDBG', 'TRGD', [0x7e, 0, 0, 0x10], [0x7f, 0, 0, 0], [0x64, 0x86], [0x4c, 0x01], [0x64, 0xaa]),
  seeds(): Seed[] {
    return [...filesIn(corpusPath('external', 'kernel'), (n) => n.endsWith('.dmp')), ...kernelDumpSeeds()];
  },
  hotspots: kernelHotspots,
  async run(bytes) {
    const analysis = await analyze(new BufferSource(bytes, 'fuzz-kernel.dmp'));
    renderText(analysis);
    JSON.stringify(toJson(analysis));
    renderKf(analysis);
  },
};

// ---------------------------------------------------------------------------------------------
// user-dump: read a legacy full user-mode dump (USERDU64 / USERDUMP: header, region list and data,
// contexts, thread states, modules, debug event), analyse every thread, and render every report.

/** The header's counts and offsets, and the first entries of each part they point at. */
function userDumpHotspots(bytes: Uint8Array): number[] {
  const wide = bytes[6] === 0x36;
  const word = wide ? 8 : 4;
  const out = [8, 12, 16, 20, 24, 28];
  for (let i = 0; i < 8; i++) out.push(0x20 + i * word);
  const offset = (i: number): number => u32(bytes, 0x20 + i * word) ?? 0;
  const [threads, modules, , regions, event, states] = [0, 1, 2, 3, 4, 5].map(offset) as [number, number, number, number, number, number];
  // MEMORY_BASIC_INFORMATION RegionSize and BaseAddress; CRASH_MODULE SizeOfImage and ImageNameLength;
  // CONTEXT flags; CRASH_THREAD Teb; the exception record's NumberParameters.
  for (let i = 0; i < 4; i++) out.push(regions + i * (wide ? 0x30 : 0x1c), regions + i * (wide ? 0x30 : 0x1c) + (wide ? 0x18 : 0xc));
  out.push(modules, modules + word, modules + word + 4, threads + (wide ? 0x30 : 0), states + 0x10, event + (wide ? 0x28 : 0x1c));
  return out.filter((at) => at >= 0 && at < bytes.length);
}

const userDump: FuzzTarget = {
  name: 'user-dump',
  text: false,
  dictionary: dictionary('USERDU64', 'USERDUMP', 'USER', 'MZ', 'PE\0\0', [0x64, 0x86], [0x4c, 0x01], [0x00, 0x10, 0x00, 0x00], [0x05, 0x00, 0x00, 0xc0], [0x03, 0x00, 0x00, 0x80]),
  seeds(): Seed[] {
    // The corpus dump is 8 MB: its first 64 KiB (header, lists, the first regions) is the seed, with the synthetic ones.
    const real = filesBelow(corpusPath('external', 'user', 'kdlib'), (n) => n.endsWith('_x64_release.dmp')).map((s) => ({ name: s.name, bytes: s.bytes.slice(0, 0x10000) }));
    return [...real, ...userDumpSeeds()];
  },
  hotspots: userDumpHotspots,
  async run(bytes) {
    const analysis = await analyze(new BufferSource(bytes, 'fuzz-user.dmp'));
    renderText(analysis);
    JSON.stringify(toJson(analysis));
    renderKf(analysis);
  },
};

// ---------------------------------------------------------------------------------------------
// pdb: open, index every module's symbols, look up addresses across the code, read the frame data,
// and write the whole .sym (dump-syms) from it.

/** The superblock's fields, the block map's first entries and the stream directory's first words. */
function pdbHotspots(bytes: Uint8Array): number[] {
  const out = [32, 36, 40, 44, 48, 52];
  const blockSize = u32(bytes, 32) ?? 0;
  const mapBlock = u32(bytes, 52) ?? 0;
  if (blockSize === 0 || blockSize > 65536) return out;
  for (let i = 0; i < 4; i++) out.push(mapBlock * blockSize + i * 4);
  const directory = u32(bytes, mapBlock * blockSize);
  if (directory === undefined) return out;
  for (let i = 0; i < 48; i++) out.push(directory * blockSize + i * 4);
  return out.filter((at) => at >= 0 && at + 4 <= bytes.length);
}

const pdbTarget: FuzzTarget = {
  name: 'pdb',
  text: false,
  dictionary: dictionary([...MSF_MAGIC], [0x04, 0x00, 0x00, 0x00], [0xfe, 0xef, 0xfe, 0xef], [0x10, 0x11], [0x0e, 0x11], [0x4d, 0x11], [0xf1, 0x00, 0x00, 0x00], [0xf2, 0x00, 0x00, 0x00], [0xf4, 0x00, 0x00, 0x00], [0xff, 0xff]),
  seeds(): Seed[] {
    return [
      ...filesBelow(corpusPath('external'), (n) => n.endsWith('.pdb') && !n.includes('rust-minidump-snapshots') && statSync(join(corpusPath('external'), n)).isFile()),
      { name: 'synth:identity-only', bytes: msfFile([new Uint8Array(0), pdbInfoStream('3249d99d-0c40-4931-8610-f4e4fb0b6936', 1)], 512) },
    ];
  },
  hotspots: pdbHotspots,
  async run(bytes) {
    const source = new BufferSource(bytes, 'fuzz.pdb');
    const pdb = await PdbFile.open(source);
    const symbols = await loadPdbSymbols(source);
    const text = pdb.sections[0];
    const start = text?.virtualAddress ?? 0x1000;
    const span = Math.min(text?.virtualSize ?? 0x1000, 0x100000);
    for (let k = 0; k < 24; k++) {
      const rva = start + Math.floor((span * k) / 24);
      await symbols.lookup(rva);
      await symbols.findWindowsFrameInfo(rva);
    }
    await readFrameInfo(pdb);
    writeDumpSyms(await dumpSymsInput({ pdb, pdbName: 'fuzz.pdb' }));
  },
};

export const TARGETS: Readonly<Record<TargetName, FuzzTarget>> = {
  minidump,
  'kernel-dump': kernelDump,
  'user-dump': userDump,
  'breakpad-sym': breakpadSym,
  pe,
  'windbg-text': windbgText,
  pdb: pdbTarget,
};

export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name);
}
