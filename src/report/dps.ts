import type { DpsAnalysis } from '../analyze/windbg-stack.js';
import { kfModuleTotals, renderKfRows, renderKfTotals } from './kf.js';

function hex(v: bigint, width: number): string {
  return `0x${v.toString(16).padStart(width, '0')}`;
}

/** `stackhog dps`: the rebuilt stack as a WinDbg `kf` listing, per-module totals and the other chains. */
export function renderDps(a: DpsAnalysis, name: string): string {
  const width = a.view.wordSize * 2;
  const out = [
    `Stack rebuilt from ${name}: ${a.view.cpu}, ${hex(a.view.start, width)}-${hex(a.view.end, width)}, ${a.capture.words.size} words` +
      (a.capture.skipped > 0 ? ` (${a.capture.skipped} line${a.capture.skipped === 1 ? "" : "s"} not understood, skipped)` : ''),
  ];
  if (a.rows.length === 0) {
    out.push('No chain of frames was found.');
  } else {
    out.push(`${a.best ? 'Best chain' : 'Walk'}: ${a.command} (${a.rows.length} frames)`, '');
    out.push(...renderKfRows(a.rows, a.view.wordSize));
    const totals = renderKfTotals(a.rows);
    if (totals.length > 0) out.push('', ...totals);
  }
  if (a.findings.length > 0) {
    out.push('', 'Findings:');
    for (const f of a.findings) {
      out.push(`  [${f.severity}] ${f.summary}`);
      for (const e of f.evidence) out.push(`      - ${e}`);
    }
  }
  if (a.alternatives.length > 0) {
    out.push('', 'Other chains (start WinDbg there to look for yourself):');
    for (const c of a.alternatives) out.push(`  ${c.command}   ${c.frames} frames, score ${c.score}`);
  }
  return out.join('\n') + '\n';
}

/** `stackhog dps --format json`: `{ frames, by_module, chains }`, addresses as hex strings, sizes as integers. */
export function dpsJson(a: DpsAnalysis): unknown {
  const width = a.view.wordSize * 2;
  return {
    cpu: a.view.cpu,
    stack: { start: hex(a.view.start, width), end: hex(a.view.end, width) },
    start: a.command ?? null,
    frames: a.rows.map((r) => ({
      child_sp: hex(r.childFrame, width),
      ret_addr: hex(r.returnAddress, width),
      location: r.location,
      memory: r.memory === undefined ? null : Number(r.memory),
    })),
    by_module: kfModuleTotals(a.rows).map((t) => ({ module: t.module, bytes: Number(t.bytes), frames: t.rows })),
    chains: a.alternatives.map((c) => ({ start: c.command, frames: c.frames, score: c.score })),
    findings: a.findings.map((f) => ({ kind: f.kind, severity: f.severity, frame: f.frame ?? null, summary: f.summary, evidence: f.evidence, data: f.data })),
  };
}
