/**
 * A PDB as a module's symbols: procedures and thunks of every module (indexed once, on first use,
 * as sorted typed arrays), publics as the fallback, and per module the C13 lines and a
 * procedure's inline sites decoded when a lookup lands there. Results take the shapes the .sym
 * path gives (formats/breakpad-sym/symbol-file.ts), with the same meaning of file/line for inlines.
 */
import { readExact, type ByteSource } from '../io/byte-source.js';
import { isFormatError } from '../io/errors.js';
import { Reader } from '../io/reader.js';
import type { InlineFrame } from '../formats/breakpad-sym/index.js';
import { readFrameInfo } from '../formats/pdb/frame-data.js';
import { findLine, parseC13Lines, type StringTable, type C13Lines, type LineEntry } from '../formats/pdb/lines.js';
import { readStringTable } from '../formats/pdb/string-table.js';
import { PdbFile, PdbStream } from '../formats/pdb/pdb-file.js';
import {
  codeSymbolName,
  codeSymbolNameKey,
  CV_SIGNATURE_C13,
  procedureRegisterParameters,
  readProcedureScopes,
  scanCodeSymbols,
  scanPublics,
  type CodeSymbol,
  type InlineSite,
} from '../formats/pdb/symbols.js';
import { TypeNames, TypeStream } from '../formats/pdb/types.js';
import type { DumpSymsFile, DumpSymsFunction, DumpSymsInline, DumpSymsInlineOrigin, DumpSymsLine } from './dump-syms.js';
import type { ModuleSymbols, SymbolInfo, WindowsFrameInfo } from './provider.js';
import { undecoratePublicName } from './undecorate.js';

const IMAGE_FILE_MACHINE_I386 = 0x14c;
/** CV_REG_EBP in cvconst.h's CV_HREG_e. */
const CV_REG_EBP = 22;

/** Module details kept decoded at once; older ones are decoded again when asked for. */
const MODULE_CACHE = 16;

/** What the one index pass found, and what it passed over. */
export interface PdbIndexStats {
  readonly modules: number;
  /** Modules without a C13 symbol stream (no stream, or another signature). */
  readonly modulesSkipped: number;
  readonly procedures: number;
  readonly publics: number;
  /** Records that did not parse (cut or too short), across the module streams and the record stream. */
  readonly recordsSkipped: number;
}

interface CodeIndex {
  /** Sorted by rva: procedures and thunks of every module. */
  readonly rva: Float64Array;
  readonly size: Float64Array;
  readonly module: Uint32Array;
  readonly symbol: CodeSymbol[];
  /** Each procedure's codeSymbolNameKey: folded procedures (one rva) sort by it. */
  readonly nameKey: Float64Array;
  /** Sorted by rva; public names kept as they are (decorated). */
  readonly publicRva: Float64Array;
  readonly publicName: string[];
  /** Section contributions sorted by rva: which module the linker took each piece of code from. */
  readonly contributionRva: Float64Array;
  readonly contributionSize: Float64Array;
  readonly contributionModule: Uint32Array;
  /** 1 for a module whose symbol stream the index read (a C13 stream), 0 for one passed over. */
  readonly hasSymbols: Uint8Array;
  readonly stats: PdbIndexStats;
}

interface ModuleDetail {
  readonly symbols: Reader;
  readonly lines: C13Lines;
}

/** A PDB's symbols behind the ModuleSymbols interface. */
export class PdbModuleSymbols implements ModuleSymbols {
  readonly pdb: PdbFile;
  /** x86 C names carry a calling-convention decoration (`_f`, `_f@8`, `@f@8`). */
  private readonly x86: boolean;
  /**
   * Whether a static procedure with no public is named by the declaration DIA makes up for it
   * ("static int f(char *)"), as in every dump_syms output seen but one: for x64 PDBs, and for
   * x86 PDBs without an IPI stream (older toolchains); an x86 PDB with IPI (sentry's crash.pdb,
   * MSVC 2017) gets the bare name in its crash.sym.
   */
  private readonly declaresStatics: boolean;
  private indexing: Promise<CodeIndex> | undefined;
  private names: Promise<StringTable> | undefined;
  private types: Promise<TypeNames> | undefined;
  private frames: Promise<{ find(rva: number): WindowsFrameInfo | undefined }> | undefined;
  private readonly modules = new Map<number, Promise<ModuleDetail>>();
  private moduleByName: Map<string, number> | undefined;
  private readonly scopes = new Map<number, readonly InlineSite[]>();
  /** foldedChoice's answers where name keys tied, by the run's first index. */
  private readonly folds = new Map<number, number>();
  /** Records walked while decoding inline sites (the work lookups did), for tests to bound. */
  scopeRecordsWalked = 0;

