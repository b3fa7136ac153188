// The processing service end to end, on a real redis-server (Debian's) and real stackhog
// processes: the API's round trip and refusals, two workers on one queue, a worker killed with
// SIGKILL mid-job, a hostile dump that ends in the failed set, and Redis restarted mid-run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { corpusPath, hasCorpus } from '../testing/corpus.js';
import { apiUrl, eventually, needsRedis, startRedis, startStackhog, type RunningRedis, type ServiceProcess } from '../testing/service.js';
import { SynthMinidump, rsds, x86Context } from '../testing/synth/index.js';

const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const skip = needsRedis.skip || (hasCorpus() ? false : '../shared/corpus is missing');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The corpus's user-mode minidumps with distinct contents, smallest first. */
function corpusDumps(): string[] {
  const seen = new Set<string>();
  const out: { path: string; size: number }[] = [];
  for (const folder of ['breakpad', 'rust-minidump']) {
    for (const name of readdirSync(corpusPath(folder)).sort()) {
      if (!name.endsWith('.dmp')) continue;
      const path = corpusPath(folder, name);
      const bytes = readFileSync(path);
      if (bytes.subarray(0, 4).toString('latin1') !== 'MDMP' || seen.has(sha256(bytes))) continue;
      seen.add(sha256(bytes));
      out.push({ path, size: bytes.length });
    }
  }
  return out.sort((a, b) => a.size - b.size || (a.path < b.path ? -1 : 1)).map((d) => d.path);
}

