// Each stream of a synthetic minidump, read into the snapshot model.
import { SnapshotMemory } from '../../model/memory.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../io/byte-source.js';
import { isFormatError } from '../../io/errors.js';
import type { Snapshot } from '../../model/snapshot.js';
import {
  StackBuilder,
  Stream,
  SynthMinidump,
  amd64Context,
  elfBuildId,
  nb10,
  rsds,
  x86Context,
  type SystemInfoSpec,
} from '../../testing/synth/index.js';
import { readMinidump } from './read-minidump.js';

function read(dump: SynthMinidump, name = 'synth.dmp'): Promise<Snapshot> {
  return readMinidump(dump.source(name));
}

/** Warnings other than the one every dump without a thread list gets. */
function problems(snapshot: Snapshot): readonly string[] {
  return snapshot.warnings.filter((w) => !w.endsWith('the dump has no thread list'));
}

test('header: time stamp, file name and no warnings for a well-formed empty dump', async () => {
  const snapshot = await read(new SynthMinidump({ timeDateStamp: 0x5e5e5e5e }).systemInfo({ cpu: 'x86', platform: 'windows' }), 'empty.dmp');
  assert.equal(snapshot.file, 'empty.dmp');
  assert.equal(snapshot.format, 'minidump');
  assert.equal(snapshot.timeDateStamp, 0x5e5e5e5e);
  assert.deepEqual(snapshot.threads, []);
  assert.deepEqual(snapshot.modules, []);
  assert.equal(snapshot.exception, undefined);
  // The only complaint: there is no thread list.
  assert.deepEqual(snapshot.warnings, ['empty.dmp: the dump has no thread list']);
});

test('header: an unexpected version is a warning; the implementation-specific high half is ignored', async () => {
  const odd = await read(new SynthMinidump({ version: 0x1234 }).thread({ id: 1 }));
  assert.equal(odd.warnings.length, 1);
  assert.match(odd.warnings[0]!, /MINIDUMP_HEADER: unexpected version 0x1234/);
  const windows = await read(new SynthMinidump({ version: 0x000aa793 }).thread({ id: 1 }));
  assert.deepEqual(windows.warnings, []);
});

test('header: a file that is not a minidump throws a FormatError at offset 0', async () => {
  const bytes = new SynthMinidump().build();
  bytes[3] = 0x51; // 'MDMQ' instead of 'MDMP'
  await assert.rejects(readMinidump(new BufferSource(bytes, 'x.dmp')), (e) => {
    assert.ok(isFormatError(e));
    assert.equal(e.file, 'x.dmp');
    assert.equal(e.structure, 'MINIDUMP_HEADER');
    assert.equal(e.offset, 0);
    return true;
  });
});

test('SystemInfo: Windows x86 with vendor, CSD version and CPU count', async () => {
  const { system } = await read(
    new SynthMinidump().systemInfo({
      cpu: 'x86',
      platform: 'windows',
      version: [6, 1, 7601],
      csd: 'Service Pack 1',
      level: 6,
      revision: 0x3a09,
      cpuCount: 8,
      vendor: 'GenuineIntel',
    }),
  );
  assert.deepEqual(system, {
    cpu: 'x86',
    os: 'Windows NT',
    osShort: 'windows',
    osVersion: '6.1.7601 Service Pack 1',
    csdVersion: 'Service Pack 1',
    cpuInfo: 'GenuineIntel family 6 model 58 stepping 9',
    cpuCount: 8,
    cpuMicrocode: undefined,
    versionParts: { major: 6, minor: 1, build: 7601, csd: 'Service Pack 1' },
    // 'GenuineIntel' as CPUID 0 leaves it in ebx, edx, ecx.
    raw: { processorArchitecture: 0, processorLevel: 6, platformId: 2, cpuInformation: [0x756e6547, 0x49656e69, 0x6c65746e, 0, 0, 0] },
  });
});

