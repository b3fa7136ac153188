import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Directory, Machine } from '../formats/pe/constants.js';
import { imageBytes, PeBuilder, TEXT } from '../formats/pe/testing.js';
import { readFileSync } from 'node:fs';
import { PeImage } from '../formats/pe/pe-image.js';
import { repoPath } from '../testing/corpus.js';
import { armContext, arm64Context, StackBuilder, SynthMinidump } from '../testing/synth/index.js';
import { analyzeMinidump } from './process.js';

// The walker uses a module's PE unwind data when the dump holds the image: an ARM64 function with
// packed unwind data (RegI=2, CR=01, FrameSize=48: stp x19,x20,[sp,#-48]!; stp lr,...; the doc's
// canonical prologue), interrupted in its body, unwinds to the return address saved on the stack.

const BASE = 0x7ff600000000n;
const STACK = 0x10000n;

function le32(...words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(out.buffer).setUint32(i * 4, w, true));
  return out;
}

test('arm64: packed .pdata unwind data from an image in dump memory finds the caller (trust cfi)', async () => {
  const pe = new PeBuilder({ machine: Machine.ARM64, imageBase: BASE });
  pe.section({ name: '.text', data: new Uint8Array(0x200), characteristics: TEXT });
  const packed = 0x01a20021; // begin 0x1000, length 0x20, RegI=2, CR=01, FrameSize=48
  const pdata = le32(0x1000, packed);
  const pdataRva = pe.section({ name: '.pdata', data: pdata });
  pe.directory(Directory.Exception, pdataRva, pdata.length);
  const image = pe.bytes('memory');

  // After the prologue sp = STACK + 0x1d0; x19, x20 and lr were saved at +0x1e0, +0x1e8, +0x1f0.
  const returnAddress = BASE + 0x1180n;
  const stack = new StackBuilder(STACK, 8).fill(0x1e0).word(0x1919).word(0x2020).word(returnAddress).fill(0x100);
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'arm64', platform: 'windows' })
    .module({ base: BASE, size: image.length, name: 'C:\\app\\app.exe' })
    .memory(BASE, image)
    .thread({ id: 1, stack, context: arm64Context({ pc: BASE + 0x100cn, sp: STACK + 0x1d0n, lr: 0x1n }) })
    .breakpadInfo({ requestingThreadId: 1 });
  const analysis = await analyzeMinidump(dump.source());
  const frames = analysis.threads[0]!.frames;
  assert.equal(frames[0]!.trust, 'context');
  assert.equal(frames[1]!.trust, 'cfi');
  assert.equal(frames[1]!.ip, returnAddress);
  assert.equal(frames[1]!.sp, STACK + 0x200n);
  assert.equal(frames[1]!.registers.get('x19'), 0x1919n);
  assert.equal(frames[1]!.registers.get('x20'), 0x2020n);
});

test('arm (Windows, Thumb-2): .xdata unwind data of a real clang-built image in dump memory finds the caller where the r11 chain cannot', async () => {
  // test-data/pe-arm/arm-nofp.dll's `locals` (RVA 0x1090, -fomit-frame-pointer): push.w {r11, lr};
  // sub sp, #0x30; ... add sp, #0x30; pop.w {r11, pc}. Interrupted in its body (+0x44), where r11 is
  // no frame pointer: the chain cannot be followed, the unwind data restores r11 and lr.
  const file = new Uint8Array(readFileSync(repoPath('test-data', 'pe-arm', 'arm-nofp.dll')));
  const pe = await PeImage.parse(imageBytes(file, 'file', 'arm-nofp.dll'));
  const base = 0x10000000n;
  const size = pe.sizeOfImage;
  const mapped = new Uint8Array(size);
  mapped.set(file.subarray(0, 0x400));
  for (const s of pe.sections) mapped.set(file.subarray(s.rawDataOffset, s.rawDataOffset + Math.min(s.rawDataSize, s.virtualSize)), s.virtualAddress);
  const stack = 0x20000n;
  const returnAddress = base + 0x1153n; // into many_regs, Thumb bit set
  const savedR11 = stack + 0x100n;
  const stackBytes = new StackBuilder(stack, 4).fill(48).word(savedR11).word(returnAddress).fill(0x200);
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'arm', platform: 'windows' })
    .module({ base, size, name: 'C:\\app\\arm-nofp.dll', timeDateStamp: pe.timeDateStamp })
    .memory(base, mapped)
    .thread({ id: 1, stack: stackBytes, context: armContext({ pc: base + 0x1090n + 0x44n + 1n, sp: stack, r11: 0x10n, lr: 0x1n }) })
    .breakpadInfo({ requestingThreadId: 1 });
  const analysis = await analyzeMinidump(dump.source(), { reconstruct: false });
  const frames = analysis.threads[0]!.frames;
  assert.equal(frames[1]!.trust, 'cfi');
  assert.equal(frames[1]!.cfiSource, 'pe-unwind');
  assert.equal(frames[1]!.ip, returnAddress, 'the return address keeps its Thumb bit, as one read from the stack does');
  assert.equal(frames[1]!.instruction, returnAddress - 2n);
  assert.equal(frames[1]!.sp, stack + 56n);
  assert.equal(frames[1]!.registers.get('r11'), savedR11);
  assert.equal(frames[0]!.fixedAllocation, 56, 'push {r11, lr} and sub sp, #0x30');
});
