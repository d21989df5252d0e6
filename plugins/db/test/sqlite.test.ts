// SQLite on temporary files: queries, parameters, transactions, the worker thread option, and
// the notes example on SQLite and on PostgreSQL, where only the alias differs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { App } from '@skitai/app';
import { Kernel } from '@skitai/kernel';
import { services, servicesOf } from '@skitai/services';
import { db, dbCallers, type DbResult } from '../src/index.js';
import { getJson, needs, pgMember, start } from '../test-support/db-env.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-db-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);
const show = (r: DbResult): any => ({
  status: r.status,
  rows: r.rows,
  rowCount: r.rowCount,
  message: r.error?.message,
  lastInsertId: r.lastInsertId,
});

test('SQLite through was.backend: $1 and named parameters, rows, changes, errors as results', async () => {
  const k = new Kernel().use(services()).use(db()).alias('@lite', 'sqlite3', file('a.sqlite3'));
  const app = new App();
  app.route('/run', async (was) => {
    const dbo = was.backend('@lite');
    const schema = await dbo.execute(
      'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER); CREATE INDEX t_n ON t (n);',
    );
    const ins = await dbo.execute('INSERT INTO t (name, n) VALUES ($1, $2)', ["o'brien", 1]);
    const ins2 = await dbo.execute('INSERT INTO t (name, n) VALUES (@name, @n)', { name: 'ann', n: 2 });
    const sel = await dbo.execute('SELECT name FROM t WHERE n >= $1 AND name <> $2 ORDER BY n', [1, '$1']);
    const dup = await dbo.execute('INSERT INTO t (name, n) VALUES ($1, $1)', ['ann']);
    const syntax = await dbo.execute('SELEKT 1');
    const upd = await dbo.execute('UPDATE t SET n = n + 10');
    // the same file as a member given directly (a second connection to it)
    const direct = await was.sqlite3(file('a.sqlite3')).execute('SELECT count(*) AS n FROM t');
    if (direct.scalar() !== 2 || !direct.member?.startsWith('(sqlite3)#0 '))
      throw new Error(`direct: ${direct.member} ${direct.error?.message}`);
    return {
      schema: schema.status,
      ins: show(ins),
      ins2: show(ins2),
      sel: show(sel),
      dup: show(dup),
      syntax: show(syntax),
      upd: show(upd),
      fields: sel.fields,
    };
  });
  k.mount('/', app);
  const url = await start(k);
  const { body } = await getJson(`${url}/run`);
  assert.equal(body.schema, 'done');
  assert.deepEqual([body.ins.status, body.ins.rowCount, body.ins.lastInsertId], ['done', 1, 1]);
  assert.deepEqual([body.ins2.rowCount, body.ins2.lastInsertId], [1, 2]);
  assert.deepEqual(body.sel.rows, [{ name: "o'brien" }, { name: 'ann' }]);
  assert.deepEqual(body.fields, ['name']);
  assert.equal(body.dup.status, 'error');
  assert.match(body.dup.message, /^@lite#0 \S+a\.sqlite3: UNIQUE constraint failed: t\.name$/);
  assert.match(body.syntax.message, /near "SELEKT": syntax error/);
  assert.deepEqual([body.upd.status, body.upd.rowCount], ['done', 2]);
});

test('a SQLite transaction holds the member: others wait, a failure rolls back and frees it', async () => {
  const k = new Kernel().use(services()).use(db()).alias('@lite', 'sqlite3', file('tx.sqlite3'));
  await start(k);
  const lite = dbCallers(servicesOf(k)).backend;
  (await lite('@lite').execute('CREATE TABLE t (name TEXT UNIQUE)')).raiseForStatus();
  const tx = await lite('@lite').begin();
  assert.equal(tx.open, true);
  (await tx.execute('INSERT INTO t VALUES ($1)', ['in-tx'])).raiseForStatus();
  // Another call waits for the transaction rather than seeing (or joining) it.
  const outside = lite('@lite').execute('SELECT count(*) AS n FROM t');
  const failed = await tx.execute('INSERT INTO t VALUES ($1)', ['in-tx']);
  assert.equal(failed.status, 'error');
  assert.equal(tx.open, false);
  assert.equal((await outside).scalar(), 0, 'the failure rolled the insert back, then the member was free');
  const r = await lite('@lite').transaction(async (t) => {
    await t.execute('INSERT INTO t VALUES ($1)', ['kept']);
    return 'done it';
  });
  assert.deepEqual([r.status, r.data], ['done', 'done it']);
  assert.deepEqual((await lite('@lite').execute('SELECT name FROM t')).rows, [{ name: 'kept' }]);
});

test('a missing folder is an error result naming the member; the server answers the next request', async () => {
  const k = new Kernel().use(services()).use(db()).alias('@gone', 'sqlite3', file('no/such/dir/x.sqlite3'));
  const app = new App();
  app.route('/q', async (was) => show(await was.backend('@gone').execute('SELECT 1')));
  app.route('/ok', () => 'ok');
  k.mount('/', app);
  const url = await start(k);
  const { body } = await getJson(`${url}/q`);
  assert.equal(body.status, 'error');
  assert.match(body.message, /no member of @gone is available: cannot reach @gone#0 \S+x\.sqlite3: /);
  assert.deepEqual(await getJson(`${url}/ok`), { status: 200, body: 'ok' });
});

/** A recursive count that takes at least `ms` on this machine, measured here. */
function slowQuery(ms: number): { sql: string; n: number; took: number } {
  const sql =
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $1) SELECT count(*) AS n FROM c';
  const probe = new Database(':memory:');
  const stmt = probe.prepare(sql.replace('$1', '?'));
  let n = 10_000;
  for (;;) {
    const t = performance.now();
    stmt.get(n);
    const took = performance.now() - t;
    if (took >= ms) {
      probe.close();
      return { sql, n, took };
    }
    n = Math.ceil(n * Math.min(8, Math.max(1.5, (ms * 1.2) / Math.max(took, 1))));
  }
}

test('with { worker: true } a 200 ms query leaves concurrent requests answered in well under 200 ms; on the event loop it does not', async () => {
  const slow = slowQuery(200);
  const k = new Kernel()
    .use(services())
    .use(db())
    .alias('@worker', 'sqlite3', file('w.sqlite3'), { worker: true })
    .alias('@loop', 'sqlite3', file('l.sqlite3'));
  const app = new App();
  app.route('/slow', async (was, { alias }: any) => {
    const r = await was.backend(alias).execute(slow.sql, [slow.n]);
    return { n: r.scalar(), elapsed: r.elapsed };
  });
  app.route('/ping', () => 'pong');
  k.mount('/', app);
  const url = await start(k);
  await getJson(`${url}/slow?alias=@worker`); // the worker thread is up
  // What a request takes here with no query running (a shared machine may be slow at times).
  const quiet: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    await getJson(`${url}/ping`);
    quiet.push(performance.now() - t);
  }
  const quietMedian = quiet.sort((a, b) => a - b)[quiet.length >> 1]!;
  // Requests one after another from before the slow query is sent until it is answered: the
  // slowest of them shows whether the query held the event loop.
  const measure = async (alias: string) => {
    let done = false;
    const times: number[] = [];
    const pings = (async () => {
      while (!done) {
        const t = performance.now();
        assert.equal((await getJson(`${url}/ping`)).body, 'pong');
        times.push(performance.now() - t);
      }
    })();
    await getJson(`${url}/ping`);
    const reply = (await getJson(`${url}/slow?alias=${alias}`)).body;
    done = true;
    await pings;
    assert.equal(reply.n, slow.n);
    times.sort((a, b) => a - b);
    return {
      slowest: times.at(-1)!,
      median: times[times.length >> 1]!,
      during: times.length,
      queryMs: reply.elapsed as number,
    };
  };
  const inWorker = await measure('@worker');
  assert.ok(inWorker.queryMs >= 150, `the query took ${inWorker.queryMs} ms`);
  assert.ok(inWorker.during >= 3, `requests answered during the query: ${inWorker.during}`);
  // The median, not the slowest: on a shared 2-core machine one request in many may wait for a
  // CPU. The query may add at most 75 ms to what a request takes without it.
  assert.ok(
    inWorker.median < quietMedian + 75,
    `requests during a ${Math.round(inWorker.queryMs)} ms query in the worker took ${Math.round(inWorker.median)} ms (median), ${Math.round(quietMedian)} ms without it`,
  );
  const onLoop = await measure('@loop');
  // The request in flight when the query starts waits for (most of) it.
  assert.ok(
    onLoop.slowest >= onLoop.queryMs / 2,
    `on the event loop a request waited ${Math.round(onLoop.slowest)} ms for a ${Math.round(onLoop.queryMs)} ms query`,
  );
  console.log(
    `# requests without a query: median ${Math.round(quietMedian)} ms; during the query, with the worker: ${inWorker.during}, median ${Math.round(inWorker.median)} ms, slowest ${Math.round(inWorker.slowest)} ms ` +
      `(${Math.round(inWorker.queryMs)} ms query); on the event loop: slowest ${Math.round(onLoop.slowest)} ms (${Math.round(onLoop.queryMs)} ms query)`,
  );
});

