// Baseline: bare node:http. Kinds:
//   hello       chunked text/plain, no Server header (the plainest answer node:http gives)
//   hello-app   the bytes the App route answers: text/html; charset=utf-8, Content-Length, Server
//   handler     the (req, res) handler of skitai.mjs, with the Server header the kernel adds
//   json        the bytes the App JSON route answers (charset, Content-Length, Server)
//   idle        the handler kind, for the idle connections scenario
//   cacheable-1k  1 KiB at any path, fresh for an hour (the proxy-cached scenario's backend)
//   cached-1k   that backend's 1 KiB sent from memory with the head the response cache's HIT
//               gives it (Server, the backend's fields and Date, Via, Age, Content-Length,
//               X-Cache), made once: what node:http itself costs for a cached answer of this shape
//   static-1k   --dir's file-1k.bin read once at start, sent at any path with the head the
//               kernel's static files give it (Server, Content-Type, Last-Modified, ETag,
//               Accept-Ranges, Content-Length): what node:http itself costs for that answer
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { args, ready, onStop, HELLO, SERVER, user } from './common.mjs';

const a = args();
const USERS = /^\/users\/(\d+)$/;
const KIB = Buffer.alloc(1024, 'k');

const handlers = {
  hello(req, res) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(HELLO);
  },
  // The App route's answer, byte for byte but for Date: what node:http itself costs for it.
  'hello-app'(req, res) {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(HELLO),
      server: SERVER,
    });
    res.end(HELLO);
  },
  // The handler mounted in skitai.mjs ('handler'), plus the Server header the kernel adds.
  handler(req, res) {
    res.setHeader('server', SERVER);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(HELLO);
  },
  json(req, res) {
    const m = USERS.exec(req.url);
    if (!m) {
      res.writeHead(404);
      res.end();
      return;
    }
    const body = JSON.stringify(user(Number(m[1])));
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      server: SERVER,
    });
    res.end(body);
  },
  // A backend for the proxy-cached scenario: 1 KiB at any path, fresh for an hour.
  'cacheable-1k'(req, res) {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': KIB.length,
      'cache-control': 'max-age=3600',
      etag: '"1k"',
    });
    res.end(KIB);
  },
};
handlers.idle = handlers.handler;
{
  // The HIT's head field for field (plugins/cachefs/src/proxy-cache.ts servedHeaders, the
  // gateway's Via), as one flat list: node's cheapest writeHead, nothing made per request.
  const head = [
    'server',
    SERVER,
    'content-type',
    'application/octet-stream',
    'cache-control',
    'max-age=3600',
    'etag',
    '"1k"',
    'date',
    new Date().toUTCString(),
    'via',
    '1.1 skitai',
    'age',
    '0',
    'content-length',
    String(KIB.length),
    'x-cache',
    'HIT',
  ];
  handlers['cached-1k'] = (req, res) => {
    res.writeHead(200, head);
    res.end(KIB);
  };
}
if (a.kind === 'static-1k') {
  const file = path.join(a.dir, 'file-1k.bin');
  const body = fs.readFileSync(file);
  const st = fs.statSync(file);
  // The kernel's head for this file, field for field (kernel/src/static/handler.ts).
  const head = {
    server: SERVER,
    'content-type': 'application/octet-stream',
    'last-modified': st.mtime.toUTCString(),
    etag: `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`,
    'accept-ranges': 'bytes',
    'content-length': body.length,
  };
  handlers['static-1k'] = (req, res) => {
    res.writeHead(200, head);
    res.end(body);
  };
}

const server = http.createServer(handlers[a.kind] || handlers.hello);
// The kernel keeps idle connections 30 s (setKeepAlive default); match it so the idle
// scenario compares like with like (node's own default is 5 s).
server.keepAliveTimeout = 30_000;
server.listen(a.port, a.address, () => ready(server.address().port));
onStop(
  () =>
    new Promise((r) => {
      server.closeAllConnections?.();
      server.close(() => r());
    }),
);