test('SystemInfo: amd64 prints family/model/stepping without a vendor; no CSD string', async () => {
  const { system } = await read(new SynthMinidump().systemInfo({ cpu: 'amd64', platform: 'windows', version: [10, 0, 22621], level: 25, revision: 0x5002 }));
  assert.equal(system.cpu, 'amd64');
  assert.equal(system.osVersion, '10.0.22621');
  assert.equal(system.csdVersion, undefined);
  assert.equal(system.cpuInfo, 'family 25 model 80 stepping 2');
});

test('SystemInfo: an empty CSD string is kept apart from none (Breakpad prints a space after the build for it)', async () => {
  const { system } = await read(new SynthMinidump().systemInfo({ cpu: 'x86', platform: 'windows', version: [6, 1, 7600], csd: '' }));
  assert.equal(system.osVersion, '6.1.7600');
  assert.equal(system.csdVersion, '');
});

test('SystemInfo: platforms and architectures by number, including Breakpad extensions', async () => {
  const cases: [cpu: SystemInfoSpec['cpu'], platform: SystemInfoSpec['platform'], expected: Partial<Snapshot['system']>][] = [
    ['arm64', 'linux', { cpu: 'arm64', os: 'Linux', osShort: 'linux', cpuInfo: '' }],
    ['arm64-old', 'ios', { cpu: 'arm64', os: 'iOS', osShort: 'ios' }],
    ['arm', 'android', { cpu: 'arm', os: 'Android', osShort: 'android' }],
    [10, 'mac', { cpu: 'x86', os: 'Mac OS X', osShort: 'mac' }], // PROCESSOR_ARCHITECTURE_IA32_ON_WIN64
    [0x8005, 0x8206, { cpu: 'riscv', os: 'Fuchsia', osShort: 'fuchsia' }],
    [0x4444, 0x1234, { cpu: 'unknown', os: '0x1234', osShort: 'unknown' }],
  ];
  for (const [cpu, platform, expected] of cases) {
    const { system } = await read(new SynthMinidump().systemInfo({ cpu, platform }));
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(system[key as keyof typeof system], value, `${String(cpu)}/${String(platform)}: ${key}`);
    }
  }
});

test('no SystemInfo: the defaults, and contexts are still decoded by their flags', async () => {
  const snapshot = await read(new SynthMinidump().thread({ id: 3, context: amd64Context({ rip: 0x1234n }) }));
  assert.equal(snapshot.system.cpu, 'unknown');
  assert.equal(snapshot.system.os, 'unknown');
  assert.equal(snapshot.threads[0]!.context!.cpu, 'amd64');
  assert.equal(snapshot.threads[0]!.context!.registers.get('rip'), 0x1234n);
});

test('ThreadList: id, suspend count, priority, TEB, stack memory and context', async () => {
  const stack = new StackBuilder(0x0012f000n, 4).words(1, 2, 3, 4);
  const snapshot = await read(
    new SynthMinidump()
      .systemInfo({ cpu: 'x86', platform: 'windows' })
      .thread({ id: 0x1a4, suspendCount: 1, priority: 2, teb: 0x7ffdf000n, stack, context: x86Context({ eip: 0x401000, esp: 0x12f000 }) })
      .thread({ id: 0x1b0 }),
  );
  assert.deepEqual(snapshot.warnings, []);
  assert.equal(snapshot.threads.length, 2);
  const [first, second] = snapshot.threads as [Snapshot['threads'][0], Snapshot['threads'][0]];
  assert.equal(first.id, 0x1a4);
  assert.equal(first.suspendCount, 1);
  assert.equal(first.priority, 2);
  assert.equal(first.teb, 0x7ffdf000n);
  assert.equal(first.name, undefined);
  assert.equal(first.startAddress, undefined);
  assert.equal(first.stack!.base, 0x12f000n);
  assert.equal(first.stack!.size, 16);
  assert.ok(first.stack!.fileOffset !== undefined);
  const stackBytes = await snapshot.memory.read(0x12f000n, 4); // thread stacks are not MemoryList regions
  assert.equal(stackBytes, undefined);
  assert.equal(first.context!.registers.get('eip'), 0x401000n);
  assert.equal(second.id, 0x1b0);
  assert.equal(second.context, undefined, 'no context record');
  assert.equal(second.stack, undefined, 'no stack memory');
});

