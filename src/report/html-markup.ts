/**
 * Building HTML that cannot carry markup from a dump: every value put into an `html` template is
 * text (escaped, control and bidirectional-override characters shown as escapes) unless it is
 * itself the result of an `html` template.
 */

/** Markup built by `html`: the only thing inserted unescaped. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Characters a dump's writer chose that would hide or reorder text: C0/C1 controls and Unicode's bidirectional controls. */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text as HTML character data or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text
    .replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

type Value = Markup | string | number | bigint | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  if (value === undefined || value === null || value === false || value === true) return '';
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped (arrays joined); `html` results nest as markup. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Markup(out);
}

/** Markup joined with a separator (itself literal markup). */
export function join(parts: readonly Markup[], separator = ''): Markup {
  return new Markup(parts.map((p) => p.text).join(separator));
}
