import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { Result, STATUS } from '../src/index.js';
import { SkitaiError } from '@skitai/kernel';
import { deadPort, echo, sleep, waitUntil, fileFixtures } from '../test-support/services-helpers.js';

const { backend, newServices } = fileFixtures();

test('every method and its JSON and XML variants reach the backend with the right body and headers', async () => {
  const b = await backend('one');
  const s = newServices();
  s.alias('@one', 'http', b.address);
  const ctx = s.context();
  const url = `http://${b.address}`;

  let r = await ctx.http('GET')(`${url}/a?x=1`, { params: { y: [2, 3], z: 'é' } });
  assert.equal(r.status, 'done');
  assert.equal(r.code, STATUS.done);
  assert.equal(r.statusCode, 200);
  assert.equal((r.data as any).url, '/a?x=1&y=2&y=3&z=%C3%A9');

  r = await ctx.httpWithBody('POST')('@one/form', { name: 'Hans Roh', tags: ['a', 'b'] });
  assert.equal((r.data as any).method, 'POST');
  assert.equal((r.data as any).contentType, 'application/x-www-form-urlencoded');
  assert.equal((r.data as any).body, 'name=Hans+Roh&tags=a&tags=b');

  r = await ctx.httpWithBody('PUT', 'json')('@one/j', { a: [1, { b: null }] });
  assert.equal((r.data as any).method, 'PUT');
  assert.equal((r.data as any).contentType, 'application/json');
  assert.deepEqual(JSON.parse((r.data as any).body), { a: [1, { b: null }] });
  assert.equal(b.received.at(-1)!.headers.accept, 'application/json');

  r = await ctx.httpWithBody('PATCH', 'xml')('@one/x', { k: 1 });
  assert.equal((r.data as any).contentType, 'text/xml');
  assert.match((r.data as any).body, /<params><param><value><struct><member><name>k<\/name><value><int>1<\/int>/);

  for (const m of ['DELETE', 'OPTIONS']) {
    r = await ctx.http(m)('@one/m');
    assert.equal((r.data as any).method, m);
  }
  r = await ctx.http('HEAD')('@one/h');
  assert.equal(r.statusCode, 200);
  assert.equal(r.data, undefined);

  r = await ctx.httpWithBody('POST')('@one/raw', Buffer.from([1, 2, 3]), { contentType: 'application/x-thing' });
  assert.equal((r.data as any).contentType, 'application/x-thing');
});

