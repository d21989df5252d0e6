// hintPromise(): server push to HTTP/2 clients that accept it (node:http2, nghttp), 103 Early
// Hints to the others (push turned off, HTTP/1.1); pushed resources go through the kernel's
// request path (static files here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { hintPromise, preloadLink, type HintResult } from '../src/index.js';
import { connect, h2request, run, serve, testCerts } from '../test-support/helpers.js';

function site() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-h2-push-'));
  fs.writeFileSync(path.join(dir, 'app.css'), 'body { color: teal }');
  fs.writeFileSync(path.join(dir, 'app.js'), 'console.log(1)');
  return dir;
}

async function pushServer(t: any, options = {}) {
  const dir = site();
  const results: HintResult[] = [];
  const c = testCerts();
  const s = await serve({ cert: c.cert, key: c.key, ...options }, [
    ['/', dir],
    [
      '/page',
      (req: any, res: any) => {
        results.push(hintPromise(req, res, '/app.css', { path: '/app.js', as: 'script' }));
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<link rel=stylesheet href=/app.css><script src=/app.js></script>');
      },
    ],
  ]);
  t.after(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { s, results };
}

test('push to a node:http2 client: PUSH_PROMISE for each path, served as static files', async (t) => {
  const { s, results } = await pushServer(t);
  const session = await connect(s.origin);
  t.after(() => session.destroy());
  const a = await h2request(session, { ':path': '/page/' });
  assert.equal(a.status, 200);
  const pushed = a.pushed.map((p) => [p.request[':path'], p.headers[':status'], p.body.toString()]).sort();
  assert.deepEqual(pushed, [
    ['/app.css', 200, 'body { color: teal }'],
    ['/app.js', 200, 'console.log(1)'],
  ]);
  assert.deepEqual(results.at(-1), { pushed: ['/app.css', '/app.js'], hinted: [] });
  assert.equal(a.informational.length, 0);
});

test("push seen by nghttp, the nghttp2 project's client", async (t) => {
  const { s } = await pushServer(t);
  const r = await run('nghttp', ['-nv', `${s.origin}/page/`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /recv PUSH_PROMISE frame/);
  assert.match(r.stdout, /promised_stream_id=2\)/);
  assert.match(r.stdout, /:path: \/app\.css/);
  assert.match(r.stdout, /:path: \/app\.js/);
});

test('a client with push turned off (as browsers have it) gets 103 Early Hints with both links', async (t) => {
  const { s, results } = await pushServer(t);
  const session = await connect(s.origin, { enablePush: false });
  t.after(() => session.destroy());
  const a = await h2request(session, { ':path': '/page/' });
  assert.equal(a.pushed.length, 0);
  assert.equal(a.informational.length, 1);
  assert.equal(a.informational[0]![':status'], 103);
  assert.equal(
    String(a.informational[0]!.link),
    '</app.css>; rel=preload; as=style, </app.js>; rel=preload; as=script',
  );
  assert.deepEqual(results.at(-1), { pushed: [], hinted: ['/app.css', '/app.js'] });
  // curl over h2 shows the 103 as well (curl does not accept push).
  const r = await run('curl', ['-skv', '--http2', `${s.origin}/page/`]);
  assert.match(r.stderr, /< HTTP\/2 103/);
  assert.match(r.stderr, /< link: <\/app\.css>; rel=preload; as=style/i);
});

test('HTTP/1.1 clients get 103 Early Hints; push: false turns push off', async (t) => {
  const { s } = await pushServer(t, { push: false });
  const session = await connect(s.origin);
  t.after(() => session.destroy());
  const a = await h2request(session, { ':path': '/page/' });
  assert.equal(a.pushed.length, 0);
  assert.equal(a.informational[0]![':status'], 103);
  const r = await run('curl', ['-skv', '--http1.1', `${s.origin}/page/`]);
  assert.match(r.stderr, /< HTTP\/1\.1 103 Early Hints/);
  assert.match(r.stderr, /< link: <\/app\.css>; rel=preload; as=style, <\/app\.js>; rel=preload; as=script/i);
});

test('plain HTTP/1.1 and after the head: early hints or nothing; bad paths are refused', async (t) => {
  let late: HintResult | undefined;
  const s = await serve({}, [
    [
      '/',
      (req: any, res: any) => {
        res.writeHead(200);
        late = hintPromise(req, res, '/x.css');
        res.end('ok');
      },
    ],
  ]);
  t.after(() => s.close());
  const informational: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${s.origin}/`, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('information', (i) => informational.push(i.statusCode));
    req.on('error', reject);
  });
  assert.deepEqual(informational, []);
  assert.deepEqual(late, { pushed: [], hinted: [] });
  assert.throws(() => preloadLink('https://elsewhere.example/x.css'), /a path on this origin/);
  assert.throws(() => preloadLink('//elsewhere.example/x.css'), /a path on this origin/);
  assert.equal(preloadLink('/f.woff2'), '</f.woff2>; rel=preload; as=font; crossorigin');
  assert.equal(preloadLink({ path: '/data', as: 'fetch' }), '</data>; rel=preload; as=fetch; crossorigin');
});

test("an App route: was.response.hintPromise() pushes through the kernel's hint tap point, or sends a 103", async (t) => {
  const { App } = await import('@skitai/app');
  const dir = site();
  const app = new App();
  app.route('/', async (was: any) => {
    was.response.hintPromise('/app.css', '/app.js');
    return '<link rel=stylesheet href=/app.css>';
  });
  const c = testCerts();
  const s = await serve({ cert: c.cert, key: c.key }, [
    ['/', dir],
    ['/site', app],
  ]);
  t.after(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const pushing = await connect(s.origin);
  t.after(() => pushing.destroy());
  const a = await h2request(pushing, { ':path': '/site/' });
  assert.equal(a.status, 200);
  assert.deepEqual(a.pushed.map((p) => p.request[':path']).sort(), ['/app.css', '/app.js']);
  assert.equal(a.headers.link, '</app.css>; rel=preload, </app.js>; rel=preload');
  const browserLike = await connect(s.origin, { enablePush: false });
  t.after(() => browserLike.destroy());
  const b = await h2request(browserLike, { ':path': '/site/' });
  assert.equal(b.pushed.length, 0);
  assert.equal(
    String(b.informational[0]?.link),
    '</app.css>; rel=preload; as=style, </app.js>; rel=preload; as=script',
  );
});
