// Searching a whole captured stack for frame chains, as an engineer does by eye over `dps` output
// when the walk gives up: on x86 (and arm64 frame records) slots holding a pointer to a higher slot
// followed by a return address, linked into chains; on x64 return addresses confirmed by unwinding
// from one to the next. Each slot has at most one successor, and successors lie higher, so chain
// lengths come from one pass from the top of the stack: linear in the number of stack words.
import { StackFacts } from './stack-facts.js';
import type { Chain, StackView, StartTriple } from './stack-view.js';
import {
  DEFAULT_MAX_FRAME_GAP,
  DEFAULT_MAX_FRAMES,
  KTRAP_FRAME_ESP,
  endsCleanly,
  frameStep,
  readTrapFrame,
  walkChain,
  type ChainWalk,
  type TrapFrame,
  type WalkFromOptions,
} from './walk-from.js';

export interface FindChainsOptions extends WalkFromOptions {
  /** Search only from this address up (e.g. the last walked frame's SP); default the view's start. */
  readonly from?: bigint;
  /** Search only below this address; default the view's end. */
  readonly to?: bigint;
  /** Most chains returned, best first (default 10). */
  readonly maxChains?: number;
  /** Chains shorter than this are not reported (default 2). */
  readonly minFrames?: number;
}

export const DEFAULT_MAX_CHAINS = 10;
/**
 * A chain "ends where stacks end" only within this distance of the captured base: a zero word or a
 * user-mode EBP after a stale trap return is common junk anywhere else.
 */
const BASE_PROXIMITY = 0x1000n;
/** A window larger than this (a damaged or hostile view) is searched only in its lowest part. */
const MAX_WINDOW_BYTES = 1n << 26n;

/**
 * Chains of frames found anywhere in the captured stack (or in the window `from`..`to`, where
 * they are also walked), best first. Every chain is exactly what `walkFrom(view, chain.start)`
 * gives with the same options over the same window. Chains sharing most of their frames with a
 * better one are left out, so the alternatives differ.
 */
export async function findChains(view: StackView, options: FindChainsOptions = {}): Promise<Chain[]> {
  const from = options.from ?? view.start;
  const span = (options.to ?? view.end) - from;
  const facts = new StackFacts(view, options.from, span > MAX_WINDOW_BYTES ? from + MAX_WINDOW_BYTES : options.to);
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const gap = BigInt(options.maxFrameGap ?? DEFAULT_MAX_FRAME_GAP);
  const graph =
    facts.cpu === 'amd64'
      ? await unwindGraph(facts, maxFrames, options.minFrames ?? 2)
      : await framePointerGraph(facts, gap, maxFrames, options.minFrames ?? 2);
  const chains: Chain[] = [];
  for (const head of pickHeads(graph, options.maxChains ?? DEFAULT_MAX_CHAINS)) {
    const walk = await walkChain(facts, head.start, { maxFrames, maxFrameGap: Number(gap) });
    if (walk.frames.length === 0) continue;
    chains.push({ frames: walk.frames, score: scoreWalk(walk, facts), start: head.start });
  }
  return chains.sort((a, b) => b.score - a.score || compare(a.start.stackPtr, b.start.stackPtr));
}

/**
 * A chain's score: each frame counts 1 when its return address was validated (x64: and reached by
 * unwind data) and ½ otherwise; plus up to 32 for the share of the stack it spans, 8 when it ends
 * where stacks end (a zero return address or frame pointer, a user-mode transition, within a page
 * of the stack base), and −8 for chains of fewer than 3 frames, which junk forms by chance.
 */
export function scoreChain(frames: number, confirmed: number, spanBytes: bigint, stackBytes: bigint, clean: boolean): number {
  if (frames === 0) return 0;
  const coverage = stackBytes > 0n && spanBytes > 0n ? Math.min(1, Number(spanBytes) / Number(stackBytes)) : 0;
  const score = confirmed + 0.5 * (frames - confirmed) + 32 * coverage + (clean ? 8 : 0) - (frames < 3 ? 8 : 0);
  return Math.round(score * 1000) / 1000;
}

