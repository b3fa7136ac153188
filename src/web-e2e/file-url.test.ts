// Pages opened from disk, with no server: the built page itself (dist/web/index.html, one file with
// its script, style and worker inlined) analysing a dump, and a report the CLI wrote with --format html.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { analyseInPage, launchBrowser, needsChromium, pageFileUrl, requestsLeaving, screenshot, TEST_OUTPUT, type Browser } from '../testing/browser.js';
import { repoPath } from '../testing/corpus.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

let browser: Browser | undefined;

before(async () => {
  if (!needsChromium.skip) browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('the page opened as file:// (no server) analyses a dump: script, worker and report all from the one file', needsChromium, async () => {
  const page = await browser!.context.newPage();
  const from = browser!.requests.length;
  const url = pageFileUrl();
  await page.goto(url);
  const report = await analyseInPage(page, [repoPath('samples', 'stack_exhaustion.dmp')]);
  assert.equal(await report.locator('li.finding[data-kind="stack_overflow"][data-severity="critical"]').count(), 1);
  assert.equal(await report.locator('svg.stack-map').count(), 1);
  assert.ok(page.workers().length === 1, 'the worker started from a blob: URL');
  await screenshot(page, 'file-url-page-stack_exhaustion');
  const requests = browser!.requests.slice(from);
  assert.deepEqual(requestsLeaving(requests, [url]), []);
  assert.deepEqual(requests.filter((r) => r.startsWith('file:')), [url], 'no file but the page itself was loaded');
  await page.close();
});

test('a report written by `stackhog --format html`, opened from disk: the finding and the stack map, and no request at all', needsChromium, async () => {
  const cli = spawnSync(process.execPath, [MAIN, repoPath('samples', 'stack_exhaustion.dmp'), '--format', 'html'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(cli.status, 0, cli.stderr);
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const file = join(TEST_OUTPUT, 'cli-stack_exhaustion.html');
  writeFileSync(file, cli.stdout);
  const url = pathToFileURL(file).href;
  const page = await browser!.context.newPage();
  const from = browser!.requests.length;
  await page.goto(url);
  assert.equal(await page.locator('#findings li.finding[data-kind="stack_overflow"][data-severity="critical"]').count(), 1);
  assert.equal(await page.locator('section.thread[data-thread-index="0"] svg.stack-map').count(), 1);
  assert.ok((await page.locator('#modules').textContent())!.includes('crashme.exe'));
  await screenshot(page, 'file-url-cli-report-stack_exhaustion');
  assert.deepEqual(browser!.requests.slice(from), [url], 'the report file and nothing else');
  await page.close();
});
