// The `db` scenario: one SELECT per request on PostgreSQL (PGHOST, PGPORT, PGUSER, PGDATABASE;
// `eval "$(scripts/services.sh start)"`), answered as JSON.
//   db.mjs pg-pool   node:http handler + a bare pg.Pool (10 connections)   the baseline
//   db.mjs skitai    App route + was.backend('@db') (a pool of 10 per member, the default)
import http from 'node:http';
import { args, ready, skip, onStop, writeJsonLikeApp } from './common.mjs';
import { loadKernel } from './skitai-load.mjs';

const a = args();
const SQL = "SELECT $1::int AS id, 'user' || $1 AS name, true AS active";
const USERS = /^\/users\/(\d+)$/;
const env = process.env;
if (!env.PGHOST || !env.PGPORT)
  skip('PostgreSQL is not configured: eval "$(scripts/services.sh start)" sets PGHOST, PGPORT ...');
const user = env.PGUSER ?? 'postgres';
const database = env.PGDATABASE ?? 'postgres';

if (a.kind === 'pg-pool') {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ host: env.PGHOST, port: Number(env.PGPORT), user, database, max: 10 });
  pool.on('error', () => {});
  const server = http.createServer(async (req, res) => {
    const m = USERS.exec(req.url);
    if (!m) {
      res.writeHead(404);
      res.end();
      return;
    }
    try {
      const { rows } = await pool.query(SQL, [Number(m[1])]);
      // The same status, head and body bytes as the App route's answer.
      writeJsonLikeApp(res, JSON.stringify(rows[0]));
    } catch (err) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err.message));
    }
  });
  server.keepAliveTimeout = 30_000;
  server.listen(a.port, a.address, () => ready(server.address().port));
  onStop(async () => {
    await new Promise((r) => {
      server.closeAllConnections?.();
      server.close(() => r());
    });
    await pool.end();
  });
} else {
  const mod = await loadKernel();
  if (!mod.Kernel) skip(mod.reason);
  let App, services, db;
  try {
    ({ App } = await import('@skitai/app'));
    ({ services } = await import('@skitai/services'));
    ({ db } = await import('@skitai/db'));
  } catch (e) {
    skip(`@skitai/app, @skitai/services or @skitai/db cannot be imported: ${e.message}`);
  }
  if (typeof db !== 'function') skip('@skitai/db exports no db() plugin factory');
  const kernel = new mod.Kernel()
    .use(services({ wasContext: false }))
    .use(db())
    .alias('@db', 'postgresql', `${user}@${env.PGHOST}:${env.PGPORT}/${database}`);
  const app = new App();
  app.route('/users/<int:id>', async (was, args) => {
    const r = await was.backend('@db').execute(SQL, [args.id]);
    return r.one();
  });
  kernel.mount('/', app);
  const started = await kernel.start({ address: a.address, port: a.port });
  ready(started.port);
  onStop(() => kernel.stop());
}
