// Checks the fixtures in test-data/windbg (made by scripts/windbg/make-blog-capture.mjs) against
// the blog's kf listing: a test of the captures, not of the reconstruction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from '../../testing/corpus.js';
import { parseDps, type DpsCapture } from './dps.js';
import { parseKf, type KfRow } from './kf.js';
import { parseLm } from './lm.js';
import { parseSymbol } from './tokens.js';

const read = (name: string): string => readFileSync(repoPath('test-data', 'windbg', name), 'utf8');
const CAPTURES = ['blog-dps.txt', 'blog-dps-2.txt', 'blog-dps-3.txt'];
const TRAP_ENTRY = /^nt!_?(?:KiTrap[0-9a-f]{2}|KiFastCallEntry|KiSystemService)\b/i;
// KTRAP_FRAME (x86) offsets of the interrupted frame's EBP and EIP.
const KTRAP_EBP = 0x60n;
const KTRAP_EIP = 0x68n;

const listing = (): KfRow[] => parseKf(read('blog-kf.txt'));

function moduleOf(location: string): string | undefined {
  return location.startsWith('0x') ? undefined : parseSymbol(location)?.module;
}

/** Walks [E] / [E+4] from `start`, continuing through trap frames as the issue describes. */
function walk(capture: DpsCapture, start: bigint, limit: number): { childFrame: bigint; returnAddress: bigint }[] {
  const rows: { childFrame: bigint; returnAddress: bigint }[] = [];
  let e = start;
  while (rows.length < limit) {
    const saved = capture.words.get(e);
    const ret = capture.words.get(e + 4n);
    if (saved === undefined || ret === undefined) {
      rows.push({ childFrame: e, returnAddress: 0n });
      break;
    }
    rows.push({ childFrame: e, returnAddress: ret });
    if (TRAP_ENTRY.test(capture.symbols.get(ret)?.text ?? '')) {
      rows.push({ childFrame: e, returnAddress: capture.words.get(saved + KTRAP_EIP)! });
      e = capture.words.get(saved + KTRAP_EBP)!;
    } else {
      e = saved;
    }
  }
  return rows;
}

test('blog-kf.txt: 118 rows from b8ae6100 to the user-mode transition, Memory = ChildEBP steps', () => {
  const rows = listing();
  assert.equal(rows.length, 118);
  assert.deepEqual(rows[0], { memory: undefined, childFrame: 0xb8ae6100n, returnAddress: 0xf7a2ec45n, location: 'nt!IofCallDriver+0x45' });
  assert.deepEqual(rows[3], { memory: 8, childFrame: 0xb8ae6144n, returnAddress: 0xb958f4bcn, location: 'BabyHog+0x1196' });
  assert.deepEqual(rows[17], { memory: 0, childFrame: 0xb8ae64b0n, returnAddress: 0x808b64a6n, location: 'nt!_KiTrap0E+0xdc' });
  assert.deepEqual(rows[117], { memory: undefined, childFrame: 0x0335e534n, returnAddress: 0n, location: '0x7c8285ec' });
  assert.equal(rows.filter((r) => r.memory === undefined).length, 2);
  assert.equal(rows.filter((r) => r.memory === 0).length, 4, 'four trap rows repeat their ChildEBP');
  for (let i = 1; i < 117; i++) assert.equal(BigInt(rows[i]!.memory!), rows[i]!.childFrame - rows[i - 1]!.childFrame, `row ${i}`);
});