test('data is parsed by content type: JSON, text, XML-RPC, bytes', async () => {
  const b = await backend('types', (req, res) => {
    const kinds: Record<string, [string, string | Buffer]> = {
      '/json': ['application/vnd.api+json; charset=utf-8', '{"a":1}'],
      '/text': ['text/plain; charset=utf-8', 'héllo'],
      '/html': ['text/html', '<p>x</p>'],
      '/xml': [
        'text/xml',
        '<?xml version="1.0"?><methodResponse><params><param><value><int>5</int></value></param></params></methodResponse>',
      ],
      '/plainxml': ['application/xml', '<a>b</a>'],
      '/bytes': ['application/octet-stream', Buffer.from([0, 255])],
      '/badjson': ['application/json', '{nope'],
    };
    const [type, body] = kinds[req.url!]!;
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
  const ctx = newServices().context();
  const get = ctx.http('GET');
  const base = `http://${b.address}`;
  assert.deepEqual((await get(`${base}/json`)).data, { a: 1 });
  assert.equal((await get(`${base}/text`)).data, 'héllo');
  assert.equal((await get(`${base}/html`)).text, '<p>x</p>');
  assert.equal((await get(`${base}/xml`)).data, 5);
  assert.equal((await get(`${base}/plainxml`)).data, '<a>b</a>');
  assert.deepEqual((await get(`${base}/bytes`)).data, Buffer.from([0, 255]));
  const bad = await get(`${base}/badjson`);
  assert.equal(bad.status, 'error');
  assert.equal(bad.statusCode, 200);
  assert.equal((bad.error as SkitaiError).code, 'SKT_BACKEND_RESPONSE');
  assert.equal(bad.text, '{nope');
});

// undici reuses a socket one event-loop turn after its response ended (against servers that
// close a connection they said they would keep): a call made at once after another one ended
// takes a second connection, and calls one after another alternate between the two.
test('keep-alive: sequential calls reuse at most two connections per member; concurrent ones open a few', async () => {
  const b = await backend('ka');
  const s = newServices();
  s.alias('@ka', 'http', b.address);
  const get = s.context().http('GET');
  for (let i = 0; i < 25; i++) assert.equal((await get('@ka/seq')).statusCode, 200);
  assert.ok(b.connections <= 2, `${b.connections} sockets for 25 calls`);
  assert.ok(new Set(b.received.map((r) => r.socket)).size <= 2);
  await Promise.all(Array.from({ length: 8 }, () => get('@ka/par')));
  assert.ok(b.connections <= 9, `${b.connections} connections`);
  const before = b.connections;
  for (let i = 0; i < 10; i++) await get('@ka/seq2');
  assert.equal(b.connections, before, 'idle connections are reused afterwards');
  // with maxConnections: 1 a call waits for the one connection: exactly one socket
  const one = await backend('one-socket');
  s.alias('@one', 'http', one.address, { maxConnections: 1 });
  for (let i = 0; i < 10; i++) assert.equal((await get('@one/x')).statusCode, 200);
  assert.equal(one.connections, 1);
  // plain URLs share the services' keep-alive agent too
  const plain = await backend('plain');
  for (let i = 0; i < 10; i++) await get(`http://${plain.address}/x`);
  assert.ok(plain.connections <= 2, `${plain.connections} sockets for 10 calls`);
});

test('an idle connection older than setBackendKeepAlive is closed and a new one opened', async () => {
  const b = await backend('expire');
  const s = newServices();
  s.setBackendKeepAlive(0.15);
  s.alias('@expire', 'http', b.address);
  const get = s.context().http('GET');
  await get('@expire/1');
  await get('@expire/2');
  const before = b.connections;
  assert.ok(before <= 2);
  await waitUntil(() => b.open.size === 0, 3000, 'the idle connections closed by the client', 10);
  await get('@expire/3');
  assert.equal(b.connections, before + 1);
  assert.throws(() => s.setBackendKeepAlive(0), { code: 'SKT_INVALID_OPTION' });
});

test('a kept-alive connection closed by the backend is retried once on a fresh one', async () => {
  let n = 0;
  const b = await backend('stale', (req, res, body, be) => {
    n++;
    if (n === 2) {
      req.socket.destroy();
      return;
    }
    echo(req, res, body, be);
  });
  const s = newServices();
  // one connection, so that the POST goes on the socket the GET kept alive (see above)
  s.alias('@stale', 'http', b.address, { maxConnections: 1 });
  const ctx = s.context();
  assert.equal((await ctx.http('GET')('@stale/a')).statusCode, 200);
  const r = await ctx.httpWithBody('POST')('@stale/b', { x: 1 });
  assert.equal(r.status, 'done', r.error?.message);
  assert.equal(b.connections, 2);
  assert.equal(n, 3);
});

test('timeouts: a slow backend gives status timeout (1) in time; raise: true rejects', async () => {
  const b = await backend('slow', async (req, res, body, be) => {
    await sleep(1500); // the slow backend itself: far slower than the 100 ms timeout
    if (!res.destroyed) echo(req, res, body, be);
  });
  const ctx = newServices().context();
  const started = Date.now();
  const r = await ctx.http('GET')(`http://${b.address}/slow`, { timeout: 100 });
  const took = Date.now() - started;
  assert.equal(r.status, 'timeout');
  assert.equal(r.code, 1);
  assert.equal(r.statusCode, 0);
  assert.equal((r.error as SkitaiError).code, 'SKT_BACKEND_TIMEOUT');
  assert.ok(took >= 95 && took < 1200, `took ${took} ms: the call ended before the backend answered`);
  assert.throws(() => r.raiseForStatus(), { code: 'SKT_BACKEND_TIMEOUT' });
  await assert.rejects(ctx.http('GET')(`http://${b.address}/slow`, { timeout: 100, raise: true }), {
    code: 'SKT_BACKEND_TIMEOUT',
  });
});

test('a timeout of a second or more is swept, not timed per call: never early, at most one sweep late, and calls that answer in time leave nothing behind', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const b = await backend('held', async (req, res, body, be) => {
    if (req.url === '/held') await held; // answers only when the test lets it
    if (!res.destroyed) echo(req, res, body, be);
  });
  const ctx = newServices().context();
  try {
    // Calls that answer before their deadline are unlinked from the sweep list as they end.
    const quick = await Promise.all(
      [1, 2, 3].map(() => ctx.http('GET')(`http://${b.address}/quick`, { timeout: 1000 })),
    );
    assert.deepEqual(
      quick.map((r) => r.status),
      ['done', 'done', 'done'],
    );
    const started = performance.now();
    const [late, later] = await Promise.all([
      ctx.http('GET')(`http://${b.address}/held`, { timeout: 1000 }),
      ctx.http('GET')(`http://${b.address}/held`, { timeout: 1250 }),
    ]);
    const took = performance.now() - started;
    assert.equal(late.status, 'timeout');
    assert.equal((late.error as SkitaiError).code, 'SKT_BACKEND_TIMEOUT');
    assert.equal(later.status, 'timeout');
    assert.ok(late.elapsed >= 1000, `timed out after ${late.elapsed} ms, before its 1000 ms`);
    assert.ok(later.elapsed >= 1250, `timed out after ${later.elapsed} ms, before its 1250 ms`);
    assert.ok(took < 1250 + 250 + 400, `took ${took} ms: more than a sweep (250 ms) late`);
  } finally {
    release();
  }
});

test('connection refused gives status error (2); HTTP errors stay done with raiseForStatus', async () => {
  const ctx = newServices().context();
  const port = await deadPort();
  const r = await ctx.http('GET')(`http://127.0.0.1:${port}/`);
  assert.equal(r.status, 'error');
  assert.equal(r.code, 2);
  assert.equal((r.error as SkitaiError).code, 'SKT_BACKEND_CONNECTION');
  assert.match(r.error!.message, /ECONNREFUSED/);

  const b = await backend('404', (_req, res) => {
    res.writeHead(404, 'Nope', { 'content-type': 'text/plain' });
    res.end('missing');
  });
  const nf = await ctx.http('GET')(`http://${b.address}/x`);
  assert.equal(nf.status, 'done');
  assert.equal(nf.statusCode, 404);
  assert.equal(nf.reason, 'Nope');
  assert.equal(nf.ok, false);
  assert.equal(nf.data, 'missing');
  assert.throws(
    () => nf.raiseForStatus(),
    (e: SkitaiError) => e.code === 'SKT_BACKEND_STATUS' && /404 Nope/.test(e.message),
  );
  await assert.rejects(ctx.http('GET')(`http://${b.address}/x`, { raise: true }), { code: 'SKT_BACKEND_STATUS' });

  const unknown = await ctx.http('GET')('@nowhere/x');
  assert.equal((unknown.error as SkitaiError).code, 'SKT_ALIAS_UNKNOWN');
  await assert.rejects(ctx.http('GET')('@nowhere/x', { raise: true }), { code: 'SKT_ALIAS_UNKNOWN' });
  for (const url of ['ftp://x/', 'nonsense', '']) {
    assert.equal(((await ctx.http('GET')(url)).error as SkitaiError).code, 'SKT_BACKEND_URL', url);
  }
});

test('redirects are not followed unless asked; 303 turns a POST into a GET; a loop ends', async () => {
  const b = await backend('redir', (req, res, body, be) => {
    if (req.url === '/old') {
      res.writeHead(302, { location: '/new' });
      return res.end();
    }
    if (req.url === '/form') {
      res.writeHead(303, { location: 'http://' + be.address + '/done' });
      return res.end();
    }
    if (req.url!.startsWith('/loop')) {
      res.writeHead(307, { location: '/loop' + Math.random() });
      return res.end();
    }
    return echo(req, res, body, be);
  });
  const s = newServices();
  s.alias('@redir', 'http', b.address);
  const ctx = s.context();
  const r0 = await ctx.http('GET')('@redir/old');
  assert.equal(r0.statusCode, 302);
  assert.equal(r0.headers.location, '/new');
  const r1 = await ctx.http('GET')('@redir/old', { followRedirects: true });
  assert.equal(r1.statusCode, 200);
  assert.equal((r1.data as any).url, '/new');
  const r2 = await ctx.httpWithBody('POST')(`http://${b.address}/form`, { a: 1 }, { followRedirects: 2 });
  assert.equal((r2.data as any).method, 'GET');
  assert.equal((r2.data as any).url, '/done');
  const r3 = await ctx.http('GET')('@redir/loop', { followRedirects: 3 });
  assert.equal(r3.status, 'error');
  assert.equal((r3.error as SkitaiError).code, 'SKT_BACKEND_REDIRECTS');
});

test('large bodies stream both ways; buffering stops at maxResponseSize; gzip is decoded', async () => {
  const big = Buffer.alloc(5 * 1024 * 1024, 'x');
  const b = await backend('big', (req, res, body) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(big);
    }
    if (req.url === '/gz') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      return res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end(String(body.length));
  });
  const ctx = newServices().context();
  const base = `http://${b.address}`;
  const streamed = await ctx.http('GET')(`${base}/big`, { stream: true });
  assert.equal(streamed.content, undefined);
  let size = 0;
  for await (const chunk of streamed.body as AsyncIterable<Buffer>) size += chunk.length;
  assert.equal(size, big.length);
  assert.equal(streamed.cache(60), streamed, 'a streamed result is not cached');

  const limited = await ctx.http('GET')(`${base}/big`, { maxResponseSize: 1024 });
  assert.equal(limited.status, 'error');
  assert.equal((limited.error as SkitaiError).code, 'SKT_BACKEND_RESPONSE');

  const buffered = await ctx.http('GET')(`${base}/big`);
  assert.equal((buffered.data as Buffer).length, big.length);

  async function* chunks() {
    for (let i = 0; i < 48; i++) yield Buffer.alloc(64 * 1024, 'y');
  }
  const up = await ctx.httpWithBody('POST')(`${base}/upload`, Readable.from(chunks()));
  assert.equal(up.data, String(48 * 64 * 1024));
  assert.equal(b.received.at(-1)!.headers['transfer-encoding'], 'chunked');

  assert.deepEqual((await ctx.http('GET')(`${base}/gz`)).data, { zipped: true });
});

