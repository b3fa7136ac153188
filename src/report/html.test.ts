import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import type { Analysis } from '../analyze/types.js';
import { analyzeDps } from '../analyze/windbg-stack.js';
import { loadSymbolFile } from '../formats/breakpad-sym/index.js';
import { BufferSource } from '../io/byte-source.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import type { ModuleSymbols } from '../symbolize/provider.js';
import { SymbolStoreProvider } from '../symbolize/store-provider.js';
import { loadPdbSymbols } from '../symbolize/pdb-symbols.js';
import { corpusPath, needsCorpus, repoPath } from '../testing/corpus.js';
import { EVIL, EVIL_STRINGS, evilDump, evilSym } from '../testing/evil.js';
import { escapeHtml, html } from './html-markup.js';
import { REPORT_CSP, renderDpsHtml, renderHtml } from './html.js';
import { renderKf } from './kf.js';
import { foldedRuns } from './runs.js';
import { renderText } from './text.js';

/** Every element name a report may use: anything else in the document came from a dump. */
const REPORT_ELEMENTS = new Set([
  'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'main', 'section', 'h1', 'h2', 'h3', 'p', 'dl', 'dt', 'dd', 'code', 'strong', 'a', 'ul', 'li', 'span', 'div',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'details', 'summary', 'svg', 'defs', 'pattern', 'rect', 'line', 'polyline', 'text',
]);

function elements(doc: string): Set<string> {
  return new Set([...doc.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()));
}

async function analysed(path: string, options: Parameters<typeof analyze>[1] = {}): Promise<Analysis> {
  const file = await openFileSource(path);
  try {
    return await analyze(file.source, options);
  } finally {
    await file.close();
  }
}

async function evilAnalysis(): Promise<Analysis> {
  const sym = await loadSymbolFile(new BufferSource(new TextEncoder().encode(evilSym()), 'evil.sym'));
  const symbols = { symbolsFor: (): Promise<ModuleSymbols | undefined> => Promise.resolve(sym) };
  return analyze(new BufferSource(evilDump(), 'evil.dmp'), { symbols });
}

test('escapeHtml: markup characters as entities; controls and bidirectional overrides as visible escapes', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  assert.equal(escapeHtml('a\u0000b\u001bc\u202ed\u2066e'), 'a\\u0000b\\u001bc\\u202ed\\u2066e');
  assert.equal(escapeHtml('tab\tand\nnewline stay'), 'tab\tand\nnewline stay');
  // Nested templates stay markup; plain values (and arrays of them) are escaped.
  assert.equal(html`<p>${'<b>'}${[html`<i>${'&'}</i>`, '<u>']}</p>`.text, '<p>&lt;b&gt;<i>&amp;</i>&lt;u&gt;</p>');
});

test('html report of hostile strings (module, debug file, thread name, functions, file, Crashpad annotations): all literal text, no element but the report\'s own', async () => {
  const analysis = await evilAnalysis();
  assert.equal(analysis.threads[0]!.frames[0]!.symbol?.functionName, EVIL.functionName, 'the .sym was used');
  const doc = renderHtml(analysis, { source: '/tmp/<evil>.dmp' });
  const unexpected = [...elements(doc)].filter((e) => !REPORT_ELEMENTS.has(e));
  assert.deepEqual(unexpected, []);
  // Each hostile string (as the report shows it: the module by its base name) is in the document, escaped.
  for (const s of [EVIL.thread, EVIL.functionName, EVIL.caller, EVIL.annotationKey, EVIL.annotationValue]) assert.ok(doc.includes(escapeHtml(s)), s);
  assert.ok(doc.includes(escapeHtml(EVIL.file.slice(EVIL.file.lastIndexOf('/') + 1))));
  assert.ok(doc.includes(escapeHtml('script>.dll')), 'the module, by its base name');
  assert.ok(doc.includes('\\u202eexe.evil\\u202c'), 'the bidirectional override is shown, not obeyed');
  assert.equal(EVIL_STRINGS.length, 9);
});

test('text and kf reports of hostile strings: no control character or bidirectional override reaches the terminal', async () => {
  const analysis = await evilAnalysis();
  for (const out of [renderText(analysis), renderKf(analysis)]) {
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  }
  assert.ok(renderText(analysis).includes(`!${EVIL.functionName} [`));
});

