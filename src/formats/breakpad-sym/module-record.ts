// A .sym file's identity from its first line alone (`MODULE <os> <arch> <debug_id> <debug_file>`,
// which Breakpad's dump_syms always writes first), so a folder of symbol files can be indexed by
// module without reading or scanning any file whole.
import type { ByteSource } from '../../io/byte-source.js';
import { decodeText, Scratch, startsWith } from './line-syntax.js';
import { parseModule, PREFIX } from './records.js';
import type { ModuleInfo } from './scan.js';

/** Longer than any MODULE line dump_syms writes (a file name, an id and two words). */
const FIRST_LINE_BYTES = 4096;

/** The MODULE record on the file's first line; undefined when the file does not open with one. */
export async function readModuleRecord(source: ByteSource): Promise<ModuleInfo | undefined> {
  const head = await source.read(0, Math.min(FIRST_LINE_BYTES, source.size));
  // Lines end at '\r' or '\n', as Breakpad's strtok_r(buffer, "\r\n") splits them.
  let end = 0;
  while (end < head.length && head[end] !== 0x0a && head[end] !== 0x0d) end++;
  if (!startsWith(head, 0, end, PREFIX.MODULE)) return undefined;
  const m = parseModule(head, 0, end, new Scratch());
  if (!m) return undefined;
  return {
    os: decodeText(head, m.os[0], m.os[1]),
    arch: decodeText(head, m.arch[0], m.arch[1]),
    debugId: decodeText(head, m.debugId[0], m.debugId[1]),
    debugFile: decodeText(head, m.debugFile[0], m.debugFile[1]),
  };
}
