import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Kernel, LATENCY_BUCKETS, sendTyped, type StatusSection } from '../../src/index.js';
import { nextGlobalId, traceHeaders, traceIdOf } from '../../src/log/txn.js';
import { startKernel } from '../../test-support/http.js';

async function get(url: string, init?: RequestInit): Promise<number> {
  const r = await fetch(url, init);
  await r.arrayBuffer();
  return r.status;
}

test('enableMetrics counts responses by code and latency, through Express and HEAD too, with the request log on', async () => {
  const logpath = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-metrics-'));
  const api = express();
  api.get('/e', (_req, res) => {
    res.status(201).send('made');
  });
  const s = await startKernel(
    (k) => {
      k.enableMetrics();
      k.mount('/api', api);
      k.mount('/', (req, res) => {
        if (req.url === '/slow') {
          setImmediate(() => {
            res.writeHead(200);
            res.end('slow');
          });
          return;
        }
        if (req.url === '/typed') {
          // A ready head (writeReadyHead) is counted too, and keeps its fields.
          sendTyped(req, res, 202, 'text/plain', 'typed');
          return;
        }
        if (req.url === '/stream') {
          res.write('a');
          res.end('b');
          return;
        }
        res.statusCode = req.url === '/gone' ? 410 : 200;
        res.end('x');
      });
    },
    { logpath },
  );
  try {
    const m = s.kernel.metrics!;
    assert.equal(m.snapshot().received, 0);
    for (const p of ['/', '/gone', '/slow', '/stream', '/api/e', '/nothing/../x']) await get(s.url + p);
    assert.equal(await get(s.url + '/', { method: 'HEAD' }), 200);
    assert.equal(await get(s.url + '/api', { redirect: 'manual' }), 301);
    const typed = await fetch(s.url + '/typed');
    assert.equal(typed.status, 202);
    assert.equal(await typed.text(), 'typed');
    assert.equal(typed.headers.get('content-type'), 'text/plain');
    assert.equal(typed.headers.get('content-length'), '5');
    assert.match(typed.headers.get('server') ?? '', /Skitai/i);
    const snap = m.snapshot();
    assert.equal(snap.received, 9);
    assert.deepEqual(snap.codes, { 200: 5, 201: 1, 202: 1, 301: 1, 410: 1 });
    assert.equal(snap.latency.count, 9);
    assert.equal(snap.latency.buckets.length, LATENCY_BUCKETS.length);
    assert.equal(snap.latency.buckets.at(-1)![1] <= 9, true);
    assert.ok(snap.latency.sum > 0);
    assert.equal(s.kernel.openConnections() >= 0, true);
  } finally {
    await s.stop();
  }
  // The request log still splits handling from sending time (the counting writeHead stamps it).
  const lines = fs.readFileSync(path.join(logpath, 'request.log'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 9);
  for (const line of lines) assert.match(line, / \d+ms \d+ms$/);
});

test(
  'hooks.status sections and background processes in collectStatus(); nothing counted without enableMetrics',
  { timeout: 20_000 },
  async () => {
    const entry = fileURLToPath(
      new URL('../../../test-support/process-fixtures/status-background.mjs', import.meta.url),
    );
    let ready!: () => void;
    const started = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const s = await startKernel((k) => {
      k.hooks.status.tap('@acme/x', (sections: StatusSection[]) => {
        sections.push({ name: 'x', title: 'X', data: { n: 1 } });
      });
      k.registerProcess('agent', entry, { options: { queue: 7 } });
      k.mount('/', (_req, res) => res.end('ok'));
    });
    try {
      assert.equal(s.kernel.metrics, undefined);
      assert.equal(await get(s.url + '/'), 200);
      // The background process starts at listening: wait for its first message.
      const proc = s.kernel.processModel.background!.running.get('agent')!;
      proc.child!.once('message', () => ready());
      await started;
      const status = await s.kernel.collectStatus();
      assert.equal(status.kernel, Kernel.version);
      const [me, agent] = status.processes;
      assert.equal(me!.role, 'single');
      assert.equal(me!.requests, undefined, 'no counters unless a plugin asks for them');
      assert.deepEqual(me!.sections, [{ name: 'x', title: 'X', data: { n: 1 } }]);
      assert.equal(agent!.id, 'agent');
      assert.equal(agent!.role, 'background');
      assert.equal(agent!.pid, proc.pid);
      assert.equal(agent!.restarts, 0);
      assert.deepEqual(agent!.sections[0]!.data as any, { queue: 7 });
      assert.throws(() => s.kernel.enableMetrics(), { code: 'SKT_KERNEL_PHASE' });
    } finally {
      await s.stop();
    }
  },
);

test('traceparent: trace ids from global ids, outgoing headers keep the incoming trace id, tracestate and flags', () => {
  assert.equal(traceIdOf('4bf92f3577b34da6a3ce929d0e0e4736'), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.match(traceIdOf('GTID-abc-1'), /^[0-9a-f]{32}$/);
  assert.equal(traceIdOf('GTID-abc-1'), traceIdOf('GTID-abc-1'));
  assert.notEqual(traceIdOf('GTID-abc-1'), traceIdOf('GTID-abc-2'));
  // A fresh global id is a trace id itself, never all zeros, and each one is new.
  const ids = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const id = nextGlobalId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.notEqual(id, '0'.repeat(32));
    assert.equal(traceIdOf(id), id);
    ids.add(id);
  }
  assert.equal(ids.size, 600);
  // After a fresh id, a foreign one is still hashed, and the same way as before.
  assert.equal(traceIdOf('GTID-abc-1'), createHash('sha256').update('GTID-abc-1').digest('hex').slice(0, 32));
  const fake = {
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', tracestate: 'k=v' },
  } as any;
  assert.deepEqual(traceHeaders(fake, 'whatever', '2001'), {
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000002001-00',
    tracestate: 'k=v',
  });
  assert.deepEqual(traceHeaders(undefined, 'GTID-abc-1', '2001'), {
    traceparent: `00-${traceIdOf('GTID-abc-1')}-0000000000002001-01`,
  });
  assert.match(traceHeaders(undefined, 'g', 'not-a-number').traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  // A local id stands as the span id only as 1 to 16 digits, not all zeros.
  const span = (ltxn: string) => traceHeaders(undefined, 'g', ltxn).traceparent.split('-')[2]!;
  assert.equal(span('9999999999999999'), '9999999999999999');
  assert.equal(span('1'), '0000000000000001');
  for (const bad of ['', '0000', '12345678901234567', '12a4', '-123', ' 123']) {
    assert.match(span(bad), /^[0-9a-f]{16}$/, bad);
    assert.notEqual(span(bad), '0000000000000000', bad);
    assert.notEqual(span(bad), bad.padStart(16, '0'), bad);
  }
});
