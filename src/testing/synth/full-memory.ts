// Test support: a full-memory style minidump (MiniDumpWithFullMemory: the memory in a Memory64List,
// a memory-info list for all of it) as large as a test asks, for tests that bound what reading a big
// dump costs.
import { PeBuilder, TEXT } from '../../formats/pe/testing.js';
import { amd64Context } from './context.js';
import { SynthMinidump } from './minidump.js';
import { StackBuilder } from './section.js';

const IMAGE = 0x140000000n;
const HEAP = 0x10000000n;
const STACK_BYTES = 256 * 1024;
/** Each stack's reserve below what is committed (and captured): 1 MiB in all, as the linker's default. */
const STACK_RESERVE = 1024 * 1024 - STACK_BYTES;
const FRAMES = 32;
const MEM_COMMIT = 0x1000;
const MEM_RESERVE = 0x2000;
const PAGE_READWRITE = 0x04;
const PAGE_EXECUTE_READ = 0x20;
const MEM_PRIVATE = 0x20000;
const MEM_IMAGE = 0x1000000;

/**
 * A full-memory style dump of an x64 Windows process: app.exe's image (headers and a .text of
 * calls), two threads whose stacks hold 32 frames returning into it, each
 * a quarter committed of a 1 MiB reserve, and `heapRegions` regions of `regionBytes` committed
 * private memory (heap-like: repeating pointer-sized words, the regions 16 MiB apart), all in the
 * Memory64List with a memory-info list for it all. Thread 0x100 crashed reading address 0x10.
 */
export function fullMemoryDump(spec: { readonly heapRegions: number; readonly regionBytes: number }): Uint8Array {
  const { heapRegions, regionBytes } = spec;
  const pe = new PeBuilder({ imageBase: IMAGE, timeDateStamp: 0x5f000000 });
  const text = new Uint8Array(0x1000);
  // call rel32 instructions ending where the stack's return addresses point (.text + 5 + k * 0x80), one per frame.
  for (let at = 0; at < 0x1000; at += 0x80) text.set([0xe8, 0, 0, 0, 0], at);
  const textRva = pe.section({ name: '.text', data: text, characteristics: TEXT });
  const code = IMAGE + BigInt(textRva);
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: 'windows' })
    .module({ base: IMAGE, size: pe.sizeOfImage, name: 'C:\\app\\app.exe', timeDateStamp: pe.timeDateStamp })
    .memoryInfo({ base: IMAGE, size: pe.sizeOfImage, allocationBase: IMAGE, protect: PAGE_EXECUTE_READ, type: MEM_IMAGE })
    .memory64(IMAGE, pe.bytes('memory'));
  const contexts: Uint8Array[] = [];
  for (const [i, id] of [0x100, 0x104].entries()) {
    const reserve = 0x7fe00000n + BigInt(i) * 0x200000n;
    const sp = reserve + BigInt(STACK_RESERVE);
    const stack = new StackBuilder(sp, 8);
    // Frame 0 is a leaf (its return address at rsp); each frame is 0x40 bytes from a return address after a call.
    for (let f = 0; f < FRAMES; f++) stack.word(code + 5n + BigInt(f * 0x80)).fill(0x38);
    stack.fill(STACK_BYTES - FRAMES * 0x40);
    const context = amd64Context({ rip: code + 0x10n, rsp: sp });
    contexts.push(context);
    dump.thread({ id, stack, context });
    dump.memoryInfo({ base: reserve, size: STACK_RESERVE, allocationBase: reserve, state: MEM_RESERVE, type: MEM_PRIVATE });
    dump.memoryInfo({ base: sp, size: STACK_BYTES, allocationBase: reserve, state: MEM_COMMIT, protect: PAGE_READWRITE, type: MEM_PRIVATE });
  }
  const region = new Uint8Array(regionBytes);
  const words = new DataView(region.buffer);
  for (let at = 0; at < regionBytes; at += 8) words.setBigUint64(at, HEAP + BigInt(at & 0xfff0), true);
  for (let r = 0; r < heapRegions; r++) {
    const base = HEAP + BigInt(r) * 0x1000000n;
    dump.memory64(base, region);
    dump.memoryInfo({ base, size: regionBytes, allocationBase: base, state: MEM_COMMIT, protect: PAGE_READWRITE, type: MEM_PRIVATE });
  }
  return dump.exception({ threadId: 0x100, code: 0xc0000005, address: 0x10, parameters: [0, 0x10], context: contexts[0]! }).build();
}
