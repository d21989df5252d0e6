// Baseline: a bare reverse proxy on node:http, piping to the backend over a keep-alive Agent
// (what a user writes by hand), for information beside @fastify/http-proxy.
import http from 'node:http';
import { args, ready, onStop } from './common.mjs';

const a = args();
const backend = new URL(a.backend);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const server = http.createServer((req, res) => {
  const up = http.request(
    {
      host: backend.hostname,
      port: backend.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: backend.host },
      agent,
    },
    (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 30_000;
server.listen(a.port, a.address, () => ready(server.address().port));
onStop(
  () =>
    new Promise((r) => {
      server.closeAllConnections?.();
      server.close(() => r());
    }),
);
