// A Breakpad .sym file behind a compact index: lookups search typed arrays built by one scan, then
// re-read and decode just the records they hit. Lookup rules follow Breakpad's
// processor/basic_source_line_resolver.cc (LookupAddress, ConstructInlineFrames,
// FindWindowsFrameInfo, FindCFIFrameInfo), so results match minidump_stackwalk's.

import { readExact, type ByteSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { applyCfiRuleSet } from './cfi-rules.js';
import { decodeText, LineSplitter, Scratch, startsWith } from './line-syntax.js';
import { ContainedRangeIndex, ExclusiveRangeIndex, firstAtOrAbove, lastAtOrBelow } from './range-index.js';
import {
  parseFunc,
  parseInline,
  parseLineRecord,
  parsePublic,
  parseStack,
  PREFIX,
  emptyInline,
  type InlineRecord,
  type LineRecord,
  type StackWinRecord,
} from './records.js';
import { scanSymbolFile, type ModuleInfo, type RecordColumns, type ScanResult } from './scan.js';

export type { ModuleInfo } from './scan.js';

export interface SymbolFile {
  readonly module: ModuleInfo | undefined;
  readonly codeId: string | undefined;
  /**
   * Lines the index scan skipped as malformed (plus duplicate PUBLIC addresses, as Breakpad counts
   * them). Line and INLINE records inside a FUNC block are checked only when a lookup decodes it.
   */
  readonly parseErrors: number;
  /** Symbol info for a module-relative address (rva). */
  lookup(rva: number): Promise<SymbolLookup | undefined>;
  /** True when lookup(rva) would find a FUNC or PUBLIC; answered from the index alone. */
  hasSymbol(rva: number): boolean;
  /**
   * CFI rules in effect at rva: the STACK CFI INIT rules overlaid with every delta whose address is
   * in [INIT address, rva]. Register name ('.cfa', '.ra', '$rbp', 'x29', ...) -> postfix expression.
   */
  findCfiRules(rva: number): Promise<Map<string, string> | undefined>;
  /** The innermost STACK WIN type 4 (FrameData) record covering rva, else the innermost type 0 (FPO) one. */
  findWindowsFrameInfo(rva: number): Promise<WindowsFrameInfo | undefined>;
}

/** One inlined call at an address; Breakpad prints each as its own frame. */
export interface InlineFrame {
  /** The INLINE_ORIGIN name ("<name omitted>" when the origin id is unknown, as in Breakpad). */
  name: string;
  /** Where the inlinee is: the line record for the innermost one, else the call site of the next inner one. */
  file: string | undefined;
  line: number | undefined;
  /** rva of the inlined range containing the address (Breakpad's function_base for the inline frame). */
  functionAddress: number;
}

export interface SymbolLookup {
  /** The FUNC (or PUBLIC, when no FUNC covers rva) the address belongs to. */
  functionName: string;
  /** rva of the function start. */
  functionAddress: number;
  /** undefined for PUBLIC. */
  functionSize: number | undefined;
  parameterSize: number;
  isPublic: boolean;
  /** The `m` flag: several functions were folded into this address. */
  isMultiple: boolean;
  /**
   * Source location in the outer (physical) function: the line record covering rva when nothing is
   * inlined there, else the call site of the outermost inlined call.
   */
  file: string | undefined;
  line: number | undefined;
  /** rva where the covering line record starts, even when file/line are a call site (as in Breakpad). */
  lineAddress: number | undefined;
  /** Inlined calls at rva, innermost first. */
  inlines: InlineFrame[];
}

/**
 * x86 frame data for one code range (Breakpad's WindowsFrameInfo), as a STACK WIN line gives it and
 * as a PDB would: type 0 from an FPO_DATA record (no program; fUseBP is allocatesBasePointer),
 * type 4 from a FRAMEDATA record (the program is the string at FrameFunc). Sizes are in bytes.
 * Only data: the x86 walker evaluates the program (unwind/x86.ts).
 */
export interface WindowsFrameInfo {
  /** StackInfoTypes: 0 FPO, 1 trap, 2 TSS, 3 standard (non-FPO), 4 frame data; lookups return only 0 and 4, as Breakpad's do. */
  type: 0 | 1 | 2 | 3 | 4;
  rva: number;
  codeSize: number;
  prologueSize: number;
  epilogueSize: number;
  /** .cbParams; it also feeds the .cbCalleeParams of the frames above (unwind/x86.ts says how). */
  parameterSize: number;
  /** .cbSavedRegs */
  savedRegisterSize: number;
  /** .cbLocals */
  localSize: number;
  maxStackSize: number;
  /** From the last field when there is no program string: the function keeps its caller's EBP among its saved registers. */
  allocatesBasePointer: boolean;
  /** The postfix program that gives the caller's $eip, $esp, $ebp (and callee-saved registers), when there is one. */
  programString: string | undefined;
}

/** A parsed STACK WIN line as the record walkers use; `bytes` is the line the record was parsed from. */
export function windowsFrameInfo(w: StackWinRecord, bytes: Uint8Array): WindowsFrameInfo {
  return {
    type: w.type as WindowsFrameInfo['type'],
    rva: w.rva,
    codeSize: w.codeSize,
    prologueSize: w.prologueSize,
    epilogueSize: w.epilogueSize,
    parameterSize: w.parameterSize,
    savedRegisterSize: w.savedRegisterSize,
    localSize: w.localSize,
    maxStackSize: w.maxStackSize,
    allocatesBasePointer: w.allocatesBasePointer,
    programString: w.hasProgramString ? decodeText(bytes, w.programStart, w.programEnd) : undefined,
  };
}

/** Streams the file once and builds its index. Throws only when the source cannot be read. */
export async function loadSymbolFile(source: ByteSource): Promise<SymbolFile> {
  return new IndexedSymbolFile(source, await scanSymbolFile(source));
}

/** Records sorted by a key with duplicates of a key dropped; `dropped` counts them. */
interface KeyedRecords {
  keys: Float64Array;
  starts: Float64Array;
  ends: Float64Array;
  dropped: number;
}

/** Sorts records by key (stable, so file order breaks ties) and keeps the first or last of each key. */
function keyedRecords(columns: RecordColumns, keep: 'first' | 'last'): KeyedRecords {
  const keys = columns.address.toArray();
  const starts = columns.start.toArray();
  const ends = columns.end.toArray();
  const n = keys.length;
  let ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
  if (sorted) return { keys, starts, ends, dropped: 0 };
  ids = ids.sort((a, b) => keys[a]! - keys[b]! || a - b);
  const out: KeyedRecords = { keys: new Float64Array(n), starts: new Float64Array(n), ends: new Float64Array(n), dropped: 0 };
  let m = 0;
  for (let k = 0; k < n; k++) {
    const id = ids[k]!;
    if (m > 0 && out.keys[m - 1] === keys[id]) {
      out.dropped++;
      if (keep === 'first') continue;
      m--;
    }
    out.keys[m] = keys[id]!;
    out.starts[m] = starts[id]!;
    out.ends[m] = ends[id]!;
    m++;
  }
  return { keys: out.keys.slice(0, m), starts: out.starts.slice(0, m), ends: out.ends.slice(0, m), dropped: out.dropped };
}

/** Records in file order: address, size and the byte span to re-read each from. */
class Spans {
  readonly address: Float64Array;
  readonly size: Float64Array;
  readonly start: Float64Array;
  readonly end: Float64Array;

  constructor(columns: RecordColumns) {
    this.address = columns.address.toArray();
    this.size = columns.size.toArray();
    this.start = columns.start.toArray();
    this.end = columns.end.toArray();
  }

  get length(): number {
    return this.address.length;
  }
}

/** A small least-recently-used cache. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}

/** FILE or INLINE_ORIGIN names by id, decoded on first use. The first record of an id wins (std::map::insert). */
class NameTable {
  private readonly records: KeyedRecords;
  private readonly cache = new Lru<number, string>(4096);

  constructor(
    private readonly source: ByteSource,
    columns: RecordColumns,
    private readonly structure: string,
  ) {
    this.records = keyedRecords(columns, 'first');
  }

  async get(id: number): Promise<string | undefined> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const k = lastAtOrBelow(this.records.keys, id);
    if (k < 0 || this.records.keys[k] !== id) return undefined;
    const start = this.records.starts[k]!;
    const bytes = await readExact(this.source, start, this.records.ends[k]! - start, this.structure);
    const name = decodeText(bytes, 0, bytes.length);
    this.cache.set(id, name);
    return name;
  }
}

