// The two table forms every mode prints: Markdown (for BENCHMARKS.md and results/*.md) and
// aligned text (stdout). `numeric(i)` says which columns are right-aligned.

export const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
export const fmtRatio = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');

export function markdownTable(head, numeric, lines) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((h, i) => (numeric(i) ? '---:' : '---')).join('|')}|`,
    ...lines.map((l) => `| ${l.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function textTable(head, numeric, lines) {
  const all = [head, ...lines];
  const w = head.map((_, i) => Math.max(...all.map((l) => String(l[i]).length)));
  const fmt = (l) =>
    l
      .map((c, i) => (numeric(i) ? String(c).padStart(w[i]) : String(c).padEnd(w[i])))
      .join('  ')
      .trimEnd();
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...lines.map(fmt)].join('\n');
}
