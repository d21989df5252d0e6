// Against a real PostgreSQL (scripts/services.sh start): queries with parameters through App
// routes, transactions, .map and .lb over members, the result cache with setlu, and bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '@skitai/app';
import { Kernel } from '@skitai/kernel';
import { deadlinesWatched as watching, services, servicesOf, type Results } from '@skitai/services';
import { db, dbCallers, type DbResult } from '../src/index.js';
import type { PgPool } from '../src/postgresql.js';
import { deadPort, getJson, needs, pgMember, relay, servers, start } from '../test-support/db-env.js';

const skip = needs('pg');
const T = `skitai_notes_${process.pid}`;
const show = (r: DbResult): any => ({
  status: r.status,
  ok: r.ok,
  rows: r.rows,
  code: (r.error as any)?.code,
  message: r.error?.message,
  member: r.member,
});

/** The superuser's client on a stand-alone kernel, for setting up. */
let admin: ReturnType<typeof dbCallers>['postgresql'];
before(async () => {
  if (skip) return;
  const k = new Kernel().use(services()).use(db()).alias('@admin', 'postgresql', pgMember());
  await start(k);
  admin = dbCallers(servicesOf(k)).postgresql;
  const run = async (sql: string, params?: unknown[]) => (await admin('@admin').execute(sql, params)).raiseForStatus();
  await run(`DROP TABLE IF EXISTS ${T}`);
  await run(`CREATE TABLE ${T} (id serial PRIMARY KEY, title text UNIQUE NOT NULL)`);
  for (const name of ['skitai_map_a', 'skitai_map_b']) {
    const exists = await run('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await run(`CREATE DATABASE ${name}`);
  }
  await run(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'skitai_app') THEN CREATE ROLE skitai_app LOGIN; END IF;
  END $$`);
  await run(`ALTER ROLE skitai_app PASSWORD 'p@ss:word'`);
});

test('queries with $1 parameters through was.backend in App routes; values never become SQL', { skip }, async () => {
  const k = new Kernel().use(services()).use(db()).alias('@db', 'postgresql', pgMember());
  const app = new App();
  app.route('/add', async (was, { title }: any) => {
    const r = await was.backend('@db').execute(`INSERT INTO ${T} (title) VALUES ($1) RETURNING id, title`, [title]);
    return { ...show(r), command: r.command, rowCount: r.rowCount, one: r.one() };
  });
  app.route('/find', async (was, { title }: any) =>
    show(await was.backend('@db').execute(`SELECT title FROM ${T} WHERE title = $1`, [title])),
  );
  // A member without an alias (its pool kept until stop; the label hides the password).
  app.route('/direct', async (was) =>
    show(await was.postgresql(pgMember()).execute('SELECT $1::text AS v', ['direct'])),
  );
  k.mount('/', app);
  const url = await start(k);
  const added = (await getJson(`${url}/add?title=${encodeURIComponent("x'); DROP TABLE " + T + '; --')}`)).body;
  assert.equal(added.status, 'done');
  assert.equal(added.command, 'INSERT');
  assert.equal(added.rowCount, 1);
  assert.equal(added.one.title, `x'); DROP TABLE ${T}; --`);
  assert.match(added.member, /^@db#0 /);
  const found = (await getJson(`${url}/find?title=${encodeURIComponent(added.one.title)}`)).body;
  assert.deepEqual(found.rows, [{ title: added.one.title }]);
  const direct = (await getJson(`${url}/direct`)).body;
  assert.deepEqual(
    [direct.status, direct.rows, direct.member],
    ['done', [{ v: 'direct' }], `(postgresql)#0 ${servers.pg!.host}:${servers.pg!.port}`],
  );
  const none = (await getJson(`${url}/find?title=nothing`)).body;
  assert.deepEqual([none.status, none.rows], ['done', []]);
});

test('a transaction is rolled back and its connection released when a statement fails', { skip }, async () => {
  const k = new Kernel().use(services()).use(db()).alias('@db', 'postgresql', pgMember(), { maxConnections: 1 });
  const app = new App();
  app.route('/tx', async (was) => {
    const tx = await was.backend('@db').begin();
    const first = await tx.execute(`INSERT INTO ${T} (title) VALUES ($1)`, ['tx-1']);
    const dup = await tx.execute(`INSERT INTO ${T} (title) VALUES ($1)`, ['tx-1']);
    const after = await tx.execute('SELECT 1');
    const commit = await tx.commit();
    return { first: first.status, dup: show(dup), open: tx.open, after: show(after), commit: show(commit) };
  });
  app.route('/fn', async (was) => {
    const r = await was.backend('@db').transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${T} (title) VALUES ($1)`, ['fn-1']);
      throw new Error('changed my mind');
    });
    const ok = await was.backend('@db').transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${T} (title) VALUES ($1)`, ['fn-2']);
      return (await tx.execute(`SELECT count(*)::int AS n FROM ${T} WHERE title LIKE 'fn-%'`)).scalar();
    });
    return { thrown: show(r), committed: { status: ok.status, data: ok.data } };
  });
  app.route('/count', async (was, { prefix }: any) =>
    (
      await was.backend('@db').execute(`SELECT count(*)::int AS n FROM ${T} WHERE title LIKE $1`, [`${prefix}%`])
    ).scalar(),
  );
  k.mount('/', app);
  const url = await start(k);
  const tx = (await getJson(`${url}/tx`)).body;
  assert.equal(tx.first, 'done');
  assert.equal(tx.dup.status, 'error');
  assert.match(tx.dup.message, /duplicate key value violates unique constraint/);
  assert.equal(tx.open, false);
  assert.match(tx.after.message, /duplicate key/, 'later statements get the failure, without running');
  assert.equal(tx.commit.status, 'error');
  // One connection in the pool: had the failed transaction kept it, this would wait forever.
  assert.deepEqual(await getJson(`${url}/count?prefix=tx-`), { status: 200, body: 0 });
  const fn = (await getJson(`${url}/fn`)).body;
  assert.deepEqual([fn.thrown.status, fn.thrown.message], ['error', 'changed my mind']);
  assert.deepEqual(fn.committed, { status: 'done', data: 1 });
  assert.deepEqual(await getJson(`${url}/count?prefix=fn-`), { status: 200, body: 1 });
});

