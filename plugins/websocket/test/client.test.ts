// was.ws / was.wss: WebSocket calls from handlers to backend servers and aliases.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';
import { selfSignedCert, tempDir } from '@skitai/test-support';
import { App } from '@skitai/app';
import { services, servicesOf } from '@skitai/services';
import { connect, WsClosedError, WsTimeoutError } from '../src/index.js';
import { freePort, serve, type Served } from '../test-support/helpers.js';

describe('was.ws client', { timeout: 30_000 }, () => {
  let backend: WebSocketServer;
  let backendPort: number;
  let deadPort: number;
  let s: Served;
  const paths: string[] = [];

  before(async () => {
    // A bare ws backend: echoes with the path, stays silent on "quiet", closes on "bye".
    backend = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => backend.once('listening', r));
    backendPort = (backend.address() as net.AddressInfo).port;
    backend.on('connection', (ws, req) => {
      paths.push(req.url ?? '');
      ws.on('message', (data, isBinary) => {
        const text = data.toString();
        if (text === '"quiet"' || text === 'quiet') return;
        if (text === 'bye') return ws.close(4000, 'bye');
        ws.send(
          isBinary
            ? data
            : text.startsWith('{')
              ? JSON.stringify({ path: req.url, got: JSON.parse(text) })
              : `${req.url} ${text}`,
        );
      });
    });
    deadPort = await freePort();

    const app = new App();
    app.route('/direct', async (was) => {
      const c = await was.ws(`ws://127.0.0.1:${backendPort}/direct`);
      const reply = await c.request('hi', 2);
      await c.close();
      return reply;
    });
    app.route('/alias', async (was) => {
      const c = await was.ws('@echo/v1/socket', { encoding: 'json' });
      await c.send({ n: 1 });
      const reply = await c.receive(2);
      await c.close();
      return reply;
    });
    app.route('/timeout', async (was) => {
      const c = await was.ws(`ws://127.0.0.1:${backendPort}/t`);
      await c.send('quiet');
      try {
        await c.receive(0.2);
        return 'no timeout';
      } catch (err) {
        return err instanceof WsTimeoutError ? 'timeout' : `other: ${err}`;
      } finally {
        await c.close();
      }
    });
    app.route('/closed', async (was) => {
      const c = await was.ws(`ws://127.0.0.1:${backendPort}/c`);
      await c.send('bye');
      try {
        await c.receive(2);
        return 'no error';
      } catch (err) {
        return err instanceof WsClosedError ? `closed ${err.closeCode}` : `other: ${err}`;
      }
    });
    app.route('/down', async (was) => {
      try {
        await was.ws('@down/x');
        return 'connected';
      } catch (err) {
        return `failed: ${(err as Error).message}`;
      }
    });
    s = await serve([['/', app]], {}, (k) => {
      // The dead member first: fail-over to the live one.
      k.use(services()).alias('@echo', 'ws', [`127.0.0.1:${deadPort}`, `127.0.0.1:${backendPort}`]);
      k.alias('@down', 'ws', [`127.0.0.1:${deadPort}`]);
    });
  });
  after(async () => {
    await s.close();
    await new Promise((r) => backend.close(r));
  });

  const get = async (path: string) => (await fetch(`http://127.0.0.1:${s.port}${path}`)).text();

  test('a URL: send, receive, close', async () => {
    assert.equal(await get('/direct'), '/direct hi');
  });

  test('an alias: a member is picked, an unreachable one is skipped, JSON both ways', async () => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(JSON.parse(await get('/alias')), { path: '/v1/socket', got: { n: 1 } });
    }
    assert.ok(paths.filter((p) => p === '/v1/socket').length >= 3);
    const [dead, live] = servicesOf(s.kernel).getAlias('@echo').members;
    assert.ok(dead!.failures >= 1, 'the unreachable member was tried and set aside');
    assert.equal(live!.failures, 0);
  });

  test('receive with a timeout; a close while waiting', async () => {
    const t0 = Date.now();
    assert.equal(await get('/timeout'), 'timeout');
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(await get('/closed'), 'closed 4000');
  });

  test('an alias whose every member is down fails with a reason', async () => {
    assert.match(await get('/down'), /^failed: .*@down/);
  });

  test('was.wss to a TLS backend (an alias with its CA); an unverifiable certificate is refused', async () => {
    const dir = tempDir('skitai-wss-');
    const { cert, key } = selfSignedCert(dir);
    const tlsServer = https.createServer({ cert, key });
    const secure = new WebSocketServer({ server: tlsServer });
    secure.on('connection', (ws) => ws.on('message', (d) => ws.send(`secure ${d}`)));
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    const port = (tlsServer.address() as net.AddressInfo).port;
    const k = await serve(
      [
        [
          '/',
          (() => {
            const app = new App();
            app.route('/wss', async (was) => {
              const c = await was.wss('@secure/x');
              const reply = await c.request('hello', 2);
              await c.close();
              return reply;
            });
            app.route('/unverified', async (was) => {
              try {
                await was.wss(`127.0.0.1:${port}/x`, { timeout: 2 });
                return 'connected';
              } catch (err) {
                return `refused: ${(err as Error).message}`;
              }
            });
            return app;
          })(),
        ],
      ],
      {},
      (kernel) => {
        kernel.use(services()).alias('@secure', 'wss', `127.0.0.1:${port}`, { tls: { ca: cert } });
      },
    );
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${k.port}/wss`)).text(), 'secure hello');
      assert.match(
        await (await fetch(`http://127.0.0.1:${k.port}/unverified`)).text(),
        /^refused: .*(self.signed|certificate)/i,
      );
    } finally {
      await k.close();
      for (const c of secure.clients) c.terminate();
      await new Promise((r) => tlsServer.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('connect() outside requests, and wss refused by a plain server', async () => {
    const c = await connect(`127.0.0.1:${backendPort}/bare`);
    assert.equal(await c.request('x', 2), '/bare x');
    await c.close();
    await assert.rejects(connect(`127.0.0.1:${backendPort}/tls`, { timeout: 2 }, undefined, true));
  });
});