/** A FUNC with its block decoded: line records and INLINE records. */
interface FunctionDetail {
  name: string;
  parameterSize: number;
  isMultiple: boolean;
  lines: ExclusiveRangeIndex;
  lineRecords: LineRecord[];
  inlines: InlineRecord[];
  inlineRanges: ContainedRangeIndex;
  /** Inline range id -> index into inlines. */
  rangeOwner: number[];
}

class IndexedSymbolFile implements SymbolFile {
  readonly module: ModuleInfo | undefined;
  readonly codeId: string | undefined;
  readonly parseErrors: number;

  private readonly source: ByteSource;
  private readonly funcs: Spans;
  private readonly funcIndex: ExclusiveRangeIndex;
  private readonly publics: KeyedRecords;
  private readonly files: NameTable;
  private readonly inlineOrigins: NameTable;
  private readonly frameData: Spans;
  private readonly frameDataIndex: ContainedRangeIndex;
  private readonly fpo: Spans;
  private readonly fpoIndex: ContainedRangeIndex;
  private readonly cfiInit: Spans;
  private readonly cfiInitIndex: ExclusiveRangeIndex;
  private readonly cfiDeltas: KeyedRecords;
  private readonly functionCache = new Lru<number, Promise<FunctionDetail>>(128);

  constructor(source: ByteSource, scan: ScanResult) {
    this.source = source;
    this.module = scan.module;
    this.codeId = scan.codeId;
    this.funcs = new Spans(scan.funcs);
    this.funcIndex = ExclusiveRangeIndex.build(this.funcs.address, this.funcs.size, this.funcs.length);
    // AddressMap::Store refuses a second PUBLIC at an address, and Breakpad logs that as a parse error.
    this.publics = keyedRecords(scan.publics, 'first');
    this.parseErrors = scan.parseErrors + this.publics.dropped;
    this.files = new NameTable(source, scan.files, 'FILE record');
    this.inlineOrigins = new NameTable(source, scan.inlineOrigins, 'INLINE_ORIGIN record');
    this.frameData = new Spans(scan.frameData);
    this.frameDataIndex = ContainedRangeIndex.build(this.frameData.address, this.frameData.size, this.frameData.length, false);
    this.fpo = new Spans(scan.fpo);
    this.fpoIndex = ContainedRangeIndex.build(this.fpo.address, this.fpo.size, this.fpo.length, false);
    this.cfiInit = new Spans(scan.cfiInit);
    this.cfiInitIndex = ExclusiveRangeIndex.build(this.cfiInit.address, this.cfiInit.size, this.cfiInit.length);
    // A later delta at the same address replaces the earlier one (std::map operator[]).
    this.cfiDeltas = keyedRecords(scan.cfiDelta, 'last');
  }

