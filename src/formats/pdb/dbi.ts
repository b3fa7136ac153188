/**
 * The DBI stream (stream 3): the header (64 bytes), the module list (one ModInfo per object file,
 * naming its symbol stream), section contributions, and the optional debug header's stream
 * indices (FPO, section headers, OMAP, FrameData). Layout per LLVM's "The DBI Stream" document.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { Reader, cString } from '../../io/reader.js';

/** No stream: 0xFFFF in a u16 stream index. */
export const NO_STREAM = 0xffff;

export interface DbiHeader {
  readonly versionHeader: number;
  readonly age: number;
  readonly globalStreamIndex: number;
  readonly publicStreamIndex: number;
  readonly symRecordStream: number;
  /** IMAGE_FILE_MACHINE_* (0x14c x86, 0x8664 x64, 0xaa64 ARM64, 0x1c4 ARMNT). */
  readonly machine: number;
}

/** One object file's entry in the module list. */
export interface DbiModule {
  readonly index: number;
  readonly moduleName: string;
  readonly objFileName: string;
  /** The module's symbol stream, or NO_STREAM. */
  readonly symStream: number;
  /** Bytes of CodeView symbols at the start of the symbol stream (after the 4-byte signature). */
  readonly symByteSize: number;
  readonly c11ByteSize: number;
  /** Bytes of C13 line information after the symbols. */
  readonly c13ByteSize: number;
}

/** A contiguous range of a section that one module contributed. */
export interface SectionContribution {
  readonly section: number;
  readonly offset: number;
  readonly size: number;
  readonly characteristics: number;
  readonly moduleIndex: number;
}

/** The optional debug header: stream indices of the debug data the linker kept (NO_STREAM when absent). */
export interface DbiDebugStreams {
  readonly fpo: number;
  readonly exception: number;
  readonly fixup: number;
  readonly omapToSrc: number;
  readonly omapFromSrc: number;
  readonly sectionHeaders: number;
  readonly tokenRidMap: number;
  readonly xdata: number;
  readonly pdata: number;
  /** "New FPO": FrameData records with program strings. */
  readonly frameData: number;
  readonly originalSectionHeaders: number;
}

export interface Dbi {
  readonly header: DbiHeader;
  readonly modules: readonly DbiModule[];
  readonly sectionContributions: readonly SectionContribution[];
  readonly debugStreams: DbiDebugStreams;
}

const HEADER_SIZE = 64;
/** SectionContribEntry (V60): 28 bytes; V2 adds a COFF section index: 32 bytes. */
const SC_V60 = 0xeffe0000 + 19970605;
const SC_V2 = 0xeffe0000 + 20140516;

/** Reads the DBI stream's header, module list, section contributions and optional debug header. */
export async function readDbi(stream: ByteSource): Promise<Dbi> {
  const r = new Reader(await readExact(stream, 0, stream.size, 'DBI stream'), stream.name, 0, 'DBI stream');
  r.check(0, HEADER_SIZE, 'DBI header');
  if (r.i32(0) !== -1) throw r.error(0, `DBI VersionSignature is ${r.i32(0)}, not -1 (a pre-VC 4.1 DBI)`);
  const header: DbiHeader = {
    versionHeader: r.u32(4),
    age: r.u32(8),
    globalStreamIndex: r.u16(12),
    publicStreamIndex: r.u16(16),
    symRecordStream: r.u16(20),
    machine: r.u16(58),
  };
  const sizes = {
    modInfo: r.i32(24),
    sectionContribution: r.i32(28),
    sectionMap: r.i32(32),
    sourceInfo: r.i32(36),
    typeServerMap: r.i32(40),
    optionalDbgHeader: r.i32(48),
    ec: r.i32(52),
  };
  for (const [name, size] of Object.entries(sizes)) if (size < 0) throw r.error(24, `DBI ${name} substream size ${size} is negative`);
  // Substreams follow the header in this order: ModInfo, SectionContribution, SectionMap, SourceInfo, TypeServerMap, EC, OptionalDbgHeader.
  let at = HEADER_SIZE;
  const modInfo = r.sub(at, sizes.modInfo, 'DBI module info substream');
  at += sizes.modInfo;
  const sc = r.sub(at, sizes.sectionContribution, 'DBI section contribution substream');
  at += sizes.sectionContribution + sizes.sectionMap + sizes.sourceInfo + sizes.typeServerMap + sizes.ec;
  const optional = r.sub(at, sizes.optionalDbgHeader, 'DBI optional debug header');
  return {
    header,
    modules: parseModules(modInfo),
    sectionContributions: parseSectionContributions(sc),
    debugStreams: parseDebugStreams(optional),
  };
}

// ModInfo: Unused u32, SectionContr (28), Flags u16, ModuleSymStream u16, SymByteSize u32,
// C11ByteSize u32, C13ByteSize u32, SourceFileCount u16, pad u16, Unused u32,
// SourceFileNameIndex u32, PdbFilePathNameIndex u32 (64 bytes), two C strings, aligned to 4.
function parseModules(r: Reader): DbiModule[] {
  const out: DbiModule[] = [];
  let at = 0;
  while (at + 64 <= r.length) {
    const nameStart = at + 64;
    const nameEnd = r.bytes.indexOf(0, nameStart);
    const objEnd = nameEnd < 0 ? -1 : r.bytes.indexOf(0, nameEnd + 1);
    if (objEnd < 0) throw r.error(at, `module #${out.length}'s names run past the module info substream`);
    out.push({
      index: out.length,
      symStream: r.u16(at + 34),
      symByteSize: r.u32(at + 36),
      c11ByteSize: r.u32(at + 40),
      c13ByteSize: r.u32(at + 44),
      moduleName: cString(r.bytes.subarray(nameStart, nameEnd)),
      objFileName: cString(r.bytes.subarray(nameEnd + 1, objEnd)),
    });
    at = (objEnd + 1 + 3) & ~3;
  }
  return out;
}

function parseSectionContributions(r: Reader): SectionContribution[] {
  if (r.length < 4) return [];
  const version = r.u32(0);
  const entry = version === SC_V2 ? 32 : version === SC_V60 ? 28 : 0;
  if (entry === 0) throw r.error(0, `unknown section contribution version 0x${version.toString(16)}`);
  const out: SectionContribution[] = [];
  for (let at = 4; at + entry <= r.length; at += entry) {
    out.push({ section: r.u16(at), offset: r.i32(at + 4), size: r.i32(at + 8), characteristics: r.u32(at + 12), moduleIndex: r.u16(at + 16) });
  }
  return out;
}

function parseDebugStreams(r: Reader): DbiDebugStreams {
  const at = (i: number): number => (r.length >= (i + 1) * 2 ? r.u16(i * 2) : NO_STREAM);
  return {
    fpo: at(0),
    exception: at(1),
    fixup: at(2),
    omapToSrc: at(3),
    omapFromSrc: at(4),
    sectionHeaders: at(5),
    tokenRidMap: at(6),
    xdata: at(7),
    pdata: at(8),
    frameData: at(9),
    originalSectionHeaders: at(10),
  };
}
