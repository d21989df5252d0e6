import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, type ServerStatus } from '@skitai/kernel';
import { services } from '@skitai/services';
import { statusPage } from '../src/index.js';
import { parseMetrics, rawExchange, request, sampleValue } from '../test-support/helpers.js';

const kernels: Kernel[] = [];
after(async () => {
  await Promise.all(kernels.map((k) => k.stop()));
});

async function serve(kernel: Kernel): Promise<number> {
  kernels.push(kernel);
  return (await kernel.start({ address: '127.0.0.1', port: 0 })).port;
}

function site(): Kernel {
  const kernel = new Kernel().use(services());
  kernel.alias('@down', 'http', ['127.0.0.1:9']);
  kernel.mount('/', (req, res) => {
    if (req.url === '/missing') {
      res.statusCode = 404;
      res.end('no');
      return;
    }
    if (req.url === '/fail') {
      res.writeHead(503);
      res.end();
      return;
    }
    if (req.url === '/call') {
      void import('@skitai/services').then(async ({ was }) => {
        const r = await was.get('@down/x');
        res.writeHead(r.status === 'done' ? 200 : 502);
        res.end(String(r.status));
      });
      return;
    }
    res.end('hello');
  });
  return kernel;
}

test('the Prometheus text parses with an independent parser and counts the requests sent', async () => {
  const kernel = site().mount('/status', statusPage());
  const port = await serve(kernel);
  for (let i = 0; i < 7; i++) assert.equal((await request(port, '/')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await request(port, '/missing')).status, 404);
  assert.equal((await request(port, '/fail')).status, 503);
  assert.equal((await request(port, '/', {}, 'HEAD')).status, 200);

  const reply = await request(port, '/status/metrics');
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const m = parseMetrics(reply.body);
  // The metrics request itself is counted once its head is out: after this snapshot.
  assert.equal(sampleValue(m, 'skitai_http_responses_total', { process: 'M', code: '200' }), 8);
  assert.equal(sampleValue(m, 'skitai_http_responses_total', { process: 'M', code: '404' }), 3);
  assert.equal(sampleValue(m, 'skitai_http_responses_total', { process: 'M', code: '503' }), 1);
  assert.equal(
    sampleValue(m, 'skitai_http_requests_received_total', { process: 'M' }),
    13,
    '12 answered, and the metrics request',
  );
  const hist = m.get('skitai_http_request_duration_seconds')!;
  assert.equal(hist.type, 'HISTOGRAM');
  // This parser keeps a labelled histogram's buckets but not its _sum and _count: read those raw.
  const buckets = Object.entries(hist.metrics.find((x) => x.buckets)!.buckets!);
  assert.equal(Number(buckets.find(([le]) => le === '+Inf')![1]), 12);
  // (object keys: integer-like bounds such as '1' come first, so sort by the bound)
  const counts = buckets
    .sort((a, b) => Number(a[0].replace('+Inf', 'Infinity')) - Number(b[0].replace('+Inf', 'Infinity')))
    .map(([, c]) => Number(c));
  assert.equal(counts.length, 12, '11 bounds and +Inf');
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => a - b),
    'cumulative buckets never decrease',
  );
  assert.match(reply.body, /^skitai_http_request_duration_seconds_count\{process="M"\} 12$/m);
  const sum = Number(/^skitai_http_request_duration_seconds_sum\{process="M"\} (\S+)$/m.exec(reply.body)![1]);
  assert.ok(sum > 0 && sum < 12, String(sum));
  // Names and types as Prometheus recommends: every counter ends in _total.
  for (const f of m.values()) if (f.type === 'COUNTER') assert.match(f.name, /_total$/, f.name);
  assert.equal(m.get('skitai_process_resident_memory_bytes')!.type, 'GAUGE');
  assert.equal(sampleValue(m, 'skitai_backend_member_up', { alias: '@down', member: '@down#0 127.0.0.1:9' }), 1);
  assert.equal(sampleValue(m, 'skitai_info'), 1);
  assert.ok(m.has('skitai_plugin_info'));

  // A second read counts the first metrics request too; a failed backend call shows in the
  // member's health.
  assert.equal((await request(port, '/call')).status, 502);
  const again = parseMetrics((await request(port, '/status/metrics')).body);
  assert.equal(sampleValue(again, 'skitai_http_responses_total', { process: 'M', code: '200' }), 9);
  assert.equal(sampleValue(again, 'skitai_http_responses_total', { process: 'M', code: '502' }), 1);
  assert.equal(
    sampleValue(again, 'skitai_backend_member_up', { alias: '@down', member: '@down#0 127.0.0.1:9' }),
    0,
    'set aside',
  );
  assert.equal(
    sampleValue(again, 'skitai_backend_member_errors_total', { alias: '@down', member: '@down#0 127.0.0.1:9' }),
    1,
  );
  assert.equal(
    sampleValue(again, 'skitai_backend_member_calls_total', { alias: '@down', member: '@down#0 127.0.0.1:9' }),
    1,
  );
});

