import http from 'node:http';
import net from 'node:net';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive between tests). */
export function request(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Parses Prometheus text with an independent parser (the prom2json port on npm). */
export function parseMetrics(text: string): Map<string, PromFamily> {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

/** The value of the sample whose labels include `labels`. */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.get(name);
  const hit = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return hit?.value === undefined ? undefined : Number(hit.value);
}

/** Raw bytes on a socket, then whatever comes back until the server closes it. */
export function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let out = '';
    socket.on('data', (c) => {
      out += c.toString('latin1');
    });
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
  });
}
