import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultSymbolCacheDir, SymbolServers } from './symbol-server.js';

const ID = '3249D99D0C4049318610F4E4FB0B69361';
const PDB_PATH = ['crash.pdb', ID, 'crash.pdb'];

/** A loopback HTTP server serving `files` (URL path -> bytes); every request is logged. `silent` never answers. */
async function serve(files: Record<string, Uint8Array>, silent = false): Promise<{ url: string; log: string[]; close(): Promise<void> }> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    log.push(req.url ?? '');
    if (silent) return;
    const body = files[decodeURIComponent(req.url ?? '')];
    if (!body) {
      res.writeHead(404).end('not here');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/symbols`,
    log,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'stackhog-srv-'));
}

test('a file is fetched into the cache once; a second run (a new SymbolServers) asks nothing', async () => {
  const bytes = new TextEncoder().encode('pretend PDB');
  const http = await serve({ [`/symbols/${PDB_PATH.join('/')}`]: bytes });
  const cache = await tempDir();
  try {
    const first = new SymbolServers([{ url: http.url, caches: [cache] }], { timeoutMs: 5000, defaultCache: '/nonexistent' });
    const source = await first.openers[0]!([...PDB_PATH]);
    assert.equal(source?.name, join(cache, ...PDB_PATH));
    assert.deepEqual(await source!.read(0, 100), bytes);
    assert.deepEqual(await readFile(join(cache, ...PDB_PATH)), Buffer.from(bytes));
    await first.close();
    assert.deepEqual(http.log, [`/symbols/crash.pdb/${ID}/crash.pdb`]);

    const second = new SymbolServers([{ url: http.url + '/', caches: [cache] }], { timeoutMs: 5000, defaultCache: '/nonexistent' });
    assert.ok(await second.openers[0]!([...PDB_PATH]));
    await second.close();
    assert.equal(http.log.length, 1, 'the second run read the cache');
    assert.equal(second.requests, 0);
  } finally {
    await http.close();
    await rm(cache, { recursive: true, force: true });
  }
});

test('a 404 is a note, asked once per run whatever the case of the key; non-symstore paths are never asked', async () => {
  const http = await serve({});
  const cache = await tempDir();
  try {
    const servers = new SymbolServers([{ url: http.url, caches: [] }], { timeoutMs: 5000, defaultCache: cache });
    const open = servers.openers[0]!;
    assert.equal(await open(['ntdll.dll', '5E5E5E5E1f000', 'ntdll.dll']), undefined);
    assert.equal(await open(['ntdll.dll', '5E5E5E5E1F000', 'ntdll.dll']), undefined);
    assert.equal(await open(['ntdll.dll']), undefined);
    assert.equal(await open(['ntdll.pdb', '..', 'ntdll.pdb']), undefined);
    assert.deepEqual(http.log, ['/symbols/ntdll.dll/5E5E5E5E1f000/ntdll.dll']);
    assert.deepEqual(servers.notes, [`symbol server: ${http.url}/ntdll.dll/5E5E5E5E1f000/ntdll.dll: not found (404)`]);
  } finally {
    await http.close();
    await rm(cache, { recursive: true, force: true });
  }
});

test('a server that never answers: a timeout note, then it is not asked again this run', async () => {
  const http = await serve({}, true);
  const cache = await tempDir();
  try {
    const servers = new SymbolServers([{ url: http.url, caches: [cache] }], { timeoutMs: 300, defaultCache: cache });
    assert.equal(await servers.openers[0]!([...PDB_PATH]), undefined);
    assert.equal(await servers.openers[0]!(['kernel32.pdb', ID, 'kernel32.pdb']), undefined);
    assert.equal(http.log.length, 1);
    assert.deepEqual(servers.notes, [
      `symbol server: ${http.url}/crash.pdb/${ID}/crash.pdb: no answer within 0.3 s (--symbol-timeout)`,
      `symbol server: ${http.url}/kernel32.pdb/${ID}/kernel32.pdb: not asked: the server failed earlier in this run (no answer within 0.3 s (--symbol-timeout))`,
    ]);
  } finally {
    await http.close();
    await rm(cache, { recursive: true, force: true });
  }
});

test('a refused connection is a note naming the reason', async () => {
  const http = await serve({});
  const url = http.url;
  await http.close();
  const cache = await tempDir();
  try {
    const servers = new SymbolServers([{ url, caches: [cache] }], { timeoutMs: 5000, defaultCache: cache });
    assert.equal(await servers.openers[0]!([...PDB_PATH]), undefined);
    assert.match(servers.notes[0]!, /: request failed \(ECONNREFUSED\)$/);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test('a large download shows a progress line on a TTY only, cleared at the end', async () => {
  const big = new Uint8Array(3 * 1024 * 1024);
  const http = await serve({ [`/symbols/${PDB_PATH.join('/')}`]: big });
  const cache = await tempDir();
  try {
    for (const isTTY of [true, false]) {
      const lines: string[] = [];
      const dir = join(cache, String(isTTY));
      const servers = new SymbolServers([{ url: http.url, caches: [dir] }], { timeoutMs: 5000, defaultCache: dir, progress: { isTTY, write: (t: string) => lines.push(t) } });
      assert.equal((await servers.openers[0]!([...PDB_PATH]))?.size, big.length);
      await servers.close();
      if (isTTY) {
        assert.match(lines[0]!, /^\rstackhog: downloading crash\.pdb: \d+\.\d of 3\.0 MB/);
        assert.equal(lines.at(-1), '\r\x1b[K');
      } else assert.deepEqual(lines, []);
    }
  } finally {
    await http.close();
    await rm(cache, { recursive: true, force: true });
  }
});

test('defaultSymbolCacheDir: XDG_CACHE_HOME, ~/.cache, LOCALAPPDATA, ~/Library/Caches', () => {
  assert.equal(defaultSymbolCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/me'), '/x/cache/stackhog/symbols');
  assert.equal(defaultSymbolCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/me'), '/home/me/.cache/stackhog/symbols');
  assert.equal(defaultSymbolCacheDir({}, 'linux', '/home/me'), '/home/me/.cache/stackhog/symbols');
  assert.equal(defaultSymbolCacheDir({}, 'darwin', '/Users/me'), '/Users/me/Library/Caches/stackhog/symbols');
  assert.match(defaultSymbolCacheDir({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32', 'C:\\Users\\me'), /stackhog[/\\]symbols$/);
});
