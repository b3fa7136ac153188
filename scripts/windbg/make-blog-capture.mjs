#!/usr/bin/env node
// Synthesises WinDbg captures of the x86 kernel stack in the "Got Stack? part 2" blog post
// (test-data/windbg/blog-kf.txt, its kf listing) for the stack-reconstruction tests: a
// `dps b8ae6000 b8ae9000` capture consistent with the listing, with realistic junk between the
// frames, and an `lm` listing. Self-contained (it does not use stackhog's parsers, so a parser bug
// cannot hide in the fixtures) and deterministic: the junk comes from a seeded PRNG.
//
//   node scripts/windbg/make-blog-capture.mjs
//       rewrites blog-dps.txt (seed 1), blog-dps-2.txt (seed 2, wrapped), blog-dps-3.txt
//       (seed 3, holes), blog-lm.txt and the generated part of test-data/windbg/README.md
//   node scripts/windbg/make-blog-capture.mjs --seed N [--style plain|wrapped|holes]
//       prints one capture to stdout
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-data', 'windbg');

const STACK_LIMIT = 0xb8ae6000;
const STACK_BASE = 0xb8ae9000;
const hex8 = (v) => (v >>> 0).toString(16).padStart(8, '0');

// x86 KTRAP_FRAME (0x8c bytes), as in ReactOS sdk/include/ndk/i386/ketypes.h and Windows' own
// _KTRAP_FRAME; the fields from ExceptionList (0x4c) on have the same offsets in every NT version.
const KTRAP = {
  DbgEbp: 0x00, DbgEip: 0x04, DbgArgMark: 0x08, DbgArgPointer: 0x0c, TempSegCs: 0x10, TempEsp: 0x14,
  Dr0: 0x18, Dr1: 0x1c, Dr2: 0x20, Dr3: 0x24, Dr6: 0x28, Dr7: 0x2c, SegGs: 0x30, SegEs: 0x34, SegDs: 0x38,
  Edx: 0x3c, Ecx: 0x40, Eax: 0x44, PreviousPreviousMode: 0x48, ExceptionList: 0x4c, SegFs: 0x50,
  Edi: 0x54, Esi: 0x58, Ebx: 0x5c, Ebp: 0x60, ErrCode: 0x64, Eip: 0x68, SegCs: 0x6c, EFlags: 0x70,
  HardwareEsp: 0x74, HardwareSegSs: 0x78, V86Es: 0x7c, V86Ds: 0x80, V86Fs: 0x84, V86Gs: 0x88,
};
const KTRAP_FRAME_LENGTH = 0x8c;
// A trap from kernel mode pushes no SS:ESP, so its frame ends at HardwareEsp.
const KTRAP_FRAME_KERNEL_LENGTH = KTRAP.HardwareEsp;
// FX_SAVE_AREA between the first (user-mode) trap frame and the initial stack (NPX_FRAME_LENGTH).
const NPX_FRAME_LENGTH = 0x210;

// Module ranges for blog-lm.txt: each must hold every address the listing names after it.
const MODULES = [
  { name: 'nt', start: 0x80800000, end: 0x80a5b000, state: '(pdb symbols)', path: 'c:\\symbols\\ntkrnlmp.pdb\\9B7A5A76E8A24F3B8A0A6C9B3D0F22A12\\ntkrnlmp.pdb' },
  { name: 'hal', start: 0x80a5b000, end: 0x80a87000, state: '(deferred)', path: '' },
  { name: 'daddyHog', start: 0xb7682000, end: 0xb768a000, state: '(no symbols)', path: '' },
  { name: 'BossHog01', start: 0xb76f4000, end: 0xb770e000, state: '(export symbols)', path: 'BossHog01.sys' },
  { name: 'BossHog', start: 0xb80ba000, end: 0xb80d4000, state: '(export symbols)', path: 'BossHog.sys' },
  { name: 'MamaHog', start: 0xb8d89000, end: 0xb8da0000, state: '(no symbols)', path: '' },
  { name: 'BabyHog', start: 0xb958d000, end: 0xb959a000, state: '(export symbols)', path: 'BabyHog.sys' },
  { name: 'Ntfs', start: 0xbae0c000, end: 0xbae9b000, state: '(pdb symbols)', path: 'c:\\symbols\\ntfs.pdb\\5A3D8E1C0B7F4C21A6E93D4B8F1C7E2A1\\ntfs.pdb' },
  { name: 'fltmgr', start: 0xf7a29000, end: 0xf7a48000, state: '(pdb symbols)', path: 'c:\\symbols\\fltMgr.pdb\\0C6E1F2B7D9A4E58B3C41A6D2E8F9B701\\fltMgr.pdb' },
];
// An unloaded driver whose old range covers the stack (system PTEs are reused): lm parsers must skip it.
const UNLOADED = [
  { name: 'Sfloppy.SYS', start: 0xb8ad0000, end: 0xb8af0000 },
  { name: 'kmixer.sys', start: 0xb9a43000, end: 0xb9a6b000 },
];

