import { FormatError } from '../../io/errors.js';
import { Reader, cString } from '../../io/reader.js';
import { Directory, Limits } from './constants.js';
import type { PeImage } from './pe-image.js';

/** One exported function or datum: an ordinal, zero or more names (one entry each), and an RVA or a forwarder. */
export interface PeExport {
  readonly rva: number;
  readonly ordinal: number;
  readonly name: string | undefined;
  /** "DLL.Function" or "DLL.#ordinal" when the export forwards to another DLL; `rva` then points at this string. */
  readonly forwarder: string | undefined;
}

/** The export directory, sorted by RVA (then ordinal and name). */
export class ExportTable {
  readonly dllName: string | undefined;
  readonly entries: readonly PeExport[];
  /** What could not be read, one sentence each; what could is still listed. */
  readonly warnings: readonly string[];
  private readonly code: readonly PeExport[];

  constructor(dllName: string | undefined, entries: PeExport[], warnings: string[]) {
    this.dllName = dllName;
    this.entries = [...entries].sort(compareExports);
    this.warnings = warnings;
    // One export per address for lookups, a named one first: forwarders have no code.
    const code: PeExport[] = [];
    for (const e of this.entries) {
      if (e.forwarder !== undefined) continue;
      const last = code[code.length - 1];
      if (last && last.rva === e.rva) continue;
      code.push(e);
    }
    this.code = code;
  }

  /**
   * The nearest non-forwarder export at or below `rva`, as WinDbg's `module!export+0x2a` uses it;
   * an export with no name is called `Ordinal<n>`.
   */
  lookup(rva: number): (PeExport & { readonly name: string }) | undefined {
    let lo = 0;
    let hi = this.code.length - 1;
    let found: PeExport | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.code[mid]!;
      if (e.rva <= rva) {
        found = e;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found && { ...found, name: found.name ?? `Ordinal${found.ordinal}` };
  }
}

function compareExports(a: PeExport, b: PeExport): number {
  if (a.rva !== b.rva) return a.rva - b.rva;
  if ((a.name === undefined) !== (b.name === undefined)) return a.name === undefined ? 1 : -1;
  if (a.ordinal !== b.ordinal) return a.ordinal - b.ordinal;
  return (a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0;
}

/** Most of an export directory (the structure, names and forwarder strings) sits inside its own range; read at most this much of it at once. */
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

/** IMAGE_EXPORT_DIRECTORY, 40 bytes, and the three tables it points at (PE format, "The .edata Section"); never throws a FormatError. */
export async function readExportTable(image: PeImage): Promise<ExportTable> {
  try {
    return await readExports(image);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return new ExportTable(undefined, [], [e.message]);
  }
}

async function readExports(image: PeImage): Promise<ExportTable> {
  const warnings: string[] = [];
  const dir = image.directory(Directory.Export);
  if (!dir) return new ExportTable(undefined, [], warnings);
  const warn = (what: string): ExportTable => {
    warnings.push(`${image.name}: IMAGE_EXPORT_DIRECTORY at RVA 0x${dir.rva.toString(16)}: ${what}`);
    return new ExportTable(undefined, [], warnings);
  };
  const regionLength = Math.max(40, Math.min(dir.size, MAX_DIRECTORY_BYTES, image.sizeOfImage - dir.rva));
  const region = (await image.readRva(dir.rva, regionLength)) ?? (await image.readRva(dir.rva, 40));
  if (!region) return warn('not available');
  const r = new Reader(region, image.name, dir.rva, 'IMAGE_EXPORT_DIRECTORY');

  const strings = async (rva: number): Promise<string | undefined> => {
    if (rva >= dir.rva && rva < dir.rva + region.length) {
      const from = region.subarray(rva - dir.rva, rva - dir.rva + Limits.exportNameBytes);
      return from.includes(0) ? cString(from) : undefined;
    }
    return readCString(image, rva);
  };

  const base = r.u32(16);
  const functionCount = r.u32(20);
  const nameCount = r.u32(24);
  if (functionCount > Limits.exports) return warn(`NumberOfFunctions ${functionCount} is more than 16-bit ordinals allow`);
  if (nameCount > Limits.exports) return warn(`NumberOfNames ${nameCount} is more than 16-bit ordinals allow`);
  const dllName = r.u32(12) === 0 ? undefined : await strings(r.u32(12));
  const functions = await image.readRva(r.u32(28), functionCount * 4);
  if (!functions) return warn(`AddressOfFunctions (0x${r.u32(28).toString(16)}, ${functionCount} entries) not available`);
  const f = new Reader(functions, image.name, r.u32(28), 'export address table');

  const namesOf = new Map<number, string[]>();
  if (nameCount > 0) {
    const names = await image.readRva(r.u32(32), nameCount * 4);
    const ordinals = await image.readRva(r.u32(36), nameCount * 2);
    if (!names || !ordinals) {
      warnings.push(`${image.name}: export name tables not available; exports are listed by ordinal`);
    } else {
      const n = new Reader(names, image.name, r.u32(32), 'export name pointer table');
      const o = new Reader(ordinals, image.name, r.u32(36), 'export ordinal table');
      for (let i = 0; i < nameCount; i++) {
        const index = o.u16(i * 2);
        const name = await strings(n.u32(i * 4));
        if (name === undefined) {
          warnings.push(`${image.name}: export name ${i} at RVA 0x${n.u32(i * 4).toString(16)} not available`);
          continue;
        }
        if (index >= functionCount) {
          warnings.push(`${image.name}: export '${name}' names function index ${index} of ${functionCount}`);
          continue;
        }
        const list = namesOf.get(index);
        if (list) list.push(name);
        else namesOf.set(index, [name]);
      }
    }
  }

  const entries: PeExport[] = [];
  for (let i = 0; i < functionCount; i++) {
    const rva = f.u32(i * 4);
    if (rva === 0) continue; // an unused ordinal
    const ordinal = base + i;
    let forwarder: string | undefined;
    if (rva >= dir.rva && rva < dir.rva + dir.size) {
      forwarder = (await strings(rva)) ?? '';
    }
    for (const name of namesOf.get(i) ?? [undefined]) entries.push({ rva, ordinal, name, forwarder });
  }
  return new ExportTable(dllName, entries, warnings);
}

/** A NUL-terminated string at an RVA, read up to the name cap or the end of what can be read. */
async function readCString(image: PeImage, rva: number): Promise<string | undefined> {
  const cap = Math.min(Limits.exportNameBytes, image.sizeOfImage - rva);
  if (cap <= 0) return undefined;
  const bytes = (await image.readRva(rva, cap)) ?? (await image.readRva(rva, Math.min(cap, 0x1000 - (rva % 0x1000))));
  if (!bytes || !bytes.includes(0)) return undefined;
  return cString(bytes);
}
