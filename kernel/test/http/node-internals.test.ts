// The private field of node:http the kernel reads (kernel/src/http/node-internals.ts): this
// test fails when Node changes it, before the request log's byte counts go wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { headBytes } from '../../src/http/node-internals.js';

test('node:http keeps the written head as a string: headBytes is its exact size on the wire', async () => {
  let measured = -1;
  let written = 0;
  const server = http.createServer((req, res) => {
    const before = req.socket.bytesWritten;
    res.setHeader('X-Test', 'a value');
    res.flushHeaders();
    // bytesWritten counts what was handed to the socket, buffered or not: the head alone here.
    measured = headBytes(res);
    written = req.socket.bytesWritten - before;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const reply = await fetch(`http://127.0.0.1:${port}/`);
  await reply.text();
  server.close();
  assert.ok(measured > 50, `the head is kept (${measured} bytes)`);
  assert.equal(measured, written, 'headBytes equals what went on the socket before the body');
  assert.equal(headBytes({}), 0);
});
