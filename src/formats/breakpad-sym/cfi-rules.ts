// STACK CFI rule sets: "<reg>: <postfix expr> <reg>: <postfix expr> ...", parsed like Breakpad's
// CFIRuleParser (processor/cfi_frame_info.cc).

/**
 * Applies the rules of one rule set to `rules` (register name -> expression text). Rules before a
 * malformed part stay applied, as in Breakpad; returns false when the set is malformed (an empty
 * name, a name without an expression, an expression without a name, or no rules at all).
 */
export function applyCfiRuleSet(ruleSet: string, rules: Map<string, string>): boolean {
  const tokens = ruleSet.split(/[ \t\r\n]+/).filter((t) => t.length > 0);
  let name = '';
  let expression = '';
  const report = (): boolean => {
    if (name === '' || expression === '') return false;
    rules.set(name, expression);
    return true;
  };
  for (const token of tokens) {
    if (token.endsWith(':')) {
      if (token.length < 2) return false;
      if ((name !== '' || expression !== '') && !report()) return false;
      name = token.slice(0, -1);
      expression = '';
    } else {
      expression = expression === '' ? token : `${expression} ${token}`;
    }
  }
  return report();
}
