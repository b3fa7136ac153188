// The browser page as a person uses it: `stackhog serve` started for real, the page opened in
// Chromium, dumps (and their symbol files and images) chosen in its file input, the report read in
// the page's frame, and every request the browser made checked against the server's own origin.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyseInPage, launchBrowser, needsChromium, requestsLeaving, screenshot, TEST_OUTPUT, type Browser } from '../testing/browser.js';
import { corpusPath, hasCorpus, repoPath } from '../testing/corpus.js';
import { EVIL, EVIL_STRINGS, evilDump, evilSym } from '../testing/evil.js';
import { startServe, type RunningServe } from '../testing/serve.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const SAMPLE = repoPath('samples', 'stack_exhaustion.dmp');

let serve: RunningServe | undefined;
let browser: Browser | undefined;

before(async () => {
  if (needsChromium.skip) return;
  serve = await startServe();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await serve?.stop();
});

/** A new tab on the served page, with the requests made from here on and any dialog a script opened (none may). */
async function openPage(): Promise<{ page: Awaited<ReturnType<Browser['newPage']>>; requests: () => string[]; dialogs: string[] }> {
  const page = await browser!.context.newPage();
  const from = browser!.requests.length;
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(serve!.url);
  return { page, requests: () => browser!.requests.slice(from), dialogs };
}

