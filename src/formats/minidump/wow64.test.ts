import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '../../model/snapshot.js';
import { amd64Context, SynthMinidump, x86Context, wow64ThreadMemory, type Wow64ThreadSpec } from '../../testing/synth/index.js';
import { readMinidump } from './read-minidump.js';

const TEB64 = 0x7ffd_e000n;
const TEB32 = TEB64 + 0x2000n;
const CPU_RESERVED = 0x0024_fd20n;
const X86 = { eip: 0x0040_1234, esp: 0x0018_ff40, ebp: 0x0018_ff60, ebx: 7, esi: 8, edi: 9, eax: 1, ecx: 2, edx: 3, efl: 0x246 };
// The thread as a 64-bit dumper sees it: in 64-bit code (CS 0x33) in ntdll's system call.
const NATIVE = amd64Context({ rip: 0x7ff8_1234_5678n, rsp: 0x0024_f000n, cs: 0x33 });

function dump(options: { layer?: boolean; spec?: Partial<Wow64ThreadSpec>; context?: Uint8Array; teb?: boolean; extra?: (d: SynthMinidump) => void } = {}): SynthMinidump {
  const d = new SynthMinidump().systemInfo({ cpu: 'amd64', platform: 'windows', version: [10, 0, 19045] });
  d.module({ base: 0x7ff8_1230_0000n, size: 0x1f0000, name: 'C:\\Windows\\System32\\ntdll.dll' });
  if (options.layer ?? true) {
    d.module({ base: 0x7ff8_0000_0000n, size: 0x60000, name: 'C:\\Windows\\System32\\wow64.dll' });
    d.module({ base: 0x7700_0000n, size: 0xa000, name: 'C:\\Windows\\System32\\wow64cpu.dll' });
  }
  d.thread({ id: 0x1a2c, teb: TEB64, context: options.context ?? NATIVE });
  if (options.teb ?? true) {
    const spec: Wow64ThreadSpec = { teb64: TEB64, cpuReserved: CPU_RESERVED, context: x86Context(X86), stack32: { base: 0x0019_0000n, limit: 0x0018_c000n }, ...options.spec };
    for (const m of wow64ThreadMemory(spec)) d.memory(m.base, m.bytes);
  }
  options.extra?.(d);
  return d;
}

async function read(d: SynthMinidump): Promise<Snapshot> {
  return readMinidump(d.source('wow64.dmp'));
}

function hexRegisters(s: Snapshot): Record<string, string> | undefined {
  const c = s.threads[0]!.wow64?.context;
  return c && Object.fromEntries([...c.registers].map(([k, v]) => [k, `0x${v.toString(16)}`]));
}

test('WOW64: the x86 context comes from TEB64 TlsSlots[1] → WOW64_CPURESERVED, the stack extent from the 32-bit TEB', async () => {
  const s = await read(dump());
  const w = s.threads[0]!.wow64!;
  assert.equal(w.source, 'cpu-reserved');
  assert.equal(w.context?.cpu, 'x86');
  assert.deepEqual(hexRegisters(s), { eip: '0x401234', esp: '0x18ff40', ebp: '0x18ff60', ebx: '0x7', esi: '0x8', edi: '0x9', eax: '0x1', ecx: '0x2', edx: '0x3', efl: '0x246' });
  assert.equal(w.teb32, TEB32);
  assert.deepEqual(w.stackBounds, { base: 0x0019_0000n, limit: 0x0018_c000n });
  assert.deepEqual(s.wow64?.evidence, ['the WOW64 layer is loaded (wow64.dll, wow64cpu.dll)', "1 thread's 64-bit TEB points to a 32-bit TEB"]);
  assert.deepEqual(s.warnings, []);
  // The thread's own context is still the 64-bit one: Breakpad's walk is unchanged.
  assert.equal(s.threads[0]!.context?.cpu, 'amd64');
});

test('WOW64: the 32-bit TEB alone shows a WOW64 thread (no module list evidence needed)', async () => {
  const s = await read(dump({ layer: false }));
  assert.equal(s.threads[0]!.wow64?.source, 'cpu-reserved');
  assert.deepEqual(s.wow64?.evidence, ["1 thread's 64-bit TEB points to a 32-bit TEB"]);
});

test('WOW64: a thread stopped in 32-bit code (CS 0x23, as wine writes it) gives its x86 registers from its own record', async () => {
  const context = amd64Context({ rip: 0x7bc0_ba5cn, rsp: 0x0063_fdecn, rbp: 0x0063_fe18n, rax: 0xffff_ffff_0000_0032n, cs: 0x23, rflags: 0x287 });
  const s = await read(dump({ layer: false, context, spec: { machine: 0x014c } }));
  const w = s.threads[0]!.wow64!;
  assert.equal(w.source, 'compatibility-mode');
  assert.equal(hexRegisters(s)?.['eip'], '0x7bc0ba5c');
  assert.equal(hexRegisters(s)?.['esp'], '0x63fdec');
  assert.equal(hexRegisters(s)?.['eax'], '0x32', 'the low half only');
  assert.equal(hexRegisters(s)?.['efl'], '0x287');
});

