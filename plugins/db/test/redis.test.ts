// Against a real Redis (scripts/services.sh start): commands through App routes, .map over two
// databases, the result cache, .lb losing a member, and bad input.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '@skitai/app';
import { Kernel } from '@skitai/kernel';
import { services, servicesOf } from '@skitai/services';
import { db, dbCallers, type DbResult } from '../src/index.js';
import type { RedisPool } from '../src/redis.js';
import { deadPort, getJson, needs, relay, servers, start } from '../test-support/db-env.js';

const skip = needs('redis');
const member = (dbIndex: number) => `${servers.redis?.host}:${servers.redis?.port}/${dbIndex}`;
const K = `skitai:test:${process.pid}`;
const show = (r: DbResult): any => ({ status: r.status, data: r.data, message: r.error?.message });

test('commands through was.redis and was.backend; binary-safe arguments; replies as data', { skip }, async () => {
  const k = new Kernel().use(services()).use(db()).alias('@cache', 'redis', member(3));
  const app = new App();
  app.route('/run', async (was) => {
    const r = was.redis('@cache');
    return {
      set: show(await r.execute('SET', [`${K}:a`, "va'lue\r\n$3"])),
      get: show(await was.backend('@cache').command('GET', `${K}:a`)),
      hset: show(await r.command('HSET', `${K}:h`, 'x', '1', 'y', '2')),
      hgetall: show(await r.command('hgetall', `${K}:h`)),
      missing: show(await r.command('GET', `${K}:none`)),
      wrongType: show(await r.command('LPUSH', `${K}:h`, 'z')),
      unknown: show(await r.command('NOSUCHCOMMAND')),
      after: show(await r.command('DEL', `${K}:a`, `${K}:h`)),
    };
  });
  k.mount('/', app);
  const url = await start(k);
  const { body } = await getJson(`${url}/run`);
  assert.deepEqual(body.set, { status: 'done', data: 'OK' });
  assert.deepEqual(body.get, { status: 'done', data: "va'lue\r\n$3" });
  assert.equal(body.hset.data, 2);
  assert.deepEqual(body.hgetall.data, { x: '1', y: '2' });
  assert.deepEqual(body.missing, { status: 'done', data: null });
  assert.equal(body.wrongType.status, 'error');
  assert.match(
    body.wrongType.message,
    /^@cache#0 \S+: WRONGTYPE Operation against a key holding the wrong kind of value$/,
  );
  assert.match(body.unknown.message, /unknown command/);
  assert.deepEqual(body.after, { status: 'done', data: 2 });
});

test('.map over two databases; a cached reply refreshed by setlu', { skip }, async () => {
  const k = new Kernel()
    .use(services())
    .use(db())
    .alias('@two', 'redis', [member(1), member(2)])
    .alias('@one', 'redis', member(1));
  k.addlu('counters');
  const app = new App();
  app.route('/map', async (was) => {
    await was.redis.map('@two').command('SET', `${K}:m`, 'same');
    const all = await was.redis.map('@two').command('INCR', `${K}:n`);
    return { ok: all.ok, data: all.data, members: all.map((r) => r.member) };
  });
  app.route('/count', async (was) => {
    const r = await was.redis('@one', { useCache: was.getlu('counters') }).command('GET', `${K}:n`);
    r.cache(60);
    return { cached: r.cached, n: r.data };
  });
  app.route('/incr', async (was) => {
    await was.redis('@one').command('INCR', `${K}:n`);
    was.setlu('counters');
    return 'ok';
  });
  k.mount('/', app);
  const url = await start(k);
  await dbCallers(servicesOf(k)).redis.map('@two').command('DEL', `${K}:n`, `${K}:m`);
  const map = (await getJson(`${url}/map`)).body;
  assert.deepEqual(map.data, [1, 1]);
  assert.equal(map.ok, true);
  assert.match(map.members[0], /^@two#0 /);
  assert.match(map.members[1], /^@two#1 /);
  assert.deepEqual((await getJson(`${url}/count`)).body, { cached: false, n: '1' });
  assert.deepEqual((await getJson(`${url}/count`)).body, { cached: true, n: '1' });
  await getJson(`${url}/incr`);
  assert.deepEqual((await getJson(`${url}/count`)).body, { cached: false, n: '2' });
  await dbCallers(servicesOf(k)).redis.map('@two').command('DEL', `${K}:n`, `${K}:m`);
});

test('.lb with a member stopped mid-run: no failed read', { skip }, async () => {
  const r = await relay(servers.redis!.host, servers.redis!.port);
  const k = new Kernel()
    .use(services())
    .use(db())
    .alias('@r', 'redis', [`127.0.0.1:${r.port}/4`, member(4)]);
  const app = new App();
  app.route('/get', async (was) => {
    const res = await was.redis('@r').command('PING');
    return { status: res.status, data: res.data, member: res.member, message: res.error?.message };
  });
  k.mount('/', app);
  const url = await start(k);
  const answers: any[] = [];
  let sent = 0;
  let killed = false;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (sent < 200) {
        sent++;
        if (!killed && sent >= 50) {
          killed = true;
          void r.kill();
        }
        answers.push((await getJson(`${url}/get`)).body);
      }
    }),
  );
  assert.deepEqual(
    answers.filter((a) => a.status !== 'done' || a.data !== 'PONG'),
    [],
  );
  assert.ok(answers.filter((a) => a.member.startsWith('@r#0 ')).length > 5);
});