test('blog-kf.txt: per-module sums of the Memory column; the blog\'s hand sum of the hogs skipped five frames', () => {
  const rows = listing();
  const bytes = new Map<string, number>();
  for (const row of rows) {
    const module = moduleOf(row.location);
    if (row.memory === undefined || module === undefined) continue;
    bytes.set(module, (bytes.get(module) ?? 0) + row.memory);
  }
  assert.deepEqual(Object.fromEntries(bytes), {
    nt: 0xa5c,
    fltmgr: 0xa4,
    BabyHog: 0x258,
    BossHog: 0x320,
    BossHog01: 0x694,
    Ntfs: 0xfa4,
    MamaHog: 0x50c,
    daddyHog: 0x78,
  });
  const hogs = ['BabyHog', 'BossHog', 'BossHog01', 'MamaHog', 'daddyHog'].reduce((s, m) => s + bytes.get(m)!, 0);
  assert.equal(hogs, 4496);
  assert.equal([...bytes.values()].reduce((s, b) => s + b, 0), 0xb8ae8d34 - 0xb8ae6100);
  const skipped = [0xb8ae7048n, 0xb8ae85f0n, 0xb8ae8684n, 0xb8ae8694n, 0xb8ae86bcn].map((e) => rows.find((r) => r.childFrame === e)!);
  assert.ok(skipped.every((r) => moduleOf(r.location) === 'BossHog01'));
  assert.equal(hogs - skipped.reduce((s, r) => s + r.memory!, 0), 4176);
});

test('README.md records the same per-module totals', () => {
  const table = new Map<string, number>();
  for (const m of read('README.md').matchAll(/^\| (\w+) \| 0x([0-9a-f]+) \| (\d+) \| (\d+) \|$/gm)) {
    assert.equal(parseInt(m[2]!, 16), Number(m[3]));
    table.set(m[1]!, Number(m[3]));
  }
  assert.deepEqual(Object.fromEntries(table), { Ntfs: 4004, nt: 2652, BossHog01: 1684, MamaHog: 1292, BossHog: 800, BabyHog: 600, fltmgr: 164, daddyHog: 120 });
});

test('blog-lm.txt: the nine loaded modules; the unloaded one over the stack is not among them', () => {
  const modules = parseLm(read('blog-lm.txt'));
  assert.deepEqual(
    modules.map((m) => m.name),
    ['nt', 'hal', 'daddyHog', 'BossHog01', 'BossHog', 'MamaHog', 'BabyHog', 'Ntfs', 'fltmgr'],
  );
  const rows = listing();
  for (let i = 0; i + 1 < rows.length; i++) {
    const module = moduleOf(rows[i + 1]!.location);
    const holder = modules.find((m) => rows[i]!.returnAddress >= m.start && rows[i]!.returnAddress < m.end);
    assert.equal(holder?.name, module, `row ${i} RetAddr`);
  }
});

for (const name of CAPTURES) {
  test(`${name}: walking [E]/[E+4] and trap frames from b8ae6100 reproduces the listing`, () => {
    const capture = parseDps(read(name));
    const rows = listing();
    assert.equal(capture.wordSize, 4);
    const walked = walk(capture, 0xb8ae6100n, 200);
    assert.deepEqual(
      walked,
      rows.map((r) => ({ childFrame: r.childFrame, returnAddress: r.returnAddress })),
    );
    // The start ip (kf=b8ae6100 b8ae60ec 8081df65) and every RetAddr carry the next row's location.
    assert.equal(capture.words.get(0xb8ae60ecn), 0xb8ae6100n);
    assert.equal(capture.symbols.get(capture.words.get(0xb8ae60f0n)!)?.text, rows[0]!.location);
    for (let i = 0; i + 1 < rows.length; i++) {
      const location = rows[i + 1]!.location;
      assert.equal(capture.symbols.get(rows[i]!.returnAddress)?.text, location.startsWith('0x') ? undefined : location, `row ${i}`);
    }
  });

  test(`${name}: symbols agree with lm, non-code values have none, and junk holds stale frames that lead nowhere`, () => {
    const capture = parseDps(read(name));
    const modules = parseLm(read('blog-lm.txt'));
    const moduleAt = (v: bigint): string | undefined => modules.find((m) => v >= m.start && v < m.end)?.name;
    for (const [address, value] of capture.words) {
      const symbol = capture.symbols.get(value);
      assert.equal(symbol?.module, moduleAt(value), `slot ${address.toString(16)}`);
    }
    // The real chain's frames (and the trap frames) are reached only through the chain itself.
    const walked = walk(capture, 0xb8ae6100n, 200);
    const links = new Set(walked.map((r) => r.childFrame));
    links.add(0xb8ae60ecn);
    const targets = new Set([...links, ...[...links].map((e) => capture.words.get(e)!).filter((v) => v !== undefined)]);
    let stale = 0;
    for (const [address, value] of capture.words) {
      const next = capture.words.get(address + 4n);
      if (next === undefined || !capture.symbols.has(next)) continue;
      if (!links.has(address) && !walked.some((r) => capture.words.get(r.childFrame) === address)) {
        stale++;
        assert.ok(!targets.has(value), `slot ${address.toString(16)} links into the real chain`);
      }
    }
    assert.ok(stale > 60, `only ${stale} stale return addresses`);
  });
}