test('ThreadNameList and ThreadInfoList attach names and start addresses by thread id', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .thread({ id: 10 })
      .thread({ id: 11 })
      .thread({ id: 12 })
      .threadName(11, 'Wörker ☃')
      .threadName(10, 'main')
      .threadName(99, 'not in the thread list')
      .threadInfo({ id: 12, startAddress: 0x7ff612340000n })
      .threadInfo({ id: 10, startAddress: 0x401000 }),
  );
  assert.deepEqual(snapshot.warnings, []);
  assert.deepEqual(
    snapshot.threads.map((t) => [t.id, t.name, t.startAddress]),
    [
      [10, 'main', 0x401000n],
      [11, 'Wörker ☃', undefined],
      [12, undefined, 0x7ff612340000n],
    ],
  );
});

test('ModuleList: name, range, checksum, time stamp, code id and file version', async () => {
  const snapshot = await read(
    new SynthMinidump().systemInfo({ cpu: 'x86', platform: 'windows' }).module({
      base: 0x400000,
      size: 0x2d000,
      name: 'C:\\test_app.exe',
      checksum: 0xabcd,
      timeDateStamp: 0x45e8d93a,
      version: [10, 0, 19041, 3636],
    }),
  );
  assert.deepEqual(problems(snapshot), []);
  assert.deepEqual(snapshot.modules, [
    {
      base: 0x400000n,
      size: 0x2d000,
      codeFile: 'C:\\test_app.exe',
      codeId: '45E8D93A2d000', // %08X%x, as symbol servers spell it
      debugFile: '',
      debugId: '',
      version: '10.0.19041.3636',
      timeDateStamp: 0x45e8d93a,
      checksum: 0xabcd,
    },
  ]);
});

test('ModuleList: a module without time stamp and size has an empty code id; no signature means no version', async () => {
  const [m] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0, name: 'zero' }))).modules;
  assert.equal(m!.codeId, '');
  assert.equal(m!.version, undefined);
});

test('CodeView RSDS: GUID fields in Breakpad order, upper case, age appended; PDB name is the debug file', async () => {
  const [m] = (
    await read(new SynthMinidump().module({ base: 0x10000000, size: 0x1000, name: 'a.dll', codeView: rsds('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'c:\\build\\a.pdb') }))
  ).modules;
  assert.equal(m!.debugId, '5A9832E5287241C1838ED98914E9B7FF1');
  assert.equal(m!.debugFile, 'c:\\build\\a.pdb');
});

test('CodeView RSDS: GUID bytes are little-endian fields, not a byte string', async () => {
  const [m] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0x1000, name: 'b.dll', codeView: rsds('00000001-0002-0003-0405-060708090a0b', 0x10, 'b.pdb') }))).modules;
  assert.equal(m!.debugId, '00000001000200030405060708090A0B' + '10');
});

test('CodeView RSDS: an age of ten or more is printed as Breakpad and dump_syms do (%x, lower case)', async () => {
  const [m] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0x1000, name: 'c.dll', codeView: rsds('5a9832e5-2872-41c1-838e-d98914e9b7ff', 0x2a, 'c.pdb') }))).modules;
  assert.equal(m!.debugId, '5A9832E5287241C1838ED98914E9B7FF2a');
});