  constructor(pdb: PdbFile) {
    this.pdb = pdb;
    this.x86 = pdb.dbi.header.machine === IMAGE_FILE_MACHINE_I386;
    this.declaresStatics = !this.x86 || !(pdb.stream(PdbStream.ipi, 'IPI stream')?.size);
  }

  /** Counts from the index pass (building it when needed). */
  async indexStats(): Promise<PdbIndexStats> {
    return (await this.index()).stats;
  }

  async lookup(rva: number): Promise<SymbolInfo | undefined> {
    const index = await this.index();
    const i = findCovering(index.rva, index.size, rva);
    const p = lastAtOrBelow(index.publicRva, rva);
    if (i < 0) {
      // As Breakpad: a public counts only when no procedure starts between it and rva.
      if (p < 0) return undefined;
      const f = lastAtOrBelow(index.rva, rva);
      if (f >= 0 && index.rva[f]! > index.publicRva[p]!) return undefined;
      return this.publicLookup(index, p);
    }
    // A thunk (an import's `jmp [__imp_f]`, an incremental-link stub) is named by its public, as
    // dump_syms writes it: DIA lists thunks apart from functions.
    if (index.symbol[i]!.kind === 'thunk' && p >= 0 && index.publicRva[p] === index.rva[i]) return this.publicLookup(index, p);
    const chosen = await this.foldedChoice(index, i);
    return this.procedureLookup(index, rva - index.rva[chosen]! < index.size[chosen]! ? chosen : i, rva);
  }

  /**
   * Of procedures folded at index i's rva (one body, several records), the one dump_syms names:
   * DIA's MaybeRecordSymbol keeps the least decorated name (wcscmp), the first in stream order
   * among equal names. The index sorts a run by its name keys; only a tie on the key decodes names.
   */
  private async foldedChoice(index: CodeIndex, i: number): Promise<number> {
    let first = i;
    while (first > 0 && index.rva[first - 1] === index.rva[i]) first--;
    let tied = first + 1;
    while (tied < index.rva.length && index.rva[tied] === index.rva[first] && index.nameKey[tied] === index.nameKey[first]) tied++;
    if (tied === first + 1) return first;
    const cached = this.folds.get(first);
    if (cached !== undefined) return cached;
    let best = first;
    let bestName: string | undefined;
    for (let j = first; j < tied; j++) {
      const { name } = codeSymbolName((await this.moduleDetail(index.module[j]!)).symbols, index.symbol[j]!);
      if (bestName === undefined || name < bestName) {
        best = j;
        bestName = name;
      }
    }
    this.folds.set(first, best);
    return best;
  }

