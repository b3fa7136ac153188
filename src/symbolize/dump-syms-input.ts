/**
 * What dump_syms reads from a PDB and its image, as DumpSymsInput: the MODULE and INFO CODE_ID
 * lines, PUBLIC records from the PDB's S_PUB32 symbols, STACK WIN from its frame data (x86) and
 * STACK CFI from the image's x64 unwind data (PrintPEFrameData in Breakpad's pe_util.cc), and
 * FILE, FUNC and line records from the module symbol reader (PdbModuleSymbols.functionRecords).
 */
import { readFrameInfo } from '../formats/pdb/frame-data.js';
import type { PdbFile } from '../formats/pdb/pdb-file.js';
import { readPublicSymbols, type PublicSymbol } from '../formats/pdb/public-symbols.js';
import { Directory, Limits, Machine } from '../formats/pe/constants.js';
import type { PeImage } from '../formats/pe/pe-image.js';
import { readX64UnwindInfo, X64_REGISTERS, type X64UnwindInfo } from '../formats/pe/x64-unwind-info.js';
import type { DumpSymsCfi, DumpSymsInput, DumpSymsModule, DumpSymsPublic } from './dump-syms.js';
import { PdbModuleSymbols } from './pdb-symbols.js';
import { undecoratePublicName } from './undecorate.js';

export { undecoratePublicName } from './undecorate.js';

export interface DumpSymsSources {
  readonly pdb: PdbFile;
  /** The PDB's file name (its base name is the MODULE line's debug file). */
  readonly pdbName: string;
  readonly image?: PeImage | undefined;
  /** The image's file name, for INFO CODE_ID. */
  readonly imageName?: string | undefined;
  /** The PDB's symbol reader when the caller has one (its index is reused), else one is made. */
  readonly symbols?: PdbModuleSymbols | undefined;
  /** dump_syms --i: INLINE and INLINE_ORIGIN records, line records split around inlined code, FILE 0. */
  readonly inline?: boolean | undefined;
}

export interface DumpSymsPartial extends DumpSymsInput {
  /** What could not be written as dump_syms would, one sentence each. */
  readonly warnings: readonly string[];
}

/** Breakpad's CPU names; dump_syms itself knows only x86 and x86_64 (FileHeaderMachineToCpuString) and writes "unknown" for the rest. */
export function breakpadCpu(machine: number): string {
  switch (machine) {
    case Machine.I386:
      return 'x86';
    case Machine.AMD64:
      return 'x86_64';
    case Machine.ARM64:
      return 'arm64';
    case Machine.ARMNT:
      return 'arm';
    default:
      return 'unknown';
  }
}

export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** ReadPEInfo: TimeDateStamp as %08X and SizeOfImage as %X. */
export function codeId(image: PeImage): string {
  return image.timeDateStamp.toString(16).toUpperCase().padStart(8, '0') + image.sizeOfImage.toString(16).toUpperCase();
}

/** Everything dump_syms writes of a PDB (and its image). */
export async function dumpSymsInput(sources: DumpSymsSources): Promise<DumpSymsPartial> {
  const { pdb, image } = sources;
  const warnings: string[] = [];
  const machine = pdb.dbi.header.machine;
  const module: DumpSymsModule = {
    arch: breakpadCpu(machine),
    debugId: pdb.debugId,
    debugFile: baseName(sources.pdbName),
    codeId: image ? codeId(image) : undefined,
    codeFile: image && sources.imageName ? baseName(sources.imageName) : undefined,
  };
  if (image && image.machine !== machine) warnings.push(`the image's machine 0x${image.machine.toString(16)} is not the PDB's 0x${machine.toString(16)}`);
  const codeView = image ? await image.codeView() : undefined;
  if (codeView && codeView.debugId !== pdb.debugId) warnings.push(`the image names PDB ${codeView.debugId}, not this one (${pdb.debugId})`);
  const frames = await readFrameInfo(pdb);
  if (frames.skipped > 0) warnings.push(`${frames.skipped} FrameData records name no string of /names and were left out`);
  if (frames.omap) warnings.push('the PDB has OMAP (a reordered image): STACK WIN and PUBLIC addresses are not mapped through it as dump_syms does');
  let cfi: DumpSymsCfi[] = [];
  // dump_syms takes x64 frame data from the image (PrintFrameData), everything else from the PDB.
  const frameInfo = machine === Machine.AMD64 ? [] : [...frames.all()];
  if (machine === Machine.AMD64) {
    if (image) {
      const got = await x64Cfi(image);
      cfi = got.records;
      if (got.skipped > 0) warnings.push(`${got.skipped} RUNTIME_FUNCTION entries have unreadable unwind info and were left out`);
    } else {
      warnings.push('no image given: an x64 .sym has no STACK CFI without the image\'s unwind data');
    }
  }
  const { files, functions, inlineOrigins } = await (sources.symbols ?? new PdbModuleSymbols(pdb)).functionRecords({ inline: sources.inline });
  return {
    module,
    files,
    inlineOrigins,
    functions,
    publics: breakpadPublics(await readPublicSymbols(pdb)),
    frameInfo,
    cfi,
    warnings,
  };
}

