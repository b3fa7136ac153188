/**
 * What the processing service's parts (api, worker, enqueue, results) agree on: the queue, a job's
 * data and result, how a dump is named (by the SHA-256 of its bytes, so the same dump submitted twice
 * is one job) and the retry policy. The queue is BullMQ's on Redis; a job carries where the dump is
 * (a path on a volume every worker mounts, or an http(s) URL), never its bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JobsOptions, Queue } from 'bullmq';

export const DEFAULT_QUEUE = 'stackhog';
/** The BullMQ job name every dump job has. */
export const JOB_NAME = 'dump';

export interface DumpJobData {
  /** An absolute path on a volume the workers mount, or an http(s) URL. */
  readonly dump: string;
  /** A folder of symbol files sent with this dump (Breakpad store layout), searched first. */
  readonly symbols?: string;
  /** The name the upload had, for people reading the results. */
  readonly filename?: string;
  /** The upload's other form fields (Crashpad annotations: prod, ver, guid...). */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface DumpJobResult {
  readonly signature: string | null;
  /** 0 analysed, 2 analysed with warnings, 4 a limit was hit: the CLI's exit codes. */
  readonly exit: 0 | 2 | 4;
  /** The worker that did it (host:pid). */
  readonly worker: string;
  readonly timings: {
    /** Submission to the start of the attempt that succeeded. */
    readonly queued_ms: number;
    /** Fetching a URL dump (0 for a path). */
    readonly fetch_ms: number;
    /** The analysis on the worker's thread. */
    readonly analyse_ms: number;
  };
  /**
   * The result as `stackhog batch` writes it: the `--format json` document with `path` first, as JSON
   * text (kept as text so it is serialised once, by the worker thread, and never parsed by the queue).
   */
  readonly line: string;
}

/**
 * Retries and retention for every dump job. Three attempts, a second apart and then two, cover a
 * worker that died or timed out; a dump that cannot be read fails at once (it would fail again).
 * Results stay a week, failures a month; a job id that is still kept is never processed twice.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/** ioredis settings from a redis:// or rediss:// URL; BullMQ's workers need maxRetriesPerRequest null. */
export function redisConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis ${url}: not a URL (redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`--redis ${url}: not a redis:// or rediss:// URL`);
  if (parsed.hostname === '') throw new Error(`--redis ${url}: no host (redis://host:port)`);
  return { url, maxRetriesPerRequest: null };
}

/** The error when Redis does not answer in time: the commands say so instead of waiting forever. */
export class RedisUnreachableError extends Error {}

/** How long the service's commands wait for Redis at start. */
export const REDIS_WAIT_MS = 15_000;

/** Waits for a BullMQ queue, worker or event reader to be connected, at most `ms`. */
export async function untilReady(part: { waitUntilReady(): Promise<unknown> }, url: string, ms = REDIS_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      part.waitUntilReady(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnreachableError(`cannot reach Redis at ${url} (waited ${ms / 1000} s)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reports a BullMQ part's connection errors on `log`, each distinct message once in a row (ioredis
 * retries every few hundred milliseconds while Redis is away); without a listener BullMQ would
 * print every one with its stack.
 */
export function reportErrors(part: { on(event: 'error', listener: (e: Error) => void): unknown }, label: string, log: NodeJS.WritableStream): void {
  let last = '';
  part.on('error', (e: Error) => {
    if (e.message !== last) log.write(`${label}: ${e.message}\n`);
    last = e.message;
  });
}

export function isUrl(dump: string): boolean {
  return /^https?:\/\//i.test(dump);
}

/** A job id: the SHA-256 of the dump's bytes, in hex. */
export function isJobId(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The job for a path or URL: a file by the hash of its content, a URL (its bytes are not at hand)
 * by the hash of the URL itself.
 */
export async function jobFor(dump: string): Promise<{ id: string; data: DumpJobData }> {
  if (isUrl(dump)) return { id: createHash('sha256').update(`url:${dump}`).digest('hex'), data: { dump } };
  const path = resolve(dump);
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${dump}: not a regular file`);
  return { id: await sha256File(path), data: { dump: path } };
}

/** Adds a dump job (a no-op when a job with that id is still kept: the dump was submitted before). */
export async function addDumpJob(queue: Queue, id: string, data: DumpJobData): Promise<void> {
  await queue.add(JOB_NAME, data, { ...JOB_OPTIONS, jobId: id });
}

/** The results line for a finished job, as `stackhog batch` writes one, with the job id. */
export function resultLine(id: string, data: DumpJobData, outcome: { result?: DumpJobResult; failedReason?: string }): string {
  if (outcome.result) return `{"id":${JSON.stringify(id)},${outcome.result.line.slice(1)}`;
  return JSON.stringify({ id, path: data.dump, status: 'ERROR', error: outcome.failedReason ?? 'failed' });
}