  /**
   * Every procedure as dump_syms writes it: one FUNC per address (folded procedures named as
   * lookup names them), each with all its line entries, and the FILE table they number into. File
   * ids are DIA's source file ids: one per (module, DEBUG_S_FILECHKSMS entry), counted from 1 in
   * module order then checksum order, a name seen before keeping its first id (PrintSourceFiles).
   */
  async functionRecords(options: { inline?: boolean } = {}): Promise<{ files: DumpSymsFile[]; functions: DumpSymsFunction[]; inlineOrigins: DumpSymsInlineOrigin[] }> {
    const index = await this.index();
    const [names, types] = await Promise.all([this.stringTable(), this.typeNames()]);
    const origins = new Map<string, number>();
    // One pass over every module: kept here rather than in the LRU, which a walk in address order would thrash.
    const details = new Map<number, ModuleDetail>();
    const fileIds = new Map<number, Map<number, number>>();
    // dump_syms --i: a FILE 0 for call sites no line record covers.
    const files: DumpSymsFile[] = options.inline ? [{ id: 0, name: 'unknown file' }] : [];
    const byName = new Map<string, number>();
    let uniqueId = 0;
    for (const m of this.pdb.dbi.modules) {
      if (index.hasSymbols[m.index] !== 1) continue;
      const detail = await this.moduleDetail(m.index);
      details.set(m.index, detail);
      const ids = new Map<number, number>();
      for (const [checksumAt, nameAt] of detail.lines.fileNameOffsets) {
        uniqueId++;
        const name = names.get(nameAt) ?? '';
        let id = byName.get(name);
        if (id === undefined) {
          id = uniqueId;
          byName.set(name, id);
          files.push({ id, name });
        }
        ids.set(checksumAt, id);
      }
      fileIds.set(m.index, ids);
    }
    const functions: DumpSymsFunction[] = [];
    for (let i = 0; i < index.rva.length; i++) {
      const rva = index.rva[i]!;
      if (i > 0 && index.rva[i - 1] === rva) continue;
      const info = await this.lookup(rva);
      if (!info || info.isPublic || info.functionSize === undefined) continue;
      const chosen = await this.foldedChoice(index, i);
      const symbol = index.symbol[chosen]!;
      const module = this.lineModule(index, chosen, rva, (m) => details.get(m));
      const lines: DumpSymsLine[] = [];
      const entries = details.get(module)?.lines.lines ?? [];
      const ids = fileIds.get(module);
      // findLinesByRVA(rva, length): every entry starting inside the procedure, empty ones included.
      for (let l = firstLineAtOrAfter(entries, symbol.section, symbol.offset); l < entries.length; l++) {
        const e = entries[l]!;
        if (e.section !== symbol.section || e.offset - symbol.offset >= info.functionSize) break;
        lines.push({ rva: rva + (e.offset - symbol.offset), size: e.size, line: e.line, fileId: ids?.get(e.fileId) ?? 0 });
      }
      let inlines: DumpSymsInline[] = [];
      let written = lines;
      if (options.inline && symbol.kind === 'procedure') {
        const own = index.module[chosen]!;
        const detail = details.get(own)!;
        const ownIds = fileIds.get(own);
        const sites = this.procedureScopes(own, symbol, detail);
        const siteNames: string[] = [];
        for (const site of sites) {
          const id = await this.globalId(index, detail, site.inlinee, names);
          siteNames.push((id === undefined ? undefined : types.inlineeName(id)) || '<name omitted>');
        }
        const tree = inlineTree(lines, sites, siteNames, rva, (fileId) => (fileId === undefined ? 0 : (ownIds?.get(fileId) ?? 0)), (name) => {
          let id = origins.get(name);
          if (id === undefined) origins.set(name, (id = origins.size));
          return id;
        });
        inlines = tree.inlines;
        written = tree.lines;
      }
      functions.push({
        rva,
        size: info.functionSize,
        parameterSize: info.parameterSize,
        name: info.functionName,
        multiple: info.isMultiple,
        lines: written,
        inlines,
      });
    }
    return { files, functions, inlineOrigins: [...origins].map(([name, id]) => ({ id, name })) };
  }

  /**
   * The module whose lines cover procedure i at rva: folded code (one body, several modules'
   * procedures) takes its lines from the module the linker kept it from, the section
   * contribution's, as DIA does, when that module has lines there; else the procedure's own.
   */
  private lineModule(index: CodeIndex, i: number, rva: number, detailOf: (module: number) => ModuleDetail | undefined): number {
    const own = index.module[i]!;
    const c = findCovering(index.contributionRva, index.contributionSize, rva);
    const owner = c < 0 ? own : index.contributionModule[c]!;
    if (owner === own || index.hasSymbols[owner] !== 1) return own;
    const symbol = index.symbol[i]!;
    const detail = detailOf(owner);
    return detail && findLine(detail.lines.lines, symbol.section, symbol.offset + (rva - index.rva[i]!)) >= 0 ? owner : own;
  }

