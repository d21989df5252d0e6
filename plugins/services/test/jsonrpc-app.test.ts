// was.jsonrpc calls the JSON-RPC routes of an App served by Skitai (the client sends
// application/json; the App takes it as a call where no route is).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { App } from '@skitai/app';
import { services, servicesOf } from '../src/index.js';

test("was.jsonrpc to our own App's JSON-RPC routes", async () => {
  const app = new App();
  app.route('/rpc/add', { params: ['a', 'b'] }, async (_was, { a, b }) => Number(a) + Number(b));
  const kernel = new Kernel().use(services());
  kernel.mount('/', app);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    const rpc = servicesOf(kernel).context().rpc('jsonrpc');
    const r = await rpc(`http://127.0.0.1:${port}/rpc`).add(20, 22);
    assert.equal(r.status, 'done', String(r.error));
    assert.equal(r.data, 42);
  } finally {
    await kernel.stop();
  }
});
