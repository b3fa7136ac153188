import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { corpusPath, hasCorpus, needsCorpus, repoPath } from '../testing/corpus.js';
import { parseBreakpadOutput } from '../testing/breakpad-parity.js';
import { ExitCode } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** Runs the CLI; the only clock is a hang guard (spawnSync blocks, so node:test's timeout cannot fire). */
function stackhog(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return stackhogWithInput(undefined, ...args);
}

/** Runs the CLI with `input` piped to its stdin (a pipe, not a file: no positional reads there). */
function stackhogWithInput(input: Uint8Array | undefined, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024, ...(input ? { input } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('no argument: the bundled sample (a real stack overflow) is analysed', () => {
  const r = stackhog();
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.match(r.stdout, /Crash reason: {2}EXCEPTION_STACK_OVERFLOW/);
  assert.match(r.stdout, /Thread 0 \(crashed\)/);
  assert.match(r.stdout, /crashme\.exe \+ 0xa6a7/);
});

test('--format html: one document on stdout for the sample; --all-frames lists every frame; dps -f html', () => {
  const r = stackhog('--format', 'html');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('<!doctype html>') && r.stdout.trimEnd().endsWith('</html>'));
  assert.match(r.stdout, /<title>stackhog: stack_exhaustion\.dmp<\/title>/);
  assert.match(r.stdout, /data-kind="stack_overflow"/);
  assert.equal([...r.stdout.matchAll(/<details>/g)].length, 1);
  const all = stackhog('--format', 'html', '--all-frames');
  assert.equal([...all.stdout.matchAll(/<details>/g)].length, 0);
  const text = stackhog('--all-frames');
  assert.ok(text.stdout.split('\n').length > 700);
  const dps = stackhog('dps', repoPath('test-data', 'windbg', 'blog-dps.txt'), '--lm', repoPath('test-data', 'windbg', 'blog-lm.txt'), '-f', 'html');
  assert.equal(dps.status, 0, dps.stderr);
  assert.match(dps.stdout, /<svg class="stack-map"/);
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
    { function: 'core::ptr::write_volatile::<u8>', file: '/rustc/fdca237d5194bf8a1c9b437ebd2114d1c2ba6195/library/core/src/ptr/mod.rs', line: 1574 },
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

test('-m or -s before the dump (a Breakpad habit) is a usage error naming the file, never the bundled sample', needsCorpus, () => {
  const dump = corpusPath('breakpad', 'minidump2.dmp');
  for (const flag of ['-m', '-s', '--modules', '--symbols']) {
    const r = stackhog(flag, dump);
    assert.equal(r.status, ExitCode.Usage, `${flag}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /minidump2\.dmp: a file, not a directory/);
  }
  const missing = stackhog(dump, '--symbols', '/no/such/dir');
  assert.equal(missing.status, ExitCode.Usage, missing.stderr);
  assert.match(missing.stderr, /^stackhog: --symbols \/no\/such\/dir: no such directory/);
  assert.equal(stackhog(dump, '--modules', '/no/such/dir').status, ExitCode.Usage);
  // A symbol directory without a dump: the sample would hide that the dump is missing.
  const noDump = stackhog('-s', corpusPath('breakpad', 'symbols'));
  assert.equal(noDump.status, ExitCode.Usage, noDump.stderr);
  assert.match(noDump.stderr, /^stackhog: no dump given/);
});

test('with only output options, the bundled sample is still analysed', () => {
  const r = stackhog('-f', 'json', '--threads', 'crashed');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { crash_info: { type: string } }).crash_info.type, 'EXCEPTION_STACK_OVERFLOW');
});

test('a report that cannot be written (disk full) is an error on stderr, exit 2', { skip: process.platform === 'linux' ? false : '/dev/full is Linux' }, () => {
  const full = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [MAIN], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', full, 'pipe'] });
    assert.equal(r.status, ExitCode.BadInput, r.stderr);
    assert.match(r.stderr, /^stackhog: cannot write the report to stdout \(ENOSPC\)/m);
  } finally {
    closeSync(full);
  }
});

test('a reader that went away (| head) is not an error: quiet, exit 0', async () => {
  const child = spawn(process.execPath, [MAIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Closing our end before the report is written: the CLI's write gets EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  assert.equal(status, ExitCode.Ok, stderr);
  assert.equal(stderr, '');
});

test('every limit hit says so and exits 4: --max-stack-bytes as --max-frames (stderr, the text report, JSON warnings)', needsCorpus, () => {
  const dump = corpusPath('breakpad', 'stack_exhaustion.dmp');
  for (const [flag, value, said] of [
    ['--max-stack-bytes', '4096', /^stackhog: limit: thread 0x1670: only the innermost 4096 of \d+ stack bytes were loaded and searched/m],
    ['--max-frames', '3', /^stackhog: limit: thread 0x1670: the walk stopped at the limit of 3 frames/m],
  ] as const) {
    const text = stackhog(dump, flag, value, '--threads', 'crashed');
    assert.equal(text.status, ExitCode.Limit, `${flag}: ${text.stderr}`);
    assert.match(text.stderr, said);
    assert.match(text.stdout, /\nLimits \(the report is partial there\):\n {2}limit: thread 0x1670: /);
    const json = stackhog(dump, flag, value, '--format', 'json');
    assert.equal(json.status, ExitCode.Limit, json.stderr);
    const warnings = (JSON.parse(json.stdout) as { warnings: string[] }).warnings;
    assert.ok(warnings.some((w) => w.startsWith('limit: thread 0x1670: ')), warnings.join('; '));
  }
});

test('a directory given as the dump says so (EISDIR), not ENOENT', needsCorpus, () => {
  const r = stackhog(corpusPath('breakpad'));
  assert.equal(r.status, ExitCode.BadInput, r.stderr);
  assert.match(r.stderr, /^stackhog: .+\/breakpad: cannot open: is a directory \(EISDIR\)$/m);
});

test('a dump piped in (- or /dev/stdin) is read into memory and analysed like the file; more than --max-stream-bytes is refused', needsCorpus, () => {
  const path = corpusPath('breakpad', 'minidump2.dmp');
  const fromFile = stackhog(path);
  assert.equal(fromFile.status, ExitCode.Ok, fromFile.stderr);
  for (const name of ['-', '/dev/stdin']) {
    const piped = stackhogWithInput(readFileSync(path), name);
    assert.equal(piped.status, ExitCode.Ok, `${name}: ${piped.stderr}`);
    assert.equal(piped.stdout, fromFile.stdout);
  }
  if (process.platform !== 'win32') {
    // A shell pipe (spawnSync's input is a socket), and a file on stdin: read in place by the
    // descriptor, never whole, so a stream cap far below its size does not matter.
    for (const command of ['cat "$1" | "$2" "$3" /dev/stdin', '"$2" "$3" - --max-stream-bytes 4096 < "$1"', '"$2" "$3" /dev/stdin --max-stream-bytes 4096 < "$1"']) {
      const r = spawnSync('/bin/sh', ['-c', command, 'sh', path, process.execPath, MAIN], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, ExitCode.Ok, `${command}: ${r.stderr}`);
      assert.equal(r.stdout, fromFile.stdout, command);
    }
  }
  const capped = stackhogWithInput(readFileSync(path), '-', '--max-stream-bytes', '4096');
  assert.equal(capped.status, ExitCode.Limit, capped.stderr);
  assert.equal(capped.stdout, '');
  assert.match(capped.stderr, /^stackhog: <stdin>: more than 4096 bytes \(--max-stream-bytes\)/);
});

test('--start takes the registers of the dump\'s CPU: a wrong count is a usage error naming the expected form', needsCorpus, () => {
  const x86 = stackhog(corpusPath('breakpad', 'stack_exhaustion.dmp'), '--start', '0x103130,0xdea6a7');
  assert.equal(x86.status, ExitCode.Usage, x86.stderr);
  assert.equal(x86.stdout, '');
  assert.match(x86.stderr, /^stackhog: --start: an x86 thread takes ebp,esp,eip \(3 registers\), not 2$/m);
  const x64 = stackhog(corpusPath('rust-minidump', 'simple-crashpad.dmp'), '--start', '1,2,3');
  assert.equal(x64.status, ExitCode.Usage, x64.stderr);
  assert.match(x64.stderr, /^stackhog: --start: an amd64 thread takes rsp,rip \(2 registers\), not 3$/m);
  // dps: the capture's word width says the CPU (blog-dps.txt is x86).
  const dps = stackhog('dps', repoPath('test-data', 'windbg', 'blog-dps.txt'), '--start', '1,2');
  assert.equal(dps.status, ExitCode.Usage, dps.stderr);
  assert.match(dps.stderr, /^stackhog: --start: an x86 thread takes ebp,esp,eip \(3 registers\), not 2$/m);
});

test('--version prints stackhog and the package version', () => {
  const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
  const r = stackhog('--version');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.equal(r.stdout, `stackhog ${version}\n`);
});

test('--help shows no empty default for repeatable options', () => {
  const r = stackhog('--help');
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.doesNotMatch(r.stdout, /default: \[\]/);
  assert.match(r.stdout, /--symbols <dir>/);
});

test('--findings-only has no kf form: a usage error naming the formats it has', () => {
  const r = stackhog('--findings-only', '-f', 'kf');
  assert.equal(r.status, ExitCode.Usage, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^stackhog: --findings-only prints text or json, not kf/m);
});

test('stackhog dps given an lm or kf listing says what it is instead of rebuilding nonsense', () => {
  const lm = stackhog('dps', repoPath('test-data', 'windbg', 'blog-lm.txt'));
  assert.equal(lm.status, ExitCode.BadInput, lm.stderr);
  assert.equal(lm.stdout, '');
  assert.match(lm.stderr, /^stackhog: .+blog-lm\.txt: this is WinDbg's lm output \(a module list\), not dps: give it as --lm /m);
  const kf = stackhog('dps', repoPath('test-data', 'windbg', 'blog-kf.txt'));
  assert.equal(kf.status, ExitCode.BadInput, kf.stderr);
  assert.match(kf.stderr, /^stackhog: .+blog-kf\.txt: this is a WinDbg k\/kf stack listing, not dps output/m);
});

test('Crashpad annotations (simple and per module) are in the text report, not only in JSON', needsCorpus, () => {
  const mac = stackhog(corpusPath('rust-minidump', 'simple-crashpad.dmp'));
  assert.equal(mac.status, ExitCode.Ok, mac.stderr);
  assert.match(
    mac.stdout,
    /\nCrashpad annotations:\n {2}report id 42f9de72-518a-43dd-97d7-8ddc328d3662, client id 6fd2b3b9-9833-4b2f-bbf7-0bcf501bad7e\n {2}hello = world\n {2}libsystem_c\.dylib: abort\(\) called\n {2}.+: dyld2 mode\n/,
  );
  const ios = stackhog(corpusPath('breakpad', 'minidump_crashpad_annotation.dmp'));
  assert.equal(ios.status, ExitCode.Ok, ios.stderr);
  assert.match(ios.stdout, /\n {2}crashpad = yes\n {2}plat = iOS\n {2}prod = xcuitest\n {2}ver = 1\n/);
  assert.match(ios.stdout, /\n {2}libsystem_sim_platform\.dylib: CoreSimulator 857\.14 - Device: iPhone 14 Pro Max /);
  assert.doesNotMatch(stackhog(corpusPath('breakpad', 'minidump2.dmp')).stdout, /Crashpad annotations/);
});
