/**
 * x86 frame information of a PDB as Breakpad's `STACK WIN` records: the FPO stream (FPO_DATA,
 * "old FPO") becomes type 0–3 records, the FrameData stream ("new FPO", FRAMEDATA with a program
 * string in "/names") type 4 records. Field meanings follow cvinfo.h and Microsoft's winnt.h
 * FPO_DATA; which records appear, in which order and how duplicates fold follow Breakpad's
 * dump_syms (PDBSourceLineWriter::PrintFrameDataUsingPDB), so `all()` prints as its `.sym` does.
 */
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { ContainedRangeIndex } from '../breakpad-sym/range-index.js';
import type { WindowsFrameInfo } from '../breakpad-sym/symbol-file.js';
import { NO_STREAM } from './dbi.js';
import type { PdbFile } from './pdb-file.js';
import { readStringTable, type PdbStringTable } from './string-table.js';

/** FPO_DATA, 16 bytes. */
const FPO_SIZE = 16;
/** FRAMEDATA, 32 bytes. */
const FRAMEDATA_SIZE = 32;

/** The frame records of one PDB, in dump_syms order, and Breakpad's lookup over them. */
export interface PdbFrameInfo {
  /**
   * The record Breakpad's resolver would use at rva (SourceLineResolverBase::FindWindowsFrameInfo):
   * the innermost type 4 record containing it, else the innermost type 0 record.
   */
  find(rva: number): WindowsFrameInfo | undefined;
  /** Every record dump_syms writes: FrameData records in stream order, then FPO records, repeats folded. */
  all(): readonly WindowsFrameInfo[];
  /** FrameData records dropped because their program string offset is not a string of "/names". */
  readonly skipped: number;
  /**
   * The PDB has OMAP (a post-link reordered image): the records' RVAs are in the original layout,
   * which dump_syms maps through OMAP before printing; this reader does not.
   */
  readonly omap: boolean;
}

/** Reads the FPO and FrameData streams once and indexes them; a PDB without them has no records. */
export async function readFrameInfo(pdb: PdbFile): Promise<PdbFrameInfo> {
  const streams = pdb.dbi.debugStreams;
  const frameData = await readFrameDataRecords(pdb, streams.frameData);
  const fpo = await readFpoRecords(pdb, streams.fpo);
  const records = [...foldRepeats(frameData.records), ...foldRepeats(fpo)];
  return frameInfoIndex(records, frameData.skipped, streams.omapFromSrc !== NO_STREAM);
}

/** The lookup over records already in dump_syms order (exported for tests and for other readers of frame data). */
export function frameInfoIndex(records: readonly WindowsFrameInfo[], skipped = 0, omap = false): PdbFrameInfo {
  const byType = (type: number): { index: ContainedRangeIndex; records: WindowsFrameInfo[] } => {
    const of = records.filter((r) => r.type === type);
    const bases = Float64Array.from(of, (r) => r.rva);
    const sizes = Float64Array.from(of, (r) => r.codeSize);
    // Breakpad stores each type in a ContainedRangeMap in file order: nested or disjoint ranges only.
    return { index: ContainedRangeIndex.build(bases, sizes, of.length, false), records: of };
  };
  const frameData = byType(4);
  const fpo = byType(0);
  return {
    find(rva: number): WindowsFrameInfo | undefined {
      const id = frameData.index.innermost(rva);
      if (id >= 0) return frameData.records[id];
      const f = fpo.index.innermost(rva);
      return f >= 0 ? fpo.records[f] : undefined;
    },
    all: () => records,
    skipped,
    omap,
  };
}

/**
 * dump_syms prints a record only when its type, RVA, code size or prologue size differ from the
 * record before it: DIA often repeats a record, and the first of a run is the one printed.
 */
function foldRepeats(records: readonly WindowsFrameInfo[]): WindowsFrameInfo[] {
  const out: WindowsFrameInfo[] = [];
  let last: WindowsFrameInfo | undefined;
  for (const r of records) {
    if (last && r.type === last.type && r.rva === last.rva && r.codeSize === last.codeSize && r.prologueSize === last.prologueSize) continue;
    out.push(r);
    last = r;
  }
  return out;
}

async function streamBytes(pdb: PdbFile, index: number, name: string): Promise<{ bytes: Uint8Array; file: string } | undefined> {
  const stream = pdb.stream(index, name);
  if (!stream || stream.size === 0) return undefined;
  return { bytes: await readExact(stream, 0, stream.size, name), file: stream.name };
}

