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

/** Line indexes where two texts differ (same length expected). */
function differingLines(ours: string, theirs: string): number[] {
  const a = ours.split(/\r?\n/);
  const b = theirs.split(/\r?\n/);
  assert.equal(a.length, b.length, 'as many lines as dump_syms wrote');
  return a.flatMap((l, i) => (l === b[i] ? [] : [i]));
}

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

test('stackhog dump-syms crash.pdb crash.exe against crash.sym: every record, as sets and in order, but 2 folded FUNC names', needsCorpus, (t) => {
  const r = stackhog('dump-syms', sentry('crash.pdb'), sentry('crash.exe'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const sym = readFileSync(sentry('crash.sym'), 'utf8');
  const c = compareSym(r.stdout, sym);
  t.diagnostic(JSON.stringify(c.counts));
  assert.deepEqual(c.counts, {
    MODULE: '1/1 (100%), ours 1',
    INFO: '1/1 (100%), ours 1',
    FILE: '147/147 (100%), ours 147',
    FUNC: '90/92 (97.8%), ours 92',
    LINE: '761/761 (100%), ours 761',
    PUBLIC: '35/35 (100%), ours 35',
    'STACK WIN': '154/154 (100%), ours 154',
  });
  // Folded code: DIA names it after a later procedure than the first in stream order, an order the PDB does not record.
  assert.deepEqual(c.onlyTheirs, ['FUNC m 3250 3 0 __scrt_initialize_winrt', 'FUNC m 3269 3 0 __scrt_stub_for_acrt_initialize']);
  assert.deepEqual(c.onlyOurs, ['FUNC m 3250 3 0 _get_startup_commit_mode', 'FUNC m 3269 3 0 _should_initialize_environment']);
  // Parameter sizes from __stdcall names (__scrt_unhandled_exception_filter 4) and from EBP-relative parameters (main 8, swprintf_s c).
  assert.ok(r.stdout.includes('\nFUNC 2910 15e 8 main\n') && r.stdout.includes('\nFUNC 1370 35 c swprintf_s\n') && r.stdout.includes('\nFUNC 3435 41 4 __scrt_unhandled_exception_filter\n'));
  // Same order too: FILE in DIA's numbering, each FUNC with its line records, empty ones included.
  assert.equal(differingLines(r.stdout, sym).length, 2);
});

test('stackhog dump-syms CrashWithException.pdb (x64) against its .sym: every record but 10 FUNC names DIA spells otherwise', needsCorpus, (t) => {
  const r = stackhog('dump-syms', sentry('CrashWithException.pdb'), sentry('CrashWithException.exe'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const sym = readFileSync(sentry('CrashWithException.pdb.sym'), 'utf8');
  const c = compareSym(r.stdout, sym);
  t.diagnostic(JSON.stringify(c.counts));
  assert.deepEqual(c.counts, {
    MODULE: '1/1 (100%), ours 1',
    INFO: '1/1 (100%), ours 1',
    FILE: '110/110 (100%), ours 110',
    FUNC: '56/66 (84.8%), ours 66',
    LINE: '304/304 (100%), ours 304',
    PUBLIC: '33/33 (100%), ours 33',
    'STACK CFI': '82/82 (100%), ours 82',
  });
  // DIA prints x64 functions without a public as declarations, from type data stackhog does not
  // spell that way (`struct _CONTEXT *`, "static  " before a funclet's empty return type).
  assert.deepEqual(c.onlyTheirs, [
    'FUNC 1224 b7 0 static int pre_c_initialization()',
    'FUNC 12dc 10 0 static int post_pgo_initialization()',
    'FUNC 12ec 19 0 static void pre_cpp_initialization()',
    'FUNC 1308 17c 0 static int __scrt_common_main_seh()',
    'FUNC 15a0 71 0 static void capture_previous_context(struct _CONTEXT *)',
    // Folded code, as in crash.sym.
    'FUNC m 1b0c 3 0 _scrt_initialize_winrt',
    'FUNC m 1b30 3 0 _scrt_stub_for_acrt_initialize',
    "FUNC 20a0 c 0 static  `test'::`1'::dtor$0()",
    "FUNC 20ac 1e 0 static  `__scrt_common_main_seh'::`1'::filt$0()",
    'FUNC 20ca 18 0 static  __scrt_is_nonwritable_in_current_image$filt$0()',
  ]);
  assert.deepEqual(c.onlyOurs, [
    'FUNC 1224 b7 0 pre_c_initialization',
    'FUNC 12dc 10 0 post_pgo_initialization',
    'FUNC 12ec 19 0 pre_cpp_initialization',
    'FUNC 1308 17c 0 __scrt_common_main_seh',
    'FUNC 15a0 71 0 capture_previous_context',
    'FUNC m 1b0c 3 0 get_startup_commit_mode',
    'FUNC m 1b30 3 0 should_initialize_environment',
    "FUNC 20a0 c 0 `test'::`1'::dtor$0",
    "FUNC 20ac 1e 0 `__scrt_common_main_seh'::`1'::filt$0",
    'FUNC 20ca 18 0 __scrt_is_nonwritable_in_current_image$filt$0',
  ]);
  assert.equal(differingLines(r.stdout, sym).length, 10);
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