// Stale code addresses beyond the listing's, with names that agree with the listing's functions
// (checked below: no listed function starts between one of these and its function's start).
const EXTRA_CODE = [
  [0x8084cff9, 'nt!MmIsAddressValid+0xf'], // the blog's own dps excerpt, slot b8ae6124
  [0x8082f0a6, 'nt!KeWaitForSingleObject+0x346'],
  [0x8088f552, 'nt!ExFreePoolWithTag+0x472'],
  [0x8089b1ff, 'nt!ExAllocatePoolWithTag+0x2a7'],
  [0x8092a88f, 'nt!ObReferenceObjectByHandle+0x1d1'],
  [0x80a5f4b9, 'hal!KfLowerIrql+0x9'],
  [0xbae1334a, 'Ntfs!NtfsDecodeFileObject+0x3a'],
  [0xbae27e9c, 'Ntfs!NtfsAcquireExclusiveFcb+0x6c'],
  [0xf7a2d2c4, 'fltmgr!FltpPerformPreCallbacks+0x2d4'],
  [0xf7a2e91d, 'fltmgr!FltpPassThroughCompletion+0x8d'],
];
// Addresses in hog modules without a listed name: symbolised like WinDbg from the hogs' known functions.
const EXTRA_HOG_CODE = [0xb958df3e, 0xb958f001, 0xb80bea1c, 0xb80cf51b, 0xb76f7c52, 0xb7709c40, 0xb8d8bb17, 0xb8d8e7a0, 0xb7683d04];

// The dps lines the blog shows (b8ae60ec..b8ae6148), without the author's arrows. The post prints
// b958e196 as BossHog+0x1196 and b958f4bc as BossHog!StackEater+0x80c, where its kf listing says
// BabyHog+0x1196 and BabyHog!HogFarm+0x88c: one value has one name, so the capture uses the listing's.
const EXCERPT = [
  [0xb8ae60ec, 0xb8ae6100], [0xb8ae60f0, 0x8081df65], [0xb8ae60f4, 0x8763f718], [0xb8ae60f8, 0x87758bd8],
  [0xb8ae60fc, 0x8b4abb00], [0xb8ae6100, 0xb8ae6128], [0xb8ae6104, 0xf7a2ec45], [0xb8ae6108, 0x8b4abb00],
  [0xb8ae610c, 0x87758bd8], [0xb8ae6110, 0x00000000], [0xb8ae6114, 0x89751350], [0xb8ae6118, 0x00000080],
  [0xb8ae611c, 0x00000000], [0xb8ae6120, 0xb8ae6130], [0xb8ae6124, 0x8084cff9], [0xb8ae6128, 0xb8ae613c],
  [0xb8ae612c, 0x8081df65], [0xb8ae6130, 0x8765b6a8], [0xb8ae6134, 0x87758bd8], [0xb8ae6138, 0x89751350],
  [0xb8ae613c, 0xb8ae6144], [0xb8ae6140, 0xb958e196], [0xb8ae6144, 0xb8ae61c4], [0xb8ae6148, 0xb958f4bc],
];

