// Every frame minidump_stackwalk printed for the corpus dumps (expected/*.txt), re-symbolized from
// the same symbol directories through SymbolStore: function names, source files and lines, the
// "+ 0x" offsets and the inline frames must all come out the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { FileDirectories } from '../node/directories.js';
import { corpusPath, hasCorpus, needsCorpus } from '../testing/corpus.js';
import { baseName, SymbolStore } from './symbol-store.js';

interface PrintedFrame {
  text: string;
  inline: boolean;
  /** eip/rip of a physical frame: the instruction pointer, or the return address for callers. */
  pc: bigint | undefined;
}

interface ModuleLine {
  debugFile: string;
  debugId: string;
  base: bigint;
}

/** Threads of the human-readable output, each a list of frames in printed order. */
function parseThreads(text: string): PrintedFrame[][] {
  const threads: PrintedFrame[][] = [];
  let frames: PrintedFrame[] | undefined;
  for (const line of text.split('\n')) {
    if (/^Thread \d+/.test(line)) {
      frames = [];
      threads.push(frames);
      continue;
    }
    if (line.startsWith('Loaded modules:')) frames = undefined;
    if (!frames) continue;
    const frame = /^ ?\d+ {2}(.+)$/.exec(line);
    if (frame) {
      frames.push({ text: frame[1]!, inline: false, pc: undefined });
      continue;
    }
    const last = frames[frames.length - 1];
    if (!last) continue;
    const pc = /\b[er]ip = (0x[0-9a-f]+)/.exec(line);
    if (pc) last.pc = BigInt(pc[1]!);
    if (line.includes('Found by: inline record')) last.inline = true;
  }
  return threads;
}

/** Module|code_file|version|debug_file|debug_id|base|end|main lines of the -m output, by code file name. */
function parseModules(text: string): Map<string, ModuleLine> {
  const modules = new Map<string, ModuleLine>();
  for (const line of text.split('\n')) {
    const f = line.split('|');
    if (f[0] !== 'Module' || f.length < 7) continue;
    modules.set(baseName(f[1]!), { debugFile: f[3]!, debugId: f[4]!, base: BigInt(f[5]!) });
  }
  return modules;
}

/** What a printed frame says: module, and function with either a source line or a function offset. */
function parseFrameText(text: string): { module: string; fn?: string; file?: string; line?: number; offset: bigint } | undefined {
  const withSource = /^([^!]+)!(.*) \[([^[\]]+) : (\d+) \+ 0x([0-9a-f]+)\]$/.exec(text);
  if (withSource) {
    return { module: withSource[1]!, fn: withSource[2]!, file: withSource[3]!, line: Number(withSource[4]), offset: BigInt('0x' + withSource[5]!) };
  }
  const withFunction = /^([^!]+)!(.*) \+ 0x([0-9a-f]+)$/.exec(text);
  if (withFunction) return { module: withFunction[1]!, fn: withFunction[2]!, offset: BigInt('0x' + withFunction[3]!) };
  const moduleOnly = /^(\S+) \+ 0x([0-9a-f]+)$/.exec(text);
  if (moduleOnly) return { module: moduleOnly[1]!, offset: BigInt('0x' + moduleOnly[2]!) };
  return undefined;
}

const expectedDir = corpusPath('expected');
// Without the corpus, the folder's name stands in for its cases: one test, skipped.
const cases = hasCorpus()
  ? readdirSync(expectedDir)
      .filter((name) => name.endsWith('.txt') && !name.endsWith('.m.txt'))
      .map((name) => name.slice(0, -'.txt'.length))
  : ['../shared/corpus/expected'];

for (const name of cases) {
  test(`expected frames: ${name}`, needsCorpus, async (t) => {
    const text = readFileSync(`${expectedDir}/${name}.txt`, 'utf8');
    const cpu = /^CPU: (\S+)/m.exec(text)?.[1];
    if (cpu !== 'x86' && cpu !== 'amd64') return; // caller instruction = pc - 1 holds for these
    const modules = parseModules(readFileSync(`${expectedDir}/${name}.m.txt`, 'utf8'));
    const folder = name.split('--')[0]!;
    const dirs = new FileDirectories([corpusPath(folder, 'symbols')]);
    t.after(() => dirs.close());
    const store = new SymbolStore(dirs.openers);
    let checked = 0;
    for (const frames of parseThreads(text)) {
      let pendingInlines: PrintedFrame[] = [];
      let physicalIndex = 0;
      for (const frame of frames) {
        if (frame.inline) {
          pendingInlines.push(frame);
          continue;
        }
        const inlines = pendingInlines;
        pendingInlines = [];
        const printed = parseFrameText(frame.text);
        const pc = frame.pc;
        const isCaller = physicalIndex++ > 0;
        if (!printed || pc === undefined) continue;
        const module = modules.get(printed.module);
        assert.ok(module, `${name}: module ${printed.module}`);
        const instruction = isCaller ? pc - 1n : pc;
        const rva = Number(instruction - module.base);
        const where = `${name}: ${frame.text} (rva 0x${rva.toString(16)})`;
        const file = await store.get(module.debugFile, module.debugId);
        const found = file ? await file.lookup(rva) : undefined;
        if (printed.fn === undefined) {
          assert.equal(found, undefined, where);
          assert.equal(printed.offset, pc - module.base, where);
          checked++;
          continue;
        }
        assert.ok(found, where);
        assert.equal(found.functionName, printed.fn, where);
        const pcRva = Number(pc - module.base);
        if (printed.file === undefined) {
          assert.equal(found.file, undefined, where);
          assert.equal(printed.offset, BigInt(pcRva - found.functionAddress), where);
        } else {
          assert.equal(baseName(found.file ?? ''), printed.file, where);
          assert.equal(found.line, printed.line, where);
          assert.equal(printed.offset, BigInt(pcRva - found.lineAddress!), where);
        }
        // Inline frames are printed innermost first, offsets from the instruction itself.
        assert.equal(found.inlines.length, inlines.length, `${where}: inline count`);
        inlines.forEach((inline, i) => {
          const p = parseFrameText(inline.text);
          const f = found.inlines[i]!;
          assert.ok(p, where);
          assert.equal(f.name, p.fn, where);
          assert.equal(baseName(f.file ?? ''), p.file, where);
          assert.equal(f.line, p.line, where);
          assert.equal(p.offset, BigInt(rva - found.lineAddress!), where);
        });
        checked += 1 + inlines.length;
      }
    }
    assert.ok(checked > 0, `${name}: no frames checked`);
  });
}