test('a worker statement over its timeout: a timeout result, the thread replaced, the next call answered', async () => {
  const slow = slowQuery(100);
  const k = new Kernel().use(services()).use(db()).alias('@w', 'sqlite3', file('t.sqlite3'), { worker: true });
  await start(k);
  const lite = dbCallers(servicesOf(k)).sqlite3;
  const t = performance.now();
  const r = await lite('@w').execute(slow.sql, [slow.n * 20], { timeout: 100 });
  assert.equal(r.status, 'timeout');
  assert.match(r.error!.message, /^@w#0 \S+ did not answer within 100 ms$/);
  assert.ok(performance.now() - t < 1000);
  assert.equal((await lite('@w').execute('SELECT 5 AS n')).scalar(), 5);
});

test('the notes example: the same App on SQLite and on PostgreSQL, only the alias changed', async (t) => {
  const examples = path.resolve(
    path.dirname(new URL(import.meta.url).pathname),
    '../../../../examples/db-notes/notes.mjs',
  );
  const { notesApp, SCHEMA } = await import(pathToFileURL(examples).href);
  const targets: Array<[string, string, string]> = [['sqlite3', file('notes.sqlite3'), '']];
  if (!needs('pg')) targets.push(['postgresql', pgMember(), 'DROP TABLE IF EXISTS notes']);
  for (const [type, member, reset] of targets) {
    await t.test(type, async () => {
      const k = new Kernel().use(services()).use(db()).alias('@notes', type, member);
      k.addlu('notes');
      k.mount('/', notesApp());
      const url = await start(k);
      const dbo = dbCallers(servicesOf(k)).backend('@notes');
      if (reset) (await dbo.execute(reset)).raiseForStatus();
      (await dbo.execute(SCHEMA)).raiseForStatus();
      for (const text of ['first', '<b>second</b>']) {
        const res = await fetch(`${url}/notes`, {
          method: 'POST',
          body: new URLSearchParams({ text }),
          redirect: 'manual',
        });
        assert.equal(res.status, 302, type);
      }
      assert.equal(
        (await fetch(`${url}/notes`, { method: 'POST', body: new URLSearchParams({ text: ' ' }) })).status,
        400,
      );
      const html = await (await fetch(`${url}/notes`)).text();
      assert.match(html, /<li>first<\/li><li>&#60;b&#62;second&#60;\/b&#62;<\/li>/);
      assert.doesNotMatch(html, /from the result cache/);
      assert.match(await (await fetch(`${url}/notes`)).text(), /2 notes \(from the result cache\)/);
      assert.deepEqual((await getJson(`${url}/notes.json`)).body, [
        { id: 1, text: 'first' },
        { id: 2, text: '<b>second</b>' },
      ]);
    });
  }
});
