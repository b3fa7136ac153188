/**
 * Crash signatures: one stable string per bug, so that the same crash in many dumps groups
 * together. From the crashing (or dump-requesting) thread's top frames: frames that say nothing
 * are skipped, frames where crashes merely show (memcpy, the heap, abort) are kept as a prefix, and
 * the first frame that is neither ends the signature; the frames are joined with " | ". A frame is
 * `module!function` (without its parameter list) with symbols, `module+0xOFFSET` without (the
 * offset from the module's base, the same in every process of that build). A kernel dump's
 * signature is its bucket: the bugcheck code and the blamed driver's frame.
 */
import type { StackFrame } from '../unwind/frame.js';
import { moduleName } from '../symbolize/module-name.js';
import { DEFAULT_SIGNATURE_RULES, type SignatureRules } from './signature-rules.js';
import type { Analysis, CrashSignature, SignatureFrame } from './types.js';

/** The compiled lists, made once per rule set. */
export interface SignatureMatcher {
  readonly skip: RegExp | undefined;
  readonly prefix: RegExp | undefined;
  readonly maxPrefixFrames: number;
}

export function signatureMatcher(rules: SignatureRules = DEFAULT_SIGNATURE_RULES): SignatureMatcher {
  const compile = (list: readonly string[]): RegExp | undefined => (list.length === 0 ? undefined : new RegExp(list.map((p) => `(?:${p})`).join('|'), 'i'));
  return { skip: compile(rules.skip), prefix: compile(rules.prefix), maxPrefixFrames: rules.maxPrefixFrames };
}

/** The default lists compiled on first use (a run that prints no signature never compiles them). */
let defaultMatcher: SignatureMatcher | undefined;
const DEFAULT_MATCHER = (): SignatureMatcher => (defaultMatcher ??= signatureMatcher());
const NO_MODULE = '(no module)';

/** A function name without its parameter list (templates kept), whitespace collapsed. */
export function signatureFunctionName(name: string): string {
  let text = name.replace(/\s+/g, ' ').trim();
  // "f(int, char *) const" → "f": cut at the parenthesis that opens the outermost parameter list.
  if (text.endsWith(')') || /\)\s*(const|volatile|&|&&|noexcept)*$/.test(text)) {
    let depth = 0;
    for (let i = text.length - 1; i >= 0; i--) {
      const c = text[i];
      if (c === ')') depth++;
      else if (c === '(') {
        depth--;
        if (depth === 0) {
          // Not an operator's own parentheses ("operator()").
          if (!text.slice(0, i).endsWith('operator')) text = text.slice(0, i);
          break;
        }
      }
    }
  }
  return text.trim();
}

/** A frame as signatures name it. */
export function signatureFrameName(frame: StackFrame): string {
  const m = frame.module;
  if (!m) return NO_MODULE;
  const name = moduleName(m);
  if (frame.symbol) return `${name}!${signatureFunctionName(frame.symbol.functionName)}`;
  // The caller's call site, as the reports print it: the return address for callers.
  return `${name}+0x${(frame.ip - m.base).toString(16)}`;
}

/** The signature of a walked thread's frames. */
export function framesSignature(frames: readonly StackFrame[], matcher: SignatureMatcher = DEFAULT_MATCHER()): CrashSignature {
  const looked: SignatureFrame[] = [];
  const kept: string[] = [];
  let prefixes = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    // Inlined calls first, innermost first, as the reports list them.
    const names = [...(frame.symbol && frame.module ? frame.symbol.inlines.map((inline) => `${moduleName(frame.module!)}!${signatureFunctionName(inline.name)}`) : []), signatureFrameName(frame)];
    for (const name of names) {
      if (matcher.skip?.test(name)) {
        looked.push({ index: i, name, role: 'skipped' });
        continue;
      }
      // Code outside every module says only that: keep it, and name the module code that led there.
      if ((name === NO_MODULE || matcher.prefix?.test(name)) && prefixes < matcher.maxPrefixFrames) {
        prefixes++;
        kept.push(name);
        looked.push({ index: i, name, role: 'prefix' });
        continue;
      }
      kept.push(name);
      looked.push({ index: i, name, role: 'signature' });
      return { signature: kept.join(' | '), frames: looked };
    }
  }
  // Only prefix or skipped frames: what was kept, or else the innermost frame.
  if (kept.length > 0) return { signature: kept.join(' | '), frames: looked };
  const first = frames[0];
  if (!first) return { signature: 'EMPTY: no frames', frames: [] };
  return { signature: signatureFrameName(first), frames: [{ index: 0, name: signatureFrameName(first), role: 'signature' }] };
}

/** The dump's signature: the kernel bucket, or the crashing (requesting) thread's frames. */
export function crashSignature(analysis: Pick<Analysis, 'kernel' | 'crashingThreadIndex' | 'threads'>, matcher: SignatureMatcher = DEFAULT_MATCHER()): CrashSignature {
  if (analysis.kernel) return { signature: analysis.kernel.bucket, frames: [] };
  const i = analysis.crashingThreadIndex;
  if (i === undefined) return { signature: 'EMPTY: no crashing thread', frames: [] };
  return framesSignature(analysis.threads[i]!.frames, matcher);
}
