import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SkitaiError } from '@skitai/kernel';
import { deadPort, echo, sleep, type Backend, fileFixtures } from '../test-support/services-helpers.js';

const { backend, newServices } = fileFixtures();
const count = (b: Backend, prefix: string) => b.received.filter((r) => r.url.startsWith(prefix)).length;

test('.lb respects weights, for calls one after another and for concurrent ones', async () => {
  const [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
  const s = newServices();
  s.alias('@w', 'http', [`${a.address} 1`, `${b.address} 2`, `${c.address} 3`]);
  const get = s.context().http('GET');
  for (let i = 0; i < 600; i++) assert.equal((await get.lb('@w/seq')).statusCode, 200);
  const seq = [a, b, c].map((x) => count(x, '/seq'));
  assert.deepEqual(seq, [100, 200, 300], `sequential: ${seq}`);
  for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 30 }, () => get.lb('@w/par')));
  const par = [a, b, c].map((x) => count(x, '/par'));
  const expected = [100, 200, 300];
  par.forEach((n, i) => assert.ok(Math.abs(n - expected[i]!) <= expected[i]! * 0.15, `concurrent: ${par}`));
  // a plain call on the alias is balanced the same way
  for (let i = 0; i < 60; i++) await get('@w/plain');
  assert.deepEqual(
    [a, b, c].map((x) => count(x, '/plain')),
    [10, 20, 30],
  );
});

test('.lb prefers the member with fewer calls in flight for its weight', async () => {
  // The slow member's own time: it holds /hold while the next calls are placed.
  const slow = await backend('slow', async (req, res, body, be) => {
    await sleep(req.url === '/hold' ? 300 : 0);
    echo(req, res, body, be);
  });
  const fast = await backend('fast');
  const s = newServices();
  s.alias('@busy', 'http', [slow.address, fast.address]);
  const get = s.context().http('GET');
  const held = [get.lb('@busy/hold'), get.lb('@busy/hold')];
  // The fast member answered its /hold; the slow one still holds the other.
  await Promise.race(held);
  // one call is in flight on the slow member now: the next ones spread evenly, never all to one
  const calls = await Promise.all(Array.from({ length: 4 }, () => get.lb('@busy/next')));
  await Promise.all(held);
  assert.equal(calls.filter((r) => (r.data as any).backend === 'fast').length, 2);
  const alias = s.getAlias('@busy');
  assert.deepEqual(
    alias.members.map((m) => m.inFlight),
    [0, 0],
  );
});

test('fail-over: a member killed in the middle of a run of .lb calls costs zero failed calls', async () => {
  // Members that take 2 ms a call (their own work), so that calls overlap the kill.
  const bs = await Promise.all(
    ['m0', 'm1', 'm2'].map((n) =>
      backend(n, async (req, res, body, be) => {
        await sleep(2);
        echo(req, res, body, be);
      }),
    ),
  );
  const s = newServices();
  s.alias(
    '@cluster',
    'http',
    bs.map((b) => b.address),
    { setAside: { first: 30, max: 60 } },
  );
  const get = s.context().http('GET');
  const total = 600;
  let started = 0;
  let failed = 0;
  let killedAt = -1;
  const served: Record<string, number> = {};
  const worker = async () => {
    while (started < total) {
      const i = started++;
      if (i === 200) {
        killedAt = i;
        void bs[1]!.kill();
      }
      const r = await get.lb('@cluster/work');
      if (!r.ok) failed++;
      else served[(r.data as any).backend] = (served[(r.data as any).backend] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  const member = s.getAlias('@cluster').members[1]!;
  console.log(
    `# fail-over run: ${total} calls, 12 at a time, m1 killed at call ${killedAt}; failed ${failed}; served ${JSON.stringify(served)}; m1 failures ${member.failures}, aside ${member.asideUntil > Date.now()}`,
  );
  assert.equal(failed, 0);
  assert.equal(
    Object.values(served).reduce((x, y) => x + y, 0),
    total,
  );
  assert.ok(served.m1! > 0 && served.m1! < 250, `m1 served ${served.m1}`);
  assert.ok(member.asideUntil > Date.now(), 'the dead member is set aside');
  assert.equal(member.failures, 1, 'set aside after its first failure, then left alone');
});

test('a dead member is set aside, probed again later (longer after repeated failures), and taken back when it returns', async (t) => {
  // Setting aside reads the clock: the test moves Date forward instead of waiting for it.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const live = await backend('live');
  const port = await deadPort();
  const s = newServices();
  s.alias('@mixed', 'http', [`127.0.0.1:${port}`, live.address], { setAside: { first: 0.2, max: 10 } });
  const get = s.context().http('GET');
  const dead = s.getAlias('@mixed').members[0]!;
  for (let i = 0; i < 20; i++) {
    const r = await get.lb('@mixed/x');
    assert.equal(r.ok, true);
    assert.equal((r.data as any).backend, 'live');
  }
  assert.equal(dead.failures, 1, 'tried once, then skipped');
  const firstAside = dead.asideUntil;
  t.mock.timers.tick(250);
  await get.lb('@mixed/x');
  assert.equal(dead.failures, 2, 'probed when its time was up, failed again');
  assert.ok(dead.asideUntil - Date.now() > 300, 'set aside longer (0.4 s) after the second failure');
  assert.ok(dead.asideUntil > firstAside);
  // the member comes back on the same port
  const back = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"backend":"back"}');
  });
  await new Promise<void>((resolve) => back.listen(port, '127.0.0.1', resolve));
  try {
    t.mock.timers.tick(dead.asideUntil - Date.now() + 20);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(((await get.lb('@mixed/x')).data as any).backend);
    assert.deepEqual([...seen].sort(), ['back', 'live']);
    assert.equal(dead.failures, 0);
  } finally {
    await s.close();
    back.closeAllConnections();
    await new Promise((resolve) => back.close(resolve));
  }
});

