// The blog's case (../shared/seeds/got-stack-part2-manual-stack-reconstruction.txt): a kernel stack
// rebuilt by hand from `dps` with `kf = b8ae6100 b8ae60ec 8081df65`. The stack here is written from
// the blog's own kf listing (frames, two KiTrap0E page faults, a kernel-mode system call and the
// final KiFastCallEntry from user mode), with stale junk between the frames and the blog's `dps`
// excerpt verbatim; walkFrom and findChains must give the listing back row for row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findChains } from './find-chains.js';
import { reconstructStack, startCommand } from './reconstruct.js';
import type { RecoveredFrame } from './stack-view.js';
import { fillJunk, MemoryStackView, writeKfStack, type KfRow } from './testing.js';
import { walkFrom } from './walk-from.js';

/** The blog's listing (`kf=b8ae6100 b8ae60ec 8081df65`), the user-mode row after the last system call included. */
const BLOG_KF = `
  b8ae6100 f7a2ec45 nt!IofCallDriver+0x45
  28 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f
  14 b8ae613c b958e196 nt!IofCallDriver+0x45
  8 b8ae6144 b958f4bc BabyHog+0x1196
  80 b8ae61c4 8081df65 BabyHog!HogFarm+0x88c
  14 b8ae61d8 b80c18a6 nt!IofCallDriver+0x45
  84 b8ae625c b80cf367 BossHog+0x78a6
  10 b8ae626c b80cf3b7 BossHog+0x15367
  28 b8ae6294 8081df65 BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae62a8 b76fbcf7 nt!IofCallDriver+0x45
  84 b8ae632c b7709ae6 BossHog01+0x7cf7
  10 b8ae633c b7709b36 BossHog01+0x15ae6
  28 b8ae6364 8081df65 BossHog01!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae6378 8081e4ed nt!IofCallDriver+0x45
  18 b8ae6390 8085114a nt!IoPageRead+0x109
  9c b8ae642c 8085ea66 nt!MiDispatchFault+0xece
  84 b8ae64b0 8088c798 nt!MmAccessFault+0x89e
  0 b8ae64b0 808b64a6 nt!_KiTrap0E+0xdc
  c8 b8ae6578 bae5af2d nt!CcMapData+0x8c
  20 b8ae6598 bae5849b Ntfs!NtfsMapStream+0x4b
  74 b8ae660c bae5adf0 Ntfs!NtfsReadMftRecord+0x86
  38 b8ae6644 bae5afac Ntfs!NtfsReadFileRecord+0x7a
  38 b8ae667c bae19903 Ntfs!NtfsLookupInFileRecord+0x37
  110 b8ae678c bae1a6c4 Ntfs!NtfsLookupAllocation+0xdd
  1d0 b8ae695c bae1a87c Ntfs!NtfsPrepareBuffers+0x25d
  1dc b8ae6b38 bae1b1a6 Ntfs!NtfsNonCachedIo+0x1ee
  ec b8ae6c24 bae1b0c9 Ntfs!NtfsCommonRead+0xaf5
  1ac b8ae6dd0 8081df65 Ntfs!NtfsFsdRead+0x113
  14 b8ae6de4 f7a2ec45 nt!IofCallDriver+0x45
  28 b8ae6e0c 8081df65 fltmgr!FltpDispatch+0x6f
  14 b8ae6e20 b958e196 nt!IofCallDriver+0x45
  8 b8ae6e28 b958f4bc BabyHog+0x1196
  80 b8ae6ea8 8081df65 BabyHog!HogFarm+0x88c
  14 b8ae6ebc b80c18a6 nt!IofCallDriver+0x45
  84 b8ae6f40 b80cf367 BossHog+0x78a6
  10 b8ae6f50 b80cf3b7 BossHog+0x15367
  28 b8ae6f78 8081df65 BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae6f8c b76fbcf7 nt!IofCallDriver+0x45
  84 b8ae7010 b7709ae6 BossHog01+0x7cf7
  10 b8ae7020 b7709b36 BossHog01+0x15ae6
  28 b8ae7048 8081df65 BossHog01!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae705c 8081e4ed nt!IofCallDriver+0x45
  18 b8ae7074 8085114a nt!IoPageRead+0x109
  9c b8ae7110 8085ea66 nt!MiDispatchFault+0xece
  84 b8ae7194 8088c798 nt!MmAccessFault+0x89e
  0 b8ae7194 808b64a6 nt!_KiTrap0E+0xdc
  c8 b8ae725c bae5af2d nt!CcMapData+0x8c
  20 b8ae727c bae5d9d5 Ntfs!NtfsMapStream+0x4b
  30 b8ae72ac bae5f5e4 Ntfs!ReadIndexBuffer+0x8f
  174 b8ae7420 bae5f786 Ntfs!NtfsUpdateFileNameInIndex+0x62
  fc b8ae751c bae5f8c6 Ntfs!NtfsUpdateDuplicateInfo+0x2b0
  208 b8ae7724 bae5c8d9 Ntfs!NtfsCommonCleanup+0x1e82
  170 b8ae7894 8081df65 Ntfs!NtfsFsdCleanup+0xcf
  14 b8ae78a8 f7a2ec45 nt!IofCallDriver+0x45
  28 b8ae78d0 8081df65 fltmgr!FltpDispatch+0x6f
  14 b8ae78e4 b958e196 nt!IofCallDriver+0x45
  8 b8ae78ec b958f472 BabyHog+0x1196
  80 b8ae796c 8081df65 BabyHog!HogFarm+0x842
  14 b8ae7980 b80c18a6 nt!IofCallDriver+0x45
  84 b8ae7a04 b80cf367 BossHog+0x78a6
  10 b8ae7a14 b80cf3b7 BossHog+0x15367
  28 b8ae7a3c 8081df65 BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae7a50 b770a8ac nt!IofCallDriver+0x45
  28 b8ae7a78 b76fb994 BossHog01!DEVICEDISPATCH::LowerDevicePassThrough+0x48
  7c b8ae7af4 b76fbbaf BossHog01+0x7994
  94 b8ae7b88 b7709ae6 BossHog01+0x7baf
  10 b8ae7b98 b7709b36 BossHog01+0x15ae6
  28 b8ae7bc0 8081df65 BossHog01!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae7bd4 808f9732 nt!IofCallDriver+0x45
  30 b8ae7c04 80934bac nt!IopCloseFile+0x2ae
  30 b8ae7c34 809344ad nt!ObpDecrementHandleCount+0xcc
  28 b8ae7c5c 80934546 nt!ObpCloseHandleTableEntry+0x131
  44 b8ae7ca0 80934663 nt!ObpCloseHandle+0x82
  10 b8ae7cb0 8088978c nt!NtClose+0x1b
  0 b8ae7cb0 8082e811 nt!KiFastCallEntry+0xfc
  7c b8ae7d2c b8d8ec2d nt!ZwClose+0x11
  50 b8ae7d7c b8d8ede5 MamaHog+0x5c2d
  54 b8ae7dd0 b8d8fa85 MamaHog+0x5de5
  164 b8ae7f34 b8d917fe MamaHog+0x6a85
  40 b8ae7f74 b8d8d22a MamaHog+0x87fe
  2c4 b8ae8238 b958ecdf MamaHog+0x422a
  24 b8ae825c b958eee0 BabyHog!HogFarm+0xaf
  34 b8ae8290 8081e103 BabyHog!HogFarm+0x2b0
  30 b8ae82c0 bae1a22c nt!IopfCompleteRequest+0xcd
  10 b8ae82d0 bae5c00a Ntfs!NtfsCompleteRequest+0xc8
  104 b8ae83d4 8081df65 Ntfs!NtfsFsdCreate+0x48c
  14 b8ae83e8 f7a3c458 nt!IofCallDriver+0x45
  2c b8ae8414 8081df65 fltmgr!FltpCreate+0xe4
  14 b8ae8428 b958e196 nt!IofCallDriver+0x45
  8 b8ae8430 b958f71c BabyHog+0x1196
  60 b8ae8490 8081df65 BabyHog!HogFarm+0xaec
  14 b8ae84a4 b80d012b nt!IofCallDriver+0x45
  28 b8ae84cc b80c1862 BossHog!DEVICEDISPATCH::LowerDevicePassThrough+0x48
  8c b8ae8558 b80cf367 BossHog+0x7862
  10 b8ae8568 b80cf3b7 BossHog+0x15367
  28 b8ae8590 8081df65 BossHog!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae85a4 b76f9639 nt!IofCallDriver+0x45
  4c b8ae85f0 b76fbb42 BossHog01+0x5639
  94 b8ae8684 b7709ae6 BossHog01+0x7b42
  10 b8ae8694 b7709b36 BossHog01+0x15ae6
  28 b8ae86bc 8081df65 BossHog01!DEVICEDISPATCH::DispatchPassThrough+0x48
  14 b8ae86d0 808f8f71 nt!IofCallDriver+0x45
  e8 b8ae87b8 80937942 nt!IopParseDevice+0xa35
  80 b8ae8838 80933a76 nt!ObpLookupObjectName+0x5b0
  54 b8ae888c 808eae25 nt!ObOpenObjectByName+0xea
  7c b8ae8908 808ec136 nt!IopCreateFile+0x447
  48 b8ae8950 b76ff4ae nt!IoCreateFileSpecifyDeviceObjectHint+0x52
  9c b8ae89ec b76ff0e6 BossHog01+0xb4ae
  58 b8ae8a44 b7685f8b BossHog01+0xb0e6
  50 b8ae8a94 b76867a3 daddyHog+0x3f8b
  28 b8ae8abc b76f66e7 daddyHog+0x47a3
  38 b8ae8af4 b76f6e76 BossHog01+0x26e7
  124 b8ae8c18 b770a0d5 BossHog01+0x2e76
  44 b8ae8c5c 808f5e2f BossHog01!DEVICEDISPATCH::DispatchPassThrough+0x5e7
  a4 b8ae8d00 808eed08 nt!IopXxxControlFile+0x255
  34 b8ae8d34 8088978c nt!NtDeviceIoControlFile+0x2a
  0 b8ae8d34 7c8285ec nt!KiFastCallEntry+0xfc
  0335e534 00000000 0x7c8285ec
`;

