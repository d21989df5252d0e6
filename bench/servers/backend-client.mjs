// Baselines for `was.get`: a node:http front server that, per request, GETs JSON from a
// keep-alive backend and answers with the parsed object. --mode undici | agent.
import http from 'node:http';
import { args, ready, onStop, writeJsonLikeApp } from './common.mjs';

const a = args();
const backend = new URL(a.backend);
let fetchJson;

if (a.mode === 'undici') {
  const { Pool } = await import('undici');
  const pool = new Pool(backend.origin, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
  fetchJson = async () => {
    const { statusCode, body } = await pool.request({ path: backend.pathname + backend.search, method: 'GET' });
    const data = await body.json();
    if (statusCode !== 200) throw new Error(`backend ${statusCode}`);
    return data;
  };
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  fetchJson = () =>
    new Promise((resolve, reject) => {
      const req = http.get(backend, { agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()));
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
}

const server = http.createServer(async (req, res) => {
  try {
    // The same status, head and body bytes as the App route's answer.
    writeJsonLikeApp(res, JSON.stringify(await fetchJson()));
  } catch (e) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(e.message));
  }
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