test('when every member is down the call fails with SKT_BACKEND_UNAVAILABLE after trying each once', async () => {
  const s = newServices();
  s.alias('@down', 'http', [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`]);
  const r = await s.context().http('GET').lb('@down/x');
  assert.equal(r.status, 'error');
  assert.equal((r.error as SkitaiError).code, 'SKT_BACKEND_UNAVAILABLE');
  assert.match(r.error!.message, /ECONNREFUSED/);
  assert.deepEqual(
    s.getAlias('@down').members.map((m) => m.failures),
    [1, 1],
  );
});

test('POST fails over on refused connections, but not after sending unless retry: true', async () => {
  const port = await deadPort();
  let resets = 0;
  const resetting = await backend('resetting', (req) => {
    resets++;
    req.socket.destroy();
  });
  const ok = await backend('ok');
  const s = newServices();
  s.alias('@refused', 'http', [`127.0.0.1:${port} 100`, ok.address]);
  const post = s.context().httpWithBody('POST');
  const r1 = await post.lb('@refused/x', { a: 1 });
  assert.equal(r1.ok, true);
  assert.equal((r1.data as any).backend, 'ok');

  s.alias('@reset', 'http', [`${resetting.address} 100`, ok.address]);
  const r2 = await post.lb('@reset/x', { a: 1 });
  assert.equal(r2.status, 'error', 'the POST may have been processed: not replayed');
  assert.equal(resets, 1);
  const r3 = await post.lb('@reset/x', { a: 1 }, { retry: true });
  assert.equal(r3.ok, true);
  assert.equal((r3.data as any).backend, 'ok');
  // a GET is idempotent: replayed on the other member
  s.getAlias('@reset').members[0]!.asideUntil = 0;
  const r4 = await s.context().http('GET').lb('@reset/y');
  assert.equal(r4.ok, true);
});

test('.map calls every member at once and returns every result in member order', async () => {
  const bs = await Promise.all(['x', 'y', 'z'].map((n) => backend(n)));
  const s = newServices();
  s.alias(
    '@all',
    'http',
    bs.map((b) => b.address),
  );
  const ctx = s.context();
  const results = await ctx.http('GET').map('@all/info?q=1');
  assert.equal(results.length, 3);
  assert.deepEqual(
    results.map((r) => (r.data as any).backend),
    ['x', 'y', 'z'],
  );
  assert.deepEqual(results.statusCodes, [200, 200, 200]);
  assert.equal(results.ok, true);
  assert.deepEqual(
    results.data.map((d: any) => d.url),
    ['/info?q=1', '/info?q=1', '/info?q=1'],
  );
  const ltxns = results.map((r) => r.ltxnId);
  assert.equal(new Set(ltxns).size, 3, `each member call has its own local id: ${ltxns}`);
  const posted = await ctx.httpWithBody('POST', 'json').map('@all/p', { k: 'v' });
  assert.deepEqual(
    posted.map((r) => JSON.parse((r.data as any).body)),
    [{ k: 'v' }, { k: 'v' }, { k: 'v' }],
  );
});

test('.map: a slow member times out, a dead one errors, the others answer', async () => {
  const fast = await backend('fast');
  // The slow member's own time: far past the 150 ms timeout.
  const slow = await backend('slow', async (req, res, body, be) => {
    await sleep(1500);
    if (!res.destroyed) echo(req, res, body, be);
  });
  const s = newServices();
  s.alias('@uneven', 'http', [fast.address, slow.address, `127.0.0.1:${await deadPort()}`]);
  const started = Date.now();
  const results = await s.context().http('GET').map('@uneven/x', { timeout: 150 });
  assert.ok(Date.now() - started < 1200, 'the map ended at the timeout, not when the slow member answered');
  assert.deepEqual(
    results.map((r) => r.status),
    ['done', 'timeout', 'error'],
  );
  assert.equal(results.ok, false);
  assert.throws(() => results.raiseForStatus(), { code: 'SKT_BACKEND_TIMEOUT' });
  const members = s.getAlias('@uneven').members;
  assert.deepEqual(
    members.map((m) => m.failures),
    [0, 0, 1],
    'a timeout does not set a member aside; a refused connection does',
  );
});
