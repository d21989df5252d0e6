// The same Express 5 app, alone (--mode alone) or mounted at / in the Skitai kernel (--mode mounted).
import express from 'express';
import http from 'node:http';
import { args, ready, skip, onStop, HELLO, SERVER, user } from './common.mjs';
import { loadKernel } from './skitai-load.mjs';

const a = args();
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get('/', (req, res) => {
  res.type('text/plain').send(HELLO);
});
app.get('/users/:id', (req, res) => {
  res.json(user(Number(req.params.id)));
});

if (a.mode === 'mounted') {
  const mod = await loadKernel();
  if (!mod.Kernel) skip(mod.reason);
  const kernel = new mod.Kernel();
  kernel.mount('/', app);
  const { port } = await kernel.start({ address: a.address, port: a.port });
  ready(port);
  onStop(() => kernel.stop());
} else {
  // The Server header the kernel adds to the mounted app's answers: the same bytes on both sides.
  const server = http.createServer((req, res) => {
    res.setHeader('Server', SERVER);
    app(req, res);
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
}
