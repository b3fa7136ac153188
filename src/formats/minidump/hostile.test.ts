// Hostile and damaged minidumps: header and directory problems throw a FormatError naming file,
// structure and offset; anything wrong inside a stream becomes a warning and the rest is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../io/byte-source.js';
import { isFormatError } from '../../io/errors.js';
import type { Snapshot } from '../../model/snapshot.js';
import {
  Section,
  everyStream,
  Stream,
  SynthMinidump,
  minidumpString,
  utf8String,
  x86Context,
  type StreamWriter,
} from '../../testing/synth/index.js';
import { readMinidump } from './read-minidump.js';

const NAME = 'hostile.dmp';

function source(bytes: Uint8Array): BufferSource {
  return new BufferSource(bytes, NAME);
}

function read(dump: SynthMinidump): Promise<Snapshot> {
  return readMinidump(dump.source(NAME));
}


/** Everything the reader produced, as text, so two snapshots can be compared. */
function summary(s: Snapshot): string {
  const { warnings: _warnings, memory, file: _file, ...rest } = s;
  return JSON.stringify({ ...rest, regions: memory.regions }, (_key, v: unknown) =>
    typeof v === 'bigint' ? `0x${v.toString(16)}` : v instanceof Map ? [...(v as Map<unknown, unknown>)] : v,
  );
}

function headerAndDirectorySize(bytes: Uint8Array): number {
  return 32 + 12 * new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
}

/** Overwrites the size or RVA of a stream's directory entry. */
function patchDirectory(bytes: Uint8Array, type: number, patch: { size?: number; rva?: number }): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const count = view.getUint32(8, true);
  const directory = view.getUint32(12, true);
  for (let i = 0; i < count; i++) {
    const at = directory + i * 12;
    if (view.getUint32(at, true) !== type) continue;
    if (patch.size !== undefined) view.setUint32(at + 4, patch.size, true);
    if (patch.rva !== undefined) view.setUint32(at + 8, patch.rva, true);
    return bytes;
  }
  throw new Error(`no stream 0x${type.toString(16)}`);
}

function setU32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, v, true);
  return bytes;
}

test('the every-stream dump itself reads without warnings', async () => {
  const snapshot = await read(everyStream());
  assert.deepEqual(snapshot.warnings, []);
  assert.equal(snapshot.threads.length, 2);
  assert.equal(snapshot.modules[0]!.debugId, '5A9832E5287241C1838ED98914E9B7FF1');
});

test('truncated at every offset: a FormatError for header and directory, else a snapshot; lost data is always reported', async () => {
  const full = everyStream().build();
  const complete = summary(await readMinidump(source(full)));
  const fixed = headerAndDirectorySize(full);
  for (let length = 0; length < full.length; length++) {
    let snapshot: Snapshot;
    try {
      snapshot = await readMinidump(source(full.subarray(0, length)));
    } catch (e) {
      assert.ok(isFormatError(e), `length ${length}: ${String(e)}`);
      assert.equal(e.file, NAME);
      assert.ok(['MINIDUMP_HEADER', 'MINIDUMP_DIRECTORY'].includes(e.structure), `length ${length}: ${e.structure}`);
      assert.ok(Number.isInteger(e.offset), `length ${length}: offset ${String(e.offset)}`);
      assert.ok(length < fixed, `length ${length}: only header and directory problems throw (${e.message})`);
      continue;
    }
    assert.ok(length >= fixed, `length ${length}: a truncated directory must throw`);
    for (const w of snapshot.warnings) assert.ok(w.startsWith(`${NAME}: `), `length ${length}: warning names the file: ${w}`);
    if (summary(snapshot) !== complete) {
      assert.ok(snapshot.warnings.length > 0, `length ${length}: data was lost without a warning`);
    }
  }
});

