import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { corpusPath, needsCorpus } from '../testing/corpus.js';
import { ExitCode } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);

function stackhog(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const stackLines = (text: string): string[] => text.split(/\r?\n/).filter((l) => l.startsWith('STACK '));

test('stackhog dump-syms crash.pdb crash.exe: MODULE, INFO CODE_ID and the STACK WIN lines of crash.sym', needsCorpus, () => {
  const r = stackhog('dump-syms', sentry('crash.pdb'), sentry('crash.exe'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.equal(r.stderr, '');
  const sym = readFileSync(sentry('crash.sym'), 'utf8');
  assert.deepEqual(r.stdout.split('\n').slice(0, 2), sym.split('\n').slice(0, 2));
  assert.deepEqual(stackLines(r.stdout), stackLines(sym));
});

test('stackhog dump-syms -o: the x64 .sym goes to the file; without the image a note says STACK CFI needs it', needsCorpus, () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackhog-dump-syms-'));
  try {
    const out = join(dir, 'cwe.sym');
    const r = stackhog('dump-syms', sentry('CrashWithException.pdb'), sentry('CrashWithException.exe'), '-o', out);
    assert.equal(r.status, ExitCode.Ok, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(stackLines(readFileSync(out, 'utf8')), stackLines(readFileSync(sentry('CrashWithException.pdb.sym'), 'utf8')));
    const bare = stackhog('dump-syms', sentry('CrashWithException.pdb'));
    assert.equal(bare.status, ExitCode.Ok);
    assert.equal(stackLines(bare.stdout).length, 0);
    assert.match(bare.stderr, /note: no image given/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stackhog dump-syms: a missing file, an image given as the PDB, a PDB given as the image, a mismatched image', needsCorpus, () => {
  assert.equal(stackhog('dump-syms', '/nonexistent.pdb').status, ExitCode.BadInput);
  const swapped = stackhog('dump-syms', sentry('crash.exe'));
  assert.equal(swapped.status, ExitCode.BadInput);
  assert.match(swapped.stderr, /not a PDB/);
  assert.equal(stackhog('dump-syms', sentry('crash.pdb'), sentry('crash.pdb')).status, ExitCode.BadInput);
  const mismatched = stackhog('dump-syms', sentry('crash.pdb'), sentry('CrashWithException.exe'));
  assert.equal(mismatched.status, ExitCode.Ok);
  assert.match(mismatched.stderr, /the image names PDB F535C5FB2AE84BB8AA206C30BE566C5A1, not this one/);
  assert.equal(stackhog('dump-syms').status, ExitCode.Usage);
});
