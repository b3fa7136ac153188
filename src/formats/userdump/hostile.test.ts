// Legacy user dumps that lie: every offset and count past the file, truncation anywhere, lengths
// and sizes no file can hold. Each gives a partial snapshot with warnings naming the structure
// and its offset (or, for a header too short to read, a FormatError), with bounded reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../../analyze/process.js';
import { BufferSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { renderText } from '../../report/text.js';
import { CountingSource } from '../../testing/counting.js';
import { UserDumpBuilder, type UserDumpFile, type UserDumpWidth } from '../../testing/synth/index.js';
import { readUserDump } from './read-user-dump.js';

/** Two threads with TEBs and stacks, two modules, an exception: every part present. */
function dump(width: UserDumpWidth): UserDumpFile {
  const is64 = width === 64;
  const stack = is64 ? 0x8fe1f2d000n : 0x12d000n;
  const teb = is64 ? 0x8fe21a5000n : 0x7efdd000n;
  return new UserDumpBuilder({ width })
    .memory({ base: stack, bytes: new Uint8Array(0x3000).fill(0x11) })
    .teb(teb, stack + 0x3000n, stack)
    .thread({ id: 0x10, teb, registers: is64 ? { rip: 0x401000n, rsp: stack + 0x2000n } : { eip: 0x401000, esp: Number(stack) + 0x2000 } })
    .thread({ id: 0x20, teb, registers: is64 ? { rip: 0x401010n, rsp: stack + 0x2800n } : { eip: 0x401010, esp: Number(stack) + 0x2800 } })
    .module({ base: 0x400000n, size: 0x10000, name: 'C:\\app\\app.exe' })
    .module({ base: 0x77000000n, size: 0x100000, name: 'C:\\Windows\\System32\\ntdll.dll' })
    .exception({ threadId: 0x10, code: 0xc0000005, address: 0x401000n, parameters: [1n, 0x45n] })
    .build();
}

function put(bytes: Uint8Array, at: number, width: 32 | 64, value: bigint): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  if (width === 64) v.setBigUint64(at, value, true);
  else v.setUint32(at, Number(value), true);
}

async function read(bytes: Uint8Array): Promise<{ snapshot: Awaited<ReturnType<typeof readUserDump>>; bytesRead: number }> {
  const source = new CountingSource(new BufferSource(bytes, 'hostile.dmp'));
  const snapshot = await readUserDump(source);
  return { snapshot, bytesRead: source.counts.bytes };
}

/** A warning that names the file, the structure and an offset in the file, as FormatError words them. */
function warnsAbout(warnings: readonly string[], structure: string): boolean {
  return warnings.some((w) => w.startsWith('hostile.dmp: ') && w.includes(structure) && /at offset 0x[0-9a-f]+: /.test(w));
}

for (const width of [64, 32] as const) {
  const name = width === 64 ? 'USERDU64' : 'USERDUMP';
  const past = width === 64 ? 0x7fff_ffff_ffff_0000n : 0xffff_0000n;
  const cases: readonly (readonly [field: string, structure: string, check: (s: Awaited<ReturnType<typeof readUserDump>>) => void])[] = [
    ['ThreadOffset', 'CONTEXT', (s) => assert.deepEqual(s.threads.map((t) => [t.id, t.context]), [[0x10, undefined], [0x20, undefined]])],
    ['ThreadStateOffset', `CRASH_THREAD${width}`, (s) => assert.deepEqual(s.threads.map((t) => [t.id, t.teb, t.context !== undefined]), [[0, 0n, true], [1, 0n, true]])],
    ['ModuleOffset', `CRASH_MODULE${width}`, (s) => assert.equal(s.modules.length, 0)],
    ['DataOffset', 'memory data', (s) => assert.deepEqual([s.memory.regions.length, s.memoryInfo.length], [0, 2])],
    ['MemoryRegionOffset', `MEMORY_BASIC_INFORMATION${width}`, (s) => assert.deepEqual([s.memory.regions.length, s.memoryInfo.length], [0, 0])],
    ['DebugEventOffset', 'DEBUG_EVENT', (s) => assert.equal(s.exception, undefined)],
    ['VersionInfoOffset', 'version info', (s) => assert.deepEqual(s.userDump!.versionStrings, [])],
  ];
  for (const [field, structure, check] of cases) {
    test(`hostile ${name}: ${field} past the end of the file is a warning naming ${structure}; the rest reads`, async () => {
      const file = dump(width);
      const bytes = file.bytes.slice();
      put(bytes, file.offsetOf(field), width, past);
      const { snapshot, bytesRead } = await read(bytes);
      assert.ok(warnsAbout(snapshot.warnings, structure), snapshot.warnings.join('\n'));
      check(snapshot);
      assert.ok(bytesRead < 4 * bytes.length, `read ${bytesRead} bytes of a ${bytes.length}-byte file`);
    });
  }

  for (const [field, structure] of [
    ['ThreadCount', 'CONTEXT'],
    ['ModuleCount', `CRASH_MODULE${width}`],
    ['MemoryRegionCount', `MEMORY_BASIC_INFORMATION${width}`],
  ] as const) {
    test(`hostile ${name}: ${field} 0xffffffff reads what fits, with a warning naming ${structure}, in bounded reads`, async () => {
      const file = dump(width);
      const bytes = file.bytes.slice();
      new DataView(bytes.buffer).setUint32(file.offsetOf(field), 0xffffffff, true);
      const { snapshot, bytesRead } = await read(bytes);
      assert.ok(warnsAbout(snapshot.warnings, structure), snapshot.warnings.join('\n'));
      assert.ok(bytesRead < 8 * bytes.length, `read ${bytesRead} bytes of a ${bytes.length}-byte file`);
    });
  }

  test(`hostile ${name}: cut short anywhere, a snapshot with warnings, or a FormatError at the header; never another exception`, async () => {
    const file = dump(width);
    const header = width === 64 ? 0x60 : 0x40;
    const parts = ['debugEvent', 'regions', 'threads', 'threadStates', 'modules', 'data', 'versionInfo'].map((p) => file.offsetOf(p));
    const lengths = new Set<number>([0, 4, 8, header - 1, header, file.bytes.length - 1]);
    for (const at of parts) for (const d of [-1, 0, 1, 7, 0x30]) lengths.add(at + d);
    for (let n = 0; n < file.bytes.length; n += 97) lengths.add(n);
    let partial = 0;
    for (const n of [...lengths].filter((n) => n >= 0 && n < file.bytes.length).sort((a, b) => a - b)) {
      const bytes = file.bytes.slice(0, n);
      try {
        const { snapshot } = await read(bytes);
        assert.ok(n >= header, `a ${n}-byte file has no whole header`);
        assert.ok(snapshot.warnings.length > 0, `cut at 0x${n.toString(16)}: no warning`);
        partial++;
      } catch (e) {
        assert.ok(e instanceof FormatError, `cut at 0x${n.toString(16)}: ${String(e)}`);
        assert.ok(n < header, `cut at 0x${n.toString(16)}: ${e.message}`);
        assert.match(e.structure, /^USERMODE_CRASHDUMP_HEADER/);
        assert.equal(e.offset, 0);
      }
    }
    assert.ok(partial > 20, `${partial} partial snapshots`);
  });

  test(`hostile ${name}: cut short inside the memory data, the analysis still walks and reports`, async () => {
    const file = dump(width);
    const bytes = file.bytes.slice(0, file.offsetOf('data') + 0x1800);
    const analysis = await analyze(new BufferSource(bytes, 'hostile.dmp'));
    assert.ok(analysis.warnings.some((w) => /memory data at offset 0x[0-9a-f]+: region 0 .* runs past the end of the file: 0x1800 bytes kept, 1 later regions have no data/.test(w)), analysis.warnings.join('\n'));
    assert.equal(analysis.crashingThreadIndex, 0);
    assert.match(renderText(analysis), /Thread 0 \(crashed\) id 0x10/);
  });
}

