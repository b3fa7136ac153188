import type { ByteSource } from '../io/byte-source.js';
import { FormatError } from '../io/errors.js';
import { PeImage, type ImageBytes } from '../formats/pe/pe-image.js';
import type { DumpMemory } from '../model/memory.js';
import type { Module } from '../model/snapshot.js';
import { baseName } from '../symbolize/symbol-store.js';

/** Opens a file by path segments relative to one image directory; undefined if absent. Provided by the shell. */
export type ImageFileOpener = (segments: string[]) => Promise<ByteSource | undefined>;

/** Where a module's image came from. */
export type ImageOrigin = 'file' | 'dump-memory';

export interface ModuleImage {
  readonly image: PeImage;
  readonly origin: ImageOrigin;
  /** The file's path, or "memory" for an image read from the dump. */
  readonly location: string;
}

/**
 * The PE images of a snapshot's modules: a matching file from image directories (flat, or
 * symbol-server layout `<name>/<TimeDateStamp><SizeOfImage>/<name>`), else the image as the dump
 * captured it in memory. A file is used only when its TimeDateStamp and SizeOfImage match the
 * module's; a mismatch is a warning naming the file and why.
 */
export class ModuleImages {
  readonly warnings: string[] = [];
  private readonly openers: readonly ImageFileOpener[];
  private readonly memory: DumpMemory;
  /** By the module's identity as a symbol server sees it, so a copy of a module record finds the same image. */
  private readonly cache = new Map<string, Promise<ModuleImage | undefined>>();
  private readonly fileCache = new Map<string, Promise<ModuleImage | undefined>>();

  private readonly osShort: string;

  /** `osShort` is the dump's OS (SystemInfo.osShort): only a Windows process's modules are PE images. */
  constructor(memory: DumpMemory, openers: readonly ImageFileOpener[] = [], osShort = 'windows') {
    this.memory = memory;
    this.openers = openers;
    this.osShort = osShort;
  }

  imageFor(module: Module): Promise<ModuleImage | undefined> {
    const key = moduleKey(module);
    let found = this.cache.get(key);
    if (!found) {
      found = this.find(module);
      this.cache.set(key, found);
    }
    return found;
  }

  /** The module's image from the image directories only (never parsed out of dump memory). */
  fileImageFor(module: Module): Promise<ModuleImage | undefined> {
    const key = moduleKey(module);
    let found = this.fileCache.get(key);
    if (!found) {
      found = this.fromFiles(module);
      this.fileCache.set(key, found);
    }
    return found;
  }

  private async find(module: Module): Promise<ModuleImage | undefined> {
    if (!mayBePeImage(module, this.osShort)) return undefined;
    return (await this.fileImageFor(module)) ?? (await this.fromMemory(module));
  }

  private async fromFiles(module: Module): Promise<ModuleImage | undefined> {
    if (!mayBePeImage(module, this.osShort)) return undefined;
    const name = baseName(module.codeFile);
    if (!name || name === '.' || name === '..') return undefined;
    const stamp = module.timeDateStamp.toString(16).toUpperCase().padStart(8, '0');
    // Symbol servers match keys case-insensitively; on disk a mirror may hold any case.
    const keys = [`${stamp}${module.size.toString(16)}`, `${stamp}${module.size.toString(16).toUpperCase()}`, `${stamp}${module.size.toString(16)}`.toLowerCase()];
    const candidates = [[name], ...[...new Set(keys)].map((key) => [name, key, name])];
    for (const open of this.openers) {
      for (const segments of candidates) {
        const source = await open(segments);
        if (!source) continue;
        const image = await this.parse(fileBytes(source), source.name);
        if (!image) continue;
        if (image.timeDateStamp !== module.timeDateStamp || image.sizeOfImage !== module.size) {
          this.warnings.push(
            `${source.name}: skipped for ${name}: its TimeDateStamp 0x${image.timeDateStamp.toString(16)} and SizeOfImage 0x${image.sizeOfImage.toString(16)} ` +
              `do not match the dump's 0x${module.timeDateStamp.toString(16)} and 0x${module.size.toString(16)}`,
          );
          continue;
        }
        return { image, origin: 'file', location: source.name };
      }
    }
    return undefined;
  }

  private async fromMemory(module: Module): Promise<ModuleImage | undefined> {
    const base = module.base;
    if (!(await this.memory.read(base, 2))) return undefined; // no header captured: nothing to try
    const bytes: ImageBytes = {
      name: `${baseName(module.codeFile)} in dump memory`,
      layout: 'memory',
      read: (offset, length) =>
        offset < 0 || offset + length > module.size ? Promise.resolve(undefined) : this.memory.read(base + BigInt(offset), length),
    };
    const image = await this.parse(bytes, bytes.name);
    return image ? { image, origin: 'dump-memory', location: 'memory' } : undefined;
  }

  private async parse(bytes: ImageBytes, name: string): Promise<PeImage | undefined> {
    try {
      return await PeImage.parse(bytes);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      this.warnings.push(`${name}: not a usable PE image: ${e.message}`);
      return undefined;
    }
  }
}

/**
 * Whether a module can be a PE image: every module of a Windows dump; none of a Linux, Android or
 * macOS dump's (ELF, Mach-O); for an unknown OS, a module whose code id has the PE form
 * (TimeDateStamp and SizeOfImage, 9 to 16 hex digits) rather than an ELF build id or Mach-O UUID.
 */
export function mayBePeImage(module: Module, osShort: string): boolean {
  if (osShort === 'windows') return true;
  if (osShort !== 'unknown') return false;
  return module.codeId === '' || /^[0-9a-f]{9,16}$/i.test(module.codeId);
}

/** A module as a symbol server tells it apart: where it is loaded, and its name, TimeDateStamp and size. */
function moduleKey(module: Module): string {
  return `${module.base}:${module.size}:${module.timeDateStamp}:${module.codeFile}`;
}

/** A file read as a PE image ('file' layout): a short read is no bytes. */
export function fileBytes(source: ByteSource): ImageBytes {
  return {
    name: source.name,
    layout: 'file',
    read: async (offset, length) => {
      if (offset < 0 || offset + length > source.size) return undefined;
      const bytes = await source.read(offset, length);
      return bytes.length === length ? bytes : undefined;
    },
  };
}
