import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { App, HttpError } from '../src/index.js';
import { serve, raw, type Served } from '../test-support/app-server.js';

let s: Served;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-resp-'));
fs.writeFileSync(path.join(dir, 'note.txt'), 'a note');

const app = new App();
app.route('/str', () => 'text');
app.route('/buf', () => Buffer.from([1, 2, 3]));
app.route('/obj', () => ({ a: 1 }));
app.route('/arr', () => [1, 2]);
app.route('/num', () => 42);
app.route('/none', () => undefined);
app.route('/stream', (was) => {
  was.response.setHeader('Content-Type', 'text/plain');
  return Readable.from(['one,', 'two']);
});
let release: () => void = () => undefined;
app.route('/iter', async function* () {
  yield 'first;';
  await new Promise<void>((r) => {
    release = r;
  });
  yield 'second';
});
app.route('/created', (was) => was.response(201, 'made', { 'X-A': '1' }));
app.route('/created-list', (was) => was.response('202 Accepted', { ok: true }, [['X-B', '2']]));
app.route('/nf', (was) => was.response(404));
app.route('/file', (was) => was.response.file(path.join(dir, 'note.txt')));
app.route('/download', (was) => {
  was.response.hintPromise('/style.css');
  return was.response.file(path.join(dir, 'note.txt'), { filename: 'my note.txt' });
});
app.route('/raw', { stream: true, methods: ['POST'] }, async (was) => {
  let n = 0;
  for await (const chunk of was.req) n += (chunk as Buffer).length;
  return { streamed: n, body: was.request.body.length };
});
app.route('/missing-file', (was) => was.response.file(path.join(dir, 'nope.txt')));
app.route('/api', (was) => was.response.api({ data: [1, 2, 3] }).set('user', 'hans'));
app.route('/fault', (was) =>
  was.response(400, was.response.fault('missing parameter', 10021, 'need offset', 'http://x')),
);
app.route('/redirect', (was) => was.redirect('/elsewhere'));
app.route('/redirect301', (was) => was.redirect('/moved', 301));
app.route('/headers', (was) => {
  was.response.setHeader('Cache-Control', 'max-age=60');
  was.response.setStatus(203);
  assert.equal(was.response.getHeader('cache-control'), 'max-age=60');
  return 'with headers';
});
app.route('/big', (was) => {
  was.response.setHeader('Content-Type', 'text/plain');
  return 'x'.repeat(10000);
});
app.route('/boom', () => {
  throw new Error('secret detail');
});
app.route('/teapot', () => {
  throw new HttpError(418, 'short and stout');
});

const dbg = new App({ debug: true });
dbg.route('/boom', () => {
  throw new Error('visible detail');
});

before(async () => {
  s = await serve([
    ['/', app],
    ['/dbg', dbg],
  ]);
});
after(() => s.close());

async function get(p: string, init?: RequestInit) {
  const r = await fetch(s.base + p, { redirect: 'manual', ...init });
  return { status: r.status, headers: r.headers, buf: Buffer.from(await r.arrayBuffer()) };
}

test('strings, buffers, objects and numbers', async () => {
  let r = await get('/str');
  assert.equal(r.buf.toString(), 'text');
  assert.match(r.headers.get('content-type')!, /^text\/html/);
  r = await get('/buf');
  assert.deepEqual([...r.buf], [1, 2, 3]);
  assert.equal(r.headers.get('content-type'), 'application/octet-stream');
  r = await get('/obj');
  assert.deepEqual(JSON.parse(r.buf.toString()), { a: 1 });
  assert.match(r.headers.get('content-type')!, /^application\/json/);
  assert.deepEqual(JSON.parse((await get('/arr')).buf.toString()), [1, 2]);
  assert.equal((await get('/num')).buf.toString(), '42');
  r = await get('/none');
  assert.equal(r.status, 200);
  assert.equal(r.buf.length, 0);
});

