// Node shell: symbol servers (SymSrv's HTTP protocol: GET <url>/<name>/<id>/<name>) reached with
// Node's fetch, their files kept in a local cache directory in symstore layout so a second run
// asks nothing. The core sees them as one more opener of path segments.

import { mkdir, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ByteSource } from '../io/byte-source.js';
import type { DirectoryOpener } from './directories.js';
import { openIfExists, type OpenFile } from './file-source.js';

/** A symbol server and the caches searched before it; downloads go to the first cache. */
export interface SymbolServerConfig {
  readonly url: string;
  /** Empty: the default cache. */
  readonly caches: readonly string[];
}

export interface SymbolServerOptions {
  /** A request that sends nothing for this long (no headers, no body bytes) is given up. */
  readonly timeoutMs: number;
  /** Where a server without a cache of its own keeps its files (see defaultSymbolCacheDir). */
  readonly defaultCache: string;
  /** Progress lines for large downloads are written here, only when it is a TTY. */
  readonly progress?: { readonly isTTY?: boolean; write(text: string): unknown };
  /** For tests: Node's global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/** A download that large (bytes) gets a progress line. */
const PROGRESS_FROM = 1024 * 1024;

/**
 * The per-user symbol cache: $XDG_CACHE_HOME/stackhog/symbols (else ~/.cache/stackhog/symbols),
 * %LOCALAPPDATA%\stackhog\symbols on Windows, ~/Library/Caches/stackhog/symbols on macOS.
 */
export function defaultSymbolCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return join(env['LOCALAPPDATA'] || join(home, 'AppData', 'Local'), 'stackhog', 'symbols');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'stackhog', 'symbols');
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG spec: a relative $XDG_CACHE_HOME is invalid and ignored.
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.cache'), 'stackhog', 'symbols');
}

/** Same check as the core's: a dump-supplied name must not step out of the cache. */
function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && !/[/\\\0]|\.\./.test(segment);
}

/**
 * Openers for symbol servers: each looks in its caches, then downloads `<url>/<a>/<b>/<c>` into the
 * first cache. Only symstore paths (three segments) are asked for; a path the server lacks, refused
 * or did not answer in time is a note, remembered for the run (never asked twice), never an error.
 */
/** A 404 is remembered beside where the file would be, for a day (servers gain files, rarely). */
const MISSING_SUFFIX = '.404';
const MISSING_TTL_MS = 24 * 60 * 60 * 1000;

export class SymbolServers {
  readonly openers: DirectoryOpener[];
  readonly notes: string[] = [];
  /** HTTP requests made, for tests and the curious. */
  requests = 0;
  private readonly options: SymbolServerOptions;
  private readonly fetch: typeof fetch;
  private readonly downloads = new Map<string, Promise<boolean>>();
  /** Servers that timed out or could not be reached, with why: not asked again this run. */
  private readonly unreachable = new Map<string, string>();
  private readonly open: OpenFile[] = [];

  constructor(servers: readonly SymbolServerConfig[], options: SymbolServerOptions) {
    this.options = options;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.openers = servers.map((s) => this.opener(s));
  }

  async close(): Promise<void> {
    await Promise.all(this.open.splice(0).map((f) => f.close()));
  }

  private opener(server: SymbolServerConfig): DirectoryOpener {
    const base = server.url.replace(/\/+$/, '');
    const caches = server.caches.length > 0 ? server.caches : [this.options.defaultCache];
    return async (segments: string[]): Promise<ByteSource | undefined> => {
      if (segments.length !== 3 || !segments.every(isSafeSegment)) return undefined;
      const cached = await this.openCached(caches, segments);
      if (cached) return cached;
      const url = `${base}/${segments.map(encodeURIComponent).join('/')}`;
      // Symbol servers match keys case-insensitively: one request per file, whatever case is asked.
      const key = url.toLowerCase();
      let download = this.downloads.get(key);
      if (!download) {
        download = this.rememberedMissing(caches, segments).then((since) => {
          if (since === undefined) return this.download(base, url, segments, join(caches[0]!, ...segments));
          this.note(`symbol server: ${url}: not found (404) on ${since.toISOString().slice(0, 10)}; not asked again for a day (delete ${join(caches[0]!, ...segments)}${MISSING_SUFFIX} to ask now)`);
          return false;
        });
        this.downloads.set(key, download);
      }
      return (await download) ? this.openCached(caches, segments) : undefined;
    };
  }

