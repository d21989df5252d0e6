// Like-for-like: the two servers of a target must answer the same bytes (status, headers but
// Date, body), or the ratio compares two different answers. Checked on one request to each
// before any load (bench/run.mjs); a scenario whose target pair differs fails.
import http from 'node:http';

/**
 * GET path over a keep-alive connection (as wrk asks): { status, headers: [[lowercase name,
 * value], ...] in the order received, body }.
 */
export function getHead(port, p, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const done = (fn, v) => {
      clearTimeout(t);
      agent.destroy();
      fn(v);
    };
    const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const headers = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          headers.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
        done(resolve, { status: res.statusCode, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (e) => done(reject, e));
    });
    const t = setTimeout(() => {
      req.destroy(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => done(reject, e));
  });
}

/**
 * Why two answers are not the same bytes, or null. `ignore` maps header names (lowercase) left
 * out of the comparison to the reason, which the caller prints.
 */
export function headDiff(a, b, ignore = {}) {
  const out = [];
  if (a.status !== b.status) out.push(`status ${a.status} vs ${b.status}`);
  const lines = (h) =>
    h.headers
      .filter(([n]) => n !== 'date' && !(n in ignore))
      .map(([n, v]) => `${n}: ${v}`)
      .sort();
  const la = lines(a),
    lb = lines(b);
  const onlyA = la.filter((l) => !lb.includes(l)),
    onlyB = lb.filter((l) => !la.includes(l));
  if (onlyA.length) out.push(`only the first sends ${onlyA.map((l) => JSON.stringify(l)).join(', ')}`);
  if (onlyB.length) out.push(`only the second sends ${onlyB.map((l) => JSON.stringify(l)).join(', ')}`);
  if (!Buffer.from(a.body).equals(Buffer.from(b.body)))
    out.push(`the bodies differ (${a.body.length} and ${b.body.length} bytes)`);
  return out.length ? out.join('; ') : null;
}

/** The head as text lines (status, then headers as received), for --check. */
export function headText(h) {
  return [`${h.status}`, ...h.headers.map(([n, v]) => `${n}: ${v}`), `(${h.body.length} bytes of body)`].join('\n');
}
