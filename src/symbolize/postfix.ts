// Postfix expressions of STACK WIN program strings and STACK CFI rules, evaluated with the
// semantics of Breakpad's PostfixEvaluator (processor/postfix_evaluator-inl.h):
// - binary + - * / % and @ (align: a @ b = a & ~(b - 1)), unary ^ (read a word from memory),
//   = (assign to a $variable), an '=' glued to the next token ("=$eip") counts as two tokens;
// - other tokens are pushed as they are and resolved when popped: a decimal literal with an
//   optional leading '-' (no hex), otherwise a variable looked up by its exact text ('$ebp',
//   '.cfa', '.cbSavedRegs', 'x29');
// - values are unsigned words: arithmetic wraps to 32 or 64 bits.
// Evaluation is one pass over the tokens, so it ends on any input; failures return undefined.

export interface PostfixContext {
  wordSize: 4 | 8;
  /** A word of the given size at address, or undefined when that memory is not available. */
  readWord(address: bigint): bigint | undefined;
  /** When given, counts the evaluation's work (for tests that bound it; the walker passes none). */
  readonly counters?: PostfixCounters;
}

/** The work an evaluation did. */
export interface PostfixCounters {
  /** Tokens evaluated; a glued '=name' counts as two. */
  tokens: number;
  /** Decimal digits converted to numbers (with BigInt), leading zeros included. */
  digitsConverted: number;
}

/** A stack entry: a computed value, or a token not yet resolved (literal or variable name). */
type Entry = bigint | string;

class Evaluator {
  private readonly stack: Entry[] = [];
  private readonly bits: number;
  /** The caller's variables, copied on the first assignment. */
  private assigned: Map<string, bigint> | undefined;
  /** Every variable an '=' assigned, in order (Breakpad's DictionaryValidityType). */
  readonly assignedNames = new Set<string>();

  constructor(
    private readonly input: ReadonlyMap<string, bigint>,
    private readonly ctx: PostfixContext,
  ) {
    this.bits = ctx.wordSize * 8;
  }

  get variables(): ReadonlyMap<string, bigint> {
    return this.assigned ?? this.input;
  }

  get depth(): number {
    return this.stack.length;
  }

  private wrap(v: bigint): bigint {
    return BigInt.asUintN(this.bits, v);
  }

  /** A decimal literal as Breakpad's istringstream >> ValueType reads it, or undefined. */
  private literal(token: string): bigint | undefined {
    const m = /^(-?)\+?([0-9]+)$/.exec(token);
    if (!m) return undefined;
    // More than 20 significant digits cannot fit 64 bits: no need to convert a hostile megabyte of them.
    if (m[2]!.replace(/^0+/, '').length > 20) return undefined;
    if (this.ctx.counters) this.ctx.counters.digitsConverted += m[2]!.length;
    const magnitude = BigInt(m[2]!);
    // The stream extraction fails on values that do not fit the word; then it is an identifier.
    if (magnitude >= 1n << BigInt(this.bits)) return undefined;
    return m[1] === '-' ? this.wrap(-magnitude) : magnitude;
  }

  private popValue(): bigint | undefined {
    const top = this.stack.pop();
    if (top === undefined) return undefined;
    if (typeof top === 'bigint') return top;
    return this.literal(top) ?? this.lookup(top);
  }

  private lookup(name: string): bigint | undefined {
    const v = this.variables.get(name);
    return v === undefined ? undefined : this.wrap(v);
  }

  private assign(name: string, value: bigint): void {
    this.assigned ??= new Map(this.input);
    this.assigned.set(name, value);
    this.assignedNames.add(name);
  }

  /** Evaluates every token; false on the first failure. */
  run(text: string): boolean {
    for (const token of text.split(/\s+/)) {
      if (token === '') continue;
      if (token.length > 1 && token[0] === '=') {
        if (!this.step('=') || !this.step(token.slice(1))) return false;
      } else if (!this.step(token)) {
        return false;
      }
    }
    return true;
  }