test('CodeView NB10: signature as 8 hex digits and the age', async () => {
  const [m] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0x1000, name: 'old.dll', codeView: nb10(0x3a2b1c0d, 2, 'old.pdb') }))).modules;
  assert.equal(m!.debugId, '3A2B1C0D2');
  assert.equal(m!.debugFile, 'old.pdb');
  const [aged] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0x1000, name: 'old.dll', codeView: nb10(0x3a2b1c0d, 0x1b, 'old.pdb') }))).modules;
  assert.equal(aged!.debugId, '3A2B1C0D1b', '%08X%x');
});

test('CodeView ELF build id: first 16 bytes read as a GUID with age 0; the whole id is the code id', async () => {
  const buildId = Array.from({ length: 20 }, (_, i) => i + 1); // 01 02 .. 14
  const [m] = (await read(new SynthMinidump().systemInfo({ cpu: 'amd64', platform: 'linux' }).module({ base: 0x7f0000000000n, size: 0x5000, name: '/usr/lib/libc.so.6', codeView: elfBuildId(buildId) }))).modules;
  assert.equal(m!.debugId, '0403020106050807090A0B0C0D0E0F100');
  assert.equal(m!.codeId, '0102030405060708090a0b0c0d0e0f1011121314');
  assert.equal(m!.debugFile, '/usr/lib/libc.so.6', 'ELF modules are their own debug file');
});

test('CodeView ELF build id shorter than a GUID is zero-padded', async () => {
  const [m] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0x1000, name: 'short.so', codeView: elfBuildId([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04]) }))).modules;
  assert.equal(m!.debugId, 'EFBEADDE020104030000000000000000' + '0');
  assert.equal(m!.codeId, 'deadbeef01020304');
});

test('CodeView: an unknown signature gives no debug id', async () => {
  const [m] = (await read(new SynthMinidump().module({ base: 0x1000, size: 0x1000, name: 'x.dll', codeView: new Uint8Array([0x58, 0x58, 0x58, 0x58, 1, 2, 3, 4]) }))).modules;
  assert.equal(m!.debugId, '');
  assert.equal(m!.debugFile, '');
});

test('ModuleList: several modules keep their order', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .module({ base: 0x50000000, size: 0x1000, name: 'second-by-address.dll' })
      .module({ base: 0x40000000, size: 0x1000, name: 'first-by-address.dll' }),
  );
  assert.deepEqual(
    snapshot.modules.map((m) => m.codeFile),
    ['second-by-address.dll', 'first-by-address.dll'],
  );
});

test('UnloadedModuleList: range, name and code id', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .unloadedModule({ base: 0x6f000000, size: 0x21000, name: 'C:\\gone.dll', timeDateStamp: 0x12345678 })
      .unloadedModule({ base: 0x70000000n, size: 0x1000, name: 'also-gone.dll' }),
  );
  assert.deepEqual(problems(snapshot), []);
  assert.deepEqual(snapshot.unloadedModules, [
    { base: 0x6f000000n, size: 0x21000, codeFile: 'C:\\gone.dll', codeId: '1234567821000' },
    { base: 0x70000000n, size: 0x1000, codeFile: 'also-gone.dll', codeId: '000000001000' },
  ]);
});

test('MemoryList: regions sorted by address and readable by address', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .memory(0x20000, new Uint8Array([9, 8, 7, 6]))
      .memory(0x10000, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
      .memory(0x30000, new Uint8Array(0)),
  );
  assert.deepEqual(
    snapshot.memory.regions.map((r) => [r.base, r.size]),
    [
      [0x10000n, 8],
      [0x20000n, 4],
    ],
    'empty ranges are dropped',
  );
  assert.deepEqual(await snapshot.memory.read(0x10002n, 3), new Uint8Array([3, 4, 5]));
  assert.deepEqual(await snapshot.memory.read(0x20000n, 4), new Uint8Array([9, 8, 7, 6]));
  assert.equal(await snapshot.memory.read(0x20002n, 4), undefined, 'past the end of the region');
  assert.equal(await snapshot.memory.read(0x18000n, 1), undefined, 'between regions');
  const memory = snapshot.memory as SnapshotMemory;
  const block = await memory.load(memory.find(0x10004n)!);
  assert.equal(block.u32(0x10004n), 0x08070605);
});

