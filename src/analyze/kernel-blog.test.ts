// The blog's double fault (../shared/seeds/got-stack-part2-manual-stack-reconstruction.txt) as a
// kernel dump: an x86 PAE complete memory dump, bugcheck 0x7F with P1 = 8, whose thread's kernel
// stack holds the WinDbg capture in test-data/windbg/blog-dps.txt and whose loaded-module list is
// blog-lm.txt. Symbols are the names the capture prints. The report must explain the double fault,
// walk the listing (trap frames and all) without --start, give each hog driver its listing's bytes
// and show the re-entrancy cycle.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readKernelDump } from '../formats/kdump/index.js';
import { parseDps, parseKf, parseLm } from '../formats/windbg-text/index.js';
import { parseSymbol } from '../formats/windbg-text/tokens.js';
import { BufferSource } from '../io/byte-source.js';
import type { Module } from '../model/snapshot.js';
import { renderKf } from '../report/kf.js';
import { renderText } from '../report/text.js';
import { publicSymbol, type ModuleSymbols, type SymbolProvider } from '../symbolize/provider.js';
import { repoPath } from '../testing/corpus.js';
import { windbgModuleName } from '../symbolize/module-name.js';
import { KernelDumpBuilder } from '../testing/synth/kernel.js';
import { analyzeSnapshot } from './process.js';
import type { Analysis } from './types.js';

const read = (name: string): string => readFileSync(repoPath('test-data', 'windbg', name), 'utf8');
const STACK_LIMIT = 0xb8ae6000n;
const STACK_BASE = 0xb8ae9000n;

/** Function starts per module from the capture's symbols (value − offset), looked up by nearest start. */
function captureSymbols(): SymbolProvider {
  const capture = parseDps(read('blog-dps.txt'));
  const starts = new Map<string, Map<bigint, string>>();
  for (const [value, symbol] of capture.symbols) {
    const s = parseSymbol(symbol.text);
    if (!s?.function) continue;
    const byModule = starts.get(s.module.toLowerCase()) ?? new Map<bigint, string>();
    byModule.set(value - s.offset, s.function);
    starts.set(s.module.toLowerCase(), byModule);
  }
  return {
    async symbolsFor(module: Module): Promise<ModuleSymbols | undefined> {
      const name = windbgModuleName(module).toLowerCase();
      const functions = [...(starts.get(name) ?? new Map<bigint, string>())].map(([start, fn]) => ({ rva: Number(start - module.base), fn })).sort((a, b) => a.rva - b.rva);
      if (functions.length === 0) return undefined;
      return {
        lookup: (rva) => {
          const f = functions.filter((x) => x.rva <= rva).pop();
          return Promise.resolve(f && publicSymbol(f.fn, f.rva));
        },
        findCfiRules: () => Promise.resolve(undefined),
        findWindowsFrameInfo: () => Promise.resolve(undefined),
      };
    },
  };
}

function blogDump(): Uint8Array {
  const capture = parseDps(read('blog-dps.txt'));
  const stack = new Uint8Array(Number(STACK_BASE - STACK_LIMIT));
  const view = new DataView(stack.buffer);
  for (const [slot, value] of capture.words) {
    if (slot >= STACK_LIMIT && slot + 4n <= STACK_BASE) view.setUint32(Number(slot - STACK_LIMIT), Number(value), true);
  }
  const b = new KernelDumpBuilder('x86-pae', 'full')
    .bugcheck(0x7f, [8n, 0x80042000n, 0n, 0n])
    .version(15, 3790)
    .processors(4)
    // kf = b8ae6100 b8ae60ec 8081df65: the state the double fault interrupted.
    .context({ eip: 0x8081df65n, esp: 0xb8ae60ecn, ebp: 0xb8ae6100n, efl: 0x10282n })
    .map(STACK_LIMIT, stack);
  for (const m of parseLm(read('blog-lm.txt'))) {
    const file = m.name === 'nt' ? 'ntkrnlpa.exe' : m.name === 'hal' ? 'hal.dll' : `${m.name}.sys`;
    b.module({ name: file, fullName: `\\SystemRoot\\system32\\drivers\\${file}`, base: m.start, size: Number(m.end - m.start), timeDateStamp: 0x45d69710 });
  }
  b.kernelThread({ kthread: 0x86a1b020n, initialStack: STACK_BASE, stackBase: STACK_BASE, stackLimit: STACK_LIMIT, kernelStack: 0xb8ae8000n });
  b.debuggerData();
  return b.build();
}

