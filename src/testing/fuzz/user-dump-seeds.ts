// Synthetic legacy user dumps for the user-dump fuzz target: a 64-bit (USERDU64) and a 32-bit
// (USERDUMP) process with a module image in memory (headers, .text, a CodeView record), a TEB, a
// stack of return addresses into the image and an exception, built by the user dump builder.
import { Directory, Machine } from '../../formats/pe/constants.js';
import { PeBuilder, TEXT, debugDirectory, rsdsRecord } from '../../formats/pe/testing.js';
import { UserDumpBuilder, type UserDumpWidth } from '../synth/user-dump.js';
import type { Seed } from './targets.js';

export function userDumpSeeds(): Seed[] {
  return ([64, 32] as const).map((width: UserDumpWidth) => {
    const is64 = width === 64;
    const base = is64 ? 0x7ff7e1450000n : 0x400000n;
    const pe = new PeBuilder({ is64, imageBase: base, machine: is64 ? Machine.AMD64 : Machine.I386 });
    const text = new Uint8Array(0x400).fill(0xc3);
    for (let at = 0; at < 0x400; at += 0x40) text.set([0xe8, 0, 0, 0, 0], at);
    const textRva = pe.section({ name: '.text', data: text, characteristics: TEXT });
    const dir = debugDirectory(pe.nextRva, pe.nextFileOffset, [{ type: 2, data: rsdsRecord('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'app.pdb') }]);
    pe.directory(Directory.Debug, pe.section({ name: '.rdata', data: dir }), 28);
    const code = base + BigInt(textRva);
    const limit = is64 ? 0x8fe1f2d000n : 0x12d000n;
    const stack = new Uint8Array(0x3000);
    const view = new DataView(stack.buffer);
    for (let i = 0; i < 16; i++) {
      const ret = code + 5n + BigInt(i) * 0x40n;
      if (is64) view.setBigUint64(0x2000 + i * 0x40, ret, true);
      else view.setUint32(0x2000 + i * 0x40, Number(ret), true);
    }
    const sp = limit + 0x2000n;
    const teb = is64 ? 0x8fe21a5000n : 0x7efdd000n;
    const file = new UserDumpBuilder({ width })
      .memory({ base, bytes: pe.bytes('memory'), protect: 0x20, type: 0x1000000 })
      .memory({ base: limit, bytes: stack })
      .teb(teb, limit + 0x3000n, limit)
      .thread({ id: 0x10, teb, registers: is64 ? { rip: code + 2n, rsp: sp, rbp: sp } : { eip: Number(code) + 2, esp: Number(sp), ebp: Number(sp) } })
      .thread({ id: 0x20, teb, registers: is64 ? { rip: code + 0x42n, rsp: sp + 0x100n } : { eip: Number(code) + 0x42, esp: Number(sp) + 0x100 } })
      .module({ base, size: pe.sizeOfImage, name: 'C:\\app\\app.exe' })
      .exception({ threadId: 0x10, code: 0xc0000005, address: code + 2n, parameters: [0n, 0x10n] })
      .build();
    return { name: `synth:user-dump-${width}`, bytes: file.bytes };
  });
}
