import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { App } from '@skitai/app';
import { Kernel, Was, parseRequestLine, REQUEST_LOG_FIELDS, type SkitaiRequest } from '@skitai/kernel';
import { bindWas, currentWas, runWithWas, services, servicesOf, was, wrapWithWasContext } from '../src/index.js';
import { sleep, startBackend, waitUntil, type Backend } from '../test-support/services-helpers.js';

const backends: Backend[] = [];
const kernels: Kernel[] = [];
after(async () => {
  await Promise.all(kernels.map((k) => k.stop()));
  await Promise.all(backends.map((b) => b.kill()));
});
async function backend(name: string): Promise<Backend> {
  const b = await startBackend(name);
  backends.push(b);
  return b;
}
async function start(kernel: Kernel, options: { logpath?: string } = {}): Promise<string> {
  kernels.push(kernel);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0, ...options });
  return `http://127.0.0.1:${port}`;
}

test('an Express app uses the imported `was`, bound to its request, with kernel.alias', async () => {
  const b = await backend('b');
  const kernel = new Kernel().use(services()).alias('@b', 'http', [b.address]);
  const app = express();
  app.get('/states', async (req, res) => {
    const r = await was.get('@b/v1/states');
    const again = await was.getjson('@b/v1/more');
    res.json({
      data: r.data,
      again: (again.data as any).url,
      sameReq: was.req === (req as unknown as SkitaiRequest),
      isWas: was instanceof Was,
    });
  });
  kernel.mount('/api', app);
  const url = await start(kernel);
  const reply = (await (await fetch(`${url}/api/states`, { headers: { 'x-gtxn-id': 'GTID-client-7' } })).json()) as any;
  assert.equal(reply.data.url, '/v1/states');
  assert.equal(reply.again, '/v1/more');
  assert.equal(reply.sameReq, true);
  assert.equal(reply.isWas, true);
  assert.deepEqual(
    b.received.map((r) => [r.headers['x-gtxn-id'], r.headers['x-ltxn-id']]),
    [
      ['GTID-client-7', '2001'],
      ['GTID-client-7', '2002'],
    ],
  );
  // concurrent requests each see their own was
  const many = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      fetch(`${url}/api/states`, { headers: { 'x-gtxn-id': `GTID-c-${i}` } }).then((r) => r.json()),
    ),
  );
  assert.equal(many.length, 10);
  const byGtxn = new Map<string, string[]>();
  for (const r of b.received.slice(2))
    byGtxn.set(String(r.headers['x-gtxn-id']), [
      ...(byGtxn.get(String(r.headers['x-gtxn-id'])) ?? []),
      String(r.headers['x-ltxn-id']),
    ]);
  assert.equal(byGtxn.size, 10);
  for (const ids of byGtxn.values()) assert.deepEqual(ids, ['2001', '2002']);
});

test('transaction ids over two hops: 1000 -> 2001, 2002 -> 3002, 3003, the global id unchanged', async () => {
  const leaf = await backend('leaf');
  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-services-'));
  const middle = new Kernel().use(services()).alias('@leaf', 'http', leaf.address);
  middle.mount('/', (req, res) => {
    void (async () => {
      const r = await was.get('@leaf/leaf');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ltxnIn: req.headers['x-ltxn-id'], leafLtxn: (r.data as any).ltxn }));
    })();
  });
  const middleUrl = await start(middle, { logpath: path.join(logs, 'middle') });
  const gateway = new Kernel().use(services()).alias('@middle', 'http', middleUrl.slice('http://'.length));
  gateway.mount('/', async (req, res) => {
    const first = await was.get('@middle/hop');
    const second = await was.get('@middle/hop');
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        gtxn: (req as SkitaiRequest).gtxnId,
        ltxn: (req as SkitaiRequest).ltxnId,
        hops: [first.data, second.data],
      }),
    );
  });
  const gatewayUrl = await start(gateway, { logpath: path.join(logs, 'gateway') });
  const reply = (await (await fetch(`${gatewayUrl}/page`)).json()) as any;
  assert.equal(reply.ltxn, '1000');
  assert.match(reply.gtxn, /^[0-9a-f]{32}$/);
  assert.deepEqual(reply.hops, [
    { ltxnIn: '2001', leafLtxn: '3002' },
    { ltxnIn: '2002', leafLtxn: '3003' },
  ]);
  assert.deepEqual(
    leaf.received.map((r) => r.headers['x-gtxn-id']),
    [reply.gtxn, reply.gtxn],
  );
  // and the request logs of both servers carry them
  await Promise.all([gateway.stop(), middle.stop()]);
  const ids = (dir: string) =>
    fs
      .readFileSync(path.join(logs, dir, 'request.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const f = parseRequestLine(line);
        return [f[REQUEST_LOG_FIELDS.indexOf('gtxnId')], f[REQUEST_LOG_FIELDS.indexOf('ltxnId')]];
      });
  assert.deepEqual(ids('gateway'), [[reply.gtxn, '1000']]);
  assert.deepEqual(ids('middle'), [
    [reply.gtxn, '2001'],
    [reply.gtxn, '2002'],
  ]);
  fs.rmSync(logs, { recursive: true, force: true });
});

test('without the services plugin, no mount is wrapped and the imported was says why', async () => {
  const kernel = new Kernel();
  let message = '';
  kernel.mount('/', (_req, res) => {
    try {
      void was.get;
    } catch (err) {
      message = (err as Error).message;
    }
    res.end('ok');
  });
  const url = await start(kernel);
  assert.equal(await (await fetch(url + '/')).text(), 'ok');
  assert.match(message, /was\.get was used outside a request/);
  assert.equal(kernel.wasMembers().has('get'), false, 'a kernel without the plugin has no was.get');
  assert.throws(() => was.services.status(), { code: 'SKT_WAS_CONTEXT' });
});

