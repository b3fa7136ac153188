import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeX86Prologue } from './prologue.js';

test("the blog's MamaHog function: SEH prologue, then add esp, -656", () => {
  // push ebp; mov ebp,esp; push -1; push imm32; push imm32; mov eax,fs:[0]; push eax; mov fs:[0],esp; add esp,0FFFFFD70h
  const code = Uint8Array.from([
    0x55, 0x8b, 0xec, 0x6a, 0xff, 0x68, 0x40, 0xe2, 0xd9, 0xb8, 0x68, 0x08, 0xb2, 0xd9, 0xb8, 0x64, 0xa1, 0, 0, 0, 0, 0x50,
    0x64, 0x89, 0x25, 0, 0, 0, 0, 0x81, 0xc4, 0x70, 0xfd, 0xff, 0xff,
  ]);
  assert.deepEqual(decodeX86Prologue(code), { framePointer: true, pushes: 4, localAllocation: 656 });
});

test('hot-patchable MSVC prologue with sub esp, imm8', () => {
  const code = Uint8Array.from([0x8b, 0xff, 0x55, 0x8b, 0xec, 0x83, 0xec, 0x20, 0x53]);
  assert.deepEqual(decodeX86Prologue(code), { framePointer: true, pushes: 0, localAllocation: 0x20 });
});

test('GCC prologue (89 E5) with pushes and sub esp, imm32', () => {
  const code = Uint8Array.from([0x55, 0x89, 0xe5, 0x57, 0x56, 0x53, 0x81, 0xec, 0x3c, 0x02, 0, 0]);
  assert.deepEqual(decodeX86Prologue(code), { framePointer: true, pushes: 3, localAllocation: 0x23c });
});

test('no allocation, or code that is not a prologue', () => {
  assert.deepEqual(decodeX86Prologue(Uint8Array.from([0x55, 0x8b, 0xec, 0x5d, 0xc3])), { framePointer: true, pushes: 0, localAllocation: undefined });
  assert.deepEqual(decodeX86Prologue(Uint8Array.from([0xc3])), { framePointer: false, pushes: 0, localAllocation: undefined });
  assert.deepEqual(decodeX86Prologue(new Uint8Array(0)), { framePointer: false, pushes: 0, localAllocation: undefined });
});
