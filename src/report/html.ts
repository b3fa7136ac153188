/**
 * `--format html`: one self-contained page (inline CSS, no script, a Content-Security-Policy that
 * forbids every fetch): the crash or bugcheck and the findings first, then per thread a stack map
 * (the stack from base to limit, each frame a band sized by its bytes and coloured by module), the
 * bytes per module and the frames with recursion runs folded into expandable rows, then the
 * module or driver list. Everything from the dump or a symbol file goes in as text (html-markup.ts).
 */
import type { Analysis, ThreadReport } from '../analyze/types.js';
import type { Finding } from '../analyze/findings.js';
import { describeMemory } from '../analyze/memory-map.js';
import { usedShareBasis } from '../analyze/stack-usage.js';
import type { DpsAnalysis } from '../analyze/windbg-stack.js';
import { pointerWidth, type Cpu } from '../model/cpu.js';
import type { Module } from '../model/snapshot.js';
import { moduleName } from '../symbolize/module-name.js';
import { baseName } from '../symbolize/symbol-store.js';
import { hexPad, trustDescription } from './format.js';
import { html, Markup } from './html-markup.js';
import { kfModuleTotals } from './kf.js';
import { foldedRunText, foldedRuns, foldsByFirstFrame, type FoldedRun } from './runs.js';
import { displayFrames, wow64ContextText } from './text.js';

export interface HtmlOptions {
  /** 'all' (default) or only the crashing thread. */
  readonly threads?: 'all' | 'crashed';
  /** List every frame of a recursion run instead of folding its repeats into an expandable row. */
  readonly allFrames?: boolean;
  /** The dump's file name, for the title. */
  readonly source?: string;
}

/** No fetch of any kind: styles inline, images only as data: URLs, no script, no form, no base. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/** Colours for modules, the biggest stack user first (the last one is for everything else). */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#86bcb6', '#bab0ac'];