test(
  'bad input: a dead host, a wrong password, a command over its timeout; the next request is answered',
  { skip },
  async () => {
    const dead = await deadPort();
    const k = new Kernel()
      .use(services({ connectTimeout: 1 }))
      .use(db())
      .alias('@dead', 'redis', `127.0.0.1:${dead}`)
      .alias('@pw', 'redis', `nobody:wrong@${member(0)}`)
      .alias('@r', 'redis', member(5), { maxConnections: 2 });
    const app = new App();
    app.route('/dead', async (was) => show(await was.redis('@dead').command('GET', 'x')));
    app.route('/pw', async (was) => show(await was.redis('@pw').command('GET', 'x')));
    app.route('/timeout', async (was) => {
      const r = await was.redis('@r').execute('BLPOP', [`${K}:never`, 3], { timeout: 200 });
      return { ...show(r), elapsed: r.elapsed };
    });
    app.route('/next', async (was) => show(await was.redis('@r').command('PING')));
    k.mount('/', app);
    const url = await start(k);
    const deadHost = (await getJson(`${url}/dead`)).body;
    assert.equal(deadHost.status, 'error');
    assert.match(
      deadHost.message,
      new RegExp(`no member of @dead is available: cannot reach @dead#0 127\\.0\\.0\\.1:${dead}: .*ECONNREFUSED`),
    );
    const pw = (await getJson(`${url}/pw`)).body;
    assert.equal(pw.status, 'error');
    assert.match(pw.message, /WRONGPASS|AUTH/);
    assert.deepEqual((await getJson(`${url}/next`)).body, { status: 'done', data: 'PONG' });
    const slow = (await getJson(`${url}/timeout`)).body;
    assert.equal(slow.status, 'timeout');
    assert.match(slow.message, /^@r#0 \S+ did not answer within 200 ms$/);
    assert.ok(slow.elapsed < 1500);
    assert.deepEqual((await getJson(`${url}/next`)).body, { status: 'done', data: 'PONG' });
    // the pool: two connections at most, closed at stop
    const pool = servicesOf(k).getAlias('@r').members[0]!.pool as RedisPool;
    assert.equal(pool.slots.length, 2);
    await k.stop();
    assert.equal(pool.closed, true);
  },
);

test('a connection idle longer than the backend keep-alive is replaced on its next use', { skip }, async () => {
  const k = new Kernel().use(services()).use(db()).setBackendKeepAlive(10).alias('@r', 'redis', member(6));
  await start(k);
  const redis = dbCallers(servicesOf(k)).redis;
  assert.equal((await redis('@r').command('PING')).data, 'PONG');
  const pool = servicesOf(k).getAlias('@r').members[0]!.pool as RedisPool;
  const first = pool.slots[0]!.client;
  mock.timers.enable({ apis: ['Date'], now: Date.now() });
  try {
    mock.timers.tick(9_000);
    assert.equal((await redis('@r').command('PING')).data, 'PONG');
    assert.equal(pool.slots[0]!.client, first, 'used within the keep-alive: kept');
    mock.timers.tick(10_001);
    assert.equal((await redis('@r').command('PING')).data, 'PONG');
    assert.notEqual(pool.slots[0]!.client, first, 'idle past the keep-alive: a new connection');
    assert.equal(first.status, 'end');
  } finally {
    mock.timers.reset();
  }
});
