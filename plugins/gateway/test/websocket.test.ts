import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { raw, startGateway } from '../test-support/helpers.js';

/** A member with a ws echo server; records each upgrade's path and headers. */
async function wsMember() {
  const server = http.createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  const upgrades: Array<{ url: string; headers: http.IncomingHttpHeaders }> = [];
  wss.on('connection', (ws, req) => {
    upgrades.push({ url: req.url!, headers: req.headers });
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    member: `127.0.0.1:${port}`,
    upgrades,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

function roundTrip(ws: WebSocket, data: string | Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    ws.once('message', (d) => resolve(d as Buffer));
    ws.send(data);
  });
}

test('a WebSocket on a proxied mount is tunnelled to a member: text and binary echo, prefix off, forwarding headers on', async () => {
  const m = await wsMember();
  const g = await startGateway({ members: [m.member] });
  try {
    const ws = await open(`ws://127.0.0.1:${g.port}/members/echo?room=1`);
    assert.equal((await roundTrip(ws, 'hello through the gateway')).toString(), 'hello through the gateway');
    const big = Buffer.alloc(1 << 20, 7);
    assert.ok((await roundTrip(ws, big)).equals(big));
    const closed = new Promise((r) => ws.once('close', r));
    ws.close(1000, 'bye');
    await closed;
    assert.equal(m.upgrades[0]!.url, '/echo?room=1');
    assert.equal(m.upgrades[0]!.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(m.upgrades[0]!.headers.host, m.member);
    assert.match(String(m.upgrades[0]!.headers['x-gtxn-id']), /^[0-9a-f]{32}$/);
    // Upgrades outside the proxied mounts are not the gateway's: the kernel answers 404.
    const outside = await raw(
      g.port,
      'GET /elsewhere HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(outside.text, /^HTTP\/1\.1 404/);
  } finally {
    await g.stop();
    await m.close();
  }
});

test('WebSocket upgrades get the token, role and source checks; a dead member gives 502', async () => {
  const m = await wsMember();
  const g = await startGateway({
    members: [m.member],
    aliasOptions: { role: 'admin' },
    options: {
      authorizer: {
        handleToken: (_req, token) =>
          token === 'admin-token-123'
            ? { user: 'root', roles: ['admin'] }
            : token === 'user-token-1234'
              ? { user: 'u', roles: [] }
              : undefined,
      },
    },
  });
  const dead = await startGateway({ members: ['127.0.0.1:1'] });
  const fenced = await startGateway({ members: [m.member], aliasOptions: { source: '10.0.0.0/8' } });
  try {
    await assert.rejects(open(`ws://127.0.0.1:${g.port}/members/echo`), /status 401/);
    await assert.rejects(
      open(`ws://127.0.0.1:${g.port}/members/echo`, { authorization: 'Bearer user-token-1234' }),
      /status 403/,
    );
    const ws = await open(`ws://127.0.0.1:${g.port}/members/echo`, { authorization: 'Bearer admin-token-123' });
    assert.equal((await roundTrip(ws, 'ok')).toString(), 'ok');
    ws.terminate();
    await assert.rejects(open(`ws://127.0.0.1:${dead.port}/members/echo`), /status 502/);
    await assert.rejects(open(`ws://127.0.0.1:${fenced.port}/members/echo`), /status 403/);
    assert.equal(m.upgrades.length, 1);
  } finally {
    await g.stop();
    await dead.stop();
    await fenced.stop();
    await m.close();
  }
});

test('a WebSocket tunnel is an open connection of the kernel: a stop waits for it and closes it at the stop deadline', async (t) => {
  const m = await wsMember();
  const g = await startGateway({ members: [m.member], setup: (k) => k.setStopDeadline(2) });
  try {
    const ws = await open(`ws://127.0.0.1:${g.port}/members/echo`);
    assert.equal((await roundTrip(ws, 'before the stop')).toString(), 'before the stop');
    // The client's connection left node:http's count when it upgraded; the tunnel counts it.
    assert.equal(g.kernel.openConnections(), 1);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    let stopped = false;
    const stopping = g.kernel.stop().then(() => {
      stopped = true;
    });
    t.mock.timers.tick(1950);
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'the stop waits for the tunnel');
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal((await roundTrip(ws, 'during the stop')).toString(), 'during the stop');
    t.mock.timers.tick(50);
    assert.equal(await closed, 1006, 'cut at the stop deadline');
    await stopping;
    assert.equal(g.kernel.openConnections(), 0);
  } finally {
    t.mock.timers.reset();
    await g.stop();
    await m.close();
  }
});

test('a stop ends as soon as the last tunnel closes', async (t) => {
  const m = await wsMember();
  const g = await startGateway({ members: [m.member] });
  try {
    const ws = await open(`ws://127.0.0.1:${g.port}/members/echo`);
    await roundTrip(ws, 'x');
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    let stopped = false;
    const stopping = g.kernel.stop().then(() => {
      stopped = true;
    });
    t.mock.timers.tick(500);
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.close(1000, 'bye');
    assert.equal(await closed, 1000);
    while (!stopped) {
      // The drain looks every 50 ms: let it look until it sees no connection left.
      t.mock.timers.tick(50);
      await new Promise((r) => setImmediate(r));
    }
    await stopping;
  } finally {
    t.mock.timers.reset();
    await g.stop();
    await m.close();
  }
});