/**
 * FPO_DATA: ulOffStart, cbProcSize, cdwLocals (u32), cdwParams (u16), then a u16 of cbProlog:8,
 * cbRegs:3, fHasSEH:1, fUseBP:1, reserved:1, cbFrame:2. Locals and parameters count dwords and
 * cbRegs counts registers; Breakpad's records hold bytes (DIA's lengthLocals, lengthParams,
 * lengthSavedRegisters), so all three are scaled by 4.
 */
async function readFpoRecords(pdb: PdbFile, index: number): Promise<WindowsFrameInfo[]> {
  const got = await streamBytes(pdb, index, 'FPO stream');
  return got ? decodeFpoData(got.bytes, got.file) : [];
}

/** The FPO stream's FPO_DATA records, in stream order; FormatError when it is not a whole number of them. */
export function decodeFpoData(bytes: Uint8Array, file: string): WindowsFrameInfo[] {
  if (bytes.length % FPO_SIZE !== 0) throw new FormatError(file, 'FPO stream', 0, `${bytes.length} bytes are not a whole number of 16-byte FPO_DATA records`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: WindowsFrameInfo[] = [];
  for (let at = 0; at < bytes.length; at += FPO_SIZE) {
    const attributes = view.getUint16(at + 14, true);
    out.push({
      type: ((attributes >> 14) & 3) as 0 | 1 | 2 | 3,
      rva: view.getUint32(at, true),
      codeSize: view.getUint32(at + 4, true),
      prologueSize: attributes & 0xff,
      epilogueSize: 0,
      parameterSize: view.getUint16(at + 12, true) * 4,
      savedRegisterSize: ((attributes >> 8) & 7) * 4,
      localSize: view.getUint32(at + 8, true) * 4,
      maxStackSize: 0,
      allocatesBasePointer: ((attributes >> 12) & 1) !== 0,
      programString: undefined,
    });
  }
  return out;
}

/**
 * FRAMEDATA: ulRvaStart, cbBlock, cbLocals, cbParams, cbStkMax, frameFunc (offset of the program
 * string in "/names"), cbProlog (u16), cbSavedRegs (u16), flags (u32: fHasSEH, fHasEH,
 * fIsFunctionStart). Records that do not start a function are printed too: they describe the
 * frame after each push of the prologue. A stream of 32·n + 4 bytes starts with a relocation
 * pointer (LLVM's DebugFrameDataSubsection), skipped here.
 */
async function readFrameDataRecords(pdb: PdbFile, index: number): Promise<{ records: WindowsFrameInfo[]; skipped: number }> {
  const got = await streamBytes(pdb, index, 'FrameData stream');
  if (!got) return { records: [], skipped: 0 };
  return decodeFrameData(got.bytes, await readStringTable(pdb), got.file);
}

/**
 * The FrameData stream's records, in stream order, with their program strings from `names`;
 * records whose string offset names no string are counted in `skipped`.
 */
export function decodeFrameData(bytes: Uint8Array, names: PdbStringTable, file: string): { records: WindowsFrameInfo[]; skipped: number } {
  const rest = bytes.length % FRAMEDATA_SIZE;
  if (rest !== 0 && rest !== 4) throw new FormatError(file, 'FrameData stream', 0, `${bytes.length} bytes are not a whole number of 32-byte FRAMEDATA records`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Most records of a PDB share a few dozen program strings.
  const programs = new Map<number, string | undefined>();
  const records: WindowsFrameInfo[] = [];
  let skipped = 0;
  for (let at = rest; at < bytes.length; at += FRAMEDATA_SIZE) {
    const frameFunc = view.getUint32(at + 20, true);
    let program = programs.get(frameFunc);
    if (!programs.has(frameFunc)) {
      // DIA's get_program returns the string without the trailing space /names stores after it (dump_syms' .sym files show none).
      program = names.at(frameFunc)?.replace(/ +$/, '');
      programs.set(frameFunc, program);
    }
    if (program === undefined) {
      skipped++;
      continue;
    }
    records.push({
      type: 4,
      rva: view.getUint32(at, true),
      codeSize: view.getUint32(at + 4, true),
      prologueSize: view.getUint16(at + 24, true),
      epilogueSize: 0,
      parameterSize: view.getUint32(at + 12, true),
      savedRegisterSize: view.getUint16(at + 26, true),
      localSize: view.getUint32(at + 8, true),
      maxStackSize: view.getUint32(at + 16, true),
      allocatesBasePointer: false,
      // An empty string is no program: a STACK WIN line with an empty program does not parse.
      programString: program === '' ? undefined : program,
    });
  }
  return { records, skipped };
}
