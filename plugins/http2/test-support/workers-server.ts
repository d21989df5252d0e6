// A startup script for the workers test: HTTP/2 over TLS on the process model with two workers
// (the certificate and key paths come from H2_CERT and H2_KEY). Every path says which worker answered.
import { Kernel } from '@skitai/kernel';
import { http2 } from '../src/index.js';

const kernel = new Kernel();
// forward: 0 picks a plain port for the HTTPS redirect (shared by the workers as the TLS one is).
kernel.use(http2({ cert: process.env.H2_CERT!, key: process.env.H2_KEY!, forward: 0 }));
kernel.mount('/', (req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ id: kernel.workerId, pid: process.pid, version: req.httpVersion }));
});
await kernel.run({ address: '127.0.0.1', port: 0, workers: 2 });
