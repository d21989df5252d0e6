// Baseline: bare node:http. Kinds: hello, hello-cl, json, idle, cacheable-1k.
import http from 'node:http';
import { args, ready, onStop, HELLO, user } from './common.mjs';

const a = args();
const USERS = /^\/users\/(\d+)$/;
const KIB = Buffer.alloc(1024, 'k');

const handlers = {
  hello(req, res) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(HELLO);
  },
  // The same answer as the App route's (Content-Length instead of chunked, a Server header):
  // what node:http itself costs for it, with no framework. For information, no target.
  'hello-cl'(req, res) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 11, server: 'Skitai' });
    res.end(HELLO);
  },
  json(req, res) {
    const m = USERS.exec(req.url);
    if (!m) { res.writeHead(404); res.end(); return; }
    const body = JSON.stringify(user(Number(m[1])));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  },
  // A backend for the proxy-cached scenario: 1 KiB at any path, fresh for an hour.
  'cacheable-1k'(req, res) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': KIB.length, 'cache-control': 'max-age=3600', etag: '"1k"' });
    res.end(KIB);
  },
};
handlers.idle = handlers.hello;

const server = http.createServer(handlers[a.kind] || handlers.hello);
// The kernel keeps idle connections 30 s (setKeepAlive default); match it so the idle
// scenario compares like with like (node's own default is 5 s).
server.keepAliveTimeout = 30_000;
server.listen(a.port, a.address, () => ready(server.address().port));
onStop(() => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }));