test('header: a stream count the file cannot hold throws before allocating', async () => {
  const bytes = setU32(everyStream().build(), 8, 0xffffffff);
  await assert.rejects(readMinidump(source(bytes)), (e) => {
    assert.ok(isFormatError(e));
    assert.equal(e.file, NAME);
    assert.equal(e.structure, 'MINIDUMP_HEADER');
    assert.equal(e.offset, 8);
    assert.match(e.reason, /stream count 4294967295 does not fit/);
    return true;
  });
});

test('header: a directory RVA past the end of the file throws', async () => {
  const bytes = setU32(everyStream().build(), 12, 0xfffffff0);
  await assert.rejects(readMinidump(source(bytes)), (e) => isFormatError(e) && e.structure === 'MINIDUMP_HEADER' && e.offset === 8);
});

test('header: a directory RVA past the end with no streams throws a FormatError too', async () => {
  const bytes = setU32(setU32(new SynthMinidump().build(), 8, 0), 12, 0x10000);
  await assert.rejects(readMinidump(source(bytes)), (e) => isFormatError(e) && e.file === NAME);
});

test('a stream whose RVA is past the end is a warning; the others are read', async () => {
  const bytes = patchDirectory(everyStream().build(), Stream.ModuleList, { rva: 0x7fff0000 });
  const snapshot = await readMinidump(source(bytes));
  assert.deepEqual(snapshot.modules, []);
  assert.equal(snapshot.threads.length, 2);
  assert.equal(snapshot.warnings.length, 1);
  assert.match(snapshot.warnings[0]!, /^hostile\.dmp: MINIDUMP_MODULE_LIST at offset 0x7fff0000: needs \d+ bytes but the file ends/);
});

test('a stream whose size is 0xffffffff is a warning', async () => {
  const bytes = patchDirectory(everyStream().build(), Stream.ThreadList, { size: 0xffffffff });
  const snapshot = await readMinidump(source(bytes));
  assert.deepEqual(snapshot.threads, []);
  assert.match(snapshot.warnings.join('\n'), /MINIDUMP_THREAD_LIST/);
});

test('streams shorter than their fixed structure are warnings and give defaults', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .stream(Stream.SystemInfo, new Uint8Array(20))
      .stream(Stream.Exception, new Uint8Array(100))
      .stream(Stream.MiscInfo, new Uint8Array(8))
      .stream(Stream.BreakpadInfo, new Uint8Array(4))
      .stream(Stream.CrashpadInfo, new Uint8Array(30))
      .thread({ id: 1 }),
  );
  assert.equal(snapshot.system.cpu, 'unknown');
  assert.equal(snapshot.exception, undefined);
  assert.deepEqual(snapshot.process, { processId: undefined, createTime: undefined });
  assert.equal(snapshot.breakpad, undefined);
  assert.equal(snapshot.crashpad, undefined);
  assert.equal(snapshot.threads.length, 1);
  assert.equal(snapshot.warnings.length, 5);
});

const COUNT_MAX = 0xffffffff;

test('list counts of 0xffffffff are warnings, not allocations', async () => {
  const count = (n: number | bigint, width: 4 | 8 = 4): Uint8Array => (width === 4 ? new Section().u32(n) : new Section().u64(n)).fill(16).finish();
  const snapshot = await read(
    new SynthMinidump()
      .stream(Stream.ThreadList, count(COUNT_MAX))
      .stream(Stream.ModuleList, count(COUNT_MAX))
      .stream(Stream.MemoryList, count(COUNT_MAX))
      .stream(Stream.ThreadNameList, count(COUNT_MAX))
      .stream(Stream.UnloadedModuleList, new Section().u32(12).u32(24).u32(COUNT_MAX).finish())
      .stream(Stream.ThreadInfoList, new Section().u32(12).u32(64).u32(COUNT_MAX).finish())
      .stream(Stream.MemoryInfoList, new Section().u32(16).u32(48).u64(0xffffffffffffffffn).finish())
      .stream(Stream.Memory64List, new Section().u64(COUNT_MAX).u64(0).finish()),
  );
  assert.deepEqual(snapshot.threads, []);
  assert.deepEqual(snapshot.modules, []);
  assert.deepEqual(snapshot.unloadedModules, []);
  assert.deepEqual(snapshot.memoryInfo, []);
  assert.deepEqual(snapshot.memory.regions, []);
  for (const structure of [
    'MINIDUMP_THREAD_LIST',
    'MINIDUMP_MODULE_LIST',
    'MINIDUMP_MEMORY_LIST',
    'MINIDUMP_THREAD_NAME_LIST',
    'MINIDUMP_UNLOADED_MODULE_LIST',
    'MINIDUMP_THREAD_INFO_LIST',
    'MINIDUMP_MEMORY_INFO_LIST',
    'MINIDUMP_MEMORY64_LIST',
  ]) {
    assert.ok(
      snapshot.warnings.some((w) => w.includes(`${structure} at offset`)),
      `a warning names ${structure}: ${snapshot.warnings.join(' | ')}`,
    );
  }
});

