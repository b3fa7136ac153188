/**
 * An opened PDB: the MSF container, its info and DBI streams, and the section headers that turn a
 * symbol's section:offset into an RVA. Everything else (module symbols, lines, publics, frame data)
 * is read from here on demand.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { readExact } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { Reader } from '../../io/reader.js';
import { NO_STREAM, readDbi, type Dbi } from './dbi.js';
import { readPdbInfo, type PdbInfo } from './info.js';
import { MsfFile, type MsfStream } from './msf.js';

/** Fixed stream numbers of PDB 7.0. */
export const PdbStream = { info: 1, tpi: 2, dbi: 3, ipi: 4 } as const;

export interface SectionHeader {
  readonly name: string;
  readonly virtualSize: number;
  readonly virtualAddress: number;
  /** IMAGE_SCN_* flags. */
  readonly characteristics: number;
}

export class PdbFile {
  readonly msf: MsfFile;
  readonly info: PdbInfo;
  readonly dbi: Dbi;
  readonly sections: readonly SectionHeader[];

  private constructor(msf: MsfFile, info: PdbInfo, dbi: Dbi, sections: readonly SectionHeader[]) {
    this.msf = msf;
    this.info = info;
    this.dbi = dbi;
    this.sections = sections;
  }

  static async open(source: ByteSource): Promise<PdbFile> {
    const msf = await MsfFile.open(source);
    const infoStream = msf.stream(PdbStream.info, 'PDB info stream');
    if (!infoStream) throw new FormatError(source.name, 'PDB info stream', undefined, 'the PDB has no info stream (stream 1)');
    const info = await readPdbInfo(infoStream);
    const dbiStream = msf.stream(PdbStream.dbi, 'DBI stream');
    if (!dbiStream || dbiStream.size === 0) throw new FormatError(source.name, 'DBI stream', undefined, 'the PDB has no DBI stream (stream 3): a type-only PDB');
    const dbi = await readDbi(dbiStream);
    const sectionStream = dbi.debugStreams.sectionHeaders === NO_STREAM ? undefined : msf.stream(dbi.debugStreams.sectionHeaders, 'section headers');
    const sections = sectionStream ? await readSectionHeaders(sectionStream) : [];
    return new PdbFile(msf, info, dbi, sections);
  }

  /** The debug id a module's CodeView record names: GUID and DBI age (Breakpad's form). */
  get debugId(): string {
    return this.info.guid + this.dbi.header.age.toString(16).toUpperCase();
  }

  /** A stream by number; undefined for NO_STREAM, a missing or a deleted stream. */
  stream(index: number, name?: string): MsfStream | undefined {
    return index === NO_STREAM ? undefined : this.msf.stream(index, name);
  }

  /** A named stream ("/names", ...). */
  namedStream(name: string): MsfStream | undefined {
    const index = this.info.namedStreams.get(name);
    return index === undefined ? undefined : this.stream(index, name);
  }

  /** section:offset (1-based section) as an RVA, or undefined when the section is unknown. */
  rva(section: number, offset: number): number | undefined {
    const s = this.sections[section - 1];
    return s === undefined ? undefined : s.virtualAddress + offset;
  }
}

/** IMAGE_SECTION_HEADER, 40 bytes each. */
async function readSectionHeaders(stream: ByteSource): Promise<SectionHeader[]> {
  const count = Math.floor(stream.size / 40);
  const r = new Reader(await readExact(stream, 0, count * 40, 'section headers'), stream.name, 0, 'section headers');
  const out: SectionHeader[] = [];
  for (let i = 0; i < count; i++) {
    const nameBytes = r.bytes.subarray(i * 40, i * 40 + 8);
    const nul = nameBytes.indexOf(0);
    out.push({
      name: new TextDecoder('latin1').decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)),
      virtualSize: r.u32(i * 40 + 8),
      virtualAddress: r.u32(i * 40 + 12),
      characteristics: r.u32(i * 40 + 36),
    });
  }
  return out;
}