async function post(url: string, form: FormData | { body: Uint8Array; headers: Record<string, string> }): Promise<{ status: number; body: Record<string, unknown> }> {
  const init = form instanceof FormData ? { method: 'POST', body: form } : { method: 'POST', body: form.body, headers: form.headers };
  const res = await fetch(`${url}/minidump`, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function dumpForm(path: string, extra: Record<string, string | { name: string; bytes: Uint8Array }> = {}): FormData {
  const form = new FormData();
  form.append('upload_file_minidump', new Blob([readFileSync(path)]), path.split('/').pop());
  for (const [k, v] of Object.entries(extra)) typeof v === 'string' ? form.append(k, v) : form.append(k, new Blob([v.bytes]), v.name);
  return form;
}

async function finished(url: string, id: string): Promise<Record<string, unknown>> {
  return eventually(`request ${id} to finish`, async () => {
    const res = await fetch(`${url}/requests/${id}`);
    const body = (await res.json()) as Record<string, unknown>;
    return body['status'] === 'pending' ? undefined : body;
  });
}

function withoutPath(doc: Record<string, unknown>): Record<string, unknown> {
  const { path: _path, ...rest } = doc;
  return rest;
}

/** A job's state and record straight from the queue. */
async function jobRecord(redis: string, id: string): Promise<{ state: string; attemptsMade: number; failedReason: string | undefined; processedBy: string | undefined; returnvalue: unknown }> {
  const queue = new Queue('stackhog', { connection: { url: redis, maxRetriesPerRequest: null } });
  try {
    const job = await queue.getJob(id);
    if (!job) return { state: 'missing', attemptsMade: 0, failedReason: undefined, processedBy: undefined, returnvalue: undefined };
    return { state: await job.getState(), attemptsMade: job.attemptsMade, failedReason: job.failedReason, processedBy: (job as unknown as { processedBy?: string }).processedBy, returnvalue: job.returnvalue };
  } finally {
    await queue.close();
  }
}

/**
 * A hostile x86 dump: one thread whose 16 MiB stack is nothing but plausible return addresses into
 * its one module, so a scan finds a frame in every word (131,072 of them, the frame limit).
 */
function fakeFramesDump(): Uint8Array {
  const base = 0x00400000;
  const size = 0x100000;
  const stackBase = 0x01000000;
  const bytes = new Uint8Array(16 << 20);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < bytes.length; i += 4) view.setUint32(i, base + 0x1000 + ((i * 7) % (size - 0x2000)), true);
  return new SynthMinidump()
    .systemInfo({ cpu: 'x86', platform: 'windows', version: [10, 0, 19045] })
    .module({ base, size, name: 'C:\\fake-frames.exe', codeView: rsds('11111111-2222-3333-4444-555555555555', 1, 'fake-frames.pdb') })
    .thread({ id: 1, context: x86Context({ eip: base + 0x1010, esp: stackBase, ebp: stackBase }), stack: { base: stackBase, bytes } })
    .build();
}

/** Runs `work` beside an HTTP server that takes requests and never answers (a stuck symbol server). */
async function withTarpit(work: (url: string, asked: () => number) => Promise<void>): Promise<void> {
  let asked = 0;
  const tarpit: Server = createServer(() => {
    asked++;
  });
  await new Promise<void>((ok) => tarpit.listen(0, '127.0.0.1', () => ok()));
  try {
    await work(`http://127.0.0.1:${(tarpit.address() as { port: number }).port}`, () => asked);
  } finally {
    tarpit.closeAllConnections();
    tarpit.close();
  }
}

describe('processing service', { skip }, () => {
  let redis: RunningRedis;
  let scratch: string;
  const running: ServiceProcess[] = [];
  const start = async (args: string[]): Promise<ServiceProcess> => {
    const p = await startStackhog(args);
    running.push(p);
    return p;
  };
  const flush = (): void => {
    spawnSync('redis-cli', ['-p', String(redis.port), 'flushall'], { encoding: 'utf8' });
  };

  before(async () => {
    redis = await startRedis();
    scratch = mkdtempSync(join(tmpdir(), 'stackhog-service-'));
  });
  // A test's processes end with it, passed or failed, so none takes the next test's jobs.
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  });
  after(async () => {
    await redis?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('API round trip: upload, result equal to the CLI JSON, the same dump once, gzip bodies, uploaded symbols, metrics', async () => {
    flush();
    const out = join(scratch, 'roundtrip.jsonl');
    const worker = await start(['worker', '--redis', redis.url, '--concurrency', '2', '-o', out]);
    const api = await start(['api', '--redis', redis.url, '--port', '0', '--store', join(scratch, 'store'), '--max-upload-mb', '4']);
    const url = apiUrl(api);

    const minidump2 = corpusPath('breakpad', 'minidump2.dmp');
    const first = await post(url, dumpForm(minidump2, { prod: 'stackhog-test', ver: '1.0' }));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body['id'], sha256(readFileSync(minidump2)), 'the id is the SHA-256 of the dump');
    const id = first.body['id'] as string;
    const done = await finished(url, id);
    assert.equal(done['status'], 'completed', JSON.stringify(done).slice(0, 500));
    const expected = JSON.parse(cli(minidump2, '-f', 'json').stdout) as Record<string, unknown>;
    assert.deepEqual(withoutPath(done['result'] as Record<string, unknown>), withoutPath(expected), 'the stored result is the CLI JSON document');
    assert.equal(done['signature'], expected['signature']);

    // The same dump again: the same id, and it is not processed again.
    const again = await post(url, dumpForm(minidump2));
    assert.deepEqual(again, { status: 200, body: { id } });
    const same = await finished(url, id);
    assert.deepEqual(same['timings'], done['timings'], 'the kept result, not a new run');

    // Crashpad sends its multipart body gzip-encoded.
    const gzipped = corpusPath('rust-minidump', 'linux-mini.dmp');
    const form = new Response(dumpForm(gzipped));
    const body = new Uint8Array(await form.arrayBuffer());
    const gz = await post(url, { body: gzipSync(body), headers: { 'content-type': form.headers.get('content-type')!, 'content-encoding': 'gzip' } });
    assert.equal(gz.status, 200, JSON.stringify(gz.body));
    assert.equal((await finished(url, gz.body['id'] as string))['status'], 'completed');

    // A dump sent with its .sym: the worker has no symbols of its own, yet the frames are named.
    const linux = corpusPath('breakpad', 'linux_null_read_av.dmp');
    const sym = corpusPath('breakpad', 'symbols', 'null_read_av', '7B7D1968FF0D47AE4366E9C3A7E1B6750', 'null_read_av.sym');
    const withSymbols = await post(url, dumpForm(linux, { symbols: { name: 'null_read_av.sym', bytes: readFileSync(sym) } }));
    assert.equal(withSymbols.status, 200, JSON.stringify(withSymbols.body));
    const symbolised = await finished(url, withSymbols.body['id'] as string);
    assert.equal(symbolised['status'], 'completed');
    assert.equal(symbolised['signature'], 'null_read_av!crash', 'named from the uploaded .sym');

    // Refusals: nothing of these reaches the queue.
    const refusals: [string, FormData | { body: Uint8Array; headers: Record<string, string> }, number, RegExp][] = [
      ['not a dump', dumpForm(fileURLToPath(import.meta.url)), 415, /not a minidump/],
      ['no dump field', (() => { const f = new FormData(); f.append('prod', 'x'); return f; })(), 400, /no "upload_file_minidump"/],
      ['an unexpected file field', (() => { const f = dumpForm(minidump2); f.append('attachment', new Blob(['x']), 'a.txt'); return f; })(), 400, /unexpected file field "attachment"/],
      ['over the size limit', (() => { const f = new FormData(); const big = new Uint8Array(5 << 20); big.set([0x4d, 0x44, 0x4d, 0x50]); f.append('upload_file_minidump', new Blob([big]), 'big.dmp'); return f; })(), 413, /over|bytes/],
      ['a malformed body', { body: new TextEncoder().encode('--xx\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="a"\r\n\r\nMDMP'), headers: { 'content-type': 'multipart/form-data; boundary=xx' } }, 400, /malformed multipart/],
      ['not multipart', { body: readFileSync(minidump2), headers: { 'content-type': 'application/octet-stream' } }, 415, /multipart\/form-data/],
      ['a symbol file that is not a .sym', dumpForm(corpusPath('breakpad', 'null_read_av.dmp'), { symbols: { name: 'x.sym', bytes: new TextEncoder().encode('hello') } }), 415, /not a Breakpad \.sym/],
    ];
    for (const [what, request, status, message] of refusals) {
      const r = await post(url, request);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body['error']), message, what);
    }
    assert.equal((await fetch(`${url}/requests/${'0'.repeat(64)}`)).status, 404);
    assert.equal((await fetch(`${url}/requests/not-an-id`)).status, 404);
    assert.equal((await fetch(`${url}/minidump`)).status, 405);
    assert.equal((await fetch(`${url}/nothing-here`)).status, 404);
    assert.equal(await (await fetch(`${url}/healthcheck`)).text(), 'ok\n');

    // Three distinct dumps completed, each once; the metrics say the same.
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    assert.deepEqual(lines.map((l) => l.id).sort(), [id, gz.body['id'], withSymbols.body['id']].sort());
    const metrics = await eventually('metrics to count three completions', async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return /^stackhog_jobs_processed_total 3$/m.test(text) ? text : undefined;
    });
    assert.match(metrics, /^stackhog_jobs\{state="completed"\} 3$/m);
    assert.match(metrics, /^stackhog_jobs\{state="waiting"\} 0$/m);
    assert.match(metrics, /^stackhog_jobs_failed_total 0$/m);
    assert.match(metrics, /^stackhog_uploads_total\{outcome="accepted"\} 3$/m);
    assert.match(metrics, /^stackhog_uploads_total\{outcome="duplicate"\} 1$/m);
    assert.match(metrics, /^stackhog_uploads_total\{outcome="415"\} 3$/m);
    assert.match(metrics, /^stackhog_job_analyse_seconds_count 3$/m);
    await Promise.all([worker.stop(), api.stop()]);
  });

  test('two workers share one queue: every job done once, by one or the other; enqueue and results --wait', async () => {
    flush();
    const dumps = corpusDumps().slice(0, 40);
    const outs = [join(scratch, 'a.jsonl'), join(scratch, 'b.jsonl')];
    const workers = await Promise.all(outs.map((o) => start(['worker', '--redis', redis.url, '--concurrency', '1', '-o', o])));
    const enqueued = cli('enqueue', '--redis', redis.url, ...dumps);
    assert.equal(enqueued.status, 0, enqueued.stderr);
    const ids = enqueued.stdout.trim().split('\n').map((l) => l.split(' ')[0]!);
    assert.equal(ids.length, dumps.length);
    const listed = cli('results', '--redis', redis.url, '--wait');
    assert.ok(listed.status === 0 || listed.status === 2, listed.stderr);
    const results = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; path: string; status: string });
    assert.deepEqual(results.map((r) => r.id).sort(), [...ids].sort(), 'results lists every job once');
    await Promise.all(workers.map((w) => w.stop()));
    const byWorker = outs.map((o) => readFileSync(o, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { id: string }).id));
    const completed = results.filter((r) => r.status !== 'ERROR').map((r) => r.id).sort();
    assert.deepEqual([...byWorker[0]!, ...byWorker[1]!].sort(), completed, 'each completed job written once, by one worker');
    assert.ok(byWorker[0]!.length > 0 && byWorker[1]!.length > 0, `both workers took jobs (${byWorker[0]!.length} and ${byWorker[1]!.length})`);
    // The corpus's deliberately broken dumps fail at once, with the reader's reason.
    for (const r of results.filter((x) => x.status === 'ERROR')) {
      const job = await jobRecord(redis.url, r.id);
      assert.equal(job.state, 'failed');
      assert.equal(job.attemptsMade, 1, `${r.path}: a dump that cannot be read is not retried`);
    }
  });

  test('a worker killed with SIGKILL mid-job: its job is completed by the other worker', async () => {
    flush();
    // The first worker asks a symbol server that never answers, so it is mid-job when it is killed.
    await withTarpit(async (tarpitUrl, asked) => {
      const doomed = await start(['worker', '--redis', redis.url, '--concurrency', '1', '--stall-seconds', '2', '--symbol-server', tarpitUrl, '--symbol-timeout', '600', '--symbol-cache-dir', join(scratch, 'symcache')]);
      const dump = corpusPath('breakpad', 'minidump2.dmp');
      const enqueued = cli('enqueue', '--redis', redis.url, dump);
      const id = enqueued.stdout.split(' ')[0]!;
      await eventually('the first worker to ask the symbol server', async () => (asked() > 0 ? true : undefined));
      assert.equal((await jobRecord(redis.url, id)).state, 'active');
      await doomed.stop('SIGKILL');
      const out = join(scratch, 'survivor.jsonl');
      await start(['worker', '--redis', redis.url, '--concurrency', '1', '--stall-seconds', '2', '-o', out]);
      const job = await eventually('the job to be completed by the second worker', async () => {
        const j = await jobRecord(redis.url, id);
        return j.state === 'completed' ? j : undefined;
      });
      assert.notEqual(job.processedBy?.split(':')[1], String(doomed.child.pid), 'not by the killed worker');
      assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1);
    });
  });

  test('SIGTERM mid-job: the worker takes no new job, finishes the running one, and exits 0', async () => {
    flush();
    // The symbol server never answers, so the job is running when the signal comes; it ends when the
    // request gives up (--symbol-timeout 2), and the worker with it.
    await withTarpit(async (tarpitUrl, asked) => {
      const out = join(scratch, 'sigterm.jsonl');
      const worker = await start(['worker', '--redis', redis.url, '--concurrency', '1', '--symbol-server', tarpitUrl, '--symbol-timeout', '2', '--symbol-cache-dir', join(scratch, 'symcache-term'), '-o', out]);
      const enqueued = cli('enqueue', '--redis', redis.url, corpusPath('breakpad', 'minidump2.dmp'), corpusPath('breakpad', 'null_read_av.dmp'));
      const [first, second] = enqueued.stdout.trim().split('\n').map((l) => l.split(' ')[0]!);
      await eventually('the worker to be mid-job', async () => (asked() > 0 ? true : undefined));
      const ended = await worker.stop('SIGTERM');
      assert.equal(ended.code, 0, worker.stderr());
      assert.match(worker.stderr(), /stopping after the running jobs/);
      assert.equal((await jobRecord(redis.url, first!)).state, 'completed', 'the running job finished');
      assert.equal((await jobRecord(redis.url, second!)).state, 'waiting', 'no new job was taken');
      assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1);
    });
  });

  test('a hostile dump (a stack of fake frames) ends in the failed set after its retries; an unreadable one fails at once; a damaged one is analysed', async () => {
    flush();
    const hostile = join(scratch, 'fake-frames.dmp');
    writeFileSync(hostile, fakeFramesDump());
    // Cut inside its header: nothing to analyse. Cut after it: what could be read is the result.
    const truncated = join(scratch, 'truncated.dmp');
    writeFileSync(truncated, readFileSync(corpusPath('breakpad', 'minidump2.dmp')).subarray(0, 20));
    const damaged = join(scratch, 'damaged.dmp');
    writeFileSync(damaged, readFileSync(corpusPath('breakpad', 'minidump2.dmp')).subarray(0, 200));
    await start(['worker', '--redis', redis.url, '--concurrency', '1', '--thread-memory', '24']);
    const enqueued = cli('enqueue', '--redis', redis.url, hostile, truncated, damaged);
    assert.equal(enqueued.status, 0, enqueued.stderr);
    const [hostileId, truncatedId, damagedId] = enqueued.stdout.trim().split('\n').map((l) => l.split(' ')[0]!);
    // Three attempts, each thread collecting garbage until it gives up: on a loaded machine that
    // takes a while, so the hang guard here is four minutes.
    const failed = await eventually(
      'the hostile dump to fail for good',
      async () => {
        const j = await jobRecord(redis.url, hostileId!);
        return j.state === 'failed' ? j : undefined;
      },
      4800,
    );
    assert.equal(failed.attemptsMade, 3, 'retried, then failed');
    assert.match(failed.failedReason ?? '', /out of memory.*--thread-memory/);
    const broken = await jobRecord(redis.url, truncatedId!);
    assert.equal(broken.state, 'failed');
    assert.equal(broken.attemptsMade, 1);
    assert.match(broken.failedReason ?? '', /MINIDUMP_HEADER at offset 0x0: needs 32 bytes but the file ends at 0x14/);
    const partial = await jobRecord(redis.url, damagedId!);
    assert.equal(partial.state, 'completed');
    assert.equal((partial.returnvalue as { exit: number }).exit, 2, 'analysed with warnings');
    const listed = cli('results', '--redis', redis.url);
    assert.equal(listed.status, 2, 'results exits 2 when a job failed');
    assert.equal(listed.stdout.trim().split('\n').length, 3);
  });

  test('Redis restarted mid-run (append-only persistence): no completed result is lost, every job completes', async () => {
    flush();
    const dumps = corpusDumps().slice(0, 30);
    const out = join(scratch, 'restart.jsonl');
    await start(['worker', '--redis', redis.url, '--concurrency', '1', '-o', out]);
    const enqueued = cli('enqueue', '--redis', redis.url, ...dumps);
    const ids = enqueued.stdout.trim().split('\n').map((l) => l.split(' ')[0]!);
    const doneBefore = await eventually('ten jobs to complete', async () => {
      const text = readFileSync(out, 'utf8');
      const lines = text.split('\n').filter((l) => l !== '');
      return lines.length >= 10 ? lines.map((l) => (JSON.parse(l) as { id: string }).id) : undefined;
    });
    const before = new Map<string, unknown>();
    for (const id of doneBefore) before.set(id, (await jobRecord(redis.url, id)).returnvalue);
    await redis.restart();
    const listed = cli('results', '--redis', redis.url, '--wait');
    const results = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    assert.deepEqual(results.map((r) => r.id).sort(), [...ids].sort(), 'every job finished, none lost');
    for (const [id, value] of before) assert.deepEqual((await jobRecord(redis.url, id)).returnvalue, value, `${id}: its result survived the restart`);
  });
});