test('Memory64List: ranges follow each other from BaseRva', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .memory64(0x7ff000000000n, new Uint8Array([1, 2, 3, 4]))
      .memory64(0x1000n, new Uint8Array([5, 6]))
      .memory64(0x7ff000010000n, new Uint8Array([7, 8, 9])),
  );
  assert.deepEqual(
    snapshot.memory.regions.map((r) => [r.base, r.size]),
    [
      [0x1000n, 2],
      [0x7ff000000000n, 4],
      [0x7ff000010000n, 3],
    ],
  );
  assert.deepEqual(await snapshot.memory.read(0x1000n, 2), new Uint8Array([5, 6]));
  assert.deepEqual(await snapshot.memory.read(0x7ff000010000n, 3), new Uint8Array([7, 8, 9]));
});

test('MemoryList and Memory64List together', async () => {
  const snapshot = await read(new SynthMinidump().memory(0x1000, new Uint8Array([1])).memory64(0x2000, new Uint8Array([2])));
  assert.deepEqual(
    snapshot.memory.regions.map((r) => r.base),
    [0x1000n, 0x2000n],
  );
});

test('MemoryInfoList: every field', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .memoryInfo({ base: 0x10000, size: 0x1000, allocationBase: 0x10000, allocationProtect: 4, state: 0x1000, protect: 0x20, type: 0x1000000 })
      .memoryInfo({ base: 0x7ffe0000n, size: 0x100000000n, allocationBase: 0x7ffe0000n, state: 0x10000, protect: 1, type: 0 }),
  );
  assert.deepEqual(snapshot.memoryInfo, [
    { base: 0x10000n, allocationBase: 0x10000n, allocationProtect: 4, size: 0x1000n, state: 0x1000, protect: 0x20, type: 0x1000000 },
    { base: 0x7ffe0000n, allocationBase: 0x7ffe0000n, allocationProtect: 0, size: 0x100000000n, state: 0x10000, protect: 1, type: 0 },
  ]);
});

test('Exception: thread, code, flags, address, parameters and its own context', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .systemInfo({ cpu: 'amd64', platform: 'windows' })
      .thread({ id: 5, context: amd64Context({ rip: 0x1111n, rsp: 0x2000n }) })
      .exception({
        threadId: 5,
        code: 0xc0000005,
        flags: 1,
        address: 0x7ff600001234n,
        parameters: [1n, 0xdeadbeefn],
        context: amd64Context({ rip: 0x7ff600001234n, rsp: 0x1f00n }),
      }),
  );
  const e = snapshot.exception!;
  assert.equal(e.threadId, 5);
  assert.equal(e.code, 0xc0000005);
  assert.equal(e.flags, 1);
  assert.equal(e.address, 0x7ff600001234n);
  assert.deepEqual(e.parameters, [1n, 0xdeadbeefn]);
  assert.equal(e.context!.registers.get('rip'), 0x7ff600001234n);
  assert.equal(snapshot.threads[0]!.context!.registers.get('rip'), 0x1111n, 'the thread keeps its own context');
});

test('Exception: NumberParameters above 15 reads the 15 there are; no context record is fine', async () => {
  const parameters = Array.from({ length: 15 }, (_, i) => BigInt(i + 1));
  const snapshot = await read(new SynthMinidump().exception({ threadId: 1, code: 0x80000003, address: 0, parameters, parameterCount: 0xffffffff }));
  assert.deepEqual(snapshot.exception!.parameters, parameters);
  assert.equal(snapshot.exception!.context, undefined);
});