function scoreWalk(walk: ChainWalk, facts: StackFacts): number {
  const first = walk.frames[0]!;
  const last = walk.frames[walk.frames.length - 1]!;
  return scoreChain(walk.frames.length, walk.confirmed, last.childFrame + 2n * facts.w - first.sp, facts.size, atBase(facts, endsCleanly(walk.end), last.childFrame));
}

function atBase(facts: StackFacts, clean: boolean, lastFrame: bigint): boolean {
  return clean && lastFrame + BASE_PROXIMITY >= facts.view.end;
}

/** Candidate slots linked into a forest whose edges point up the stack. */
interface ChainGraph {
  /** Node → its slot address. */
  readonly slots: readonly bigint[];
  /** Node → the next node of its chain, or −1. */
  readonly next: Int32Array;
  /** Node → nodes on its chain, itself included (for telling apart chains that share a tail). */
  readonly nodes: Int32Array;
  /** Nodes no other node links to, with the chain each starts and its score as the graph predicts it. */
  readonly heads: readonly Head[];
}

interface Head {
  readonly node: number;
  readonly start: StartTriple;
  readonly rank: number;
}

/** Maps a slot address to its node through a dense table over the window's words. */
class SlotTable {
  private readonly table: Int32Array;
  constructor(private readonly facts: StackFacts) {
    this.table = new Int32Array(Number(facts.size / facts.w)).fill(-1);
  }
  set(slot: bigint, node: number): void {
    this.table[Number((slot - this.facts.lo) / this.facts.w)] = node;
  }
  get(slot: bigint): number {
    if (slot < this.facts.lo || slot >= this.facts.hi || slot % this.facts.w !== 0n) return -1;
    return this.table[Number((slot - this.facts.lo) / this.facts.w)] ?? -1;
  }
}

/**
 * Per node, what follows its own row up to the end of its chain, filled from the top of the stack
 * down (typed arrays: a 1 MiB stack can have 128k nodes).
 */
class Tails {
  readonly rows: Float64Array;
  readonly confirmed: Float64Array;
  readonly clean: Uint8Array;
  /** ChildFrame of the chain's last row. */
  readonly last: bigint[];
  constructor(count: number) {
    this.rows = new Float64Array(count);
    this.confirmed = new Float64Array(count);
    this.clean = new Uint8Array(count);
    this.last = new Array<bigint>(count);
  }
  set(i: number, rows: number, confirmed: number, last: bigint, clean: boolean): void {
    this.rows[i] = rows;
    this.confirmed[i] = confirmed;
    this.last[i] = last;
    this.clean[i] = clean ? 1 : 0;
  }
}

/**
 * x86 and arm64 frame-pointer chains. A node is a slot S with [S] pointing to a higher slot within
 * `gap` and [S+w] a plausible return address; its row (ChildEBP S) continues at [S], or on x86 at
 * the KTRAP_FRAME's EBP when [S+w] lies in a trap entry. A chain headed by S starts one row later,
 * at [S], executing at [S+w]: S is the callee's slot whose return address tells where the head's
 * function is, just as the blog's `kf = b8ae6100 b8ae60ec 8081df65` starts one slot below.
 */
