// The bench's per-request latency (bench/lib/load.mjs): h2load over HTTP/1.1 with its
// per-request log, read into p50, p99 and max with every request counted once. The server here
// holds one request in twenty for 40 ms (5 % of the requests), so a p99 that every request
// feeds must be at least 40 ms and the p50 far below it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { benchLib, missingTool } from '../support/bench.js';

const load: any = await benchLib('load.mjs');

const noH2load = missingTool('h2load', 'nghttp2-client', 'the test over a real server');

test('perRequestLatency reads every line of the log once and skips what is not a request', () => {
  const lines = [];
  for (let i = 1; i <= 200; i++) lines.push(`1764560000000000\t200\t${i * 1000}`);
  const lat = load.perRequestLatency(['garbage', '', ...lines, 'x\ty\tz', ''].join('\n'));
  assert.equal(lat.n, 200);
  assert.equal(lat.p50ms, 101);
  assert.equal(lat.p99ms, 199);
  assert.equal(lat.maxMs, 200);
  assert.ok(Number.isNaN(load.perRequestLatency('').p99ms));
});

test('h2Load over HTTP/1.1 gives the p99 of every request and leaves no log behind', { skip: noH2load }, async () => {
  let n = 0;
  const server = http.createServer((_req, res) => {
    const answer = () => res.end('ok');
    if (++n % 20 === 0) setTimeout(answer, 40);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('skitai-bench-h2load-')).length;
  try {
    const r = await load.h2Load({ url: `http://127.0.0.1:${port}/`, seconds: 1, connections: 4, h1: true });
    assert.equal(r.errors, 0);
    assert.ok(r.total > 100, `${r.total} requests`);
    assert.ok(r.p99ms >= 40, `p99 ${r.p99ms} ms`);
    assert.ok(r.p50ms < 20, `p50 ${r.p50ms} ms`);
    assert.ok(r.maxMs >= r.p99ms);
  } finally {
    server.close();
    server.closeAllConnections();
  }
  const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('skitai-bench-h2load-')).length;
  assert.equal(after, before);
});
