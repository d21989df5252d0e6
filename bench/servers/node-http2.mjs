// Baseline: bare node:http2, cleartext (h2c by prior knowledge, as h2load speaks it).
import http2 from 'node:http2';
import { args, ready, onStop, HELLO } from './common.mjs';

const a = args();
const server = http2.createServer();
server.on('stream', (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  stream.end(HELLO);
});
server.listen(a.port, a.address, () => ready(server.address().port));
onStop(() => new Promise((r) => server.close(() => r())));