test('.map runs on every member; .lb loses a member mid-run with no failed call', { skip }, async () => {
  for (const name of ['skitai_map_a', 'skitai_map_b']) {
    const k = new Kernel().use(services()).use(db()).alias('@x', 'postgresql', pgMember(name));
    await start(k);
    const c = dbCallers(servicesOf(k)).postgresql;
    (await c('@x').execute('CREATE TABLE IF NOT EXISTS who (name text)')).raiseForStatus();
    (await c('@x').execute('DELETE FROM who')).raiseForStatus();
    (await c('@x').execute('INSERT INTO who VALUES ($1)', [name])).raiseForStatus();
    await k.stop();
  }
  const r = await relay(servers.pg!.host, servers.pg!.port);
  const k = new Kernel()
    .use(services())
    .use(db())
    .alias('@both', 'postgresql', [pgMember('skitai_map_a'), pgMember('skitai_map_b')])
    .alias('@replicas', 'postgresql', [`postgres@127.0.0.1:${r.port}/postgres`, pgMember()]);
  const app = new App();
  app.route('/map', async (was) => {
    const all: Results = await was.backend.map('@both').execute('SELECT name FROM who');
    return { ok: all.ok, data: all.data, statusCodes: all.statusCodes, members: all.map((x) => x.member) };
  });
  app.route('/lb', async (was) => {
    const one = await was.backend.lb('@replicas').execute('SELECT $1::int AS n', [7]);
    return { status: one.status, n: one.ok ? one.scalar() : one.error?.message, member: one.member };
  });
  k.mount('/', app);
  const url = await start(k);
  const map = (await getJson(`${url}/map`)).body;
  assert.deepEqual(map.data, [[{ name: 'skitai_map_a' }], [{ name: 'skitai_map_b' }]]);
  assert.deepEqual(map.statusCodes, [200, 200]);
  assert.equal(map.ok, true);
  assert.match(map.members[0], /^@both#0 /);

  const answers: any[] = [];
  let killed = false;
  const total = 400;
  let sent = 0;
  // 16 clients at once; the relayed member is stopped (its open connections cut) a quarter in.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < total) {
        sent++;
        if (!killed && sent >= total / 4) {
          killed = true;
          void r.kill();
        }
        answers.push((await getJson(`${url}/lb`)).body);
      }
    }),
  );
  const failed = answers.filter((a) => a.status !== 'done' || a.n !== 7);
  assert.deepEqual(failed, [], 'no failed call');
  const byMember = (i: number) => answers.filter((a) => a.member.startsWith(`@replicas#${i} `)).length;
  assert.ok(byMember(0) > 10, `the relayed member served before it stopped: ${byMember(0)}`);
  assert.ok(byMember(1) > total / 2, `the other took over: ${byMember(1)}`);
  const status = (await getJson(`${url}/lb`)).body;
  assert.match(status.member, /^@replicas#1 /);
  const member = servicesOf(k).getAlias('@replicas').members[0]!;
  assert.ok(member.asideUntil > Date.now(), 'the stopped member is set aside');
  assert.match(member.lastError ?? '', /ECONNREFUSED|terminated|closed/);
});