// Stack arguments of the functions that trapped or called into the system-call entry: the trap
// frame starts right above them (T = ChildEBP + 8 + 4 × arguments), as the kernel lays it out.
const TRAP_CALLER_ARGS = { 'nt!MmAccessFault': 4, 'nt!NtClose': 1, 'nt!NtDeviceIoControlFile': 10 };
const TRAP_ENTRY = /^nt!_?(?:KiTrap[0-9A-Fa-f]{2}|KiFastCallEntry|KiSystemService)\b/;

// ---------------------------------------------------------------------------------------------

function parseListing(text) {
  const rows = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim().split(/\s+/);
    if (t.length === 3 && /^[0-9a-f]{8}$/.test(t[0])) rows.push({ memory: undefined, e: parseInt(t[0], 16), r: parseInt(t[1], 16), loc: t[2] });
    else if (t.length === 4 && /^[0-9a-f]{8}$/.test(t[1])) rows.push({ memory: parseInt(t[0], 16), e: parseInt(t[1], 16), r: parseInt(t[2], 16), loc: t[3] });
  }
  return rows;
}

function moduleOf(address) {
  return MODULES.find((m) => address >= m.start && address < m.end);
}

function splitSymbol(text) {
  const m = /^([^!+]+)(?:!(.+?))?(?:\+0x([0-9a-f]+))?$/.exec(text);
  if (m === null) throw new Error(`not a symbol: ${text}`);
  return { module: m[1], fn: m[2], offset: m[3] === undefined ? 0 : parseInt(m[3], 16) };
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Code addresses and their names: the listing's (each row's location names the previous row's RetAddr), then the extras. */
function symbolTable(rows, extras) {
  const names = new Map();
  names.set(0x8081df65, rows[0].loc); // the start ip of kf=b8ae6100 b8ae60ec 8081df65
  for (let i = 0; i + 1 < rows.length; i++) {
    const loc = rows[i + 1].loc;
    if (loc.startsWith('0x')) continue; // no module: WinDbg printed the bare address
    const previous = names.get(rows[i].r);
    if (previous !== undefined && previous !== loc) throw new Error(`${hex8(rows[i].r)} is both ${previous} and ${loc}`);
    names.set(rows[i].r, loc);
  }
  for (const [address, text] of extras) names.set(address, text);
  // Function starts (module!function → start), to name hog addresses and check the extras.
  const starts = new Map();
  for (const [address, text] of names) {
    const s = splitSymbol(text);
    const module = moduleOf(address);
    if (module === undefined || module.name !== s.module) throw new Error(`${hex8(address)} ${text} is not in ${s.module}`);
    if (s.fn === undefined) continue;
    const key = `${s.module}!${s.fn}`;
    const start = address - s.offset;
    if (starts.has(key) && starts.get(key) !== start) throw new Error(`${key} starts at two addresses`);
    starts.set(key, start);
  }
  return { names, starts };
}

/**
 * Pairs of listed names where a function's start lies between another function's start and an
 * address named after that other function: nearest-preceding-symbol lookup cannot give both.
 */
function nameConflicts(names, starts) {
  const conflicts = [];
  for (const [address, text] of names) {
    const s = splitSymbol(text);
    if (s.fn === undefined) continue;
    const own = address - s.offset;
    for (const [key, start] of starts) {
      if (!key.startsWith(s.module + '!') || key === `${s.module}!${s.fn}`) continue;
      if (start > own && start <= address) conflicts.push(`${text} (${hex8(address)}) vs ${key} starting at ${hex8(start)}`);
    }
  }
  return conflicts;
}

/** WinDbg's name for an address in a hog module: the nearest preceding known function, else module+offset. */
function hogName(address, starts) {
  const module = moduleOf(address);
  let best;
  for (const [key, start] of starts) {
    if (!key.startsWith(module.name + '!') || start > address) continue;
    if (best === undefined || start > best.start) best = { key, start };
  }
  return best === undefined
    ? `${module.name}+0x${(address - module.start).toString(16)}`
    : `${best.key}+0x${(address - best.start).toString(16)}`;
}

// ---------------------------------------------------------------------------------------------

/** The stack slots the listing dictates: frames, trap frames, the excerpt, the FX save area. */
function layout(rows, names) {
  const fixed = new Map();
  const set = (address, value, why) => {
    const old = fixed.get(address);
    if (old !== undefined && old.value !== value >>> 0) throw new Error(`slot ${hex8(address)}: ${why} wants ${hex8(value)}, ${old.why} has ${hex8(old.value)}`);
    if (old === undefined) fixed.set(address, { value: value >>> 0, why });
  };
  const frames = new Set();
  const traps = [];
  const kernelRows = rows.filter((r) => r.e >= STACK_LIMIT && r.e < STACK_BASE);

  for (let i = 0; i < kernelRows.length; i++) {
    const row = kernelRows[i];
    const next = rows[rows.indexOf(row) + 1];
    if (i > 0 && kernelRows[i - 1].e === row.e) continue; // a trap row: its slots belong to the row before
    frames.add(row.e);
    const retName = names.get(row.r) ?? '';
    if (!TRAP_ENTRY.test(retName)) {
      set(row.e, next.e, `frame ${hex8(row.e)} saved ebp`);
      set(row.e + 4, row.r, `frame ${hex8(row.e)} return address`);
      continue;
    }
    // The trap handler's ebp is its KTRAP_FRAME: [E] = T; the trap row (same ChildEBP) returns to
    // T.Eip and the frame after it is T.Ebp.
    const trapRow = next;
    const after = rows[rows.indexOf(trapRow) + 1];
    if (trapRow.e !== row.e || trapRow.memory !== 0) throw new Error(`row after ${hex8(row.e)} is no trap row`);
    const caller = splitSymbol(row.loc);
    const args = TRAP_CALLER_ARGS[`${caller.module}!${caller.fn}`];
    if (args === undefined) throw new Error(`argument count of ${row.loc} unknown`);
    const user = after.e < STACK_LIMIT || after.e >= STACK_BASE;
    const length = user ? KTRAP_FRAME_LENGTH : KTRAP_FRAME_KERNEL_LENGTH;
    let t = row.e + 8 + 4 * args;
    const note = [];
    // Move the frame down (over the arguments) while it would cover a slot another row needs.
    const collision = (base) => kernelRows.map((r) => r.e).find((e) => e !== row.e && e + 4 >= base && e < base + length);
    const first = collision(t);
    while (collision(t) !== undefined && t > row.e + 8) t -= 4;
    if (collision(t) !== undefined) throw new Error(`no room for the trap frame above ${hex8(row.e)}`);
    if (first !== undefined) {
      const field = Object.keys(KTRAP).find((k) => KTRAP[k] === first - (row.e + 8 + 4 * args));
      note.push(`at ChildEBP+0x${(t - row.e).toString(16)}, not +0x${(8 + 4 * args).toString(16)} (${args} argument(s)), where its ${field} would be the next row's saved EBP ${hex8(first)}`);
    }
    set(row.e, t, `frame ${hex8(row.e)} saved ebp (trap frame)`);
    set(row.e + 4, row.r, `frame ${hex8(row.e)} return address`);
    traps.push({ row: row.e, base: t, ebp: after.e, eip: trapRow.r, user, args: t === row.e + 8 + 4 * args ? args : (t - row.e - 8) / 4, note });
  }
  for (const [address, value] of EXCERPT) set(address, value, `blog excerpt ${hex8(address)}`);
  return { fixed, set, frames, traps };
}

/** Trap frame fields (x86 KTRAP_FRAME) as Windows fills them, and the arguments below them. */
function fillTraps(traps, set, rng) {
  const pool = () => ((0x86000000 + Math.floor(rng() * 0x05ffffff)) & ~7) >>> 0;
  for (const trap of traps) {
    const fields = new Map();
    for (const field of Object.keys(KTRAP)) {
      if (trap.user || KTRAP[field] < KTRAP_FRAME_KERNEL_LENGTH) fields.set(field, 0);
    }
    const f = (field, value) => fields.set(field, value);
    f('DbgEbp', trap.ebp);
    f('DbgEip', trap.eip);
    f('DbgArgMark', 0xbadb0d00);
    f('Ebp', trap.ebp);
    f('Eip', trap.eip);
    f('SegEs', 0x23);
    f('SegDs', 0x23);
    f('Edx', pool());
    f('Ecx', Math.floor(rng() * 0x100));
    f('Esi', pool());
    f('Edi', pool());
    f('Ebx', pool());
    f('ExceptionList', 0xffffffff);
    let args;
    if (trap.user) {
      // sysenter from ntdll!KiFastSystemCall: user-mode CS/SS/FS, EDX points at the user arguments.
      f('DbgArgPointer', 0x0335e4e0);
      f('Edx', 0x0335e4e0);
      f('Eax', 0x42);
      f('PreviousPreviousMode', 1);
      f('SegFs', 0x3b);
      f('SegCs', 0x1b);
      f('EFlags', 0x246);
      f('HardwareEsp', 0x0335e4dc);
      f('HardwareSegSs', 0x23);
      // NtDeviceIoControlFile's ten user-mode arguments, copied below the trap frame.
      args = [0x7e8, 0, 0, 0, 0x0335e518, 0x0022c00f, 0x0335e540, 0x18, 0x0335e540, 0x18];
      // The FX_SAVE_AREA up to the initial stack: control word 0x27f, MXCSR 0x1f80, Cr0NpxState.
      if (trap.base + KTRAP_FRAME_LENGTH + NPX_FRAME_LENGTH !== STACK_BASE) throw new Error('first trap frame not at InitialStack - 0x29c');
      const fx = trap.base + KTRAP_FRAME_LENGTH;
      const special = new Map([[fx, 0x027f], [fx + 0x18, 0x1f80], [fx + 0x1c, 0xffff], [STACK_BASE - 4, 0x0000000a]]);
      for (let a = fx; a < STACK_BASE; a += 4) set(a, special.get(a) ?? 0, 'FX_SAVE_AREA');
    } else {
      f('Eax', Math.floor(rng() * 0x10000));
      f('SegFs', 0x30);
      f('SegCs', 0x08);
      f('EFlags', trap.args === 4 ? 0x10246 : 0x246);
      // MmAccessFault(FaultStatus, VirtualAddress, PreviousMode, TrapInformation); NtClose(Handle).
      args = trap.args === 4 ? [0, 0xc2d8c400, 0, trap.base] : [0x80000d4c];
    }
    for (const [field, value] of fields) set(trap.base + KTRAP[field], value, `trap frame ${hex8(trap.base)} ${field}`);
    args.slice(0, trap.args).forEach((v, i) => set(trap.row + 8 + 4 * i, v, `argument ${i + 1} below trap frame ${hex8(trap.base)}`));
  }
}

// ---------------------------------------------------------------------------------------------

const STYLES = {
  // weights: zero, small, constant, pool, paged, stack pointer, stale return address, stale frame pair
  plain: { weights: [30, 14, 8, 20, 5, 12, 8, 3], twoLinkDecoys: false },
  wrapped: { weights: [36, 10, 10, 16, 8, 10, 6, 4], twoLinkDecoys: false },
  holes: { weights: [24, 12, 8, 18, 6, 14, 12, 6], twoLinkDecoys: true },
};

function fillJunk(fixed, frames, traps, code, seed, style) {
  const rng = mulberry32(seed);
  const pick = (list) => list[Math.floor(rng() * list.length)];
  const protectedTargets = new Set([...frames, 0xb8ae60ec, ...traps.map((t) => t.base)]);
  const pools = [0x8763f718, 0x87758bd8, 0x8b4abb00, 0x89751350, 0x8765b6a8];
  for (let i = 0; i < 14; i++) pools.push(((0x86000000 + Math.floor(rng() * 0x05ffffff)) & ~7) >>> 0);
  const paged = [];
  for (let i = 0; i < 6; i++) paged.push(((0xe1000000 + Math.floor(rng() * 0x01ffffff)) & ~7) >>> 0);
  const constants = [0xc0000016, 0x00000103, 0x00120089, 0x0012019f, 0x00100080, 0x00000246, 0xffffffff, 0x7366744e, 0x6e664d46, 0x005c003a, 0x00650044, 0x00010000];
  const small = () => (rng() < 0.6 ? pick([1, 2, 3, 4, 8, 0x10, 0x20, 0x80, 0x100, 0x200, 0x1000]) : Math.floor(rng() * 0x400));
  const junkSlot = (a) => a >= STACK_LIMIT && a <= STACK_BASE && !fixed.has(a);

  const words = new Map();
  for (const [a, v] of fixed) words.set(a, v.value);
  const junk = [];
  for (let a = STACK_LIMIT; a <= STACK_BASE; a += 4) if (!fixed.has(a)) junk.push(a);

  const total = style.weights.reduce((x, y) => x + y, 0);
  const kind = () => {
    let r = rng() * total;
    for (let k = 0; k < style.weights.length; k++) if ((r -= style.weights[k]) < 0) return k;
    return 0;
  };
  const stackPointer = (from) => {
    for (;;) {
      const p = Math.max(STACK_LIMIT, Math.min(STACK_BASE - 4, from + 4 * (1 + Math.floor(rng() * 0x60))));
      if (!protectedTargets.has(p)) return p;
    }
  };
  for (const a of junk) {
    if (words.has(a)) continue;
    switch (kind()) {
      case 0: words.set(a, 0); break;
      case 1: words.set(a, small()); break;
      case 2: words.set(a, pick(constants)); break;
      case 3: words.set(a, pick(pools)); break;
      case 4: words.set(a, pick(paged)); break;
      case 5: words.set(a, stackPointer(a - 0x40)); break;
      case 6: words.set(a, pick(code)); break;
      case 7: {
        // A stale frame: saved ebp → a higher junk slot, then a return address; the chain ends
        // there (or one link later) on a value that is no stack pointer.
        const p = stackPointer(a);
        if (!junkSlot(a + 4) || words.has(a + 4) || !junkSlot(p) || words.has(p) || p <= a + 4) {
          words.set(a, 0);
          break;
        }
        words.set(a, p);
        words.set(a + 4, pick(code));
        if (style.twoLinkDecoys && rng() < 0.5) {
          const q = stackPointer(p);
          if (junkSlot(p + 4) && !words.has(p + 4) && junkSlot(q) && !words.has(q) && q > p + 4) {
            words.set(p, q);
            words.set(p + 4, pick(code));
            words.set(q, pick(pools));
            break;
          }
        }
        words.set(p, pick(pools));
        break;
      }
    }
  }
  repairDecoys(words, fixed, protectedTargets, code, pools, rng);
  return words;
}

const inStack = (v) => v >= STACK_LIMIT && v < STACK_BASE;

/**
 * Junk must not look like a frame that leads into the real chain or a long stale chain: every
 * junk slot holding a stack pointer followed by a code address must point higher, at no real
 * frame, and the links from there must end within two steps.
 */
function repairDecoys(words, fixed, protectedTargets, code, pools, rng) {
  const isCode = (v) => moduleOf(v) !== undefined;
  const linkLike = (s) => inStack(words.get(s) ?? 0) && isCode(words.get(s + 4) ?? 0);
  for (let pass = 0; pass < 10; pass++) {
    let changed = false;
    for (const [s, v] of [...words]) {
      if (fixed.has(s) || !linkLike(s)) continue;
      let ok = v > s && !protectedTargets.has(v);
      let at = v;
      for (let steps = 0; ok && linkLike(at); steps++) {
        const next = words.get(at);
        if (steps >= 1 || next <= at || protectedTargets.has(next) || fixed.has(at)) ok = false;
        at = next;
      }
      if (!ok) {
        words.set(s, pools[Math.floor(rng() * pools.length)]);
        changed = true;
      }
    }
    if (!changed) return;
  }
  throw new Error('junk repair did not settle');
}

// ---------------------------------------------------------------------------------------------

function render(words, symbolOf, style) {
  const lines = [];
  const slot = (a) => {
    const v = words.get(a);
    if (v === undefined) return `${hex8(a)}  ????????`;
    const name = symbolOf(v);
    return name === undefined ? `${hex8(a)}  ${hex8(v)}` : `${hex8(a)}  ${hex8(v)} ${name}`;
  };
  if (style === 'wrapped') {
    // Three commands with other debugger chatter between them, in a console 50 columns wide.
    const width = 50;
    const chunks = [[STACK_LIMIT, 0xb8ae6800], [0xb8ae6804, 0xb8ae7400], [0xb8ae7404, STACK_BASE]];
    chunks.forEach(([from, to], i) => {
      lines.push(`3: kd> dps ${hex8(from)} ${hex8(to)}`);
      for (let a = from; a <= to; a += 4) {
        let text = slot(a);
        while (text.length > width) {
          lines.push(text.slice(0, width));
          text = text.slice(width);
        }
        lines.push(text);
      }
      if (i === 0) lines.push('3: kd> .kframes 200', 'Default stack trace depth is 0n512 frames');
    });
    lines.push('3: kd> ');
    return lines.join('\n') + '\n';
  }
  lines.push('3: kd> dps b8ae6000 b8ae9000');
  for (let a = STACK_LIMIT; a <= STACK_BASE; a += 4) {
    // The top of the stack is not needed (the listing starts at b8ae6100): one gap there.
    if (style === 'plain' && a >= 0xb8ae6030 && a < 0xb8ae6070) {
      if (a === 0xb8ae6030) lines.push('                               <omitting output>');
      continue;
    }
    lines.push(slot(a));
  }
  return lines.join('\n') + '\n';
}

/** Slots to print as ???????? in the holes style: junk slots only, scattered plus one short run. */
function punchHoles(words, fixed, seed) {
  const rng = mulberry32(seed * 104729);
  const junk = [...words.keys()].filter((a) => !fixed.has(a) && a < STACK_BASE).sort((x, y) => x - y);
  for (let i = 0; i < 10; i++) words.delete(junk[Math.floor(rng() * junk.length)]);
  // A run of six unreadable slots in the junk above the listing's first frame.
  for (let a = 0xb8ae6080; a < 0xb8ae6098; a += 4) if (!fixed.has(a)) words.delete(a);
  words.delete(STACK_BASE); // the word past the stack base: another allocation, not in the dump
}

// ---------------------------------------------------------------------------------------------

function build(seed, style, rows, table) {
  const { fixed, set, frames, traps } = layout(rows, table.names);
  fillTraps(traps, set, mulberry32(seed));
  const code = [...table.names.keys()].concat(EXTRA_HOG_CODE);
  const words = fillJunk(fixed, frames, traps, code, seed, STYLES[style]);
  if (style === 'holes') punchHoles(words, fixed, seed);
  const symbolOf = (v) => {
    if (moduleOf(v) === undefined) return undefined;
    const known = table.names.get(v);
    if (known !== undefined) return known;
    if (EXTRA_HOG_CODE.includes(v)) return hogName(v, table.starts);
    throw new Error(`no name for code address ${hex8(v)}`);
  };
  return { text: render(words, symbolOf, style), traps };
}

function lmText() {
  const lines = ['3: kd> lm', 'start    end        module name'];
  for (const m of MODULES) lines.push(`${hex8(m.start)} ${hex8(m.end)}   ${m.name.padEnd(10)} ${m.state.padEnd(22)} ${m.path}`.trimEnd());
  lines.push('', 'Unloaded modules:');
  for (const m of UNLOADED) lines.push(`${hex8(m.start)} ${hex8(m.end)}   ${m.name}`);
  return lines.join('\n') + '\n';
}

/** Per-module sums of the Memory column (the location's module; rows without Memory or module skipped). */
function totals(rows) {
  const by = new Map();
  for (const row of rows) {
    if (row.memory === undefined || row.loc.startsWith('0x')) continue;
    const module = splitSymbol(row.loc).module;
    const t = by.get(module) ?? { bytes: 0, frames: 0 };
    t.bytes += row.memory;
    t.frames++;
    by.set(module, t);
  }
  return [...by].sort((a, b) => b[1].bytes - a[1].bytes || a[0].localeCompare(b[0]));
}

function readmeBlock(rows, traps, conflicts) {
  const hogs = ['BabyHog', 'BossHog', 'BossHog01', 'MamaHog', 'daddyHog'];
  const t = totals(rows);
  const all = t.reduce((s, [, v]) => s + v.bytes, 0);
  const hogBytes = t.filter(([m]) => hogs.includes(m)).reduce((s, [, v]) => s + v.bytes, 0);
  const out = ['| module | bytes (hex) | bytes | frames |', '|---|---:|---:|---:|'];
  for (const [m, v] of t) out.push(`| ${m} | 0x${v.bytes.toString(16)} | ${v.bytes} | ${v.frames} |`);
  out.push(`| **all** | 0x${all.toString(16)} | ${all} | ${t.reduce((s, [, v]) => s + v.frames, 0)} |`);
  out.push('', `Hog drivers (${hogs.join(', ')}): 0x${hogBytes.toString(16)} = ${hogBytes} bytes.`);
  out.push('', 'Trap frames (T = the KTRAP_FRAME, [ChildEBP] = T):', '');
  out.push('| row ChildEBP | T | T.Ebp | T.Eip | mode | note |', '|---|---|---|---|---|---|');
  for (const tr of traps) out.push(`| ${hex8(tr.row)} | ${hex8(tr.base)} | ${hex8(tr.ebp)} | ${hex8(tr.eip)} | ${tr.user ? 'user' : 'kernel'} | ${tr.note.join('; ') || `ChildEBP+0x${(tr.base - tr.row).toString(16)}: ${tr.args} argument(s)`} |`);
  out.push('', 'Listed names that nearest-preceding-symbol lookup cannot give (functions split into separate chunks of code):', '');
  for (const c of conflicts) out.push(`- ${c}`);
  return out.join('\n');
}

function main() {
  const args = process.argv.slice(2);
  const rows = parseListing(readFileSync(join(OUT, 'blog-kf.txt'), 'utf8'));
  if (rows.length !== 118) throw new Error(`blog-kf.txt: ${rows.length} rows, expected 118`);
  const listed = symbolTable(rows, []);
  const conflicts = nameConflicts(listed.names, listed.starts);
  const table = symbolTable(rows, EXTRA_CODE);
  const added = nameConflicts(table.names, table.starts).filter((c) => !conflicts.includes(c));
  if (added.length > 0) throw new Error(`extra names disagree with the listing: ${added.join('; ')}`);
  const seedAt = args.indexOf('--seed');
  if (seedAt >= 0) {
    const styleAt = args.indexOf('--style');
    const style = styleAt >= 0 ? args[styleAt + 1] : 'plain';
    if (!(style in STYLES)) throw new Error(`--style: plain, wrapped or holes`);
    process.stdout.write(build(Number(args[seedAt + 1]), style, rows, table).text);
    return;
  }
  let traps;
  for (const [file, seed, style] of [['blog-dps.txt', 1, 'plain'], ['blog-dps-2.txt', 2, 'wrapped'], ['blog-dps-3.txt', 3, 'holes']]) {
    const built = build(seed, style, rows, table);
    traps = built.traps;
    writeFileSync(join(OUT, file), built.text);
  }
  writeFileSync(join(OUT, 'blog-lm.txt'), lmText());
  const readmePath = join(OUT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const begin = '<!-- generated by scripts/windbg/make-blog-capture.mjs: begin -->';
  const end = '<!-- generated: end -->';
  const i = readme.indexOf(begin);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) throw new Error('README.md: generated-block markers missing');
  writeFileSync(readmePath, readme.slice(0, i + begin.length) + '\n' + readmeBlock(rows, traps, conflicts) + '\n' + readme.slice(j));
}

main();
