/**
 * `stackhog api`: the HTTP front of the processing service. It stores uploads and queues them; it
 * never parses a dump (workers do), so it stays small and any number of instances can run behind a
 * load balancer, sharing only Redis and the store directory.
 *
 *   POST /minidump        multipart/form-data (gzip-encoded bodies too, as Crashpad sends them):
 *                         the dump in `upload_file_minidump`, optional Breakpad .sym files in
 *                         `symbols`, other fields kept as annotations  -> { "id": "<sha256>" }
 *   GET  /requests/:id    { status: "pending", retry_after } | { status: "completed", ..., result }
 *                         | { status: "failed", error }; 404 for an id it does not know
 *   GET  /healthcheck     200 "ok" when Redis answers, else 503
 *   GET  /metrics         Prometheus text format (metrics.ts)
 *
 * An upload over --max-upload-mb, content that does not start like a dump, a malformed body or a
 * missing file field get a 4xx with a message, and nothing is queued.
 */
import busboy from 'busboy';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { symbolFilePath } from '../symbolize/symbol-store.js';
import { addDumpJob, DEFAULT_QUEUE, type DumpJobData, type DumpJobResult, isJobId, redisConnection, reportErrors, untilReady } from './jobs.js';
import { serviceMetrics } from './metrics.js';

export interface ApiOptions {
  readonly redis: string;
  readonly queue?: string;
  readonly host: string;
  readonly port: number;
  readonly maxUploadBytes: number;
  /** Where uploads go: <store>/<id>.dmp, and <store>/<id>.symbols/ for symbols sent with one. */
  readonly store: string;
}

export interface RunningApi {
  readonly url: string;
  close(): Promise<void>;
}

