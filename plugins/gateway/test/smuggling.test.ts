import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '@skitai/test-support';
import { raw, responses, startBackend, startGateway } from '../test-support/helpers.js';

// Each attack is written byte for byte on a fresh connection. The member records every byte it
// receives: a smuggled request would show up there as a second request line.
const attacks: Array<[string, string]> = [
  [
    'CL.TE',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'TE.CL',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2e\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n\r\n0\r\n\r\n',
  ],
  [
    'two Content-Length',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'obs-fold Transfer-Encoding',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nContent-Length: 44\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'obs-fold header',
    'GET /members/a HTTP/1.1\r\nHost: gw\r\nX-Folded: one\r\n two\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'Transfer-Encoding not ending in chunked',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'obfuscated Transfer-Encoding',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'space before colon',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
  [
    'bare LF in chunk size',
    'POST /members/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\nGET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n',
  ],
];

test('request smuggling is refused at the gateway (400 or 501) and the connection closed; nothing reaches the member', async () => {
  const b = await startBackend();
  const g = await startGateway({ members: [b.member] });
  try {
    for (const [name, bytes] of attacks) {
      const r = await raw(g.port, bytes);
      assert.equal(r.closed, true, `${name}: the connection is closed`);
      // 400, or 501 for a transfer coding other than chunked; whatever bytes follow are refused too.
      const statuses = responses(r.text);
      assert.ok(
        statuses.length >= 1 && statuses.every((s) => s === 400 || s === 501),
        `${name}: refused, nothing answered (${JSON.stringify(r.text.slice(0, 60))})`,
      );
    }
    assert.equal(b.seen.length, 0);
    assert.equal(b.raw(), '', 'the member received no byte');
    assert.equal((await request(`${g.url}/members/after`)).status, 200, 'the gateway serves on');
  } finally {
    await g.stop();
    await b.close();
  }
});

test('a request line inside a verified chunked body stays body: the member gets one request, re-framed', async () => {
  const b = await startBackend();
  const g = await startGateway({ members: [b.member] });
  try {
    const inner = 'GET /members/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n';
    const bytes = `POST /members/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
    const r = await raw(g.port, bytes);
    assert.deepEqual(responses(r.text), [200]);
    assert.equal(b.seen.length, 1);
    assert.equal(b.seen[0]!.url, '/a');
    assert.equal(b.seen[0]!.body.toString(), inner);
    // The member read one request line, the proxy's own; the inner one only as chunk data.
    assert.match(b.raw(), /^POST \/a HTTP\/1\.1\r\n/);
    assert.ok(b.raw().endsWith(`\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`));
    // Pipelined requests are answered one by one, each as its own upstream request.
    const two = await raw(
      g.port,
      'GET /members/one HTTP/1.1\r\nHost: gw\r\n\r\nGET /members/two HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(responses(two.text), [200, 200]);
    assert.deepEqual(
      b.seen.slice(1).map((s) => s.url),
      ['/one', '/two'],
    );
  } finally {
    await g.stop();
    await b.close();
  }
});

test('rude clients do not crash the gateway: resets mid-upload, half-closed sockets, garbage bytes', async () => {
  const b = await startBackend();
  const g = await startGateway({ members: [b.member] });
  try {
    await raw(g.port, Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]));
    const net = await import('node:net');
    await new Promise<void>((resolve) => {
      const s = net.connect(g.port, '127.0.0.1', () => {
        s.write('POST /members/a HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\n\r\nsome');
        s.resetAndDestroy();
        resolve();
      });
    });
    await new Promise<void>((resolve) => {
      const s = net.connect(g.port, '127.0.0.1', () => s.end('GET /members/half HTTP/1.1\r\nHost: gw\r\n\r\n'));
      s.on('data', () => {});
      s.on('close', () => resolve());
    });
    assert.equal((await request(`${g.url}/members/after`)).status, 200);
  } finally {
    await g.stop();
    await b.close();
  }
});