async function framePointerGraph(facts: StackFacts, gap: bigint, maxFrames: number, minFrames: number): Promise<ChainGraph> {
  const w = facts.w;
  const slots: bigint[] = [];
  const targets: bigint[] = [];
  const returns: bigint[] = [];
  const lastSlot = facts.hi - 2n * w;
  for (let slot = facts.lo; slot <= lastSlot; slot += w) {
    const target = facts.read(slot);
    if (target === undefined || target <= slot || target > slot + gap) continue;
    const ret = facts.read(slot + w);
    if (ret === undefined || !facts.mayReturn(ret)) continue;
    if (facts.read(target) === undefined || facts.read(target + w) === undefined) continue;
    if (!(facts.returnKnown(ret) ?? (await facts.isReturnAddress(ret)))) continue;
    slots.push(slot);
    targets.push(target);
    returns.push(ret);
  }
  const count = slots.length;
  const nodeAt = new SlotTable(facts);
  slots.forEach((slot, i) => nodeAt.set(slot, i));

  // Trap hops, and the code questions the pass from the top will ask, answered up front.
  const traps = new Map<number, TrapFrame>();
  const ask = async (address: bigint | undefined): Promise<void> => {
    if (address !== undefined && facts.returnKnown(address) === undefined) await facts.isReturnAddress(address);
  };
  for (let i = 0; i < count; i++) {
    const trap = (facts.trapKnown(returns[i]!) ?? (await facts.isTrapEntry(returns[i]!))) ? readTrapFrame(facts, slots[i]!, targets[i]!, gap) : undefined;
    if (trap) {
      traps.set(i, trap);
      await ask(trap.eip);
      await ask(facts.read(trap.ebp + w));
    } else if (nodeAt.get(targets[i]!) < 0) {
      await ask(facts.read(targets[i]! + w));
    }
  }

  const next = new Int32Array(count).fill(-1);
  const linked = new Uint8Array(count);
  const nodes = new Int32Array(count);
  const tails = new Tails(count);
  /** Rows of the node's own trap row (0 or 1) and whether its chain has a start. */
  const trapRow = new Uint8Array(count);
  const startable = new Uint8Array(count);

  /** The rows from a frame pointer on into `tails` slot i: a node's row and its tail, or a last row that ends the walk. */
  const rowsFrom = (i: number, fp: bigint, before: number, beforeConfirmed: number): boolean => {
    const j = nodeAt.get(fp);
    if (j >= 0) {
      next[i] = j;
      tails.set(i, before + 1 + tails.rows[j]!, beforeConfirmed + 1 + tails.confirmed[j]!, tails.last[j]!, tails.clean[j] === 1);
      return true;
    }
    // The walk shows this frame and stops: its return address or its saved frame pointer fails.
    const saved = facts.read(fp);
    const ret = facts.read(fp + w);
    if (saved === undefined || ret === undefined) return false;
    const valid = facts.returnKnown(ret) === true;
    tails.set(i, before + 1, beforeConfirmed + (valid ? 1 : 0), fp, ret === 0n || (valid && saved === 0n));
    return true;
  };

  for (let i = count - 1; i >= 0; i--) {
    const trap = traps.get(i);
    if (trap) {
      // The trap handler's row (ChildEBP of its callee), then the interrupted frame from the KTRAP_FRAME.
      const valid = facts.returnKnown(trap.eip) === true;
      trapRow[i] = 1;
      const userMode = trap.eip === 0n || trap.ebp < facts.lo || trap.ebp >= facts.hi;
      const hop = !userMode && valid && frameStep(facts, trap.base, trap.ebp, gap) === undefined;
      // A chain cannot start with the trap row (its callee's ip is unknown): it starts after the hop.
      if (hop && rowsFrom(i, trap.ebp, 1, 1)) startable[i] = 1;
      else tails.set(i, 1, valid ? 1 : 0, slots[i]!, userMode);
    } else {
      rowsFrom(i, targets[i]!, 0, 0); // targets were checked readable
      startable[i] = 1;
    }
    if (next[i]! >= 0) linked[next[i]!] = 1;
    nodes[i] = 1 + (next[i]! >= 0 ? nodes[next[i]!]! : 0);
  }

  const heads: Head[] = [];
  for (let i = 0; i < count; i++) {
    const rows = Math.min(tails.rows[i]! - trapRow[i]!, maxFrames);
    if (linked[i] || !startable[i] || rows < minFrames) continue;
    const trap = traps.get(i);
    const start: StartTriple = trap
      ? { basePtr: trap.ebp, stackPtr: trap.base + KTRAP_FRAME_ESP, instructionPtr: trap.eip }
      : { basePtr: targets[i]!, stackPtr: slots[i]! + 2n * w, instructionPtr: returns[i]! };
    const confirmed = Math.min(tails.confirmed[i]! - trapRow[i]!, rows);
    const last = tails.last[i]!;
    heads.push({ node: i, start, rank: scoreChain(rows, confirmed, last + 2n * w - start.stackPtr, facts.size, atBase(facts, tails.clean[i] === 1, last)) });
  }
  return { slots, next, nodes, heads };
}

