// Limits: message size (1009), fragments (1008), per-message deflate, keep-alive pings,
// backpressure both ways, and the graceful stop (1001).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { App } from '@skitai/app';
import { wsRoute, websocketServer } from '../src/index.js';
import { once, open, raw, serve, sleep, waitUntil, withTimeout } from '../test-support/helpers.js';

function echoApp(config = {}) {
  const app = new App();
  app.route(
    '/echo',
    wsRoute(config, (_was, m) => m),
  );
  return app;
}

describe('limits', { timeout: 60_000 }, () => {
  test('a message over maxMessageSize closes the socket with 1009; one at the limit passes', async () => {
    const s = await serve([['/', echoApp()]], { maxMessageSize: 1024 });
    try {
      const c = await open(`${s.url}/echo`);
      c.send('a'.repeat(1024));
      assert.equal(String(await c.nth(0)).length, 1024);
      c.send('b'.repeat(1025));
      const { code } = await c.waitClosed();
      assert.equal(code, 1009);
    } finally {
      await s.close();
    }
  });

  test('too many fragments in one message: 1008; a few fragments are one message', async () => {
    const s = await serve([['/', echoApp()]], { maxFragments: 4 });
    try {
      const c = await open(`${s.url}/echo`);
      for (const part of ['a', 'b', 'c']) c.ws.send(part, { fin: false });
      c.ws.send('d', { fin: true });
      assert.equal(String(await c.nth(0)), 'abcd');
      for (let i = 0; i < 6; i++) c.ws.send('x', { fin: false });
      c.ws.send('y', { fin: true });
      assert.equal((await c.waitClosed()).code, 1008);
    } finally {
      await s.close();
    }
  });

  test('per-message deflate: off by default, on when configured', async () => {
    const off = await serve([['/', echoApp()]]);
    const on = await serve([['/', echoApp()]], { perMessageDeflate: true });
    try {
      const a = await open(`${off.url}/echo`, { perMessageDeflate: true });
      assert.equal(a.ws.extensions, '');
      const b = await open(`${on.url}/echo`, { perMessageDeflate: true });
      assert.match(b.ws.extensions, /permessage-deflate/);
      b.send('z'.repeat(10_000));
      assert.equal(String(await b.nth(0)), 'z'.repeat(10_000));
      a.terminate();
      b.terminate();
    } finally {
      await off.close();
      await on.close();
    }
  });

  test('keep-alive: an idle client is pinged, then closed (1001) when no pong comes; a client that answers stays', async () => {
    const s = await serve([['/', echoApp({ keepAlive: 0.3 })]], { pingTimeout: 0.3 });
    try {
      // Times are taken from before the handshake: the server's timers start at its accept, later.
      const t0 = Date.now();
      const silent = await open(`${s.url}/echo`, { autoPong: false });
      const polite = await open(`${s.url}/echo`);
      const pings: number[] = [];
      silent.ws.on('ping', () => pings.push(Date.now() - t0));
      const { code, reason } = await silent.waitClosed(3000);
      const closedAt = Date.now() - t0;
      assert.equal(pings.length, 1, 'one ping before the close');
      assert.ok(pings[0]! >= 290, `pinged after the keep-alive timeout (${pings[0]} ms)`);
      assert.ok(closedAt >= 590, `closed a ping timeout after the ping (${closedAt} ms)`);
      assert.equal(code, 1001);
      assert.equal(reason, 'keep-alive timeout');
      // Waits for something not to happen: 600 ms is a keep-alive and a ping timeout again.
      await sleep(600);
      assert.equal(polite.ws.readyState, polite.ws.OPEN, 'answering pings keeps a socket open');
      polite.send('still here');
      assert.equal(String(await polite.nth(0)), 'still here');
      polite.terminate();
    } finally {
      await s.close();
    }
  });

  test('keep-alive: a client that keeps sending is not pinged; the ping follows its last message by the keep-alive', async () => {
    const s = await serve([['/', echoApp({ keepAlive: 0.3 })]], { pingTimeout: 5 });
    try {
      const c = await open(`${s.url}/echo`, { autoPong: false });
      const pings: number[] = [];
      c.ws.on('ping', () => pings.push(Date.now()));
      let last = 0;
      for (let i = 0; i < 8; i++) {
        c.send(`m${i}`);
        last = Date.now();
        await sleep(100); // a client that keeps sending, 3 times a keep-alive
      }
      await c.waitFor(8);
      assert.equal(pings.length, 0, 'no ping while messages come');
      if (pings.length === 0) await once(c.ws, 'ping', 2000, 'the ping once the messages stopped');
      assert.equal(pings.length, 1, 'pinged once the messages stopped');
      assert.ok(pings[0]! - last >= 290, `pinged a keep-alive after the last message (${pings[0]! - last} ms)`);
      c.terminate();
    } finally {
      await s.close();
    }
  });

  test("backpressure 'close': a client that stops reading is cut once maxBufferedAmount is queued", async (t) => {
    const app = new App();
    const result = { sent: 0, refusedAt: -1 };
    const chunk = Buffer.alloc(64 * 1024, 7);
    app.route(
      '/flood',
      wsRoute({}, (was) => {
        for (let i = 0; i < 4000; i++) {
          if (!was.websocket.send(chunk)) {
            result.refusedAt = i;
            break;
          }
          result.sent++;
        }
      }),
    );
    const s = await serve([['/', app]], { maxBufferedAmount: 256 * 1024 });
    try {
      const c = await open(`${s.url}/flood`);
      c.ws.pause(); // stop reading: the server's writes back up
      c.send('go');
      await waitUntil(() => result.refusedAt > 0, 2000, 'a send refused', 10);
      assert.ok(result.sent < 4000, `the server stopped queueing (${result.sent} x 64 KiB sent)`);
      t.diagnostic(`${result.sent} x 64 KiB handed to the socket (kernel buffers + 256 KiB) before the cut`);
      const server = websocketServer(s.kernel)!;
      assert.equal(server.stats.cut, 1);
      assert.equal(server.connections.size, 0, 'the connection is gone on the server');
      c.ws.resume();
      const { code } = await c.waitClosed(5000);
      assert.equal(code, 1006, 'the client sees the connection cut (no close frame)');
    } finally {
      await s.close();
    }
  });

  test("backpressure 'drop': messages over the limit are dropped, the connection stays", async () => {
    const app = new App();
    let dropped = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    app.route(
      '/flood',
      wsRoute({}, (was, m: string) => {
        if (m !== 'go') return `pong ${m}`;
        for (let i = 0; i < 400; i++) if (!was.websocket.send(chunk)) dropped++;
        return undefined;
      }),
    );
    const s = await serve([['/', app]], { maxBufferedAmount: 256 * 1024, backpressure: 'drop' });
    try {
      const c = await open(`${s.url}/flood`);
      c.ws.pause();
      c.send('go');
      await waitUntil(() => dropped > 0, 2000, 'sends over the limit dropped', 10);
      assert.equal(websocketServer(s.kernel)!.stats.dropped, dropped);
      c.ws.resume();
      const binaries = () => c.messages.filter((m) => Buffer.isBuffer(m)).length;
      await c.waitFor(400 - dropped, 5000);
      assert.equal(binaries(), 400 - dropped, 'every message not dropped arrived');
      c.send('1');
      assert.equal(String(await c.nth(400 - dropped)), 'pong 1', 'the connection still works');
      c.terminate();
    } finally {
      await s.close();
    }
  });

  test('inbound: reading pauses while maxPendingMessages wait for a slow handler, and resumes', async () => {
    const app = new App();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    app.route(
      '/slow',
      wsRoute({ mode: 'simple' }, async (_was, m: string) => {
        await gate;
        return `done ${m}`;
      }),
    );
    let releaseTs!: () => void;
    const gateTs = new Promise<void>((r) => {
      releaseTs = r;
    });
    app.route(
      '/slow-ts',
      wsRoute({ mode: 'threadsafe' }, async (_was, m: string) => {
        await gateTs;
        return `ts ${m}`;
      }),
    );
    const s = await serve([['/', app]], { maxPendingMessages: 4 });
    try {
      // Threadsafe: handlers run concurrently, and reading pauses all the same.
      const t = await open(`${s.url}/slow-ts`);
      for (let i = 0; i < 50; i++) t.send(String(i));
      const server0 = websocketServer(s.kernel)!;
      const tconn = [...server0.connections.values()].find((x) => x.req.originalUrl === '/slow-ts')!;
      await waitUntil(() => tconn.ws.isPaused, 2000, 'threadsafe: the server to stop reading', 5);
      releaseTs();
      assert.equal((await t.waitFor(50, 5000)).length, 50);
      t.terminate();

      const c = await open(`${s.url}/slow`);
      for (let i = 0; i < 50; i++) c.send(String(i));
      const server = websocketServer(s.kernel)!;
      const conn = [...server.connections.values()].find((x) => x.req.originalUrl === '/slow')!;
      await waitUntil(() => conn.ws.isPaused, 2000, 'the server to stop reading', 5);
      release();
      const all = await c.waitFor(50, 5000);
      assert.deepEqual(
        all.map(String),
        Array.from({ length: 50 }, (_, i) => `done ${i}`),
      );
      assert.equal(conn.ws.isPaused, false);
      c.terminate();
    } finally {
      await s.close();
    }
  });

  test('a handler that neither accepts nor answers: 408 after handshakeTimeout', async () => {
    const s = await serve(
      [
        [
          '/',
          () => {
            /* never answers */
          },
        ],
      ],
      { handshakeTimeout: 0.3 },
    );
    try {
      const t0 = Date.now();
      const r = await raw(
        s.port,
        'GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        3000,
      );
      assert.match(r.text, /^HTTP\/1\.1 408 /);
      assert.ok(r.closed, 'the connection is closed');
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(websocketServer(s.kernel)!.pending.size, 0);
    } finally {
      await s.close();
    }
  });

  test('graceful stop: open sockets get 1001, a client that never answers is cut after closeTimeout', async () => {
    const app = new App();
    const closes: number[] = [];
    app.route(
      '/echo',
      wsRoute(
        {},
        {
          message: (_w, m) => m,
          close: (_w, _a, code) => {
            closes.push(code);
          },
        },
      ),
    );
    const s = await serve([['/', app]], { closeTimeout: 0.5 });
    const clients = await Promise.all([1, 2, 3].map(() => open(`${s.url}/echo`)));
    // A raw client: completes the handshake, then never reads nor answers the close frame.
    const mute = net.connect(s.port, '127.0.0.1');
    mute.on('error', () => undefined);
    mute.write(
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise((r) => mute.once('data', r));
    const muteClosed = new Promise((r) => mute.once('close', r));
    const t0 = Date.now();
    await withTimeout(s.kernel.stop(), 5000, 'kernel.stop()');
    const took = Date.now() - t0;
    for (const c of clients) assert.equal((await c.waitClosed(1000)).code, 1001);
    await withTimeout(muteClosed, 2000, 'the mute client cut');
    assert.ok(took >= 400 && took < 3000, `stop waited for the close timeout, not longer (${took} ms)`);
    assert.equal(closes.filter((c) => c === 1001).length, 3, 'close handlers ran with 1001');
  });
});
