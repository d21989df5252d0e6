// The plain-GET HIT path: its answer is reused, its Age follows the entry's age, and a request
// with anything lookup() weighs (a directive, validators) still takes the general path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MountInfo, SkitaiRequest } from '@skitai/kernel';
import { HttpCache, proxyCache } from '../src/index.js';
import type { CachedResponse, CacheMiss } from '../src/proxy-cache.js';

const mount = { host: '', point: '/b' } as unknown as MountInfo;
const req = (headers: Record<string, string> = {}) =>
  ({ method: 'GET', url: '/x', headers: { host: 'h', ...headers } }) as unknown as SkitaiRequest;

test('a plain GET HIT reuses one answer; its Age follows the age; Cache-Control in the request takes the general path', () => {
  const cache = new HttpCache(1 << 20, false, 0);
  const proxy = proxyCache(cache);
  const miss = proxy.lookup(req(), mount) as CacheMiss;
  assert.equal(miss.miss, true);
  const copy = miss.head(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' })!;
  copy.end(Buffer.from('stored'));
  return new Promise<void>((resolve) => copy.on('finish', resolve)).then(() => {
    const first = proxy.lookup(req(), mount) as CachedResponse;
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache'], 'HIT');
    assert.equal(first.headers.age, '0');
    assert.equal(proxy.lookup(req(), mount), first, 'the same answer object, no per-hit building');
    // Seven seconds later (the entry's clock moved back instead of ours).
    const entry = (cache.memory as unknown as { items: Map<string, { responseTime: number; requestTime: number }> })
      .items;
    for (const e of entry.values()) {
      e.responseTime -= 7000;
      e.requestTime -= 7000;
    }
    const later = proxy.lookup(req(), mount) as CachedResponse;
    assert.equal(later.headers.age, '7');
    assert.equal(later.body.toString(), 'stored');
    // max-age=5 in the request: the 7 s old entry is not fresh enough; the backend is asked.
    const strict = proxy.lookup(req({ 'cache-control': 'max-age=5' }), mount) as CacheMiss;
    assert.equal(strict.miss, true);
    strict.done?.();
    assert.equal(cache.stats.hits, 3);
  });
});
