import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { App, HttpError } from '../src/index.js';
import { serve, type Served } from '../test-support/app-server.js';

const run = promisify(execFile);
let s: Served;
const app = new App();
app.route('/add', { methods: ['POST'], params: ['num1', 'num2'] }, (_was, args) => args.num1 + args.num2);
app.route('/calc/mul', { params: ['a', 'b'] }, (_was, args) => args.a * args.b);
app.route('/echo', { params: ['value'] }, (_was, args) => args.value);
app.route('/api', (was) => was.response.api({ ok: true }));
app.route('/boom', () => {
  throw new Error('kaboom');
});
app.route('/refuse', () => {
  throw new HttpError(403, 'no way');
});
app.route('/add', { methods: ['GET'], name: 'addGet' }, () => 'plain GET still works');
app.route('/soap', { methods: ['POST'] }, (was) => `raw xml of ${was.request.body.length} bytes`);

before(async () => {
  s = await serve([['/rpc', app]]);
});
after(() => s.close());

const python = (code: string) => run('python3', ['-c', code], { env: { ...process.env, URL: `${s.base}/rpc/` } });

test("XML-RPC with Python's xmlrpc.client", async () => {
  const { stdout } = await python(`
import os, xmlrpc.client, json, datetime
p = xmlrpc.client.ServerProxy(os.environ['URL'], allow_none=True)
out = {}
out['add'] = p.add(10000, 5000)
out['mul'] = p.calc.mul(6, 7)
out['echo'] = p.echo({'a': [1, 2.5, 'x', True, None]})
out['api'] = p.api()
for name, call in [('unknown', lambda: p.nope()), ('boom', lambda: p.boom()), ('refuse', lambda: p.refuse()), ('arity', lambda: p.add(1, 2, 3))]:
    try:
        call()
        out[name] = 'no fault'
    except xmlrpc.client.Fault as f:
        out[name] = [f.faultCode, f.faultString]
print(json.dumps(out))
`);
  const out = JSON.parse(stdout);
  assert.equal(out.add, 15000);
  assert.equal(out.mul, 42);
  assert.deepEqual(out.echo, { a: [1, 2.5, 'x', true, null] });
  assert.deepEqual(out.api, { ok: true });
  assert.equal(out.unknown[0], -32601);
  assert.match(out.unknown[1], /no such method: nope/);
  assert.equal(out.boom[0], 500);
  assert.doesNotMatch(out.boom[1], /kaboom/);
  assert.deepEqual(out.refuse, [403, 'no way']);
  assert.equal(out.arity[0], -32602);
});

test('JSON-RPC by content type, single and batch', async () => {
  const call = async (body: unknown) => {
    const r = await fetch(`${s.base}/rpc/`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json-rpc' },
    });
    return r.json();
  };
  assert.deepEqual(await call({ jsonrpc: '2.0', method: 'add', params: [1, 2], id: 1 }), {
    jsonrpc: '2.0',
    id: 1,
    result: 3,
  });
  assert.deepEqual(await call({ jsonrpc: '2.0', method: 'calc.mul', params: { a: 3, b: 4 }, id: 'x' }), {
    jsonrpc: '2.0',
    id: 'x',
    result: 12,
  });
  const missing = (await call({ jsonrpc: '2.0', method: 'nope', id: 2 })) as any;
  assert.equal(missing.error.code, -32601);
  const boom = (await call({ jsonrpc: '2.0', method: 'boom', id: 3 })) as any;
  assert.equal(boom.error.code, -32603);
  const batch = (await call([
    { jsonrpc: '2.0', method: 'add', params: [1, 1], id: 1 },
    { jsonrpc: '2.0', method: 'add', params: [2, 2], id: 2 },
  ])) as any[];
  assert.deepEqual(
    batch.map((b) => b.result),
    [2, 4],
  );
  const r = await fetch(`${s.base}/rpc/`, {
    method: 'POST',
    body: '{oops',
    headers: { 'content-type': 'application/json-rpc' },
  });
  assert.equal(((await r.json()) as any).error.code, -32700);
  // A methodCall posted to a route of its own, naming no route, is that route's body.
  const xml = '<?xml version="1.0"?><methodCall><methodName>x</methodName><params/></methodCall>';
  const soap = await fetch(`${s.base}/rpc/soap`, {
    method: 'POST',
    body: xml,
    headers: { 'content-type': 'text/xml' },
  });
  assert.equal(await soap.text(), `raw xml of ${xml.length} bytes`);
  // The same routes still answer plain HTTP.
  assert.equal(await (await fetch(`${s.base}/rpc/add`)).text(), 'plain GET still works');
});
