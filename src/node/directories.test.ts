import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileDirectories } from './directories.js';

test('FileDirectories: the paths a lookup tries are answered from directory listings, each directory listed once', async () => {
  const root = mkdtempSync(join(tmpdir(), 'stackhog-dirs-'));
  mkdirSync(join(root, 'app.pdb', 'ABC1'), { recursive: true });
  writeFileSync(join(root, 'app.pdb', 'ABC1', 'app.sym'), 'MODULE windows x86 ABC1 app.pdb\n');
  const dirs = new FileDirectories([root]);
  try {
    const open = dirs.openers[0]!;
    const found = await open(['app.pdb', 'ABC1', 'app.sym']);
    assert.equal(found?.size, 32);
    // Forty misses in the same folders, as the layouts of many modules try them: no more listings.
    for (let i = 0; i < 10; i++) {
      assert.equal(await open([`lib${i}.pdb`, 'ABC1', `lib${i}.sym`]), undefined);
      assert.equal(await open(['app.pdb', `DEF${i}`, 'app.sym']), undefined);
      assert.equal(await open(['app.pdb', 'ABC1', `app${i}.pdb`]), undefined);
      assert.equal(await open([`flat${i}.pdb`]), undefined);
    }
    // The root, app.pdb/ and app.pdb/ABC1/, once each.
    assert.equal(dirs.listed, 3);
    // A segment no listing can answer for is opened as given (and refused by the file system).
    assert.equal(await open(['..', 'etc']), undefined);
  } finally {
    await dirs.close();
    rmSync(root, { recursive: true, force: true });
  }
});
