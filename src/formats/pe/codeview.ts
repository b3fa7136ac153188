import { Reader, cString } from '../../io/reader.js';
import { guidHex } from '../minidump/records.js';
import { DebugType, Directory, Limits } from './constants.js';
import type { PeImage } from './pe-image.js';

/** What a CodeView record names: the PDB, and the id Breakpad and symbol servers file it under. */
export interface CodeView {
  readonly debugFile: string;
  readonly debugId: string;
}

const CV_RSDS = 0x53445352; // 'RSDS': PDB 7.0
const CV_NB10 = 0x3031424e; // 'NB10': PDB 2.0

/**
 * The first CodeView entry of the debug directory (IMAGE_DEBUG_DIRECTORY, 28 bytes each). A file
 * image's record is read at PointerToRawData (it may lie outside every section), a memory image's
 * at AddressOfRawData. Undefined when there is none or it cannot be read.
 */
export async function readCodeView(image: PeImage): Promise<CodeView | undefined> {
  const dir = image.directory(Directory.Debug);
  if (!dir) return undefined;
  const count = Math.min(Math.floor(dir.size / 28), Limits.debugDirectories, Math.floor(Math.max(0, image.sizeOfImage - dir.rva) / 28));
  const table = await image.readRva(dir.rva, count * 28);
  if (!table) return undefined;
  const r = new Reader(table, image.name, dir.rva, 'IMAGE_DEBUG_DIRECTORY');
  for (let i = 0; i < count; i++) {
    const at = i * 28;
    if (r.u32(at + 12) !== DebugType.CodeView) continue;
    const size = Math.min(r.u32(at + 16), Limits.codeViewBytes);
    const rva = r.u32(at + 20);
    const fileOffset = r.u32(at + 24);
    const data =
      image.bytes.layout === 'file' && fileOffset !== 0
        ? await image.bytes.read(fileOffset, size)
        : rva !== 0
          ? await image.readRva(rva, size)
          : undefined;
    if (!data || data.length !== size) return undefined;
    return parseCodeView(data);
  }
  return undefined;
}

/** RSDS: GUID and age (debug id: GUID as Breakpad prints it, then the age in %x); NB10: signature and age. */
export function parseCodeView(data: Uint8Array): CodeView | undefined {
  const r = new Reader(data, '', 0, 'CodeView record');
  if (data.length < 4) return undefined;
  const signature = r.u32(0);
  if (signature === CV_RSDS && data.length >= 24) {
    return { debugId: guidHex(r, 4) + r.u32(20).toString(16), debugFile: cString(data.subarray(24)) };
  }
  if (signature === CV_NB10 && data.length >= 16) {
    return {
      debugId: r.u32(8).toString(16).toUpperCase().padStart(8, '0') + r.u32(12).toString(16),
      debugFile: cString(data.subarray(16)),
    };
  }
  return undefined;
}
