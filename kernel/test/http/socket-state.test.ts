// The kernel's fields on a connection's socket: all set when it opens, in one order, whatever
// happens to it later (a request, a send-timeout sweep); and a finished response is not kept
// reachable from its idle keep-alive connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createHttpServer, sweepSendTimeouts } from '../../src/http/server.js';
import { responseOf } from '../../src/http/socket-state.js';
import type { SkitaiResponse } from '../../src/http/response.js';
import { startKernel, testServerSettings } from '../../test-support/http.js';

/** One keep-alive request on `client`, resolved with the answer's bytes once they are all in. */
function ask(client: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (got.endsWith('ok')) {
        client.off('data', onData);
        resolve(got);
      }
    };
    client.on('data', onData);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

test("a socket's kernel fields come in one order: a sweep before the first request does not reorder them", async () => {
  const { server } = createHttpServer(testServerSettings, (_req, res) => {
    res.writeHead(200, { 'content-length': 2 });
    res.end('ok');
  });
  const accepted: net.Socket[] = [];
  server.on('connection', (s: net.Socket) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const a = net.connect(port, '127.0.0.1');
  const b = net.connect(port, '127.0.0.1');
  try {
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    while (accepted.length < 2) await once(server, 'connection');
    // The first is swept while idle, then serves a request; the second serves one, then is swept.
    sweepSendTimeouts(server, [accepted[0]!], 60_000, 0);
    assert.match(await ask(a), /^HTTP\/1\.1 200/);
    assert.match(await ask(b), /^HTTP\/1\.1 200/);
    sweepSendTimeouts(server, [accepted[1]!], 60_000, 0);
    const kernelKeys = (s: net.Socket) =>
      Object.getOwnPropertySymbols(s)
        .map(String)
        .filter((k) => k.startsWith('Symbol(skitai.'));
    assert.deepEqual(kernelKeys(accepted[0]!), [
      'Symbol(skitai.response)',
      'Symbol(skitai.moved)',
      'Symbol(skitai.since)',
    ]);
    assert.deepEqual(kernelKeys(accepted[1]!), kernelKeys(accepted[0]!));
  } finally {
    a.destroy();
    b.destroy();
    server.close();
  }
});

test('an idle keep-alive connection holds no finished response', async () => {
  let served: { socket: net.Socket; res: SkitaiResponse; during: unknown } | undefined;
  const s = await startKernel((k) =>
    k.mount('/', (req, res) => {
      served = { socket: req.socket, res, during: responseOf(req.socket) };
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    }),
  );
  const client = net.connect(s.port, '127.0.0.1');
  try {
    await once(client, 'connect');
    assert.match(await ask(client), /^HTTP\/1\.1 200/);
    const { socket, res, during } = served!;
    assert.equal(during, res, 'marked in flight while it is served');
    // 'close' follows node's detaching the finished response from its connection.
    if (!res.closed) await once(res, 'close');
    assert.equal(socket.destroyed, false, 'the connection is kept alive');
    assert.equal(responseOf(socket), undefined);
  } finally {
    client.destroy();
    await s.stop();
  }
});
