import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../io/byte-source.js';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { breakpadExpectations } from '../testing/breakpad-parity.js';
import { analyzeMinidump } from './process.js';

/** stack_exhaustion.dmp with the exception context's EBP and ESP zeroed (x86 CONTEXT: Ebp at 180, Esp at 196). */
function damagedStackExhaustion(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(corpusPath('breakpad', 'stack_exhaustion.dmp')));
  const view = new DataView(bytes.buffer);
  const streams = view.getUint32(8, true);
  const directory = view.getUint32(12, true);
  for (let i = 0; i < streams; i++) {
    const entry = directory + i * 12;
    if (view.getUint32(entry, true) !== 6) continue; // ExceptionStream
    const stream = view.getUint32(entry + 8, true);
    const context = view.getUint32(stream + 164, true); // MINIDUMP_EXCEPTION_STREAM.ThreadContext.Rva
    view.setUint32(context + 180, 0, true);
    view.setUint32(context + 196, 0, true);
    return bytes;
  }
  throw new Error('no exception stream');
}

test('stack_exhaustion.dmp with EBP and ESP zeroed: the walk stops at frame 0, reconstruction recovers the rest', needsCorpus, async () => {
  const analysis = await analyzeMinidump(new BufferSource(damagedStackExhaustion(), 'damaged.dmp'));
  const thread = analysis.threads[analysis.crashingThreadIndex!]!;
  const walked = thread.frames.filter((f) => f.trust !== 'recovered');
  const recovered = thread.frames.filter((f) => f.trust === 'recovered');
  assert.equal(walked.length, 1, 'the damaged context gives only the context frame');
  assert.equal(recovered[0]!.afterGap, true);

  // Breakpad's walk of the intact dump: 246 frames. Recovered frames must cover at least 90 % of them.
  const reference = breakpadExpectations()['breakpad--stack_exhaustion']!.threads[0]!;
  const referenceIps = new Set(reference.slice(1).map((f) => `${f.ip}@${f.sp}`));
  const matching = recovered.filter((f) => referenceIps.has(`0x${f.ip.toString(16).padStart(8, '0')}@0x${f.sp.toString(16).padStart(8, '0')}`));
  assert.ok(matching.length >= 0.9 * reference.length, `${matching.length} of ${reference.length} frames recovered`);
  assert.match(thread.reconstruction!.used!, /^k = [0-9a-f]{8} [0-9a-f]{8} [0-9a-f]{8}$/);

  // The overflow is still explained from the recovered frames.
  const overflow = analysis.findings.find((f) => f.kind === 'stack_overflow')!;
  assert.match(overflow.summary, /crashme\.exe/);
});