  private publicLookup(index: CodeIndex, p: number): SymbolInfo {
    const name = index.publicName[p]!;
    const undecorated = this.x86 ? undecorateX86CName(name) : undefined;
    return publicLookup(undecorated?.name ?? name, index.publicRva[p]!, undecorated?.parameterSize ?? 0);
  }

  findCfiRules(): Promise<Map<string, string> | undefined> {
    return Promise.resolve(undefined);
  }

  async findWindowsFrameInfo(rva: number): Promise<WindowsFrameInfo | undefined> {
    this.frames ??= readFrameInfo(this.pdb);
    return (await this.frames).find(rva);
  }

  private async procedureLookup(index: CodeIndex, i: number, rva: number): Promise<SymbolInfo> {
    const symbol = index.symbol[i]!;
    const start = index.rva[i]!;
    const detail = await this.moduleDetail(index.module[i]!);
    const [names, types] = await Promise.all([this.stringTable(), this.typeNames()]);
    const { name, typeIndex, isLocal } = codeSymbolName(detail.symbols, symbol);
    const fileName = (fileId: number | undefined): string | undefined => {
      if (fileId === undefined) return undefined;
      const at = detail.lines.fileNameOffsets.get(fileId);
      return at === undefined ? undefined : names.get(at);
    };
    const sectionOffset = symbol.offset + (rva - start);
    // Folded code takes its lines from the module the linker kept it from (lineModule).
    const c = findCovering(index.contributionRva, index.contributionSize, rva);
    const owner = c < 0 ? index.module[i]! : index.contributionModule[c]!;
    const ownerDetail = owner !== index.module[i] && index.hasSymbols[owner] === 1 ? await this.moduleDetail(owner) : undefined;
    const lineDetail = this.lineModule(index, i, rva, (m) => (m === owner ? ownerDetail : undefined)) === owner && ownerDetail ? ownerDetail : detail;
    const l = findLine(lineDetail.lines.lines, symbol.section, sectionOffset);
    const lineEntry = l < 0 ? undefined : lineDetail.lines.lines[l]!;
    const lineFileName = (fileId: number): string | undefined => {
      const at = lineDetail.lines.fileNameOffsets.get(fileId);
      return at === undefined ? undefined : names.get(at);
    };
    const inlines: InlineFrame[] = [];
    if (symbol.kind === 'procedure') {
      const sites = this.procedureScopes(index.module[i]!, symbol, detail);
      for (const { site, range } of inlineChain(sites, rva - start)) {
        const id = await this.globalId(index, detail, site.inlinee, names);
        inlines.push({
          name: (id === undefined ? undefined : types.inlineeName(id)) ?? '<name omitted>',
          file: fileName(range.fileId),
          line: range.line,
          functionAddress: start + runStart(site.ranges, range),
        });
      }
    }
    const named = this.functionName(index, i, name, typeIndex, isLocal, types);
    const parameterSize = named.parameterSize ?? (symbol.kind === 'procedure' ? this.stackParameterSize(detail, symbol, typeIndex, types) : 0);
    return {
      functionName: named.name,
      functionAddress: start,
      functionSize: index.size[i]!,
      parameterSize,
      isPublic: false,
      isMultiple: (i > 0 && index.rva[i - 1] === start) || (i + 1 < index.rva.length && index.rva[i + 1] === start),
      file: lineEntry ? lineFileName(lineEntry.fileId) : undefined,
      line: lineEntry?.line,
      lineAddress: lineEntry ? start + (lineEntry.offset - symbol.offset) : undefined,
      inlines,
    };
  }

