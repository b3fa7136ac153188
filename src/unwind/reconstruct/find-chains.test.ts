// findChains on synthetic stacks: x86 chains among stale frames, x64 chains confirmed only by
// unwinding, and hostile stacks (self-pointing EBPs, cycles, every word a candidate, 1 MiB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findChains, scoreChain } from './find-chains.js';
import { reconstructStack, startCommand } from './reconstruct.js';
import type { RecoveredFrame } from './stack-view.js';
import { fillJunk, MemoryStackView, writeKfStack, type KfRow } from './testing.js';
import { walkFrom } from './walk-from.js';

const APP = { name: 'app', base: 0x00400000n, size: 0x10000 };
const LIB = { name: 'lib', base: 0x77000000n, size: 0x100000 };
const CODE = [0x401010n, 0x402200n, 0x403330n, 0x77012340n, 0x77054320n];

function rows(frames: readonly RecoveredFrame[]): [bigint, bigint][] {
  return frames.map((f) => [f.childFrame, f.returnAddress]);
}

/** A user-mode x86 stack: `count` frames of pseudo-random sizes from `first` up, the outermost saving a null EBP and returning to 0. */
function x86Chain(view: MemoryStackView, first: bigint, count: number, seed: number): KfRow[] {
  const out: KfRow[] = [];
  let ebp = first;
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    const last = i === count - 1;
    out.push({ childFrame: ebp, returnAddress: last ? 0n : CODE[state % CODE.length]!, trap: false });
    ebp += 0x10n + BigInt((state >>> 8) % 0x100) * 4n;
  }
  writeKfStack(view, out);
  return out;
}

test('x86: the real chain wins over stale frames; each chain reproduces by walkFrom from its start', async () => {
  const view = new MemoryStackView({ cpu: 'x86', start: 0x00120000n, size: 0x8000, modules: [APP, LIB] });
  const real = x86Chain(view, 0x00121000n, 40, 3);
  // The callee below the first frame: its saved EBP slot and return address start the chain.
  view.setWords(0x00120f00n, 0x00121000n, 0x402222n);
  // A stale frame (an earlier call from frame 5) between frames, and junk everywhere else.
  view.setWords(real[5]!.childFrame - 0x40n, real[5]!.childFrame, 0x403333n);
  fillJunk(view, { seed: 11, code: CODE, noFramePointers: true });
  const chains = await findChains(view);
  const best = chains[0]!;
  assert.deepEqual(best.start, { basePtr: 0x00121000n, stackPtr: 0x00120f08n, instructionPtr: 0x402222n });
  assert.equal(startCommand(best.start, 'x86'), 'k = 00121000 00120f08 00402222');
  assert.deepEqual(rows(best.frames), real.map((r) => [r.childFrame, r.returnAddress]));
  // The stale frame joins the real chain at frame 5: it heads no chain of its own.
  assert.ok(!chains.some((c) => c.start.basePtr === real[5]!.childFrame));
  for (const chain of chains) assert.deepEqual(await walkFrom(view, chain.start), chain.frames);
});

test('x86: a stale chain of its own is an alternative, ranked below the real one', async () => {
  const view = new MemoryStackView({ cpu: 'x86', start: 0x00120000n, size: 0x8000, modules: [APP, LIB] });
  const real = x86Chain(view, 0x00123000n, 30, 5);
  view.setWords(0x00122ff0n, 0x00123000n, 0x402222n);
  // Below the live stack, what an earlier, deeper call left: 6 frames ending in junk.
  const stale = [0x00121000n, 0x00121040n, 0x00121100n, 0x00121180n, 0x00121200n, 0x00121300n, 0x00121340n];
  stale.forEach((ebp, i) => view.setWords(ebp, stale[i + 1] ?? 0x00500000n, CODE[i % CODE.length]!));
  fillJunk(view, { seed: 5, code: CODE, noFramePointers: true });
  const chains = await findChains(view);
  assert.deepEqual(rows(chains[0]!.frames), real.map((r) => [r.childFrame, r.returnAddress]));
  const alternative = chains.find((c) => c.start.basePtr === stale[1]);
  assert.ok(alternative, 'the stale chain is reported');
  assert.deepEqual(alternative.frames.map((f) => f.childFrame), stale.slice(1));
  assert.ok(alternative.score < chains[0]!.score);
});

