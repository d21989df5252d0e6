// The Prometheus text exposition (format 0.0.4) of a server status: one family per metric
// name, every sample labelled with the process it came from.
import type { ProcessReport, ServerStatus, StatusMetric } from '@skitai/kernel';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  lines: string[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labels(pairs: Record<string, string>): string {
  const keys = Object.keys(pairs).filter((k) => labelRe.test(k) && !k.startsWith('__'));
  return keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(String(pairs[k]))}"`).join(',')}}`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function toPrometheus(status: ServerStatus): string {
  const families = new Map<string, Family>();
  const family = (name: string, help: string, type: Family['type']): Family | undefined => {
    if (!nameRe.test(name)) return undefined;
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { help, type, lines: [] }));
    return f.type === type ? f : undefined;
  };
  const sample = (
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    labelPairs: Record<string, string>,
    value: number,
  ) => {
    family(name, help, type)?.lines.push(`${name}${labels(labelPairs)} ${num(value)}`);
  };

  sample('skitai_info', 'The Skitai kernel and its plugins.', 'gauge', { version: status.kernel }, 1);
  for (const p of status.plugins)
    sample(
      'skitai_plugin_info',
      'A plugin in use, with its version.',
      'gauge',
      { plugin: p.name, version: p.version },
      1,
    );
  for (const p of status.processes) processMetrics(p, sample, family);
  let out = '';
  for (const [name, f] of families) {
    if (f.lines.length === 0) continue;
    out += `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}

type Sample = (
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  labels: Record<string, string>,
  value: number,
) => void;
type FamilyOf = (name: string, help: string, type: Family['type']) => Family | undefined;

function processMetrics(p: ProcessReport, sample: Sample, family: FamilyOf): void {
  const who = { process: p.id };
  sample(
    'skitai_process_up',
    'Whether the process answered the status request.',
    'gauge',
    { ...who, role: p.role },
    p.error === undefined ? 1 : 0,
  );
  if (p.error !== undefined) return;
  sample(
    'skitai_process_start_time_seconds',
    'Start time of the process since the Unix epoch.',
    'gauge',
    who,
    p.startedAt / 1000,
  );
  sample('skitai_process_resident_memory_bytes', 'Resident memory size.', 'gauge', who, p.rss);
  sample(
    'skitai_process_cpu_seconds_total',
    'User and system CPU time spent.',
    'counter',
    who,
    p.cpu.user + p.cpu.system,
  );
  if (p.restarts !== undefined)
    sample(
      'skitai_process_restarts_total',
      'Times this worker slot or background process was started again.',
      'counter',
      who,
      p.restarts,
    );
  if (p.connections !== undefined)
    sample('skitai_http_open_connections', 'Open HTTP connections.', 'gauge', who, p.connections);
  const r = p.requests;
  if (r !== undefined) {
    sample('skitai_http_requests_received_total', 'HTTP requests received.', 'counter', who, r.received);
    for (const [code, n] of Object.entries(r.codes))
      sample('skitai_http_responses_total', 'HTTP responses sent, by status code.', 'counter', { ...who, code }, n);
    const h = family(
      'skitai_http_request_duration_seconds',
      'Time from the request to the response head.',
      'histogram',
    );
    if (h !== undefined) {
      const l = (extra: Record<string, string>) => labels({ ...who, ...extra });
      for (const [le, count] of r.latency.buckets)
        h.lines.push(`skitai_http_request_duration_seconds_bucket${l({ le: num(le) })} ${count}`);
      h.lines.push(`skitai_http_request_duration_seconds_bucket${l({ le: '+Inf' })} ${r.latency.count}`);
      h.lines.push(`skitai_http_request_duration_seconds_sum${labels(who)} ${num(r.latency.sum)}`);
      h.lines.push(`skitai_http_request_duration_seconds_count${labels(who)} ${r.latency.count}`);
    }
  }
  for (const section of p.sections) {
    for (const m of (section.metrics ?? []) as StatusMetric[]) {
      if (m.type !== 'counter' && m.type !== 'gauge') continue;
      for (const s of m.samples)
        if (typeof s.value === 'number') sample(m.name, m.help, m.type, { ...(s.labels ?? {}), ...who }, s.value);
    }
  }
}
