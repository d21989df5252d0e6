// Every kind of mount over HTTP/2 (TLS and h2c): static files, an App, Express, a plain
// handler; the request log (HTTP/2.0), the `request` tap point, gzip, the body limit, the
// request timeout, HEAD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import express from 'express';
import { parseRequestLine, type LogRecord } from '@skitai/kernel';
import { App } from '@skitai/app';
import { connect, h2request, serve, testCerts } from '../test-support/helpers.js';

function site() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-h2-site-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>h2</title>');
  fs.writeFileSync(path.join(dir, 'big.txt'), 'lorem ipsum '.repeat(1000));
  return dir;
}

for (const mode of ['TLS', 'h2c'] as const) {
  test(`${mode}: static files, an App, Express and a plain handler, each over HTTP/2`, async (t) => {
    const dir = site();
    const app = new App();
    app.route('/hi/<name>', async (_was: any, args: any) => ({ hello: args.name }));
    const api = express();
    api.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id, base: req.baseUrl, original: req.originalUrl, host: req.hostname });
    });
    const records: LogRecord[] = [];
    const tapped: string[] = [];
    const logdir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-h2-log-'));
    const c = testCerts();
    const s = await serve(
      mode === 'TLS' ? { cert: c.cert, key: c.key } : {},
      [
        ['/', dir],
        ['/app', app],
        ['/api', api],
        [
          '/fn',
          (_req: any, res: any) => {
            res.setHeader('Content-Type', 'text/plain');
            res.end('x'.repeat(5000));
          },
        ],
      ],
      (k) => {
        k.hooks.responseLogged.tap('test', (r) => {
          records.push(r);
        });
        k.hooks.request.tapPromise('test', async (req, res) => {
          tapped.push(req.url!);
          if (req.url === '/tapped') {
            res.writeHead(202, { 'Content-Type': 'text/plain' });
            res.end('by the tap');
            return true;
          }
          return undefined;
        });
      },
      { logpath: logdir },
    );
    t.after(async () => {
      await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(logdir, { recursive: true, force: true });
    });
    const session = await connect(s.origin);
    t.after(() => session.close());

    const index = await h2request(session, { ':path': '/' });
    assert.equal(index.status, 200);
    assert.equal(index.body.toString(), '<!doctype html><title>h2</title>');
    assert.ok(index.headers.etag);
    const cached = await h2request(session, { ':path': '/', 'if-none-match': String(index.headers.etag) });
    assert.equal(cached.status, 304);
    const range = await h2request(session, { ':path': '/big.txt', range: 'bytes=0-4' });
    assert.equal(range.status, 206);
    assert.equal(range.body.toString(), 'lorem');
    const gz = await h2request(session, { ':path': '/big.txt', 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(gz.body).toString(), 'lorem ipsum '.repeat(1000));
    const traversal = await h2request(session, { ':path': '/%2e%2e/etc/passwd' });
    assert.equal(traversal.status, 400);

    const fromApp = await h2request(session, { ':path': '/app/hi/bob' });
    assert.deepEqual(JSON.parse(fromApp.body.toString()), { hello: 'bob' });
    const fromExpress = await h2request(session, { ':path': '/api/users/7?x=1' });
    assert.deepEqual(JSON.parse(fromExpress.body.toString()), {
      id: '7',
      base: '/api',
      original: '/api/users/7?x=1',
      host: '127.0.0.1',
    });
    const gzFn = await h2request(session, { ':path': '/fn/', 'accept-encoding': 'gzip' });
    assert.equal(gzFn.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(gzFn.body).toString(), 'x'.repeat(5000));
    const head = await h2request(session, { ':path': '/big.txt', ':method': 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String('lorem ipsum '.repeat(1000).length));
    assert.equal(head.body.length, 0);
    const missing = await h2request(session, { ':path': '/nothing-here', accept: 'application/json' });
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body.toString()).code, 404);
    const byTap = await h2request(session, { ':path': '/tapped' });
    assert.equal(byTap.status, 202);
    assert.ok(tapped.includes('/tapped') && tapped.includes('/app/hi/bob'));

    // The request log: one line a request, version HTTP/2.0, the client's address and Host.
    const line = records.find((r) => r.req.originalUrl === '/app/hi/bob')!.line;
    const f = parseRequestLine(line);
    assert.equal(f[2], '127.0.0.1');
    assert.equal(f[3], `127.0.0.1:${s.port}`);
    assert.equal(f[5], '/app/hi/bob');
    assert.equal(f[6], 'HTTP/2.0');
    assert.equal(f[8], '200');
    assert.ok(Number(f[9]) > 0, `response bytes in ${line}`);
  });
}

test('the body limit over HTTP/2: 413 and that stream ends, the connection goes on', async (t) => {
  let read = 0;
  const s = await serve(
    {},
    [
      [
        '/',
        (req: any, res: any) => {
          req.on('data', (c: Buffer) => {
            read += c.length;
          });
          req.on('end', () => res.end('read'));
        },
      ],
    ],
    (k) => k.setMaxClientBodySize(10_000),
  );
  const session = await connect(s.origin);
  t.after(async () => {
    session.destroy();
    await s.close();
  });
  const declared = await h2request(
    session,
    { ':path': '/', ':method': 'POST', 'content-length': '20000' },
    Buffer.alloc(20_000),
  ).catch((e) => e);
  // No Content-Length: counted as it arrives, refused past the limit without buffering it.
  const streamed = await new Promise<number>((resolve) => {
    const req = session.request({ ':path': '/', ':method': 'POST' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', () => {});
    req.write(Buffer.alloc(8000));
    req.write(Buffer.alloc(8000));
  });
  assert.equal(streamed, 413);
  assert.ok(read <= 10_000, `${read} bytes reached the handler`);
  if (!(declared instanceof Error)) assert.equal(declared.status, 413);
  const small = await h2request(session, { ':path': '/', ':method': 'POST' }, Buffer.alloc(5000));
  assert.equal(small.body.toString(), 'read');
});

test('a request body that does not arrive in the request timeout gets 408 on its stream', async (t) => {
  const s = await serve(
    {},
    [
      [
        '/',
        (req: any, res: any) => {
          req.resume();
          req.on('end', () => res.end('whole'));
        },
      ],
    ],
    (k) => k.setRequestTimeout(0.2),
  );
  const session = await connect(s.origin);
  t.after(async () => {
    session.destroy();
    await s.close();
  });
  const status = await new Promise<number>((resolve) => {
    const req = session.request({ ':path': '/', ':method': 'POST' });
    req.on('response', (h) => resolve(Number(h[':status'])));
    req.on('error', () => {});
    req.write('part of a body, then nothing');
  });
  assert.equal(status, 408);
  assert.equal((await h2request(session, { ':path': '/', ':method': 'POST' }, 'quick')).body.toString(), 'whole');
});

test('stop: GOAWAY to HTTP/2 clients, the in-flight stream finishes', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let started!: () => void;
  const inFlight = new Promise<void>((r) => {
    started = r;
  });
  const s = await serve({}, [
    [
      '/',
      async (_req: any, res: any) => {
        started();
        await gate;
        res.end('finished');
      },
    ],
  ]);
  const session = await connect(s.origin);
  const goaway = new Promise<void>((r) => session.once('goaway', () => r()));
  const answer = h2request(session, { ':path': '/' });
  await inFlight;
  const stopped = s.close();
  await goaway;
  release();
  assert.equal((await answer).body.toString(), 'finished');
  await stopped;
  session.destroy();
});