test('served page, samples/stack_exhaustion.dmp: the stack_overflow finding and the stack map, and no request left the server\'s origin', needsChromium, async () => {
  const { page, requests } = await openPage();
  assert.match((await page.textContent('#privacy'))!, /Nothing leaves this browser/);
  const report = await analyseInPage(page, [SAMPLE]);
  assert.equal(await report.locator('#findings li.finding[data-kind="stack_overflow"][data-severity="critical"]').count(), 1);
  assert.ok((await report.locator('section.thread[data-thread-index="0"] svg.stack-map').count()) === 1);
  assert.match((await report.locator('#summary').textContent())!, /EXCEPTION_STACK_OVERFLOW/);
  assert.ok((await report.locator('section.thread table.frames').count()) > 0);
  assert.match((await page.textContent('#file-list'))!, /dump\s*stack_exhaustion\.dmp/);
  // The report's own links stay within the report's frame.
  await report.locator('#summary a[href="#thread-0"]').click();
  assert.ok(page.frames().some((f) => /^blob:.*#thread-0$/.test(f.url())), page.frames().map((f) => f.url()).join(' '));
  await screenshot(page, 'served-stack_exhaustion');
  assert.deepEqual(requestsLeaving(requests(), [serve!.url]), []);
  assert.ok(requests().includes(serve!.url), 'the page itself was requested from the server');
  await page.close();
});

test('the page\'s Content-Security-Policy refuses every fetch, from the page and from its worker', needsChromium, async () => {
  const { page, requests } = await openPage();
  await analyseInPage(page, [SAMPLE]);
  const target = `${serve!.url}probe.txt`;
  const tryFetch = (url: string): Promise<string> => fetch(url).then(() => 'fetched', (e: Error) => `refused: ${e.name}`);
  assert.match(await page.evaluate(tryFetch, target), /^refused/);
  const worker = page.workers()[0];
  assert.ok(worker, 'the analysis runs in a worker');
  assert.match(await worker.evaluate(tryFetch, target), /^refused/);
  assert.match((await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content'))!, /default-src 'none'; script-src 'sha256-[^']+';.* connect-src 'none'/);
  assert.ok(!requests().includes(target), 'the probes never reached the network');
  await page.close();
});

test('"Save as HTML" downloads the report shown, the very document `stackhog --format html` writes', needsChromium, async () => {
  const { page } = await openPage();
  await analyseInPage(page, [SAMPLE]);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.equal(download.suggestedFilename(), 'stack_exhaustion.stackhog.html');
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const saved = join(TEST_OUTPUT, download.suggestedFilename());
  await download.saveAs(saved);
  const html = readFileSync(saved, 'utf8');
  assert.match(html, /^<!doctype html>\n<html[^>]*>\n<head>/);
  assert.match(html, /<\/html>\n?$/);
  for (const part of ['<section id="summary">', '<section id="findings">', 'data-kind="stack_overflow"', '<svg class="stack-map"', '<section id="modules">']) assert.ok(html.includes(part), part);
  // The CLI names the dump as it was given: run it beside the sample so both say stack_exhaustion.dmp.
  const cli = spawnSync(process.execPath, [MAIN, 'stack_exhaustion.dmp', '--format', 'html'], { cwd: repoPath('samples'), encoding: 'utf8', timeout: 120_000 });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(html, cli.stdout);
  await page.close();
});

test('overflow.dmp with overflow.exe chosen beside it: frames unwound with the image\'s unwind data', needsChromium, async () => {
  const { page, requests } = await openPage();
  const report = await analyseInPage(page, [repoPath('test-data', 'fixtures', 'overflow.dmp'), repoPath('test-data', 'fixtures', 'overflow.exe')]);
  assert.match((await page.textContent('#file-list'))!, /image\s*overflow\.exe/);
  assert.equal(await report.locator('li.finding[data-kind="stack_overflow"]').count(), 1);
  assert.ok((await report.locator('svg.stack-map').count()) >= 1);
  const crashed = report.locator('section.thread').filter({ hasText: '(crashed)' });
  assert.match((await crashed.locator('table.frames').first().textContent())!, /PE unwind data/);
  await screenshot(page, 'served-overflow-with-exe');
  assert.deepEqual(requestsLeaving(requests(), [serve!.url]), []);
  await page.close();
});

test('minidump2.dmp with its .sym files chosen beside it: frames named from them', { skip: needsChromium.skip || (hasCorpus() ? false : '../shared/corpus is missing') }, async () => {
  const { page, requests } = await openPage();
  const symbols = corpusPath('breakpad', 'symbols');
  const report = await analyseInPage(page, [
    corpusPath('breakpad', 'minidump2.dmp'),
    join(symbols, 'test_app.pdb', '5A9832E5287241C1838ED98914E9B7FF1', 'test_app.sym'),
    join(symbols, 'kernel32.pdb', 'BCE8785C57B44245A669896B6A19B9542', 'kernel32.sym'),
  ]);
  assert.match((await page.textContent('#file-list'))!, /symbols\s*test_app\.sym.*symbols\s*kernel32\.sym/s);
  const frames = (await report.locator('section.thread[data-thread-index="0"] table.frames').first().textContent())!;
  assert.match(frames, /CrashFunction/);
  assert.match(frames, /test_app\.cc/);
  assert.match((await report.locator('#summary').textContent())!, /EXCEPTION_ACCESS_VIOLATION_WRITE/);
  assert.ok((await report.locator('svg.stack-map').count()) >= 1);
  await screenshot(page, 'served-minidump2-with-symbols');
  assert.deepEqual(requestsLeaving(requests(), [serve!.url]), []);
  await page.close();
});

test('a kernel dump (rizin-triage_x64.dmp) with its driver images and amdppm.pdb: the bugcheck, the driver list, frames named from the PDB', { skip: needsChromium.skip || (hasCorpus() ? false : '../shared/corpus is missing') }, async () => {
  const { page, requests } = await openPage();
  const kernel = corpusPath('external', 'kernel');
  const report = await analyseInPage(page, [
    join(kernel, 'rizin-triage_x64.dmp'),
    join(kernel, 'modules', 'amdppm.sys', 'c9c030003b000', 'amdppm.sys'),
    join(kernel, 'modules', 'Wdf01000.sys', 'a9a9d36ed1000', 'Wdf01000.sys'),
    join(kernel, 'symbols', 'amdppm.pdb', '1C19FDDB27BB3399D9B45973EFEAFCF31', 'amdppm.pdb'),
  ]);
  assert.match((await page.textContent('#file-list'))!, /PDB\s*amdppm\.pdb/);
  assert.match((await report.locator('#summary').textContent())!, /SYSTEM_THREAD_EXCEPTION_NOT_HANDLED/);
  assert.match((await report.locator('#modules').textContent())!, /Drivers/);
  assert.match((await report.locator('table.frames').first().textContent())!, /WriteIoMemRawEx/);
  assert.ok((await report.locator('svg.stack-map').count()) >= 1);
  await screenshot(page, 'served-kernel-rizin-triage_x64');
  assert.deepEqual(requestsLeaving(requests(), [serve!.url]), []);
  await page.close();
});

test('hostile strings from a dump, its .sym and the dropped files\' own names show as text, never as markup', needsChromium, async () => {
  const dir = join(TEST_OUTPUT, 'hostile');
  mkdirSync(dir, { recursive: true });
  const dump = join(dir, '<img src=x onerror=alert(1)>.dmp');
  const sym = join(dir, '"><svg onload=alert(2)>.sym');
  writeFileSync(dump, evilDump());
  writeFileSync(sym, evilSym());
  const { page, requests, dialogs } = await openPage();
  const report = await analyseInPage(page, [dump, sym]);
  const text = (await report.locator('body').textContent())!;
  // As the report shows them: the module and the file by their base names, the bidirectional override escaped.
  const shown = [EVIL.thread, EVIL.functionName, EVIL.caller, EVIL.annotationKey, EVIL.annotationValue, EVIL.file.slice(EVIL.file.lastIndexOf('/') + 1), 'script>.dll', '\\u202eexe.evil\\u202c'];
  for (const evil of shown) assert.ok(text.includes(evil), `shown as text: ${evil}`);
  assert.equal(EVIL_STRINGS.length, 9, 'every hostile string of testing/evil.ts is looked at here');
  assert.equal(await report.locator('script, img, iframe, b, [onload], [onerror], [onmouseover], a[href^="javascript:"]').count(), 0);
  const files = (await page.textContent('#file-list'))!;
  assert.ok(files.includes('<img src=x onerror=alert(1)>.dmp') && files.includes('"><svg onload=alert(2)>.sym'), files);
  assert.equal(await page.locator('main img, main svg, [onload], [onerror]').count(), 0);
  assert.equal(await page.locator('#report-tabs button').first().textContent(), '<img src=x onerror=alert(1)>.dmp');
  await screenshot(page, 'served-hostile-strings');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(requestsLeaving(requests(), [serve!.url]), []);
  await page.close();
});

test('a file that is no dump: the page says why, and shows no report', needsChromium, async () => {
  const { page } = await openPage();
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const notes = join(TEST_OUTPUT, 'notes.txt');
  writeFileSync(notes, 'just some text\n');
  await assert.rejects(analyseInPage(page, [notes]), /not a crash dump stackhog knows/);
  assert.equal(await page.getAttribute('body', 'data-state'), 'failed');
  assert.equal(await page.isVisible('#report'), false);
  await page.close();
});