test('readable streams are piped; HEAD gets no body; stream routes read was.req themselves', async () => {
  const r = await get('/stream');
  assert.equal(r.buf.toString(), 'one,two');
  assert.equal(r.headers.get('content-type'), 'text/plain');
  const h = await get('/stream', { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.buf.length, 0);
  const s2 = await get('/raw', {
    method: 'POST',
    body: 'x'.repeat(5000),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.deepEqual(JSON.parse(s2.buf.toString()), { streamed: 5000, body: 0 });
});

test('async iterables stream parts as they come (was.promise)', { timeout: 5000 }, async () => {
  const res = await fetch(s.base + '/iter');
  const reader = res.body!.getReader();
  const first = await reader.read();
  // The first part arrived while the generator is still waiting.
  assert.equal(Buffer.from(first.value!).toString(), 'first;');
  release();
  let rest = '';
  for (let c = await reader.read(); !c.done; c = await reader.read()) rest += Buffer.from(c.value!).toString();
  assert.equal(rest, 'second');
});

test('was.response(status, body, headers)', async () => {
  let r = await get('/created');
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('x-a'), '1');
  assert.equal(r.buf.toString(), 'made');
  r = await get('/created-list');
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('x-b'), '2');
  assert.deepEqual(JSON.parse(r.buf.toString()), { ok: true });
  r = await get('/nf', { headers: { accept: 'application/json' } });
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.buf.toString()).code, 404);
});

test('was.response.file', async () => {
  const r = await get('/file');
  assert.equal(r.buf.toString(), 'a note');
  assert.match(r.headers.get('content-type')!, /^text\/plain/);
  assert.equal(r.headers.get('content-length'), '6');
  assert.equal((await get('/missing-file')).status, 404);
  const d = await get('/download');
  assert.equal(d.headers.get('content-disposition'), "attachment; filename*=UTF-8''my%20note.txt");
  assert.equal(d.headers.get('link'), '</style.css>; rel=preload');
  const h = await get('/file', { method: 'HEAD' });
  assert.equal(h.headers.get('content-length'), '6');
  assert.equal(h.buf.length, 0);
});

test('api and fault containers', async () => {
  let r = await get('/api');
  assert.deepEqual(JSON.parse(r.buf.toString()), { data: [1, 2, 3], user: 'hans' });
  r = await get('/fault');
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.buf.toString()), {
    message: 'missing parameter',
    code: 10021,
    debug: 'need offset',
    more_info: 'http://x',
  });
});

test('redirects and headers', async () => {
  let r = await get('/redirect');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/elsewhere');
  r = await get('/redirect301');
  assert.equal(r.status, 301);
  r = await get('/headers');
  assert.equal(r.status, 203);
  assert.equal(r.headers.get('cache-control'), 'max-age=60');
});

test('large text is gzipped when accepted', async () => {
  const r = await raw(s.port, 'GET /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
  assert.match(r.text, /content-encoding: gzip/i);
  const body = Buffer.from(r.text.slice(r.text.indexOf('\r\n\r\n') + 4), 'latin1');
  assert.equal(gunzipSync(body).toString(), 'x'.repeat(10000));
});

test('a throwing handler: 500 without traceback unless debug, in HTML and JSON', async () => {
  let r = await get('/boom');
  assert.equal(r.status, 500);
  assert.doesNotMatch(r.buf.toString(), /secret detail|at /);
  r = await get('/boom', { headers: { accept: 'application/json' } });
  const j = JSON.parse(r.buf.toString());
  assert.equal(j.code, 500);
  assert.equal(j.detail, undefined);
  r = await get('/dbg/boom');
  assert.equal(r.status, 500);
  assert.match(r.buf.toString(), /visible detail/);
  assert.match(r.buf.toString(), /<pre>Error: visible detail\n\s+at /);
  r = await get('/dbg/boom', { headers: { accept: 'application/json' } });
  const d = JSON.parse(r.buf.toString());
  assert.match(d.detail, /Error: visible detail\n\s+at /);
  r = await get('/teapot');
  assert.equal(r.status, 418);
  assert.match(r.buf.toString(), /short and stout/);
});