/** An x64 stack and unwind data for it: functions with fixed frames; stale return addresses in the locals. */
function x64Stack(withUnwind: boolean): { view: MemoryStackView; returnSlots: bigint[] } {
  const functions = Array.from({ length: 8 }, (_, k) => ({ start: 0x140001000n + BigInt(k) * 0x1000n, frame: BigInt(0x28 + 0x30 * k) }));
  let view: MemoryStackView | undefined;
  const unwindFrom = (ip: bigint, sp: bigint): { ip: bigint; sp: bigint } | undefined => {
    const f = functions.find((fn) => ip >= fn.start && ip < fn.start + 0x1000n);
    if (!f) return undefined;
    const ret = view!.readWord(sp + f.frame);
    return ret === undefined ? undefined : { ip: ret, sp: sp + f.frame + 8n };
  };
  view = new MemoryStackView({
    cpu: 'amd64',
    start: 0x0014f000n,
    size: 0x1000,
    modules: [{ name: 'app', base: 0x140000000n, size: 0x10000 }],
    ...(withUnwind ? { unwindFrom } : {}),
  });
  // Frame k runs in function k % 8 (at +0x40); frame 11, the outermost, returns to 0.
  const returnSlots: bigint[] = [];
  let sp = 0x0014f200n;
  for (let k = 0; k < 12; k++) {
    const f = functions[k % 8]!;
    const slot = sp + f.frame;
    view.set(slot, k === 11 ? 0n : functions[(k + 1) % 8]!.start + 0x40n);
    if (f.frame >= 0x58n) view.set(sp + 0x20n, functions[(k + 3) % 8]!.start + 0x77n); // stale return address among the locals
    returnSlots.push(slot);
    sp = slot + 8n;
  }
  return { view, returnSlots };
}

test('x64: return addresses confirmed by unwinding form the chain; stale ones in locals stay out of it', async () => {
  const { view, returnSlots } = x64Stack(true);
  const chains = await findChains(view);
  const best = chains[0]!;
  // The chain starts at the frame the lowest return address resumes; frame 0 (its callee) is unknown.
  assert.deepEqual(best.start, { basePtr: 0n, stackPtr: returnSlots[0]! + 8n, instructionPtr: view.readWord(returnSlots[0]!)! });
  assert.equal(startCommand(best.start, 'amd64'), `k = ${(returnSlots[0]! + 8n).toString(16).padStart(16, '0')} 0000000140002040`);
  assert.deepEqual(
    best.frames.map((f) => [f.childFrame, f.returnAddress]),
    returnSlots.slice(0, 11).map((slot, k) => [slot + 8n, view.readWord(returnSlots[k + 1]!)!]),
  );
  assert.deepEqual(await walkFrom(view, best.start), best.frames);
  // A stale return address can unwind to another and then to a zero word: short chains far behind.
  for (const other of chains.slice(1)) {
    assert.ok(other.frames.length <= 2 && other.score < best.score / 4, `${other.frames.length} frames, score ${other.score}`);
    assert.ok(other.frames.every((f) => !returnSlots.includes(f.childFrame - 8n)));
  }
});

test('x64 without unwind data: consecutive return addresses make a weak chain that scores below a confirmed one', async () => {
  const weak = x64Stack(false);
  const confirmed = x64Stack(true);
  const [chain] = await findChains(weak.view);
  const [strong] = await findChains(confirmed.view);
  const returns = chain!.frames.map((f) => f.returnAddress);
  // Every real return address is in the weak chain, in order, among stale ones.
  let k = 1;
  for (const r of returns) if (r === weak.view.readWord(weak.returnSlots[k]!)) k++;
  assert.equal(k, 12);
  assert.ok(chain!.frames.length > 11);
  assert.ok(chain!.score < strong!.score, `${chain!.score} < ${strong!.score}`);
});

