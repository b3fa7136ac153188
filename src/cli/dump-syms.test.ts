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

/** The record type of a .sym line: its keyword, or LINE for a line record. */
const recordType = (l: string): string => (/^[0-9a-f]+ /.test(l) ? 'LINE' : l.startsWith('STACK ') ? l.split(' ').slice(0, 2).join(' ') : l.split(' ')[0]!);

/** Per record type: ours, theirs, and how many are in both (as sets), with the lines only one side has. */
function compareSym(ours: string, theirs: string): { counts: Record<string, string>; onlyOurs: string[]; onlyTheirs: string[] } {
  const a = ours.split(/\r?\n/).filter((l) => l !== '');
  const b = theirs.split(/\r?\n/).filter((l) => l !== '');
  const sa = new Set(a);
  const sb = new Set(b);
  const counts: Record<string, string> = {};
  for (const type of new Set([...a, ...b].map(recordType))) {
    const mine = new Set(a.filter((l) => recordType(l) === type));
    const other = new Set(b.filter((l) => recordType(l) === type));
    const both = [...mine].filter((l) => other.has(l)).length;
    counts[type] = `${both}/${other.size} (${Math.round((both / Math.max(1, other.size)) * 1000) / 10}%), ours ${mine.size}`;
  }
  return { counts, onlyOurs: a.filter((l) => !sb.has(l)), onlyTheirs: b.filter((l) => !sa.has(l)) };
}

test('stackhog dump-syms crash.pdb crash.exe: MODULE, INFO CODE_ID and the STACK WIN lines of crash.sym', needsCorpus, () => {
  const r = stackhog('dump-syms', sentry('crash.pdb'), sentry('crash.exe'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.equal(r.stderr, '');
  const sym = readFileSync(sentry('crash.sym'), 'utf8');
  assert.deepEqual(r.stdout.split('\n').slice(0, 2), sym.split('\n').slice(0, 2));
  assert.deepEqual(stackLines(r.stdout), stackLines(sym));
});

test('stackhog dump-syms -o: the x64 .sym goes to the file (its STACK CFI symbolic\'s); without the image a note says STACK CFI needs it', needsCorpus, () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackhog-dump-syms-'));
  try {
    const out = join(dir, 'cwe.sym');
    const r = stackhog('dump-syms', sentry('CrashWithException.pdb'), sentry('CrashWithException.exe'), '-o', out);
    assert.equal(r.status, ExitCode.Ok, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(stackLines(readFileSync(out, 'utf8')), stackLines(readFileSync(corpusPath('external', 'expected', 'test_cfi__cfi_pe_windows.snap'), 'utf8')));
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

test('stackhog dump-syms crash.pdb crash.exe against crash.sym: every record, as sets and in order: the output is crash.sym byte for byte', needsCorpus, (t) => {
  const r = stackhog('dump-syms', sentry('crash.pdb'), sentry('crash.exe'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const sym = readFileSync(sentry('crash.sym'), 'utf8');
  const c = compareSym(r.stdout, sym);
  t.diagnostic(JSON.stringify(c.counts));
  assert.deepEqual(c.counts, {
    MODULE: '1/1 (100%), ours 1',
    INFO: '1/1 (100%), ours 1',
    FILE: '147/147 (100%), ours 147',
    FUNC: '92/92 (100%), ours 92',
    LINE: '761/761 (100%), ours 761',
    PUBLIC: '35/35 (100%), ours 35',
    'STACK WIN': '154/154 (100%), ours 154',
  });
  // Folded code (FUNC m) is named after the least decorated name, as DIA keeps it.
  assert.ok(r.stdout.includes('\nFUNC m 3250 3 0 __scrt_initialize_winrt\n') && r.stdout.includes('\nFUNC m 3269 3 0 __scrt_stub_for_acrt_initialize\n'));
  // Parameter sizes from __stdcall names (__scrt_unhandled_exception_filter 4) and from EBP-relative parameters (main 8, swprintf_s c).
  assert.ok(r.stdout.includes('\nFUNC 2910 15e 8 main\n') && r.stdout.includes('\nFUNC 1370 35 c swprintf_s\n') && r.stdout.includes('\nFUNC 3435 41 4 __scrt_unhandled_exception_filter\n'));
  // Same order too: FILE in DIA's numbering, each FUNC with its line records, empty ones included.
  assert.equal(r.stdout, sym);
});

test('stackhog dump-syms CrashWithException.pdb (x64): every record but STACK CFI equals its .sym; STACK CFI equals symbolic\'s unwind snapshot', needsCorpus, (t) => {
  const r = stackhog('dump-syms', sentry('CrashWithException.pdb'), sentry('CrashWithException.exe'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const sym = readFileSync(sentry('CrashWithException.pdb.sym'), 'utf8');
  const c = compareSym(r.stdout, sym);
  t.diagnostic(JSON.stringify(c.counts));
  assert.deepEqual(c.counts, {
    MODULE: '1/1 (100%), ours 1',
    INFO: '1/1 (100%), ours 1',
    FILE: '110/110 (100%), ours 110',
    FUNC: '66/66 (100%), ours 66',
    LINE: '304/304 (100%), ours 304',
    PUBLIC: '33/33 (100%), ours 33',
    // One INIT record a function with every rule, register saves included, as symbolic writes it;
    // dump_syms writes an INIT and a rule line without the registers (the unit tests compare the two).
    'STACK CFI': '0/82 (0%), ours 41',
  });
  // DIA's made-up declarations of static functions without a public, spelt as DIA spells types.
  assert.ok(r.stdout.includes('\nFUNC 15a0 71 0 static void capture_previous_context(struct _CONTEXT *)\n'));
  assert.ok(r.stdout.includes("\nFUNC 20a0 c 0 static  `test'::`1'::dtor$0()\n"));
  assert.ok(c.onlyTheirs.every((l) => l.startsWith('STACK CFI')) && c.onlyOurs.every((l) => l.startsWith('STACK CFI')));
  const snapshot = stackLines(readFileSync(corpusPath('external', 'expected', 'test_cfi__cfi_pe_windows.snap'), 'utf8'));
  assert.deepEqual(stackLines(r.stdout), snapshot);
  assert.equal(r.stdout.split('\n').filter((l) => !l.startsWith('STACK')).join('\n'), sym.split('\n').filter((l) => !l.startsWith('STACK')).join('\n'));
});

test('stackhog dump-syms -i: INLINE and INLINE_ORIGIN records and FILE 0, the FUNC, PUBLIC and STACK lines unchanged', needsCorpus, () => {
  const plain = stackhog('dump-syms', sentry('crash.pdb'), sentry('crash.exe'));
  const inline = stackhog('dump-syms', '-i', sentry('crash.pdb'), sentry('crash.exe'));
  assert.equal(inline.status, ExitCode.Ok, inline.stderr);
  const of = (text: string, type: string): string[] => text.split('\n').filter((l) => l !== '' && recordType(l) === type);
  assert.deepEqual(of(inline.stdout, 'FILE')[0], 'FILE 0 unknown file');
  assert.equal(of(inline.stdout, 'INLINE').length, 273);
  assert.ok(of(inline.stdout, 'INLINE_ORIGIN').length > 100);
  for (const type of ['FUNC', 'PUBLIC', 'STACK WIN']) assert.deepEqual(of(inline.stdout, type), of(plain.stdout, type), type);
  assert.equal(of(plain.stdout, 'INLINE').length, 0);
});
