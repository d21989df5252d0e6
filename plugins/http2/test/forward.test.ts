// forward (Skitai's enable_forward): a plain port that sends every request to the HTTPS port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, run, serve, testCerts } from '../test-support/helpers.js';

test('every request on the forward port gets 301 to https, same host and path', async (t) => {
  const c = testCerts();
  const s = await serve({ cert: c.cert, key: c.key, forward: 0 }, [['/', (_req: any, res: any) => res.end('secure')]]);
  t.after(() => s.close());
  const fp = s.plugin.forwardPort!;
  assert.ok(fp > 0);
  const r = await run('curl', ['-si', `http://localhost:${fp}/a/b?c=d&e`]);
  assert.match(r.stdout, /^HTTP\/1\.1 301 Moved Permanently/);
  assert.match(r.stdout, new RegExp(`\\r\\nLocation: https://localhost:${s.port}/a/b\\?c=d&e\\r\\n`, 'i'));
  const post = await run('curl', [
    '-si',
    '-X',
    'POST',
    '-d',
    'x=1',
    '-H',
    `Host: Example.COM:${fp}`,
    `http://127.0.0.1:${fp}/form`,
  ]);
  assert.match(post.stdout, new RegExp(`\\r\\nLocation: https://example.com:${s.port}/form\\r\\n`, 'i'));
  // Following the redirect lands on the TLS port, over h2.
  const followed = await run('curl', ['-skL', '--http2', '-w', ' %{http_version}', `http://localhost:${fp}/x`]);
  assert.equal(followed.stdout, 'secure 2');
  // No usable Host: 400; garbage: 400 and the socket ends.
  const raw = await RawClient.connect(fp);
  raw.socket.write('GET / HTTP/1.1\r\nHost: a b\r\n\r\n');
  assert.match((await raw.until((b) => b.includes('\r\n\r\n'))).toString(), /^HTTP\/1\.1 400/);
  raw.socket.destroy();
  const junk = await RawClient.connect(fp);
  junk.socket.write('\x00\x01\x02 nonsense\r\n\r\n');
  await junk.closed;
  assert.match(junk.text, /^HTTP\/1\.1 400/);
});

test('the HTTPS port itself on 443 is left out of the Location', async () => {
  const { httpsLocation } = await import('../src/forward.js');
  assert.equal(httpsLocation('example.com:80', '/p?q', 443), 'https://example.com/p?q');
  assert.equal(httpsLocation('[::1]:8080', '/', 8443), 'https://[::1]:8443/');
  assert.equal(httpsLocation('evil.com/x', '/', 443), undefined);
  assert.equal(httpsLocation('a.com', 'http://b.com/', 443), undefined);
});
