import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { isFormatError } from '../../io/errors.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { PdbFile, readPublicSymbols } from './index.js';

const sentry = (name: string): string => corpusPath('external', 'user', 'sentry-crash', name);

// Expected values from llvm-pdbutil 14 `dump -publics`.
test('crash.pdb: the S_PUB32 records llvm-pdbutil lists, with flags, section:offset and RVA', needsCorpus, async () => {
  const pdb = await PdbFile.open(new BufferSource(readFileSync(sentry('crash.pdb')), 'crash.pdb'));
  const publics = await readPublicSymbols(pdb);
  assert.equal(publics.length, 339);
  const memset = publics.find((p) => p.name === '_memset');
  assert.deepEqual(memset && [memset.flags, memset.section, memset.offset, memset.rva, memset.isCode], [2, 1, 10046, 0x1000 + 10046, true]);
  const imp = publics.find((p) => p.name === '__imp___CxxThrowException@8');
  assert.deepEqual(imp && [imp.flags, imp.section, imp.offset, imp.isCode], [0, 2, 148, false]);
  assert.equal(publics.filter((p) => p.flags === 2).length, 139);
});

test('hostile symbol record stream: a record length of 0 or past the stream is a FormatError', needsCorpus, async () => {
  const good = readFileSync(sentry('crash.pdb'));
  const pdb = await PdbFile.open(new BufferSource(good, 'crash.pdb'));
  const first = await pdb.stream(pdb.dbi.header.symRecordStream)!.read(0, 16);
  // Find the stream's first bytes in the file: the first record's 16 bytes.
  let at = -1;
  for (let i = 0; i + 16 <= good.length && at < 0; i += 4096) if (first.every((b, k) => good[i + k] === b)) at = i;
  assert.ok(at > 0, 'the symbol record stream starts on a block boundary');
  for (const length of [0, 1, 0xffff]) {
    const bytes = new Uint8Array(good);
    new DataView(bytes.buffer).setUint16(at, length, true);
    const hostile = await PdbFile.open(new BufferSource(bytes, 'x.pdb'));
    await assert.rejects(readPublicSymbols(hostile), (e) => isFormatError(e) && e.structure === 'CodeView symbol record', `length ${length}`);
  }
});
