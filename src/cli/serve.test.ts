import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServe } from '../testing/serve.js';
import { ExitCode } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

test('stackhog serve: its URL alone on stdout, the built page there, stopped by SIGTERM or SIGINT with exit 0', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const serve = await startServe();
    try {
      assert.match(serve.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(serve.url);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await page.text(), /^<!doctype html>/i);
      assert.equal((await fetch(serve.url, { method: 'POST' })).status, 405);
    } finally {
      const end = await serve.stop(signal);
      assert.equal(end.code, ExitCode.Ok, end.stderr);
      assert.match(end.stderr, /not uploaded/);
      assert.match(end.stderr, new RegExp(`stopped \\(${signal}\\)`));
    }
  }
});

test('stackhog serve on a port already taken, or a port out of range: a usage error', async () => {
  const serve = await startServe();
  try {
    const taken = spawnSync(process.execPath, [MAIN, 'serve', '--port', new URL(serve.url).port], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(taken.status, ExitCode.Usage);
    assert.match(taken.stderr, /^stackhog: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    assert.equal(taken.stdout, '');
  } finally {
    await serve.stop();
  }
  const range = spawnSync(process.execPath, [MAIN, 'serve', '--port', '70000'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(range.status, ExitCode.Usage);
  assert.match(range.stderr, /expected a port number/);
});