test('arm64: frame records (x29, x30) are searched like EBP chains, with 8-byte words', async () => {
  const view = new MemoryStackView({ cpu: 'arm64', start: 0x20000n, size: 0x2000, modules: [{ name: 'app', base: 0x140000000n, size: 0x10000 }] });
  const records = [0x20400n, 0x20480n, 0x20600n, 0x20a00n, 0x20b40n];
  view.setWords(0x20300n, records[0]!, 0x140000120n); // the callee's record below the first frame
  records.forEach((fp, i) => view.setWords(fp, records[i + 1] ?? 0n, records[i + 1] ? 0x140001000n + BigInt(i) * 0x10n : 0n));
  fillJunk(view, { seed: 3, code: [0x140002000n], noFramePointers: true });
  const [best] = await findChains(view);
  assert.deepEqual(best!.start, { basePtr: 0x20400n, stackPtr: 0x20310n, instructionPtr: 0x140000120n });
  assert.deepEqual(best!.frames.map((f) => f.childFrame), records);
  assert.equal(startCommand(best!.start, 'arm64'), 'k = 0000000000020310 0000000140000120');
  assert.deepEqual(await walkFrom(view, best!.start), best!.frames);
});

test('hostile: EBPs pointing to themselves, a cycle, and a stack of return addresses only give no chain', async () => {
  const self = new MemoryStackView({ cpu: 'x86', start: 0x100000n, size: 0x10000, modules: [APP] });
  for (let a = 0x100000n; a < 0x110000n; a += 8n) self.setWords(a, a, 0x401000n);
  assert.deepEqual(await findChains(self), []);

  const cycle = new MemoryStackView({ cpu: 'x86', start: 0x100000n, size: 0x1000, modules: [APP] })
    .setWords(0x100100n, 0x100200n, 0x401000n)
    .setWords(0x100200n, 0x100100n, 0x401000n);
  assert.deepEqual(await findChains(cycle), []);
  const [one] = await findChains(cycle, { minFrames: 1 });
  assert.deepEqual(rows(one!.frames), [[0x100200n, 0x401000n]]);

  const returns = new MemoryStackView({ cpu: 'x86', start: 0x100000n, size: 0x10000, modules: [APP] });
  for (let a = 0x100000n; a < 0x110000n; a += 4n) returns.set(a, 0x401000n + (a & 0xfffn));
  assert.deepEqual(await findChains(returns), []);
});

// The hostile and 1 MiB searches bound the work, not the time: a few word reads per stack word
// (the graph pass, then one walk of the chains picked). Walking from every candidate slot, as a
// search without the pass from the top would, reads the stack once per slot: the view's budget
// stops that at once.
const WORDS_1MIB_X86 = 0x100000 / 4;
const WORDS_1MIB_X64 = 0x100000 / 8;

test('hostile: every word pair a frame in 1 MiB: one chain, bounded by maxFrames, at most 4 word reads per stack word', { timeout: 60_000 }, async () => {
  const bound = 4 * WORDS_1MIB_X86;
  const view = new MemoryStackView({ cpu: 'x86', start: 0x00100000n, size: 0x100000, modules: [APP], budget: { wordReads: bound } });
  for (let a = 0x00100000n; a < 0x00200000n; a += 8n) view.setWords(a, a + 8n, 0x401000n + ((a >> 3n) & 0xfffn));
  const chains = await findChains(view);
  assert.equal(chains.length, 1);
  assert.equal(chains[0]!.frames.length, 0x20000 - 1); // the lowest slot is the callee below the first row
  assert.ok(view.returnQuestions <= 0x1000 + 10, `${view.returnQuestions} isReturnAddress calls for 4096 distinct values`);
  assert.ok(view.wordReads <= bound, `${view.wordReads} word reads for ${WORDS_1MIB_X86} stack words`);
  view.wordReads = 0;
  const capped = await findChains(view, { maxFrames: 1000 });
  assert.equal(capped[0]!.frames.length, 1000);
  // The graph pass reads the whole window again; the capped walk adds only its 1000 frames.
  assert.ok(view.wordReads <= 3 * WORDS_1MIB_X86 + 2 * 1000 + 8, `${view.wordReads} word reads with maxFrames 1000`);
});