/**
 * PUBLIC records as dump_syms selects them (MaybeRecordSymbol, PrintCodePublicSymbol): per
 * address the symbol with the least decorated name, `m` when several share it, printed only when
 * it is code. Names are undecorated as far as that is possible without a C++ demangler: C names
 * lose their leading underscore, __stdcall and __fastcall names their decoration (whose
 * byte count is the parameter size, less the 8 register bytes for __fastcall). C++ names ("?...")
 * stay decorated.
 */
export function breakpadPublics(symbols: readonly PublicSymbol[]): DumpSymsPublic[] {
  const byRva = new Map<number, { chosen: PublicSymbol; count: number }>();
  for (const s of symbols) {
    if (s.rva === undefined) continue;
    const at = byRva.get(s.rva);
    if (!at) byRva.set(s.rva, { chosen: s, count: 1 });
    else {
      at.count++;
      if (s.name < at.chosen.name) at.chosen = s;
    }
  }
  const out: DumpSymsPublic[] = [];
  for (const [rva, { chosen, count }] of [...byRva].sort((a, b) => a[0] - b[0])) {
    // DIA's get_code looks at the section, not at the flags: assembler labels (__NLG_Dispatch) have none.
    if (!chosen.isCode) continue;
    const { name, parameterSize } = undecoratePublicName(chosen.name);
    out.push({ rva, parameterSize, name: name === '' ? '<name omitted>' : name, multiple: count > 1 });
  }
  return out;
}

/**
 * STACK CFI for each RUNTIME_FUNCTION of the exception directory, in table order: one
 * STACK CFI INIT record per function whose rules hold for the whole function, as dump_syms and
 * symbolic-cfi both describe a PE function (neither follows the prologue byte by byte). The frame
 * size is the sum of every unwind code's allocation (the chained entries' too), as dump_syms'
 * PrintPEFrameData adds it up; the CFA is $rsp plus that size, or the frame register plus its
 * distance when UWOP_SET_FPREG establishes one. Beyond dump_syms (whose records give only the CFA
 * and the return address), each pushed or saved integer register gets its rule, as symbolic's
 * unwind records do, so a walker restores callee-saved registers through the frame; a machine
 * frame gives the return address and $rsp from the frame.
 */
export async function x64Cfi(image: PeImage): Promise<{ records: DumpSymsCfi[]; skipped: number }> {
  const dir = image.directory(Directory.Exception);
  if (!dir) return { records: [], skipped: 0 };
  const count = Math.min(Math.floor(dir.size / 12), Limits.functionEntries);
  const table = await image.readRva(dir.rva, count * 12);
  if (!table) return { records: [], skipped: count };
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const records: DumpSymsCfi[] = [];
  let skipped = 0;
  for (let i = 0; i < count; i++) {
    const begin = view.getUint32(i * 12, true);
    const end = view.getUint32(i * 12 + 4, true);
    const frame = await x64FrameRules(image, view.getUint32(i * 12 + 8, true));
    if (!frame) {
      skipped++;
      continue;
    }
    records.push({ rva: begin, size: (end - begin) >>> 0, initRules: frame, deltas: [] });
  }
  return { records, skipped };
}

