import { evaluateExpression } from '../symbolize/postfix.js';
import type { WalkState } from './walker.js';

/** How one register appears in STACK CFI rules, and whether a callee preserves it. */
export interface CfiRegister {
  /** Our register name (the snapshot's). */
  readonly name: string;
  /** Its name in STACK CFI rules. */
  readonly cfi: string;
  /** A pseudo-register that stands for it when no rule names it ('.ra' for the IP, '.cfa' for the SP). */
  readonly alternate?: string;
  readonly calleeSaves: boolean;
}

/**
 * Recovers the caller's registers from STACK CFI rules (Breakpad's CFIFrameInfo + SimpleCFIWalker):
 * the CFA and return address must evaluate; other rules that fail are skipped; callee-saved
 * registers no rule mentions keep their values.
 */
export function callerByCfi(
  state: WalkState,
  rules: ReadonlyMap<string, string>,
  table: readonly CfiRegister[],
): { registers: Map<string, bigint> } | undefined {
  const cfaRule = rules.get('.cfa');
  const raRule = rules.get('.ra');
  if (!cfaRule || !raRule) return undefined;
  const last = state.last;
  const callee = new Map<string, bigint>();
  for (const reg of table) {
    const v = last.registers.get(reg.name);
    if (v !== undefined) callee.set(reg.cfi, v);
  }
  const ctx = { wordSize: state.wordSize, readWord: (a: bigint) => state.readWord(a) };
  const cfa = evaluateExpression(cfaRule, callee, ctx);
  if (cfa === undefined) return undefined;
  const withCfa = new Map(callee);
  withCfa.set('.cfa', cfa);
  const ra = evaluateExpression(raRule, withCfa, ctx);
  if (ra === undefined) return undefined;
  const caller = new Map<string, bigint>();
  for (const [name, rule] of rules) {
    if (name === '.cfa' || name === '.ra') continue;
    const v = evaluateExpression(rule, withCfa, ctx);
    if (v !== undefined) caller.set(name, v);
  }
  caller.set('.ra', ra);
  caller.set('.cfa', cfa);

  const registers = new Map<string, bigint>();
  for (const reg of table) {
    const direct = caller.get(reg.cfi);
    if (direct !== undefined) {
      registers.set(reg.name, direct);
      continue;
    }
    const alt = reg.alternate === undefined ? undefined : caller.get(reg.alternate);
    if (alt !== undefined) {
      registers.set(reg.name, alt);
      continue;
    }
    const kept = last.registers.get(reg.name);
    if (reg.calleeSaves && kept !== undefined) registers.set(reg.name, kept);
  }
  return { registers };
}
