import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import { analyzeCorpusDump } from '../testing/breakpad-parity.js';
import { needsCorpus } from '../testing/corpus.js';
import { amd64Context, elfBuildId, StackBuilder, SynthMinidump } from '../testing/synth/index.js';
import type { Module } from '../model/snapshot.js';
import { mayBePeImage } from './module-images.js';

const LIB = 0x7f0000000000n;
const STACK = 0x7ffff000n;

/** A process on `platform` whose crashing thread runs in a module with an ELF header in memory. */
function dumpWithElfModule(platform: 'linux' | 'windows'): SynthMinidump {
  const elf = new Uint8Array(0x40);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]); // \x7fELF, 64-bit, little-endian
  return new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform })
    .module({ base: LIB, size: 0x10000, name: '/usr/lib/libdriver.so', codeView: elfBuildId([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]) })
    .memory(LIB, elf)
    .thread({ id: 1, stack: new StackBuilder(STACK, 8).fill(0x40), context: amd64Context({ rip: LIB + 0x1234n, rsp: STACK }) })
    .breakpadInfo({ requestingThreadId: 1 });
}

test('a Linux dump: its ELF modules are never parsed as PE images, so no "not MZ" note', async () => {
  const linux = await analyze(dumpWithElfModule('linux').source());
  assert.deepEqual(linux.notes.filter((n) => /PE image/.test(n)), []);
  // The same bytes in a Windows dump are looked at (and rightly reported as no PE image).
  const windows = await analyze(dumpWithElfModule('windows').source());
  assert.ok(windows.notes.some((n) => /libdriver\.so in dump memory: not a usable PE image.*not "MZ"/.test(n)), windows.notes.join('\n'));
});

test('mayBePeImage: by the dump\'s OS, and by the code id when the OS is unknown', () => {
  const m = (codeId: string): Module => ({ base: 0n, size: 0x1000, codeFile: 'x', codeId, debugFile: '', debugId: '', version: undefined, timeDateStamp: 0, checksum: 0 });
  assert.equal(mayBePeImage(m('5E5E5E5E1000'), 'windows'), true);
  assert.equal(mayBePeImage(m('5E5E5E5E1000'), 'linux'), false);
  assert.equal(mayBePeImage(m('5E5E5E5E1000'), 'mac'), false);
  assert.equal(mayBePeImage(m('5E5E5E5E1000'), 'unknown'), true);
  assert.equal(mayBePeImage(m('0102030405060708090a0b0c0d0e0f1011121314'), 'unknown'), false, 'a 20-byte ELF build id');
});

test('linux_inside_module_exe_region1/2.dmp: no PE-image note about the ELF module "driver"', needsCorpus, async () => {
  for (const key of ['breakpad--linux_inside_module_exe_region1', 'breakpad--linux_inside_module_exe_region2']) {
    const a = await analyzeCorpusDump(key);
    assert.deepEqual(a.notes.filter((n) => /PE image/.test(n)), [], key);
  }
});