interface ListingRow extends KfRow {
  readonly location: string;
}

function parseListing(text: string): ListingRow[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      const [ebp, ret, location] = fields.slice(-3) as [string, string, string];
      const trap = fields.length === 4 && fields[0] === '0';
      return { childFrame: BigInt('0x' + ebp), returnAddress: BigInt('0x' + ret), trap, location };
    });
}

const MODULES = [
  { name: 'nt', base: 0x80800000n, size: 0x200000 },
  { name: 'fltmgr', base: 0xf7a20000n, size: 0x30000 },
  { name: 'Ntfs', base: 0xbae00000n, size: 0x80000 },
  { name: 'BossHog', base: 0xb80b0000n, size: 0x30000 },
  { name: 'BossHog01', base: 0xb76f0000n, size: 0x30000 },
  { name: 'BabyHog', base: 0xb958d000n, size: 0x10000 },
  { name: 'MamaHog', base: 0xb8d89000n, size: 0x10000 },
  { name: 'daddyHog', base: 0xb7682000n, size: 0x8000 },
];
const STACK_LIMIT = 0xb8ae6000n;
const STACK_BASE = 0xb8ae9000n;
const USER_EBP = 0x0335e534n;

/** The blog's `dps` excerpt: the callee slot below the start, and junk (a stale MmIsAddressValid frame) between frames. */
const DPS_EXCERPT: readonly (readonly [bigint, bigint])[] = [
  [0xb8ae60ecn, 0xb8ae6100n], [0xb8ae60f0n, 0x8081df65n], [0xb8ae60f4n, 0x8763f718n], [0xb8ae60f8n, 0x87758bd8n],
  [0xb8ae60fcn, 0x8b4abb00n], [0xb8ae6108n, 0x8b4abb00n], [0xb8ae610cn, 0x87758bd8n], [0xb8ae6110n, 0n],
  [0xb8ae6114n, 0x89751350n], [0xb8ae6118n, 0x80n], [0xb8ae611cn, 0n], [0xb8ae6120n, 0xb8ae6130n],
  [0xb8ae6124n, 0x8084cff9n], [0xb8ae6130n, 0x8765b6a8n], [0xb8ae6134n, 0x87758bd8n], [0xb8ae6138n, 0x89751350n],
];