/** The unwind infos of one function, the primary first and then each chained one; undefined when one cannot be read or the chain is too long. */
async function unwindChain(image: PeImage, unwindRva: number): Promise<X64UnwindInfo[] | undefined> {
  let rva = unwindRva;
  // An indirect entry (bit 0 set) names another RUNTIME_FUNCTION whose unwind info is the one to read.
  for (let hops = 0; rva & 1; hops++) {
    if (hops >= Limits.unwindChain) return undefined;
    const entry = await image.readRva((rva ^ 1) >>> 0, 12);
    if (!entry) return undefined;
    rva = new DataView(entry.buffer, entry.byteOffset, 12).getUint32(8, true);
  }
  const chain: X64UnwindInfo[] = [];
  for (let info = await readX64UnwindInfo(image, rva); ; info = await readX64UnwindInfo(image, info.chained.unwindInfo)) {
    if (!info || chain.length >= Limits.unwindChain) return undefined;
    chain.push(info);
    if (!info.chained) return chain;
  }
}

/**
 * The rules of one function: the unwind operations replayed in prologue order (the last chained
 * entry's last code first), each push saving its register at the running frame size below the
 * CFA; a save by MOV is at its offset from $rsp after the whole prologue (or from the frame
 * register's base when there is one).
 */
async function x64FrameRules(image: PeImage, unwindRva: number): Promise<string | undefined> {
  const chain = await unwindChain(image, unwindRva);
  if (!chain) return undefined;
  // The codes are listed last operation first, the chained entries after the primary's.
  const prologue = chain.flatMap((info) => info.codes.map((code) => ({ code, info }))).reverse();
  let stackSize = 8;
  let ripOffset = 8;
  let machineFrameRsp: number | undefined;
  let framePointer: { register: number; offset: number; at: number } | undefined;
  // In prologue order, as symbolic lists them: a push's distance below the CFA, or a save's offset.
  const registers: ({ kind: 'push'; register: number; at: number } | { kind: 'save'; register: number; offset: number })[] = [];
  for (const { code, info } of prologue) {
    switch (code.op) {
      case 'push_nonvol':
        stackSize += 8;
        registers.push({ kind: 'push', register: code.register, at: stackSize });
        break;
      case 'alloc_large':
      case 'alloc_small':
        stackSize = (stackSize + code.size) >>> 0;
        break;
      case 'save_nonvol':
      case 'save_nonvol_far':
        registers.push({ kind: 'save', register: code.register, offset: code.offset });
        break;
      case 'set_fpreg':
        framePointer ??= { register: info.frameRegister, offset: info.frameOffset * 16, at: stackSize };
        break;
      case 'push_machframe':
        // dump_syms' sums: 80 bytes (88 with the error code), the return address 80 bytes further from the CFA.
        stackSize += code.errorCode ? 88 : 80;
        ripOffset += 80;
        // RIP, CS, EFLAGS, then the interrupted RSP.
        machineFrameRsp = ripOffset - 24;
        break;
      default:
        // XMM saves, epilog descriptors and spare codes move nothing an integer rule needs.
        break;
    }
  }
  // A save's offset is from where $rsp was once the prologue ended, or from the frame register's base.
  const base = framePointer ? framePointer.at : stackSize;
  const rules = [
    framePointer ? `.cfa: ${cfiRegister(framePointer.register)} ${framePointer.at - framePointer.offset} +` : `.cfa: $rsp ${stackSize} +`,
    ...registers.map((r) => `${cfiRegister(r.register)}: .cfa ${r.kind === 'push' ? r.at : base - r.offset} - ^`),
    ...(machineFrameRsp !== undefined ? [`$rsp: .cfa ${machineFrameRsp} - ^`] : []),
    `.ra: .cfa ${ripOffset} - ^`,
  ];
  return rules.join(' ');
}

/** An UNWIND_CODE register as Breakpad's CFI names it: `$rbx`. */
function cfiRegister(register: number): string {
  return `$${X64_REGISTERS[register]}`;
}