test('WOW64: a native amd64 thread is never read as WOW64, whatever its TLS slot 1 points to', async () => {
  // A 64-bit process: no WOW64 modules, no 32-bit TEB (ExceptionList 0), but TlsSlots[1] points to
  // bytes that happen to look like a WOW64_CPURESERVED.
  const d = new SynthMinidump().systemInfo({ cpu: 'amd64', platform: 'windows' });
  d.module({ base: 0x7ff8_1230_0000n, size: 0x1f0000, name: 'C:\\Windows\\System32\\ntdll.dll' });
  d.thread({ id: 1, teb: TEB64, context: NATIVE });
  const [teb64, reserved] = wow64ThreadMemory({ teb64: TEB64, cpuReserved: CPU_RESERVED, context: x86Context(X86), stack32: { base: 0x20000n, limit: 0x10000n } });
  const native = teb64!.bytes.slice();
  native.fill(0, 0, 8); // ExceptionList
  native.fill(0, 0x180c, 0x1810); // WowTebOffset
  d.memory(TEB64, native).memory(reserved!.base, reserved!.bytes);
  const s = await read(d);
  assert.equal(s.threads[0]!.wow64, undefined);
  assert.equal(s.wow64, undefined);
  assert.deepEqual(s.warnings, []);
});

test('WOW64: an x86 context a 32-bit dumper wrote is left as it is', async () => {
  const s = await read(dump({ context: x86Context(X86) }));
  assert.equal(s.threads[0]!.context?.cpu, 'x86');
  assert.equal(s.threads[0]!.wow64, undefined);
});

test('WOW64: damaged TEB64 and WOW64_CPURESERVED pointers give a warning each, never a throw', async () => {
  const cases: { name: string; options: Parameters<typeof dump>[0]; warning: RegExp | undefined; problem: RegExp }[] = [
    { name: 'TlsSlots[1] out of the dump', options: { spec: { tlsSlot1: 0x5000_0000n } }, warning: /WOW64_CPURESERVED at 0x50000000 is not in the dump/, problem: /not in the dump/ },
    { name: 'TlsSlots[1] null', options: { spec: { tlsSlot1: 0n } }, warning: /TlsSlots\[1\] \(WOW64_CPURESERVED\) is null/, problem: /null/ },
    { name: 'wrong Machine', options: { spec: { machine: 0x01c4 } }, warning: /Machine 0x01c4, not x86 \(0x014c\)/, problem: /Machine 0x01c4/ },
    { name: 'context cut short', options: { spec: { context: x86Context(X86).subarray(0, 100) } }, warning: /WOW64_CONTEXT at 0x24fd24 is cut short/, problem: /cut short/ },
    { name: 'an amd64 context in the x86 slot', options: { spec: { context: x86Context(X86, 0x0010003f) } }, warning: /ContextFlags 0x10003f are not an x86 context's/, problem: /ContextFlags/ },
    { name: 'TEB64 not captured', options: { teb: false }, warning: undefined, problem: /64-bit TEB \(0x7ffde000\) is not in the dump/ },
  ];
  for (const c of cases) {
    const s = await read(dump(c.options));
    const w = s.threads[0]!.wow64;
    assert.ok(w, c.name);
    assert.equal(w.context, undefined, c.name);
    assert.match(w.problem ?? '', c.problem, c.name);
    if (c.warning) {
      assert.equal(s.warnings.length, 1, `${c.name}: ${s.warnings.join('; ')}`);
      assert.match(s.warnings[0]!, c.warning, c.name);
      assert.match(s.warnings[0]!, /^wow64\.dmp: thread 0x1a2c: WOW64: .*; only its 64-bit stack is walked$/, c.name);
    } else {
      assert.deepEqual(s.warnings, [], c.name);
    }
  }
});

test('WOW64: x86 images in memory count as evidence (PE Machine 0x014c), and only a bounded number of headers is read', async () => {
  const image = (machine: number): Uint8Array => {
    const b = new Uint8Array(0x200);
    b[0] = 0x4d;
    b[1] = 0x5a;
    new DataView(b.buffer).setUint32(0x3c, 0x80, true);
    new DataView(b.buffer).setUint32(0x80, 0x4550, true);
    new DataView(b.buffer).setUint16(0x84, machine, true);
    return b;
  };
  const d = new SynthMinidump().systemInfo({ cpu: 'amd64', platform: 'windows' });
  for (let i = 0; i < 40; i++) {
    const base = 0x1000_0000n + BigInt(i) * 0x10000n;
    d.module({ base, size: 0x1000, name: `C:\\app\\m${i}.dll` }).memory(base, image(0x014c));
  }
  d.module({ base: 0x7ff8_0000_0000n, size: 0x1000, name: 'C:\\app\\x64.dll' }).memory(0x7ff8_0000_0000n, image(0x8664));
  d.thread({ id: 1, teb: 0, context: NATIVE });
  const s = await read(d);
  assert.deepEqual(s.wow64?.evidence, ['32 x86 images in memory (PE Machine 0x014c)']);
  assert.equal(s.threads[0]!.wow64?.problem, 'the thread has no TEB address');
});
