import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Kernel } from '@skitai/kernel';
import { http2 as h2 } from '@skitai/http2';
import { statusPage } from '../src/index.js';
import { parseMetrics, request, sampleValue } from '../test-support/helpers.js';

test('HTTP/2 responses (h2c through @skitai/http2) are counted like HTTP/1.1 ones', async () => {
  const kernel = new Kernel().use(h2({ h2c: true }));
  kernel.mount('/', (_req, res) => {
    res.writeHead(201, { 'content-type': 'text/plain' });
    res.end('made');
  });
  kernel.mount('/status', statusPage());
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    for (let i = 0; i < 3; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const r = client.request({ ':path': '/' });
        let code = 0;
        r.on('response', (h) => {
          code = Number(h[':status']);
        });
        r.on('error', reject);
        r.resume();
        r.on('end', () => resolve(code));
      });
      assert.equal(status, 201);
    }
    await new Promise<void>((resolve) => client.close(() => resolve()));
    const reply = await request(port, '/status/metrics');
    const m = parseMetrics(reply.body);
    assert.equal(sampleValue(m, 'skitai_http_responses_total', { process: 'M', code: '201' }), 3);
    assert.match(reply.body, /^skitai_http_request_duration_seconds_count\{process="M"\} 3$/m);
  } finally {
    await kernel.stop();
  }
});