  /** When a cache remembers a 404 for this file from the last day: the time of that answer. */
  private async rememberedMissing(caches: readonly string[], segments: readonly string[]): Promise<Date | undefined> {
    for (const cache of caches) {
      const marker = await stat(`${join(cache, ...segments)}${MISSING_SUFFIX}`).catch(() => undefined);
      if (marker && Date.now() - marker.mtimeMs < MISSING_TTL_MS) return marker.mtime;
    }
    return undefined;
  }

  private async openCached(caches: readonly string[], segments: readonly string[]): Promise<ByteSource | undefined> {
    for (const cache of caches) {
      const file = await openIfExists(join(cache, ...segments));
      if (!file) continue;
      this.open.push(file);
      return file.source;
    }
    return undefined;
  }

  /** Fetches `url` into `path` (through a temporary file, so an interrupted download leaves nothing half-written). */
  private async download(base: string, url: string, segments: readonly string[], path: string): Promise<boolean> {
    const what = `symbol server: ${url}`;
    const failed = this.unreachable.get(base);
    if (failed !== undefined) {
      // One silent server must not cost the timeout once per module.
      this.note(`${what}: not asked: the server failed earlier in this run (${failed})`);
      return false;
    }
    const controller = new AbortController();
    const { timeoutMs } = this.options;
    let timer = setTimeout(() => controller.abort(), timeoutMs);
    const stillAlive = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), timeoutMs);
    };
    const part = `${path}.${process.pid}.part`;
    let progressShown = false;
    try {
      this.requests++;
      const response = await this.fetch(url, { signal: controller.signal, redirect: 'follow' });
      if (response.status === 404) {
        await response.body?.cancel();
        this.note(`${what}: not found (404)`);
        // Remembered on disk, so the next run does not ask again for what the server lacks.
        await mkdir(dirname(path), { recursive: true })
          .then(() => writeFile(`${path}${MISSING_SUFFIX}`, ''))
          .catch(() => undefined);
        return false;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        this.note(`${what}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
        return false;
      }
      const total = Number(response.headers.get('content-length')) || undefined;
      await mkdir(dirname(path), { recursive: true });
      const file = await open(part, 'w');
      let received = 0;
      let shownAt = 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          stillAlive();
          await file.write(chunk);
          received += chunk.length;
          const tty = this.options.progress?.isTTY === true;
          if (tty && (total ?? received) >= PROGRESS_FROM && Date.now() - shownAt > 200) {
            shownAt = Date.now();
            progressShown = true;
            this.options.progress!.write(`\rstackhog: downloading ${segments[2]}: ${megabytes(received)}${total ? ` of ${megabytes(total)}` : ''} MB\x1b[K`);
          }
        }
      } finally {
        await file.close();
      }
      await rename(part, path);
      return true;
    } catch (e) {
      await unlink(part).catch(() => undefined);
      const why = controller.signal.aborted ? `no answer within ${timeoutMs / 1000} s (--symbol-timeout)` : failureText(e);
      this.note(`${what}: ${why}`);
      if (controller.signal.aborted || isNetworkFailure(e)) this.unreachable.set(base, why);
      return false;
    } finally {
      clearTimeout(timer);
      if (progressShown) this.options.progress!.write('\r\x1b[K');
    }
  }

  private note(message: string): void {
    if (!this.notes.includes(message)) this.notes.push(message);
  }
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** A failure of the connection itself (refused, unknown host, reset), not of writing the cache. */
function isNetworkFailure(e: unknown): boolean {
  return e instanceof TypeError && (e as { cause?: unknown }).cause !== undefined;
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...). */
function failureText(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return `request failed (${cause.code})`;
  if (cause && typeof cause.message === 'string') return `request failed (${cause.message})`;
  return e instanceof Error ? e.message : String(e);
}