  /**
   * The procedure's name with the parameter list dump_syms shows for C++ functions (those whose
   * public name is decorated, `?...`); C functions keep the bare name, as they do in dump_syms.
   */
  private functionName(index: CodeIndex, i: number, name: string, typeIndex: number, isLocal: boolean, types: TypeNames): { name: string; parameterSize: number | undefined } {
    const rva = index.rva[i]!;
    let decorated = false;
    for (let p = lastAtOrBelow(index.publicRva, rva); p >= 0 && index.publicRva[p] === rva; p--) {
      const publicName = index.publicName[p]!;
      decorated ||= publicName.startsWith('?');
      if (publicName.startsWith('?')) continue;
      // A C procedure is named as DIA undecorates its public: x86's `__f` and x64's `__f` both
      // lose one underscore (an x86 procedure record already lacks the added one; an assembler's
      // carries it, "__SEH_prolog4"), and a __stdcall decoration gives the parameter size.
      const undecorated = undecoratePublicName(publicName);
      if (publicName === name || undecorated.name === name) {
        return { name: undecorated.name, parameterSize: undecorated.sizeFromName ? undecorated.parameterSize : undefined };
      }
    }
    if (!decorated) {
      const declared = isLocal && this.declaresStatics ? types.staticDeclaration(name, typeIndex) : undefined;
      return { name: declared ?? name, parameterSize: undefined };
    }
    const params = types.parameterList(typeIndex);
    return { name: params === undefined ? name : name + params, parameterSize: undefined };
  }

  /**
   * dump_syms' GetFunctionStackParamSize, for a FUNC whose name gives no parameter size: from the
   * lowest EBP-relative parameter offset (no lower than 4, the return address's) to the end of the
   * highest, rounded up to 4 bytes. Parameters of unknown size are passed over, as DIA's failing
   * get_length makes dump_syms do.
   */
  private stackParameterSize(detail: ModuleDetail, symbol: CodeSymbol, typeIndex: number, types: TypeNames): number {
    const count = types.parameterCount(typeIndex);
    if (!count) return 0;
    let lowest = Infinity;
    let highest = -Infinity;
    for (const p of procedureRegisterParameters(detail.symbols, symbol.recordOffset, detail.symbols.length, count)) {
      const size = p.register === CV_REG_EBP ? types.typeSize(p.typeIndex) : undefined;
      if (size === undefined) continue;
      lowest = Math.min(lowest, p.offset);
      highest = Math.max(highest, p.offset + size);
    }
    lowest = Math.max(lowest, 4);
    if (!(highest > lowest)) return 0;
    if (highest % 4 !== 0) highest += 4 - (highest % 4);
    return highest - lowest;
  }

  /** An IPI id as a module uses it, resolved through its cross-scope imports when the top bit says so. */
  private async globalId(index: CodeIndex, detail: ModuleDetail, id: number, names: StringTable): Promise<number | undefined> {
    if ((id & 0x80000000) === 0) return id;
    const entry = detail.lines.imports[(id >>> 20) & 0x7ff];
    const local = entry?.ids[id & 0xfffff];
    const scope = entry === undefined ? undefined : names.get(entry.scope);
    if (local === undefined || scope === undefined) return undefined;
    this.moduleByName ??= new Map(this.pdb.dbi.modules.map((m) => [m.moduleName.toLowerCase(), m.index]));
    const module = this.moduleByName.get(scope.toLowerCase());
    if (module === undefined || index.hasSymbols[module] !== 1) return undefined;
    return (await this.moduleDetail(module)).lines.exports.get(local);
  }

  private procedureScopes(module: number, symbol: CodeSymbol, detail: ModuleDetail): readonly InlineSite[] {
    const key = module * 0x1_0000_0000 + symbol.recordOffset;
    let sites = this.scopes.get(key);
    if (!sites) {
      const scopes = readProcedureScopes(detail.symbols, symbol.recordOffset, detail.symbols.length, (id) => detail.lines.inlinees.get(id));
      this.scopeRecordsWalked += scopes.records;
      sites = scopes.inlineSites;
      this.scopes.set(key, sites);
    }
    return sites;
  }

  private index(): Promise<CodeIndex> {
    this.indexing ??= this.buildIndex();
    return this.indexing;
  }