  /** The FUNC covering rva, else the PUBLIC Breakpad would use, per LookupAddress. */
  private resolve(rva: number): { func: number } | { publicIndex: number } | undefined {
    const f = this.funcIndex.nearest(rva);
    if (f >= 0 && rva - this.funcs.address[f]! < this.funcs.size[f]!) return { func: f };
    const p = lastAtOrBelow(this.publics.keys, rva);
    // A PUBLIC only counts when no FUNC starts between it and rva.
    if (p >= 0 && (f < 0 || this.publics.keys[p]! > this.funcs.address[f]!)) return { publicIndex: p };
    return undefined;
  }

  hasSymbol(rva: number): boolean {
    return this.resolve(rva) !== undefined;
  }

  async lookup(rva: number): Promise<SymbolLookup | undefined> {
    const hit = this.resolve(rva);
    if (hit === undefined) return undefined;
    if ('publicIndex' in hit) return this.lookupPublic(hit.publicIndex);
    return this.lookupFunction(hit.func, rva);
  }

  private async lookupPublic(p: number): Promise<SymbolLookup> {
    const start = this.publics.starts[p]!;
    const bytes = await readExact(this.source, start, this.publics.ends[p]! - start, 'PUBLIC record');
    const record = parsePublic(bytes, 0, bytes.length, new Scratch());
    if (!record) throw this.changed('PUBLIC record', start);
    return {
      functionName: decodeText(bytes, record.nameStart, record.nameEnd),
      functionAddress: record.address,
      functionSize: undefined,
      parameterSize: record.parameterSize,
      isPublic: true,
      isMultiple: record.isMultiple,
      file: undefined,
      line: undefined,
      lineAddress: undefined,
      inlines: [],
    };
  }

