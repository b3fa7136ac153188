import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { repoPath } from '../testing/corpus.js';

const require = createRequire(import.meta.url);
const { loadBundle } = require('./code-cache.cjs') as typeof import('./code-cache.cjs');

function scratchBundle(source: string): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stackhog-code-cache-'));
  const file = join(dir, 'x.bundle.cjs');
  writeFileSync(file, source);
  return { file, dir };
}

test('code cache: the first load compiles and writes the cache, the next one runs from it', () => {
  const { file, dir } = scratchBundle('#!/usr/bin/env node\nexports.add = (a, b) => a + b;\nexports.where = __filename;\n');
  try {
    const first = loadBundle(file);
    assert.equal(first.cached, false);
    assert.equal((first.exports.add as (a: number, b: number) => number)(2, 3), 5, 'a shebang line is not JavaScript: it is dropped');
    assert.equal(first.exports.where, file);
    first.saveCache();
    assert.ok(existsSync(`${file}.v8cache`));
    const second = loadBundle(file);
    assert.equal(second.cached, true, 'V8 takes the cache it wrote');
    assert.equal((second.exports.add as (a: number, b: number) => number)(4, 5), 9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('code cache: a damaged or stale cache is rejected, the bundle still runs, and the cache is written again', () => {
  const { file, dir } = scratchBundle('exports.value = 1;\n');
  try {
    writeFileSync(`${file}.v8cache`, Buffer.from('not a code cache'));
    const damaged = loadBundle(file);
    assert.equal(damaged.cached, false);
    assert.equal(damaged.exports.value, 1);
    damaged.saveCache();
    assert.equal(loadBundle(file).cached, true);
    // The source changed under the cache (a rebuild): V8 checks the source and rejects it.
    writeFileSync(file, 'exports.value = 2; // a different build\n');
    const stale = loadBundle(file);
    assert.equal(stale.cached, false);
    assert.equal(stale.exports.value, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('code cache: a cache that cannot be written (the folder is gone) is silently skipped', () => {
  const { file, dir } = scratchBundle('exports.value = 3;\n');
  const loaded = loadBundle(file);
  rmSync(dir, { recursive: true, force: true });
  assert.doesNotThrow(() => loaded.saveCache());
  assert.equal(loaded.exports.value, 3);
});

test('the installed command (dist/cli/stackhog.cjs, the bundle through its code cache) prints what tsc\'s modules print', () => {
  const launcher = fileURLToPath(new URL('./stackhog.cjs', import.meta.url));
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  if (!existsSync(fileURLToPath(new URL('./main.bundle.cjs', import.meta.url)))) {
    assert.fail('dist/cli/main.bundle.cjs is missing: npm run build bundles the CLI');
  }
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin.stackhog, 'dist/cli/stackhog.cjs');
  for (const args of [['-f', 'json'], ['-f', 'kf'], ['--version']]) {
    const viaBundle = spawnSync(process.execPath, [launcher, ...args], { encoding: 'utf8', timeout: 60_000 });
    const viaTsc = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(viaBundle.status, viaTsc.status, viaBundle.stderr);
    assert.equal(viaBundle.stdout, viaTsc.stdout, args.join(' '));
    assert.equal(viaBundle.stderr, '', 'no warning on stderr');
  }
});