test('self-describing lists with entry sizes too small to hold their fields are warnings', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .stream(Stream.UnloadedModuleList, new Section().u32(12).u32(0).u32(1).finish())
      .stream(Stream.ThreadInfoList, new Section().u32(4).u32(64).u32(0).finish())
      .stream(Stream.MemoryInfoList, new Section().u32(16).u32(8).u64(1).fill(8).finish()),
  );
  assert.equal(snapshot.warnings.filter((w) => w.includes('is too small')).length, 3);
});

test('Crashpad annotation counts of 0xffffffff are warnings', async () => {
  const snapshot = await read(
    new SynthMinidump().stream(Stream.CrashpadInfo, (s, place) => {
      const dictionary = place(new Section().u32(COUNT_MAX).finish());
      s.u32(1).fill(32).u32(dictionary.size).u32(dictionary.rva).u32(0).u32(0);
    }),
  );
  assert.equal(snapshot.crashpad, undefined);
  assert.match(snapshot.warnings.join('\n'), /MinidumpSimpleStringDictionary at offset 0x[0-9a-f]+: declares 4294967295 entries/);
});

test('a memory descriptor whose RVA is past the end is skipped with a warning; the next is read', async () => {
  const snapshot = await read(
    new SynthMinidump().stream(Stream.MemoryList, (s, place) => {
      const good = place(new Uint8Array([0xaa, 0xbb]));
      s.u32(2);
      s.u64(0x1000).u32(0x100).u32(0x7ffffff0);
      s.u64(0x2000).u32(good.size).u32(good.rva);
    }),
  );
  assert.deepEqual(
    snapshot.memory.regions.map((r) => r.base),
    [0x2000n],
  );
  assert.match(snapshot.warnings.join('\n'), /MINIDUMP_MEMORY_DESCRIPTOR #0 .*memory at 0x1000 extends past the end of the file; skipped/);
});

test('a Memory64List range past the end keeps the part that is there, with a warning', async () => {
  const snapshot = await read(
    new SynthMinidump().stream(Stream.Memory64List, (s, place) => {
      const data = place(new Uint8Array([1, 2, 3, 4]));
      s.u64(3).u64(data.rva);
      s.u64(0x1000).u64(2);
      s.u64(0x2000).u64(0x100000); // only 2 bytes of it are in the file
      s.u64(0x3000).u64(4);
    }),
  );
  assert.deepEqual(
    snapshot.memory.regions.map((r) => [r.base, r.size]),
    [
      [0x1000n, 2],
      [0x2000n, 2],
    ],
  );
  assert.deepEqual(await snapshot.memory.read(0x2000n, 2), new Uint8Array([3, 4]));
  assert.match(snapshot.warnings.join('\n'), /range #1 .*the remaining 2 ranges are missing/);
});

test('a Memory64List BaseRva beyond 2^53 is a warning', async () => {
  const snapshot = await read(new SynthMinidump().stream(Stream.Memory64List, new Section().u64(1).u64(0xffffffffffffff00n).u64(0x1000).u64(1).finish()));
  assert.deepEqual(snapshot.memory.regions, []);
  assert.match(snapshot.warnings.join('\n'), /BaseRva 0xffffffffffffff00 is too large/);
});

/** One MINIDUMP_THREAD with the given stack and context locations. */
function rawThread(stack: { base: number; size: number; rva: number | 'place' }, context: 'place' | { size: number; rva: number }): StreamWriter {
  return (s, place) => {
    s.u32(1).u32(1).u32(0).u32(0).u32(0).u64(0);
    s.u64(stack.base);
    if (stack.rva === 'place') {
      const bytes = place(new Uint8Array(stack.size));
      s.u32(bytes.size).u32(bytes.rva);
    } else {
      s.u32(stack.size).u32(stack.rva);
    }
    if (context === 'place') {
      const ctx = place(x86Context({ eip: 0x401000 }));
      s.u32(ctx.size).u32(ctx.rva);
    } else {
      s.u32(context.size).u32(context.rva);
    }
  };
}

test('a thread stack past the end of the file is a warning; the thread keeps its context', async () => {
  const snapshot = await read(new SynthMinidump().systemInfo({ cpu: 'x86', platform: 'windows' }).stream(Stream.ThreadList, rawThread({ base: 0x12f000, size: 0x1000, rva: 0x7ffff000 }, 'place')));
  const thread = snapshot.threads[0]!;
  assert.deepEqual(thread.stack, { base: 0x12f000n, size: 0x1000, fileOffset: undefined });
  assert.equal(thread.context!.registers.get('eip'), 0x401000n);
  assert.match(snapshot.warnings.join('\n'), /thread 0x1 stack at offset 0x7ffff000 \(4096 bytes\) lies past the end of the file/);
});

test('a thread stack with RVA 0 (wine) has no file offset and no warning', async () => {
  const snapshot = await read(new SynthMinidump().systemInfo({ cpu: 'x86', platform: 'windows' }).stream(Stream.ThreadList, rawThread({ base: 0x12f000, size: 0x1000, rva: 0 }, 'place')));
  assert.deepEqual(snapshot.threads[0]!.stack, { base: 0x12f000n, size: 0x1000, fileOffset: undefined });
  assert.deepEqual(snapshot.warnings, []);
});

test('a thread context past the end of the file, or 0xffffffff bytes long, is a warning', async () => {
  for (const context of [
    { size: 716, rva: 0x7ffff000 },
    { size: 0xffffffff, rva: 64 },
  ]) {
    const snapshot = await read(new SynthMinidump().systemInfo({ cpu: 'x86', platform: 'windows' }).stream(Stream.ThreadList, rawThread({ base: 0x12f000, size: 16, rva: 'place' }, context)));
    assert.equal(snapshot.threads.length, 1);
    assert.equal(snapshot.threads[0]!.context, undefined);
    assert.match(snapshot.warnings.join('\n'), /thread 0x1 context at offset/);
  }
});

test('a thread-name RVA past the end of the file is a warning; other names are still attached', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .thread({ id: 1 })
      .thread({ id: 2 })
      .thread({ id: 3 })
      .stream(Stream.ThreadNameList, (s, place) => {
        s.u32(3);
        s.u32(1).u64(0xffffffff00000000n);
        s.u32(2).u64(place(minidumpString('worker')).rva);
        s.u32(3).u64(0x7ffffffc);
      }),
  );
  assert.deepEqual(
    snapshot.threads.map((t) => t.name),
    [undefined, 'worker', undefined],
  );
  assert.equal(snapshot.warnings.length, 2);
  assert.match(snapshot.warnings[0]!, /MINIDUMP_THREAD_NAME #0: name RVA 0xffffffff00000000 is past the end of the file/);
  assert.match(snapshot.warnings[1]!, /MINIDUMP_THREAD_NAME #2: name RVA 0x7ffffffc is past the end of the file/);
});

test('module name strings with a huge or odd length are warnings; the module stays, unnamed', async () => {
  const huge = new Section().u32(0xfffffffe).u16(0x41).u16(0).finish();
  const odd = new Section().u32(5).u16(0x41).u16(0x42).u16(0x43).finish();
  const snapshot = await read(
    new SynthMinidump()
      .module({ base: 0x400000, size: 0x1000, name: huge })
      .module({ base: 0x500000, size: 0x1000, name: odd })
      .module({ base: 0x600000, size: 0x1000, name: 'fine.dll' })
      .thread({ id: 1 }),
  );
  assert.deepEqual(
    snapshot.modules.map((m) => m.codeFile),
    ['', '', 'fine.dll'],
  );
  assert.equal(snapshot.warnings.length, 2);
  assert.match(snapshot.warnings[0]!, /module #0 name at offset 0x[0-9a-f]+: implausible string length 4294967294/);
  assert.match(snapshot.warnings[1]!, /module #1 name at offset 0x[0-9a-f]+: implausible string length 5/);
});

test('a module name RVA and a CodeView RVA past the end are warnings', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .stream(Stream.ModuleList, (s) => {
        s.u32(1).u64(0x400000).u32(0x1000).u32(0).u32(0).u32(0x7ffffff0).fill(52).u32(24).u32(0x7fffff00).u32(0).u32(0).u64(0).u64(0);
      })
      .thread({ id: 1 }),
  );
  assert.equal(snapshot.modules.length, 1);
  assert.equal(snapshot.modules[0]!.codeFile, '');
  assert.equal(snapshot.modules[0]!.debugId, '');
  assert.match(snapshot.warnings[0]!, /module #0 name at offset 0x7ffffff0/);
  assert.match(snapshot.warnings[1]!, /module #0 CodeView record at offset 0x7fffff00/);
});

test('a Crashpad annotation with a huge length is a warning; the other annotations are read', async () => {
  const snapshot = await read(
    new SynthMinidump().stream(Stream.CrashpadInfo, (s, place) => {
      const dictionary = place((d) => {
        d.u32(2);
        d.u32(place(utf8String('bad')).rva).u32(place(new Section().u32(0x7fffffff).finish()).rva);
        d.u32(place(utf8String('good')).rva).u32(place(utf8String('yes')).rva);
      });
      s.u32(1).fill(32).u32(dictionary.size).u32(dictionary.rva).u32(0).u32(0);
    }),
  );
  assert.deepEqual(snapshot.crashpad!.simpleAnnotations, new Map([['good', 'yes']]));
  assert.match(snapshot.warnings.join('\n'), /annotation value at offset 0x[0-9a-f]+: implausible string length 2147483647/);
});

test('an unreadable CSD version string is reported, not silently dropped', async () => {
  const snapshot = await read(
    new SynthMinidump()
      .stream(Stream.SystemInfo, (s) => {
        s.u16(0).u16(6).u16(0).u8(1).u8(1).u32(10).u32(0).u32(19041).u32(2).u32(0x7ffffff0).fill(28);
      })
      .thread({ id: 1 }),
  );
  assert.equal(snapshot.system.osVersion, '10.0.19041');
  assert.equal(snapshot.warnings.length, 1, 'the CSD string at 0x7ffffff0 could not be read');
});

test(
  'a Memory64List DataSize beyond 2^53 is past the end like any other: the ranges before it are kept',
  async () => {
    const snapshot = await read(
      new SynthMinidump().stream(Stream.Memory64List, (s, place) => {
        const data = place(new Uint8Array([1, 2, 3, 4]));
        s.u64(2).u64(data.rva);
        s.u64(0x1000).u64(2);
        s.u64(0x2000).u64(0x8000000000000000n);
      }),
    );
    assert.deepEqual(
      snapshot.memory.regions.map((r) => [r.base, r.size]),
      [
        [0x1000n, 2],
        [0x2000n, 2],
      ],
    );
    assert.equal(snapshot.warnings.filter((w) => w.includes('MEMORY64_LIST')).length, 1);
  },
);