const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #fff; --soft: #f4f6fa; --bad: #c0392b; --warn: #b9770e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header, main > section { padding: 12px 24px; }
header { background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header p { margin: 2px 0 0; color: #c8cfdc; }
h2 { font-size: 16px; margin: 18px 0 8px; }
h3 { font-size: 14px; margin: 12px 0 6px; color: var(--muted); }
code, .mono, td.loc, td.num { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 12.5px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.reason { font-size: 17px; font-weight: 600; color: var(--bad); }
ul.findings { list-style: none; padding: 0; margin: 0; }
li.finding { border-left: 4px solid var(--line); background: var(--soft); padding: 6px 10px; margin: 6px 0; }
li.finding[data-severity="critical"] { border-color: var(--bad); }
li.finding[data-severity="error"] { border-color: #e67e22; }
li.finding[data-severity="warning"] { border-color: var(--warn); }
li.finding .sev { font-weight: 700; text-transform: uppercase; font-size: 11px; margin-right: 6px; }
li.finding ul { margin: 4px 0 0; padding-left: 18px; color: var(--muted); }
section.thread { border-top: 1px solid var(--line); }
.thread-body { display: grid; grid-template-columns: 300px 1fr; gap: 18px; align-items: start; }
.thread-body.no-map { grid-template-columns: 1fr; }
svg.stack-map text { font: 11px ui-monospace, Consolas, monospace; fill: var(--fg); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); background: var(--soft); position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; }
td.loc { overflow-wrap: anywhere; }
tr.inline td.loc { padding-left: 22px; color: var(--muted); }
tr.rebuilt td { background: #fff8e6; }
tr.violation td { background: #fdecea; }
tr.gap td { background: #fff1c1; color: #7a5a00; font-style: italic; }
tr.fold > td { padding: 0; }
tr.fold summary { cursor: pointer; padding: 3px 8px; background: #eef2fb; font-family: ui-monospace, Consolas, monospace; font-size: 12.5px; }
.flag { display: inline-block; padding: 0 5px; margin-right: 3px; border-radius: 3px; font-size: 11px; background: var(--line); }
.flag.bad { background: var(--bad); color: #fff; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.bars { display: grid; grid-template-columns: minmax(120px, max-content) 1fr max-content; gap: 3px 10px; align-items: center; margin-bottom: 10px; }
.bar { height: 12px; border-radius: 2px; min-width: 1px; }
.muted { color: var(--muted); }
.culprit td { font-weight: 600; background: #fdecea; }
`;

/** The whole report as one HTML document. */
export function renderHtml(analysis: Analysis, options: HtmlOptions = {}): string {
  const { snapshot } = analysis;
  const sys = snapshot.system;
  const title = options.source ? `stackhog: ${baseName(options.source)}` : 'stackhog report';
  const crashed = analysis.crashingThreadIndex;
  const order = analysis.threads.map((_, i) => i).filter((i) => options.threads !== 'crashed' || i === crashed);
  if (crashed !== undefined && order.includes(crashed)) order.splice(order.indexOf(crashed), 1), order.unshift(crashed);
  const body = html`<header><h1>${title}</h1><p>${sys.os} ${sys.osVersion} · ${sys.cpu}${sys.cpuInfo ? ` (${sys.cpuInfo})` : ''} · ${sys.cpuCount} CPU${sys.cpuCount === 1 ? '' : 's'} · ${analysis.threads.length} thread${analysis.threads.length === 1 ? '' : 's'} · ${snapshot.modules.length} ${analysis.kernel ? 'drivers' : 'modules'}</p></header>
<main>
${summarySection(analysis)}
${crashpadSection(analysis)}
${findingsSection(analysis.findings, (f) => {
  const i = analysis.threads.findIndex((t) => t.thread.id === f.threadId);
  return i < 0 ? undefined : i;
})}
${order.map((i) => threadSection(analysis, i, options.allFrames ?? false))}
${modulesSection(analysis)}
${problemsSection(analysis)}
</main>`;
  return documentShell(title, body);
}

function documentShell(title: string, body: Markup): string {
  return html`<!doctype html>
<html lang="en" data-stackhog-report="1">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${new Markup(STYLE)}</style>
</head>
<body>
${body}
</body>
</html>
`.text;
}

function summarySection(analysis: Analysis): Markup {
  const k = analysis.kernel;
  if (k) {
    const width = analysis.snapshot.kernel!.headerWidth === 64 ? 16 : 8;
    const b = k.bugcheck;
    return html`<section id="summary"><h2>Bugcheck</h2>
<p class="reason">0x${b.code.toString(16).toUpperCase()} ${b.name}</p>
<dl class="facts">
${b.parameters.map((p, i) => html`<dt>P${i + 1} <code>${hexPad(p.value, width)}</code></dt><dd>${p.meaning.toLowerCase().startsWith(p.name.toLowerCase()) ? p.meaning : `${p.name}: ${p.meaning}`}</dd>`)}
<dt>Explanation</dt><dd>${b.explanation}</dd>
${b.guidance ? html`<dt>Fix pattern</dt><dd>${b.guidance}</dd>` : ''}
${k.processName ? html`<dt>Process</dt><dd>${k.processName}</dd>` : ''}
<dt>Probably caused by</dt><dd>${k.culprit ? html`<strong>${k.culprit.imageName}</strong> (${k.culprit.rule})` : 'no driver outside the skip list is on the crashing stack'}</dd>
<dt>Rule</dt><dd>${k.culpritRule}</dd>
<dt>Bucket</dt><dd><code>${k.bucket}</code> (the signature)</dd>
<dt>Walked from</dt><dd>${k.walkedFrom}</dd>
</dl></section>`;
  }
  const c = analysis.crash;
  if (!c) return html`<section id="summary"><h2>No crash</h2><p>The dump was requested; no exception is recorded.</p><dl class="facts"><dt>Signature</dt><dd><code>${analysis.signature.signature}</code></dd></dl></section>`;
  const cpu = analysis.snapshot.system.cpu;
  return html`<section id="summary"><h2>Crash</h2>
<p class="reason">${c.reason}</p>
<dl class="facts">
<dt>Address</dt><dd><code>${hexPad(c.address, pointerWidth(cpu) * 2)}</code></dd>
${c.explanation ? html`<dt>Explanation</dt><dd>${c.explanation}</dd>` : ''}
${c.parameters.length > 0 ? html`<dt>Parameters</dt><dd><code>${c.parameters.map((p) => hexPad(p, 16)).join(' ')}</code></dd>` : ''}
<dt>Signature</dt><dd><code>${analysis.signature.signature}</code></dd>
<dt>Thread</dt><dd>0x${c.threadId.toString(16)}${analysis.crashingThreadIndex !== undefined ? html` (<a href="#thread-${analysis.crashingThreadIndex}">thread ${analysis.crashingThreadIndex}</a>)` : ''}</dd>
</dl></section>`;
}

/** MINIDUMP_CRASHPAD_INFO: the report and client ids, the process's annotations, then each module's. */
function crashpadSection(analysis: Analysis): Markup {
  const c = analysis.snapshot.crashpad;
  if (!c) return html``;
  const modules = analysis.snapshot.modules;
  const rows: Markup[] = [];
  for (const [key, value] of c.simpleAnnotations) rows.push(html`<tr><td></td><td class="loc">${key}</td><td class="loc">${value}</td></tr>`);
  for (const m of c.moduleAnnotations) {
    const module = modules[m.moduleIndex];
    const name = module ? moduleName(module) : `module #${m.moduleIndex}`;
    for (const a of m.listAnnotations) rows.push(html`<tr><td>${name}</td><td></td><td class="loc">${a}</td></tr>`);
    for (const [key, value] of m.simpleAnnotations) rows.push(html`<tr><td>${name}</td><td class="loc">${key}</td><td class="loc">${value}</td></tr>`);
  }
  return html`<section id="crashpad"><h2>Crashpad annotations</h2><p class="muted">report id <code>${c.reportId}</code>, client id <code>${c.clientId}</code></p>
${rows.length > 0 ? html`<table class="annotations"><thead><tr><th>Module</th><th>Key</th><th>Value</th></tr></thead><tbody>${rows}</tbody></table>` : ''}</section>`;
}

function findingsSection(findings: readonly Finding[], threadIndexOf?: (f: Finding) => number | undefined): Markup {
  if (findings.length === 0) return html`<section id="findings"><h2>Findings</h2><p class="muted">No findings.</p></section>`;
  return html`<section id="findings"><h2>Findings</h2><ul class="findings">
${findings.map((f) => {
  const thread = threadIndexOf?.(f);
  const link = thread !== undefined && f.frame !== undefined ? html` <a href="#t${thread}-f${f.frame}">frame ${f.frame}</a>` : '';
  return html`<li class="finding" data-kind="${f.kind}" data-severity="${f.severity}"><span class="sev">${f.severity}</span>${f.summary}${link}${f.evidence.length > 0 ? html`<ul>${f.evidence.map((e) => html`<li>${e}</li>`)}</ul>` : ''}</li>`;
})}
</ul></section>`;
}

/** Module colours for one thread: its biggest stack users get their own, the rest share the last. */
function moduleColours(t: ThreadReport): (name: string) => string {
  const own = new Map(t.usage.byModule.slice(0, PALETTE.length - 1).map((m, i) => [m.name, PALETTE[i]!]));
  return (name) => own.get(name) ?? PALETTE[PALETTE.length - 1]!;
}

function threadSection(analysis: Analysis, index: number, allFrames: boolean): Markup {
  const t = analysis.threads[index]!;
  const cpu = t.context?.cpu ?? analysis.snapshot.system.cpu;
  const crashed = index === analysis.crashingThreadIndex;
  const state = crashed ? (analysis.kernel ? ' (bugcheck)' : analysis.crash ? ' (crashed)' : ' (requested the dump)') : '';
  const colour = moduleColours(t);
  const threadFindings = analysis.findings.filter((f) => f.threadId === t.thread.id);
  const map = stackMap(t, cpu, colour, threadFindings.some((f) => f.kind === 'stack_overflow' || f.kind === 'kernel_stack_overflow'));
  return html`<section class="thread" id="thread-${index}" data-thread-index="${index}">
<h2>Thread ${index}${state} <span class="muted">id 0x${t.thread.id.toString(16)}</span>${t.thread.name ? html` “${t.thread.name}”` : ''}</h2>
${usageLine(t, cpu)}
<div class="thread-body${map ? '' : ' no-map'}">
${map ?? ''}
<div>
${moduleBars(t, colour)}
${framesTable(t, t.wow64 ? `${index}-64` : index, t.wow64 ? [] : threadFindings, colour, allFrames)}
${t.wow64 ? wow64Frames(t, t.wow64, index, threadFindings, allFrames) : ''}
${t.truncated ? html`<p class="muted">The walk stopped at the ${t.stoppedBy === 'time' ? 'time budget' : 'frame limit'}.</p>` : ''}
${t.reconstruction?.used ? html`<p class="muted">Frames after the gap were rebuilt from the raw stack, as WinDbg's <code>${t.reconstruction.used}</code> would list them.${t.reconstruction.alternatives.length > 0 ? html` Other chains: <code>${t.reconstruction.alternatives.join('; ')}</code>` : ''}</p>` : ''}
</div>
</div>
</section>`;
}

function usageLine(t: ThreadReport, cpu: Cpu): Markup {
  const u = t.usage;
  const digits = pointerWidth(cpu) * 2;
  if (u.base === undefined || u.limit === undefined) return html`<p class="muted">Stack extent unknown (${t.frames.length} frame${t.frames.length === 1 ? '' : 's'}).</p>`;
  const basis = usedShareBasis(u);
  const used = u.usedBytes === undefined ? '' : `; ${u.usedBytes.toLocaleString('en-US')} bytes (0x${u.usedBytes.toString(16)}) in use${basis !== undefined ? `, ${u.usedPercent!.toFixed(1)}% of ${basis}` : ''}`;
  return html`<p>Stack <code>${hexPad(u.base, digits)}</code> down to <code>${hexPad(u.limit, digits)}</code>${u.reserveBase !== undefined ? html` (reserve from <code>${hexPad(u.reserveBase, digits)}</code>)` : ''}${used}.</p>`;
}

/** Height of the stack map's bar, in SVG units. */
const MAP_HEIGHT = 560;
const MAP_BAR = 110;

/**
 * The thread's stack as a vertical bar, base (highest address) at the top: frames as bands sized
 * by their bytes from the innermost stack pointer up, the unused part below them, the reserve not
 * yet committed below the limit, and the guard page an overflow hit.
 */
function stackMap(t: ThreadReport, cpu: Cpu, colour: (module: string) => string, overflow: boolean): Markup | undefined {
  const u = t.usage;
  const digits = pointerWidth(cpu) * 2;
  const captured = t.stackMemory;
  const top = u.base ?? (captured ? captured.base + BigInt(captured.size) : undefined);
  const lowest = u.reserveBase ?? u.limit ?? captured?.base;
  // An overflow's guard page lies below the limit: keep it in view.
  const bottom = overflow && u.limit !== undefined && lowest === u.limit && u.limit >= 0x1000n ? u.limit - 0x1000n : lowest;
  if (top === undefined || bottom === undefined || top <= bottom) return undefined;
  const span = Number(top - bottom);
  const y = (address: bigint): number => {
    const clamped = address > top ? top : address < bottom ? bottom : address;
    return (Number(top - clamped) / span) * MAP_HEIGHT;
  };
  const rect = (from: bigint, to: bigint, fill: string, title: string, cls: string): Markup => {
    const y0 = y(to);
    const h = Math.max(y(from) - y0, 0.6);
    return html`<rect class="${cls}" x="0" y="${y0.toFixed(2)}" width="${MAP_BAR}" height="${h.toFixed(2)}" fill="${fill}"><title>${title}</title></rect>`;
  };
  const parts: Markup[] = [];
  parts.push(rect(bottom, top, '#f4f6fa', 'not used by the walked frames', 'unused'));
  if (u.limit !== undefined && u.reserveBase !== undefined && u.limit > u.reserveBase) {
    parts.push(rect(u.reserveBase, u.limit, 'url(#reserved)', `reserved, not committed: ${(Number(u.limit - u.reserveBase) / 1024).toFixed(0)} KiB`, 'reserved'));
  }
  t.frames.forEach((f, i) => {
    const size = t.usage.frames[i]?.size;
    if (size === undefined || size <= 0) return;
    const key = t.usage.frames[i]!;
    const end = f.sp + BigInt(size);
    parts.push(rect(f.sp, end, colour(key.module), `frame ${i}: ${key.function}, 0x${size.toString(16)} bytes at ${hexPad(f.sp, digits)}`, f.afterGap ? 'frame rebuilt' : 'frame'));
  });
  // A recursion run tall enough to label says so inside its bands.
  for (const r of t.recursion) {
    const last = t.frames[r.start + r.length - 1];
    const lastSize = t.usage.frames[r.start + r.length - 1]?.size;
    if (!last || lastSize === undefined) continue;
    const y0 = y(last.sp + BigInt(lastSize));
    const y1 = y(t.frames[r.start]!.sp);
    if (y1 - y0 < 16) continue;
    parts.push(html`<text class="run" x="6" y="${((y0 + y1) / 2 + 4).toFixed(2)}" style="fill:#fff;font-weight:bold">recursion ×${r.repeats}</text>`);
  }
  const marks: { at: number; text: string; cls: string }[] = [];
  const mark = (address: bigint, text: string, cls = ''): void => {
    marks.push({ at: y(address), text, cls });
  };
  mark(top, `base ${hexPad(top, digits)}`);
  if (u.stackPointer !== undefined) mark(u.stackPointer, `sp ${hexPad(u.stackPointer, digits)}`);
  if (u.limit !== undefined) mark(u.limit, `limit ${hexPad(u.limit, digits)}`, overflow ? 'overflow' : '');
  if (u.reserveBase !== undefined && u.reserveBase !== u.limit) mark(u.reserveBase, `reserve ${hexPad(u.reserveBase, digits)}`);
  if (overflow && u.limit !== undefined) {
    // The guard page sits just below the committed limit; the overflow touched it.
    const guard = u.limit >= 0x1000n ? u.limit - 0x1000n : 0n;
    parts.push(html`<rect class="guard" x="0" y="${y(u.limit).toFixed(2)}" width="${MAP_BAR}" height="${Math.max(y(guard) - y(u.limit), 3).toFixed(2)}" fill="#c0392b"><title>guard page: the overflow hit it</title></rect>`);
    mark(guard, 'guard page: overflow', 'overflow');
  }
  // Labels in address order, each at least a line below the one above it.
  marks.sort((a, b) => a.at - b.at);
  let lastText = -Infinity;
  const labels = marks.map((m) => {
    const textY = Math.max(m.at + 4, lastText + 13);
    lastText = textY;
    const style = m.cls === 'overflow' ? 'fill:#c0392b;font-weight:bold' : '';
    return html`<polyline points="${MAP_BAR},${m.at.toFixed(2)} ${MAP_BAR + 6},${m.at.toFixed(2)} ${MAP_BAR + 10},${(textY - 4).toFixed(2)}" fill="none" stroke="#5b6475"/><text x="${MAP_BAR + 13}" y="${textY.toFixed(2)}" class="${m.cls}" style="${style}">${m.text}</text>`;
  });
  const used = u.usedBytes !== undefined ? `${(u.usedBytes / 1024).toFixed(u.usedBytes < 10240 ? 1 : 0)} KiB in use` : '';
  return html`<svg class="stack-map" role="img" aria-label="stack map" viewBox="-2 -8 300 ${MAP_HEIGHT + 70}" width="300" height="${MAP_HEIGHT + 70}">
<defs><pattern id="reserved" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eceff4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d3d8e2" stroke-width="2"/></pattern></defs>
${parts}
<rect x="0" y="0" width="${MAP_BAR}" height="${MAP_HEIGHT}" fill="none" stroke="#5b6475"/>
${labels}
<text x="0" y="${MAP_HEIGHT + 18}">${used}</text>
</svg>`;
}

function moduleBars(t: ThreadReport, colour: (module: string) => string): Markup {
  const modules = t.usage.byModule.filter((m) => m.bytes > 0);
  if (modules.length === 0) return html``;
  const max = Math.max(...modules.map((m) => m.bytes));
  return html`<h3>Stack by module</h3><div class="bars module-bars">
${modules.slice(0, 12).map((m) => html`<span><span class="swatch" style="background:${colour(m.name)}"></span>${m.name}</span><span class="bar" style="width:${((m.bytes / max) * 100).toFixed(1)}%;background:${colour(m.name)}"></span><span class="mono">0x${m.bytes.toString(16)} · ${(m.share * 100).toFixed(1)}% · ${m.frames} frame${m.frames === 1 ? '' : 's'}</span>`)}
</div>`;
}

/** A WOW64 thread's 32-bit program frames, after the WOW64 layer's 64-bit ones: the findings point here. */
function wow64Frames(t: ThreadReport, w: ThreadReport, index: number, findings: readonly Finding[], allFrames: boolean): Markup {
  return html`<h3>WOW64: the 32-bit program's frames (x86)</h3>
<p class="muted">Walked from ${wow64ContextText(t)}.</p>
${usageLine(w, 'x86')}
${moduleBars(w, moduleColours(w))}
${framesTable(w, index, findings, moduleColours(w), allFrames, '32-bit frames')}`;
}

function framesTable(t: ThreadReport, thread: number | string, findings: readonly Finding[], colour: (module: string) => string, allFrames: boolean, heading = 'Frames'): Markup {
  if (t.frames.length === 0) {
    // Only a WOW64 thread stopped in 32-bit code has a 32-bit walk and no 64-bit one (as in the text report).
    return t.wow64 ? html`<p class="muted">No 64-bit frames: the thread was running 32-bit code (CS 0x23), so its registers are the x86 ones.</p>` : html`<p class="muted">No frames.</p>`;
  }
  const flagged = new Map<number, Finding[]>();
  for (const f of findings) if (f.frame !== undefined) flagged.set(f.frame, [...(flagged.get(f.frame) ?? []), f]);
  const folds = allFrames ? new Map<number, FoldedRun>() : foldsByFirstFrame(foldedRuns(t));
  const rows = (from: number, to: number, folding: boolean): Markup[] => {
    const out: Markup[] = [];
    for (let i = from; i <= to; i++) {
      const fold = folding ? folds.get(i) : undefined;
      if (fold) {
        out.push(html`<tr class="fold"><td colspan="6"><details><summary>frames ${fold.first}–${fold.last}: ${foldedRunText(fold)}</summary><table class="frames-run">${rows(fold.first, fold.last, false)}</table></details></td></tr>`);
        i = fold.last;
        continue;
      }
      out.push(...frameRows(t, thread, i, flagged.get(i) ?? [], colour));
    }
    return out;
  };
  return html`<h3>${heading}</h3><table class="frames"><thead><tr><th>#</th><th>Location</th><th>Found by</th><th>Frame size</th><th>Prologue</th><th>Flags</th></tr></thead>
<tbody>${rows(0, t.frames.length - 1, true)}</tbody></table>`;
}

function frameRows(t: ThreadReport, thread: number | string, i: number, findings: readonly Finding[], colour: (module: string) => string): Markup[] {
  const frame = t.frames[i]!;
  const usage = t.usage.frames[i];
  const out: Markup[] = [];
  if (frame.afterGap && (i === 0 || !t.frames[i - 1]!.afterGap)) {
    out.push(html`<tr class="gap"><td colspan="6">The walk stopped here; the frames below were rebuilt from the raw stack.</td></tr>`);
  }
  const entries = displayFrames([frame]);
  for (const entry of entries.filter((e) => e.inline)) {
    out.push(html`<tr class="inline"><td class="num"></td><td class="loc">${entry.location}</td><td>inline</td><td></td><td></td><td><span class="flag">inlined</span></td></tr>`);
  }
  const location = entries[entries.length - 1]!.location;
  const flags: Markup[] = [];
  if (frame.afterGap) flags.push(html`<span class="flag">rebuilt</span>`);
  if (frame.interrupted && i > 0) flags.push(html`<span class="flag">interrupted</span>`);
  if (frame.trapFrame !== undefined) flags.push(html`<span class="flag">trap frame</span>`);
  if (frame.otherStack) flags.push(html`<span class="flag">other stack</span>`);
  const memory = t.frameMemory[i];
  if (memory && (!memory.module || memory.executable === false)) flags.push(html`<span class="flag bad" title="${describeMemory(memory)}">${memory.module ? 'not executable' : 'no module'}</span>`);
  for (const f of findings) flags.push(html`<span class="flag bad" title="${f.summary}">${f.kind.replace(/_/g, ' ')}</span>`);
  const cls = [findings.length > 0 || (memory && !memory.module) ? 'violation' : '', frame.afterGap ? 'rebuilt' : ''].filter((c) => c !== '').join(' ');
  const size = usage?.size;
  const fixed = frame.fixedAllocation;
  const swatch = usage ? html`<span class="swatch" style="background:${colour(usage.module)}"></span>` : '';
  out.push(html`<tr id="t${thread}-f${i}"${cls ? html` class="${cls}"` : ''}><td class="num">${i}</td><td class="loc">${swatch}${location}</td><td>${trustDescription(frame)}</td><td class="num">${size === undefined ? '' : `0x${size.toString(16)}`}</td><td class="num">${fixed === undefined || fixed === 0 ? '' : `0x${fixed.toString(16)}`}</td><td>${flags}</td></tr>`);
  return out;
}

function modulesSection(analysis: Analysis): Markup {
  const { snapshot } = analysis;
  const kernel = analysis.kernel !== undefined;
  const digits = pointerWidth(snapshot.system.cpu) * 2;
  const onStack = new Set<Module>();
  for (const t of analysis.threads) for (const f of t.frames) if (f.module) onStack.add(f.module);
  const byAddress = [...snapshot.modules].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  const status = (m: Module): string => {
    if (analysis.modulesWithSymbols.has(m)) return 'symbols loaded';
    if (analysis.modulesSymbolsSought.has(m)) return 'no symbols found';
    return onStack.has(m) ? 'no symbols given' : '';
  };
  const culprit = analysis.kernel?.culprit?.module;
  return html`<section id="modules"><h2>${kernel ? 'Drivers' : 'Modules'} <span class="muted">(${byAddress.length})</span></h2>
<table class="modules"><thead><tr><th>Start</th><th>End</th><th>Name</th><th>Version</th><th>On a stack</th><th>Symbols</th></tr></thead><tbody>
${byAddress.map((m) => html`<tr${m === culprit ? html` class="culprit"` : ''}><td class="num">${hexPad(m.base, digits)}</td><td class="num">${hexPad(m.base + BigInt(m.size), digits)}</td><td class="loc">${kernel ? baseName(m.codeFile) : moduleName(m)}${m === analysis.mainModule && !kernel ? html` <span class="flag">main</span>` : ''}${m === culprit ? html` <span class="flag bad">probable cause</span>` : ''}</td><td>${m.version ?? ''}</td><td>${onStack.has(m) ? 'yes' : ''}</td><td>${status(m)}</td></tr>`)}
</tbody></table>
${kernel && snapshot.kernel!.unloadedDrivers.length > 0 ? html`<h3>Unloaded drivers</h3><ul>${snapshot.kernel!.unloadedDrivers.map((u) => html`<li><code>${hexPad(u.start, digits)}–${hexPad(u.end, digits)}</code> ${u.name}</li>`)}</ul>` : ''}
</section>`;
}

function problemsSection(analysis: Analysis): Markup {
  const groups: [string, readonly string[]][] = [
    ['Warnings (the parts that could not be read)', analysis.warnings],
    ['Limits (the report is partial there)', analysis.limits],
    ['Notes', analysis.notes],
  ];
  const shown = groups.filter(([, items]) => items.length > 0);
  if (shown.length === 0) return html``;
  return html`<section id="problems">${shown.map(([title, items]) => html`<h3>${title}</h3><ul>${items.map((w) => html`<li>${w}</li>`)}</ul>`)}</section>`;
}

/** `stackhog dps --format html`: the stack rebuilt from a WinDbg listing, as a table with per-module bytes. */
export function renderDpsHtml(a: DpsAnalysis, name: string): string {
  const width = a.view.wordSize * 2;
  const totals = kfModuleTotals(a.rows).filter((t) => t.bytes > 0n);
  const max = totals.reduce((m, t) => (t.bytes > m ? t.bytes : m), 0n);
  const colourOf = new Map(totals.slice(0, PALETTE.length - 1).map((t, i) => [t.module, PALETTE[i]!]));
  const colour = (module: string | undefined): string => colourOf.get(module ?? '') ?? PALETTE[PALETTE.length - 1]!;
  const title = `stackhog: ${baseName(name)}`;
  const body = html`<header><h1>${title}</h1><p>Stack rebuilt from a WinDbg listing · ${a.view.cpu} · <code>${hexPad(a.view.start, width)}–${hexPad(a.view.end, width)}</code> · ${a.capture.words.size} words</p></header>
<main>
<section id="summary"><h2>${a.rows.length === 0 ? 'No chain of frames was found' : `${a.best ? 'Best chain' : 'Walk'}: ${a.rows.length} frames`}</h2>${a.command ? html`<p>Start WinDbg there: <code>${a.command}</code></p>` : ''}</section>
${findingsSection(a.findings)}
<section class="thread" data-thread-index="0">
${totals.length > 0 ? html`<h3>Stack by module (sum of the Memory column)</h3><div class="bars module-bars">${totals.map((t) => html`<span><span class="swatch" style="background:${colour(t.module)}"></span>${t.module}</span><span class="bar" style="width:${((Number(t.bytes) / Number(max)) * 100).toFixed(1)}%;background:${colour(t.module)}"></span><span class="mono">0x${t.bytes.toString(16)} · ${t.rows} row${t.rows === 1 ? '' : 's'}</span>`)}</div>` : ''}
${dpsStackMap(a, colour)}
<h3>Frames</h3><table class="frames"><thead><tr><th>Memory</th><th>Child frame</th><th>RetAddr</th><th>Call site</th></tr></thead><tbody>
${a.rows.map((r) => (r.inline ? html`<tr class="inline"><td></td><td>(Inline)</td><td></td><td class="loc">${r.location}</td></tr>` : html`${r.afterGap ? html`<tr class="gap"><td colspan="4">The walk stopped here; the rows below were rebuilt from the raw stack.</td></tr>` : ''}<tr><td class="num">${r.memory === undefined ? '' : `0x${r.memory.toString(16)}`}</td><td class="num">${hexPad(r.childFrame, width)}</td><td class="num">${hexPad(r.returnAddress, width)}</td><td class="loc"><span class="swatch" style="background:${colour(r.module)}"></span>${r.location}</td></tr>`))}
</tbody></table>
</section>
${a.alternatives.length > 0 ? html`<section id="chains"><h2>Other chains</h2><ul>${a.alternatives.map((c) => html`<li><code>${c.command}</code> ${c.frames} frames, score ${c.score}</li>`)}</ul></section>` : ''}
</main>`;
  return documentShell(title, body);
}

/** The dps range as a bar: each row's Memory as a band at its child frame, coloured by module. */
function dpsStackMap(a: DpsAnalysis, colour: (module: string | undefined) => string): Markup {
  const top = a.view.end;
  const bottom = a.view.start;
  if (top <= bottom) return html``;
  const span = Number(top - bottom);
  const y = (v: bigint): number => (Number(top - (v > top ? top : v < bottom ? bottom : v)) / span) * MAP_HEIGHT;
  const bands = a.rows.flatMap((r) => {
    if (r.inline || r.memory === undefined || r.memory <= 0n) return [];
    const from = r.childFrame - r.memory;
    const h = Math.max(y(from) - y(r.childFrame), 0.6);
    return [html`<rect class="frame" x="0" y="${y(r.childFrame).toFixed(2)}" width="${MAP_BAR}" height="${h.toFixed(2)}" fill="${colour(r.module)}"><title>${r.location}: 0x${r.memory.toString(16)} bytes</title></rect>`];
  });
  const width = a.view.wordSize * 2;
  return html`<svg class="stack-map" role="img" aria-label="stack map" viewBox="-2 -8 300 ${MAP_HEIGHT + 20}" width="300" height="${MAP_HEIGHT + 20}"><rect x="0" y="0" width="${MAP_BAR}" height="${MAP_HEIGHT}" fill="#f4f6fa"/>${bands}<rect x="0" y="0" width="${MAP_BAR}" height="${MAP_HEIGHT}" fill="none" stroke="#5b6475"/><text x="${MAP_BAR + 11}" y="4">${hexPad(top, width)}</text><text x="${MAP_BAR + 11}" y="${MAP_HEIGHT + 4}">${hexPad(bottom, width)}</text></svg>`;
}

