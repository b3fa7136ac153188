import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { corpusPath } from '../testing/corpus.js';
import { parseBreakpadOutput } from '../testing/breakpad-parity.js';
import { ExitCode } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function stackhog(...args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const start = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - start };
}

test('no argument: the bundled sample (a real stack overflow) is analysed', () => {
  const r = stackhog();
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  assert.match(r.stdout, /Crash reason: {2}EXCEPTION_STACK_OVERFLOW/);
  assert.match(r.stdout, /Thread 0 \(crashed\)/);
  assert.match(r.stdout, /crashme\.exe \+ 0xa6a7/);
});

test('minidump2 with symbols: the crashing thread has the names, files and lines of Breakpad\'s own expected output', () => {
  const reference = parseBreakpadOutput(readFileSync(corpusPath('breakpad', 'minidump2.stackwalk.out'), 'utf8'));
  const expected = reference.threads[reference.crashed!]!;
  const r = stackhog(corpusPath('breakpad', 'minidump2.dmp'), '--symbols', corpusPath('breakpad', 'symbols'));
  assert.equal(r.status, ExitCode.Ok, r.stderr);
  const parsed = parseBreakpadOutput(r.stdout);
  const ours = parsed.threads[parsed.crashed!]!;
  assert.equal(ours.length, 4);
  assert.deepEqual(ours, expected);
});

test('--format json: rust-minidump field names, our stack fields, inlined frames', () => {
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

test('--threads crashed prints only the crashing thread', () => {
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
// the documented exit code, never a JS stack trace, and quickly.
const hostile = [
  ...readdirSync(corpusPath('malformed')).map((n) => corpusPath('malformed', n)),
  ...readdirSync(corpusPath('rust-minidump'))
    .filter((n) => n.startsWith('invalid-'))
    .map((n) => corpusPath('rust-minidump', n)),
];
for (const path of hostile) {
  test(`hostile input is reported, not thrown: ${path.split('/').pop()}`, () => {
    const r = stackhog(path);
    assert.ok(r.ms < 2000, `took ${r.ms} ms`);
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
