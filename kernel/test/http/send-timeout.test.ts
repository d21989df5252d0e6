// The send timeout's sweep, pass by pass with explicit clock values, over real connections:
// idle ones are closed, moving ones kept, a stuck send reset, and each is announced first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { sweepSendTimeouts } from '../../src/http/server.js';

/** A connected pair: [the accepted (server-side) socket, the client socket]. */
async function pair(): Promise<{ server: net.Server; accepted: net.Socket; client: net.Socket }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  accepted.on('error', () => undefined);
  return { server, accepted, client };
}

test('an idle connection is announced and closed once no byte moved for a whole timeout', async () => {
  const { server, accepted, client } = await pair();
  const httpServer = http.createServer();
  const announced: net.Socket[] = [];
  httpServer.on('timeout', (s: net.Socket) => announced.push(s));
  try {
    sweepSendTimeouts(httpServer, [accepted], 1000, 0);
    sweepSendTimeouts(httpServer, [accepted], 1000, 999);
    assert.equal(accepted.destroyed, false);
    assert.equal(announced.length, 0);
    sweepSendTimeouts(httpServer, [accepted], 1000, 1000);
    assert.equal(accepted.destroyed, true);
    assert.deepEqual(announced, [accepted]);
  } finally {
    client.destroy();
    server.close();
  }
});

test('bytes read in between count as progress: the timeout starts again', async () => {
  const { server, accepted, client } = await pair();
  const httpServer = http.createServer();
  try {
    sweepSendTimeouts(httpServer, [accepted], 1000, 0);
    client.write('x');
    await once(accepted, 'data');
    sweepSendTimeouts(httpServer, [accepted], 1000, 1500);
    assert.equal(accepted.destroyed, false, 'moved since the last pass');
    sweepSendTimeouts(httpServer, [accepted], 1000, 2499);
    assert.equal(accepted.destroyed, false);
    sweepSendTimeouts(httpServer, [accepted], 1000, 2500);
    assert.equal(accepted.destroyed, true);
  } finally {
    client.destroy();
    server.close();
  }
});

test('a send stuck with bytes queued (the client stopped reading) is reset, not closed', async () => {
  const { server, accepted, client } = await pair();
  const httpServer = http.createServer();
  try {
    client.pause();
    const chunk = Buffer.alloc(1 << 20);
    // Fill the socket buffers of both ends until node queues bytes of its own.
    while (accepted.write(chunk)) {
      /* until back-pressure */
    }
    assert.ok(accepted.writableLength > 0);
    sweepSendTimeouts(httpServer, [accepted], 1000, 0);
    sweepSendTimeouts(httpServer, [accepted], 1000, 1000);
    assert.equal(accepted.destroyed, true);
    const reset = new Promise<string | undefined>((resolve) => {
      client.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      client.once('close', () => resolve(undefined));
    });
    client.resume(); // the client sees the reset when it reads again
    assert.equal(await reset, 'ECONNRESET');
  } finally {
    client.destroy();
    server.close();
  }
});
