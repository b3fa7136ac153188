import { pointerWidth } from '../model/cpu.js';
import type { Snapshot } from '../model/snapshot.js';
import { moduleName } from '../symbolize/module-name.js';
import type { Finding } from './findings.js';
import { describeMemory } from './memory-map.js';
import type { CrashInfo, MemoryFacts, ThreadReport } from './types.js';

/** glibc's stack-protector and fortify exits, MSVC's /GS failure report: they run when a canary was overwritten. */
const STACK_PROTECTOR = /^(?:__GI_)?(?:__stack_chk_fail(?:_local)?|__fortify_fail(?:_abort)?|__chk_fail|__report_gsfailure|__report_securityfailure|__security_check_cookie)\b/;
const STATUS_STACK_BUFFER_OVERRUN = 0xc0000409;
/** __fastfail code of a /GS cookie check (FAST_FAIL_STACK_COOKIE_CHECK_FAILURE). */
const FAST_FAIL_STACK_COOKIE_CHECK_FAILURE = 2n;
/** Fewer printable bytes than this are as likely an address as text. */
const MIN_TEXT_BYTES = 4;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/**
 * A pointer-sized value's bytes, in memory order, as text when they are printable ASCII (zero
 * high-order bytes aside, as a copied string's terminator leaves them): text copied over a pointer.
 */
export function asciiText(value: bigint, width: 4 | 8): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < width; i++) bytes.push(Number((value >> BigInt(8 * i)) & 0xffn));
  let length = width;
  while (length > 0 && bytes[length - 1] === 0) length--;
  if (length < MIN_TEXT_BYTES) return undefined;
  const text = bytes.slice(0, length);
  return text.every((b) => b >= 0x20 && b <= 0x7e) ? String.fromCharCode(...text) : undefined;
}

/**
 * A return address a stack buffer overflow overwrote: a caller frame's address outside every
 * module and not executable memory, that either reads as text or lies below a stack-protector exit
 * (`__stack_chk_fail`, `__fortify_fail`, MSVC's /GS report). Such an address never ran: the
 * protector (or the crash) stopped the function before it returned. Undefined when it is not one.
 */
export async function smashedReturnAddress(
  snapshot: Snapshot,
  t: ThreadReport,
  index: number,
  facts: MemoryFacts,
  crash: CrashInfo | undefined,
): Promise<Finding | undefined> {
  const frame = t.frames[index];
  if (!frame || index === 0 || frame.trust === 'context' || frame.interrupted || facts.module || facts.executable === true) return undefined;
  const cpu = t.context?.cpu ?? snapshot.system.cpu;
  const width = pointerWidth(cpu);
  const value = frame.ip;
  const text = asciiText(value, width);
  const protectors = t.frames.slice(0, index).flatMap((f, i) => (f.symbol && STACK_PROTECTOR.test(f.symbol.functionName) ? [{ frame: i, name: f.symbol.functionName }] : []));
  const gsFailure = t.crashed && crash?.code === STATUS_STACK_BUFFER_OVERRUN && crash.parameters[0] === FAST_FAIL_STACK_COOKIE_CHECK_FAILURE;
  if (text === undefined && protectors.length === 0 && !gsFailure) return undefined;

  const victim = t.frames[index - 1]!;
  const victimName = victim.module ? (victim.symbol ? `${moduleName(victim.module)}!${victim.symbol.functionName}` : `${moduleName(victim.module)}+${hex(victim.instruction - victim.module.base)}`) : hex(victim.ip);
  // x86 and amd64 keep the return address just below the caller's stack pointer.
  const slot = cpu === 'x86' || cpu === 'amd64' ? frame.sp - BigInt(width) : undefined;
  const slotBytes = slot === undefined ? undefined : await snapshot.memory.read(slot, width);
  const slotHolds = slotBytes !== undefined && slotBytes.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n) === value;

  const evidence = [`${hex(value)} lies in ${describeMemory(facts)}: no code there ran, and none returned there yet`];
  if (text !== undefined) evidence.push(`its bytes read ${JSON.stringify(text)} in memory order: text copied over the return address, not a code address`);
  if (protectors.length > 0) {
    evidence.push(
      `the stack protector caught it: ${protectors.map((p) => `frame ${p.frame} is ${p.name}`).join(', ')}, called when the canary between ${victimName}'s locals and its return address was found overwritten`,
    );
  }
  if (gsFailure) evidence.push('the exception is a /GS fail fast (STATUS_STACK_BUFFER_OVERRUN, FAST_FAIL_STACK_COOKIE_CHECK_FAILURE): the security cookie was overwritten');
  if (slotHolds) evidence.push(`the return slot [${hex(slot!)}] of frame ${index - 1} holds ${hex(value)}`);
  evidence.push(`look for an unbounded copy (strcpy, sprintf, memcpy or a loop with an unchecked length) into a local buffer of ${victimName}`);
  return {
    kind: 'smashed_return_address',
    severity: 'critical',
    threadId: t.thread.id,
    frame: index,
    address: value,
    summary: `thread 0x${t.thread.id.toString(16)}: corrupted return address (stack smash): the return address of frame ${index} ${hex(value)}${text !== undefined ? ` (${JSON.stringify(text)})` : ''} was overwritten in ${victimName}'s frame`,
    evidence,
    data: {
      value: hex(value),
      text: text ?? null,
      victim_frame: index - 1,
      victim_function: victimName,
      stack_protector: protectors.map((p) => ({ frame: p.frame, function: p.name })),
      gs_failure: gsFailure,
      return_slot: slotHolds ? hex(slot!) : null,
      found_by: frame.trust,
      memory_type: facts.type ?? null,
      executable: facts.executable ?? null,
      protection: facts.protection ?? null,
    },
  };
}
