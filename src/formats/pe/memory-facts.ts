// What a symbol server needs of an image that lies in a dump's memory: the kernel reader's drivers
// and the user dump reader's modules name their PDB from it, as no list of theirs records it.
import { FormatError } from '../../io/errors.js';
import type { DumpMemory } from '../../model/memory.js';
import type { CodeView } from './codeview.js';
import { PeImage } from './pe-image.js';

export interface ImageFacts {
  readonly timeDateStamp: number;
  readonly sizeOfImage: number;
  readonly codeView: CodeView | undefined;
}

/** TimeDateStamp, SizeOfImage and the CodeView record from an image's PE headers in dump memory, when they are there. */
export async function imageFactsInMemory(memory: Pick<DumpMemory, 'read'>, base: bigint, size: number): Promise<ImageFacts | undefined> {
  const head = await memory.read(base, 2);
  if (!head || head[0] !== 0x4d || head[1] !== 0x5a) return undefined;
  const limit = Math.max(size, 0x1000);
  try {
    const image = await PeImage.parse({
      name: `image at 0x${base.toString(16)}`,
      layout: 'memory',
      read: (offset, length) => (offset < 0 || offset + length > limit ? Promise.resolve(undefined) : memory.read(base + BigInt(offset), length)),
    });
    return { timeDateStamp: image.timeDateStamp, sizeOfImage: image.sizeOfImage, codeView: await image.codeView() };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
  }
  // Headers cut short (only their first page captured, or damaged): the two fields a symbol server needs.
  const dos = await memory.read(base, 0x40);
  if (!dos) return undefined;
  const lfanew = new DataView(dos.buffer, dos.byteOffset).getUint32(0x3c, true);
  if (lfanew > 0x1000) return undefined;
  const nt = await memory.read(base + BigInt(lfanew), 0x54);
  if (!nt || nt[0] !== 0x50 || nt[1] !== 0x45) return undefined;
  const view = new DataView(nt.buffer, nt.byteOffset, nt.byteLength);
  // IMAGE_NT_HEADERS: TimeDateStamp at +8, SizeOfImage at +0x50 (the same in PE32 and PE32+).
  return { timeDateStamp: view.getUint32(8, true), sizeOfImage: view.getUint32(0x50, true), codeView: undefined };
}