/** The first bytes of the dumps stackhog reads: minidumps, kernel dumps, legacy full user dumps. */
const DUMP_MAGICS = ['MDMP', 'PAGE', 'USERDU'];
const DUMP_FIELD = 'upload_file_minidump';
const SYMBOLS_FIELD = 'symbols';
const MAX_SYMBOL_FILES = 64;
const MAX_FIELDS = 64;
const MAX_FIELD_BYTES = 16 * 1024;
/** How much of a refused upload is read (and dropped) so the client sees the answer. */
const DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 10_000;
/** A pending request is asked again after this many seconds. */
const RETRY_AFTER_SECONDS = 1;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { Queue, QueueEvents } = await import('bullmq');
  const connection = redisConnection(options.redis);
  const queueName = options.queue ?? DEFAULT_QUEUE;
  const queue = new Queue<DumpJobData, DumpJobResult>(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  reportErrors(queue, `stackhog api: Redis at ${options.redis}`, process.stderr);
  reportErrors(events, `stackhog api: Redis at ${options.redis} (events)`, process.stderr);
  const metrics = serviceMetrics(queue as never, events);
  const store = resolve(options.store);
  await mkdir(store, { recursive: true });

  const upload = async (req: IncomingMessage): Promise<{ id: string; duplicate: boolean }> => {
    const declared = Number(req.headers['content-length']);
    // The form around the file adds a little: allow a MiB of it.
    const maxBody = options.maxUploadBytes + (1 << 20);
    if (declared > maxBody) throw new HttpError(413, `the upload is ${declared} bytes; this server takes dumps up to ${options.maxUploadBytes} bytes (--max-upload-mb)`);
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(type)) throw new HttpError(415, `expected multipart/form-data with the dump in "${DUMP_FIELD}", got ${type === '' ? 'no Content-Type' : type}`);
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') throw new HttpError(415, `Content-Encoding ${encoding} is not supported (gzip is)`);
    return receiveForm(req, encoding === 'gzip', maxBody);
  };

  const receiveForm = async (req: IncomingMessage, gzipped: boolean, maxBody: number): Promise<{ id: string; duplicate: boolean }> => {
    const scratch = join(store, `.upload-${randomBytes(8).toString('hex')}`);
    await mkdir(scratch, { recursive: true });
    return new Promise((resolvePromise, reject) => {
      const form = busboy({
        headers: req.headers,
        limits: { fileSize: options.maxUploadBytes, files: 1 + MAX_SYMBOL_FILES, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: 1 + MAX_SYMBOL_FILES + MAX_FIELDS },
      });
      let failure: HttpError | undefined;
      const fail = (e: HttpError): void => {
        failure ??= e;
      };
      let dump: { path: string; hash: string; head: Buffer; filename: string | undefined } | undefined;
      const symbolFiles: { path: string; filename: string | undefined }[] = [];
      const annotations: Record<string, string> = {};
      const writes: Promise<void>[] = [];
      // A part that breaks off (a malformed body) fails its write; the form's own error says why.
      const keep = (write: Promise<void>): void => {
        writes.push(write.catch((e: unknown) => fail(new HttpError(400, `malformed multipart body: ${e instanceof Error ? e.message : String(e)}`))));
      };

      form.on('file', (field, stream, info) => {
        const counted = symbolFiles.length + (dump ? 1 : 0);
        if (field === DUMP_FIELD && dump === undefined && failure === undefined) {
          const path = join(scratch, 'dump');
          const hash = createHash('sha256');
          const chunks: Buffer[] = [];
          let headBytes = 0;
          const entry = { path, hash: '', head: Buffer.alloc(0), filename: info.filename };
          dump = entry;
          const tap = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              hash.update(chunk);
              if (headBytes < 8) {
                chunks.push(chunk);
                headBytes += chunk.length;
              }
              done(null, chunk);
            },
          });
          stream.on('limit', () => fail(new HttpError(413, `the dump is over ${options.maxUploadBytes} bytes (--max-upload-mb)`)));
          keep(
            pipeline(stream, tap, createWriteStream(path)).then(() => {
              entry.hash = hash.digest('hex');
              entry.head = Buffer.concat(chunks).subarray(0, 8);
            }),
          );
        } else if (field === SYMBOLS_FIELD && counted < 1 + MAX_SYMBOL_FILES && failure === undefined) {
          const path = join(scratch, `symbols-${symbolFiles.length}`);
          symbolFiles.push({ path, filename: info.filename });
          stream.on('limit', () => fail(new HttpError(413, `symbol file ${info.filename} is over ${options.maxUploadBytes} bytes (--max-upload-mb)`)));
          keep(pipeline(stream, createWriteStream(path)));
        } else {
          if (field !== DUMP_FIELD && field !== SYMBOLS_FIELD) fail(new HttpError(400, `unexpected file field "${field}" (the dump goes in "${DUMP_FIELD}", symbol files in "${SYMBOLS_FIELD}")`));
          else if (field === DUMP_FIELD) fail(new HttpError(400, `more than one "${DUMP_FIELD}" file`));
          stream.resume();
        }
      });
      form.on('field', (name, value, info) => {
        if (info.valueTruncated) fail(new HttpError(413, `form field "${name}" is over ${MAX_FIELD_BYTES} bytes`));
        else annotations[name] = value;
      });
      form.on('filesLimit', () => fail(new HttpError(413, `more than ${MAX_SYMBOL_FILES} symbol files`)));
      form.on('fieldsLimit', () => fail(new HttpError(413, `more than ${MAX_FIELDS} form fields`)));
      form.on('partsLimit', () => fail(new HttpError(413, 'too many parts in the form')));

      // The scratch folder goes once every part's write has settled (a write still open would recreate a file in it).
      const cleanup = (): Promise<void> => Promise.all(writes).then(() => rm(scratch, { recursive: true, force: true }));
      const finish = async (): Promise<{ id: string; duplicate: boolean }> => {
        await Promise.all(writes);
        if (failure) throw failure;
        if (!dump) throw new HttpError(400, `no "${DUMP_FIELD}" file in the form`);
        if (dump.head.length === 0) throw new HttpError(400, `"${DUMP_FIELD}" is empty`);
        const magic = dump.head.toString('latin1');
        if (!DUMP_MAGICS.some((m) => magic.startsWith(m))) {
          throw new HttpError(415, `"${DUMP_FIELD}" is not a minidump, Windows kernel dump or legacy user dump (it starts with ${JSON.stringify(magic.slice(0, 6))}, not "MDMP", "PAGE" or "USERDU")`);
        }
        // Symbol files are checked before anything is kept: a refused upload leaves nothing behind.
        const placed = await Promise.all(symbolFiles.map(async (file) => ({ from: file.path, segments: await symbolSegments(file.path, file.filename) })));
        const id = dump.hash;
        const target = join(store, `${id}.dmp`);
        const existed = await stat(target).then(() => true, () => false);
        if (!existed) await rename(dump.path, target);
        let symbols: string | undefined;
        if (placed.length > 0) {
          symbols = join(store, `${id}.symbols`);
          for (const { from, segments } of placed) {
            await mkdir(join(symbols, segments[0]!, segments[1]!), { recursive: true });
            await rename(from, join(symbols, ...segments));
          }
        }
        const filename = dump.filename;
        const data: DumpJobData = {
          dump: target,
          ...(symbols !== undefined ? { symbols } : {}),
          ...(filename ? { filename } : {}),
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        };
        const before = await queue.getJob(id);
        await addDumpJob(queue as never, id, data);
        return { id, duplicate: before !== undefined };
      };

      form.on('close', () => {
        finish().then(resolvePromise, reject).finally(() => void cleanup());
      });
      form.on('error', (e: Error) => {
        void cleanup();
        reject(new HttpError(400, `malformed multipart body: ${e.message}`));
      });
      let source: Readable = req;
      if (gzipped) {
        const gunzip = createGunzip();
        gunzip.on('error', (e) => {
          void cleanup();
          reject(new HttpError(400, `the gzip body does not decompress: ${e.message}`));
        });
        source = req.pipe(gunzip);
      }
      let received = 0;
      source.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBody) {
          void cleanup();
          reject(new HttpError(413, `the upload is over ${options.maxUploadBytes} bytes (--max-upload-mb)`));
          source.unpipe(form);
          source.resume();
        }
      });
      source.pipe(form);
    });
  };

  const requestStatus = async (id: string): Promise<{ status: number; body: string; headers?: Record<string, string> }> => {
    const notFound = { status: 404, body: JSON.stringify({ status: 'unknown', id, error: 'no such request (never submitted, or its result has expired)' }) };
    if (!isJobId(id)) return notFound;
    // The state first, then the job: read the other way round, a job that completes in between is
    // 'completed' with the return value of its earlier read, which is still null.
    const state = await queue.getJobState(id);
    const job = await queue.getJob(id);
    if (!job || state === 'unknown') return notFound;
    const r = job.returnvalue as DumpJobResult | null;
    if (state === 'completed' && r) {
      const head = JSON.stringify({ status: 'completed', id, signature: r.signature, exit: r.exit, worker: r.worker, timings: r.timings, attempts: job.attemptsMade });
      return { status: 200, body: `${head.slice(0, -1)},"result":${r.line}}` };
    }
    if (state === 'failed') return { status: 200, body: JSON.stringify({ status: 'failed', id, error: job.failedReason, attempts: job.attemptsMade }) };
    return { status: 200, body: JSON.stringify({ status: 'pending', id, state, retry_after: RETRY_AFTER_SECONDS }), headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: string, type = 'application/json', headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    const error = (status: number, message: string): void => send(status, JSON.stringify({ error: message }));
    try {
      if (url.pathname === '/minidump') {
        if (req.method !== 'POST') return error(405, 'POST a multipart form here');
        const { id, duplicate } = await upload(req);
        metrics.upload(duplicate ? 'duplicate' : 'accepted');
        return send(200, JSON.stringify({ id }));
      }
      const request = /^\/requests\/([^/]+)$/.exec(url.pathname);
      if (request) {
        if (req.method !== 'GET') return error(405, 'GET a request here');
        const r = await requestStatus(decodeURIComponent(request[1]!));
        return send(r.status, r.body, 'application/json', r.headers);
      }
      if (url.pathname === '/healthcheck') {
        // Commands wait while Redis reconnects: a health check gives it two seconds.
        const ok = await Promise.race([queue.getJobCounts('waiting').then(() => true, () => false), new Promise<boolean>((done) => setTimeout(() => done(false), 2000).unref())]);
        return ok ? send(200, 'ok\n', 'text/plain') : send(503, 'redis does not answer\n', 'text/plain');
      }
      if (url.pathname === '/metrics') {
        const text = await metrics.registry.metrics();
        return send(200, text, metrics.registry.contentType);
      }
      return error(404, `no such endpoint: ${url.pathname} (POST /minidump, GET /requests/:id, /healthcheck, /metrics)`);
    } catch (e) {
      if (e instanceof HttpError) {
        if (url.pathname === '/minidump') metrics.upload(String(e.status));
        // Clients send the whole body before they read an answer: the rest of a refused upload is
        // read and dropped, up to a bound, so they get the 4xx rather than a broken pipe.
        const drained = await drain(req, DRAIN_BYTES, DRAIN_MS);
        res.setHeader('connection', 'close');
        error(e.status, e.message);
        if (!drained) res.once('finish', () => req.destroy());
        return;
      }
      error(503, `the service cannot take this now: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  try {
    await untilReady(queue, options.redis);
    await untilReady(events, options.redis);
  } catch (e) {
    await Promise.all([events.close(), queue.close()]);
    throw e;
  }
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => ok());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close() {
      await new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      metrics.close();
      await events.close();
      await queue.close();
    },
  };
}

/**
 * Where a .sym file sent with a dump goes in a symbol store, from its MODULE line
 * (MODULE <os> <arch> <debug id> <debug file>); anything else is refused.
 */
async function symbolSegments(path: string, filename: string | undefined): Promise<string[]> {
  const handle = await open(path, 'r');
  let first: string;
  try {
    const head = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    first = head.subarray(0, bytesRead).toString('utf8').split(/\r?\n/)[0] ?? '';
  } finally {
    await handle.close();
  }
  const m = /^MODULE \S+ \S+ ([0-9A-Fa-f]+) (.+)$/.exec(first);
  const segments = m ? symbolFilePath(m[2]!.trim(), m[1]!.toUpperCase()) : undefined;
  if (!segments) throw new HttpError(415, `symbol file ${filename || '(unnamed)'} is not a Breakpad .sym (its first line is not MODULE <os> <arch> <id> <name>)`);
  return segments;
}

/** Reads the rest of a request and drops it; false when it was longer than `maxBytes` or slower than `ms`. */
function drain(req: IncomingMessage, maxBytes: number, ms: number): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolve(ok);
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(false);
    const timer = setTimeout(() => finish(false), ms);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.resume();
  });
}
