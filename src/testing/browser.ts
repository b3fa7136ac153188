// Test support: Debian's Chromium (/usr/bin/chromium) driven by playwright-core, headless, with a
// fresh profile and every background service of its own switched off, so the only requests it
// makes are the page's. Playwright never downloads a browser here; without that one, the browser
// tests are skipped and `npm test` says so in one line (it runs this module as a script first).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type FrameLocator, type Page, type Request } from 'playwright-core';
import { repoPath } from './corpus.js';

export const CHROMIUM = '/usr/bin/chromium';

/** The flags the machine notes give for a browser on a closed network: no component updates, sync, QUIC or other background requests. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** One line naming the missing browser and how to get it; undefined when it is there. */
export function missingChromiumNote(): string | undefined {
  if (hasChromium()) return undefined;
  return (
    `stackhog tests: ${CHROMIUM} is missing, so the browser tests (the page in src/web/, stackhog serve, HTML reports opened in a browser) are skipped. ` +
    "They need Debian's chromium package: apt-get install -y chromium (.ci/run installs it)."
  );
}

/** node:test options for a test that drives the browser: skipped, saying why, without /usr/bin/chromium. */
export const needsChromium: { readonly skip: string | false } = { skip: hasChromium() ? false : `${CHROMIUM} is missing (apt-get install -y chromium)` };

/** Where the browser tests put their screenshots and downloads (gitignored). */
export const TEST_OUTPUT = repoPath('test-output');
export const SCREENSHOTS = join(TEST_OUTPUT, 'screenshots');

export interface Browser {
  readonly context: BrowserContext;
  /** Every URL the browser asked for, in order, from any page, frame or worker. */
  readonly requests: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A headless Chromium with a new, empty profile directory (removed on close). */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'stackhog-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1000 },
    acceptDownloads: true,
  });
  // Long enough for a slow machine; these are hang guards, not time limits the tests assert.
  context.setDefaultTimeout(300_000);
  const requests: string[] = [];
  context.on('request', (r: Request) => requests.push(r.url()));
  const first = context.pages();
  return {
    context,
    requests,
    newPage: async () => first.shift() ?? (await context.newPage()),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The requests that went anywhere but `origin` (the page's server, or the page's own file:// URL)
 * and the browser's local schemes (blob:, data:, about:).
 */
export function requestsLeaving(requests: readonly string[], allowed: readonly string[]): string[] {
  return requests.filter((url) => {
    if (/^(blob|data|about):/.test(url)) return false;
    return !allowed.some((a) => (a.endsWith('/') ? url.startsWith(a) : url === a));
  });
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Chooses the files in the page's file input, as a person would, and waits until the page says the
 * analysis is over (body[data-run] counts the runs); the frame showing the first report.
 */
export async function analyseInPage(page: Page, paths: readonly string[]): Promise<FrameLocator> {
  const run = Number((await page.getAttribute('body', 'data-run')) ?? '0');
  await page.setInputFiles('#files', [...paths]);
  // A selector, not a function to evaluate: the page's CSP forbids eval, which Playwright's string predicates use.
  await page.locator(`body[data-run="${run + 1}"]:is([data-state="done"], [data-state="failed"])`).waitFor({ state: 'attached' });
  if ((await page.getAttribute('body', 'data-state')) !== 'done') throw new Error(`the page says: ${await page.textContent('#status-text')}`);
  return page.frameLocator('#report');
}

/** The built page (`npm run build`), as a file:// URL. */
export function pageFileUrl(): string {
  return pathToFileURL(repoPath('dist', 'web', 'index.html')).href;
}

// Run as a script (`node dist/testing/browser.js`, as `npm test` does): the one line, when it applies.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const note = missingChromiumNote();
  if (note) console.log(note);
}
