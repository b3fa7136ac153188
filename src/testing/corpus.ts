// Test support: where the shared corpus lives (../shared/corpus next to the repo), found from this
// module's location so it works from src/ and dist/ alike. Tests only; the core must not import it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('corpusPath: no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

let root: string | undefined;

/** Absolute path of a file or folder in ../shared/corpus, e.g. corpusPath('breakpad', 'minidump2.dmp'). */
export function corpusPath(...segments: string[]): string {
  root ??= findRepoRoot();
  return join(root, '..', 'shared', 'corpus', ...segments);
}

/** Absolute path of a file in the repository (e.g. test-data/...). */
export function repoPath(...segments: string[]): string {
  root ??= findRepoRoot();
  return join(root, ...segments);
}
