// The blog's stack as WinDbg text (test-data/windbg: three `dps` captures with different junk, an
// `lm` listing, the post's kf listing): the best chain found in each capture is the listing, row
// for row from b8ae6100 down to the KiFastCallEntry row before user mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dpsStackView } from '../../analyze/windbg-stack.js';
import { parseDps, parseKf, parseLm } from '../../formats/windbg-text/index.js';
import { repoPath } from '../../testing/corpus.js';
import { findChains } from './find-chains.js';
import { startCommand } from './reconstruct.js';
import { walkFrom } from './walk-from.js';

const read = (name: string): string => readFileSync(repoPath('test-data', 'windbg', name), 'utf8');

for (const name of ['blog-dps.txt', 'blog-dps-2.txt', 'blog-dps-3.txt']) {
  test(`${name}: the best chain reproduces blog-kf.txt from b8ae6100 to the user-mode transition`, async () => {
    const view = dpsStackView(parseDps(read(name)), parseLm(read('blog-lm.txt')))!;
    const listing = parseKf(read('blog-kf.txt'));
    // The last row is the user-mode frame above the stack: the chain ends with the KiFastCallEntry row before it.
    const expected = listing.filter((r) => r.childFrame >= view.start && r.childFrame < view.end);
    assert.equal(expected.length, 117);
    const chains = await findChains(view);
    const best = chains[0]!;
    assert.equal(startCommand(best.start, 'x86'), 'k = b8ae6100 b8ae60f4 8081df65');
    assert.deepEqual(
      best.frames.map((f) => [f.childFrame, f.returnAddress, f.trap]),
      expected.map((r) => [r.childFrame, r.returnAddress, r.memory === 0]),
    );
    // The location column: each row's ip is named as the listing names it.
    for (let i = 0; i < expected.length; i++) assert.equal(await view.describe(best.frames[i]!.ip), expected[i]!.location, `row ${i}`);
    // The blog's own start gives the same rows.
    const blog = await walkFrom(view, { basePtr: 0xb8ae6100n, stackPtr: 0xb8ae60ecn, instructionPtr: 0x8081df65n });
    assert.deepEqual(blog.slice(1), best.frames.slice(1));
    for (const other of chains.slice(1)) assert.ok(other.score < best.score / 4, `alternative ${startCommand(other.start, 'x86')} scores ${other.score}`);
  });
}
