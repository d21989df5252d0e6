// The cache behind the gateway's reverse proxy, over real sockets, against a backend that counts
// its calls: what is stored and served per directive, Vary, revalidation, eviction, credentials.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import {
  answer,
  dateIn,
  get,
  startBackend,
  startFront,
  type Backend,
  type Front,
  type Script,
} from '../test-support/helpers.js';

const routes = new Map<string, Script>();
let backend: Backend;
let front: Front;

before(async () => {
  backend = await startBackend((req, res, n) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const script = routes.get(path);
    if (script === undefined) {
      res.writeHead(500);
      res.end('no route');
      return;
    }
    script(req, res, n);
  });
  front = await startFront({ backend, cache: { memmax: 1 << 20 } });
});
after(async () => {
  await front.stop();
  await backend.close();
});

/** Asks `path` `times` times, one after another; the X-Cache values and the backend's call count. */
async function ask(path: string, times: number, headers: http.OutgoingHttpHeaders = {}) {
  const states: string[] = [];
  const replies = [];
  for (let i = 0; i < times; i++) {
    const r = await get(`${front.url}/b${path}`, { headers });
    replies.push(r);
    states.push(String(r.headers['x-cache']));
  }
  return { states, replies, calls: backend.count(path) };
}

test('max-age: the first answer is a MISS, the next ones HITs with Age, the backend is asked once', async () => {
  routes.set('/max-age', answer({ 'cache-control': 'max-age=60' }));
  const { states, replies, calls } = await ask('/max-age', 3);
  assert.deepEqual(states, ['MISS', 'HIT', 'HIT']);
  assert.equal(calls, 1);
  assert.equal(replies[2]!.body.length, 1024);
  assert.ok(replies[2]!.body.equals(replies[0]!.body));
  assert.match(String(replies[1]!.headers.age), /^\d+$/);
  assert.equal(replies[0]!.headers.age, undefined, 'a MISS from a backend that sent no Age has none');
  assert.equal(replies[1]!.headers['content-length'], '1024');
});

test("Age: the backend's Age and the stored time add up; past max-age it is stale", async () => {
  routes.set('/aged', answer({ 'cache-control': 'max-age=100', age: '40' }));
  const fresh = await ask('/aged', 2);
  assert.deepEqual(fresh.states, ['MISS', 'HIT']);
  assert.ok(Number(fresh.replies[1]!.headers.age) >= 40);
  routes.set('/too-old', answer({ 'cache-control': 'max-age=30', age: '40' }));
  const old = await ask('/too-old', 2);
  assert.deepEqual(old.states, ['MISS', 'MISS']);
  assert.equal(old.calls, 2);
});

test('s-maxage wins over max-age for this shared cache', async () => {
  routes.set('/s-maxage', answer({ 'cache-control': 'max-age=0, s-maxage=60' }));
  const { states, calls } = await ask('/s-maxage', 2);
  assert.deepEqual(states, ['MISS', 'HIT']);
  assert.equal(calls, 1);
});

test('Expires: in the future it is fresh; in the past, or invalid, it is not', async () => {
  routes.set('/expires', answer({ expires: dateIn(60), date: dateIn(0) }));
  assert.deepEqual((await ask('/expires', 2)).states, ['MISS', 'HIT']);
  routes.set('/expired', answer({ expires: dateIn(-60), date: dateIn(0) }));
  const expired = await ask('/expired', 2);
  assert.deepEqual(expired.states, ['MISS', 'MISS']);
  assert.equal(expired.calls, 2);
  routes.set('/expires-0', answer({ expires: '0' }));
  assert.equal((await ask('/expires-0', 2)).calls, 2);
});

for (const cc of ['no-store', 'private', 'max-age=0', 'no-cache', 'private, max-age=60', 'no-store, max-age=60']) {
  test(`Cache-Control: ${cc} (no validator): never served from the cache`, async () => {
    const path = `/cc-${cc.replace(/[^a-z0-9]+/g, '-')}`;
    routes.set(path, answer({ 'cache-control': cc }));
    const { states, calls } = await ask(path, 3);
    assert.deepEqual(states, ['MISS', 'MISS', 'MISS']);
    assert.equal(calls, 3);
  });
}

test('no freshness information and no validator: not stored', async () => {
  routes.set('/plain', answer({}));
  assert.equal((await ask('/plain', 2)).calls, 2);
});

test('statuses: a 404 with max-age is stored, a 500 or a 206 is not', async () => {
  routes.set('/gone', answer({ 'cache-control': 'max-age=60' }, 'not here', 404));
  const gone = await ask('/gone', 2);
  assert.deepEqual(gone.states, ['MISS', 'HIT']);
  assert.equal(gone.replies[1]!.status, 404);
  routes.set('/broken', answer({ 'cache-control': 'max-age=60' }, 'oops', 500));
  assert.equal((await ask('/broken', 2)).calls, 2);
  routes.set('/partial', answer({ 'cache-control': 'max-age=60', 'content-range': 'bytes 0-3/10' }, 'abcd', 206));
  assert.equal((await ask('/partial', 2)).calls, 2);
});