  private async buildIndex(): Promise<CodeIndex> {
    const entries: { rva: number; size: number; module: number; symbol: CodeSymbol; nameKey: number }[] = [];
    let modulesSkipped = 0;
    let recordsSkipped = 0;
    const hasSymbols = new Uint8Array(this.pdb.dbi.modules.length);
    for (const m of this.pdb.dbi.modules) {
      // A module whose stream is cut or missing is passed over, not the whole PDB lost.
      const symbols = await this.symbolBytes(m.index).catch((e: unknown) => {
        if (isFormatError(e)) return undefined;
        throw e;
      });
      if (!symbols) {
        modulesSkipped++;
        continue;
      }
      hasSymbols[m.index] = 1;
      const scan = scanCodeSymbols(symbols, symbols.length);
      recordsSkipped += scan.skipped;
      for (const s of scan.symbols) {
        const rva = this.pdb.rva(s.section, s.offset);
        if (rva !== undefined && s.size > 0) entries.push({ rva, size: s.size, module: m.index, symbol: s, nameKey: codeSymbolNameKey(symbols, s) });
      }
    }
    // Folded procedures (one rva) by name, as far as the key tells; ties stay in stream order for foldedChoice.
    entries.sort((a, b) => a.rva - b.rva || a.nameKey - b.nameKey);
    const publics: { rva: number; name: string }[] = [];
    const recordStream = this.pdb.stream(this.pdb.dbi.header.symRecordStream, 'symbol record stream');
    if (recordStream) {
      const r = new Reader(await readExact(recordStream, 0, recordStream.size, 'symbol record stream'), recordStream.name, 0, 'symbol record stream');
      const scan = scanPublics(r);
      recordsSkipped += scan.skipped;
      for (const p of scan.publics) {
        const rva = this.pdb.rva(p.section, p.offset);
        if (rva !== undefined && (p.isCode || p.isFunction)) publics.push({ rva, name: p.name });
      }
    }
    publics.sort((a, b) => a.rva - b.rva);
    const contributions: { rva: number; size: number; module: number }[] = [];
    for (const c of this.pdb.dbi.sectionContributions) {
      const rva = this.pdb.rva(c.section, c.offset);
      if (rva !== undefined && c.size > 0 && c.moduleIndex < this.pdb.dbi.modules.length) contributions.push({ rva, size: c.size, module: c.moduleIndex });
    }
    contributions.sort((a, b) => a.rva - b.rva);
    return {
      rva: Float64Array.from(entries, (e) => e.rva),
      size: Float64Array.from(entries, (e) => e.size),
      module: Uint32Array.from(entries, (e) => e.module),
      symbol: entries.map((e) => e.symbol),
      nameKey: Float64Array.from(entries, (e) => e.nameKey),
      publicRva: Float64Array.from(publics, (p) => p.rva),
      publicName: publics.map((p) => p.name),
      contributionRva: Float64Array.from(contributions, (c) => c.rva),
      contributionSize: Float64Array.from(contributions, (c) => c.size),
      contributionModule: Uint32Array.from(contributions, (c) => c.module),
      hasSymbols,
      stats: {
        modules: this.pdb.dbi.modules.length,
        modulesSkipped,
        procedures: entries.length,
        publics: publics.length,
        recordsSkipped,
      },
    };
  }

  /** A module's CodeView symbols (signature included, so record offsets are stream offsets), or undefined. */
  private async symbolBytes(module: number): Promise<Reader | undefined> {
    const m = this.pdb.dbi.modules[module]!;
    const stream = this.pdb.stream(m.symStream, `module ${module} symbol stream`);
    if (!stream || m.symByteSize < 4) return undefined;
    const r = new Reader(await readExact(stream, 0, m.symByteSize, 'module symbols'), stream.name, 0, 'module symbols');
    return r.u32(0) === CV_SIGNATURE_C13 ? r : undefined;
  }

  private moduleDetail(module: number): Promise<ModuleDetail> {
    const cached = this.modules.get(module);
    if (cached) {
      this.modules.delete(module);
      this.modules.set(module, cached);
      return cached;
    }
    const loading = this.decodeModule(module);
    this.modules.set(module, loading);
    loading.catch(() => this.modules.delete(module));
    if (this.modules.size > MODULE_CACHE) this.modules.delete(this.modules.keys().next().value!);
    return loading;
  }

