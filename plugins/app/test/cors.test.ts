import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../src/index.js';
import { serve } from '../test-support/app-server.js';

test('CORS: app-wide origins, per-route options, preflight with max age, refusals', async () => {
  const app = new App({ accessControlAllowOrigin: ['http://good.example'], accessControlMaxAge: 3600 });
  app.route('/post', { methods: ['POST', 'OPTIONS'] }, (was) => ({ got: was.request.json() }));
  app.route('/any', { methods: ['GET'], accessControlAllowOrigin: ['*'], accessControlMaxAge: 60 }, () => 'any');
  const plain = new App();
  plain.route('/x', { methods: ['POST'] }, () => 'x');
  const s = await serve([
    ['/', app],
    ['/plain', plain],
  ]);
  try {
    const pre = await fetch(`${s.base}/post`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://good.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://good.example');
    assert.equal(pre.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
    assert.equal(pre.headers.get('access-control-max-age'), '3600');
    const actual = await fetch(`${s.base}/post`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { origin: 'http://good.example', 'content-type': 'application/json' },
    });
    assert.equal(actual.headers.get('access-control-allow-origin'), 'http://good.example');
    assert.deepEqual(await actual.json(), { got: { a: 1 } });
    const evil = await fetch(`${s.base}/post`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilPost = await fetch(`${s.base}/post`, {
      method: 'POST',
      body: '{}',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
    });
    assert.equal(evilPost.status, 403);
    const any = await fetch(`${s.base}/any`, {
      method: 'OPTIONS',
      headers: { origin: 'http://x.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(any.status, 204);
    assert.equal(any.headers.get('access-control-allow-origin'), '*');
    assert.equal(any.headers.get('access-control-max-age'), '60');
    // Without CORS configured, OPTIONS is just a method the route does not allow.
    const none = await fetch(`${s.base}/plain/x`, {
      method: 'OPTIONS',
      headers: { origin: 'http://x.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(none.status, 405);
    assert.equal(none.headers.get('access-control-allow-origin'), null);
  } finally {
    await s.close();
  }
});