test('methods: POST is not cached and invalidates the stored GET; HEAD is answered from a stored GET', async () => {
  routes.set('/resource', answer({ 'cache-control': 'max-age=60' }));
  assert.deepEqual((await ask('/resource', 2)).states, ['MISS', 'HIT']);
  const head = await get(`${front.url}/b/resource`, { method: 'HEAD' });
  assert.equal(head.headers['x-cache'], 'HIT');
  assert.equal(head.headers['content-length'], '1024');
  assert.equal(head.body.length, 0);
  const post = await get(`${front.url}/b/resource`, {
    method: 'POST',
    body: 'a=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(post.status, 200);
  assert.equal(backend.count('/resource'), 2, 'the POST went to the backend');
  const again = await ask('/resource', 2);
  assert.deepEqual(again.states, ['MISS', 'HIT'], 'the POST dropped the stored answer');
  assert.equal(again.calls, 3);
});

test('Set-Cookie: a response that sets a cookie is not stored', async () => {
  routes.set('/cookie', answer({ 'cache-control': 'max-age=60', 'set-cookie': 'sid=abc' }));
  assert.equal((await ask('/cookie', 2)).calls, 2);
});

test('request directives: no-cache and max-age=0 go to the backend, no-store is neither served nor stored', async () => {
  routes.set('/req', answer({ 'cache-control': 'max-age=60' }));
  assert.deepEqual((await ask('/req', 2)).states, ['MISS', 'HIT']);
  assert.equal((await ask('/req', 1, { 'cache-control': 'no-cache' })).calls, 2);
  assert.equal((await ask('/req', 1, { 'cache-control': 'max-age=0' })).calls, 3);
  assert.equal((await ask('/req', 1, { pragma: 'no-cache' })).calls, 4);
  assert.equal((await ask('/req', 1, { 'cache-control': 'max-age=3600' })).calls, 4, 'max-age above the age: served');
  routes.set('/req-no-store', answer({ 'cache-control': 'max-age=60' }));
  await ask('/req-no-store', 1, { 'cache-control': 'no-store' });
  assert.deepEqual((await ask('/req-no-store', 2)).states, ['MISS', 'HIT'], 'the no-store request kept nothing');
});

test('Vary: each variant is stored apart; Vary: * is not stored', async () => {
  routes.set('/vary', (req, res) => {
    const body = `hello in ${req.headers['accept-language'] ?? 'none'}`;
    answer({ 'cache-control': 'max-age=60', vary: 'Accept-Language' }, body)(req, res, 0);
  });
  const en1 = await get(`${front.url}/b/vary`, { headers: { 'accept-language': 'en' } });
  const fr1 = await get(`${front.url}/b/vary`, { headers: { 'accept-language': 'fr' } });
  const en2 = await get(`${front.url}/b/vary`, { headers: { 'accept-language': 'en' } });
  const fr2 = await get(`${front.url}/b/vary`, { headers: { 'accept-language': 'fr' } });
  const none = await get(`${front.url}/b/vary`);
  assert.deepEqual(
    [en1, fr1, en2, fr2, none].map((r) => r.headers['x-cache']),
    ['MISS', 'MISS', 'HIT', 'HIT', 'MISS'],
  );
  assert.equal(en2.body.toString(), 'hello in en');
  assert.equal(fr2.body.toString(), 'hello in fr');
  assert.equal(none.body.toString(), 'hello in none');
  assert.equal(backend.count('/vary'), 3);
  routes.set('/vary-star', answer({ 'cache-control': 'max-age=60', vary: '*' }));
  assert.equal((await ask('/vary-star', 2)).calls, 2);
});

test('revalidation: a stale entry is asked for with its validators, and a 304 refreshes it', async () => {
  const version = 'v1';
  routes.set('/etag', (req, res) => {
    if (req.headers['if-none-match'] === '"v1"' && version === 'v1') {
      res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60', date: dateIn(0) });
      res.end();
      return;
    }
    // The first answer is two minutes old already (its Date): stale at once for max-age=60.
    answer(
      { 'cache-control': 'max-age=60', etag: `"${version}"`, date: dateIn(backend.count('/etag') === 1 ? -120 : 0) },
      `body ${version}`,
    )(req, res, 0);
  });
  const first = await get(`${front.url}/b/etag`);
  assert.equal(first.body.toString(), 'body v1');
  const second = await get(`${front.url}/b/etag`);
  assert.equal(backend.count('/etag'), 2);
  assert.equal(backend.calls.at(-1)!.headers['if-none-match'], '"v1"', 'the stale entry was revalidated with its ETag');
  assert.equal(second.status, 200, 'the client gets the stored answer, not the 304');
  assert.equal(second.body.toString(), 'body v1');
  const third = await get(`${front.url}/b/etag`);
  assert.equal(third.headers['x-cache'], 'HIT', 'the 304 made the entry fresh again');
  assert.equal(backend.count('/etag'), 2);
  assert.equal(front.cache.cache.stats.revalidated >= 1, true);
});

test('revalidation by Last-Modified; a 200 to the conditional replaces the entry', async () => {
  let changed = false;
  const lastModified = dateIn(-3600);
  routes.set('/lm', (req, res) => {
    if (!changed && req.headers['if-modified-since'] === lastModified) {
      res.writeHead(304, { 'cache-control': 'no-cache', 'last-modified': lastModified });
      res.end();
      return;
    }
    answer(
      { 'cache-control': 'no-cache', 'last-modified': changed ? dateIn(0) : lastModified },
      changed ? 'new' : 'old',
    )(req, res, 0);
  });
  assert.equal((await get(`${front.url}/b/lm`)).body.toString(), 'old');
  assert.equal((await get(`${front.url}/b/lm`)).body.toString(), 'old');
  assert.equal(backend.calls.at(-1)!.headers['if-modified-since'], lastModified, 'no-cache: revalidated each time');
  changed = true;
  assert.equal((await get(`${front.url}/b/lm`)).body.toString(), 'new');
  assert.equal(backend.count('/lm'), 3);
});

test("a client's own conditional request on a HIT gets 304 from the cache", async () => {
  routes.set('/client-etag', answer({ 'cache-control': 'max-age=60', etag: '"abc"' }));
  await ask('/client-etag', 1);
  const r = await get(`${front.url}/b/client-etag`, { headers: { 'if-none-match': '"abc"' } });
  assert.equal(r.status, 304);
  assert.equal(r.headers['x-cache'], 'HIT');
  assert.equal(r.headers.etag, '"abc"');
  assert.equal(backend.count('/client-etag'), 1);
});

test('Authorization: never shared; stored per credentials only when the response allows it', async () => {
  routes.set('/auth-plain', answer({ 'cache-control': 'max-age=60' }));
  const alice = { authorization: 'Bearer alice' };
  assert.equal(
    (await ask('/auth-plain', 2, alice)).calls,
    2,
    'max-age alone: not stored for a request with credentials',
  );
  assert.equal((await ask('/auth-plain', 1)).calls, 3, 'nor does a request without credentials get it');

  routes.set('/auth-public', (req, res) =>
    answer({ 'cache-control': 'public, max-age=60' }, `for ${req.headers.authorization ?? 'anyone'}`)(req, res, 0),
  );
  const a1 = await get(`${front.url}/b/auth-public`, { headers: alice });
  const a2 = await get(`${front.url}/b/auth-public`, { headers: alice });
  const b1 = await get(`${front.url}/b/auth-public`, { headers: { authorization: 'Bearer bob' } });
  const anon = await get(`${front.url}/b/auth-public`);
  assert.deepEqual(
    [a1, a2, b1, anon].map((r) => r.headers['x-cache']),
    ['MISS', 'HIT', 'MISS', 'MISS'],
  );
  assert.equal(b1.body.toString(), 'for Bearer bob', "bob never gets alice's answer");
  assert.equal(anon.body.toString(), 'for anyone');
  assert.equal(backend.count('/auth-public'), 3);
});

test('an answer larger than the cache is passed on whole and not kept', async () => {
  routes.set('/huge', answer({ 'cache-control': 'max-age=60' }, 'y'.repeat(2 << 20)));
  const { replies, calls } = await ask('/huge', 2);
  assert.equal(replies[1]!.body.length, 2 << 20);
  assert.equal(calls, 2);
  // Without Content-Length (chunked), cut off while copying.
  routes.set('/huge-chunked', (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' });
    for (let i = 0; i < 32; i++) res.write('z'.repeat(64 * 1024));
    res.end();
  });
  const chunked = await ask('/huge-chunked', 2);
  assert.equal(chunked.replies[1]!.body.length, 2 << 20);
  assert.equal(chunked.calls, 2);
});

test('the status section: tiers with sizes and hits, and the lookups', async () => {
  const status = await front.kernel.collectStatus();
  const section = status.processes[0]!.sections.find((s) => s.name === 'cachefs');
  assert.ok(section, 'a cachefs section');
  const data = section.data as {
    tiers: Array<{ tier: string; state: string; bytes?: number; hits?: number }>;
    lookups: { hits: number; misses: number };
  };
  const memory = data.tiers.find((t) => t.tier === 'memory')!;
  assert.equal(memory.state, 'on');
  assert.ok(memory.bytes! > 0 && memory.hits! > 0);
  assert.equal(data.tiers.find((t) => t.tier === 'disk')!.state, 'off');
  assert.ok(data.lookups.hits > 0 && data.lookups.misses > 0);
  assert.ok(section.metrics!.some((m) => m.name === 'skitai_cachefs_hits_total'));
});
