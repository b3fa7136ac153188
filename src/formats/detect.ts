// One entry for every dump: the file's signature picks the reader, and every reader produces the same
// snapshot model. A signature stackhog recognises but cannot read yet gets a message naming its format.
import type { ByteSource } from '../io/byte-source.js';
import { FormatError } from '../io/errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { readKernelDump } from './kdump/index.js';
import { readMinidump } from './minidump/read-minidump.js';
import { readUserDump } from './userdump/index.js';

const STRUCTURE = 'file signature';
/** Enough of the file's start for the signature (8 bytes) and the ELF and Mach-O file types. */
const HEAD_BYTES = 32;
/** How far into a text file the microdump marker is looked for (logcat prefixes and earlier lines come first). */
const TEXT_PROBE_BYTES = 4096;
const READS = 'stackhog reads minidumps (MDMP), Windows kernel dumps (PAGEDU64, PAGEDUMP) and legacy full user-mode dumps (USERDU64, USERDUMP)';

/** What a signature tells about the file, before any reader runs. */
export type DumpKind =
  | { readonly kind: 'minidump' }
  | { readonly kind: 'kernel-dump' }
  | { readonly kind: 'user-dump' }
  | { readonly kind: 'unsupported'; readonly reason: string };

function ascii(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** `"MDMQ\x93\xa7\x00\x00"`: printable ASCII as is, the rest as \x escapes. */
function quoted(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `"${s}"`;
}

function u16(bytes: Uint8Array, offset: number, littleEndian: boolean): number | undefined {
  return bytes.length >= offset + 2 ? new DataView(bytes.buffer, bytes.byteOffset).getUint16(offset, littleEndian) : undefined;
}

function u32(bytes: Uint8Array, offset: number, littleEndian: boolean): number | undefined {
  return bytes.length >= offset + 4 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset, littleEndian) : undefined;
}

/** Classifies a file by its signature (the first 8 bytes; a few more name ELF and Mach-O files, and text is searched for a microdump). */
export async function detectDump(source: ByteSource): Promise<DumpKind> {
  const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
  const signature = head.subarray(0, 8);
  const magic4 = ascii(head, 0, 4);
  const magic8 = ascii(signature);
  if (magic4 === 'MDMP') return { kind: 'minidump' };
  // DUMP_HEADER64 / DUMP_HEADER32: Signature 'PAGE', then ValidDump 'DU64' or 'DUMP'.
  if (magic8 === 'PAGEDU64' || magic8 === 'PAGEDUMP') return { kind: 'kernel-dump' };
  if (magic4 === 'PAGE') {
    return {
      kind: 'unsupported',
      reason: `a Windows kernel dump header ("PAGE") with an unknown ValidDump signature ${quoted(head.subarray(4, 8))} (expected "DU64" or "DUMP")`,
    };
  }
  // USERMODE_CRASHDUMP_HEADER64 / 32: Signature 'USER', then ValidDump 'DU64' or 'DUMP'.
  if (magic8 === 'USERDU64' || magic8 === 'USERDUMP') return { kind: 'user-dump' };
  if (magic4 === 'USER' && ascii(head, 4, 6) === 'DU') {
    return {
      kind: 'unsupported',
      reason: `a legacy user-mode dump header ("USER") with an unknown ValidDump signature ${quoted(head.subarray(4, 8))} (expected "DU64" or "DUMP")`,
    };
  }
  if (magic4 === '\x7fELF') {
    // Elf_Ehdr: EI_DATA (offset 5) 1 = little-endian, 2 = big-endian; e_type at 16, ET_CORE = 4.
    const core = u16(head, 16, head[5] !== 2) === 4;
    return { kind: 'unsupported', reason: `${core ? 'an ELF core dump' : 'an ELF file (not a core dump)'} is not supported; ${READS}` };
  }
  // mach_header(_64): magic MH_MAGIC(_64) in the file's byte order, filetype at 12, MH_CORE = 4.
  const machMagic = u32(head, 0, true);
  if (machMagic === 0xfeedface || machMagic === 0xfeedfacf || machMagic === 0xcefaedfe || machMagic === 0xcffaedfe) {
    const core = u32(head, 12, machMagic === 0xfeedface || machMagic === 0xfeedfacf) === 4;
    return { kind: 'unsupported', reason: `${core ? 'a Mach-O core dump' : 'a Mach-O file (not a core dump)'} is not supported; ${READS}` };
  }
  if (ascii(head, 0, 2) === 'MZ') return { kind: 'unsupported', reason: 'a PE image (MZ: an .exe, .dll or .sys), not a crash dump' };
  if (ascii(await source.read(0, Math.min(TEXT_PROBE_BYTES, source.size))).includes('-----BEGIN BREAKPAD MICRODUMP-----')) {
    return { kind: 'unsupported', reason: `a Breakpad microdump (text, as Android's logcat prints it) is not supported; ${READS}` };
  }
  if (head.length < 4) return { kind: 'unsupported', reason: `the file is ${head.length} bytes long: too short for any crash dump` };
  return {
    kind: 'unsupported',
    reason: `not a crash dump stackhog knows (signature ${quoted(signature)} is not "MDMP", "PAGEDU64", "PAGEDUMP", "USERDU64" or "USERDUMP")`,
  };
}

/** Reads any dump stackhog knows into the snapshot model, choosing the reader by the file's signature. */
export async function readSnapshot(source: ByteSource): Promise<Snapshot> {
  const kind = await detectDump(source);
  switch (kind.kind) {
    case 'minidump':
      return readMinidump(source);
    case 'kernel-dump':
      return readKernelDump(source);
    case 'user-dump':
      return readUserDump(source);
    case 'unsupported':
      throw new FormatError(source.name, STRUCTURE, 0, kind.reason);
  }
}
