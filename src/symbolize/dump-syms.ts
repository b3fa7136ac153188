/**
 * A Breakpad `.sym` file from what a PDB (and its image) hold, laid out as Breakpad's Windows
 * dump_syms writes it (PDBSourceLineWriter::WriteSymbols): MODULE, INFO CODE_ID when the image is
 * known, FILE, then FUNC (each with its INLINE and line records) and PUBLIC in address order,
 * then STACK WIN (x86) or STACK CFI (x64), then INLINE_ORIGIN. Pure: the input is plain records.
 */
import type { WindowsFrameInfo } from '../formats/breakpad-sym/symbol-file.js';

export interface DumpSymsModule {
  /** Breakpad's CPU name: x86, x86_64, arm64, arm. */
  readonly arch: string;
  readonly debugId: string;
  /** The PDB's file name. */
  readonly debugFile: string;
  /** TimeDateStamp (%08X) and SizeOfImage (%x) of the image, when it is known. */
  readonly codeId?: string | undefined;
  readonly codeFile?: string | undefined;
}

export interface DumpSymsFile {
  /** DIA's source file id (the first one of files sharing the name). */
  readonly id: number;
  readonly name: string;
}

export interface DumpSymsInlineOrigin {
  readonly id: number;
  readonly name: string;
}

export interface DumpSymsLine {
  readonly rva: number;
  readonly size: number;
  readonly line: number;
  readonly fileId: number;
}

export interface DumpSymsInline {
  readonly nestLevel: number;
  readonly callSiteLine: number;
  readonly callSiteFileId: number;
  readonly originId: number;
  readonly ranges: readonly { readonly rva: number; readonly size: number }[];
}

export interface DumpSymsFunction {
  readonly rva: number;
  readonly size: number;
  readonly parameterSize: number;
  readonly name: string;
  /** Several symbols share this address (identical code folding): the `m` flag. */
  readonly multiple: boolean;
  readonly lines: readonly DumpSymsLine[];
  /** In print order: each INLINE followed by its children (PDBSourceLineWriter::Inline::Print). */
  readonly inlines: readonly DumpSymsInline[];
}

export interface DumpSymsPublic {
  readonly rva: number;
  readonly parameterSize: number;
  readonly name: string;
  readonly multiple: boolean;
}

/** One STACK CFI INIT record and the deltas after it; rules are Breakpad's postfix rule text. */
export interface DumpSymsCfi {
  readonly rva: number;
  readonly size: number;
  readonly initRules: string;
  readonly deltas: readonly { readonly rva: number; readonly rules: string }[];
}

export interface DumpSymsInput {
  readonly module: DumpSymsModule;
  readonly files: readonly DumpSymsFile[];
  readonly inlineOrigins: readonly DumpSymsInlineOrigin[];
  readonly functions: readonly DumpSymsFunction[];
  readonly publics: readonly DumpSymsPublic[];
  /** STACK WIN records in print order (readFrameInfo(...).all()). */
  readonly frameInfo: readonly WindowsFrameInfo[];
  readonly cfi: readonly DumpSymsCfi[];
}

const hex = (n: number): string => (n >>> 0).toString(16);

/** fprintf("STACK WIN %lx %lx %lx %lx %x %lx %lx %lx %lx %d ", ...) then the program string or allocates_base_pointer. */
export function formatStackWin(w: WindowsFrameInfo): string {
  const head = [w.type, w.rva, w.codeSize, w.prologueSize, w.epilogueSize, w.parameterSize, w.savedRegisterSize, w.localSize, w.maxStackSize].map(hex).join(' ');
  const has = w.programString !== undefined;
  return `STACK WIN ${head} ${has ? 1 : 0} ${has ? w.programString : w.allocatesBasePointer ? 1 : 0}`;
}

/** STACK CFI INIT <rva> <size> <rules>, then STACK CFI <rva> <rules> per delta. */
export function formatStackCfi(c: DumpSymsCfi): string[] {
  return [`STACK CFI INIT ${hex(c.rva)} ${hex(c.size)} ${c.initRules}`, ...c.deltas.map((d) => `STACK CFI ${hex(d.rva)} ${d.rules}`)];
}

/** The .sym text, one record a line, each line ending in "\n". */
export function writeDumpSyms(input: DumpSymsInput): string {
  const out: string[] = [];
  const m = input.module;
  out.push(`MODULE windows ${m.arch} ${m.debugId} ${m.debugFile}`);
  // dump_syms writes INFO CODE_ID only when it found the image.
  if (m.codeId !== undefined) out.push(`INFO CODE_ID ${m.codeId}${m.codeFile ? ` ${m.codeFile}` : ''}`);
  for (const f of input.files) out.push(`FILE ${f.id} ${f.name}`);

  // One address map of functions and publics: a public is printed only where no function is.
  const functionRvas = new Set(input.functions.map((f) => f.rva));
  type Entry = { rva: number; order: number; fn?: DumpSymsFunction; pub?: DumpSymsPublic };
  const entries: Entry[] = [];
  input.functions.forEach((fn, order) => {
    // PrintFunction silently skips zero-length functions.
    if (fn.size > 0) entries.push({ rva: fn.rva, order, fn });
  });
  input.publics.forEach((pub, order) => {
    if (!functionRvas.has(pub.rva)) entries.push({ rva: pub.rva, order: input.functions.length + order, pub });
  });
  entries.sort((a, b) => a.rva - b.rva || a.order - b.order);
  for (const e of entries) {
    if (e.fn) {
      const fn = e.fn;
      out.push(`FUNC ${fn.multiple ? 'm ' : ''}${hex(fn.rva)} ${hex(fn.size)} ${hex(fn.parameterSize)} ${fn.name}`);
      for (const i of fn.inlines) {
        // Inline::Print skips an INLINE without ranges.
        if (i.ranges.length === 0) continue;
        out.push(`INLINE ${i.nestLevel} ${i.callSiteLine} ${i.callSiteFileId} ${i.originId}${i.ranges.map((r) => ` ${hex(r.rva)} ${hex(r.size)}`).join('')}`);
      }
      for (const l of fn.lines) out.push(`${hex(l.rva)} ${hex(l.size)} ${l.line >>> 0} ${l.fileId >>> 0}`);
    } else if (e.pub) {
      const p = e.pub;
      out.push(`PUBLIC ${p.multiple ? 'm ' : ''}${hex(p.rva)} ${hex(Math.max(0, p.parameterSize))} ${p.name}`);
    }
  }
  for (const w of input.frameInfo) out.push(formatStackWin(w));
  for (const c of input.cfi) out.push(...formatStackCfi(c));
  for (const o of input.inlineOrigins) out.push(`INLINE_ORIGIN ${o.id} ${o.name}`);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