  private async decodeModule(module: number): Promise<ModuleDetail> {
    const m = this.pdb.dbi.modules[module]!;
    const symbols = (await this.symbolBytes(module))!;
    const stream = this.pdb.stream(m.symStream, `module ${module} symbol stream`)!;
    // C13 data cut short by the stream's end keeps its whole subsections (parseC13Lines counts the cut one).
    const c13At = Math.min(m.symByteSize + m.c11ByteSize, stream.size);
    const c13Size = Math.min(m.c13ByteSize, stream.size - c13At);
    const c13 = new Reader(await readExact(stream, c13At, c13Size, 'C13 line information'), stream.name, c13At, 'C13 line information');
    return { symbols, lines: parseC13Lines(c13) };
  }

  private stringTable(): Promise<StringTable> {
    this.names ??= readStringTable(this.pdb);
    return this.names;
  }

  private typeNames(): Promise<TypeNames> {
    this.types ??= (async () => {
      const read = async (index: number, name: string): Promise<TypeStream> => {
        const stream = this.pdb.stream(index, name);
        if (!stream || stream.size === 0) return TypeStream.empty();
        return TypeStream.parse(new Reader(await readExact(stream, 0, stream.size, name), stream.name, 0, name));
      };
      return new TypeNames(await read(PdbStream.tpi, 'TPI stream'), await read(PdbStream.ipi, 'IPI stream'));
    })();
    return this.types;
  }
}

/** Opens a PDB for symbol lookups; the index is built on the first lookup. */
export async function loadPdbSymbols(source: ByteSource): Promise<PdbModuleSymbols> {
  return new PdbModuleSymbols(await PdbFile.open(source));
}

function publicLookup(functionName: string, functionAddress: number, parameterSize: number): SymbolInfo {
  return {
    functionName,
    functionAddress,
    functionSize: undefined,
    parameterSize,
    isPublic: true,
    isMultiple: false,
    file: undefined,
    line: undefined,
    lineAddress: undefined,
    inlines: [],
  };
}

function lastAtOrBelow(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= value) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The INLINE records and line records of one function as dump_syms --i makes them
 * (PDBSourceLineWriter::GetInlines): the function's non-empty lines, then each inline site in record
 * order (parents before children) takes its call site from the line covering its first range as
 * the lines stand then, and its ranges' lines replace what they overlap; contiguous ranges merge.
 */
export function inlineTree(
  lines: readonly DumpSymsLine[],
  sites: readonly InlineSite[],
  siteNames: readonly string[],
  functionRva: number,
  fileId: (checksumOffset: number | undefined) => number,
  originId: (name: string) => number,
): { lines: DumpSymsLine[]; inlines: DumpSymsInline[] } {
  // Non-overlapping lines sorted by rva (Lines::AddLine keeps them so).
  let map: DumpSymsLine[] = lines.filter((l) => l.size > 0).sort((a, b) => a.rva - b.rva);
  const covering = (rva: number): DumpSymsLine | undefined => map.find((l) => rva >= l.rva && rva - l.rva < l.size);
  const addLine = (line: DumpSymsLine): void => {
    const end = line.rva + line.size;
    const kept: DumpSymsLine[] = [];
    for (const old of map) {
      const oldEnd = old.rva + old.size;
      if (oldEnd <= line.rva || old.rva >= end) kept.push(old);
      else {
        if (old.rva < line.rva) kept.push({ ...old, size: line.rva - old.rva });
        if (oldEnd > end) kept.push({ ...old, rva: end, size: oldEnd - end });
      }
    }
    kept.push(line);
    map = kept.sort((a, b) => a.rva - b.rva);
  };
  const inlines: DumpSymsInline[] = [];
  sites.forEach((site, k) => {
    let callSiteLine = 0;
    let callSiteFileId = 0;
    // Inline::ExtendRanges: a line after the first range joins a range it touches, else starts one.
    const ranges: { rva: number; size: number }[] = [];
    for (const r of site.ranges) {
      const line: DumpSymsLine = { rva: functionRva + r.start, size: r.size, line: r.line ?? 0, fileId: fileId(r.fileId) };
      if (callSiteLine === 0) callSiteLine = covering(line.rva)?.line ?? 0;
      if (callSiteFileId === 0) callSiteFileId = covering(line.rva)?.fileId ?? 0;
      addLine(line);
      extendRanges(ranges, line);
    }
    inlines.push({ nestLevel: site.depth, callSiteLine, callSiteFileId, originId: originId(siteNames[k]!), ranges });
  });
  return { lines: map, inlines };
}