test('the imported was for plain URLs; App handlers reach was.get too; was utilities; stop closes the pools', async () => {
  const b = await backend('plain');
  const logpath = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-services-'));
  const kernel = new Kernel().use(services());
  kernel.alias('@plain', 'http', b.address);
  kernel.mount('/h', (_req, res) => {
    void (async () => {
      const r = await was.get(`http://${b.address}/direct`);
      was.log('plain handler called', 'audit');
      const id = was.traceback(new Error('recorded failure'));
      const status = was.services.status() as any;
      res.end(
        JSON.stringify({
          url: (r.data as any).url,
          id,
          aliases: status.aliases.map((a: any) => a.name),
          json: was.fromjson(was.tojson({ a: [1] })),
          xml: was.fromxml(was.toxml({ k: 'v' }, 2)),
        }),
      );
    })();
  });
  const app = new App();
  app.route('/calls', async (w: Was) => {
    const r = await w.get('@plain/from-app');
    const viaImport = await was.get('@plain/from-import');
    // A plugin's member through the imported was is the caller itself, with its .lb and .map;
    // the kernel's own methods come bound to the request's was.
    const viaLb = await was.get.lb('@plain/from-import-lb');
    const { traceback } = was;
    return {
      own: (r.data as any).url,
      imported: (viaImport.data as any).url,
      lb: (viaLb.data as any).url,
      // The App's was and the imported one number the request's calls in one sequence.
      ltxn: [r.ltxnId, viaImport.ltxnId, viaLb.ltxnId],
      tag: traceback('tagged').endsWith('/1000'),
    };
  });
  kernel.mount('/app', app);
  const url = await start(kernel, { logpath });
  const reply = (await (await fetch(`${url}/h/`, { headers: { 'x-gtxn-id': 'GTID-util-1' } })).json()) as any;
  assert.equal(reply.url, '/direct');
  assert.equal(reply.id, 'GTID-util-1/1000');
  assert.deepEqual(reply.aliases, ['@plain']);
  assert.deepEqual(reply.json, { a: [1] });
  assert.deepEqual(reply.xml, [{ k: 'v' }, 2]);
  const fromApp = (await (await fetch(`${url}/app/calls`)).json()) as any;
  assert.deepEqual(fromApp, {
    own: '/from-app',
    imported: '/from-import',
    lb: '/from-import-lb',
    ltxn: ['2001', '2002', '2003'],
    tag: true,
  });
  assert.ok(b.open.size >= 1, 'keep-alive connections stay open while running');
  await kernel.stop();
  // The backend sees the close a moment after the client made it.
  await waitUntil(() => b.open.size === 0, 2000, 'the kernel closing its backend connections at stop', 5);
  const appLog = fs.readFileSync(path.join(logpath, 'app.log'), 'utf8');
  assert.match(appLog, /\[info\] \[audit\] plain handler called/);
  assert.match(appLog, /\[error\] \[GTID-util-1\/1000\] Error: recorded failure/);
  fs.rmSync(logpath, { recursive: true, force: true });
});

test("kernel.setMaxRcache and setBackendKeepAlive reach the services; useCache with the kernel's getlu", async () => {
  const b = await backend('lu');
  const kernel = new Kernel().setMaxRcache(5).setBackendKeepAlive(300).use(services()).alias('@lu', 'http', b.address);
  kernel.addlu('tables.items');
  kernel.mount('/', (req, res) => {
    void (async () => {
      if (req.url === '/update') {
        was.setlu('tables.items');
        return res.end('updated');
      }
      const r = await was.get('@lu/items', { useCache: was.getlu('tables.items') });
      r.cache(60);
      return res.end(r.cached ? 'cached' : 'fresh');
    })();
  });
  const url = await start(kernel);
  assert.equal(servicesOf(kernel).rcache.capacity, 5);
  assert.equal(servicesOf(kernel).backendKeepAlive, 300_000);
  const get = async (p: string) => (await fetch(url + p)).text();
  assert.equal(await get('/items'), 'fresh');
  assert.equal(await get('/items'), 'cached');
  assert.equal(await get('/update'), 'updated');
  assert.equal(await get('/items'), 'fresh');
  assert.equal(await get('/items'), 'cached');
  assert.equal(b.received.length, 2);
});

test('runWithWas, bindWas and currentWas', async () => {
  const kernel = new Kernel().use(services());
  await start(kernel);
  const req = { gtxnId: 'GTID-x', ltxnId: '2001', headers: {} } as unknown as SkitaiRequest;
  const own = kernel.createWas(req, undefined as any);
  assert.equal(currentWas(), undefined);
  await runWithWas(own, async () => {
    await sleep(1); // the context must survive a timer turn
    assert.equal(currentWas(), own);
    assert.equal(was.get, own.get, 'the proxy hands out the same bound caller');
    assert.equal(was.kernel, kernel);
  });
  // a framework that builds its own was binds it, so the imported proxy resolves to it
  const wrapped = wrapWithWasContext(kernel, () => {
    const other = kernel.createWas(req, undefined as any);
    bindWas(other);
    return currentWas() === other;
  });
  assert.equal(wrapped(req, undefined as any), true);
  // a was of another request is not bound
  const wrapped2 = wrapWithWasContext(kernel, () => {
    bindWas(own);
    return currentWas() !== own;
  });
  assert.equal(wrapped2({ ...req } as any, undefined as any), true);
});
