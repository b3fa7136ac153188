// Test support: where the shared corpus lives (../shared/corpus next to the repo), found from this
// module's location so it works from src/ and dist/ alike. Tests only; the core must not import it.
// Without the corpus (a clone on its own), tests that read it are skipped, and `npm test` says so
// in one line (it runs this module as a script first); CI has ../shared, and they run.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/** Whether ../shared/corpus is there. */
export function hasCorpus(): boolean {
  return existsSync(corpusPath());
}

/** One line naming the missing corpus folder and where it comes from; undefined when it is there. */
export function missingCorpusNote(): string | undefined {
  if (hasCorpus()) return undefined;
  return (
    `stackhog tests: ${corpusPath()} is missing, so the tests that read real dumps from it are skipped. ` +
    'It is the shared test corpus (dumps and symbols from Breakpad, rust-minidump, radare2 and other test suites) ' +
    'that CI checks out as ../shared beside this repository; put it there to run them.'
  );
}

/** node:test options for a test that reads the corpus: `test(name, needsCorpus, fn)` skips it, saying why, when the corpus is missing. */
export const needsCorpus: { readonly skip: string | false } = { skip: hasCorpus() ? false : '../shared/corpus is missing' };

// Run as a script (`node dist/testing/corpus.js`, as `npm test` does): the one line, when it applies.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const note = missingCorpusNote();
  if (note) console.log(note);
}
