import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../analyze/process.js';
import type { AnalyzeOptions } from '../analyze/types.js';
import { FileDirectories } from '../node/directories.js';
import { openFileSource } from '../node/file-source.js';
import { corpusPath, needsCorpus, repoPath } from '../testing/corpus.js';
import { Section, SynthMinidump, minidumpString } from '../testing/synth/index.js';
import { toJson } from './json.js';

type Doc = Record<string, unknown> & {
  status: string;
  thread_count: number;
  threads: { thread_id: number; frame_count: number; frames: Record<string, unknown>[] }[];
  crash_info: { crashing_thread: number | null };
  crashing_thread: { threads_index: number; thread_id: number; frames: Record<string, unknown>[] } | null;
  modules: { code_id: string; filename: string; missing_symbols: boolean }[];
};

async function json(path: string, options: AnalyzeOptions = {}, threads: 'all' | 'crashed' = 'all', modules?: string): Promise<Doc> {
  const file = await openFileSource(path);
  const dirs = new FileDirectories(modules ? [modules] : []);
  try {
    const analysis = await analyze(file.source, { ...options, ...(modules ? { images: dirs.openers } : {}) });
    return JSON.parse(JSON.stringify(toJson(analysis, { threads }))) as Doc;
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
}

test('--threads crashed: thread_count, crashing_thread and threads_index all index the one thread listed', needsCorpus, async () => {
  const all = await json(corpusPath('breakpad', 'thread_name_list.dmp'));
  const one = await json(corpusPath('breakpad', 'thread_name_list.dmp'), { crashedThreadOnly: true }, 'crashed');
  assert.ok(all.threads.length > 1);
  assert.equal(one.thread_count, 1);
  assert.equal(one.threads.length, 1);
  assert.equal(one.crash_info.crashing_thread, 0);
  assert.equal(one.crashing_thread!.threads_index, 0);
  assert.equal(one.threads[0]!.thread_id, one.crashing_thread!.thread_id);
  assert.equal(one['threads_omitted'], all.threads.length - 1);
});

test('the thread that wrote the dump is listed with no frames, as rust-minidump lists it', needsCorpus, async () => {
  const doc = await json(corpusPath('rust-minidump', 'test.dmp'));
  assert.deepEqual(
    doc.threads.map((t) => [t.thread_id, t.frame_count]),
    [
      [3060, 4],
      [4544, 0],
    ],
  );
  assert.equal(doc.thread_count, 2);
});

test('status: OK for a whole dump, ERROR_DAMAGED_INPUT when parts were unreadable, LIMIT_REACHED when a limit cut the walk', needsCorpus, async () => {
  assert.equal((await json(corpusPath('rust-minidump', 'test.dmp'))).status, 'OK');
  assert.equal((await json(corpusPath('rust-minidump', 'test.dmp'), { walk: { maxFrames: 2 } })).status, 'LIMIT_REACHED');
  assert.equal((await json(corpusPath('rust-minidump', 'invalid-range.dmp'))).status.startsWith('ERROR_'), true);
});

test('code ids are lowercase; a macOS module\'s is its UUID', needsCorpus, async () => {
  const windows = await json(corpusPath('rust-minidump', 'test.dmp'));
  assert.equal(windows.modules[0]!.code_id, '45d35f6c2d000');
  const mac = await json(corpusPath('rust-minidump', 'pipeline-inlines-macos-segv.dmp'));
  assert.equal(mac.modules[0]!.code_id, '509c0610949836f7b70bd88bcf03e540');
});

test('modules: missing_symbols only when a given symbol store was searched and had nothing', needsCorpus, async () => {
  const none = await json(corpusPath('rust-minidump', 'test.dmp'));
  assert.ok(none.modules.every((m) => !m.missing_symbols));
});

test('a name from the PE export table is stackhog\'s exported_function; rust-minidump\'s function stays null', async () => {
  const doc = await json(repoPath('test-data', 'fixtures', 'nested.dmp'), {}, 'all', repoPath('test-data', 'fixtures'));
  const f0 = doc.crashing_thread!.frames[0]!;
  assert.equal(f0['function'], null);
  assert.equal(f0['missing_symbols'], true);
  assert.equal(f0['exported_function'], 'c');
  assert.equal(f0['symbol_source'], 'exports');
  assert.match(f0['exported_function_offset'] as string, /^0x[0-9a-f]{16}$/);
});

test('x86 registers use rust-minidump\'s names (eflags), on the crashing thread\'s first frame', needsCorpus, async () => {
  const doc = await json(corpusPath('rust-minidump', 'test.dmp'));
  const registers = doc.crashing_thread!.frames[0]!['registers'] as Record<string, string>;
  assert.equal(registers['eflags'], '0x00010246');
  assert.equal(registers['efl'], undefined);
  assert.equal(doc.crashing_thread!.frames[1]!['registers'], undefined);
});

test('Linux and Mozilla streams: lsb_release from os-release, proc_limits, mac_boot_args, soft_errors, pid from /proc/self/status', async () => {
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: 'linux', version: [0, 0, 0], csd: 'Linux 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29) x86_64' })
    .thread({ id: 7 })
    .linuxText(0x47670005, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n')
    .linuxText(0x47670004, 'Name:\tcrash\nPid:\t4242\nPPid:\t1\n')
    .linuxText(
      0x4d7a0003,
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
        'Max cpu time              unlimited            unlimited            seconds   \n' +
        'Max stack size            8388608              unlimited            bytes     \n',
    )
    .linuxText(0x4d7a0004, '[{"InitErrors":[]}]')
    .stream(0x4d7a0002, (s, place) => {
      s.u32(0x4d7a0002).u64(place(minidumpString('-v keepsyms=1')).rva);
    });
  const analysis = await analyze(dump.source());
  const doc = JSON.parse(JSON.stringify(toJson(analysis))) as Record<string, unknown>;
  assert.deepEqual(doc['lsb_release'], { id: 'debian', release: '12', codename: 'bookworm', description: 'Debian GNU/Linux 12 (bookworm)' });
  assert.deepEqual(doc['proc_limits'], {
    limits: [
      { name: 'Max cpu time', soft: 'unlimited', hard: 'unlimited', unit: 'seconds' },
      { name: 'Max stack size', soft: 8388608, hard: 'unlimited', unit: 'bytes' },
    ],
  });
  assert.equal(doc['mac_boot_args'], '-v keepsyms=1');
  assert.deepEqual(doc['soft_errors'], [{ InitErrors: [] }]);
  assert.equal(doc['pid'], 4242);
  assert.equal((doc['system_info'] as Record<string, unknown>)['os_ver'], '6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)');
  assert.equal(doc['handles'], null);
  assert.equal(doc['linux_memory_map_count'], null);
});

