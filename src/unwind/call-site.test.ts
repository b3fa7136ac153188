import assert from 'node:assert/strict';
import { test } from 'node:test';
import { precededByCall } from './call-site.js';

const x = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
// Pads the call to the 8-byte window the walker reads, with filler that is not a call.
const win = (...call: number[]): Uint8Array => x(...Array(8 - call.length).fill(0x90), ...call);

test('x86/x64 call forms are recognised', () => {
  const calls: [string, number[]][] = [
    ['call rel32', [0xe8, 0x10, 0x20, 0x30, 0x40]],
    ['call rax', [0xff, 0xd0]],
    ['call r9 (REX)', [0x41, 0xff, 0xd1]],
    ['call [rip+disp32]', [0xff, 0x15, 1, 2, 3, 4]],
    ['call [rax+disp8]', [0xff, 0x50, 0x08]],
    ['call [rax+disp32]', [0xff, 0x90, 1, 2, 3, 4]],
    ['call [rsp] (SIB)', [0xff, 0x14, 0x24]],
    ['call [rsp+disp8] (SIB)', [0xff, 0x54, 0x24, 0x08]],
    ['call [rsp+disp32] (SIB)', [0xff, 0x94, 0x24, 1, 2, 3, 4]],
    ['call [disp32+rax*8] (SIB, no base)', [0xff, 0x14, 0xc5, 1, 2, 3, 4]],
    ['notrack call rax', [0x3e, 0xff, 0xd0]],
    ['call far [rax]', [0xff, 0x18]],
  ];
  for (const [name, bytes] of calls) assert.ok(precededByCall('amd64', win(...bytes)), name);
});

test('non-calls are rejected', () => {
  const others: [string, number[]][] = [
    ['jmp rax', [0xff, 0xe0]],
    ['push [rax]', [0xff, 0x30]],
    ['inc dword [rax]', [0xff, 0x00]],
    ['call rax, then one more byte', [0xff, 0xd0, 0x90]],
    ['mov eax, imm32', [0xb8, 1, 2, 3, 4]],
    ['nothing', []],
  ];
  for (const [name, bytes] of others) assert.equal(precededByCall('amd64', win(...bytes)), false, name);
  assert.equal(precededByCall('x86', x(0xe8)), false, 'too short');
});

test('arm64 BL, BLR and BLRAA are calls; B and RET are not', () => {
  const word = (w: number): Uint8Array => x(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24);
  assert.ok(precededByCall('arm64', word(0x94000010))); // bl #0x40
  assert.ok(precededByCall('arm64', word(0xd63f0100))); // blr x8
  assert.ok(precededByCall('arm64', word(0xd73f0811))); // blraa x0, x17
  assert.equal(precededByCall('arm64', word(0x14000010)), false); // b #0x40
  assert.equal(precededByCall('arm64', word(0xd65f03c0)), false); // ret
});

test('32-bit ARM: Thumb-2 BL/BLX imm and Thumb BLX Rm, ARM BL/BLX imm/BLX Rm are calls; branches are not', () => {
  // Encodings from llvm-mc -triple=thumbv7 / armv7 -show-encoding.
  const thumb = (...b: number[]): boolean => precededByCall('arm', x(...b), true);
  const arm = (...b: number[]): boolean => precededByCall('arm', x(...b), false);
  assert.ok(thumb(0x00, 0xf0, 0x80, 0xf8)); // bl #256
  assert.ok(thumb(0x00, 0xf0, 0x80, 0xe8)); // blx #256
  assert.ok(thumb(0x00, 0xbf, 0x98, 0x47)); // nop; blx r3
  assert.equal(thumb(0x00, 0xbf, 0x70, 0x47), false); // nop; bx lr
  assert.equal(thumb(0x00, 0xf0, 0x80, 0xb8), false); // b.w #256
  assert.equal(thumb(0x00, 0xbf, 0x80, 0xe0), false); // nop; b #256
  assert.ok(arm(0x40, 0x00, 0x00, 0xeb)); // bl #256
  assert.ok(arm(0x40, 0x00, 0x00, 0xfa)); // blx #256
  assert.ok(arm(0x33, 0xff, 0x2f, 0xe1)); // blx r3
  assert.equal(arm(0x40, 0x00, 0x00, 0xea), false); // b #256
  assert.equal(arm(0x1e, 0xff, 0x2f, 0xe1), false); // bx lr
  assert.equal(thumb(0x98, 0x47), false, 'too short');
});
