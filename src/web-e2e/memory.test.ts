// A 100 MB full-memory dump analysed in the page: the tab's JavaScript memory, measured with
// Chromium's own counters (the DevTools protocol's Runtime.getHeapUsage, in the page and in the
// analysis worker: the V8 heap plus the ArrayBuffers behind it), must stay far below the dump's size,
// as it does only when the dump is read in slices and never whole.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CDPSession } from 'playwright-core';
import { analyseInPage, launchBrowser, needsChromium, screenshot, type Browser } from '../testing/browser.js';
import { fullMemoryDump } from '../testing/synth/index.js';
import { startServe, type RunningServe } from '../testing/serve.js';

const MiB = 1024 * 1024;
/** Heap use (V8 heap + ArrayBuffer backing stores) of the page and of each of its workers, through one CDP session. */
class HeapProbe {
  private readonly workers = new Set<string>();
  private nextId = 1;
  private readonly pending = new Map<number, (result: HeapUsage) => void>();

  private constructor(private readonly session: CDPSession) {
    session.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker') this.workers.add(e.sessionId);
    });
    session.on('Target.detachedFromTarget', (e) => {
      if (e.sessionId) this.workers.delete(e.sessionId);
    });
    session.on('Target.receivedMessageFromTarget', (e) => {
      const reply = JSON.parse(e.message) as { id?: number; result?: HeapUsage };
      const done = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (done && reply.id !== undefined) {
        this.pending.delete(reply.id);
        done(reply.result ?? { usedSize: 0, backingStorageSize: 0 });
      }
    });
  }

  /** Attaches to the page; workers it starts later are attached to this session (not flattened, so their replies come as messages). */
  static async attach(session: CDPSession): Promise<HeapProbe> {
    const probe = new HeapProbe(session);
    await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    return probe;
  }

  async sample(): Promise<{ page: number; workers: number }> {
    const page = bytesOf(await this.session.send('Runtime.getHeapUsage'));
    let workers = 0;
    for (const sessionId of this.workers) workers += bytesOf(await this.workerHeap(sessionId));
    return { page, workers };
  }

  private workerHeap(sessionId: string): Promise<HeapUsage> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) }).catch(() => {
        this.pending.delete(id);
        resolve({ usedSize: 0, backingStorageSize: 0 });
      });
    });
  }
}

interface HeapUsage {
  usedSize: number;
  backingStorageSize?: number;
}

function bytesOf(usage: HeapUsage): number {
  return usage.usedSize + (usage.backingStorageSize ?? 0);
}

let dir: string | undefined;
let serve: RunningServe | undefined;
let browser: Browser | undefined;

before(async () => {
  if (needsChromium.skip) return;
  dir = mkdtempSync(join(tmpdir(), 'stackhog-memory-'));
  serve = await startServe();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a 100 MB full-memory dump analysed in the page: peak JS memory of page and worker stays far below the dump\'s size', needsChromium, async (t) => {
  const path = join(dir!, 'full-memory-100mb.dmp');
  const bytes = fullMemoryDump({ heapRegions: 25, regionBytes: 4 * MiB });
  writeFileSync(path, bytes);
  const size = bytes.length;
  assert.ok(size > 100 * MiB, `${size} bytes`);

  const page = await browser!.context.newPage();
  await page.goto(serve!.url);
  const probe = await HeapProbe.attach(await browser!.context.newCDPSession(page));
  const baseline = await probe.sample();
  const peak = { page: baseline.page, workers: 0, total: baseline.page };
  let samples = 0;
  let analysing = true;
  // Sampled until the report is there: a count of samples, never a time, decides nothing but the peak.
  const sampling = (async (): Promise<void> => {
    while (analysing) {
      const s = await probe.sample();
      samples++;
      peak.page = Math.max(peak.page, s.page);
      peak.workers = Math.max(peak.workers, s.workers);
      peak.total = Math.max(peak.total, s.page + s.workers);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const report = await analyseInPage(page, [path]);
  analysing = false;
  await sampling;
  const bytesRead = Number(await page.getAttribute('#report-tabs button', 'data-bytes-read'));

  assert.equal(await report.locator('section.thread').count(), 2);
  assert.ok((await report.locator('svg.stack-map').count()) >= 1);
  assert.match((await report.locator('#summary').textContent())!, /EXCEPTION_ACCESS_VIOLATION_READ/);
  await screenshot(page, 'served-full-memory-100mb');
  const mb = (n: number): string => `${(n / MiB).toFixed(1)} MB`;
  t.diagnostic(
    `dump ${mb(size)}; read by the analysis ${mb(bytesRead)}; peak JS heap + ArrayBuffers: page ${mb(peak.page)} (${mb(baseline.page)} before), ` +
      `worker ${mb(peak.workers)}, both ${mb(peak.total)}; ${samples} samples`,
  );
  assert.ok(samples >= 2, 'memory was sampled while the analysis ran');
  assert.ok(peak.workers > 0, 'the worker was measured');
  // Generous: a dump read whole would put its 100 MB in one of them.
  assert.ok(peak.total < 60 * MiB, `peak ${mb(peak.total)} for a ${mb(size)} dump`);
  assert.ok(bytesRead < size / 2, `the analysis read ${mb(bytesRead)} of ${mb(size)}`);
  await page.close();
});
