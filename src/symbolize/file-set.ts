// Files handed over together with no folder layout (dropped on the browser page, or picked with a
// file input), served to the symbol and image lookups as if they sat in symbol-store directories: a
// Breakpad .sym under its MODULE record's debug file and id, a PDB under the GUID and age it carries,
// a PE image under its TimeDateStamp and SizeOfImage. What a file is comes from its first bytes, so a
// renamed file ("app (1).pdb", as browsers save a second download) is found all the same.

import type { ByteSource } from '../io/byte-source.js';
import { FormatError } from '../io/errors.js';
import { readModuleRecord } from '../formats/breakpad-sym/module-record.js';
import { readPdbIdentity } from '../formats/pdb/identity.js';
import { isMsf } from '../formats/pdb/msf.js';
import { PeImage } from '../formats/pe/pe-image.js';
import { fileBytes, type ImageFileOpener } from '../images/module-images.js';
import { baseName, type SymbolFileOpener } from './symbol-store.js';

/** What a handed-over file is: anything not recognised as a symbol file or an image is taken for a dump (its reader says if it is none). */
export type FileKind = 'dump' | 'sym' | 'pdb' | 'image';

export interface FileSetEntry {
  readonly source: ByteSource;
  readonly kind: FileKind;
  /** The key a lookup finds the file by: `<debug_file>\0<debug_id>` (.sym), the debug id (PDB), `<TimeDateStamp><SizeOfImage>` (image); undefined when unreadable. */
  readonly key: string | undefined;
}

/** Enough of the start for every signature looked at: MSF's 32-byte magic is the longest. */
const HEAD_BYTES = 32;
/** "Microsoft C/C++ " opens MSF 7.00 and the PDB 2.0 format alike; the identity reader explains a 2.0 file. */
const PDB_PREFIX = 'Microsoft C/C++ ';

function ascii(bytes: Uint8Array, length: number): string {
  return String.fromCharCode(...bytes.subarray(0, length));
}

/** A file's kind by its first bytes: MSF (PDB), MZ (PE image), a MODULE line (.sym), else a dump. */
export async function fileKind(source: ByteSource): Promise<FileKind> {
  const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
  if (isMsf(head) || ascii(head, PDB_PREFIX.length) === PDB_PREFIX) return 'pdb';
  if (ascii(head, 2) === 'MZ') return 'image';
  if (ascii(head, 7) === 'MODULE ') return 'sym';
  return 'dump';
}

/** An image's symbol-server key, lowercased: TimeDateStamp as 8 hex digits, then SizeOfImage. */
function imageKey(timeDateStamp: number, sizeOfImage: number): string {
  return `${timeDateStamp.toString(16).padStart(8, '0')}${sizeOfImage.toString(16)}`;
}

function symKey(debugFile: string, debugId: string): string {
  return `${baseName(debugFile).toLowerCase()}\0${debugId.toUpperCase()}`;
}

const sameName = (a: string, b: string): boolean => baseName(a).toLowerCase() === b.toLowerCase();

/**
 * The files, classified and indexed once (each file's first line or header only). `symbols` answers
 * the Breakpad paths `<debug_file>/<debug_id>/<name>.sym`, the symstore paths `<name.pdb>/<id>/<name.pdb>`
 * and, for a PDB of that name that no id matched, the flat `<name.pdb>` (so the finder can say
 * whose GUID it carries); `images` the flat `<name>` and `<name>/<TimeDateStamp><SizeOfImage>/<name>`.
 */
export class FileSet {
  readonly entries: readonly FileSetEntry[];
  /** Why a file that looked like a symbol file or an image cannot be used. */
  readonly notes: readonly string[];
  readonly symbols: SymbolFileOpener;
  readonly images: ImageFileOpener;
  /** PDBs already handed out by id: a flat lookup of the same name gets none of them a second time. */
  private readonly servedPdbs = new Set<ByteSource>();

  private constructor(entries: readonly FileSetEntry[], notes: readonly string[]) {
    this.entries = entries;
    this.notes = notes;
    this.symbols = (segments) => Promise.resolve(this.symbolFile(segments));
    this.images = (segments) => Promise.resolve(this.imageFile(segments));
  }

  /** Classifies and indexes the files; a damaged symbol file or image is a note, never a failure. */
  static async of(sources: readonly ByteSource[]): Promise<FileSet> {
    const notes: string[] = [];
    const entries: FileSetEntry[] = [];
    for (const source of sources) {
      const kind = await fileKind(source);
      entries.push({ source, kind, key: await keyOf(source, kind, notes) });
    }
    return new FileSet(entries, notes);
  }

  /** The files taken for dumps, in the order given. */
  get dumps(): ByteSource[] {
    return this.entries.filter((e) => e.kind === 'dump').map((e) => e.source);
  }

  /** Whether any symbol file (.sym or PDB) was given: only then is a module without one "missing symbols". */
  get hasSymbolFiles(): boolean {
    return this.entries.some((e) => e.kind === 'sym' || e.kind === 'pdb');
  }

  private symbolFile(segments: readonly string[]): ByteSource | undefined {
    const [first, id, last] = segments;
    if (segments.length === 3 && first !== undefined && id !== undefined && last !== undefined) {
      if (/\.sym$/i.test(last)) return this.find('sym', symKey(first, id));
      if (/\.pdb$/i.test(last)) {
        const pdb = this.find('pdb', id.toUpperCase());
        if (pdb) this.servedPdbs.add(pdb);
        return pdb;
      }
      return undefined;
    }
    if (segments.length === 1 && first !== undefined && /\.pdb$/i.test(first)) {
      return this.entries.find((e) => e.kind === 'pdb' && !this.servedPdbs.has(e.source) && sameName(e.source.name, first))?.source;
    }
    return undefined;
  }

  private imageFile(segments: readonly string[]): ByteSource | undefined {
    const [name, key] = segments;
    if (segments.length === 1 && name !== undefined) return this.entries.find((e) => e.kind === 'image' && sameName(e.source.name, name))?.source;
    if (segments.length === 3 && key !== undefined) return this.find('image', key.toLowerCase());
    return undefined;
  }

  private find(kind: FileKind, key: string): ByteSource | undefined {
    return this.entries.find((e) => e.kind === kind && e.key === key)?.source;
  }
}

async function keyOf(source: ByteSource, kind: FileKind, notes: string[]): Promise<string | undefined> {
  try {
    switch (kind) {
      case 'sym': {
        const module = await readModuleRecord(source);
        if (!module) notes.push(`${source.name}: no MODULE record on its first line: not used as a symbol file`);
        return module ? symKey(module.debugFile, module.debugId) : undefined;
      }
      case 'pdb': {
        const identity = await readPdbIdentity(source);
        if (!identity) notes.push(`${source.name}: not a PDB 7.0 (MSF 7.00) file: not used`);
        return identity?.debugId;
      }
      case 'image': {
        const image = await PeImage.parse(fileBytes(source));
        return imageKey(image.timeDateStamp, image.sizeOfImage);
      }
      case 'dump':
        return undefined;
    }
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    notes.push(`not used: ${e.message}`);
    return undefined;
  }
}
