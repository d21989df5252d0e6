// `was` HTTP calls through the cache (the services' response-cache hook), against a backend that
// counts its calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Kernel } from '@skitai/kernel';
import { services, servicesOf, type Result } from '@skitai/services';
import { waitUntil } from '@skitai/test-support';
import { cachefs, type CachefsOptions } from '../src/index.js';
import { answer, dateIn, startBackend, type Backend } from '../test-support/helpers.js';

async function withCalls(
  backend: Backend,
  options: CachefsOptions,
  fn: (ctx: ReturnType<ReturnType<typeof servicesOf>['context']>, kernel: Kernel) => Promise<void>,
) {
  const kernel = new Kernel();
  kernel.use(services());
  kernel.use(cachefs(options));
  kernel.alias('@api', 'http', [backend.member]);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    await fn(servicesOf(kernel).context(), kernel);
  } finally {
    await kernel.stop();
  }
}

const states = (results: Result[]) => results.map((r) => r.headers['x-cache']);

test('was.get: stored by max-age, served with X-Cache and Age, on aliases and plain URLs', async () => {
  const backend = await startBackend(
    answer({ 'cache-control': 'max-age=60', 'content-type': 'application/json' }, '{"n":1}'),
  );
  try {
    await withCalls(backend, { memmax: 1 << 20 }, async (ctx) => {
      const get = ctx.http('GET');
      const r = [await get('@api/j'), await get('@api/j'), await get.lb('@api/j')];
      assert.deepEqual(states(r), ['MISS', 'HIT', 'HIT']);
      assert.deepEqual(r[1]!.data, { n: 1 });
      assert.equal(r[1]!.statusCode, 200);
      assert.ok(r[1]!.ok);
      assert.match(String(r[1]!.headers.age), /^\d+$/);
      const u = [await get(`${backend.url}/u`), await get(`${backend.url}/u`)];
      assert.deepEqual(states(u), ['MISS', 'HIT']);
      assert.equal(backend.count('/j'), 1);
      assert.equal(backend.count('/u'), 1);
      const head = await ctx.http('HEAD')('@api/j');
      assert.equal(head.headers['x-cache'], 'HIT');
      assert.equal(head.content!.length, 0);
    });
  } finally {
    await backend.close();
  }
});

test('was.get: no-store, private, no-cache and max-age=0 answers are asked for each time; POST is never cached', async () => {
  const backend = await startBackend((req, res, n) => {
    const cc = decodeURIComponent(req.url!.slice(1));
    answer({ 'cache-control': cc }, `n${n}`)(req, res, n);
  });
  try {
    await withCalls(backend, { memmax: 1 << 20 }, async (ctx) => {
      for (const cc of ['no-store', 'private', 'no-cache', 'max-age=0']) {
        const url = `@api/${encodeURIComponent(cc)}`;
        const r = [await ctx.http('GET')(url), await ctx.http('GET')(url)];
        assert.deepEqual(states(r), ['MISS', 'MISS'], cc);
        assert.notEqual(r[0]!.text, r[1]!.text);
      }
      const post = ctx.httpWithBody('POST');
      await post('@api/max-age%3D60', { a: 1 });
      await post('@api/max-age%3D60', { a: 1 });
      assert.equal(backend.count('/max-age%3D60'), 2);
    });
  } finally {
    await backend.close();
  }
});

test('was.get: a 304 from the backend refreshes the stale entry', async () => {
  const backend = await startBackend((req, res, n) => {
    if (req.headers['if-none-match'] === '"e1"') {
      res.writeHead(304, { etag: '"e1"', 'cache-control': 'max-age=60', date: dateIn(0) });
      res.end();
      return;
    }
    answer({ 'cache-control': 'max-age=60', etag: '"e1"', date: dateIn(-300) }, 'stored')(req, res, n);
  });
  try {
    await withCalls(backend, { memmax: 1 << 20 }, async (ctx) => {
      const get = ctx.http('GET');
      const a = await get('@api/e');
      const b = await get('@api/e');
      assert.equal(backend.calls[1]!.headers['if-none-match'], '"e1"');
      assert.equal(b.statusCode, 200, 'the call gets the stored answer, not the 304');
      assert.equal(b.text, 'stored');
      const c = await get('@api/e');
      assert.deepEqual(states([a, b, c]), ['MISS', 'MISS', 'HIT']);
      assert.equal(backend.count('/e'), 2);
    });
  } finally {
    await backend.close();
  }
});

test('was.get: 100 concurrent misses make one backend call', async () => {
  const held: http.ServerResponse[] = [];
  const backend = await startBackend((_req, res) => {
    held.push(res);
  });
  try {
    const plugin = cachefs({ memmax: 1 << 20 });
    const kernel = new Kernel();
    kernel.use(services());
    kernel.use(plugin);
    kernel.alias('@api', 'http', [backend.member]);
    await kernel.start({ address: '127.0.0.1', port: 0 });
    try {
      const get = servicesOf(kernel).context().http('GET');
      const calls = Array.from({ length: 100 }, () => get('@api/burst'));
      await waitUntil(
        () => held.length === 1 && plugin.cache.stats.collapsed === 99,
        20_000,
        '99 calls collapsed on the first',
      );
      held[0]!.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': 5 });
      held[0]!.end('burst');
      const results = await Promise.all(calls);
      assert.equal(backend.count('/burst'), 1);
      assert.ok(results.every((r) => r.ok && r.text === 'burst'));
    } finally {
      await kernel.stop();
    }
  } finally {
    await backend.close();
  }
});

test('options: bad values are refused with SKT_CACHEFS_OPTION, unknown keys with SKT_INVALID_OPTION', () => {
  assert.throws(() => cachefs({ memmax: -1 }), { code: 'SKT_CACHEFS_OPTION' });
  assert.throws(() => cachefs({ memmax: 1.5 }), { code: 'SKT_CACHEFS_OPTION' });
  assert.throws(() => cachefs({ diskmax: 1000 }), /needs a folder/);
  assert.throws(() => cachefs({ collapseTimeout: 0 }), { code: 'SKT_CACHEFS_OPTION' });
  assert.throws(
    () => cachefs({ memax: 10 } as never),
    (err: Error & { code?: string }) => err.code === 'SKT_INVALID_OPTION' && /memmax/.test(err.message),
  );
});