async function analyzeBlog(): Promise<Analysis> {
  const snapshot = await readKernelDump(new BufferSource(blogDump(), 'blog-double-fault.dmp'));
  return analyzeSnapshot(snapshot, { symbols: captureSymbols() });
}

test('blog double fault as an x86 PAE kernel dump: 0x7F/8 explained as a kernel stack overflow', async () => {
  const analysis = await analyzeBlog();
  const k = analysis.kernel!;
  assert.equal(k.bugcheck.name, 'UNEXPECTED_KERNEL_MODE_TRAP');
  assert.match(k.bugcheck.parameters[0]!.meaning, /double fault/);
  assert.ok(k.bugcheck.stackOverflowLikely);
  const overflow = analysis.findings.find((f) => f.kind === 'stack_overflow');
  assert.ok(overflow, analysis.findings.map((f) => f.kind).join(', '));
  assert.equal(analysis.findings[0], overflow, 'the overflow comes first');
  assert.match(overflow.evidence[0]!, /UNEXPECTED_KERNEL_MODE_TRAP: double fault .*: a kernel stack overflow/);
  assert.match(overflow.evidence.join('\n'), /within a page of the stack limit 0xb8ae6000/);
  assert.equal(analysis.threads[0]!.usage.boundsSource, 'kthread');
});

test('blog double fault: the walk gives the listing row for row (trap frames as WinDbg lists them), no --start needed', async () => {
  const analysis = await analyzeBlog();
  const listing = parseKf(read('blog-kf.txt'));
  const ours = parseKf(renderKf(analysis));
  if (process.env['BLOG_PRINT']) console.log(renderKf(analysis));
  assert.deepEqual(
    ours.map((r) => [r.memory, r.childFrame.toString(16), r.returnAddress.toString(16)]),
    listing.map((r) => [r.memory, r.childFrame.toString(16), r.returnAddress.toString(16)]),
  );
  const traps = analysis.threads[0]!.frames.filter((f) => f.trapFrame !== undefined).map((f) => f.trapFrame!.toString(16));
  assert.deepEqual(traps, ['b8ae64c8', 'b8ae71ac', 'b8ae7cb8', 'b8ae8d64'], "the four KTRAP_FRAMEs of the README's table");
});

test('blog double fault: each hog driver holds its listing\'s bytes exactly, and the re-entrancy cycle is shown', async () => {
  const analysis = await analyzeBlog();
  const totals = new Map<string, number>();
  for (const line of renderKf(analysis).split('\n')) {
    const m = /^ {2}(\S+)\s+0x[0-9a-f]+\s+(\d+) bytes/.exec(line);
    if (m) totals.set(m[1]!, Number(m[2]));
  }
  // test-data/windbg/README.md: the Memory column of the blog's listing, per module.
  assert.deepEqual(
    ['BossHog01', 'MamaHog', 'BossHog', 'BabyHog', 'daddyHog', 'Ntfs', 'fltmgr', 'nt'].map((m) => [m, totals.get(m)]),
    [
      ['BossHog01', 0x694],
      ['MamaHog', 0x50c],
      ['BossHog', 0x320],
      ['BabyHog', 0x258],
      ['daddyHog', 0x78],
      ['Ntfs', 0xfa4],
      ['fltmgr', 0xa4],
      ['nt', 0xa5c],
    ],
  );
  const hogs = ['BossHog01', 'MamaHog', 'BossHog', 'BabyHog', 'daddyHog'].reduce((sum, m) => sum + totals.get(m)!, 0);
  assert.equal(hogs, 4496);
  const cycle = analysis.findings.find((f) => f.kind === 'reentrancy' || /re-entrancy/.test(f.summary));
  assert.ok(cycle, analysis.findings.map((f) => f.summary).join('\n'));
  assert.match(cycle.summary, /BossHog01/);
  assert.match(cycle.summary, /BabyHog/);
  // The user-mode caller of the last system call is not code outside the drivers.
  assert.ok(!analysis.findings.some((f) => f.kind === 'unbacked_code'), 'no unbacked-code finding for the user-mode return address');
  const text = renderText(analysis, { threads: 'crashed' });
  assert.match(text, /^BUGCHECK_CODE: {2}0x7F \(UNEXPECTED_KERNEL_MODE_TRAP\)$/m);
  assert.match(text, /double fault/);
});
