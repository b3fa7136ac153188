import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { corpusPath, hasCorpus, needsCorpus, repoPath } from '../testing/corpus.js';
import { parseBreakpadOutput } from '../testing/breakpad-parity.js';
import { ExitCode } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** Runs the CLI; the only clock is a hang guard (spawnSync blocks, so node:test's timeout cannot fire). */
function stackhog(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('no argument: the bundled sample (a real stack overflow) is analysed', () => {
  const r = stackhog();
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.match(r.stdout, /Crash reason: {2}EXCEPTION_STACK_OVERFLOW/);
  assert.match(r.stdout, /Thread 0 \(crashed\)/);
  assert.match(r.stdout, /crashme\.exe \+ 0xa6a7/);
});

test('minidump2 with symbols: the crashing thread has the names, files and lines of Breakpad\'s own expected output', needsCorpus, () => {
  const reference = parseBreakpadOutput(readFileSync(corpusPath('breakpad', 'minidump2.stackwalk.out'), 'utf8'));
  const expected = reference.threads[reference.crashed!]!;
  const r = stackhog(corpusPath('breakpad', 'minidump2.dmp'), '--symbols', corpusPath('breakpad', 'symbols'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const parsed = parseBreakpadOutput(r.stdout);
  const ours = parsed.threads[parsed.crashed!]!;
  assert.equal(ours.length, 4);
  assert.deepEqual(ours, expected);
});

test('--format json: rust-minidump field names, our stack fields, inlined frames', needsCorpus, () => {
  const r = stackhog(
    corpusPath('rust-minidump', 'pipeline-inlines-macos-segv.dmp'),
    '--symbols',
    corpusPath('rust-minidump', 'symbols'),
    '--format',
    'json',
  );
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const json = JSON.parse(r.stdout) as {
    crash_info: { type: string; address: string; crashing_thread: number };
    crashing_thread: { threads_index: number; frames: Record<string, unknown>[]; registers: Record<string, string> };
    threads: unknown[];
    modules: { filename: string; debug_id: string }[];
  };
  assert.equal(json.crash_info.type, 'EXC_BAD_ACCESS / KERN_INVALID_ADDRESS');
  assert.equal(json.crash_info.address, '0xffffffff80000042');
  assert.equal(json.threads.length, 11);
  assert.equal(json.crashing_thread.registers['rip'], '0x0000000102a68cd4');
  const [f0, f1] = json.crashing_thread.frames as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(f0['trust'], 'context');
  assert.equal(f0['function'], 'sadness_generator::raise_segfault');
  assert.equal(f0['offset'], '0x0000000102a68cd4');
  assert.equal(f0['return_address'], null);
  assert.deepEqual(f0['inlines'], [
    { function_name: 'core::ptr::write_volatile::<u8>', file: '/rustc/fdca237d5194bf8a1c9b437ebd2114d1c2ba6195/library/core/src/ptr/mod.rs', line: 1574 },
  ]);
  assert.equal(f1['trust'], 'cfi');
  assert.equal(f1['return_address'], '0x0000000102a5823e');
  assert.equal(f1['offset'], '0x0000000102a5823d');
  assert.equal(f1['function'], 'crash_client::main');
  assert.equal((f1['inlines'] as unknown[]).length, 2);
  // frame_size is the distance between consecutive stack pointers.
  const sp = (f: Record<string, unknown>): bigint => BigInt(f['stack_pointer'] as string);
  assert.equal(f0['frame_size'], Number(sp(f1) - sp(f0)));
  const last = json.crashing_thread.frames[json.crashing_thread.frames.length - 1]!;
  assert.equal(last['frame_size'], null);
});

test('--threads crashed prints only the crashing thread', needsCorpus, () => {
  const r = stackhog(corpusPath('breakpad', 'thread_name_list.dmp'), '--threads', 'crashed');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.equal((r.stdout.match(/^Thread \d+/gm) ?? []).length, 1);
});

test('usage errors exit with the usage code', () => {
  assert.equal(stackhog('--format', 'xml').status, ExitCode.Usage);
  assert.equal(stackhog('--max-frames', '-3').status, ExitCode.Usage);
  assert.equal(stackhog('--help').status, ExitCode.Ok);
});

test('a missing file is unreadable input', () => {
  const r = stackhog('/nonexistent/crash.dmp');
  assert.equal(r.status, ExitCode.BadInput);
  assert.match(r.stderr, /^stackhog: \/nonexistent\/crash\.dmp: cannot open/);
});

// Fuzzed and hostile files: one clear line naming file, structure and offset (or a partial report),
// the documented exit code, never a JS stack trace. The work they cost is bounded in-process by
// fuzz-smoke.test.ts (bytes read of each file), not timed here.
// Without the corpus, the folder itself stands in for its files: one test, skipped.
const hostile = hasCorpus()
  ? [
      ...readdirSync(corpusPath('malformed')).map((n) => corpusPath('malformed', n)),
      ...readdirSync(corpusPath('rust-minidump'))
        .filter((n) => n.startsWith('invalid-'))
        .map((n) => corpusPath('rust-minidump', n)),
    ]
  : [corpusPath('malformed')];
for (const path of hostile) {
  test(`hostile input is reported, not thrown: ${path.split('/').pop()}`, needsCorpus, () => {
    const r = stackhog(path);
    assert.ok(r.status === ExitCode.Ok || r.status === ExitCode.BadInput, `exit ${r.status}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(r.stderr, /internal error/);
    if (r.status === ExitCode.BadInput) {
      const first = r.stderr.split('\n')[0]!;
      assert.match(first, /^stackhog: .+: .+/);
      assert.ok(first.includes(path.split('/').pop()!), 'names the file');
    }
  });
}

test('--format kf: WinDbg columns and per-module totals of the Memory column', needsCorpus, () => {
  const r = stackhog(corpusPath('breakpad', 'stack_exhaustion.dmp'), '--format', 'kf', '--threads', 'crashed');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[1], '  Memory  ChildEBP RetAddr  ');
  assert.equal(lines[2], '         00103128 00dea6a7 crashme+0xa637');
  assert.equal(lines[3], '    10e8 00104210 00dea6a7 crashme+0xa6a7');
  assert.match(r.stdout, /Stack by module \(sum of the Memory column\):\n {2}crashme +0xfcaec +1034988 bytes +243 rows/);
});

test('--format breakpad and breakpad-machine: what Breakpad\'s own tests expect of minidump_stackwalk [-m] minidump2.dmp symbols', needsCorpus, () => {
  const dump = corpusPath('breakpad', 'minidump2.dmp');
  const symbols = corpusPath('breakpad', 'symbols');
  const human = stackhog(dump, '-s', symbols, '--format', 'breakpad');
  assert.equal(human.status, ExitCode.Ok, human.stderr);
  assert.equal(human.stdout, readFileSync(corpusPath('breakpad', 'minidump2.stackwalk.out'), 'utf8'));
  const machine = stackhog(dump, '-s', symbols, '-f', 'breakpad-machine');
  assert.equal(machine.status, ExitCode.Ok, machine.stderr);
  assert.equal(machine.stdout, readFileSync(corpusPath('breakpad', 'minidump2.stackwalk.machine_readable.out'), 'utf8'));
  // Without a symbol directory minidump_stackwalk has no supplier and warns of no missing symbols.
  const bare = stackhog(dump, '--format', 'breakpad');
  assert.equal(bare.status, ExitCode.Ok, bare.stderr);
  assert.match(bare.stdout, /\n 0  test_app\.exe \+ 0x429e\n/);
  assert.doesNotMatch(bare.stdout, /WARNING/);
});

test('--format breakpad --threads crashed: only the crashing thread, as minidump_stackwalk -c prints', needsCorpus, () => {
  const r = stackhog(corpusPath('breakpad', 'tiny-exe-fastfail.dmp'), '--format', 'breakpad', '--threads', 'crashed');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.match(r.stdout, /\nThread 0 \(crashed\)\n/);
  assert.doesNotMatch(r.stdout, /\nThread 1\n/);
  assert.match(r.stdout, /\nLoaded modules:\n/);
});

test('stackhog dps: the blog capture rebuilt as kf, and as JSON', () => {
  const text = stackhog('dps', repoPath('test-data', 'windbg', 'blog-dps.txt'), '--lm', repoPath('test-data', 'windbg', 'blog-lm.txt'));
  assert.equal(text.status, ExitCode.Ok, text.stderr);
  assert.match(text.stdout, /Best chain: k = b8ae6100 b8ae60f4 8081df65 \(117 frames\)/);
  assert.match(text.stdout, /\n {9}b8ae6100 f7a2ec45 nt!IofCallDriver\+0x45\n {6}28 b8ae6128 8081df65 fltmgr!FltpDispatch\+0x6f\n/);
  assert.match(text.stdout, /BossHog01 +0x694/);
  const json = stackhog('dps', repoPath('test-data', 'windbg', 'blog-dps.txt'), '--format', 'json');
  assert.equal(json.status, ExitCode.Ok, json.stderr);
  const parsed = JSON.parse(json.stdout) as { frames: { child_sp: string; ret_addr: string; location: string; memory: number | null }[]; by_module: { module: string; bytes: number; frames: number }[] };
  assert.deepEqual(parsed.frames[1], { child_sp: '0xb8ae6128', ret_addr: '0x8081df65', location: 'fltmgr!FltpDispatch+0x6f', memory: 0x28 });
  assert.deepEqual(parsed.by_module.find((m) => m.module === 'MamaHog'), { module: 'MamaHog', bytes: 0x50c, frames: 5 });
  assert.equal(stackhog('dps', '/nonexistent.txt').status, ExitCode.BadInput);
});

test('--start walks the crashing thread from the given registers', needsCorpus, () => {
  const r = stackhog(corpusPath('breakpad', 'stack_exhaustion.dmp'), '--threads', 'crashed', '--format', 'json', '--start', '0x104210,0x103130,0xdea6a7');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const frames = (JSON.parse(r.stdout) as { crashing_thread: { frames: { offset: string; trust: string }[] } }).crashing_thread.frames;
  assert.equal(frames[0]!.offset, '0x00dea6a7');
  assert.equal(frames.length, 245);
  assert.equal(stackhog('--start', 'zz,1').status, ExitCode.Usage);
});

test('the CLI entry is executable (npx stackhog runs it directly)', async () => {
  const { statSync } = await import('node:fs');
  assert.ok((statSync(MAIN).mode & 0o111) !== 0);
});

test('./stackhog, the README\'s run command, runs the built CLI', { skip: process.platform === 'win32' ? 'a POSIX shell script' : false }, () => {
  const r = spawnSync(repoPath('stackhog'), ['--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.match(r.stdout, /^Usage: stackhog/m);
});

test('--findings-only prints just the findings, and findings are not errors (exit 0)', needsCorpus, () => {
  const text = stackhog(corpusPath('breakpad', 'exec_av_on_stack.dmp'), '--findings-only');
  assert.equal(text.status, ExitCode.Ok, text.stderr);
  assert.match(text.stdout, /^Findings:\n {2}\[critical\] thread 0x1b08 executed code outside any module/);
  assert.doesNotMatch(text.stdout, /Loaded modules/);
  const json = stackhog(corpusPath('breakpad', 'linux_executable_heap.dmp'), '--findings-only', '--format', 'json');
  assert.equal(json.status, ExitCode.Ok, json.stderr);
  const parsed = JSON.parse(json.stdout) as { findings: { kind: string }[] };
  assert.deepEqual(Object.keys(parsed), ['findings']);
  assert.ok(parsed.findings.some((f) => f.kind === 'executable_heap'));
  assert.equal(stackhog(corpusPath('breakpad', 'minidump2.dmp'), '--findings-only').stdout, 'No findings.\n');
});
