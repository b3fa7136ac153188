// After tsc: bundles the CLI and the batch worker, each into one CommonJS file beside tsc's output
// (dist/cli/main.bundle.cjs, dist/cli/batch-worker.bundle.cjs), so a run loads one script instead
// of about eighty: start-up is most of a small dump's time. CommonJS because Node 20 can hand V8 a
// code cache only for a script (vm.Script's cachedData), not for an ES module: the launchers
// dist/cli/stackhog.cjs and batch-worker-entry.cjs load the bundles through it (src/cli/code-cache.cts),
// and this script writes each cache once by running the bundled sample. The package's dependencies
// stay outside the bundle (they are installed beside it).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = new URL('../dist/cli/', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies ?? {});
const scratch = mkdtempSync(join(tmpdir(), 'stackhog-bundle-'));
// The modules use import.meta.url to find the sample, the web page and the worker beside them;
// in a CommonJS bundle it becomes the bundle file's own URL.
const inject = join(scratch, 'import-meta-url.js');
writeFileSync(inject, "export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n");
try {
  for (const entry of ['main', 'batch-worker']) {
    await build({
      entryPoints: [join(dist, `${entry}.js`)],
      outfile: join(dist, `${entry}.bundle.cjs`),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external,
      define: { 'import.meta.url': 'importMetaUrl' },
      inject: [inject],
      // import() of a dependency becomes require(): a vm.Script that V8 restored from a code cache
      // has no loader for import() on Node 20 (every dependency has a CommonJS entry).
      supported: { 'dynamic-import': false },
      logLevel: 'warning',
      legalComments: 'none',
      // A smaller source compiles faster at every start; names are kept, so error traces stay readable.
      minifyWhitespace: true,
      minifySyntax: true,
    });
    rmSync(join(dist, `${entry}.bundle.cjs.v8cache`), { force: true });
  }
  chmodSync(join(dist, 'stackhog.cjs'), 0o755);
  // The code caches: one run of each bundle on the sample (the worker's through a one-dump batch).
  const sample = new URL('../samples/stack_exhaustion.dmp', import.meta.url).pathname;
  const runs = [
    [join(dist, 'stackhog.cjs'), sample, '-f', 'json'],
    [join(dist, 'stackhog.cjs'), 'batch', sample, '--out', join(scratch, 'out.jsonl'), '--jobs', '1'],
  ];
  for (const args of runs) {
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`bundle: writing the code cache: node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