test('the blog\'s visible dps lines (b8ae60ec..b8ae6148) are in every capture, with the listing\'s names', () => {
  const excerpt = [
    [0xb8ae60ec, 0xb8ae6100], [0xb8ae60f0, 0x8081df65], [0xb8ae60f4, 0x8763f718], [0xb8ae60f8, 0x87758bd8],
    [0xb8ae60fc, 0x8b4abb00], [0xb8ae6100, 0xb8ae6128], [0xb8ae6104, 0xf7a2ec45], [0xb8ae6108, 0x8b4abb00],
    [0xb8ae610c, 0x87758bd8], [0xb8ae6110, 0x00000000], [0xb8ae6114, 0x89751350], [0xb8ae6118, 0x00000080],
    [0xb8ae611c, 0x00000000], [0xb8ae6120, 0xb8ae6130], [0xb8ae6124, 0x8084cff9], [0xb8ae6128, 0xb8ae613c],
    [0xb8ae612c, 0x8081df65], [0xb8ae6130, 0x8765b6a8], [0xb8ae6134, 0x87758bd8], [0xb8ae6138, 0x89751350],
    [0xb8ae613c, 0xb8ae6144], [0xb8ae6140, 0xb958e196], [0xb8ae6144, 0xb8ae61c4], [0xb8ae6148, 0xb958f4bc],
  ] as const;
  for (const name of CAPTURES) {
    const capture = parseDps(read(name));
    for (const [address, value] of excerpt) assert.equal(capture.words.get(BigInt(address)), BigInt(value), `${name} ${address.toString(16)}`);
    assert.equal(capture.symbols.get(0x8084cff9n)?.text, 'nt!MmIsAddressValid+0xf');
    assert.equal(capture.symbols.get(0xb958e196n)?.text, 'BabyHog+0x1196', 'the post\'s dps says BossHog+0x1196; its kf says BabyHog');
  }
});

test('the three captures differ in junk and in form: gap, wraps and prompts, holes', () => {
  const [plain, wrapped, holes] = CAPTURES.map((n) => parseDps(read(n))) as [DpsCapture, DpsCapture, DpsCapture];
  assert.equal(plain.skipped, 1, 'the <omitting output> line');
  assert.deepEqual(plain.ranges, [
    { start: 0xb8ae6000n, end: 0xb8ae6030n },
    { start: 0xb8ae6070n, end: 0xb8ae9004n },
  ]);
  assert.equal(plain.holes.size, 0);
  assert.equal(wrapped.skipped, 1, 'the answer to .kframes');
  assert.equal(wrapped.lines, 0xc01);
  assert.ok(read('blog-dps-2.txt').split('\n').filter((l) => /^[A-Za-z:_]/.test(l) && !/kd>/.test(l) && !l.startsWith('Default')).length > 50, 'wrapped lines');
  assert.equal(holes.holes.size, 17);
  assert.ok(holes.holes.has(0xb8ae9000n));
  for (const [value, symbol] of wrapped.symbols) {
    const other = plain.symbols.get(value) ?? holes.symbols.get(value);
    if (other !== undefined) assert.equal(symbol.text, other.text, 'a wrapped symbol reads back whole');
  }
  let differing = 0;
  for (const [address, value] of plain.words) if (wrapped.words.get(address) !== value) differing++;
  assert.ok(differing > 1000, `only ${differing} slots differ`);
});