test('hostile: x64 with every word a return address and unwind data landing on the next word: at most 2 unwinds per stack word', { timeout: 60_000 }, async () => {
  let view: MemoryStackView | undefined;
  // Every slot is unwound once to build the graph and once more on the walk of the one chain.
  const bound = { wordReads: 4 * WORDS_1MIB_X64, unwindQuestions: 2 * WORDS_1MIB_X64 };
  view = new MemoryStackView({
    cpu: 'amd64',
    start: 0x10000000n,
    size: 0x100000,
    modules: [{ name: 'app', base: 0x140000000n, size: 0x10000 }],
    unwindFrom: (_ip, sp) => {
      const ip = view!.readWord(sp);
      return ip === undefined ? undefined : { ip, sp: sp + 8n };
    },
    budget: bound,
  });
  for (let a = 0x10000000n; a < 0x10100000n; a += 8n) view.set(a, 0x140001000n + ((a >> 3n) & 0xfffn));
  const chains = await findChains(view);
  assert.equal(chains.length, 1);
  assert.equal(chains[0]!.frames.length, 0x20000 - 1); // the top slot would run with SP at the end of the stack
  assert.ok(view.unwindQuestions <= bound.unwindQuestions, `${view.unwindQuestions} unwinds for ${WORDS_1MIB_X64} stack words`);
  assert.ok(view.wordReads <= bound.wordReads, `${view.wordReads} word reads for ${WORDS_1MIB_X64} stack words`);
  assert.ok(view.returnQuestions <= 0x1000 + 10, `${view.returnQuestions} isReturnAddress calls for 4096 distinct values`);
});

test('1 MiB x86 stack of 700 frames among junk with stale frames: the real chain, at most 2 word reads per stack word', { timeout: 60_000 }, async () => {
  const bound = 2 * WORDS_1MIB_X86;
  const view = new MemoryStackView({ cpu: 'x86', start: 0x00100000n, size: 0x100000, modules: [APP, LIB], budget: { wordReads: bound } });
  const real = x86Chain(view, 0x00180000n, 700, 9);
  view.setWords(0x0017ff00n, 0x00180000n, 0x402222n);
  fillJunk(view, { seed: 2024, code: CODE });
  const chains = await findChains(view);
  console.log(`1 MiB junk stack: ${chains.length} chains, best ${chains[0]!.frames.length} frames, ${view.wordReads} word reads`);
  assert.ok(view.wordReads <= bound, `${view.wordReads} word reads for ${WORDS_1MIB_X86} stack words`);
  // Stale frames may join the real chain from below; the real frames are its tail.
  const best = chains[0]!;
  const at = best.frames.findIndex((f) => f.childFrame === real[0]!.childFrame);
  assert.ok(at >= 0 && at <= 5, `real chain starts at row ${at}`);
  assert.deepEqual(rows(best.frames.slice(at)), real.map((r) => [r.childFrame, r.returnAddress]));
  assert.ok(chains.length <= 10);
});

test('reconstructStack: the best chain at or above fromSp, within maxBytes, plus alternatives', async () => {
  const view = new MemoryStackView({ cpu: 'x86', start: 0x00120000n, size: 0x8000, modules: [APP, LIB] });
  const real = x86Chain(view, 0x00121000n, 40, 3);
  view.setWords(0x00120f00n, 0x00121000n, 0x402222n);
  fillJunk(view, { seed: 11, code: CODE, noFramePointers: true });
  const all = await reconstructStack(view);
  assert.equal(all.best!.frames.length, 40);
  const from = real[10]!.childFrame - 8n; // as if a walk had got as far as frame 9's return
  const above = await reconstructStack(view, { fromSp: from });
  assert.ok(above.best!.start.stackPtr >= from);
  assert.deepEqual(rows(above.best!.frames), real.slice(11).map((r) => [r.childFrame, r.returnAddress]));
  const window = await reconstructStack(view, { fromSp: from, maxBytes: Number(real[20]!.childFrame - from) });
  assert.ok(window.best!.frames.length < 10);
  assert.ok(window.best!.frames.every((f) => f.childFrame < real[20]!.childFrame));
  assert.equal((await reconstructStack(view, { maxAlternatives: 0 })).alternatives.length, 0);
});

test('scoreChain: validated frames count fully, coverage and a clean end add, tiny chains lose', () => {
  assert.equal(scoreChain(10, 10, 0n, 0x1000n, false), 10);
  assert.equal(scoreChain(10, 0, 0n, 0x1000n, false), 5);
  assert.equal(scoreChain(10, 10, 0x800n, 0x1000n, true), 10 + 16 + 8);
  assert.equal(scoreChain(2, 2, 0x10n, 0x1000n, false), 2 + 0.125 - 8);
  assert.equal(scoreChain(0, 0, 0n, 0x1000n, true), 0);
});