test('MiscInfo: process id and create time only when their flags say so', async () => {
  const both = await read(new SynthMinidump().miscInfo({ processId: 4242, createTime: 1_600_000_000 }));
  assert.deepEqual(both.process, { processId: 4242, createTime: 1_600_000_000 });
  const idOnly = await read(new SynthMinidump().miscInfo({ processId: 7 }));
  assert.deepEqual(idOnly.process, { processId: 7, createTime: undefined });
  const none = await read(new SynthMinidump());
  assert.deepEqual(none.process, { processId: undefined, createTime: undefined });
});

test('BreakpadInfo: thread ids only when their validity bits are set', async () => {
  const both = await read(new SynthMinidump().breakpadInfo({ dumpThreadId: 3, requestingThreadId: 4 }));
  assert.deepEqual(both.breakpad, { dumpThreadId: 3, requestingThreadId: 4 });
  const one = await read(new SynthMinidump().breakpadInfo({ requestingThreadId: 9 }));
  assert.deepEqual(one.breakpad, { dumpThreadId: undefined, requestingThreadId: 9 });
  assert.equal((await read(new SynthMinidump())).breakpad, undefined);
});

test('BreakpadAssertionInfo: expression, function, file, line and type; none without the stream', async () => {
  const dump = new SynthMinidump().assertion({ expression: 'p != nullptr', function: 'Parse', file: 'parse.cc', line: 42, type: 1 });
  assert.deepEqual((await read(dump)).assertion, { expression: 'p != nullptr', function: 'Parse', file: 'parse.cc', line: 42, type: 1 });
  const long = await read(new SynthMinidump().assertion({ expression: 'x'.repeat(200), type: 2 }));
  assert.equal(long.assertion?.expression, 'x'.repeat(127));
  assert.deepEqual([long.assertion?.function, long.assertion?.file, long.assertion?.line], ['', '', 0]);
  assert.equal((await read(new SynthMinidump())).assertion, undefined);
});

test('BreakpadAssertionInfo of another size is not read (as in Breakpad): a warning, no assertion', async () => {
  const snapshot = await read(new SynthMinidump().stream(Stream.BreakpadAssertionInfo, new Uint8Array(780)));
  assert.equal(snapshot.assertion, undefined);
  assert.ok(problems(snapshot).some((w) => w.includes('MDRawAssertionInfo') && w.includes('not 776')), problems(snapshot).join('; '));
});

test('CrashpadInfo: report and client ids, process annotations, per-module list and simple annotations', async () => {
  const snapshot = await read(
    new SynthMinidump().crashpadInfo({
      reportId: '01234567-89ab-cdef-0011-223344556677',
      clientId: 'fedcba98-7654-3210-8899-aabbccddeeff',
      simpleAnnotations: { prod: 'Chrome', ver: '120.0', 'non-ascii': 'é✓' },
      modules: [
        { moduleIndex: 0, listAnnotations: ['first', 'second'], simpleAnnotations: { key: 'value' } },
        { moduleIndex: 3 },
      ],
    }),
  );
  assert.deepEqual(problems(snapshot), []);
  const c = snapshot.crashpad!;
  assert.equal(c.reportId, '01234567-89ab-cdef-0011-223344556677');
  assert.equal(c.clientId, 'fedcba98-7654-3210-8899-aabbccddeeff');
  assert.deepEqual(c.simpleAnnotations, new Map([['prod', 'Chrome'], ['ver', '120.0'], ['non-ascii', 'é✓']]));
  assert.deepEqual(c.moduleAnnotations, [
    { moduleIndex: 0, listAnnotations: ['first', 'second'], simpleAnnotations: new Map([['key', 'value']]) },
    { moduleIndex: 3, listAnnotations: [], simpleAnnotations: new Map() },
  ]);
});

