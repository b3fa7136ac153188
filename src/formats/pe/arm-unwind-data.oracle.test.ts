// ARM unwind data decoding against an oracle: the real ARM PE images in test-data/pe-arm (built by
// scripts/pe-arm/build-fixtures.sh with clang and lld) and what LLVM's `llvm-readobj --unwind`
// printed for them, beside them. Every .pdata entry is decoded here and every field and opcode
// LLVM prints is compared, as a meaning (register set, amount, instruction size) and as bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from '../../testing/corpus.js';
import { Directory, Machine } from './constants.js';
import { PeImage } from './pe-image.js';
import { imageBytes } from './testing.js';
import {
  armFunctionStart,
  decodeArmUnwindCodes,
  decodeArmUnwindDataWord,
  expandArmPackedUnwindData,
  readArmXData,
  type ArmUnwindCode,
} from './arm-unwind-data.js';

const FIXTURES = ['arm-fp.dll', 'arm-nofp.dll', 'arm-os.exe'];

/** One function's fields as `key: value` lines, in LLVM's field names. */
type Fields = string[];

function maskText(mask: number): string {
  const names: string[] = [];
  for (let n = 0; n <= 14; n++) if (mask & (1 << n)) names.push(n === 14 ? 'lr' : `r${n}`);
  return names.join(',');
}

/** A code's meaning, as both sides can state it. */
function meaning(code: ArmUnwindCode): string | undefined {
  switch (code.op) {
    case 'add_sp':
      return `sp+=${code.size}/${code.opsize}`;
    case 'pop':
      return `pop{${maskText(code.registers)}}/${code.opsize}`;
    case 'mov_sp':
      return `sp=r${code.reg}`;
    case 'vpop':
      return `vpop{d${code.first}-d${code.last}}`;
    case 'ldr_lr':
      return `ldr-lr+=${code.offset}`;
    case 'custom':
      return `custom${code.frame}`;
    case 'nop':
      return `nop/${code.opsize}`;
    case 'end':
      return code.opsize === 0 ? undefined : `end/${code.opsize}`; // LLVM prints FD and FE, not FF
  }
}

function registerMask(list: string): number {
  let mask = 0;
  for (const part of list.split(',').map((s) => s.trim())) {
    const range = /^r(\d+)-r(\d+)$/.exec(part);
    if (range) for (let n = Number(range[1]); n <= Number(range[2]); n++) mask |= 1 << n;
    else if (part === 'lr' || part === 'pc') mask |= 1 << 14; // LLVM prints an epilogue's lr as pc
    else if (/^r\d+$/.test(part)) mask |= 1 << Number(part.slice(1));
    else throw new Error(`register ${part}`);
  }
  return mask;
}

