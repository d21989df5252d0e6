import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BackendServices, ResultCache, Results } from '../src/index.js';
import { SkitaiError } from '@skitai/kernel';
import { echo, sleep, startBackend, type Backend } from '../test-support/services-helpers.js';

const backends: Backend[] = [];
const all: BackendServices[] = [];
after(async () => {
  await Promise.all(all.map((s) => s.close()));
  await Promise.all(backends.map((b) => b.kill()));
});
async function setup(handler = echo) {
  const b = await startBackend('cache', handler);
  backends.push(b);
  const s = new BackendServices();
  all.push(s);
  s.alias('@c', 'http', b.address);
  return { b, s, ctx: s.context() };
}

test('result.cache(seconds): the same call is answered from the cache; other URLs, bodies and methods are not', async () => {
  const { b, ctx } = await setup();
  const get = ctx.http('GET');
  const first = await get('@c/users');
  assert.equal(first.cached, false);
  first.cache(60);
  const again = await get('@c/users');
  assert.equal(again.cached, true);
  assert.deepEqual(again.data, first.data);
  assert.equal(b.received.length, 1, 'the backend was not called again');
  await get('@c/users?page=2');
  await ctx.http('DELETE')('@c/users');
  const post = ctx.httpWithBody('POST');
  (await post('@c/users', { a: 1 })).cache(60);
  assert.equal((await post('@c/users', { a: 1 })).cached, true);
  assert.equal((await post('@c/users', { a: 2 })).cached, false);
  assert.equal(
    (await get('@c/users', { headers: { 'accept-language': 'de' } })).cached,
    false,
    'other request headers, other entry',
  );
  assert.equal((await get('@c/users', { useCache: false })).cached, false);
  assert.equal(b.received.length, 7);
  // another context (another request) sees the same cache
  assert.equal((await ctx.services.context().http('GET')('@c/users')).cached, true);
});

test('only successful results are cached', async () => {
  const { b, ctx } = await setup(async (req, res, body, be) => {
    if (req.url === '/slow') await sleep(300); // slower than the 50 ms timeout below
    if (req.url === '/missing') {
      res.writeHead(404);
      return res.end();
    }
    if (req.url === '/bad') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{');
    }
    return echo(req, res, body, be);
  });
  const get = ctx.http('GET');
  (await get('@c/missing')).cache(60);
  assert.equal((await get('@c/missing')).cached, false);
  (await get('@c/bad')).cache(60);
  assert.equal((await get('@c/bad')).cached, false);
  const slow = await get('@c/slow', { timeout: 50 });
  assert.equal(slow.status, 'timeout');
  slow.cache(60);
  assert.equal(ctx.services.rcache.size, 0);
  assert.equal(b.received.filter((r) => r.url === '/missing').length, 2);
});

test('entries expire; .map result sets are cached whole', async (t) => {
  const { b, s, ctx } = await setup();
  // Expiry reads the clock: the test moves Date forward instead of waiting for it.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const get = ctx.http('GET');
  (await get('@c/short')).cache(0.1);
  assert.equal((await get('@c/short')).cached, true);
  t.mock.timers.tick(150);
  assert.equal((await get('@c/short')).cached, false);
  const set = await get.map('@c/all');
  assert.ok(set instanceof Results);
  set.cache(60);
  const cachedSet = await get.map('@c/all');
  assert.equal(cachedSet.cached, true);
  assert.ok(cachedSet.every((r) => r.cached));
  assert.equal((await get('@c/all')).cached, false, '.map and a single call are different entries');
  assert.equal(b.received.length, 4);
  assert.equal(s.rcache.status().size, 1, 'the expired entry was dropped; only the set is kept');
});

test('setMaxRcache bounds the cache: when full, the entries closest to expiry go first', async (t) => {
  const { s, ctx } = await setup();
  s.setMaxRcache(3);
  const get = ctx.http('GET');
  (await get('@c/a')).cache(100);
  (await get('@c/b')).cache(10);
  (await get('@c/c')).cache(1000);
  (await get('@c/d')).cache(500);
  assert.equal(s.rcache.size, 3);
  assert.equal((await get('@c/b')).cached, false, 'b expired soonest: evicted');
  for (const p of ['a', 'c', 'd']) assert.equal((await get(`@c/${p}`)).cached, true, p);
  assert.equal(s.rcache.evictions, 1);
  s.setMaxRcache(1);
  assert.equal(s.rcache.size, 1);
  assert.equal((await get('@c/c')).cached, true, 'the one expiring last stays');
  assert.throws(() => s.setMaxRcache(-1), { code: 'SKT_INVALID_OPTION' });
  s.setMaxRcache(0);
  (await get('@c/z')).cache(100);
  assert.equal(s.rcache.size, 0);

  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const cache = new ResultCache<string>(2);
  cache.set('x', 'X', 0.01);
  cache.set('y', 'Y', 100);
  t.mock.timers.tick(20);
  cache.set('z', 'Z', 1);
  assert.equal(cache.has('y'), true, 'an expired entry goes before a live one');
  assert.equal(cache.has('z'), true);
});

test('useCache with a last-updated time: setlu drops what was cached before the change', async () => {
  const { b, s, ctx } = await setup();
  s.addlu('tables.users', 'tables.photos');
  const get = ctx.http('GET');
  const changes: unknown[] = [];
  s.lu.on('model-changed', (key, ...args) => changes.push([key, ...args]));
  const query = () => get('@c/users', { useCache: s.getlu('tables.users', 'tables.photos') });
  (await query()).cache(60);
  assert.equal((await query()).cached, true);
  s.setlu('tables.photos', 'by', 'test');
  assert.deepEqual(changes, [['tables.photos', 'by', 'test']]);
  const fresh = await query();
  assert.equal(fresh.cached, false, 'cached before the update: dropped');
  fresh.cache(60);
  assert.equal((await query()).cached, true, 'cached after the update: used');
  assert.equal(b.received.length, 2);
  assert.throws(() => s.getlu('tables.unknown'), { code: 'SKT_LU_KEY' });
  assert.throws(
    () => s.setlu('tables.unknown'),
    (e: SkitaiError) => e.code === 'SKT_LU_KEY',
  );
});