test('Linux streams: maps parsed into mappings; cpuinfo, status, lsb-release and cmdline kept as text', async () => {
  const maps = [
    '00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon',
    '00651000-00652000 rw-p 00051000 08:02 173521      /usr/bin/dbus-daemon',
    '7f2d4c000000-7f2d4c021000 rw-p 00000000 00:00 0 ',
    '7ffc1c2a0000-7ffc1c2c1000 rw-p 00000000 00:00 0                          [stack]',
    '7f00deadb000-7f00deadc000 r--s 00000000 00:05 42 /path with spaces/lib.so',
    'not a mapping line',
  ].join('\n');
  const snapshot = await read(
    new SynthMinidump()
      .systemInfo({ cpu: 'amd64', platform: 'linux' })
      .linuxText(Stream.LinuxMaps, maps)
      .linuxText(Stream.LinuxCpuInfo, 'processor\t: 0\n')
      .linuxText(Stream.LinuxProcStatus, 'Name:\tdbus-daemon\n')
      .linuxText(Stream.LinuxLsbRelease, 'DISTRIB_ID=Ubuntu\n')
      .linuxText(Stream.LinuxCmdLine, 'dbus-daemon\0--session\0'),
  );
  const linux = snapshot.linux!;
  assert.equal(linux.maps.length, 5);
  assert.deepEqual(linux.maps[0], {
    start: 0x400000n,
    end: 0x452000n,
    readable: true,
    writable: false,
    executable: true,
    private: true,
    offset: 0n,
    path: '/usr/bin/dbus-daemon',
  });
  assert.equal(linux.maps[1]!.offset, 0x51000n);
  assert.equal(linux.maps[2]!.path, '', 'anonymous mapping');
  assert.equal(linux.maps[3]!.path, '[stack]');
  assert.deepEqual([linux.maps[4]!.private, linux.maps[4]!.path], [false, '/path with spaces/lib.so']);
  assert.equal(linux.cpuInfo, 'processor\t: 0\n');
  assert.equal(linux.procStatus, 'Name:\tdbus-daemon\n');
  assert.equal(linux.lsbRelease, 'DISTRIB_ID=Ubuntu\n');
  assert.equal(linux.cmdLine, 'dbus-daemon', 'text streams end at the first NUL');
});

test('no Linux streams: linux is undefined', async () => {
  assert.equal((await read(new SynthMinidump().thread({ id: 1 }))).linux, undefined);
});

test('count padding: thread, module and memory lists with 4 extra bytes after the count read the same', async () => {
  const build = (countPadding: boolean): SynthMinidump =>
    new SynthMinidump({ countPadding })
      .systemInfo({ cpu: 'x86', platform: 'windows' })
      .thread({ id: 1, context: x86Context({ eip: 0x401000 }), stack: new StackBuilder(0x12f000, 4).words(1, 2) })
      .thread({ id: 2 })
      .module({ base: 0x400000, size: 0x1000, name: 'a.exe' })
      .module({ base: 0x10000000, size: 0x2000, name: 'b.dll' })
      .memory(0x5000, new Uint8Array([1, 2, 3]))
      .threadName(2, 'two');
  const plain = await read(build(false));
  const padded = await read(build(true));
  assert.deepEqual(padded.warnings, []);
  assert.deepEqual(
    padded.threads.map((t) => [t.id, t.name, t.context?.registers.get('eip'), t.stack?.size]),
    [
      [1, undefined, 0x401000n, 8],
      [2, 'two', undefined, undefined],
    ],
  );
  assert.deepEqual(padded.modules, plain.modules);
  assert.deepEqual(
    padded.memory.regions.map((r) => [r.base, r.size]),
    [[0x5000n, 3]],
  );
});

test('unknown and unused stream types are ignored', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .systemInfo({ cpu: 'amd64', platform: 'windows' })
      .stream(0x12345678, new Uint8Array([1, 2, 3]))
      .stream(0, new Uint8Array(0)) // UnusedStream
      .thread({ id: 1 }),
  );
  assert.deepEqual(snapshot.warnings, []);
  assert.equal(snapshot.system.cpu, 'amd64');
  assert.equal(snapshot.threads.length, 1);
});