  private async lookupFunction(f: number, rva: number): Promise<SymbolLookup> {
    const detail = await this.functionDetail(f);
    let file: string | undefined;
    let line: number | undefined;
    let lineAddress: number | undefined;
    const l = detail.lines.find(rva);
    if (l >= 0) {
      const record = detail.lineRecords[l]!;
      file = await this.files.get(record.fileId);
      line = record.line;
      lineAddress = record.address;
    }
    // ConstructInlineFrames: each inline frame first gets its own call site, then file/line shift
    // one step inwards, so the innermost shows the line record and the physical frame shows the
    // outermost call site. A call site without a known file keeps the line record's file.
    const chain = detail.inlineRanges.chain(rva);
    const inlines: InlineFrame[] = [];
    let innerFile = file;
    let innerLine = line;
    for (const rangeId of chain) {
      const record = detail.inlines[detail.rangeOwner[rangeId]!]!;
      const callFile =
        record.callSiteFileId === undefined ? file : ((await this.files.get(record.callSiteFileId)) ?? file);
      inlines.push({
        name: (await this.inlineOrigins.get(record.originId)) ?? '<name omitted>',
        file: innerFile,
        line: innerLine,
        functionAddress: inlineBase(record, rva),
      });
      innerFile = callFile;
      innerLine = record.callSiteLine;
    }
    return {
      functionName: detail.name,
      functionAddress: this.funcs.address[f]!,
      functionSize: this.funcs.size[f]!,
      parameterSize: detail.parameterSize,
      isPublic: false,
      isMultiple: detail.isMultiple,
      file: innerFile,
      line: innerLine,
      lineAddress,
      inlines,
    };
  }

  private functionDetail(f: number): Promise<FunctionDetail> {
    const cached = this.functionCache.get(f);
    if (cached) return cached;
    const loading = this.decodeFunction(f);
    this.functionCache.set(f, loading);
    loading.catch(() => this.functionCache.delete(f));
    return loading;
  }

  private async decodeFunction(f: number): Promise<FunctionDetail> {
    const start = this.funcs.start[f]!;
    const bytes = await readExact(this.source, start, this.funcs.end[f]! - start, 'FUNC record');
    const lines = new LineSplitter(bytes);
    const scratch = new Scratch();
    const head = lines.next() ? parseFunc(bytes, lines.start, lines.end, scratch) : undefined;
    if (!head) throw this.changed('FUNC record', start);

    const lineRecords: LineRecord[] = [];
    const inlines: InlineRecord[] = [];
    const rangeBases: number[] = [];
    const rangeSizes: number[] = [];
    const rangeOwner: number[] = [];
    // Function::AppendInline drops an INLINE nested more than one level below the last one kept.
    let lastNestLevel = 0;
    while (lines.next()) {
      const s = lines.start;
      const e = lines.end;
      if (startsWith(bytes, s, e, PREFIX.INLINE)) {
        const record = emptyInline();
        if (!parseInline(bytes, s, e, scratch, record) || record.nestLevel > lastNestLevel + 1) continue;
        lastNestLevel = record.nestLevel;
        for (let i = 0; i + 1 < record.ranges.length; i += 2) {
          rangeBases.push(record.ranges[i]!);
          rangeSizes.push(record.ranges[i + 1]!);
          rangeOwner.push(inlines.length);
        }
        inlines.push(record);
        continue;
      }
      if (isOtherRecord(bytes, s, e)) continue;
      const record: LineRecord = { address: 0, size: 0, line: 0, fileId: 0 };
      if (parseLineRecord(bytes, s, e, scratch, record)) lineRecords.push(record);
    }
    const lineBases = Float64Array.from(lineRecords, (r) => r.address);
    const lineSizes = Float64Array.from(lineRecords, (r) => r.size);
    return {
      name: decodeText(bytes, head.nameStart, head.nameEnd),
      parameterSize: head.parameterSize,
      isMultiple: head.isMultiple,
      lines: ExclusiveRangeIndex.build(lineBases, lineSizes, lineRecords.length),
      lineRecords,
      inlines,
      inlineRanges: ContainedRangeIndex.build(Float64Array.from(rangeBases), Float64Array.from(rangeSizes), rangeBases.length, true),
      rangeOwner,
    };
  }

