import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { ExitCode } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const SENTRY = (...p: string[]): string => corpusPath('external', 'user', 'sentry-crash', ...p);
const ID = '3249D99D0C4049318610F4E4FB0B69361';
const PDB = `crash.pdb/${ID}/crash.pdb`;
const EXE = 'crash.exe/5AB380779000/crash.exe';
const SYM = `crash.pdb/${ID}/crash.sym`;

/** Runs the CLI without blocking this process (the HTTP server runs here), with no symbol path from the environment. */
function stackhog(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base['_NT_SYMBOL_PATH'];
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const guard = setTimeout(() => child.kill(), 60_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(guard);
      resolve({ status, stdout, stderr });
    }),
  );
}

/** A symbol server on loopback serving files from `root` by URL path; `silent` accepts and never answers. */
async function symbolServer(root: string | undefined): Promise<{ url: string; log: string[]; close(): Promise<void> }> {
  const log: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '').replace(/^\/sym\//, '');
    log.push(path);
    if (root === undefined) return;
    readFile(join(root, path)).then(
      (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sym`,
    log,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function place(root: string, path: string, from: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await copyFile(from, join(root, path));
}

const DUMP = (): string[] => [SENTRY('windows.dmp'), '-f', 'kf'];

test('symbol server: the first run fetches the PDB and the image into the cache, the second (via _NT_SYMBOL_PATH) asks nothing it has', needsCorpus, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'stackhog-cli-srv-'));
  const store = join(tmp, 'store');
  const cache = join(tmp, 'cache');
  await place(store, PDB, SENTRY('crash.pdb'));
  await place(store, EXE, SENTRY('crash.exe'));
  await place(store, SYM, SENTRY('crash.sym'));
  const http = await symbolServer(store);
  try {
    const first = await stackhog([...DUMP(), '--symbol-server', http.url, '--symbol-cache-dir', cache], { XDG_CACHE_HOME: join(tmp, 'xdg') });
    assert.equal(first.status, ExitCode.Ok, first.stderr);
    // The downloaded PDB names the frames (main's inlined calls included).
    assert.match(first.stdout, /crash!main\+0x12d/);
    assert.match(first.stdout, /\(Inline\) -------- crash!`anonymous namespace'::crash/);
    assert.ok(http.log.includes(PDB) && http.log.includes(EXE), http.log.join('\n'));
    assert.ok(!http.log.some((p) => p.endsWith('.sym')), 'a server is never asked for .sym files');
    assert.equal(new Set(http.log.map((p) => p.toLowerCase())).size, http.log.length, 'no file asked twice in a run');
    assert.deepEqual(await readFile(join(cache, PDB)), await readFile(SENTRY('crash.pdb')));
    assert.equal((await stat(join(cache, EXE))).size, (await stat(SENTRY('crash.exe'))).size);
    assert.ok(!first.stderr.includes('PDB found but not read'), first.stderr);
    assert.match(first.stderr, /symbol server: http:\/\/127\.0\.0\.1:\d+\/sym\/wkernel32\.pdb\/[0-9A-F]+\/wkernel32\.pdb: not found \(404\)/);
    await stat(join(tmp, 'xdg')).then(
      () => assert.fail('the default cache was not used'),
      () => undefined,
    );

    const asked = http.log.length;
    const second = await stackhog(DUMP(), { _NT_SYMBOL_PATH: `srv*${cache}*${http.url}` });
    assert.equal(second.status, ExitCode.Ok, second.stderr);
    const again = http.log.slice(asked);
    assert.ok(!again.includes(PDB) && !again.includes(EXE), again.join('\n'));
    // What the server lacked was remembered in the cache: the second run makes no request at all.
    assert.deepEqual(again, []);
    assert.match(second.stderr, /wkernel32\.pdb: not found \(404\) on \d{4}-\d\d-\d\d; not asked again for a day/);
    assert.equal(second.stdout, first.stdout);
  } finally {
    await http.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

test('symbol server: a 404 for every file, or a server that never answers, is a note; the report still prints', needsCorpus, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'stackhog-cli-srv-'));
  const baseline = await stackhog(DUMP());
  const empty = await symbolServer(join(tmp, 'nothing'));
  const silent = await symbolServer(undefined);
  try {
    const missing = await stackhog([...DUMP(), '--symbol-server', empty.url, '--symbol-cache-dir', join(tmp, 'c1')]);
    assert.equal(missing.status, baseline.status, missing.stderr);
    assert.equal(missing.stdout, baseline.stdout);
    assert.ok(missing.stderr.includes(`stackhog: note: symbol server: ${empty.url}/${PDB}: not found (404)\n`), missing.stderr);
    assert.ok(missing.stderr.includes(`stackhog: note: symbol server: ${empty.url}/${EXE}: not found (404)\n`), missing.stderr);

    const started = silent.log.length;
    const hung = await stackhog([...DUMP(), '--symbol-path', `cache*${join(tmp, 'c2')};srv*${silent.url}`, '--symbol-timeout', '1']);
    assert.equal(hung.status, baseline.status, hung.stderr);
    assert.equal(hung.stdout, baseline.stdout);
    assert.match(hung.stderr, /stackhog: note: symbol server: http:\/\/127\.0\.0\.1:\d+\/sym\/\S+: no answer within 1 s \(--symbol-timeout\)\n/);
    assert.equal(silent.log.length - started, 1, 'a silent server is given up after its first timeout');
  } finally {
    await Promise.all([empty.close(), silent.close()]);
    await rm(tmp, { recursive: true, force: true });
  }
});

test('--symbols directories are searched for images in symstore layout (a wrong image there is skipped with its reason)', needsCorpus, async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'stackhog-cli-srv-'));
  try {
    await place(tmp, EXE, SENTRY('CrashWithException.exe'));
    const r = await stackhog([...DUMP(), '--symbols', tmp]);
    assert.match(r.stderr, new RegExp(`${EXE.replace(/\//g, '.')}: skipped for crash\\.exe: its TimeDateStamp`), r.stderr);
    assert.equal(r.status, ExitCode.Ok, r.stderr);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('--symbol-server takes only http(s) URLs and, like --symbols, needs a dump', async () => {
  const notUrl = await stackhog(['x.dmp', '--symbol-server', '/some/dir']);
  assert.equal(notUrl.status, ExitCode.Usage);
  assert.match(notUrl.stderr, /--symbol-server \/some\/dir: not an http:\/\/ or https:\/\/ URL/);
  const noDump = await stackhog(['--symbol-server', 'http://127.0.0.1:9/']);
  assert.equal(noDump.status, ExitCode.Usage);
  assert.match(noDump.stderr, /no dump given \(--symbol-server needs one/);
});