test('html report of stack_exhaustion.dmp: CSP forbids fetches, no script; the overflow finding, the stack map with every sized frame and the guard page, 237 folded frames', async () => {
  const analysis = await analysed(repoPath('samples', 'stack_exhaustion.dmp'));
  const doc = renderHtml(analysis, { source: 'stack_exhaustion.dmp' });
  assert.ok(doc.startsWith('<!doctype html>'));
  assert.ok(doc.includes(`<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">`));
  assert.match(REPORT_CSP, /default-src 'none'/);
  assert.doesNotMatch(doc, /<script|<link|<img|<iframe|src=|https?:\/\//i);
  assert.deepEqual([...elements(doc)].filter((e) => !REPORT_ELEMENTS.has(e)), []);
  assert.match(doc, /<li class="finding" data-kind="stack_overflow" data-severity="critical">/);
  assert.match(doc, /<li class="finding" data-kind="recursion"/);
  const t = analysis.threads[0]!;
  const sized = t.usage.frames.filter((f) => f.size !== undefined && f.size > 0).length;
  assert.equal(sized, 245);
  assert.equal([...doc.matchAll(/<rect class="frame"/g)].length, sized);
  assert.equal([...doc.matchAll(/<rect class="guard"/g)].length, 1);
  assert.equal([...doc.matchAll(/<svg class="stack-map"/g)].length, 1);
  // Frames 2–238 are one expandable row holding all 237 of them; frames 0, 1, 239–245 are rows of their own.
  assert.equal([...doc.matchAll(/<details><summary>frames 2–238: crashme.exe\+0xa6a7 ×237, 0x10e8 bytes each<\/summary>/g)].length, 1);
  assert.equal([...doc.matchAll(/<tr id="t0-f\d+"/g)].length, 246, 'every frame has its row');
  assert.ok(doc.includes('<a href="#t0-f0">frame 0</a>'), 'the finding links to its frame');
  const all = renderHtml(analysis, { allFrames: true });
  assert.equal([...all.matchAll(/<details>/g)].length, 0);
  assert.equal([...all.matchAll(/<tr id="t0-f\d+"/g)].length, 246);
});

test('folded recursion runs: the first and last cycle stay listed; text fits a screen, --all-frames lists every frame', async () => {
  const analysis = await analysed(repoPath('samples', 'stack_exhaustion.dmp'));
  assert.deepEqual(foldedRuns(analysis.threads[0]!), [{ first: 2, last: 238, cycle: ['crashme.exe+0xa6a7'], cycles: 237, bytesEach: 0x10e8, bytes: 237 * 0x10e8 }]);
  const text = renderText(analysis);
  assert.ok(text.split('\n').length < 100, `${text.split('\n').length} lines`);
  assert.ok(text.includes('    ... frames 2–238: crashme.exe+0xa6a7 ×237, 0x10e8 bytes each (--all-frames lists them)\n239  crashme.exe + 0xa6a7\n'));
  const every = renderText(analysis, { allFrames: true });
  assert.ok(every.includes('\n238  crashme.exe + 0xa6a7\n') && !every.includes('--all-frames'));
  const kf = renderKf(analysis);
  assert.ok(kf.includes('     ... frames 2–238: crashme.exe+0xa6a7 ×237, 0x10e8 bytes each (--all-frames lists them)\n'));
  // The totals count the folded rows.
  assert.match(kf, /crashme {5}0xfcaec {3}1034988 bytes {2}243 rows/);
});

test('html report of overflow.dmp (mingw, 1,810 frames) with its image: its recursion folded into one expandable row, the overflow finding', async () => {
  const images = new FileDirectories([repoPath('test-data', 'fixtures')]);
  const analysis = await analysed(repoPath('test-data', 'fixtures', 'overflow.dmp'), { images: images.openers }).finally(() => images.close());
  const crashed = analysis.threads[analysis.crashingThreadIndex!]!;
  const doc = renderHtml(analysis);
  assert.ok(crashed.frames.length > 1800, `${crashed.frames.length} frames`);
  const folds = foldedRuns(crashed);
  assert.equal(folds.length, 1);
  assert.equal([...doc.matchAll(/<details>/g)].length, folds.length + analysis.threads.filter((_, i) => i !== analysis.crashingThreadIndex).reduce((n, t) => n + foldedRuns(t).length, 0));
  assert.match(doc, /data-kind="stack_overflow"/);
});

test('html report of a kernel dump: the bugcheck, its parameters in words, the culprit driver marked in the driver list', needsCorpus, async () => {
  const images = new FileDirectories([corpusPath('external', 'kernel', 'modules')]);
  const symbolDirs = new FileDirectories([corpusPath('external', 'kernel', 'symbols')]);
  const symbols = new SymbolStoreProvider(symbolDirs.openers, 16, { pdbLoader: loadPdbSymbols });
  const analysis = await analysed(corpusPath('external', 'kernel', 'rizin-triage_x64.dmp'), { symbols, images: images.openers }).finally(() => Promise.all([images.close(), symbolDirs.close()]));
  const doc = renderHtml(analysis);
  assert.match(doc, /<section id="summary"><h2>Bugcheck<\/h2>/);
  assert.ok(doc.includes(escapeHtml(analysis.kernel!.bucket)));
  assert.match(doc, /<section id="modules"><h2>Drivers/);
  assert.match(doc, /<tr class="culprit">.*amdppm\.sys/);
  assert.ok(doc.includes('amdppm.sys!WriteIoMemRawEx + 0x70'));
  assert.match(doc, /amdppm\.sys <span class="flag bad">probable cause<\/span><\/td><td><\/td><td>yes<\/td><td>symbols loaded<\/td>/);
});

test('dps --format html: the rebuilt stack with per-module bytes and a stack map (the got-stack blog capture)', async () => {
  const dps = readFileSync(repoPath('test-data', 'windbg', 'blog-dps.txt'), 'utf8');
  const lm = readFileSync(repoPath('test-data', 'windbg', 'blog-lm.txt'), 'utf8');
  const a = (await analyzeDps(dps, lm))!;
  const doc = renderDpsHtml(a, 'dps.txt');
  assert.match(doc, /<svg class="stack-map"/);
  assert.match(doc, /<table class="frames">/);
  assert.equal([...doc.matchAll(/<rect class="frame"/g)].length, a.rows.filter((r) => !r.inline && r.memory !== undefined && r.memory > 0n).length);
  assert.deepEqual([...elements(doc)].filter((e) => !REPORT_ELEMENTS.has(e)), []);
});
