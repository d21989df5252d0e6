// The HIT path the gateway asks first (serve()): a plain GET found by its path in the hot index
// and written as one flat head. It must answer exactly what the general path answers, and never
// an entry the memory tier no longer holds, another Host's, or a stale one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { answer, startBackend, startFront, type Backend, type Front, type Script } from '../test-support/helpers.js';

interface RawReply {
  status: number;
  raw: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection; the head as sent (rawHeaders: repeated fields kept). */
function ask(port: number, p: string, options: http.RequestOptions = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, raw: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The head as name: value lines, lower-case names, without the values that change per answer:
 * Date, and Age, which may pass a second between two answers (whole seconds, checked here).
 */
function lines(r: RawReply): string[] {
  const out: string[] = [];
  for (let i = 0; i < r.raw.length; i += 2) {
    const name = r.raw[i]!.toLowerCase();
    if (name === 'age') {
      assert.match(r.raw[i + 1]!, /^\d+$/);
      out.push('age: (whole seconds)');
    } else if (name !== 'date' || r.headers['x-cache'] === undefined) out.push(`${name}: ${r.raw[i + 1]}`);
  }
  return out;
}

const routes = new Map<string, Script>();
let backend: Backend;
let front: Front;

before(async () => {
  backend = await startBackend((req, res, n) => {
    const script = routes.get(new URL(req.url!, 'http://x').pathname);
    if (script === undefined) {
      res.writeHead(500);
      res.end('no route');
      return;
    }
    script(req, res, n);
  });
  // Room for two 1 KiB answers with their overhead, not three.
  front = await startFront({ backend, cache: { memmax: 3000 } });
});
after(async () => {
  await front.stop();
  await backend.close();
});

test('a hot HIT answers the same head and body as the first HIT, Server once, Age and X-Cache added', async () => {
  routes.set('/same', answer({ 'cache-control': 'max-age=60', etag: '"v1"', 'x-many': ['a', 'b'] }));
  const miss = await ask(front.port, '/b/same');
  const first = await ask(front.port, '/b/same');
  const hot = await ask(front.port, '/b/same');
  const head = await ask(front.port, '/b/same', { method: 'HEAD' });
  assert.equal(miss.headers['x-cache'], 'MISS');
  assert.equal(backend.count('/same'), 1);
  for (const r of [first, hot, head]) {
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-cache'], 'HIT');
    assert.equal(r.raw.filter((_v, i) => i % 2 === 0 && r.raw[i]!.toLowerCase() === 'server').length, 1);
    assert.deepEqual(
      r.raw.filter((_v, i) => i % 2 === 1 && r.raw[i - 1] === 'x-many'),
      miss.raw.filter((_v, i) => i % 2 === 1 && miss.raw[i - 1] === 'x-many'),
    );
  }
  assert.deepEqual(lines(hot), lines(first));
  assert.deepEqual(lines(head), lines(first));
  assert.ok(hot.body.equals(miss.body));
  assert.equal(head.body.length, 0);
  assert.ok(front.cache.cache.hot.has('/same'), 'the path is in the hot index');
});

test('two Hosts through one mount: each gets its own entry, however they alternate', async () => {
  routes.set('/host', (req, res) => {
    const body = `for ${req.headers.host}`;
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const hostOf = (r: RawReply) => r.body.toString();
  const seen: string[] = [];
  for (const host of ['one.test', 'two.test', 'one.test', 'two.test', 'one.test', 'two.test'])
    seen.push(hostOf(await ask(front.port, '/b/host', { headers: { host } })));
  // preserveHost is off: the member gets its own host:port either way; the bodies tell the entries apart by order.
  assert.equal(backend.count('/host'), 2, 'one backend call per Host');
  assert.deepEqual(seen.slice(2), seen.slice(0, 4));
});

test('an entry evicted from the memory tier leaves the hot index and is asked for again', async () => {
  routes.set('/a', answer({ 'cache-control': 'max-age=60' }));
  routes.set('/c', answer({ 'cache-control': 'max-age=60' }));
  routes.set('/d', answer({ 'cache-control': 'max-age=60' }));
  const hot = front.cache.cache.hot;
  for (let i = 0; i < 3; i++) await ask(front.port, '/b/a');
  assert.ok(hot.has('/a'));
  for (const p of ['/b/c', '/b/c', '/b/d', '/b/d']) await ask(front.port, p);
  assert.equal(hot.has('/a'), false, 'evicted: out of the index too');
  assert.ok(hot.size <= 2, `the index holds only what memory holds (${[...hot.keys()].join(' ')})`);
  const again = await ask(front.port, '/b/a');
  assert.equal(again.headers['x-cache'], 'MISS');
  assert.equal(backend.count('/a'), 2);
});

test('a hot entry past its freshness is not served from the index: it is revalidated', async () => {
  let version = 1;
  routes.set('/stale', (req, res) => {
    if (req.headers['if-none-match'] === `"v${version}"`) {
      res.writeHead(304, { 'cache-control': 'max-age=60', etag: `"v${version}"` });
      res.end();
      return;
    }
    res.writeHead(200, { 'cache-control': 'max-age=60', etag: `"v${version}"`, 'content-length': 2 });
    res.end(`v${version}`);
  });
  for (let i = 0; i < 3; i++) await ask(front.port, '/b/stale');
  const entry = front.cache.cache.hot.get('/stale')!;
  assert.ok(entry);
  // 61 s later: the entry's clock moved back instead of ours.
  entry.responseTime -= 61_000;
  entry.requestTime -= 61_000;
  version = 2;
  const r = await ask(front.port, '/b/stale');
  assert.equal(r.body.toString(), 'v2');
  assert.equal(r.headers['x-cache'], 'MISS');
  assert.equal(backend.calls.filter((c) => c.url === '/stale').at(-1)!.headers['if-none-match'], '"v1"');
  const next = await ask(front.port, '/b/stale');
  assert.equal(next.body.toString(), 'v2');
  assert.equal(next.headers['x-cache'], 'HIT');
});

test('with the request log on, a HIT goes through the logged writeHead: same head, Server once, logged', async () => {
  const logpath = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-cachefs-hot-'));
  const logged = await startFront({ backend, logpath });
  try {
    routes.set('/logged', answer({ 'cache-control': 'max-age=60' }));
    await ask(logged.port, '/b/logged');
    const first = await ask(logged.port, '/b/logged');
    const hot = await ask(logged.port, '/b/logged');
    assert.equal(hot.headers['x-cache'], 'HIT');
    assert.deepEqual(lines(hot), lines(first));
    assert.equal(hot.raw.filter((_v, i) => i % 2 === 0 && hot.raw[i]!.toLowerCase() === 'server').length, 1);
    assert.equal(backend.count('/logged'), 1);
  } finally {
    await logged.stop();
    fs.rmSync(logpath, { recursive: true, force: true });
  }
});
