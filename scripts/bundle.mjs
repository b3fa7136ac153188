// After tsc: bundles the CLI and the batch worker, each into one file beside tsc's output
// (dist/cli/main.bundle.js, dist/cli/batch-worker.bundle.js), so a run loads one module instead
// of about eighty: start-up is most of a small dump's time. The package's dependencies stay
// outside the bundle (they are installed beside it).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies ?? {});
for (const entry of ['main', 'batch-worker']) {
  await build({
    entryPoints: [new URL(`../dist/cli/${entry}.js`, import.meta.url).pathname],
    outfile: new URL(`../dist/cli/${entry}.bundle.js`, import.meta.url).pathname,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    logLevel: 'warning',
    legalComments: 'none',
    // A smaller source compiles faster at every start; names are kept, so error traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
  });
}
