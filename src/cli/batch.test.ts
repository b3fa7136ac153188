import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { corpusPath, needsCorpus, repoPath } from '../testing/corpus.js';
import { batchInputs, renderSummary } from './batch.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function stackhog(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Line {
  path: string;
  status: string;
  signature?: string;
  error?: string;
  threads?: unknown[];
}

const lines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

/** A folder of dumps: the repository's own, plus a corrupt one and a file that is not a dump. */
function dumpFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackhog-batch-'));
  mkdirSync(join(dir, 'nested'));
  copyFileSync(repoPath('samples', 'stack_exhaustion.dmp'), join(dir, 'stack_exhaustion.dmp'));
  for (const f of ['nested.dmp', 'jit.dmp', 'overflow.dmp']) copyFileSync(repoPath('test-data', 'fixtures', f), join(dir, 'nested', f));
  // Cut short: the header says more streams than the file holds.
  writeFileSync(join(dir, 'truncated.dmp'), readFileSync(repoPath('test-data', 'fixtures', 'nested.dmp')).subarray(0, 200));
  writeFileSync(join(dir, 'notes.txt'), 'not a dump\n');
  return dir;
}

test('batchInputs: a directory\'s dump files recursively (by their first bytes), a glob, a file as given', async () => {
  const dir = dumpFolder();
  try {
    const found = await batchInputs([dir]);
    assert.deepEqual(found.map((p) => p.slice(dir.length + 1)).sort(), ['nested/jit.dmp', 'nested/nested.dmp', 'nested/overflow.dmp', 'stack_exhaustion.dmp', 'truncated.dmp']);
    assert.equal((await batchInputs([join(dir, 'nested', '*.dmp')])).length, 3);
    assert.deepEqual(await batchInputs([join(dir, 'notes.txt')]), [join(dir, 'notes.txt')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stackhog batch: one line per dump (the JSON document with path and signature), a damaged dump gets its line with error, a summary by signature', () => {
  const dir = dumpFolder();
  try {
    const out = join(dir, 'results.jsonl');
    const r = stackhog('batch', dir, join(dir, 'notes.txt'), '--out', out, '--jobs', '2', '--modules', repoPath('test-data', 'fixtures'));
    assert.equal(r.status, 2, 'a damaged dump makes the exit code 2; the batch still completes');
    const got = lines(out);
    assert.equal(got.length, 6);
    assert.equal(new Set(got.map((l) => l.path)).size, 6);
    const failed = got.filter((l) => l.error !== undefined).map((l) => l.path.slice(dir.length + 1)).sort();
    assert.deepEqual(failed, ['notes.txt']);
    // What could be read of the cut dump is there, with its damage said.
    assert.match(got.find((l) => l.path.endsWith('truncated.dmp'))!.status, /^ERROR_/);
    const sample = got.find((l) => l.path.endsWith('stack_exhaustion.dmp'))!;
    assert.equal(sample.signature, 'crashme.exe+0xa637');
    assert.equal(sample.status, 'OK');
    assert.ok(Array.isArray(sample.threads));
    assert.match(r.stdout, /^4 dumps analysed|^6 dumps analysed/);
    assert.match(r.stdout, / {4}1 {2}crashme\.exe\+0xa637\n {7}first .*stack_exhaustion\.dmp\n/);
    assert.match(r.stdout, /Failed:\n {2}.*notes\.txt: .*not a/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stackhog batch --resume after a kill: every dump exactly once, a line cut by the kill redone', needsCorpus, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackhog-resume-'));
  try {
    const out = join(dir, 'results.jsonl');
    const inputs = [corpusPath('breakpad'), corpusPath('rust-minidump')];
    const all = (await batchInputs(inputs)).length;
    assert.ok(all > 40, `${all} dumps`);
    // Kill the batch (SIGKILL: no cleanup) once its first lines are out.
    const child = spawn(process.execPath, [MAIN, 'batch', ...inputs, '--out', out, '--jobs', '1'], { stdio: 'ignore' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 5) {
          clearInterval(poll);
          child.kill('SIGKILL');
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
    });
    const before = readFileSync(out, 'utf8');
    const kept = before.slice(0, before.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '').length;
    // As if the kill had cut the last line short (it may have): resume drops the cut line.
    if (before.endsWith('\n')) writeFileSync(out, before + '{"path":"/cut/short');
    const r = stackhog('batch', ...inputs, '--out', out, '--jobs', '2', '--resume');
    assert.ok(r.status === 0 || r.status === 2, r.stderr);
    const got = lines(out);
    assert.equal(got.length, all);
    assert.equal(new Set(got.map((l) => l.path)).size, all, 'no dump twice');
    assert.match(r.stdout, new RegExp(`^${all - kept} dumps? analysed in [\\d.]+ s, ${kept} already in `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('renderSummary: biggest group first, first and last file by path, failures listed', () => {
  const text = renderSummary(
    new Map([
      ['/d/b.dmp', { signature: 'app.exe!f', error: undefined }],
      ['/d/a.dmp', { signature: 'app.exe!f', error: undefined }],
      ['/d/c.dmp', { signature: 'app.exe!g', error: undefined }],
      ['/d/x.dmp', { signature: undefined, error: 'cut short' }],
    ]),
    { analysed: 4, skipped: 0, seconds: 1, out: 'r.jsonl' },
  );
  assert.equal(
    text,
    '4 dumps analysed in 1.0 s; 4 in all, 2 signatures, 1 failed\n\n    2  app.exe!f\n       first /d/a.dmp\n       last  /d/b.dmp\n    1  app.exe!g\n       first /d/c.dmp\n\nFailed:\n  /d/x.dmp: cut short\n',
  );
});
