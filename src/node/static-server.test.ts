import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { contentType, serveStatic, type StaticServer } from './static-server.js';

let dir: string;
let server: StaticServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stackhog-static-'));
  mkdirSync(join(dir, 'site', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(dir, 'site', 'assets', 'app.js'), 'console.log(1);');
  writeFileSync(join(dir, 'site', 'assets', 'data.bin'), new Uint8Array([1, 2, 3]));
  writeFileSync(join(dir, 'secret.txt'), 'outside the served folder');
  symlinkSync(join(dir, 'secret.txt'), join(dir, 'site', 'link.txt'));
  server = await serveStatic(join(dir, 'site'), { host: '127.0.0.1', port: 0 });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request: the path goes out exactly as written (fetch would normalise the dots away first). */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the folder\'s index.html for /, and files with their content types', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.body, '<!doctype html><title>page</title>');
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  assert.equal((await get('/index.html?x=1#y')).body, index.body);
  const js = await get('/assets/app.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await get('/assets/data.bin')).headers['content-type'], 'application/octet-stream');
  assert.equal((await get('/assets/')).status, 404, 'a folder without index.html');
  assert.equal(contentType('a/B.CSS'), 'text/css; charset=utf-8');
});

test('HEAD: the headers and length, no body; other methods: 405 with Allow', async () => {
  const head = await get('/assets/app.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String('console.log(1);'.length));
  assert.equal(head.body, '');
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await get('/', method);
    assert.equal(r.status, 405, method);
    assert.equal(r.headers['allow'], 'GET, HEAD');
  }
});

test('nothing outside the folder: dots, encoded dots and slashes, backslashes, NUL, symbolic links', async () => {
  for (const path of [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/%2e%2e%5csecret.txt',
    '/index.html%00.txt',
    '/link.txt',
    '/%zz',
    '//etc/passwd',
    '/nonexistent',
  ]) {
    const r = await get(path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /outside the served folder/, path);
  }
});

test('a port already taken: serveStatic rejects with EADDRINUSE', async () => {
  const port = new URL(server.url).port;
  await assert.rejects(serveStatic(dir, { host: '127.0.0.1', port: Number(port) }), { code: 'EADDRINUSE' });
});
