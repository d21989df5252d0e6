// Request collapsing, eviction at the memory tier's byte bound, the forward proxy, and clients
// that leave mid-answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { waitUntil } from '@skitai/test-support';
import { answer, get, startBackend, startFront } from '../test-support/helpers.js';

test('100 concurrent misses for one URL make one backend call', async () => {
  const held: http.ServerResponse[] = [];
  const backend = await startBackend((_req, res) => {
    held.push(res);
  });
  const front = await startFront({ backend });
  try {
    const replies = Array.from({ length: 100 }, () => get(`${front.url}/b/slow`));
    // The first request reached the backend; the 99 others wait for its answer in the cache.
    await waitUntil(
      () => held.length === 1 && front.cache.cache.stats.collapsed === 99,
      20_000,
      '99 requests collapsed on the first',
    );
    const body = 'c'.repeat(1024);
    held[0]!.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': body.length });
    held[0]!.end(body);
    const all = await Promise.all(replies);
    assert.equal(backend.count('/slow'), 1, 'one backend call');
    assert.ok(all.every((r) => r.status === 200 && r.body.toString() === body));
    assert.equal(all.filter((r) => r.headers['x-cache'] === 'MISS').length, 1);
    assert.equal(all.filter((r) => r.headers['x-cache'] === 'HIT').length, 99);
  } finally {
    await front.stop();
    await backend.close();
  }
});

test('collapsed requests go on to the backend when the first answer cannot be stored or fails', async () => {
  let n = 0;
  const held: http.ServerResponse[] = [];
  const backend = await startBackend((_req, res) => {
    n++;
    if (n === 1) {
      held.push(res);
      return;
    }
    answer({ 'cache-control': 'no-store' }, 'fresh')(_req, res, n);
  });
  const front = await startFront({ backend });
  try {
    const replies = Array.from({ length: 5 }, () => get(`${front.url}/b/private`));
    await waitUntil(() => held.length === 1 && front.cache.cache.stats.collapsed === 4, 10_000, '4 requests collapsed');
    held[0]!.writeHead(200, { 'cache-control': 'private', 'content-length': 3 });
    held[0]!.end('one');
    const all = await Promise.all(replies);
    assert.equal(backend.count('/private'), 5, 'the private answer was not shared: each asked the backend');
    assert.deepEqual(all.map((r) => r.body.toString()).sort(), ['fresh', 'fresh', 'fresh', 'fresh', 'one']);
  } finally {
    await front.stop();
    await backend.close();
  }
});

test('collapse: false sends every miss to the backend', async () => {
  const held: http.ServerResponse[] = [];
  const backend = await startBackend((_req, res) => {
    held.push(res);
  });
  const front = await startFront({ backend, cache: { memmax: 1 << 20, collapse: false } });
  try {
    const replies = Array.from({ length: 5 }, () => get(`${front.url}/b/x`));
    await waitUntil(() => held.length === 5, 10_000, '5 backend calls');
    for (const res of held) res.end('x');
    await Promise.all(replies);
  } finally {
    await front.stop();
    await backend.close();
  }
});

test('eviction: the memory tier stays within memmax, least recently used first', async () => {
  const backend = await startBackend(answer({ 'cache-control': 'max-age=60' }, 'e'.repeat(4096)));
  // Room for three 4 KiB answers with their headers (about 4.4 KB each), not four.
  const front = await startFront({ backend, cache: { memmax: 14_000 } });
  try {
    for (const p of ['/1', '/2', '/3']) await get(`${front.url}/b${p}`);
    const memory = front.cache.cache.memory!;
    assert.equal(memory.entries, 3);
    assert.equal((await get(`${front.url}/b/1`)).headers['x-cache'], 'HIT', '/1 used again: /2 is now the oldest');
    await get(`${front.url}/b/4`);
    assert.ok(memory.bytes <= 14_000, `memory ${memory.bytes} <= 14000`);
    assert.equal(memory.evictions, 1);
    assert.equal((await get(`${front.url}/b/2`)).headers['x-cache'], 'MISS', 'the least recently used went');
    assert.equal((await get(`${front.url}/b/4`)).headers['x-cache'], 'HIT');
    assert.equal(backend.count('/2'), 2);
    assert.ok(memory.bytes <= 14_000);
  } finally {
    await front.stop();
    await backend.close();
  }
});

test('the forward proxy caches absolute-form requests by their URL', async () => {
  const backend = await startBackend(answer({ 'cache-control': 'max-age=60' }));
  const front = await startFront({
    backend,
    gateway: { forwardProxy: { hosts: ['127.0.0.1'], ports: [backend.port] } },
  });
  try {
    const ask = () =>
      get(`http://127.0.0.1:${front.port}`, {
        path: `${backend.url}/fwd`,
        headers: { host: `127.0.0.1:${backend.port}` },
      });
    const first = await ask();
    const second = await ask();
    // The third from the hot index, by the absolute URL.
    const third = await ask();
    assert.equal(first.status, 200);
    assert.deepEqual(
      [first.headers['x-cache'], second.headers['x-cache'], third.headers['x-cache']],
      ['MISS', 'HIT', 'HIT'],
    );
    assert.ok(front.cache.cache.hot.has(`${backend.url}/fwd`));
    assert.ok(third.body.equals(first.body));
    assert.equal(backend.count('/fwd'), 1);
  } finally {
    await front.stop();
    await backend.close();
  }
});

test('clients that reset mid-answer leave nothing half-stored and crash nothing', async () => {
  const body = 'r'.repeat(256 * 1024);
  let release: (() => void) | undefined;
  const backend = await startBackend((_req, res, n) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': body.length });
    if (n > 1) {
      res.end(body);
      return;
    }
    // The first answer's rest only when the test says so: its client is gone by then.
    res.write(body.slice(0, 1000));
    release = () => res.end(body.slice(1000));
  });
  const front = await startFront({ backend });
  try {
    await new Promise<void>((resolve) => {
      const socket = net.connect(front.port, '127.0.0.1', () => socket.write('GET /b/cut HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.once('data', () => {
        socket.resetAndDestroy();
        resolve();
      });
      socket.on('error', () => {});
    });
    await waitUntil(() => release !== undefined, 5000, 'the backend answering');
    release!();
    const again = await get(`${front.url}/b/cut`);
    assert.equal(again.status, 200);
    assert.equal(again.body.length, body.length);
    assert.equal(again.headers['x-cache'], 'MISS', 'the cut answer was not stored');
    assert.equal((await get(`${front.url}/b/cut`)).headers['x-cache'], 'HIT');
  } finally {
    await front.stop();
    await backend.close();
  }
});
