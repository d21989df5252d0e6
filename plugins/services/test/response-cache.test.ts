// The response-cache hook of `was` HTTP calls: a lookup before the call, a stored answer instead
// of the call, headers a ticket adds, the answer it turns a 304 into, and failures reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendServices, type HttpCacheAnswer, type HttpCacheCall, type HttpResponseCache } from '../src/index.js';
import { startBackend } from '../test-support/services-helpers.js';

test('setResponseCache: lookups, hits without a call, tickets that add headers and rewrite a 304, failures', async () => {
  const backend = await startBackend('a', (req, res) => {
    if (req.headers['if-none-match'] === '"t"') {
      res.writeHead(304, { etag: '"t"' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', etag: '"t"' });
    res.end(`live ${req.url}`);
  });
  const services = new BackendServices();
  const looked: HttpCacheCall[] = [];
  const answered: HttpCacheAnswer[] = [];
  let failed = 0;
  const cache: HttpResponseCache = {
    lookup(call) {
      looked.push(call);
      if (call.path === '/hit')
        return {
          hit: {
            statusCode: 200,
            reason: 'OK',
            headers: { 'content-type': 'text/plain', 'x-cache': 'HIT' },
            content: Buffer.from('stored'),
          },
        };
      if (call.path === '/pass') return undefined;
      return Promise.resolve({
        headers: call.path === '/revalidate' ? { 'if-none-match': '"t"' } : undefined,
        answered(answer: HttpCacheAnswer) {
          answered.push(answer);
          return answer.statusCode === 304
            ? {
                statusCode: 200,
                reason: 'OK',
                headers: { 'content-type': 'text/plain' },
                content: Buffer.from('refreshed'),
              }
            : answer;
        },
        failed() {
          failed++;
        },
      });
    },
  };
  assert.throws(() => services.setResponseCache({} as HttpResponseCache), { code: 'SKT_INVALID_OPTION' });
  services.setResponseCache(cache);
  try {
    services.alias('@a', 'http', [backend.address]);
    const get = services.context().http('GET');
    const hit = await get('@a/hit', { headers: { 'x-who': 'me' } });
    assert.equal(hit.text, 'stored');
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(backend.received.length, 0, 'a hit makes no call');
    assert.deepEqual({ ...looked[0] }, { method: 'GET', base: '@a', path: '/hit', headers: { 'x-who': 'me' } });
    assert.equal((await get('@a/pass')).text, 'live /pass');
    assert.equal((await get('@a/ticket')).text, 'live /ticket');
    assert.equal(answered.at(-1)!.statusCode, 200);
    const revalidated = await get('@a/revalidate');
    assert.equal(backend.received.at(-1)!.headers['if-none-match'], '"t"', "the ticket's headers were sent");
    assert.equal(revalidated.statusCode, 200);
    assert.equal(revalidated.text, 'refreshed');
    await backend.close();
    const down = await get('@a/ticket', { timeout: 2000 });
    assert.equal(down.status, 'error');
    assert.equal(failed, 1, 'a call without an answer is reported');
    const stream = await get('@a/x', { stream: true });
    assert.equal(
      looked.some((c) => c.path === '/x'),
      false,
      'streamed calls never reach the cache',
    );
    assert.equal(stream.status, 'error');
  } finally {
    await services.close();
  }
});
