import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeMinidump } from './process.js';
import { Label, StackBuilder, SynthMinidump, x86Context } from '../testing/synth/index.js';

test('a WoW64 thread (x86 context in an amd64 dump) walks as x86', async () => {
  const frame0Ebp = new Label('frame0 ebp');
  const frame1Ebp = new Label('frame1 ebp');
  const stack = new StackBuilder(0x80000000, 4)
    .fill(12)
    .mark(frame0Ebp)
    .word(frame1Ebp)
    .word(0x40008679)
    .fill(8)
    .mark(frame1Ebp)
    .words(0, 0);
  stack.finish();
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: 'windows' })
    .module({ base: 0x40000000, size: 0x10000, name: 'C:\\wow\\app.exe' })
    .thread({
      id: 1,
      stack,
      context: x86Context({ eip: 0x4000c7a5, esp: 0x80000000, ebp: frame0Ebp.value, ebx: 0, esi: 0, edi: 0, eax: 0, ecx: 0, edx: 0, efl: 0 }),
    })
    .breakpadInfo({ requestingThreadId: 1 });
  const analysis = await analyzeMinidump(dump.source());
  const frames = analysis.threads[0]!.frames;
  assert.equal(analysis.threads[0]!.context?.cpu, 'x86');
  assert.deepEqual(
    frames.map((f) => [f.trust, f.ip]),
    [
      ['context', 0x4000c7a5n],
      ['frame_pointer', 0x40008679n],
    ],
  );
  assert.deepEqual(analysis.warnings, []);
});