  async findWindowsFrameInfo(rva: number): Promise<WindowsFrameInfo | undefined> {
    // Breakpad tries FrameData first and falls back to FPO only when no FrameData record covers rva,
    // even if the FPO record is the tighter fit.
    let id = this.frameDataIndex.innermost(rva);
    let spans = this.frameData;
    if (id < 0) {
      id = this.fpoIndex.innermost(rva);
      spans = this.fpo;
    }
    if (id < 0) return undefined;
    const start = spans.start[id]!;
    const bytes = await readExact(this.source, start, spans.end[id]! - start, 'STACK WIN record');
    const record = parseStack(bytes, 0, bytes.length, new Scratch());
    if (!record || record.kind !== 'win' || (record.win.type !== 0 && record.win.type !== 4)) {
      throw this.changed('STACK WIN record', start);
    }
    return windowsFrameInfo(record.win, bytes);
  }

  async findCfiRules(rva: number): Promise<Map<string, string> | undefined> {
    const init = this.cfiInitIndex.find(rva);
    if (init < 0) return undefined;
    const rules = new Map<string, string>();
    const initStart = this.cfiInit.start[init]!;
    const initBytes = await readExact(this.source, initStart, this.cfiInit.end[init]! - initStart, 'STACK CFI INIT record');
    if (!applyCfiRuleSet(decodeText(initBytes, 0, initBytes.length), rules)) return undefined;

    const deltas = this.cfiDeltas;
    const first = firstAtOrAbove(deltas.keys, this.cfiInit.address[init]!);
    const last = lastAtOrBelow(deltas.keys, rva);
    if (first > last) return rules;
    // Deltas normally sit right after their INIT line: read them in one go when they are close.
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = first; k <= last; k++) {
      lo = Math.min(lo, deltas.starts[k]!);
      hi = Math.max(hi, deltas.ends[k]!);
    }
    const span = hi - lo <= 1 << 20 ? await readExact(this.source, lo, hi - lo, 'STACK CFI records') : undefined;
    for (let k = first; k <= last; k++) {
      const s = deltas.starts[k]!;
      const e = deltas.ends[k]!;
      const bytes = span ? span.subarray(s - lo, e - lo) : await readExact(this.source, s, e - s, 'STACK CFI record');
      // A malformed delta still applies the rules before the bad part, and is otherwise ignored.
      applyCfiRuleSet(decodeText(bytes, 0, bytes.length), rules);
    }
    return rules;
  }

  private changed(structure: string, offset: number): FormatError {
    return new FormatError(this.source.name, structure, offset, 'record no longer parses; did the file change after indexing?');
  }
}

/** Records a FUNC block may contain besides line records and INLINEs. */
function isOtherRecord(buf: Uint8Array, s: number, e: number): boolean {
  return (
    startsWith(buf, s, e, PREFIX.FILE) ||
    startsWith(buf, s, e, PREFIX.STACK) ||
    startsWith(buf, s, e, PREFIX.INLINE_ORIGIN) ||
    startsWith(buf, s, e, PREFIX.MODULE) ||
    startsWith(buf, s, e, PREFIX.INFO)
  );
}

/** Start of the first of an INLINE's ranges that contains rva. */
function inlineBase(record: InlineRecord, rva: number): number {
  for (let i = 0; i + 1 < record.ranges.length; i += 2) {
    const base = record.ranges[i]!;
    if (rva >= base && rva - base < record.ranges[i + 1]!) return base;
  }
  return 0;
}
