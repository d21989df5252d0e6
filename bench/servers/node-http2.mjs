// Baseline: bare node:http2, cleartext (h2c by prior knowledge, as h2load speaks it), or over
// TLS with --cert/--key (ALPN h2 and http/1.1, as the plugin offers them).
import fs from 'node:fs';
import http2 from 'node:http2';
import { args, ready, onStop, HELLO, SERVER } from './common.mjs';

const a = args();
const server = a.cert
  ? http2.createSecureServer({ cert: fs.readFileSync(a.cert), key: fs.readFileSync(a.key), allowHTTP1: true })
  : http2.createServer();
if (a.kind === 'compat') {
  // node's compatibility API, (req, res) as an Express-style handler sees it: what the
  // plugin serves handlers through. With the Server header the kernel adds: the same head.
  server.on('request', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', server: SERVER });
    res.end(HELLO);
  });
} else {
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', server: SERVER });
    stream.end(HELLO);
  });
}
server.listen(a.port, a.address, () => ready(server.address().port));
onStop(() => new Promise((r) => server.close(() => r())));
