import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../io/byte-source.js';
import { FormatError } from '../../io/errors.js';
import { openFileSource } from '../../node/file-source.js';
import { corpusPath, needsCorpus } from '../../testing/corpus.js';
import { msfFile, pdbInfoStream, synthPdb } from '../../testing/synth/index.js';
import { readPdbIdentity } from './identity.js';

const GUID = '3249D99D0C4049318610F4E4FB0B6936';

test('a small MSF: GUID in debug-id order, the DBI age over the info stream age', async () => {
  const id = await readPdbIdentity(new BufferSource(synthPdb({ guid: GUID, infoAge: 3, dbiAge: 1 })));
  assert.deepEqual(id, { guid: GUID, age: 1, infoAge: 3, debugId: `${GUID}1` });
});

test('without a DBI stream the info stream age is the age; ages print in uppercase hex', async () => {
  const id = await readPdbIdentity(new BufferSource(synthPdb({ guid: GUID, infoAge: 0x1a })));
  assert.equal(id?.debugId, `${GUID}1A`);
});

test('a directory of several blocks is followed block by block', async () => {
  const info = new Uint8Array(600);
  info.set(pdbInfoStream(GUID, 2));
  // 200 empty streams push the info stream's block list into the directory's second block.
  const bytes = msfFile([new Uint8Array(0), info, ...Array.from({ length: 200 }, () => new Uint8Array(0))], 512);
  assert.equal((await readPdbIdentity(new BufferSource(bytes)))?.debugId, `${GUID}2`);
});

test('not an MSF file: undefined; a truncated one: a FormatError naming the structure', async () => {
  assert.equal(await readPdbIdentity(new BufferSource(new TextEncoder().encode('MODULE windows x86 ABC crash.pdb\n'.repeat(4)))), undefined);
  const whole = synthPdb({ guid: GUID, infoAge: 1, dbiAge: 1 });
  await assert.rejects(readPdbIdentity(new BufferSource(whole.subarray(0, 512 * 5), 'cut.pdb')), (e: unknown) => e instanceof FormatError && /cut\.pdb/.test(e.message));
});

// Checked against `llvm-pdbutil dump -summary` (GUID, info stream age) and `llvm-pdbutil bytes -stream-data=3` (DBI age).
const CORPUS: [string[], string, number, number][] = [
  [['external', 'user', 'sentry-crash', 'crash.pdb'], '3249D99D0C4049318610F4E4FB0B6936', 1, 1],
  [['external', 'user', 'sentry-crash', 'CrashWithException.pdb'], 'F535C5FB2AE84BB8AA206C30BE566C5A', 1, 1],
  [['external', 'user', 'kdlib', 'targetapp_stacktest_x64_release', 'targetapp.pdb'], 'DC1EB176CD52469895EBBB75895BEC2B', 2, 2],
  [['external', 'user', 'kdlib', 'targetapp_test_cv_allreg_amd64', 'targetapp.pdb'], 'B3715C7EDE8E48A98BE5204FF5C9E3AA', 1, 1],
  [['external', 'user', 'kdlib', 'targetapp_test_cv_allreg_i386', 'targetapp.pdb'], 'A39E8075781D441C964F489A06A62690', 1, 1],
  // Microsoft's stripped public PDB: the info stream says 3, the DBI stream (and the symbol-store key) 1.
  [['external', 'kernel', 'symbols', 'amdppm.pdb', '1C19FDDB27BB3399D9B45973EFEAFCF31', 'amdppm.pdb'], '1C19FDDB27BB3399D9B45973EFEAFCF3', 3, 1],
];

test('corpus PDBs: the GUID and ages llvm-pdbutil reports', needsCorpus, async () => {
  for (const [path, guid, infoAge, age] of CORPUS) {
    const file = await openFileSource(corpusPath(...path));
    try {
      assert.deepEqual(await readPdbIdentity(file.source), { guid, infoAge, age, debugId: guid + age.toString(16).toUpperCase() }, path.join('/'));
    } finally {
      await file.close();
    }
  }
});
