// Baseline: a bare `ws` WebSocketServer echoing every message.
import { WebSocketServer } from 'ws';
import { args, ready, onStop } from './common.mjs';

const a = args();
const wss = new WebSocketServer({ host: a.address, port: a.port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => ready(wss.address().port));
onStop(
  () =>
    new Promise((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
);