  private step(token: string): boolean {
    if (this.ctx.counters) this.ctx.counters.tokens++;
    switch (token) {
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
      case '@': {
        const b = this.popValue();
        const a = b === undefined ? undefined : this.popValue();
        if (a === undefined || b === undefined) return false;
        const result = this.binary(token, a, b);
        if (result === undefined) return false;
        this.stack.push(result);
        return true;
      }
      case '^': {
        const address = this.popValue();
        if (address === undefined) return false;
        const value = this.ctx.readWord(address);
        if (value === undefined) return false;
        this.stack.push(this.wrap(value));
        return true;
      }
      case '=': {
        const value = this.popValue();
        if (value === undefined) return false;
        const target = this.stack.pop();
        // Only a variable can be assigned, and variables start with '$'.
        if (typeof target !== 'string' || this.literal(target) !== undefined || !target.startsWith('$')) return false;
        this.assign(target, value);
        return true;
      }
      default:
        this.stack.push(token);
        return true;
    }
  }

  private binary(op: string, a: bigint, b: bigint): bigint | undefined {
    switch (op) {
      case '+':
        return this.wrap(a + b);
      case '-':
        return this.wrap(a - b);
      case '*':
        return this.wrap(a * b);
      case '/':
        return b === 0n ? undefined : a / b;
      case '%':
        return b === 0n ? undefined : a % b;
      case '@':
        return a & this.wrap(~this.wrap(b - 1n));
      default:
        return undefined;
    }
  }

  /** The single value an expression leaves (EvaluateForValue). */
  result(): bigint | undefined {
    return this.stack.length === 1 ? this.popValue() : undefined;
  }
}

/**
 * Evaluates one expression (a STACK CFI rule) with the given variables (registers by the names the
 * rule uses: '$rsp', 'sp', '.cfa', ...). Undefined on failure: unknown variable, stack underflow,
 * division by zero, unreadable memory, or anything but exactly one value left.
 */
export function evaluateExpression(
  expr: string,
  variables: ReadonlyMap<string, bigint>,
  ctx: PostfixContext,
): bigint | undefined {
  const evaluator = new Evaluator(variables, ctx);
  if (!evaluator.run(expr)) return undefined;
  return evaluator.result();
}

/** A STACK WIN program's run: whether it succeeded, and what it assigned either way. */
export interface ProgramRun {
  /** Every token evaluated and nothing was left on the stack. */
  readonly ok: boolean;
  /**
   * The input variables with the assigned ones replaced or added, including those assigned before
   * a failure: Breakpad's evaluator writes each assignment into the walker's dictionary as it goes.
   */
  readonly variables: Map<string, bigint>;
  /** The variables assigned, also before a failure (the walker's "did the program set $eip"). */
  readonly assigned: ReadonlySet<string>;
}

/**
 * Runs a STACK WIN program string, a sequence of "<$var> <expr...> =" assignments, as Breakpad's
 * PostfixEvaluator::Evaluate does: failure (an unknown variable, unreadable memory, values left
 * on the stack) does not undo the assignments made before it.
 */
export function evaluateProgram(program: string, variables: ReadonlyMap<string, bigint>, ctx: PostfixContext): ProgramRun {
  const evaluator = new Evaluator(variables, ctx);
  const ok = evaluator.run(program) && evaluator.depth === 0;
  return { ok, variables: new Map(evaluator.variables), assigned: evaluator.assignedNames };
}

/**
 * Runs a STACK WIN program string. Returns the input variables with the assigned ones replaced or
 * added, or undefined on failure (including values left on the stack at the end).
 */
export function runProgram(
  program: string,
  variables: ReadonlyMap<string, bigint>,
  ctx: PostfixContext,
): Map<string, bigint> | undefined {
  const run = evaluateProgram(program, variables, ctx);
  return run.ok ? run.variables : undefined;
}
