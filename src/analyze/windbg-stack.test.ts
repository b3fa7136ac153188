import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseKf } from '../formats/windbg-text/index.js';
import { kfModuleTotals } from '../report/kf.js';
import { repoPath } from '../testing/corpus.js';
import { analyzeDps } from './windbg-stack.js';

const read = (name: string): string => readFileSync(repoPath('test-data', 'windbg', name), 'utf8');

// The blog's kf listing (test-data/windbg/blog-kf.txt) from b8ae6100 to the KiFastCallEntry row
// before user mode; the dps captures were synthesised from it with different junk.
const listing = parseKf(read('blog-kf.txt')).filter((r) => r.childFrame >= 0xb8ae6000n && r.childFrame < 0xb8ae9000n);

for (const capture of ['blog-dps.txt', 'blog-dps-2.txt', 'blog-dps-3.txt']) {
  for (const lm of [true, false]) {
    test(`stackhog dps ${capture}${lm ? ' --lm blog-lm.txt' : ''}: the blog's kf listing, row for row, with its Memory column`, async () => {
      const a = (await analyzeDps(read(capture), lm ? read('blog-lm.txt') : undefined))!;
      assert.equal(a.command, 'k = b8ae6100 b8ae60f4 8081df65');
      assert.equal(a.rows.length, 117);
      assert.deepEqual(
        a.rows.map((r) => [r.memory, r.childFrame, r.returnAddress, r.location]),
        listing.map((r, i) => [i === 0 ? undefined : BigInt(r.memory ?? 0), r.childFrame, r.returnAddress, r.location]),
      );
    });
  }
}

test('per-module totals are the sums of the kf column: BossHog01 0x694, MamaHog 0x50c, the hogs 4496 bytes', async () => {
  const a = (await analyzeDps(read('blog-dps.txt'), read('blog-lm.txt')))!;
  const totals = new Map(kfModuleTotals(a.rows).map((t) => [t.module, t.bytes]));
  assert.equal(totals.get('BossHog01'), 0x694n);
  assert.equal(totals.get('MamaHog'), 0x50cn);
  const hogs = ['BabyHog', 'BossHog', 'BossHog01', 'MamaHog', 'daddyHog'].reduce((sum, m) => sum + (totals.get(m) ?? 0n), 0n);
  assert.equal(hogs, 4496n);
  // And they equal the sums over the blog's own listing.
  const fromListing = new Map<string, bigint>();
  for (const r of listing.slice(1)) {
    const module = r.location.split(/[!+]/)[0]!;
    fromListing.set(module, (fromListing.get(module) ?? 0n) + BigInt(r.memory ?? 0));
  }
  assert.deepEqual(new Map([...totals].filter(([, b]) => b > 0n)), new Map([...fromListing].filter(([, b]) => b > 0n)));
});

test('--start walks from the given triple: the blog\'s own kf = b8ae6100 b8ae60ec 8081df65', async () => {
  const a = (await analyzeDps(read('blog-dps-3.txt'), read('blog-lm.txt'), { basePtr: 0xb8ae6100n, stackPtr: 0xb8ae60ecn, instructionPtr: 0x8081df65n }))!;
  assert.equal(a.command, 'k = b8ae6100 b8ae60ec 8081df65');
  assert.equal(a.rows.length, 117);
  assert.equal(a.rows[0]!.location, 'nt!IofCallDriver+0x45');
});

test('text that holds no dps lines gives no analysis', async () => {
  assert.equal(await analyzeDps('3: kd> k\nnothing here\n', undefined), undefined);
});

test("the blog's driver loop is reported: BabyHog → BossHog → BossHog01 → IofCallDriver re-entered", async () => {
  const a = (await analyzeDps(read('blog-dps.txt'), read('blog-lm.txt')))!;
  const loop = a.findings.find((f) => f.kind === 'reentrancy')!;
  const cycle = loop.data['cycle'] as string[];
  for (const step of ['BabyHog!HogFarm', 'BossHog!DEVICEDISPATCH::DispatchPassThrough', 'BossHog01!DEVICEDISPATCH::DispatchPassThrough', 'nt!IofCallDriver']) {
    assert.ok(cycle.includes(step), step);
  }
  assert.ok((loop.data['repeats'] as number) >= 2);
  // Each pass's bytes are listed and add up to the total the summary gives.
  const passes = loop.data['bytes_per_pass'] as number[];
  assert.equal(passes.length, loop.data['repeats']);
  assert.equal(passes.reduce((x, y) => x + y, 0), loop.data['bytes']);
  const listed = loop.summary.match(/\(((?:0x[0-9a-f]+(?: \+ )?)+) bytes, /)![1]!.split(' + ').map((h) => Number.parseInt(h, 16));
  assert.deepEqual(listed, passes);
});
