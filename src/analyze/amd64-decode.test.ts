import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeAmd64, formatAmd64, MAX_INSTRUCTION_LENGTH } from './amd64-decode.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const text = (s: string): string | undefined => {
  const i = decodeAmd64(hex(s));
  return i ? formatAmd64(i) : undefined;
};

test("the corpus's crashing instructions print as rust-minidump's snapshots show them", () => {
  // rust-minidump/linux-mini.dmp and pipeline-inlines-macos-segv.dmp (SIB with no base and no index: an absolute disp32).
  assert.equal(text('c704254500000005000000'), 'mov dword [0x45], 0x5');
  assert.equal(text('c604254200008001'), 'mov byte [0x80000042], 0x1');
});

test('memory operand forms follow yaxpeax: a zero displacement drops the form with one, scale 1 is printed', () => {
  const cases: [string, string][] = [
    ['8a03', 'mov al, byte [rbx]'],
    ['668b03', 'mov ax, word [rbx]'],
    ['488b03', 'mov rax, qword [rbx]'],
    ['8a8500080000', 'mov al, byte [rbp + 0x800]'],
    ['488b8500f8ffff', 'mov rax, qword [rbp - 0x800]'],
    ['8b4500', 'mov eax, dword [rbp]'],
    ['8a04b500000000', 'mov al, byte [rsi * 4]'],
    ['8a04b510000000', 'mov al, byte [rsi * 4 + 0x10]'],
    ['8a040b', 'mov al, byte [rbx + rcx * 1]'],
    ['428a440910', 'mov al, byte [rcx + r9 * 1 + 0x10]'],
    ['4a8b4409f0', 'mov rax, qword [rcx + r9 * 1 - 0x10]'],
    ['498b84d9ffffff7f', 'mov rax, qword [r9 + rbx * 8 + 0x7fffffff]'],
    ['498b84d901000080', 'mov rax, qword [r9 + rbx * 8 - 0x7fffffff]'],
    ['488b0424', 'mov rax, qword [rsp]'],
    ['488b0500100000', 'mov rax, qword [rip + 0x1000]'],
    ['64488b042528000000', 'mov rax, qword fs:[0x28]'],
    ['2e8b03', 'mov eax, dword [rbx]'],
    ['488d4308', 'lea rax, qword [rbx + 0x8]'],
    ['48c7040841414141', 'mov qword [rax + rcx * 1], 0x41414141'],
    ['c78424900300000d0000c0', 'mov dword [rsp + 0x390], -0x3ffffff3'],
  ];
  for (const [bytes, expected] of cases) assert.equal(text(bytes), expected, bytes);
});

test('immediates, registers and branches print in yaxpeax syntax', () => {
  const cases: [string, string][] = [
    ['483d00f0ffff', 'cmp rax, -0x1000'],
    ['803948', 'cmp byte [rcx], 0x48'],
    ['0040 00'.replace(' ', ''), 'add byte [rax], al'],
    ['f77dfc', 'idiv dword [rbp - 0x4]'],
    ['cd29', 'int 0x29'],
    ['cc', 'int 0x3'],
    ['c3', 'ret'],
    ['c20800', 'ret 0x8'],
    ['55', 'push rbp'],
    ['415f', 'pop r15'],
    ['e86e030000', 'call 0x36e'],
    ['ff5010', 'call qword [rax + 0x10]'],
    ['ffd0', 'call rax'],
    ['ff25f0ffffff', 'jmp qword [rip - 0x10]'],
    ['7410', 'jz $+0x10'],
    ['75f0', 'jnz $-0x10'],
    ['0f8410000000', 'jz $+0x10'],
    ['eb00', 'jmp $+0x0'],
    ['40b6ff', 'mov sil, 0xff'],
    ['b4ff', 'mov ah, 0xff'],
    ['48b8ffffffffffffffff', 'mov rax, -0x1'],
    ['480fb64310', 'movzx rax, byte [rbx + 0x10]'],
    ['0fbf07', 'movsx eax, word [rdi]'],
    ['4863c8', 'movsxd rcx, eax'],
    ['f0480fb10a', 'lock cmpxchg qword [rdx], rcx'],
    ['0f1100', 'movups xmmword [rax], xmm0'],
    ['0f2808', 'movaps xmm1, xmmword [rax]'],
    ['f30f104004', 'movss xmm0, dword [rax + 0x4]'],
    ['f20f1108', 'movsd qword [rax], xmm1'],
    ['0f2e07', 'ucomiss xmm0, dword [rdi]'],
    ['660f6f07', 'movdqa xmm0, xmmword [rdi]'],
    ['f30f7f07', 'movdqu xmmword [rdi], xmm0'],
    ['0f94c0', 'setz al'],
    ['480f44c1', 'cmovz rax, rcx'],
    ['d1e0', 'shl eax, 0x1'],
    ['48c1e804', 'shr rax, 0x4'],
    ['d3e0', 'shl eax, cl'],
    ['fe00', 'inc byte [rax]'],
    ['48ff08', 'dec qword [rax]'],
    ['ff30', 'push qword [rax]'],
    ['8f00', 'pop qword [rax]'],
    ['f6400101', 'test byte [rax + 0x1], 0x1'],
    ['a1efcdab8967452301', 'mov eax, dword [0x123456789abcdef]'],
  ];
  for (const [bytes, expected] of cases) assert.equal(text(bytes), expected, bytes);
});

