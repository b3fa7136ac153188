/**
 * `stackhog worker`: takes dump jobs from the BullMQ queue and analyses them on a pool of threads
 * (the `stackhog batch` worker, whose threads keep parsed symbol files across dumps). One BullMQ
 * worker per process, with as many jobs at once as there are threads.
 *
 * What can go wrong, and what becomes of the job:
 * - the dump cannot be read (not a dump, truncated past repair): failed at once, with the reason
 *   (retrying would fail the same way);
 * - the thread ran past --job-timeout or out of --thread-memory, or the URL could not be fetched:
 *   the attempt fails and BullMQ retries it (JOB_OPTIONS.attempts), then moves it to the failed set;
 * - the process died (SIGKILL, a machine lost): the job's lock runs out and BullMQ's stalled-job check
 *   hands it to another worker, at most maxStalledCount times;
 * - SIGTERM or SIGINT: no new job is taken, running ones finish, then the process exits; a second
 *   signal exits at once and leaves the running jobs to the stalled-job check.
 */
import { open, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { SessionSettings } from '../node/dump-session.js';
import type { BatchResult, BatchTask, BatchWorkerData } from '../cli/batch-worker.js';
import { workerFile } from '../cli/batch.js';
import { DEFAULT_QUEUE, type DumpJobData, type DumpJobResult, isUrl, JOB_NAME, redisConnection, reportErrors, resultLine, untilReady } from './jobs.js';

export interface WorkerOptions {
  readonly redis: string;
  readonly queue?: string;
  /** Jobs at once, each on its own thread. */
  readonly concurrency: number;
  readonly settings: SessionSettings;
  /** Each completed job's line is appended here too. */
  readonly out?: string;
  /** A job's attempt is abandoned (its thread stopped) after this long. */
  readonly jobTimeoutSeconds: number;
  /** Old-generation heap of each thread; a dump that needs more fails its attempt. */
  readonly threadMemoryMb: number;
  /** A URL dump larger than this is refused. */
  readonly maxDownloadBytes: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is handed on after about this long. */
  readonly stallSeconds: number;
  readonly log: NodeJS.WritableStream;
  /** Resolves when the worker should stop taking jobs (the CLI wires SIGTERM and SIGINT to it). */
  readonly stop: Promise<'graceful' | 'now'>;
}

/** A failed attempt that says why in words. */
class AttemptError extends Error {}
/** A URL dump over --max-download-mb: it would be as large next time. */
class TooLargeError extends AttemptError {}

export async function runWorker(options: WorkerOptions): Promise<{ completed: number; failed: number }> {
  const [{ Worker, UnrecoverableError }, { Piscina }] = await Promise.all([import('bullmq'), import('piscina')]);
  const connection = redisConnection(options.redis);
  const name = `${hostname()}:${process.pid}`;
  const workerData: BatchWorkerData = { settings: { ...options.settings, progress: undefined }, threads: 'all' };
  const pool = new Piscina<BatchTask, BatchResult>({
    filename: workerFile(),
    minThreads: options.concurrency,
    maxThreads: options.concurrency,
    workerData,
    resourceLimits: { maxOldGenerationSizeMb: options.threadMemoryMb },
  });
  const out = options.out !== undefined ? await open(options.out, 'a') : undefined;
  let writing = Promise.resolve();
  let completed = 0;
  let failed = 0;

  const processJob = async (job: Job<DumpJobData, DumpJobResult>): Promise<DumpJobResult> => {
    const started = Date.now();
    const data = job.data;
    let path = data.dump;
    let scratch: string | undefined;
    let fetchMs = 0;
    try {
      if (isUrl(data.dump)) {
        scratch = await mkdtemp(join(tmpdir(), 'stackhog-job-'));
        path = join(scratch, 'dump');
        const fetchStarted = Date.now();
        await download(data.dump, path, options.maxDownloadBytes, options.jobTimeoutSeconds).catch((e: unknown) => {
          throw e instanceof TooLargeError ? new UnrecoverableError(e.message) : e;
        });
        fetchMs = Date.now() - fetchStarted;
      }
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.jobTimeoutSeconds * 1000);
      let r: BatchResult;
      try {
        r = await pool.run({ path, ...(data.symbols !== undefined ? { symbols: data.symbols } : {}) }, { signal: controller.signal });
      } catch (e) {
        if (controller.signal.aborted) throw new AttemptError(`timed out: the analysis ran past ${options.jobTimeoutSeconds} s (--job-timeout); its thread was stopped`);
        if ((e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') throw new AttemptError(`out of memory: the analysis needed more than ${options.threadMemoryMb} MiB (--thread-memory); its thread was stopped`);
        throw new AttemptError(`the analysis thread died: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        clearTimeout(timer);
      }
      if (r.error !== undefined) throw new UnrecoverableError(r.error);
      const line = isUrl(data.dump) ? `{"path":${JSON.stringify(data.dump)},${r.line.slice(r.line.indexOf(',') + 1)}` : r.line;
      const result: DumpJobResult = {
        signature: r.signature ?? null,
        exit: r.exit,
        worker: name,
        timings: { queued_ms: Math.max(0, started - job.timestamp), fetch_ms: fetchMs, analyse_ms: Math.round(r.ms * 10) / 10 },
        line,
      };
      if (out) {
        writing = writing.then(() => out.write(`${resultLine(job.id ?? '', data, { result })}\n`).then(() => undefined));
        await writing;
      }
      return result;
    } finally {
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    }
  };

  const worker = new Worker<DumpJobData, DumpJobResult>(options.queue ?? DEFAULT_QUEUE, processJob, {
    connection,
    concurrency: options.concurrency,
    name,
    lockDuration: options.stallSeconds * 1000,
    stalledInterval: Math.max(500, (options.stallSeconds * 1000) / 2),
    maxStalledCount: 2,
  });
  worker.on('completed', () => completed++);
  worker.on('failed', (job, e) => {
    failed++;
    options.log.write(`stackhog worker: job ${job?.id ?? '?'} (${job?.data.dump ?? '?'}) failed: ${e.message}\n`);
  });
  // Redis going away is reported and waited out (ioredis reconnects); it never ends the process.
  reportErrors(worker, `stackhog worker: Redis at ${options.redis}`, options.log);
  try {
    await untilReady(worker, options.redis);
  } catch (e) {
    // Closing waits on a connection that never came: the caller ends the process instead.
    void worker.close(true).catch(() => undefined);
    await pool.destroy();
    throw e;
  }
  options.log.write(`stackhog worker ${name}: taking ${JOB_NAME} jobs from ${options.queue ?? DEFAULT_QUEUE} on ${options.redis}, ${options.concurrency} at once\n`);

  const how = await options.stop;
  options.log.write(how === 'graceful' ? `stackhog worker ${name}: stopping after the running jobs\n` : `stackhog worker ${name}: stopping now\n`);
  await worker.close(how === 'now');
  await writing;
  await out?.close();
  await pool.destroy();
  return { completed, failed };
}

/** Fetches a URL dump into `path`, refusing one over `maxBytes` and giving up after `timeoutSeconds`. */
async function download(url: string, path: string, maxBytes: number, timeoutSeconds: number): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  try {
    const response = await fetch(url, { signal: controller.signal, redirect: 'follow' }).catch((e: unknown) => {
      throw new AttemptError(`cannot fetch ${url}: ${controller.signal.aborted ? `no answer within ${timeoutSeconds} s` : failureText(e)}`);
    });
    if (!response.ok || !response.body) throw new AttemptError(`cannot fetch ${url}: HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length'));
    if (declared > maxBytes) throw new TooLargeError(`cannot fetch ${url}: ${declared} bytes is over --max-download-bytes ${maxBytes}`);
    const file = await open(path, 'w');
    let received = 0;
    try {
      for await (const chunk of response.body) {
        received += chunk.length;
        if (received > maxBytes) throw new TooLargeError(`cannot fetch ${url}: more than --max-download-bytes ${maxBytes}`);
        await file.write(chunk);
      }
    } catch (e) {
      if (e instanceof AttemptError) throw e;
      throw new AttemptError(`cannot fetch ${url}: ${controller.signal.aborted ? `not complete within ${timeoutSeconds} s` : failureText(e)}`);
    } finally {
      await file.close();
    }
  } finally {
    clearTimeout(timer);
  }
}

function failureText(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}
