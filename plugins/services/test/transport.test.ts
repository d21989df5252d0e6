// The undici transport: how failures are classified, rude backends, streamed answers, headers,
// the connect timeout against a queue, and the pools' status.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Kernel, SkitaiError } from '@skitai/kernel';
import { CallError, services as servicesPlugin } from '../src/index.js';
import { echo, fileFixtures } from '../test-support/services-helpers.js';

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});
const { backend, newServices } = fileFixtures();

/** A raw TCP peer: `onSocket` gets every connection (and what it sent first, when `read`). */
async function rawServer(
  onSocket: (socket: net.Socket) => void,
): Promise<{ address: string; connections: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    n++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => n };
}

test('rude backends: garbage bytes, a body cut short, a chunked body never ended: errors, never a crash', async () => {
  const garbage = await rawServer((socket) =>
    socket.once('data', () => socket.end('\x00\x01 not http at all\r\n\r\n')),
  );
  const cut = await rawServer((socket) =>
    socket.once('data', () =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\nonly a part'),
    ),
  );
  const reset = await rawServer((socket) =>
    socket.once('data', () =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'),
    ),
  );
  const s = newServices();
  s.alias('@garbage', 'http', garbage.address);
  const get = s.context().http('GET');
  const bad = await get('@garbage/x');
  assert.equal(bad.status, 'error');
  assert.ok(bad.error instanceof CallError);
  assert.equal((bad.error as CallError).kind, 'response', bad.error.message);
  assert.equal(
    s.getAlias('@garbage').members[0]!.failures,
    0,
    'a bad answer is an answer: the member stays in service',
  );

  const short = await get(`http://${cut.address}/x`);
  assert.equal(short.status, 'error');
  assert.equal((short.error as CallError).kind, 'response');
  assert.equal((short.error as SkitaiError).code, 'SKT_BACKEND_RESPONSE');

  const broken = await get(`http://${reset.address}/x`);
  assert.equal(broken.status, 'error');
  assert.equal((broken.error as CallError).kind, 'response');

  // streamed: the break reaches the reader as a stream error
  const streamed = await get(`http://${reset.address}/s`, { stream: true });
  assert.equal(streamed.status, 'done');
  await assert.rejects(
    async () => {
      for await (const _ of streamed.body as AsyncIterable<Buffer>) {
        /* read */
      }
    },
    { code: 'SKT_BACKEND_RESPONSE' },
  );
});

test('a header undici refuses fails the call with SKT_BACKEND_REQUEST and sets no member aside', async () => {
  const b = await backend('headers');
  const s = newServices();
  s.alias('@h', 'http', b.address);
  const r = await s
    .context()
    .http('GET')
    .lb('@h/x', { headers: { 'x-bad': 'a\r\nb' } });
  assert.equal(r.status, 'error');
  assert.equal((r.error as CallError).kind, 'request');
  assert.equal((r.error as SkitaiError).code, 'SKT_BACKEND_REQUEST');
  assert.equal(s.getAlias('@h').members[0]!.failures, 0);
  assert.equal(b.received.length, 0);
  assert.equal((await s.context().http('GET')('@h/y')).statusCode, 200);
});

test('response headers as node:http gives them; a streamed gzip answer is decoded with back-pressure', async () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 'z');
  const b = await backend('head', (req, res) => {
    if (req.url === '/gz') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      return res.end(zlib.gzipSync(big));
    }
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.setHeader('x-list', ['one', 'two']);
    res.setHeader('content-type', 'text/plain');
    return res.end('ok');
  });
  const get = newServices().context().http('GET');
  const r = await get(`http://${b.address}/h`);
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(r.headers['x-list'], 'one, two');
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.data, 'ok');

  const streamed = await get(`http://${b.address}/gz`, { stream: true });
  let size = 0;
  for await (const chunk of streamed.body as AsyncIterable<Buffer>) size += chunk.length;
  assert.equal(size, big.length);
});

test('a reader that drops a streamed body early closes its connection; the next call gets a fresh one', async () => {
  const chunk = Buffer.alloc(64 * 1024, 'q');
  let open = 0;
  const b = await backend('endless', (req, res) => {
    if (req.url === '/small') {
      echo(req, res, '', b);
      return;
    }
    open++;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) yield chunk;
      })(),
    );
    body.pipe(res);
    res.on('close', () => {
      open--;
      body.destroy();
    });
  });
  const s = newServices();
  s.alias('@endless', 'http', b.address, { maxConnections: 1 });
  const get = s.context().http('GET');
  const r = await get('@endless/big', { stream: true });
  const stream = r.body as Readable;
  await once(stream, 'readable');
  stream.destroy();
  await once(stream, 'close');
  const next = await get('@endless/small');
  assert.equal(next.statusCode, 200);
  assert.equal(b.connections, 2, 'the dropped connection was not reused');
  assert.equal(open, 0);
});

test('connectTimeout: a TLS peer that never answers the handshake is unreachable; a call queued behind a busy connection is not', async () => {
  const silent = await rawServer(() => {
    /* accepts, never speaks */
  });
  const s = newServices();
  s.alias('@silent', 'https', silent.address);
  const started = Date.now();
  const r = await s.context().http('GET')('@silent/x', { connectTimeout: 150, timeout: 5000 });
  assert.equal(r.status, 'error');
  assert.equal((r.error as SkitaiError).code, 'SKT_BACKEND_UNAVAILABLE', 'every member (one) was tried');
  assert.equal(((r.error as Error).cause as CallError).kind, 'connect');
  assert.match(r.error!.message, /no connection within 150 ms/);
  assert.ok(Date.now() - started < 4000);
  assert.equal(s.getAlias('@silent').members[0]!.failures, 1);

  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const b = await backend('one-at-a-time', async (req, res, body, be) => {
    if (req.url === '/hold') {
      arrived();
      await held;
    }
    echo(req, res, body, be);
  });
  s.alias('@one', 'http', b.address, { maxConnections: 1 });
  const get = s.context().http('GET');
  const holding = get('@one/hold');
  await first;
  // queued in the pool far longer than its connectTimeout, then served on the kept-alive connection
  const queued = get('@one/queued', { connectTimeout: 50 });
  const status = s.status() as any;
  const pool = status.aliases.find((a: any) => a.name === '@one').members[0].pool;
  assert.deepEqual(pool, { busy: 1, idle: 0, queued: 1 });
  // the queued call waits four times its connectTimeout before the connection is free (the
  // wait is what is tested: a queued call is not timed out by connectTimeout)
  setTimeout(release, 200);
  assert.equal((await holding).statusCode, 200);
  const r2 = await queued;
  assert.equal(r2.status, 'done', r2.error?.message);
  assert.equal(b.connections, 1);
  assert.equal(s.getAlias('@one').members[0]!.failures, 0);
});

test("the kernel's backend keep-alive reaches pools made after it was set", async () => {
  const b = await backend('ka');
  const kernel = new Kernel().use(servicesPlugin({ wasContext: false })).alias('@ka', 'http', b.address);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    kernel.setBackendKeepAlive(0.1);
    const get = kernel.createWas({ gtxnId: '', ltxnId: '', headers: {} } as any, undefined as any).get;
    assert.equal((await get('@ka/1')).statusCode, 200);
    // the idle connection is closed by the client after 100 ms
    const [socket] = b.open;
    await once(socket!, 'close');
    assert.equal(b.open.size, 0);
  } finally {
    await kernel.stop();
  }
});
