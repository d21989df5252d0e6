import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../src/index.js';
import { serve, raw, type Served } from '../test-support/app-server.js';

let s: Served;
const app = new App({ maxPostBodySize: 1000 });
app.route('/echo/<int:id>', (was, args) => ({ args, same: was.request.args === args }));
app.route('/req', (was) => ({
  method: was.request.method,
  command: was.request.command,
  uri: was.request.uri,
  path: was.request.path,
  version: was.request.version,
  scheme: was.request.scheme,
  ua: was.request.userAgent,
  header: was.request.getHeader('X-Custom'),
  remote: was.request.remoteAddress,
  contentType: was.request.contentType,
  body: was.request.body.toString(),
  dict: was.request.dict(),
}));
app.route('/json', (was) => ({ json: was.request.json() }));
app.route('/form', (was) => ({ form: was.request.form() }));

before(async () => {
  s = await serve([['/app', app]]);
});
after(() => s.close());

async function post(path: string, body: string, type: string) {
  const r = await fetch(s.base + path, {
    method: 'POST',
    body,
    headers: { 'content-type': type, accept: 'application/json' },
  });
  return { status: r.status, body: (await r.json()) as any };
}

test('URL, query, form and JSON parameters merge; repeats become arrays', async () => {
  let r = await post('/app/echo/5?a=1&a=2&b=x%20y', 'c=3&a=4', 'application/x-www-form-urlencoded');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.args, { id: 5, a: ['1', '2', '4'], b: 'x y', c: '3' });
  assert.equal(r.body.same, true);
  r = await post('/app/echo/6?q=1', JSON.stringify({ n: 1, list: [1, 2], q: 2 }), 'application/json');
  assert.deepEqual(r.body.args, { id: 6, q: ['1', 2], n: 1, list: [1, 2] });
});

test('malformed JSON or form bodies are a 400, not a 500', async () => {
  let r = await post('/app/echo/1', '{"a":', 'application/json');
  assert.equal(r.status, 400);
  assert.match(r.body.message, /malformed JSON/);
  r = await post('/app/echo/1', 'a=%zz', 'application/x-www-form-urlencoded');
  assert.equal(r.status, 400);
  assert.match(r.body.message, /malformed form/);
  r = await post('/app/json', 'nope', 'text/plain');
  assert.equal(r.status, 400);
});

test('was.request fields and helpers', async () => {
  const r = await fetch(s.base + '/app/req?x=1', {
    method: 'POST',
    body: 'k=v',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-custom': 'hi', 'user-agent': 'tester/1' },
  });
  const b = await r.json();
  assert.deepEqual(b, {
    method: 'POST',
    command: 'post',
    uri: '/app/req?x=1',
    path: '/req',
    version: '1.1',
    scheme: 'http',
    ua: 'tester/1',
    header: 'hi',
    remote: '127.0.0.1',
    contentType: 'application/x-www-form-urlencoded',
    body: 'k=v',
    dict: { k: 'v' },
  });
  assert.deepEqual((await post('/app/json', '[1,2]', 'application/json')).body, { json: [1, 2] });
  assert.deepEqual((await post('/app/form', 'a=1&a=2', 'application/x-www-form-urlencoded')).body, {
    form: { a: ['1', '2'] },
  });
});

test('maxPostBodySize: 413 and the connection closed, by Content-Length and by chunked count', async () => {
  const big = 'a='.padEnd(1500, 'x');
  const r = await raw(
    s.port,
    `POST /app/echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${big.length}\r\n\r\n${big}`,
  );
  assert.match(r.text, /^HTTP\/1.1 413 /);
  assert.match(r.text, /connection: close/i);
  assert.equal(r.closed, true);
  const chunk = big.length.toString(16);
  const c = await raw(
    s.port,
    `POST /app/echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}\r\n${big}\r\n0\r\n\r\n`,
  );
  assert.match(c.text, /^HTTP\/1.1 413 /);
  assert.equal(c.closed, true);
  // Under the limit, keep-alive goes on: two requests on one connection.
  const ok = await raw(
    s.port,
    'POST /app/echo/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1' +
      'GET /app/echo/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.equal(ok.text.match(/HTTP\/1.1 200/g)?.length, 2);
});