/** The meaning of one instruction LLVM prints; `packed` lines carry no size but the frame chain's. */
function llvmMeaning(text: string, packed: boolean): string {
  let m: RegExpExecArray | null;
  if ((m = /^(?:sub|add)(\.w)? sp, (sp, )?#\((\d+) \* 4\)$/.exec(text))) {
    const wide = m[1] !== undefined;
    return `sp+=${Number(m[3]) * 4}/${wide ? 4 : 2}`;
  }
  if (packed && (m = /^(?:sub|add) sp, sp, #(\d+)$/.exec(text))) return `sp+=${m[1]}`;
  if (packed && text === 'push {r0-r3}') return 'sp+=16';
  if ((m = /^(?:push|pop)(\.w)? \{(.*)\}$/.exec(text))) {
    const mask = registerMask(m[2]!);
    return packed ? `pop{${maskText(mask)}}` : `pop{${maskText(mask)}}/${m[1] ? 4 : 2}`;
  }
  if (packed && text === 'mov r11, sp') return 'nop/2';
  if (packed && /^add\.w r11, sp, #\d+$/.test(text)) return 'nop/4';
  if ((m = /^mov (?:r(\d+), sp|sp, r(\d+))$/.exec(text))) return `sp=r${m[1] ?? m[2]}`;
  if ((m = /^v(?:push|pop) \{d(\d+)(?:-d(\d+))?\}$/.exec(text))) return `vpop{d${m[1]}-d${m[2] ?? m[1]}}`;
  if ((m = /^ldr pc, \[sp\], #(\d+)$/.exec(text))) return `ldr-lr+=${m[1]}`;
  if ((m = /^(?:ldr\.w lr, \[sp\], #|str\.w lr, \[sp, #-)(\d+)\]?!?$/.exec(text))) return `ldr-lr+=${m[1]}`;
  if (text === 'nop') return 'nop/2';
  if (text === 'nop.w') return 'nop/4';
  if (text === 'bx <reg>') return 'end/2';
  if (text === 'b.w <target>') return 'end/4';
  if ((m = /^microsoft-specific \(type: (\d+)\)$/.exec(text))) return `custom${m[1]}`;
  throw new Error(`LLVM instruction not understood: ${text}`);
}

/** LLVM's output, function by function, as Fields. */
function parseLlvm(text: string): Fields[] {
  const functions: Fields[] = [];
  let current: Fields | undefined;
  let list: 'prologue' | 'epilogue' | 'opcodes' | undefined;
  let packed = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === 'RuntimeFunction {') {
      current = [];
      functions.push(current);
      packed = true;
      continue;
    }
    if (!current) continue;
    if (line === 'ExceptionData {') packed = false;
    if (line === 'Prologue [') list = 'prologue';
    else if (line === 'Epilogue [') list = 'epilogue';
    else if (line === 'Opcodes [') list = 'opcodes';
    else if (line === ']') list = undefined;
    else if (list) {
      const op = /^((?:0x[0-9a-f]{2} ?)+)\s*; (.*)$/.exec(line);
      if (op) current.push(`${list}: ${op[1]!.trim()} ${llvmMeaning(op[2]!, false)}`);
      else current.push(`${list}: ${llvmMeaning(line, packed)}`);
    } else {
      const field = /^(\w+): (.*)$/.exec(line);
      if (field) current.push(`${field[1]}: ${field[2]!.replace(/ \(.*\)$/, '')}`);
    }
  }
  return functions;
}

const hex = (n: number | bigint): string => `0x${n.toString(16).toUpperCase()}`;
const yes = (b: boolean): string => (b ? 'Yes' : 'No');
const RETURN_TYPE = ['pop {pc}', 'bx <reg>', 'b.w <target>', 'no epilogue'];

/** Our decoding of every .pdata entry, in LLVM's order and field names. */
async function decodeImage(image: PeImage): Promise<Fields[]> {
  const dir = image.directory(Directory.Exception)!;
  const table = (await image.readRva(dir.rva, dir.size))!;
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const functions: Fields[] = [];
  const codeText = (bytes: Uint8Array, start: number, list: string): string[] => {
    const out: string[] = [];
    let at = start;
    for (const code of decodeArmUnwindCodes(bytes, start)) {
      const what = meaning(code);
      const raw = Array.from(bytes.subarray(at, at + code.length), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
      if (what) out.push(`${list}: ${raw} ${what}`);
      at += code.length;
    }
    return out;
  };
  for (let at = 0; at + 8 <= table.length; at += 8) {
    const entry = { begin: view.getUint32(at, true), unwindData: view.getUint32(at + 4, true) };
    const f: Fields = [`Function: ${hex(image.imageBase + BigInt(entry.begin))}`];
    assert.equal(armFunctionStart(entry) % 2, 0);
    functions.push(f);
    const ref = decodeArmUnwindDataWord(entry.unwindData);
    if (ref.kind === 'packed') {
      const p = ref.packed;
      const words = p.stackAdjust >= 0x3f4 ? (p.stackAdjust & 3) + 1 : p.stackAdjust;
      f.push(
        `Fragment: ${yes(p.flag === 2)}`,
        `FunctionLength: ${p.functionLength}`,
        `ReturnType: ${RETURN_TYPE[p.ret]}`,
        `HomedParameters: ${yes(p.homesParameters)}`,
        `Reg: ${p.reg}`,
        `R: ${p.savesFloat ? 1 : 0}`,
        `LinkRegister: ${yes(p.savesLr)}`,
        `Chaining: ${yes(p.chained)}`,
        `StackAdjustment: ${words * 4}`,
      );
      const canonical = expandArmPackedUnwindData(p);
      const packedText = (list: string, codes: readonly ArmUnwindCode[]): string[] =>
        codes.flatMap((c) => {
          const what = meaning(c);
          if (!what) return [];
          // LLVM's packed lines name sizes only for the frame chain and the final branch.
          return [`${list}: ${c.op === 'nop' || c.op === 'end' ? what : what.replace(/\/\d$/, '')}`];
        });
      f.push(...packedText('prologue', canonical.prologue), ...packedText('epilogue', canonical.epilogue ?? []));
      continue;
    }
    assert.equal(ref.kind, 'xdata');
    const rva = ref.kind === 'xdata' ? ref.rva : 0;
    f.push(`ExceptionRecord: ${hex(image.imageBase + BigInt(rva))}`);
    const x = await readArmXData(image, rva);
    f.push(
      `FunctionLength: ${x.functionLength}`,
      `Version: ${x.version}`,
      `ExceptionData: ${yes(x.hasExceptionData)}`,
      `EpiloguePacked: ${yes(x.epilogInHeader)}`,
      `Fragment: ${yes(x.fragment)}`,
    );
    if (x.epilogInHeader) f.push(`EpilogueOffset: ${x.epilogStartIndex}`);
    else f.push(`EpilogueScopes: ${x.epilogScopes.length}`);
    f.push(`ByteCodeLength: ${x.codes.length}`);
    f.push(...codeText(x.codes, 0, 'prologue'));
    if (x.epilogInHeader) f.push(...codeText(x.codes, x.epilogStartIndex!, 'epilogue'));
    for (const s of x.epilogScopes) {
      f.push(`StartOffset: ${s.startOffset / 2}`, `Condition: ${s.condition}`, `EpilogueStartIndex: ${s.startIndex}`);
      f.push(...codeText(x.codes, s.startIndex, 'opcodes'));
    }
    if (x.hasExceptionData) f.push(`ExceptionHandler: ${hex(image.imageBase + BigInt(x.exceptionHandlerRva!))}`);
  }
  return functions;
}

for (const name of FIXTURES) {
  test(`oracle: every .pdata/.xdata field and opcode of ${name} matches llvm-readobj --unwind`, async (t) => {
    const bytes = readFileSync(repoPath('test-data', 'pe-arm', name));
    const image = await PeImage.parse(imageBytes(new Uint8Array(bytes), 'file', name));
    assert.equal(image.machine, Machine.ARMNT);
    const oracle = parseLlvm(readFileSync(repoPath('test-data', 'pe-arm', `${name}.unwind.txt`), 'utf8'));
    const ours = await decodeImage(image);
    assert.equal(ours.length, oracle.length, 'functions');
    assert.ok(ours.length >= 10, `${ours.length} functions`);
    let fields = 0;
    const differences: string[] = [];
    ours.forEach((f, i) => {
      const o = oracle[i]!;
      const known = new Set(o.map((l) => l.split(':')[0]));
      // LLVM prints the handler as a symbol line; we compare the fields it prints that we decode.
      const mine = f.filter((l) => known.has(l.split(':')[0]!));
      fields += o.length;
      if (mine.join('\n') !== o.join('\n')) differences.push(`${f[0]}:\n  ours   ${mine.join(' | ')}\n  oracle ${o.join(' | ')}`);
    });
    t.diagnostic(`${name}: ${ours.length} functions, ${fields} fields, ${differences.length} differences`);
    assert.deepEqual(differences, []);
    assert.ok(fields > 100, `${fields} fields compared`);
  });
}
