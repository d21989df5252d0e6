import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ProxyCache } from '../src/index.js';
import { request, waitUntil } from '@skitai/test-support';
import { deadPort, startBackend, startGateway } from '../test-support/helpers.js';

test('the cache option: lookup before a member is asked, store gets the body as the client does', async () => {
  const kept = new Map<string, { status: number; headers: OutgoingHttpHeaders; body: Buffer }>();
  const cache: ProxyCache = {
    lookup: (req) => kept.get(req.url!),
    store(req, mount, status, headers) {
      assert.equal(mount?.point, '/members');
      const chunks: Buffer[] = [];
      return new Writable({
        write(chunk, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
        final(cb) {
          kept.set(req.url!, { status, headers: { ...headers, 'x-cache': 'hit' }, body: Buffer.concat(chunks) });
          cb();
        },
      });
    },
  };
  const b = await startBackend();
  const g = await startGateway({ members: [b.member], options: { cache } });
  try {
    const first = await request(`${g.url}/members/c`);
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache'], undefined);
    const second = await request(`${g.url}/members/c`);
    assert.equal(second.headers['x-cache'], 'hit');
    assert.ok(second.body.equals(first.body));
    assert.equal(b.seen.length, 1, 'the second answer came from the cache');
    assert.equal(kept.get('/c')!.headers['x-private'], undefined, 'hop-by-hop headers are not stored');
  } finally {
    await g.stop();
    await b.close();
  }
});

test('a lookup that throws or rejects sends the request to the member; an async lookup may answer', async () => {
  const b = await startBackend();
  const mode = { now: 'throw' as 'throw' | 'reject' | 'async-hit' };
  const cache: ProxyCache = {
    lookup() {
      if (mode.now === 'throw') throw new Error('the cache broke');
      if (mode.now === 'reject') return Promise.reject(new Error('the cache broke later'));
      return Promise.resolve({
        status: 200,
        headers: { 'content-type': 'text/plain', 'x-cache': 'async' },
        body: 'from the cache',
      });
    },
  };
  const g = await startGateway({ members: [b.member], options: { cache } });
  try {
    const thrown = await request(`${g.url}/members/t`);
    assert.equal(thrown.status, 200, 'a throwing lookup: the member answers');
    assert.equal(b.seen.length, 1);
    mode.now = 'reject';
    const rejected = await request(`${g.url}/members/r`);
    assert.equal(rejected.status, 200, 'a rejected lookup: the member answers');
    assert.equal(b.seen.length, 2);
    mode.now = 'async-hit';
    const hit = await request(`${g.url}/members/h`);
    assert.equal(hit.headers['x-cache'], 'async');
    assert.equal(hit.body.toString(), 'from the cache');
    assert.equal(b.seen.length, 2, 'an answer from the cache asks no member');
  } finally {
    await g.stop();
    await b.close();
  }
});

test("a CacheMiss: its headers go upstream (replacing the client's), head() sees the answer, a 304 becomes the cache's answer, done() once", async () => {
  const b = await startBackend((req, res) => {
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=5' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', etag: '"v2"' });
    res.end('fresh from the member');
  });
  const events: string[] = [];
  let conditional: Record<string, string> | undefined;
  const cache: ProxyCache = {
    lookup: (_req, mount) => {
      assert.equal(mount?.point, '/members');
      return {
        miss: true,
        headers: conditional,
        head(status, headers) {
          events.push(`head ${status}`);
          headers['x-cache'] = 'MISS';
          const chunks: Buffer[] = [];
          return new Writable({
            write(chunk, _enc, cb) {
              chunks.push(chunk);
              cb();
            },
            final(cb) {
              events.push(`copied ${Buffer.concat(chunks).toString()}`);
              cb();
            },
          });
        },
        notModified(headers) {
          events.push(`304 etag ${String(headers.etag)}`);
          return {
            status: 200,
            headers: { 'content-type': 'text/plain', 'x-cache': 'MISS', age: '0' },
            body: 'the stored answer',
          };
        },
        done() {
          events.push('done');
        },
      };
    },
  };
  const g = await startGateway({ members: [b.member], options: { cache } });
  try {
    const plain = await request(`${g.url}/members/m`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['x-cache'], 'MISS', 'head() may add to what the client is sent');
    assert.equal(plain.body.toString(), 'fresh from the member');
    await waitUntil(() => events.includes('done'), 5000, 'done()');
    assert.deepEqual(events, ['head 200', 'copied fresh from the member', 'done']);
    assert.equal(b.seen[0]!.headers['if-none-match'], undefined);

    events.length = 0;
    conditional = { 'If-None-Match': '"v1"' };
    const revalidated = await request(`${g.url}/members/m`, { headers: { 'if-none-match': '"client"' } });
    assert.equal(b.seen[1]!.headers['if-none-match'], '"v1"', "the miss's value replaced the client's, once");
    assert.equal(revalidated.status, 200, 'the client gets the stored answer, not the 304');
    assert.equal(revalidated.body.toString(), 'the stored answer');
    await waitUntil(() => events.includes('done'), 5000, 'done()');
    assert.deepEqual(events, ['304 etag "v1"', 'done'], 'a replaced 304 is not copied');
  } finally {
    await g.stop();
    await b.close();
  }
});

test('a CacheMiss whose member is down: 502 to the client, done() all the same', async () => {
  const port = await deadPort();
  let done = 0;
  const cache: ProxyCache = {
    lookup: () => ({
      miss: true,
      head: () => undefined,
      done: () => {
        done++;
      },
    }),
  };
  const g = await startGateway({ members: [`127.0.0.1:${port}`], options: { cache } });
  try {
    const r = await request(`${g.url}/members/x`);
    assert.equal(r.status, 502);
    await waitUntil(() => done > 0, 5000, 'done()');
    assert.equal(done, 1);
  } finally {
    await g.stop();
  }
});
