// The status page as HTML: one screen wide at 1280 px (tables wrap long values instead of
// growing sideways), no script, no external resources.
import { escapeHtml, type ProcessReport, type ServerStatus } from '@skitai/kernel';

const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:12px 16px}
h1{font-size:20px;margin:4px 0 2px}h2{font-size:15px;margin:16px 0 6px;border-bottom:1px solid #ccd;padding-bottom:2px}
h3{font-size:13px;margin:10px 0 4px;color:#445}
.sub{color:#667;margin:0 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;table-layout:auto}
th,td{border:1px solid #dde;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{background:#eef0f5;font-weight:600;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.kv{width:auto;min-width:50%}.kv th{width:12em;white-space:normal}.bad{color:#b00020;font-weight:600}.ok{color:#087f23}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 16px}.grid>div{min-width:0}
`;

const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${s % 60}s` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return escapeHtml(value);
  const json = JSON.stringify(value);
  return escapeHtml(json.length > 300 ? `${json.slice(0, 300)}...` : json);
}

/** Any plain data: an array of objects is a table, an object a list of names and values. */
export function dataHtml(data: unknown): string {
  if (
    Array.isArray(data) &&
    data.length > 0 &&
    data.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))
  ) {
    const cols = [...new Set(data.flatMap((r) => Object.keys(r as object)))];
    const rows = data
      .map(
        (r) =>
          `<tr>${cols
            .map((c) => {
              const v = (r as Record<string, unknown>)[c];
              return `<td${typeof v === 'number' ? ' class="n"' : ''}>${cell(v)}</td>`;
            })
            .join('')}</tr>`,
      )
      .join('');
    return `<table><tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>${rows}</table>`;
  }
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const entries = Object.entries(data as Record<string, unknown>);
    const nested = entries.filter(([, v]) => typeof v === 'object' && v !== null);
    const flat = entries.filter(([, v]) => !(typeof v === 'object' && v !== null));
    let out =
      flat.length === 0
        ? ''
        : `<table class="kv">${flat.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${cell(v)}</td></tr>`).join('')}</table>`;
    for (const [k, v] of nested) out += `<h3>${escapeHtml(k)}</h3>${dataHtml(v)}`;
    return out;
  }
  return `<p>${cell(data)}</p>`;
}

/** A worker's request numbers in a row of the processes table. */
export interface Rates {
  /** Requests per second since the previous status read (undefined on the first one). */
  recent?: number;
}

function latencyQuantile(p: ProcessReport, q: number): string {
  const l = p.requests?.latency;
  if (!l || l.count === 0) return '-';
  const target = q * l.count;
  const hit = l.buckets.find(([, c]) => c >= target);
  return hit ? `≤ ${ms(hit[0])}` : `> ${ms(l.buckets[l.buckets.length - 1]![0])}`;
}

function codeClasses(p: ProcessReport): string {
  const codes = p.requests?.codes;
  if (!codes) return '-';
  const classes: Record<string, number> = {};
  for (const [code, n] of Object.entries(codes))
    classes[code === 'other' ? 'other' : `${code[0]}xx`] =
      (classes[code === 'other' ? 'other' : `${code[0]}xx`] ?? 0) + n;
  return (
    Object.entries(classes)
      .sort()
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ') || '-'
  );
}

export function toHtml(status: ServerStatus, rates: Map<string, Rates>): string {
  const now = status.generatedAt;
  const head = status.processes[0];
  const uptime = head && head.startedAt > 0 ? duration((now - head.startedAt) / 1000) : '-';
  const processes = status.processes
    .map((p) => {
      if (p.error !== undefined)
        return `<tr><td>${escapeHtml(p.id)}</td><td>${p.role}</td><td class="n">${p.pid}</td><td colspan="10" class="bad">${escapeHtml(p.error)}</td></tr>`;
      const r = p.requests;
      const up = (now - p.startedAt) / 1000;
      const recent = rates.get(`${p.id}:${p.pid}`)?.recent;
      const restart = p.lastRestart
        ? `${escapeHtml(p.lastRestart.reason)} (${new Date(p.lastRestart.at).toISOString().slice(0, 19)}Z)`
        : '-';
      return (
        `<tr><td>${escapeHtml(p.id)}</td><td>${p.role}</td><td class="n">${p.pid}</td><td class="n">${duration(up)}</td>` +
        `<td class="n">${r ? r.received : '-'}</td><td class="n">${r && up > 0 ? (r.received / up).toFixed(2) : '-'}</td><td class="n">${recent === undefined ? '-' : recent.toFixed(2)}</td>` +
        `<td>${codeClasses(p)}</td><td class="n">${latencyQuantile(p, 0.5)} / ${latencyQuantile(p, 0.99)}</td>` +
        `<td class="n">${mib(p.rss)}</td><td class="n">${(p.cpu.user + p.cpu.system).toFixed(2)} s</td>` +
        `<td class="n">${p.connections ?? '-'}</td><td class="n">${p.restarts ?? '-'}</td></tr>` +
        (p.lastRestart ? `<tr><td></td><td colspan="12">last restart: ${restart}</td></tr>` : '')
      );
    })
    .join('');

  const codes: Record<string, number> = {};
  for (const p of status.processes)
    for (const [c, n] of Object.entries(p.requests?.codes ?? {})) codes[c] = (codes[c] ?? 0) + n;
  const codeRow =
    Object.keys(codes).length === 0
      ? '<p>no responses yet</p>'
      : `<table><tr>${Object.keys(codes)
          .map((c) => `<th>${escapeHtml(c)}</th>`)
          .join('')}</tr><tr>${Object.values(codes)
          .map((n) => `<td class="n">${n}</td>`)
          .join('')}</tr></table>`;

  const mounts = status.mounts
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.point)}</td><td>${escapeHtml(m.host ?? '*')}</td><td>${escapeHtml(m.kind)}</td><td>${escapeHtml(m.target)}</td></tr>`,
    )
    .join('');
  const plugins = [
    `@skitai/kernel ${escapeHtml(status.kernel)}`,
    ...status.plugins.map((p) => `${escapeHtml(p.name)} ${escapeHtml(p.version)}`),
  ].join(', ');

  let sections = '';
  for (const p of status.processes) {
    for (const s of p.sections)
      sections += `<section><h2>${escapeHtml(s.title)} <small>(${escapeHtml(p.id)}, pid ${p.pid})</small></h2>${dataHtml(s.data)}</section>`;
  }

  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Skitai status</title><style>${CSS}</style></head><body><main>
<h1>Skitai status</h1>
<p class="sub">${escapeHtml(status.script)} &middot; up ${uptime} &middot; ${new Date(now).toISOString().replace('T', ' ').slice(0, 19)} UTC &middot; ${plugins}</p>
<h2>Processes</h2>
<table><tr><th>process</th><th>role</th><th>pid</th><th>uptime</th><th>requests</th><th>req/s (avg)</th><th>req/s (since last read)</th><th>responses</th><th>latency p50 / p99</th><th>RSS</th><th>CPU</th><th>connections</th><th>restarts</th></tr>${processes}</table>
<div class="grid"><div><h2>Status codes</h2>${codeRow}</div><div><h2>Mounts</h2><table><tr><th>point</th><th>host</th><th>kind</th><th>target</th></tr>${mounts}</table></div></div>
${sections}
<p class="sub">Also as JSON (Accept: application/json) and Prometheus text (<code>metrics</code>).</p>
</main></body></html>`;
}
