import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
// The package's own public entry points, as the README's library example uses them.
import { analyze, analyzeMinidump, BufferSource, isFormatError, renderKf, renderText, toJson, SymbolStoreProvider } from 'stackhog';
import { openFileSource, FileDirectories } from 'stackhog/node';
import { corpusPath, needsCorpus, repoPath } from './testing/corpus.js';

test('README library example: file source + symbol directories', needsCorpus, async () => {
  const file = await openFileSource(corpusPath('breakpad', 'minidump2.dmp'));
  const dirs = new FileDirectories([corpusPath('breakpad', 'symbols')]);
  try {
    const analysis = await analyzeMinidump(file.source, { symbols: new SymbolStoreProvider(dirs.openers) });
    assert.equal(analysis.crash?.reason, 'EXCEPTION_ACCESS_VIOLATION_WRITE');
    const frames = analysis.threads[analysis.crashingThreadIndex ?? 0]?.frames ?? [];
    assert.deepEqual(
      frames.map((f) => f.symbol?.functionName),
      ["`anonymous namespace'::CrashFunction", 'main', '__tmainCRTStartup', 'BaseProcessStart'],
    );
    assert.match(renderText(analysis), /test_app\.exe!main \[test_app\.cc : 65 \+ 0x5\]/);
    assert.ok(JSON.stringify(toJson(analysis)).includes('"function":"main"'));
  } finally {
    await Promise.all([file.close(), dirs.close()]);
  }
});

test('README library example: images, kf; a file that is not a dump is a FormatError', async () => {
  const dump = await openFileSource(repoPath('test-data', 'fixtures', 'nested.dmp'));
  const images = new FileDirectories([repoPath('test-data', 'fixtures')]);
  try {
    const analysis = await analyze(dump.source, { images: images.openers });
    assert.match(renderKf(analysis), /nested!c\+0x71|nested\+0x17d1/);
    assert.ok(analysis.threads[0]!.frames.length >= 8, 'PE unwind data walks past c');
  } finally {
    await Promise.all([dump.close(), images.close()]);
  }
  await assert.rejects(analyze(new BufferSource(new TextEncoder().encode('hello world, not a dump at all'), 'x.txt')), (e) => {
    assert.ok(isFormatError(e));
    assert.equal(e.file, 'x.txt');
    return true;
  });
});

test('the core works on bytes in memory (as in a browser)', needsCorpus, async () => {
  const bytes = readFileSync(corpusPath('breakpad', 'minidump2.dmp'));
  const analysis = await analyzeMinidump(new BufferSource(new Uint8Array(bytes), 'minidump2.dmp'));
  assert.equal(analysis.threads.length, 1); // the second thread wrote the dump: skipped, as Breakpad does
  assert.equal(analysis.threads[0]?.frames[0]?.ip, 0x0040429en);
});

test('the core imports nothing from Node', () => {
  const root = new URL('.', import.meta.url).pathname;
  const shells = new Set(['cli', 'node', 'service', 'testing']);
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = `${dir}/${name}`;
      if (statSync(path).isDirectory()) {
        if (dir === root.replace(/\/$/, '') && shells.has(name)) continue;
        walk(path);
      } else if (name.endsWith('.js') && !name.endsWith('.test.js')) {
        const text = readFileSync(path, 'utf8');
        if (/from ['"](node:|fs|path|os|url|child_process)/.test(text)) offenders.push(path);
      }
    }
  };
  walk(root.replace(/\/$/, ''));
  assert.deepEqual(offenders, []);
});
