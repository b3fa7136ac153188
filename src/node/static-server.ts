// Node shell: a folder served over HTTP as it is (the browser page in dist/web/ for `stackhog serve`).
// GET and HEAD only; a request names a file below the folder or gets 404, whatever its dots,
// encoded slashes or symbolic links; a folder's index.html stands for the folder.

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, sep } from 'node:path';

/** By extension; anything else is sent as bytes, never sniffed (X-Content-Type-Options below). */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export interface StaticServer {
  /** `http://host:port/`, the port the system picked when 0 was asked for. */
  readonly url: string;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

/** Serves `root` until closed; rejects when the address cannot be listened on (EADDRINUSE, EACCES). */
export async function serveStatic(root: string, options: StaticServerOptions): Promise<StaticServer> {
  const realRoot = await realpath(root);
  const server = createServer((req, res) => {
    respond(realRoot, req, res).catch(() => {
      if (!res.headersSent) send(res, req, 500, 'internal error\n');
      else res.destroy();
    });
  });
  await listen(server, options);
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, options: StaticServerOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function respond(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, req, 405, 'only GET and HEAD\n');
  }
  const file = await resolveFile(root, req.url ?? '/');
  if (!file) return send(res, req, 404, 'not found\n');
  res.writeHead(200, {
    ...HEADERS,
    'Content-Type': contentType(file.path),
    'Content-Length': file.size,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file.path);
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.pipe(res);
  });
}

const HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache', 'Referrer-Policy': 'no-referrer' } as const;

function send(res: ServerResponse, req: IncomingMessage, status: number, body: string): void {
  res.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The regular file a request path names below root, or undefined (absent, outside root, or not a file). */
export async function resolveFile(root: string, requestUrl: string): Promise<{ path: string; size: number } | undefined> {
  let pathname: string;
  try {
    pathname = new URL(requestUrl, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
  // Decoded one segment at a time, so an encoded '/' or '\' (%2f, %5c) cannot make a segment of its own.
  const segments: string[] = [];
  for (const raw of pathname.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '' || segment === '.') continue;
    if (segment === '..' || /[/\\\0:]/.test(segment)) return undefined;
    segments.push(segment);
  }
  let path = join(root, ...segments);
  let info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    path = join(path, 'index.html');
    info = await stat(path).catch(() => undefined);
  }
  if (!info?.isFile()) return undefined;
  // A symbolic link below root may still point outside it.
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined || !real.startsWith(root + sep)) return undefined;
  return { path: real, size: info.size };
}
