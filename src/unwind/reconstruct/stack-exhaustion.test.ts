// Corpus: a real 1 MiB x86 stack overflow (Breakpad's stack_exhaustion.dmp). The project's walker
// finds 246 frames by the EBP chain from the exception context; pretending that context is damaged
// (EBP and ESP unknown), the search must rebuild those frames from the raw stack alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { analyzeSnapshot } from '../../analyze/process.js';
import { readMinidump } from '../../formats/minidump/read-minidump.js';
import { BufferSource } from '../../io/byte-source.js';
import type { MemoryBlock } from '../../model/memory.js';
import { ModuleIndex } from '../../model/module-index.js';
import type { Snapshot } from '../../model/snapshot.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { findChains } from './find-chains.js';
import { startCommand } from './reconstruct.js';
import type { ModuleRef, StackView } from './stack-view.js';
import { walkFrom } from './walk-from.js';

/**
 * A StackView over a minidump thread's stack: return addresses are any address inside a module (no
 * symbols here). It counts the words read, the work a search does.
 */
function dumpStackView(snapshot: Snapshot, stack: MemoryBlock): StackView & { wordReads: number } {
  const modules = new ModuleIndex(snapshot.modules);
  const moduleAt = (address: bigint): ModuleRef | undefined => {
    const m = modules.find(address);
    return m ? { name: m.codeFile.split('\\').pop()!, base: m.base, size: m.size } : undefined;
  };
  const view: StackView & { wordReads: number } = {
    cpu: 'x86',
    wordSize: 4,
    start: stack.base,
    end: stack.end,
    wordReads: 0,
    readWord: (address) => {
      view.wordReads++;
      return stack.word(address, 4);
    },
    moduleAt,
    describe: (address) => {
      const m = moduleAt(address);
      return Promise.resolve(m ? `${m.name}+0x${(address - m.base).toString(16)}` : `0x${address.toString(16)}`);
    },
    isReturnAddress: (address) => Promise.resolve(moduleAt(address) !== undefined),
    isTrapEntry: () => Promise.resolve(false),
  };
  return view;
}

async function load(): Promise<{ snapshot: Snapshot; view: StackView & { wordReads: number } }> {
  const bytes = await readFile(corpusPath('breakpad', 'stack_exhaustion.dmp'));
  const snapshot = await readMinidump(new BufferSource(new Uint8Array(bytes), 'stack_exhaustion.dmp'));
  const thread = snapshot.threads.find((t) => t.id === snapshot.exception!.threadId)!;
  const stack = (await snapshot.memory.loadStack(thread.stack!))!;
  return { snapshot, view: dumpStackView(snapshot, stack) };
}

/** Breakpad's frames as rows: the EBP each frame runs with and the return address it will go back to. */
async function referenceRows(snapshot: Snapshot): Promise<{ childFrame: bigint; returnAddress: bigint }[]> {
  const analysis = await analyzeSnapshot(snapshot, { crashedThreadOnly: true });
  const frames = analysis.threads[analysis.crashingThreadIndex!]!.frames;
  return frames.map((f, i) => ({ childFrame: f.registers.get('ebp')!, returnAddress: frames[i + 1]?.ip ?? -1n }));
}

test('stack_exhaustion.dmp: the walker finds 246 frames; walkFrom from the intact context gives the same rows', needsCorpus, async () => {
  const { snapshot, view } = await load();
  const reference = await referenceRows(snapshot);
  assert.equal(reference.length, 246);
  const registers = snapshot.exception!.context!.registers;
  const frames = await walkFrom(view, { basePtr: registers.get('ebp')!, stackPtr: registers.get('esp')!, instructionPtr: registers.get('eip')! });
  assert.equal(frames.length, 246);
  assert.equal(frames[0]!.ip, registers.get('eip'));
  for (let i = 0; i < 245; i++) {
    assert.equal(frames[i]!.childFrame, reference[i]!.childFrame, `frame ${i} ChildEBP`);
    assert.equal(frames[i]!.returnAddress, reference[i]!.returnAddress, `frame ${i} RetAddr`);
  }
});

test('stack_exhaustion.dmp: with EBP and ESP unknown, the best chain holds the 246 frames the walker finds, at most 2 word reads per stack word', { ...needsCorpus, timeout: 60_000 }, async () => {
  const { snapshot, view } = await load();
  const reference = await referenceRows(snapshot);
  view.wordReads = 0;
  const chains = await findChains(view);
  const reads = view.wordReads;
  const best = chains[0]!;
  // Line the chain up with the reference by ChildEBP, then count the rows that agree.
  const at = best.frames.findIndex((f) => f.childFrame === reference[0]!.childFrame);
  let agree = 0;
  for (let i = 0; i < reference.length && at >= 0; i++) {
    const row = best.frames[at + i];
    if (!row || row.childFrame !== reference[i]!.childFrame) break;
    if (i < reference.length - 1 && row.returnAddress !== reference[i]!.returnAddress) break;
    agree++;
  }
  console.log(
    `stack_exhaustion: ${chains.length} chains, best ${best.frames.length} frames (score ${best.score}, ${startCommand(best.start, 'x86')}), ` +
      `${agree}/${reference.length} reference frames from row ${at}, ${reads} word reads over ${view.end - view.start} bytes`,
  );
  assert.ok(agree >= Math.ceil(0.9 * reference.length), `${agree} of ${reference.length} frames`);
  // The search's work: about one read per stack word (one pass, then walks of the chains picked), not a walk per slot.
  const words = Number(view.end - view.start) / 4;
  assert.ok(reads <= 2 * words, `${reads} word reads for ${words} stack words`);
  assert.deepEqual(await walkFrom(view, best.start), best.frames, 'walkFrom(chain.start) reproduces the chain');
});
