#!/usr/bin/env node
// The processing service under load, on loopback, bounded: a fixed count of submissions, and it
// stops by itself. Starts Debian's redis-server (a free port, a folder of its own), one
// `stackhog api` and --workers `stackhog worker` processes; POSTs --count distinct dumps to
// /minidump, --in-flight at a time (each a corpus dump whose header TimeDateStamp is rewritten, so
// every submission is its own dump, as the same crash from different machines is); SIGKILLs a
// worker chosen at random --kills times at random points of the run and starts a new one in its
// place; waits until every submission is completed or failed; then checks that each is accounted
// for exactly once, and that GET /metrics reports the counts seen. Last, `stackhog batch --jobs
// <workers>` on the same dumps, for the per-dump cost without the service.
//   npm run build && node scripts/bench/service-load.mjs [--count 1000] [--workers 2] [--kills 3]
//     [--in-flight 16] [--stall-seconds 5] [--seed 1] [--json FILE]
// Needs redis-server (apt-get install -y redis-server) and ../shared/corpus.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = join(repo, '..', 'shared', 'corpus');
const cli = join(repo, 'dist', 'cli', 'stackhog.cjs');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const count = Number(opt('count', 1000));
const workerCount = Number(opt('workers', 2));
const kills = Number(opt('kills', 3));
const inFlight = Number(opt('in-flight', 16));
const stallSeconds = Number(opt('stall-seconds', 5));
let seed = Number(opt('seed', 1));
const jsonOut = opt('json');
const log = (text) => process.stderr.write(`${text}\n`);
const random = () => {
  // xorshift32: the same --seed kills at the same points.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

if (!existsSync('/usr/bin/redis-server')) throw new Error('service-load: /usr/bin/redis-server is missing (apt-get install -y redis-server)');
if (!existsSync(cli)) throw new Error('service-load: build first (npm run build)');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The corpus's user-mode minidumps (MDMP), distinct by content. */
function corpusDumps() {
  const seen = new Set();
  const out = [];
  for (const folder of ['breakpad', 'rust-minidump', join('external', 'user')]) {
    const walk = (dir) => {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, name.name);
        if (name.isDirectory()) walk(path);
        else if (name.name.endsWith('.dmp')) {
          const bytes = readFileSync(path);
          const hash = createHash('sha256').update(bytes).digest('hex');
          if (bytes.subarray(0, 4).toString('latin1') === 'MDMP' && !seen.has(hash)) {
            seen.add(hash);
            out.push({ path, bytes });
          }
        }
      }
    };
    if (existsSync(join(corpus, folder))) walk(join(corpus, folder));
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** CPU seconds (user + system) a live process has used, from /proc/<pid>/stat; a dead one's were read at its exit. */
const TICKS = 100;
function cpuSeconds(pid, atExit) {
  if (atExit !== undefined) return atExit;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}
const cpu = { api: 0, worker: 0, redis: 0, load: 0 };

function start(commandArgs, name) {
  const child = spawn(process.execPath, [cli, ...commandArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('\n')) resolve(stderr.slice(0, stderr.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'stackhog-service-load-'));
const processes = [];
let redis;
try {
  // ---- the service ----
  const port = await freePort();
  const redisDir = join(scratch, 'redis');
  mkdirSync(redisDir);
  redis = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'], { stdio: 'ignore' });
  for (let i = 0; spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) {
    if (i > 200) throw new Error('redis-server does not answer');
    await sleep(50);
  }
  const redisUrl = `redis://127.0.0.1:${port}`;
  const store = join(scratch, 'store');
  const api = start(['api', '--redis', redisUrl, '--port', '0', '--store', store], 'api');
  processes.push(api);
  const apiUrl = /listening on (http:\/\/\S+)/.exec(await api.ready)[1];
  const outs = [];
  const workers = [];
  const startWorker = async (slot) => {
    const out = join(scratch, `worker-${slot}-${outs.length}.jsonl`);
    outs.push(out);
    const w = start(['worker', '--redis', redisUrl, '--concurrency', '1', '--stall-seconds', String(stallSeconds), '-o', out], `worker ${slot}`);
    processes.push(w);
    workers[slot] = w;
    await w.ready;
  };
  for (let slot = 0; slot < workerCount; slot++) await startWorker(slot);
  log(`service-load: redis ${redisUrl}, api ${apiUrl}, ${workerCount} workers (1 thread each, --stall-seconds ${stallSeconds})`);

  // ---- the submissions ----
  const sources = corpusDumps();
  const submissions = [];
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length];
    const bytes = Buffer.from(source.bytes);
    bytes.writeUInt32LE((0x60000000 + i) >>> 0, 20); // MINIDUMP_HEADER.TimeDateStamp (after Signature, Version, NumberOfStreams, StreamDirectoryRva, CheckSum)
    submissions.push({ i, source: source.path, bytes, id: createHash('sha256').update(bytes).digest('hex') });
  }
  log(`service-load: ${count} submissions from ${sources.length} corpus dumps`);
  const queue = new Queue('stackhog', { connection: { url: redisUrl, maxRetriesPerRequest: null } });
  const killAt = Array.from({ length: kills }, () => Math.floor(count * (0.1 + 0.7 * random()))).sort((a, b) => a - b);
  const killed = [];
  const started = Date.now();
  let next = 0;
  let answered = 0;
  const refused = [];
  const submit = async () => {
    while (next < submissions.length) {
      const s = submissions[next++];
      const form = new FormData();
      form.append('upload_file_minidump', new Blob([s.bytes]), `load-${s.i}.dmp`);
      s.submittedAt = Date.now();
      const res = await fetch(`${apiUrl}/minidump`, { method: 'POST', body: form });
      const body = await res.json();
      s.answeredAt = Date.now();
      if (res.status !== 200) refused.push({ i: s.i, status: res.status, body });
      else if (body.id !== s.id) throw new Error(`submission ${s.i}: id ${body.id}, expected ${s.id}`);
      answered++;
    }
  };
  const submitting = Promise.all(Array.from({ length: inFlight }, submit));

  // ---- kills, while waiting for every job to finish (bounded) ----
  const deadline = Date.now() + 15 * 60 * 1000;
  let finished = 0;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    finished = counts.completed + counts.failed;
    if (killAt.length > 0 && finished >= killAt[0]) {
      // One kill per poll, so two kill points that fall close together still hit two workers' lives.
      killAt.shift();
      const slot = Math.floor(random() * workerCount);
      const victim = workers[slot];
      victim.cpuAtExit = cpuSeconds(victim.child.pid);
      victim.child.kill('SIGKILL');
      await new Promise((done) => (victim.child.exitCode !== null || victim.child.signalCode !== null ? done() : victim.child.once('exit', done)));
      killed.push({ afterFinished: finished, slot, pid: victim.child.pid });
      log(`service-load: killed worker ${slot} (pid ${victim.child.pid}) with SIGKILL after ${finished} finished; starting another`);
      cpu.worker += cpuSeconds(victim.child.pid, victim.cpuAtExit);
      await startWorker(slot);
      continue;
    }
    if (answered === count && finished >= count - refused.length) break;
    if (Date.now() > deadline) throw new Error(`service-load: not finished after 15 minutes (${finished} of ${count})`);
    await sleep(100);
  }
  await submitting;
  const wall = (Date.now() - started) / 1000;
  cpu.api = cpuSeconds(api.child.pid);
  for (const w of workers) cpu.worker += cpuSeconds(w.child.pid);
  cpu.redis = cpuSeconds(redis.pid);
  cpu.load = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;

  // ---- accounting ----
  const outcome = new Map();
  let firstSubmit = Infinity;
  let lastFinish = 0;
  const latencies = [];
  const uploadMs = [];
  const waitMs = [];
  const runMs = [];
  for (const s of submissions) {
    const job = await queue.getJob(s.id);
    const state = job ? await job.getState() : 'missing';
    outcome.set(s.id, state);
    if (job?.finishedOn) {
      firstSubmit = Math.min(firstSubmit, s.submittedAt);
      lastFinish = Math.max(lastFinish, job.finishedOn);
      if (state === 'completed') {
        latencies.push(job.finishedOn - s.submittedAt);
        uploadMs.push(s.answeredAt - s.submittedAt);
        waitMs.push(job.processedOn - job.timestamp);
        runMs.push(job.finishedOn - job.processedOn);
      }
    }
  }
  const states = {};
  for (const state of outcome.values()) states[state] = (states[state] ?? 0) + 1;
  const failedReasons = {};
  for (const job of await queue.getJobs(['failed'], 0, -1)) {
    const reason = (job.failedReason ?? '').replace(/^.*?: /, '').slice(0, 90);
    failedReasons[reason] = (failedReasons[reason] ?? 0) + 1;
  }
  const lines = new Map();
  for (const out of outs) {
    if (!existsSync(out)) continue;
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      if (line === '') continue;
      const { id } = JSON.parse(line);
      lines.set(id, (lines.get(id) ?? 0) + 1);
    }
  }
  const distinct = new Set(submissions.map((s) => s.id)).size;
  const unaccounted = [...outcome].filter(([, state]) => state !== 'completed' && state !== 'failed');
  const completedWithoutLine = [...outcome].filter(([id, state]) => state === 'completed' && !lines.has(id)).length;
  const writtenTwice = [...lines.values()].filter((n) => n > 1).length;
  const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
  const metric = (pattern) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  const metricCounts = {
    completed: metric('stackhog_jobs\\{state="completed"\\}'),
    failed: metric('stackhog_jobs\\{state="failed"\\}'),
    processed_total: metric('stackhog_jobs_processed_total'),
    failed_total: metric('stackhog_jobs_failed_total'),
    accepted_uploads: metric('stackhog_uploads_total\\{outcome="accepted"\\}'),
  };
  await queue.close();
  for (const list of [latencies, uploadMs, waitMs, runMs]) list.sort((a, b) => a - b);
  const throughput = (states.completed + (states.failed ?? 0)) / ((lastFinish - firstSubmit) / 1000);

  // ---- the same dumps through stackhog batch ----
  const batchDir = join(scratch, 'batch');
  mkdirSync(batchDir);
  for (const s of submissions) writeFileSync(join(batchDir, `load-${String(s.i).padStart(5, '0')}.dmp`), s.bytes);
  const batchStarted = process.hrtime.bigint();
  const batch = spawnSync(process.execPath, [cli, 'batch', batchDir, '--out', join(scratch, 'batch.jsonl'), '--jobs', String(workerCount)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const batchSeconds = Number(process.hrtime.bigint() - batchStarted) / 1e9;
  if (batch.status !== 0 && batch.status !== 2) throw new Error(`batch exited ${batch.status}: ${batch.stderr}`);

  const report = {
    cpu_seconds: cpu,
    submissions: count,
    distinct_dumps: distinct,
    refused_uploads: refused.length,
    states,
    unaccounted: unaccounted.length,
    completed_without_a_result_line: completedWithoutLine,
    result_lines_written_twice: writtenTwice,
    failed_reasons: failedReasons,
    kills: killed,
    wall_seconds: wall,
    throughput_per_second: throughput,
    latency_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies[latencies.length - 1] },
    upload_ms: { p50: percentile(uploadMs, 50), p95: percentile(uploadMs, 95) },
    queued_ms: { p50: percentile(waitMs, 50), p95: percentile(waitMs, 95) },
    processing_ms: { p50: percentile(runMs, 50), p95: percentile(runMs, 95) },
    per_dump_ms_service: (1000 * (lastFinish - firstSubmit)) / 1000 / count,
    per_dump_ms_batch: (1000 * batchSeconds) / count,
    metrics: metricCounts,
    metrics_agree: metricCounts.completed === states.completed && metricCounts.failed === (states.failed ?? 0) && metricCounts.processed_total === states.completed && metricCounts.failed_total === (states.failed ?? 0),
  };
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
  const ok = report.unaccounted === 0 && report.refused_uploads === 0 && distinct === count && report.metrics_agree && completedWithoutLine === 0;
  console.log(`| figure | value |
|---|---|
| submissions (distinct dumps) | ${count} (${distinct}) through POST /minidump, ${inFlight} in flight |
| completed / failed / unaccounted | ${states.completed ?? 0} / ${states.failed ?? 0} / ${report.unaccounted} |
| failed, by reason | ${Object.entries(failedReasons).map(([r, n]) => `${n}× ${r}`).join('; ') || 'none'} |
| workers killed (SIGKILL) | ${killed.length}, after ${killed.map((k) => k.afterFinished).join(', ')} finished |
| result lines written twice (killed between writing and acknowledging) | ${writtenTwice} |
| throughput | ${throughput.toFixed(1)} dumps/s (first submission to last result) |
| latency, submission to result | p50 ${report.latency_ms.p50} ms, p95 ${report.latency_ms.p95} ms, max ${report.latency_ms.max} ms |
| of which: POST answered / waiting in the queue / on a worker (p50, p95) | ${report.upload_ms.p50}, ${report.upload_ms.p95} / ${report.queued_ms.p50}, ${report.queued_ms.p95} / ${report.processing_ms.p50}, ${report.processing_ms.p95} ms |
| per dump: service (${workerCount} workers) | ${report.per_dump_ms_service.toFixed(1)} ms |
| per dump: \`stackhog batch --jobs ${workerCount}\` on the same dumps | ${report.per_dump_ms_batch.toFixed(1)} ms |
| CPU seconds | api ${cpu.api.toFixed(1)}, workers ${cpu.worker.toFixed(1)}, redis ${cpu.redis.toFixed(1)}, load generator ${cpu.load.toFixed(1)} (2 cores: ${(2 * ((lastFinish - firstSubmit) / 1000)).toFixed(1)} available) |
| GET /metrics | completed ${metricCounts.completed}, failed ${metricCounts.failed}, processed_total ${metricCounts.processed_total}, failed_total ${metricCounts.failed_total}: ${report.metrics_agree ? 'as observed' : 'DIFFERENT from what was observed'} |`);
  if (!ok) {
    log(`service-load: FAILED: ${JSON.stringify({ unaccounted: unaccounted.slice(0, 5), refused: refused.slice(0, 5) })}`);
    process.exitCode = 1;
  }
} finally {
  for (const p of processes) p.child.kill('SIGKILL');
  redis?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
}
