import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FINDING_KINDS } from './analyze/findings.js';
import { needsCorpus, repoPath } from './testing/corpus.js';

// Every example output in README.md must be what the command above it prints today: a block's
// lines match the output line for line, except where the block says `...` or `[...]` (lines left
// out) or a line ends in ` [...]` (the rest of that line left out).

interface Example {
  readonly command: string;
  readonly args: string[];
  readonly block: string[];
  readonly line: number;
}

/** `npx stackhog ARGS` (or `./stackhog ARGS`) named in the paragraph before a fenced block. */
function examples(): Example[] {
  const lines = readFileSync(repoPath('README.md'), 'utf8').split('\n');
  const out: Example[] = [];
  let prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('```')) {
      // The paragraph just before a block: blank lines end a paragraph but not the search.
      if (line.trim() === '') {
        if (prose.length > 0) prose.push('');
      } else {
        if (prose[prose.length - 1] === '') prose = [];
        prose.push(line);
      }
      continue;
    }
    const lang = line.slice(3).trim();
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    const commands = [...prose.join(' ').matchAll(/`(?:npx |\.\/)stackhog([^`]*)`/g)];
    const last = commands[commands.length - 1];
    const text = prose.join(' ').trim();
    if (lang === '' && last && (/:\s*$/.test(text) || /^Example: /.test(text))) {
      const rest = last[1] ?? '';
      out.push({ command: `stackhog${rest}`, args: rest.trim().split(/\s+/).filter((a) => a !== ''), block: lines.slice(start, end), line: start + 1 });
    }
    prose = [];
    i = end;
  }
  return out;
}

/** A README line matches an output line exactly, or as a prefix when it ends in `[...]`. */
function same(readme: string, output: string | undefined): boolean {
  if (output === undefined) return false;
  return readme.endsWith(' [...]') ? output.startsWith(readme.slice(0, -' [...]'.length)) : readme === output;
}

/** The block's runs (split at `...` lines) appear in the output, in order, each run on consecutive lines. */
function mismatch(block: readonly string[], output: readonly string[]): string | undefined {
  const runs: string[][] = [[]];
  for (const l of block) {
    if (/^\s*(\.\.\.|\[\.\.\.\])\s*$/.test(l)) runs.push([]);
    else runs[runs.length - 1]!.push(l);
  }
  let from = 0;
  for (const run of runs) {
    if (run.length === 0) continue;
    let found = -1;
    for (let at = from; at + run.length <= output.length && found < 0; at++) {
      if (run.every((l, k) => same(l, output[at + k]))) found = at;
    }
    if (found < 0) {
      const first = output.findIndex((o, at) => at >= from && same(run[0]!, o));
      if (first < 0) return `not in the output: ${JSON.stringify(run[0])}`;
      const k = run.findIndex((l, j) => !same(l, output[first + j]));
      return `after ${JSON.stringify(run[k - 1] ?? '')}: README ${JSON.stringify(run[k])}, output ${JSON.stringify(output[first + k])}`;
    }
    from = found + run.length;
  }
  return undefined;
}

const found = examples();

test('README names its example commands', () => {
  assert.ok(found.length >= 6, `found ${found.length} examples`);
});

for (const e of found) {
  test(`README line ${e.line}: ${e.command}`, needsCorpus, () => {
    const r = spawnSync(process.execPath, [repoPath('dist', 'cli', 'main.js'), ...e.args], { cwd: repoPath(), encoding: 'utf8', timeout: 60_000 });
    const problem = mismatch(e.block, r.stdout.split('\n'));
    assert.equal(problem, undefined, `${e.command}: ${problem}`);
  });
}

test('README\'s findings tables list every kind of finding the analyses emit', () => {
  const rows = readFileSync(repoPath('README.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|')[1]!);
  const missing = FINDING_KINDS.filter((kind) => !rows.some((cell) => cell.includes(`\`${kind}\``)));
  assert.deepEqual(missing, []);
});
