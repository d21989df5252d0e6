// HTTP/1.1 details over raw sockets, byte for byte: absolute-form targets, Host values,
// parser-level errors with Date and Server, HTTP versions, transfer codings, refused upgrades
// whose clients reset, and static-file redirects and If-Range.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { rawRequest, startKernel, tempDir, type Started } from '../../test-support/http.js';

// Every exchange here ends with the server's close; the quiet period is only a backstop.
const send = (port: number, data: string | Buffer) => rawRequest(port, data, 10_000);

const SERVER = /^Skitai\/\d+\.\d+\.\d+$/;

function assertStamped(r: { headers: Record<string, string> }): void {
  assert.match(r.headers.server ?? '', SERVER);
  assert.ok(!Number.isNaN(Date.parse(r.headers.date ?? '')), `a Date header: ${r.headers.date}`);
}

async function withEcho(fn: (s: Started) => Promise<void>, setup?: (k: Started['kernel']) => void): Promise<void> {
  const s = await startKernel((k) => {
    k.mount('/', (req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
      });
      req.on('end', () =>
        res.end(JSON.stringify({ url: req.url, originalUrl: req.originalUrl, host: req.headers.host, bytes: n })),
      );
    });
    setup?.(k);
  });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

describe('request line and Host', () => {
  test('absolute-form targets are served by their path; the authority must match Host', () =>
    withEcho(async (s) => {
      const ok = await send(
        s.port,
        'GET http://a.example/hello?x=1 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n',
      );
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body.toString()), {
        url: '/hello?x=1',
        originalUrl: '/hello?x=1',
        host: 'a.example',
        bytes: 0,
      });
      const port = await send(
        s.port,
        'GET HTTP://A.Example:80 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n',
      );
      assert.equal(port.status, 200, 'scheme and host case-insensitive, the default port is no port');
      assert.equal(JSON.parse(port.body.toString()).url, '/');
      const other = await send(s.port, 'GET http://b.example/hello HTTP/1.1\r\nHost: a.example\r\n\r\n');
      assert.equal(other.status, 400);
      assert.equal(other.closed, true);
      assertStamped(other);
      const userinfo = await send(s.port, 'GET http://u@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n');
      assert.equal(userinfo.status, 400);
      const odd = await send(s.port, 'GET ftp://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n');
      assert.equal(odd.status, 400);
    }));

  test('a Host that is not host[:port] is refused with 400; IP literals and ports pass', () =>
    withEcho(async (s) => {
      for (const host of ['a.example', 'a.example:8080', '127.0.0.1:1', '[::1]:8080', 'xn--bcher-kva.example']) {
        const r = await send(s.port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        assert.equal(r.status, 200, host);
      }
      for (const host of ['exa mple.com', 'a.example:80x', 'a/b', 'a.example:80:81', 'user@a.example', '[::1', 'a"b']) {
        const r = await send(s.port, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        assert.equal(r.status, 400, host);
        assert.equal(r.closed, true);
        assertStamped(r);
      }
    }));

  test('HTTP/2.0 (or any version but 1.x) on an HTTP/1 connection: 505', () =>
    withEcho(async (s) => {
      const r = await send(s.port, 'GET / HTTP/2.0\r\nHost: a.example\r\n\r\n');
      assert.equal(r.status, 505);
      assert.match(r.raw.toString('latin1'), /^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
      assertStamped(r);
      const ok = await send(s.port, 'GET / HTTP/1.0\r\nHost: a.example\r\n\r\n');
      assert.equal(ok.status, 200);
    }));

  test('a transfer coding other than chunked: 501, the handler never sees the body', () =>
    withEcho(async (s) => {
      const body = '5\r\nhello\r\n0\r\n\r\n';
      const r = await send(s.port, `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body}`);
      assert.equal(r.status, 501);
      assert.equal(r.closed, true);
      const ok = await send(
        s.port,
        `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body.toString()).bytes, 5);
    }));
});

describe("node's parser errors carry Date and Server", () => {
  test('400 for a malformed request, 431 for oversized headers', () =>
    withEcho(async (s) => {
      const bad = await send(s.port, 'GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n');
      assert.match(bad.raw.toString('latin1'), /^HTTP\/1\.1 400 Bad Request\r\n/);
      assertStamped(bad);
      assert.equal(bad.closed, true);
      const garbage = await send(
        s.port,
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
      );
      assert.equal(garbage.status, 400);
      assertStamped(garbage);
      const big = await send(s.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
      assert.match(big.raw.toString('latin1'), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      assertStamped(big);
    }));

  test('408 for headers that never finish (the headers timeout)', () =>
    withEcho(
      async (s) => {
        const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ', 10_000);
        assert.match(r.raw.toString('latin1'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
        assertStamped(r);
        assert.equal(r.closed, true);
      },
      (k) => k.setHeadersTimeout(1),
    ));
});

test('an upgrade socket carries an error listener: a write after the client reset is no crash', async () => {
  const taken: Array<(socket: net.Socket) => void> = [];
  const s = await startKernel((k) => {
    k.mount('/', (_req, res) => res.end('alive'));
    k.hooks.upgrade.tap('test', (_req, socket) => {
      taken.shift()?.(socket as net.Socket);
      return true; // ours: refused below, once the client is gone
    });
  });
  try {
    for (let i = 0; i < 20; i++) {
      const serverSide = new Promise<net.Socket>((resolve) => taken.push(resolve));
      const client = net.connect(s.port, '127.0.0.1', () =>
        client.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
      );
      client.on('error', () => undefined);
      const socket = await serverSide;
      const clientClosed = new Promise((resolve) => client.once('close', resolve));
      client.resetAndDestroy();
      await clientClosed;
      const serverClosed = new Promise((resolve) => socket.once('close', resolve));
      // The refusal meets the reset: EPIPE or ECONNRESET on the server's socket.
      socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      socket.write(Buffer.alloc(256 * 1024));
      await serverClosed;
    }
    const r = await send(s.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(r.body.toString(), 'alive');
  } finally {
    await s.stop();
  }
});

test("the kernel's own upgrade refusals: 404, 400 and 500 with Date and Server, then the close", async () => {
  const s = await startKernel((k) => {
    k.hooks.upgrade.tap('test', (req) => {
      if (req.url === '/throw') throw new Error('refused by throwing');
      return undefined;
    });
  });
  const up = (p: string, extra = '') =>
    `GET ${p} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`;
  try {
    for (const [request, status] of [
      [up('/none'), 404],
      [up('/throw'), 500],
      [up('/none', 'Host: b\r\n'), 400],
      [up('http://elsewhere/none'), 400],
      [up('/none', 'Transfer-Encoding: gzip, chunked\r\n'), 501],
    ] as const) {
      const r = await send(s.port, request);
      assert.equal(r.status, status, request);
      assertStamped(r);
      assert.equal(r.closed, true);
    }
  } finally {
    await s.stop();
  }
});

describe('static files', () => {
  const root = tempDir('skitai-conf-');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'index.html'), '<p>sub</p>');
  fs.writeFileSync(path.join(root, 'data.txt'), '0123456789');

  test('GET //sub redirects to /sub/, never to //sub/ (another host to a browser)', async () => {
    const s = await startKernel((k) => k.mount('/', root));
    try {
      for (const target of ['//sub', '///sub', '/sub']) {
        const r = await send(s.port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
        assert.equal(r.status, 301, target);
        assert.equal(r.headers.location, '/sub/', target);
      }
    } finally {
      await s.stop();
    }
  });

  test('If-Range with a weak ETag never matches (the whole file); with Last-Modified it does (206)', async () => {
    const s = await startKernel((k) => k.mount('/', root));
    try {
      const full = await send(s.port, 'GET /data.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      const etag = full.headers.etag!;
      assert.match(etag, /^W\//);
      const weak = await send(
        s.port,
        `GET /data.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-3\r\nIf-Range: ${etag}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(weak.status, 200);
      assert.equal(weak.body.toString(), '0123456789');
      const dated = await send(
        s.port,
        `GET /data.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-3\r\nIf-Range: ${full.headers['last-modified']}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(dated.status, 206);
      assert.equal(dated.body.toString(), '0123');
    } finally {
      await s.stop();
    }
  });
});

test('the send timeout leaves a handler that is slow to answer alone, and still closes idle keep-alive connections', async () => {
  let answer: (() => void) | undefined;
  const s = await startKernel((k) => {
    k.setSendTimeout(0.3);
    k.setKeepAlive(0.3);
    k.mount('/', (_req, res) => {
      // Answers once the test says so: past the send timeout, nothing written before.
      answer = () => res.end('late but whole');
    });
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    // The socket's timer fires (a server 'timeout' event) while the handler has not answered.
    const timedOut = new Promise((resolve) => s.kernel.server!.once('timeout', resolve));
    await timedOut;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(socket.destroyed, false, 'the connection of a slow handler stays open');
    answer!();
    // Then the answer, and the idle keep-alive connection is closed by the keep-alive timeout.
    await closed;
    const text = Buffer.concat(chunks).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /late but whole$/);
  } finally {
    await s.stop();
  }
});