test('a result cached by cache(seconds) is served until setlu marks the table changed', { skip }, async () => {
  const k = new Kernel().use(services()).use(db()).alias('@db', 'postgresql', pgMember());
  k.addlu('tables.notes');
  const app = new App();
  app.route('/list', async (was) => {
    const r = await was
      .backend('@db', { useCache: was.getlu('tables.notes') })
      .execute(`SELECT title FROM ${T} WHERE title LIKE 'cache-%' ORDER BY title`);
    r.cache(60);
    return { cached: r.cached, titles: r.rows.map((x: any) => x.title) };
  });
  app.route('/add', async (was, { title }: any) => {
    const r = await was.backend('@db').execute(`INSERT INTO ${T} (title) VALUES ($1)`, [title]);
    if (r.ok) was.setlu('tables.notes');
    return r.status;
  });
  k.mount('/', app);
  const url = await start(k);
  assert.deepEqual((await getJson(`${url}/add?title=cache-1`)).body, 'done');
  assert.deepEqual((await getJson(`${url}/list`)).body, { cached: false, titles: ['cache-1'] });
  assert.deepEqual((await getJson(`${url}/list`)).body, { cached: true, titles: ['cache-1'] });
  assert.deepEqual((await getJson(`${url}/add?title=cache-2`)).body, 'done');
  assert.deepEqual((await getJson(`${url}/list`)).body, { cached: false, titles: ['cache-1', 'cache-2'] });
  assert.deepEqual((await getJson(`${url}/list`)).body, { cached: true, titles: ['cache-1', 'cache-2'] });
  assert.equal(servicesOf(k).rcache.size, 1, 'one entry, replaced when refreshed');
});