/** Inline::ExtendRanges on ranges sorted by rva, quirks kept: a line starting at or before the first range is dropped. */
function extendRanges(ranges: { rva: number; size: number }[], line: { rva: number; size: number }): void {
  if (ranges.length === 0) {
    ranges.push({ rva: line.rva, size: line.size });
    return;
  }
  let at = ranges.findIndex((r) => r.rva >= line.rva);
  if (at === 0) return;
  if (at < 0) at = ranges.length;
  const next = ranges[at];
  if (next && line.rva + line.size === next.rva) {
    ranges.splice(at, 1, { rva: line.rva, size: line.size + next.size });
    return;
  }
  const prev = ranges[at - 1]!;
  if (prev.rva + prev.size === line.rva) prev.size += line.size;
  else ranges.splice(at, 0, { rva: line.rva, size: line.size });
}

/** Index of the first line entry at or after section:offset (entries sorted by section, then offset). */
function firstLineAtOrAfter(lines: readonly LineEntry[], section: number, offset: number): number {
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const l = lines[mid]!;
    if (l.section < section || (l.section === section && l.offset < offset)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How far back from the last start at or below rva to look for an enclosing range (overlaps are rare). */
const OVERLAP_LOOKBACK = 8;

/**
 * The latest-starting range containing rva, or -1. Of folded procedures (one start, several
 * records) the first in stream order wins, as in dump_syms, which names the address after it.
 */
function findCovering(rva: Float64Array, size: Float64Array, value: number): number {
  const last = lastAtOrBelow(rva, value);
  let first = last;
  while (first > 0 && rva[first - 1] === rva[last]) first--;
  for (let i = first; i <= last; i++) if (value - rva[i]! < size[i]!) return i;
  for (let i = first - 1; i >= 0 && i > first - OVERLAP_LOOKBACK; i--) if (value - rva[i]! < size[i]!) return i;
  return -1;
}

/** The inline sites whose ranges contain the procedure-relative offset, innermost first, each with its range there. */
function inlineChain(sites: readonly InlineSite[], offset: number): { site: InlineSite; range: InlineSite['ranges'][number] }[] {
  const hits = new Map<number, InlineSite['ranges'][number]>();
  let deepest = -1;
  sites.forEach((site, i) => {
    const range = site.ranges.find((r) => offset >= r.start && offset - r.start < r.size);
    if (!range) return;
    hits.set(i, range);
    if (deepest < 0 || site.depth > sites[deepest]!.depth) deepest = i;
  });
  const chain: { site: InlineSite; range: InlineSite['ranges'][number] }[] = [];
  for (let i = deepest; i >= 0; i = sites[i]!.parent) {
    const range = hits.get(i);
    if (range) chain.push({ site: sites[i]!, range });
  }
  return chain;
}

/**
 * An x86 C name without its calling-convention decoration, as DIA's undecorated names (and so
 * dump_syms) give it: `_f` (cdecl), `_f@8` (stdcall) and `@f@8` (fastcall), the number being the
 * bytes of stack parameters. undefined for C++ names (`?...`) and undecorated ones.
 */
export function undecorateX86CName(name: string): { name: string; parameterSize: number } | undefined {
  const m = /^([_@])([^@?]+)(?:@(\d+))?$/.exec(name);
  if (!m || (m[1] === '@' && m[3] === undefined)) return undefined;
  return { name: m[2]!, parameterSize: m[3] === undefined ? 0 : Number(m[3]) };
}

/** Start of the contiguous run of an inline site's line ranges that holds `range`: the inlined range Breakpad's INLINE gives. */
function runStart(ranges: InlineSite['ranges'], range: InlineSite['ranges'][number]): number {
  let k = ranges.indexOf(range);
  while (k > 0 && ranges[k - 1]!.start + ranges[k - 1]!.size === ranges[k]!.start) k--;
  return ranges[k]!.start;
}