test('the handle table: every descriptor with its type and object names (a real Windows dump)', needsCorpus, async () => {
  const doc = await json(corpusPath('breakpad', 'tiny-exe-with-cet-xsave.dmp'));
  const handles = doc['handles'] as { handle: number; type_name: string | null; object_name: string | null }[];
  assert.equal(handles.length, 147);
  assert.deepEqual(handles[0], { handle: 4, type_name: 'File', object_name: null });
});

test('mac_crash_info: version-5 records with their numbers and strings; empty strings are null', async () => {
  const record = (message: string): Uint8Array => {
    const fixed = new Section(0n).u64(0x4d7a0001).u64(5).u64(0x1234).u64(0).u64(0x6).finish();
    const text = new TextEncoder().encode(`/usr/lib/libsystem_c.dylib\0${message}\0\0\0\0`);
    const out = new Uint8Array(fixed.length + text.length);
    out.set(fixed);
    out.set(text, fixed.length);
    return out;
  };
  const dump = new SynthMinidump()
    .systemInfo({ cpu: 'amd64', platform: 'mac' })
    .thread({ id: 1 })
    .stream(0x4d7a0001, (s, place) => {
      s.u32(0x4d7a0001).u32(2).u32(40);
      for (const m of ['abort() called', 'second']) {
        const loc = place(record(m));
        s.u32(loc.size).u32(loc.rva);
      }
      for (let i = 2; i < 20; i++) s.u32(0).u32(0);
    });
  const doc = JSON.parse(JSON.stringify(toJson(await analyze(dump.source())))) as Record<string, unknown>;
  assert.deepEqual(doc['mac_crash_info'], {
    num_records: 2,
    records: ['abort() called', 'second'].map((message) => ({
      thread: '0x0000000000001234',
      dialog_mode: '0x0000000000000000',
      abort_cause: '0x0000000000000006',
      module: '/usr/lib/libsystem_c.dylib',
      message,
      signature_string: null,
      backtrace: null,
      message2: null,
    })),
  });
});

test('last_error_value: the TEB\'s LastErrorValue (13 pointers in) in rust-minidump\'s words', needsCorpus, async () => {
  const doc = await json(corpusPath('breakpad', 'tiny-exe-fastfail.dmp'));
  assert.deepEqual(
    doc.threads.map((t) => (t as unknown as { last_error_value: string | null }).last_error_value),
    ['ERROR_ALREADY_EXISTS', 'ERROR_SUCCESS', 'ERROR_SUCCESS', 'ERROR_SUCCESS'],
  );
  const teb = 0x7ffde000n;
  const word = new Uint8Array(4);
  new DataView(word.buffer).setUint32(0, 0xc0000022, true);
  const dump = new SynthMinidump().systemInfo({ cpu: 'x86', platform: 'windows' }).thread({ id: 5, teb }).memory(teb + 0x34n, word);
  const synth = JSON.parse(JSON.stringify(toJson(await analyze(dump.source())))) as { threads: { last_error_value: string }[] };
  assert.equal(synth.threads[0]!.last_error_value, 'STATUS_ACCESS_DENIED');
});
