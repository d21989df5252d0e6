// Summarize a V8 .cpuprofile (from node --cpu-prof): top frames by self time, and self time
// grouped by source file, with kernel files marked.
import fs from 'node:fs';
import path from 'node:path';

export function summarizeProfile(file, { top = 25, root } = {}) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] || 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) || 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const rel = (u) => {
    if (!u) return '';
    let p = u.replace(/^file:\/\//, '');
    if (root && p.startsWith(root)) p = path.relative(root, p);
    return p;
  };
  const frames = new Map();
  const files = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const file = rel(cf.url) || `(${cf.functionName || 'native'})`;
    const key = `${cf.functionName || '(anonymous)'} ${file}${cf.url ? ':' + (cf.lineNumber + 1) : ''}`;
    frames.set(key, (frames.get(key) || 0) + us);
    const fkey = cf.url ? file : '(native/VM: ' + (cf.functionName || '?') + ')';
    files.set(fkey, (files.get(fkey) || 0) + us);
  }
  // inclusive time (self + callees) of kernel frames, counted once per call path
  const inclusive = new Map();
  const totalOf = new Map();
  const visit = (id) => {
    if (totalOf.has(id)) return totalOf.get(id);
    const n = byId.get(id);
    let t = self.get(id) || 0;
    for (const c of n.children || []) t += visit(c);
    totalOf.set(id, t);
    return t;
  };
  const walk = (id, active) => {
    const n = byId.get(id);
    const cf = n.callFrame;
    let next = active;
    if (/kernel\/dist\//.test(cf.url)) {
      const key = `${cf.functionName || '(anonymous)'} ${rel(cf.url)}:${cf.lineNumber + 1}`;
      if (!active.has(key)) {
        inclusive.set(key, (inclusive.get(key) || 0) + visit(id));
        next = new Set(active).add(key);
      }
    }
    for (const c of n.children || []) walk(c, next);
  };
  const rootNode = prof.nodes[0].id;
  walk(rootNode, new Set());
  const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [];
  lines.push(`profile ${path.basename(file)}: ${(total / 1e3).toFixed(0)} ms sampled`);
  lines.push('top frames by self time:');
  for (const [k, us] of sorted(frames)) lines.push(`  ${pct(us)}  ${k}`);
  lines.push('kernel frames by inclusive time (self + callees):');
  for (const [k, us] of sorted(inclusive).slice(0, 15)) lines.push(`  ${pct(us)}  ${k}`);
  lines.push('self time by file:');
  for (const [k, us] of sorted(files))
    lines.push(`  ${pct(us)}  ${k}${/kernel\/dist\//.test(k) ? '   <- kernel' : ''}`);
  return lines.join('\n');
}