test('string instructions carry their segments and rep prefix', () => {
  assert.equal(text('a4'), 'movs byte es:[rdi], byte ds:[rsi]');
  assert.equal(text('f348a5'), 'rep movs qword es:[rdi], qword ds:[rsi]');
  assert.equal(text('f3aa'), 'rep stos byte es:[rdi], al');
  assert.equal(text('ac'), 'lods al, byte ds:[rsi]');
  assert.equal(text('f2a6'), 'repnz cmps byte ds:[rdi], byte es:[rsi]');
  // yaxpeax prints rep prefixes only on movs, cmps, lods, stos, ins and outs.
  assert.equal(text('f2ae'), 'scas byte es:[rdi], al');
});

test('memory sizes are the bytes the instruction accesses', () => {
  const size = (s: string): number | undefined => decodeAmd64(hex(s))?.memSize;
  assert.equal(size('8a03'), 1);
  assert.equal(size('668b03'), 2);
  assert.equal(size('8b03'), 4);
  assert.equal(size('488b03'), 8);
  assert.equal(size('0f1100'), 16);
  assert.equal(size('55'), 8, 'push reg names its stack slot');
  assert.equal(size('e800000000'), 8, 'so does call rel32');
  assert.equal(size('c3'), 8, 'and ret');
  assert.equal(size('ffd0'), 8, 'and call reg');
  assert.equal(size('6a01'), 0, 'push imm names none');
  assert.equal(size('483d00f0ffff'), 0, 'nor cmp rax, imm');
  assert.equal(size('89c0'), 4, 'a ModRM form has its operand size even with a register r/m');
  assert.equal(text('c1e0ff'), 'shl eax, -0x1', 'shift counts are signed bytes');
});

test('hostile bytes: truncated, invalid, too long or not yet known decode to undefined, never throw', () => {
  assert.equal(decodeAmd64(new Uint8Array(0)), undefined);
  assert.equal(decodeAmd64(hex('c70425450000000500')), undefined, 'immediate cut short');
  assert.equal(decodeAmd64(hex('8b')), undefined, 'ModRM missing');
  assert.equal(decodeAmd64(hex('8b04')), undefined, 'SIB missing');
  assert.equal(decodeAmd64(hex('48')), undefined, 'only a REX prefix');
  assert.equal(decodeAmd64(hex('06')), undefined, 'push es is invalid in 64-bit mode');
  assert.equal(decodeAmd64(hex('c708')), undefined, 'c7 /1 is not mov');
  assert.equal(decodeAmd64(hex('ff18')), undefined, 'far calls are not decoded');
  assert.equal(decodeAmd64(hex('488dc0')), undefined, 'lea of a register is invalid');
  assert.equal(decodeAmd64(hex('f08b03')), undefined, 'lock on a plain load is invalid');
  assert.equal(decodeAmd64(hex('f001c0')), undefined, 'lock on a register destination is invalid');
  // 14 prefixes and a 2-byte instruction: 16 bytes.
  assert.equal(decodeAmd64(hex('66'.repeat(14) + '8b03')), undefined, 'longer than 15 bytes');
  assert.equal(text('66'.repeat(12) + '8b03'), 'mov ax, word [rbx]', 'exactly 14 bytes is fine');
});

test('property: any bytes decode to undefined or to an instruction of at most 15 bytes that formats', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 20 }), (bytes) => {
      const i = decodeAmd64(bytes);
      if (i === undefined) return true;
      assert.ok(i.length >= 1 && i.length <= Math.min(MAX_INSTRUCTION_LENGTH, bytes.length));
      assert.equal(typeof formatAmd64(i), 'string');
      return true;
    }),
    { numRuns: 5000 },
  );
});