/**
 * x64 chains. A node is a slot holding a plausible return address; the frame returning there runs
 * with SP = slot + 8. Unwinding it must land on another node (its slot at the new SP − 8, holding
 * the new ip): a confirmed link. Without unwind data for the address, the link goes to the next
 * node up, as a scan would (weak: such frames count half).
 */
async function unwindGraph(facts: StackFacts, maxFrames: number, minFrames: number): Promise<ChainGraph> {
  const w = facts.w;
  const slots: bigint[] = [];
  const values: bigint[] = [];
  for (let slot = facts.lo; slot + w <= facts.hi; slot += w) {
    const value = facts.read(slot);
    if (value === undefined || !facts.mayReturn(value) || !(facts.returnKnown(value) ?? (await facts.isReturnAddress(value)))) continue;
    slots.push(slot);
    values.push(value);
  }
  const count = slots.length;
  const nodeAt = new SlotTable(facts);
  slots.forEach((slot, i) => nodeAt.set(slot, i));

  const next = new Int32Array(count).fill(-1);
  const confirmedLink = new Uint8Array(count);
  const cleanEnd = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const sp = slots[i]! + w;
    const unwound = facts.view.unwindFrom ? await facts.view.unwindFrom(values[i]!, sp) : undefined;
    if (!unwound) {
      if (i + 1 < count) next[i] = i + 1;
      continue;
    }
    if (unwound.ip === 0n) {
      cleanEnd[i] = 1;
      continue;
    }
    const j = unwound.sp > sp ? nodeAt.get(unwound.sp - w) : -1;
    if (j >= 0 && values[j] === unwound.ip) {
      next[i] = j;
      confirmedLink[i] = 1;
    }
  }

  const linked = new Uint8Array(count);
  const nodes = new Int32Array(count);
  const tails = new Tails(count);
  for (let i = count - 1; i >= 0; i--) {
    const j = next[i]!;
    if (j >= 0) {
      tails.set(i, 1 + tails.rows[j]!, confirmedLink[i]! + tails.confirmed[j]!, tails.last[j]!, tails.clean[j] === 1);
      linked[j] = 1;
    } else {
      tails.set(i, 1, confirmedLink[i]!, slots[i]! + w, cleanEnd[i] === 1);
    }
    nodes[i] = 1 + (j >= 0 ? nodes[j]! : 0);
  }

  const heads: Head[] = [];
  for (let i = 0; i < count; i++) {
    const rows = Math.min(tails.rows[i]!, maxFrames);
    if (linked[i] || rows < minFrames) continue;
    const start: StartTriple = { basePtr: 0n, stackPtr: slots[i]! + w, instructionPtr: values[i]! };
    const last = tails.last[i]!;
    const confirmed = Math.min(tails.confirmed[i]!, rows);
    heads.push({ node: i, start, rank: scoreChain(rows, confirmed, last + 2n * w - start.stackPtr, facts.size, atBase(facts, tails.clean[i] === 1, last)) });
  }
  return { slots, next, nodes, heads };
}

/**
 * The heads worth walking, best predicted first. A chain whose nodes are mostly on a better chain
 * already picked (a stale frame or two joining the real chain) is skipped. Every node is visited
 * once over all heads.
 */
function pickHeads(graph: ChainGraph, maxChains: number): Head[] {
  const heads = [...graph.heads].sort((a, b) => b.rank - a.rank || compare(graph.slots[a.node]!, graph.slots[b.node]!));
  const seen = new Uint8Array(graph.next.length);
  const picked: Head[] = [];
  for (const head of heads) {
    if (picked.length >= maxChains) break;
    let own = 0;
    for (let node = head.node; node >= 0 && !seen[node]; node = graph.next[node]!) {
      seen[node] = 1;
      own++;
    }
    if (2 * own >= graph.nodes[head.node]!) picked.push(head);
  }
  return picked;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
