// readSnapshot's dispatch: each signature reaches its reader or a message that names the format.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../io/byte-source.js';
import { isFormatError } from '../io/errors.js';
import { SynthMinidump } from '../testing/synth/index.js';
import { detectDump, readSnapshot } from './detect.js';
import { readMinidump } from './minidump/read-minidump.js';

const NAME = 'input.dmp';

function file(...parts: (string | number[])[]): BufferSource {
  const bytes = parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p));
  return new BufferSource(new Uint8Array([...bytes, ...new Array<number>(64).fill(0)]), NAME);
}

/** readSnapshot rejects with detect's own FormatError (at the signature) whose reason matches. */
async function rejectsWith(source: BufferSource, reason: RegExp): Promise<void> {
  await assert.rejects(readSnapshot(source), (e) => {
    assert.ok(isFormatError(e), String(e));
    assert.equal(e.file, NAME);
    assert.equal(e.structure, 'file signature');
    assert.equal(e.offset, 0);
    assert.match(e.reason, reason);
    return true;
  });
}

test('MDMP: read by the minidump reader', async () => {
  const bytes = new SynthMinidump().thread({ id: 7 }).build();
  const snapshot = await readSnapshot(new BufferSource(bytes, NAME));
  assert.deepEqual(snapshot, await readMinidump(new BufferSource(bytes, NAME)));
  assert.deepEqual(snapshot.threads.map((t) => t.id), [7]);
});

for (const signature of ['PAGEDU64', 'PAGEDUMP']) {
  test(`${signature}: handed to the kernel dump reader`, async () => {
    const source = file(signature);
    assert.deepEqual(await detectDump(source), { kind: 'kernel-dump' });
    // Whatever the kernel reader makes of 72 bytes, the signature check let it run.
    try {
      await readSnapshot(source);
    } catch (e) {
      assert.ok(isFormatError(e), String(e));
      assert.notEqual(e.structure, 'file signature');
    }
  });
}

for (const [signature, structure] of [
  ['USERDU64', 'USERMODE_CRASHDUMP_HEADER64'],
  ['USERDUMP', 'USERMODE_CRASHDUMP_HEADER32'],
] as const) {
  test(`${signature}: a legacy full user-mode dump, handed to the user dump reader`, async () => {
    assert.deepEqual(await detectDump(file(signature)), { kind: 'user-dump' });
    // Eight bytes and nothing more: the reader's own error, naming its header.
    await assert.rejects(readSnapshot(new BufferSource(new TextEncoder().encode(signature), NAME)), (e) => {
      assert.ok(isFormatError(e), String(e));
      assert.equal(e.structure, structure);
      assert.equal(e.offset, 0);
      return true;
    });
  });
}

test('USERDU with another ValidDump: a user dump header with an unknown signature', async () => {
  await rejectsWith(file('USERDUXX'), /^a legacy user-mode dump header \("USER"\) with an unknown ValidDump signature "DUXX"/);
});

test('PAGE with another ValidDump: a kernel dump header with an unknown signature', async () => {
  await rejectsWith(file('PAGEXXXX'), /^a Windows kernel dump header \("PAGE"\) with an unknown ValidDump signature "XXXX"/);
});

test('a Breakpad microdump, behind logcat prefixes and earlier lines', async () => {
  const text = 'I/DEBUG   ( 1234): pid: 1234\nW/google-breakpad( 1234): -----BEGIN BREAKPAD MICRODUMP-----\nW/google-breakpad( 1234): O A arm 04 armv7l\n';
  await rejectsWith(file(text), /^a Breakpad microdump\b.*not supported/);
});

test('ELF and Mach-O: core dumps and programs named as such', async () => {
  const elf = (eiData: number, eType: number[]): BufferSource => file('\x7fELF', [2, eiData, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], eType);
  await rejectsWith(elf(1, [4, 0]), /^an ELF core dump is not supported/);
  await rejectsWith(elf(2, [0, 4]), /^an ELF core dump is not supported/);
  await rejectsWith(elf(1, [2, 0]), /^an ELF file \(not a core dump\)/);
  // mach_header_64 little-endian (cf fa ed fe), cputype, cpusubtype, filetype MH_CORE = 4.
  await rejectsWith(file([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 4, 0, 0, 0]), /^a Mach-O core dump is not supported/);
  // mach_header big-endian (fe ed fa ce), filetype MH_EXECUTE = 2.
  await rejectsWith(file([0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 2]), /^a Mach-O file \(not a core dump\)/);
});

test('a PE image is not a crash dump', async () => {
  await rejectsWith(file('MZ', [0x90, 0]), /^a PE image \(MZ/);
});

test('anything else: not a crash dump stackhog knows, with the signature it has', async () => {
  await rejectsWith(file('MDMQ', [0x93, 0xa7, 0, 0]), /^not a crash dump stackhog knows \(signature "MDMQ\\x93\\xa7\\x00\\x00" is not "MDMP", "PAGEDU64", "PAGEDUMP", "USERDU64" or "USERDUMP"\)$/);
  await rejectsWith(new BufferSource(new Uint8Array([0x4d, 0x44]), NAME), /^the file is 2 bytes long: too short for any crash dump$/);
  await rejectsWith(new BufferSource(new Uint8Array(), NAME), /^the file is 0 bytes long/);
});
