// kernel.setTransport(): a plugin owns the listening socket and feeds the kernel's HTTP/1.1
// server and request path; the kernel binds it, counts its connections and stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Kernel, initRequestFields } from '../../src/index.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

class H2Request extends http2.Http2ServerRequest {
  constructor(stream: any, headers: any, options: any, raw: any) {
    super(stream, headers, options, raw);
    initRequestFields(this as any);
  }
}

test("a transport that sniffs each connection: HTTP/1.1 to the kernel's server, h2c to node:http2, one request path", async (t) => {
  const kernel = new Kernel();
  const calls: string[] = [];
  let closed = 0;
  kernel.setTransport((ctx) => {
    calls.push('factory');
    assert.equal(ctx.settings.maxClientBodySize, 32 * 1024 * 1024);
    const h2 = http2.createServer({ Http2ServerRequest: H2Request as any });
    h2.on('request', ctx.dispatch as any);
    const sessions = new Set<http2.Http2Session>();
    h2.on('session', (s) => {
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    const server = net.createServer((socket) => {
      socket.once('data', (first) => {
        socket.pause();
        socket.unshift(first);
        if (first.toString('latin1').startsWith('PRI ')) h2.emit('connection', socket);
        else {
          ctx.serveHttp1(socket);
          process.nextTick(() => socket.resume());
        }
      });
    });
    return {
      server,
      scheme: 'http',
      connections: () => sessions.size,
      close: () => {
        closed++;
        for (const s of sessions) s.close();
      },
      destroy: () => {},
    };
  }, 'test transport');
  assert.throws(
    () =>
      kernel.setTransport(() => {
        throw new Error('unused');
      }, 'second'),
    { code: 'SKT_TRANSPORT_DUPLICATE', message: /test transport set it, second asked/ },
  );
  kernel.mount('/', (req, res) => {
    res.end(`${req.httpVersion} ${req.url} ${(req as any).originalUrl}`);
  });
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  t.after(() => kernel.stop());
  assert.throws(
    () =>
      kernel.setTransport(() => {
        throw new Error('unused');
      }),
    { code: 'SKT_KERNEL_PHASE' },
  );
  assert.deepEqual(calls, ['factory']);

  assert.deepEqual(await get(port, '/one?x'), { status: 200, body: '1.1 /one?x /one?x' });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': '/two' });
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (b += d));
    req.on('end', () => resolve(b));
    req.on('error', reject);
  });
  assert.equal(body, '2.0 /two /two');
  session.close();
  await kernel.stop();
  assert.equal(closed, 1, 'stop closed the transport');
});
