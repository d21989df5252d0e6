import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { ProxyCache } from '../src/index.js';
import { request } from '@skitai/test-support';
import { startBackend, startGateway } from '../test-support/helpers.js';

test('the cache option: lookup before a member is asked, store gets the body as the client does', async () => {
  const kept = new Map<string, { status: number; headers: OutgoingHttpHeaders; body: Buffer }>();
  const cache: ProxyCache = {
    lookup: (req) => kept.get(req.url!),
    store(req, mount, status, headers) {
      assert.equal(mount.point, '/members');
      const chunks: Buffer[] = [];
      return new Writable({
        write(chunk, _enc, cb) { chunks.push(chunk); cb(); },
        final(cb) { kept.set(req.url!, { status, headers: { ...headers, 'x-cache': 'hit' }, body: Buffer.concat(chunks) }); cb(); },
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