test('a result from a failed call is a Result that never throws until asked', async () => {
  const ctx = newServices().context();
  const r = await ctx.http('GET')(`http://127.0.0.1:${await deadPort()}/`, { connectTimeout: 200 });
  assert.ok(r instanceof Result);
  assert.equal(r.ok, false);
  assert.equal(r.data, undefined);
  assert.equal(r.text, '');
});

test('credentials: in a plain URL, on alias members, or as the auth option', async () => {
  const b = await backend('auth');
  const s = newServices();
  s.alias('@auth', 'http', `me%40corp:s%3Acret@${b.address}`);
  const ctx = s.context();
  const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;
  await ctx.http('GET')(`http://user:p%40ss@${b.address}/u`);
  await ctx.http('GET')('@auth/m');
  await ctx.http('GET')('@auth/o', { auth: { user: 'x', password: 'y' } });
  await ctx.http('GET')(`http://${b.address}/none`);
  assert.deepEqual(
    b.received.map((r) => r.headers.authorization),
    [basic('user:p@ss'), basic('me@corp:s:cret'), basic('x:y'), undefined],
  );
});

test("maxConnections bounds a member's pool; an AbortSignal ends a call; ws aliases are not for HTTP calls", async () => {
  let holding!: () => void;
  const held = new Promise<void>((r) => {
    holding = r;
  });
  // Slow answers (the handler's own time), so that the calls queue and /hold is still open.
  const b = await backend('bounded', async (req, res, body, be) => {
    if (req.url === '/hold') holding();
    await sleep(req.url === '/hold' ? 1500 : 20);
    if (!res.destroyed) echo(req, res, body, be);
  });
  const s = newServices();
  s.alias('@bounded', 'http', b.address, { maxConnections: 1 });
  s.alias('@socket', 'ws', b.address);
  const get = s.context().http('GET');
  const results = await Promise.all(Array.from({ length: 5 }, () => get('@bounded/q')));
  assert.ok(results.every((r) => r.ok));
  assert.equal(b.connections, 1, 'five concurrent calls queued on one connection');
  const controller = new AbortController();
  const pending = get(`http://${b.address}/hold`, { signal: controller.signal });
  await held;
  controller.abort();
  const aborted = await pending;
  assert.equal(aborted.status, 'error');
  assert.match(aborted.error!.message, /aborted/);
  const wrong = await get('@socket/x');
  assert.equal((wrong.error as SkitaiError).code, 'SKT_ALIAS_WRONG_TYPE');
});