test('hostile USERDU64: an ImageNameLength past the file keeps the modules before it', async () => {
  const file = dump(64);
  const bytes = file.bytes.slice();
  const second = file.offsetOf('modules') + 0x10 + 'C:\\app\\app.exe\0'.length;
  new DataView(bytes.buffer).setUint32(second + 0xc, 0x7fffffff, true);
  const { snapshot } = await read(bytes);
  assert.deepEqual(snapshot.modules.map((m) => m.codeFile), ['C:\\app\\app.exe']);
  assert.ok(snapshot.warnings.some((w) => w.includes(`CRASH_MODULE64 at offset 0x${(second + 0xc).toString(16)}: module 1: ImageNameLength 2147483647`)), snapshot.warnings.join('\n'));
});

test('hostile USERDU64: a RegionSize larger than the file leaves that region and the later ones without data, listed still', async () => {
  const file = dump(64);
  const bytes = file.bytes.slice();
  // The first region's RegionSize.
  new DataView(bytes.buffer).setBigUint64(file.offsetOf('regions') + 0x18, 0x7fff_0000_0000_0000n, true);
  const { snapshot } = await read(bytes);
  assert.equal(snapshot.memoryInfo.length, 2);
  assert.equal(snapshot.memory.regions.length, 0);
  assert.ok(warnsAbout(snapshot.warnings, 'MEMORY_BASIC_INFORMATION64'), snapshot.warnings.join('\n'));
  // Without the TEB's bytes the stacks start at sp and are found by address.
  assert.equal(snapshot.threads[0]!.stack?.base, 0x8fe1f2f000n);
});

test('hostile USERDU64: NumberParameters 0xffffffff gives the 15 the record has room for', async () => {
  const file = dump(64);
  const bytes = file.bytes.slice();
  new DataView(bytes.buffer).setUint32(file.offsetOf('debugEvent') + 0x10 + 0x18, 0xffffffff, true);
  const { snapshot } = await read(bytes);
  assert.equal(snapshot.exception!.parameters.length, 15);
  assert.deepEqual(snapshot.exception!.parameters.slice(0, 3), [1n, 0x45n, 0n]);
});

test('hostile USERDU64: a CONTEXT whose flags name another CPU loses that thread its registers, with a warning', async () => {
  const file = dump(64);
  const bytes = file.bytes.slice();
  new DataView(bytes.buffer).setUint32(file.offsetOf('threads') + 0x4d0 + 0x30, 0x00010007, true);
  const { snapshot } = await read(bytes);
  assert.deepEqual(snapshot.threads.map((t) => t.context !== undefined), [true, false]);
  assert.ok(warnsAbout(snapshot.warnings, 'CONTEXT of thread 1'), snapshot.warnings.join('\n'));
});

test('hostile USERDU64: an unknown MachineImageType reads threads without registers, with a warning', async () => {
  const file = dump(64);
  const bytes = file.bytes.slice();
  new DataView(bytes.buffer).setUint32(file.offsetOf('MachineImageType'), 0x1234, true);
  const { snapshot } = await read(bytes);
  assert.equal(snapshot.system.cpu, 'unknown');
  assert.deepEqual(snapshot.threads.map((t) => [t.id, t.context]), [[0x10, undefined], [0x20, undefined]]);
  assert.ok(snapshot.warnings.some((w) => /MachineImageType 0x1234 is no CPU/.test(w)));
});