test('HTML by default, JSON for Accept: application/json; was.status() gives the same data', async () => {
  const kernel = site();
  let fromWas: ServerStatus | undefined;
  let html = '';
  kernel.mount('/was', async (_req, res) => {
    const { was } = await import('@skitai/services');
    fromWas = await was.status();
    html = await was.status('html');
    res.end('ok');
  });
  kernel.mount('/status', statusPage({ allow: ['127.0.0.1/32', '::1'] }));
  const port = await serve(kernel);
  const page = await request(port, '/status/');
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type']!, /^text\/html/);
  assert.equal(page.headers['cache-control'], 'no-store');
  for (const words of ['Processes', 'Backend aliases and result cache', '@down', 'Mounts', '@skitai/services'])
    assert.ok(page.body.includes(words), words);

  const json = await request(port, '/status/', { accept: 'application/json' });
  const status = JSON.parse(json.body) as ServerStatus;
  assert.equal(status.kernel, Kernel.version);
  assert.equal(status.processes.length, 1);
  const [p] = status.processes;
  assert.equal(p!.role, 'single');
  assert.equal(p!.pid, process.pid);
  assert.ok(p!.rss > 0);
  assert.equal(p!.connections, 1, 'this request');
  assert.deepEqual(
    status.mounts.map((m) => m.point),
    ['/', '/was', '/status'],
  );
  const services = p!.sections.find((s) => s.name === 'services')!;
  assert.equal((services.data as any).members[0].alias, '@down');

  assert.equal((await request(port, '/was/')).status, 200);
  assert.equal(fromWas!.processes[0]!.pid, process.pid);
  assert.match(html, /<h1>Skitai status<\/h1>/);
  assert.equal((await request(port, '/status/nothing')).status, 404);
  assert.equal((await request(port, '/status/', {}, 'POST')).status, 405);
});

test('refused outside its networks (403) and without its credentials (401)', async () => {
  const far = await serve(site().mount('/status', statusPage({ allow: ['10.0.0.0/8'] })));
  const refused = await request(far, '/status/', { accept: 'application/json' });
  assert.equal(refused.status, 403);
  assert.equal(JSON.parse(refused.body).code, 403);
  assert.equal((await request(far, '/status/metrics')).status, 403);

  const port = await serve(site().mount('/status', statusPage({ users: { admin: 's3cret' } })));
  const none = await request(port, '/status/');
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic realm="Skitai status"/);
  const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  assert.equal((await request(port, '/status/', basic('admin', 'wrong'))).status, 401);
  assert.equal((await request(port, '/status/', basic('nobody', 's3cret'))).status, 401);
  assert.equal((await request(port, '/status/', { authorization: 'Basic !!!' })).status, 401);
  assert.equal((await request(port, '/status/metrics', basic('admin', 's3cret'))).status, 200);
  // Garbage on the socket does not take the server down.
  await rawExchange(port, 'GET /status/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \x00\xff\r\n\r\n');
  await rawExchange(port, Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x00]));
  assert.equal((await request(port, '/status/', basic('admin', 's3cret'))).status, 200);
});

test('bad options are refused with SKT_STATUS_OPTION; without a mounted page nothing is counted', async () => {
  for (const allow of [['300.1.1.1/8'], ['10.0.0.0/33'], ['nope'], 'x' as any, [7 as any], ['10.0.0.0/8/1']]) {
    assert.throws(() => statusPage({ allow }), { code: 'SKT_STATUS_OPTION' }, JSON.stringify(allow));
  }
  for (const users of [{}, { '': 'x' }, { 'a:b': 'x' }, { a: '' }, { a: 1 as any }, [] as any]) {
    assert.throws(() => statusPage({ users }), { code: 'SKT_STATUS_OPTION' }, JSON.stringify(users));
  }
  const kernel = site();
  await serve(kernel);
  assert.equal(kernel.metrics, undefined);
  assert.throws(() => kernel.enableMetrics(), { code: 'SKT_KERNEL_PHASE' });
});
