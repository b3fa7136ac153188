// Builder-made kernel dumps of every CPU and memory layout, analysed end to end: memory through the
// page tables, drivers from PsLoadedModuleList, the bugcheck thread walked along its frame chain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../io/byte-source.js';
import { toJson } from '../report/json.js';
import { renderKf } from '../report/kf.js';
import { renderText } from '../report/text.js';
import { kernelDumpSeeds } from '../testing/fuzz/kernel-seeds.js';
import { analyze } from './process.js';

for (const seed of kernelDumpSeeds()) {
  test(`${seed.name}: 0xD1 explained, the chain of eight frames walked, hog.sys or the kernel on it, every report renders`, async () => {
    const analysis = await analyze(new BufferSource(seed.bytes, seed.name));
    assert.deepEqual(analysis.warnings, []);
    assert.equal(analysis.kernel!.bugcheck.name, 'DRIVER_IRQL_NOT_LESS_OR_EQUAL');
    assert.match(analysis.kernel!.bugcheck.guidance!, /non-paged pool/);
    const t = analysis.threads[analysis.crashingThreadIndex!]!;
    assert.ok(t.frames.length >= 9, `${t.frames.length} frames`);
    assert.ok(t.frames.slice(1, 9).every((f) => f.module?.codeFile.endsWith('ntoskrnl.exe')), 'the return addresses of the chain');
    assert.equal(t.usage.boundsSource, 'kthread');
    assert.equal(analysis.snapshot.modules.length, 2);
    renderText(analysis);
    renderKf(analysis);
    JSON.stringify(toJson(analysis));
  });
}
