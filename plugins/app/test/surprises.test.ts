// Small things a newcomer trips over: each with the behaviour a user expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, HttpError } from '../src/index.js';
import { serve } from '../test-support/app-server.js';

test('was.response(401) with no body shows the status text, "Unauthorized", as HTML and JSON', async () => {
  const app = new App();
  app.route('/private', (was) => was.response(401));
  const s = await serve(app);
  try {
    const html = await fetch(`${s.base}/private`);
    assert.equal(html.status, 401);
    assert.match(await html.text(), /Unauthorized/);
    const json = await fetch(`${s.base}/private`, { headers: { accept: 'application/json' } });
    assert.deepEqual(await json.json(), { code: 401, message: 'Unauthorized' });
  } finally {
    await s.close();
  }
});

test('a template edited in debug mode is picked up on the next render', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-debug-tpl-'));
  fs.mkdirSync(path.join(dir, 'templates'));
  const file = path.join(dir, 'templates', 'page.html');
  fs.writeFileSync(file, '<p>first</p>');
  const app = new App({ root: dir, debug: true });
  app.route('/', (was) => was.render('page.html'));
  const s = await serve(app);
  try {
    assert.equal(await (await fetch(`${s.base}/`)).text(), '<p>first</p>');
    fs.writeFileSync(file, '<p>edited</p>');
    assert.equal(await (await fetch(`${s.base}/`)).text(), '<p>edited</p>');
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("was.traceback returns the request's transaction ids", async () => {
  const app = new App();
  app.route('/', (was) => ({ id: was.traceback(new Error('logged, not thrown')) }));
  const s = await serve(app);
  try {
    const given = (await (await fetch(`${s.base}/`, { headers: { 'x-gtxn-id': 'GTID-test-9' } })).json()) as {
      id: string;
    };
    assert.equal(given.id, 'GTID-test-9/1000');
    const fresh = (await (await fetch(`${s.base}/`)).json()) as { id: string };
    assert.match(fresh.id, /^[0-9a-f]{32}\/1000$/);
  } finally {
    await s.close();
  }
});

test('JSON-RPC routes answer calls sent as application/json (as most clients send them); a JSON POST to a route is still a POST', async () => {
  const app = new App();
  app.route('/rpc/add', async (_was, { a, b }) => Number(a) + Number(b));
  app.route('/echo', { methods: ['POST'] }, async (was) => was.request.json());
  const s = await serve(app);
  try {
    const call = await fetch(`${s.base}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'add', params: { a: 2, b: 3 }, id: 1 }),
    });
    assert.deepEqual(await call.json(), { jsonrpc: '2.0', id: 1, result: 5 });
    const post = await fetch(`${s.base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","method":"x"}',
    });
    assert.deepEqual(await post.json(), { jsonrpc: '2.0', method: 'x' });
    const notCall = await fetch(`${s.base}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(notCall.status, 404);
  } finally {
    await s.close();
  }
});

test("an async handler whose error page cannot be written: the kernel's 500 page, and the next request goes on", async () => {
  const app = new App();
  // A header value node refuses (a line break): the error page itself throws.
  app.route('/bad', async () => {
    throw new HttpError(503, 'down', { headers: { 'X-Why': 'a\nb' } });
  });
  app.route('/ok', async () => 'fine');
  const s = await serve(app);
  try {
    const bad = await fetch(`${s.base}/bad`);
    assert.equal(bad.status, 500);
    assert.equal(bad.headers.get('x-why'), null);
    const ok = await fetch(`${s.base}/ok`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'fine');
    // The same through a rejected promise the handler returns without an async frame.
    app.route('/bad2', () => Promise.reject(new HttpError(503, 'down', { headers: { 'X-Why': 'a\rb' } })));
    assert.equal((await fetch(`${s.base}/bad2`)).status, 500);
    assert.equal((await fetch(`${s.base}/ok`)).status, 200);
  } finally {
    await s.close();
  }
});

test('an async handler that rejects gets its error page (the App answers it, not the kernel)', async () => {
  const app = new App();
  app.errorHandler(418, (was, e) => was.response(418, `teapot: ${e.message}`));
  app.route('/tea', async () => {
    throw new HttpError(418, 'short and stout');
  });
  const s = await serve(app);
  try {
    const r = await fetch(`${s.base}/tea`);
    assert.equal(r.status, 418);
    assert.equal(await r.text(), 'teapot: short and stout');
  } finally {
    await s.close();
  }
});
