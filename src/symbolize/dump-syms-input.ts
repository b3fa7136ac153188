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

/** UNWIND_CODE operations as dump_syms' switch names them. */
const UWOP = { PUSH_NONVOL: 0, ALLOC_LARGE: 1, ALLOC_SMALL: 2, SAVE_NONVOL: 4, SAVE_NONVOL_FAR: 5, SAVE_XMM128: 8, SAVE_XMM128_FAR: 9, PUSH_MACHFRAME: 10 } as const;
const UNW_FLAG_CHAININFO = 0x4;

/**
 * STACK CFI for each RUNTIME_FUNCTION of the exception directory, in table order, as dump_syms
 * computes it: the frame size is the sum of every unwind code's allocation (the chained entries'
 * too), whatever the prologue offset, so each function gets one INIT record (.cfa: $rsp, return
 * address at .cfa − 8, or − 88 after a machine frame) and one rule at its first byte,
 * .cfa: $rsp <frame size> +. Register saves and frame pointers are not described.
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
    const frame = await x64FrameSize(image, view.getUint32(i * 12 + 8, true));
    if (!frame) {
      skipped++;
      continue;
    }
    records.push({
      rva: begin,
      size: (end - begin) >>> 0,
      initRules: `.cfa: $rsp .ra: .cfa ${frame.ripOffset} - ^`,
      deltas: [{ rva: begin, rules: `.cfa: $rsp ${frame.stackSize} +` }],
    });
  }
  return { records, skipped };
}

/** The stack and return-address offsets dump_syms' PrintPEFrameData adds up; undefined when the unwind data cannot be read. */
async function x64FrameSize(image: PeImage, unwindRva: number): Promise<{ stackSize: number; ripOffset: number } | undefined> {
  let rva = unwindRva;
  // An indirect entry (bit 0 set) names another RUNTIME_FUNCTION whose unwind info is the one to read.
  for (let hops = 0; rva & 1; hops++) {
    if (hops >= Limits.unwindChain) return undefined;
    const entry = await image.readRva((rva ^ 1) >>> 0, 12);
    if (!entry) return undefined;
    rva = new DataView(entry.buffer, entry.byteOffset, 12).getUint32(8, true);
  }
  let stackSize = 8;
  let ripOffset = 8;
  for (let depth = 0; ; depth++) {
    if (depth >= Limits.unwindChain) return undefined;
    const header = await image.readRva(rva, 4);
    if (!header) return undefined;
    const flags = header[0]! >> 3;
    const codes = header[2]!;
    const slotsBytes = await image.readRva(rva + 4, ((codes + 1) & ~1) * 2 + (flags & UNW_FLAG_CHAININFO ? 12 : 0));
    if (!slotsBytes) return undefined;
    const slots = new DataView(slotsBytes.buffer, slotsBytes.byteOffset, slotsBytes.byteLength);
    const op = (c: number): number => slots.getUint8(c * 2 + 1) & 0xf;
    const info = (c: number): number => slots.getUint8(c * 2 + 1) >> 4;
    const frameOffset = (c: number): number => slots.getUint16(c * 2, true);
    for (let c = 0; c < codes; c++) {
      switch (op(c)) {
        case UWOP.PUSH_NONVOL:
          stackSize += 8;
          break;
        case UWOP.ALLOC_LARGE:
          if (info(c) === 0) {
            c++;
            if (c < codes) stackSize = (stackSize + frameOffset(c) * 8) >>> 0;
          } else {
            c += 2;
            if (c < codes) stackSize = (stackSize + ((frameOffset(c - 1) | (frameOffset(c) << 16)) >>> 0)) >>> 0;
          }
          break;
        case UWOP.ALLOC_SMALL:
          stackSize += info(c) * 8 + 8;
          break;
        case UWOP.SAVE_NONVOL:
        case UWOP.SAVE_XMM128:
          c++;
          break;
        case UWOP.SAVE_NONVOL_FAR:
        case UWOP.SAVE_XMM128_FAR:
          c += 2;
          break;
        case UWOP.PUSH_MACHFRAME:
          stackSize += info(c) ? 88 : 80;
          ripOffset += 80;
          break;
        default:
          // UWOP_SET_FPREG, and 6 and 7 (SAVE_XMM and SAVE_XMM_FAR to dump_syms): one slot, no allocation.
          break;
      }
    }
    if (!(flags & UNW_FLAG_CHAININFO)) return { stackSize, ripOffset };
    // The chained RUNTIME_FUNCTION follows the codes, padded to an even count.
    rva = slots.getUint32(((codes + 1) & ~1) * 2 + 8, true);
  }
}