function blogStack(seed: number): { view: MemoryStackView; expected: ListingRow[]; traps: Map<number, bigint> } {
  const listing = parseListing(BLOG_KF);
  const expected = listing.filter((r) => r.childFrame >= STACK_LIMIT && r.childFrame < STACK_BASE);
  // Trap entries: the functions around the trap rows' addresses (KiTrap0E, KiFastCallEntry).
  const trapEntries = expected
    .map((r, i) => ({ r, ip: expected[i - 1]?.returnAddress }))
    .filter(({ r }) => r.trap)
    .map(({ ip }) => [ip! - 0x100n, ip! + 0x100n] as const);
  const symbols = new Map(expected.map((r, i) => [i === 0 ? 0x8081df65n : expected[i - 1]!.returnAddress, r.location] as const));
  const view = new MemoryStackView({ cpu: 'x86', start: STACK_LIMIT, size: Number(STACK_BASE - STACK_LIMIT), modules: MODULES, trapEntries, symbols });
  for (const [address, value] of DPS_EXCERPT) view.set(address, value);
  const traps = writeKfStack(view, expected, USER_EBP);
  const code = [...new Set(listing.map((r) => r.returnAddress).filter((a) => view.moduleAt(a)))];
  // "I wasn't able to locate any valid patterns in the very top of the stack."
  fillJunk(view, { seed, code, noFramePointers: true, to: 0xb8ae60ecn });
  fillJunk(view, { seed: seed + 1, code, from: 0xb8ae60ecn });
  return { view, expected, traps };
}