test('bad input: a syntax error, a wrong password, a dead host, a query over its timeout', { skip }, async () => {
  const dead = await deadPort();
  const k = new Kernel()
    .use(services({ connectTimeout: 1 }))
    .use(db())
    .alias('@db', 'postgresql', pgMember(), { maxConnections: 2 })
    .alias('@app', 'postgresql', pgMember('postgres', 'skitai_app', 'p@ss:word'))
    .alias('@wrongpw', 'postgresql', pgMember('postgres', 'skitai_app', 'nope'))
    .alias('@dead', 'postgresql', `postgres@127.0.0.1:${dead}/postgres`);
  const app = new App();
  app.route('/syntax', async (was) => show(await was.backend('@db').execute('SELEC 1')));
  app.route('/password', async (was) => ({
    right: (await was.backend('@app').execute('SELECT current_user AS u')).scalar(),
    wrong: show(await was.backend('@wrongpw').execute('SELECT 1')),
  }));
  app.route('/dead', async (was) => show(await was.backend('@dead').execute('SELECT 1')));
  app.route('/slow', async (was) => {
    const r = await was.backend('@db').execute('SELECT pg_sleep(3)', undefined, { timeout: 200 });
    return { ...show(r), elapsed: r.elapsed };
  });
  app.route('/next', async (was) => (await was.backend('@db').execute('SELECT 42 AS n')).scalar());
  k.mount('/', app);
  const url = await start(k);
  const syntax = (await getJson(`${url}/syntax`)).body;
  assert.deepEqual([syntax.status, syntax.code], ['error', 'SKT_DB_QUERY']);
  assert.match(syntax.message, /^@db#0 [^:]+:\d+: syntax error at or near "SELEC"$/);
  assert.deepEqual(await getJson(`${url}/next`), { status: 200, body: 42 });

  const pw = (await getJson(`${url}/password`)).body;
  assert.equal(pw.right, 'skitai_app');
  assert.equal(pw.wrong.status, 'error');
  assert.match(pw.wrong.message, /password authentication failed for user "skitai_app"/);
  assert.deepEqual(await getJson(`${url}/next`), { status: 200, body: 42 });

  const deadHost = (await getJson(`${url}/dead`)).body;
  assert.equal(deadHost.status, 'error');
  assert.match(
    deadHost.message,
    new RegExp(`no member of @dead is available: cannot reach @dead#0 127\\.0\\.0\\.1:${dead}: .*ECONNREFUSED`),
  );
  assert.deepEqual(await getJson(`${url}/next`), { status: 200, body: 42 });

  // Twice: the pool has two connections, and a timed-out one is not given back to it.
  for (let i = 0; i < 3; i++) {
    const slow = (await getJson(`${url}/slow`)).body;
    assert.equal(slow.status, 'timeout');
    assert.match(slow.message, /^@db#0 \S+ did not answer within 200 ms$/);
    assert.ok(slow.elapsed < 1500, `${slow.elapsed} ms`);
    assert.deepEqual(await getJson(`${url}/next`), { status: 200, body: 42 });
  }
  assert.equal(watching(), 0, 'no deadline left behind');
});

test('timeouts: the services default and a transaction statement; a late answer is dropped', { skip }, async () => {
  const k = new Kernel()
    .use(services({ timeout: 0.3 }))
    .use(db())
    .alias('@db', 'postgresql', pgMember(), { maxConnections: 1 });
  const app = new App();
  app.route('/slow', async (was) => {
    const r = await was.backend('@db').execute('SELECT pg_sleep(2)');
    return { ...show(r), elapsed: r.elapsed };
  });
  app.route('/tx', async (was) => {
    const tx = await was.backend('@db').begin({ timeout: 200 });
    const r = await tx.execute('SELECT pg_sleep(2)');
    const commit = await tx.commit();
    return { slow: show(r), open: tx.open, commit: commit.status };
  });
  app.route('/quick', async (was) =>
    (await was.backend('@db').execute('SELECT 7 AS n', [], { timeout: 5000 })).scalar(),
  );
  k.mount('/', app);
  const url = await start(k);
  const slow = (await getJson(`${url}/slow`)).body;
  assert.equal(slow.status, 'timeout');
  assert.match(slow.message, /^@db#0 \S+ did not answer within 300 ms$/);
  assert.ok(slow.elapsed >= 300 && slow.elapsed < 1500, `${slow.elapsed} ms`);
  // One connection: the timed-out one was dropped and a new one opened.
  assert.deepEqual(await getJson(`${url}/quick`), { status: 200, body: 7 });
  const tx = (await getJson(`${url}/tx`)).body;
  assert.equal(tx.slow.status, 'timeout');
  assert.match(tx.slow.message, /did not answer within 200 ms$/);
  assert.equal(tx.open, false);
  assert.equal(tx.commit, 'error');
  assert.deepEqual(await getJson(`${url}/quick`), { status: 200, body: 7 });
  // The statements' own answers (pg_sleep ends, or the dropped connection fails them) come
  // later and are dropped: the pool holds one healthy connection.
  const pool = (servicesOf(k).getAlias('@db').members[0]!.pool as PgPool).pool;
  assert.equal(pool.totalCount, 1);
  assert.equal(watching(), 0, 'no deadline left behind');
});

test(
  'a pool per member, sized by maxConnections; idle connections closed after the backend keep-alive; all closed at stop',
  { skip },
  async () => {
    const k = new Kernel()
      .use(services())
      .use(db())
      .setBackendKeepAlive(0.3)
      .alias('@db', 'postgresql', pgMember(), { maxConnections: 3 });
    const app = new App();
    app.route('/sleep', async (was) => (await was.backend('@db').execute('SELECT pg_sleep(0.05)')).status);
    k.mount('/', app);
    const url = await start(k);
    const answers = await Promise.all(Array.from({ length: 12 }, () => getJson(`${url}/sleep`)));
    assert.ok(answers.every((a) => a.body === 'done'));
    const member = servicesOf(k).getAlias('@db').members[0]!;
    const p = member.pool as PgPool;
    assert.equal(p.pool.totalCount, 3, 'never more than maxConnections');
    // the pool closes the idle ones once the keep-alive is over
    while (p.pool.totalCount > 0) await new Promise((resolve) => p.pool.once('remove', resolve));
    assert.equal((await getJson(`${url}/sleep`)).body, 'done', 'and opens a new one on use');
    assert.equal(p.pool.totalCount, 1);
    await k.stop();
    assert.equal(p.pool.ended, true);
    assert.equal(p.closed, true);
    assert.equal(member.pool, undefined);
  },
);