function rowsOf(frames: readonly RecoveredFrame[]): KfRow[] {
  return frames.map((f) => ({ childFrame: f.childFrame, returnAddress: f.returnAddress, trap: f.trap }));
}

function plain(rows: readonly KfRow[]): KfRow[] {
  return rows.map((r) => ({ childFrame: r.childFrame, returnAddress: r.returnAddress, trap: r.trap }));
}

test('blog: kf = b8ae6100 b8ae60ec 8081df65 gives the listing row for row, down to the user-mode transition', async () => {
  const { view, expected, traps } = blogStack(7);
  assert.equal(expected.length, 117);
  const frames = await walkFrom(view, { basePtr: 0xb8ae6100n, stackPtr: 0xb8ae60ecn, instructionPtr: 0x8081df65n });
  assert.deepEqual(rowsOf(frames), plain(expected));
  // Each caller runs where its callee returns; the first row where the start says.
  assert.equal(frames[0]!.ip, 0x8081df65n);
  for (let i = 1; i < frames.length; i++) assert.equal(frames[i]!.ip, frames[i - 1]!.returnAddress);
  assert.equal(await view.describe(frames[17]!.ip), 'nt!_KiTrap0E+0xdc');
  // Stack pointers: the start's, then the slot after the callee's return address; after a trap hop, the end of the KTRAP_FRAME.
  assert.equal(frames[0]!.sp, 0xb8ae60ecn);
  assert.equal(frames[1]!.sp, 0xb8ae6108n);
  assert.equal(frames[18]!.sp, traps.get(17)! + 0x74n);
  // The trap rows repeat their callee's ChildEBP (WinDbg's Memory 0).
  assert.deepEqual(
    frames.flatMap((f, i) => (f.trap ? [i] : [])),
    [...traps.keys()],
  );
  assert.equal(frames.at(-1)!.returnAddress, 0x7c8285ecn);
});

test('blog: the best chain found in the raw stack is the listing from b8ae6100, started from the callee slot below it', async () => {
  for (const seed of [7, 1234, 99991]) {
    const { view, expected } = blogStack(seed);
    const chains = await findChains(view);
    const best = chains[0]!;
    assert.deepEqual(best.start, { basePtr: 0xb8ae6100n, stackPtr: 0xb8ae60f4n, instructionPtr: 0x8081df65n }, `seed ${seed}`);
    assert.equal(startCommand(best.start, 'x86'), 'k = b8ae6100 b8ae60f4 8081df65');
    assert.deepEqual(rowsOf(best.frames), plain(expected), `seed ${seed}`);
    assert.deepEqual(await walkFrom(view, best.start), best.frames);
    for (const other of chains.slice(1)) {
      assert.ok(other.score < best.score);
      assert.deepEqual(await walkFrom(view, other.start), other.frames);
    }
  }
});

test('blog: the KTRAP_FRAME a trap handler built also heads a chain of its own, reported once with the main chain', async () => {
  const { view, traps } = blogStack(7);
  const chains = await findChains(view, { maxChains: 100 });
  const main = await walkFrom(view, { basePtr: 0xb8ae6100n, stackPtr: 0xb8ae60ecn, instructionPtr: 0x8081df65n });
  for (const [row, base] of traps) {
    // From DbgEbp/DbgEip the walk is the main chain after the trap hop.
    const fromTrap = await walkFrom(view, { basePtr: view.readWord(base)!, stackPtr: base + 8n, instructionPtr: view.readWord(base + 4n)! });
    if (row < main.length - 1) assert.deepEqual(rowsOf(fromTrap), rowsOf(main.slice(row + 1)));
  }
  // DbgEbp/DbgEip make each in-stack KTRAP_FRAME a candidate slot whose chain is the main chain's tail: not a distinct chain.
  for (const base of traps.values()) assert.ok(!chains.some((c) => c.start.stackPtr === base + 8n), `trap frame 0x${base.toString(16)}`);
});

test('blog: reconstructStack from an SP above b8ae7000 starts at the first frame above it', async () => {
  const { view, expected } = blogStack(7);
  const { best, alternatives } = await reconstructStack(view, { fromSp: 0xb8ae7000n });
  assert.ok(best);
  assert.ok(best.start.stackPtr >= 0xb8ae7000n);
  const first = expected.findIndex((r) => r.childFrame === best.frames[0]!.childFrame);
  assert.ok(first > 0 && expected[first]!.childFrame < 0xb8ae7100n, `starts at 0x${best.frames[0]!.childFrame.toString(16)}`);
  assert.deepEqual(rowsOf(best.frames), plain(expected.slice(first)));
  assert.ok(alternatives.length <= 10);
  for (const chain of [best, ...alternatives]) assert.ok(chain.start.stackPtr >= 0xb8ae7000n);
});
