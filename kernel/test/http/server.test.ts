import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { once, waitForLine } from '@skitai/test-support';
import { rawRequest, request, sleep, startKernel } from '../../test-support/http.js';
import { sendTyped } from '../../src/index.js';

const big = 'x'.repeat(5000);

test('Server and Date headers on every response, errors included', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('ok')));
  try {
    for (const path of ['/', '/anything']) {
      const r = await request(`${s.url}${path}`);
      assert.match(String(r.headers.server), /^Skitai\/\d+\.\d+\.\d+$/);
      assert.ok(!Number.isNaN(Date.parse(String(r.headers.date))));
    }
  } finally {
    await s.stop();
  }
});

test('writeHead with a header list: Server added once unless the list or setHeader has it, repeats kept', async () => {
  const s = await startKernel((k) =>
    k.mount('/', (req, res) => {
      if (req.url === '/flat')
        res.writeHead(200, ['X-A', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Length', '2']);
      else if (req.url === '/pairs')
        res.writeHead(200, [
          ['X-A', '1'],
          ['Content-Length', '2'],
        ] as any);
      else if (req.url === '/own') res.writeHead(200, ['x-a', '1', 'SERVER', 'mine', 'content-length', '2']);
      else {
        res.setHeader('Server', 'set');
        res.writeHead(200, ['x-a', '1', 'content-length', '2']);
      }
      res.end('ok');
    }),
  );
  try {
    const servers = (raw: Buffer) => raw.toString('latin1').match(/^server: .*$/gim) ?? [];
    const flat = await rawRequest(s.port, 'GET /flat HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(flat.status, 200);
    assert.equal(flat.body.toString(), 'ok');
    assert.equal(servers(flat.raw).length, 1);
    assert.match(flat.headers.server!, /^Skitai\/\d+\.\d+\.\d+$/);
    assert.equal(flat.raw.toString('latin1').match(/^set-cookie: .*$/gim)?.length, 2);
    const pairs = await rawRequest(s.port, 'GET /pairs HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(pairs.headers['x-a'], '1');
    assert.match(pairs.headers.server!, /^Skitai\//);
    const own = await rawRequest(s.port, 'GET /own HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.deepEqual(servers(own.raw), ['SERVER: mine']);
    const set = await rawRequest(s.port, 'GET /set HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(set.headers.server, 'set');
    assert.equal(servers(set.raw).length, 1);
    assert.equal(set.headers['x-a'], '1');
  } finally {
    await s.stop();
  }
});

test('nothing mounted answers 404, as HTML or as JSON by Accept', async () => {
  const s = await startKernel(() => {});
  try {
    const html = await request(`${s.url}/missing`);
    assert.equal(html.status, 404);
    assert.match(String(html.headers['content-type']), /text\/html/);
    assert.match(html.body.toString(), /<h1>404 Not Found<\/h1>/);
    const json = await request(`${s.url}/missing`, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.deepEqual(JSON.parse(json.body.toString()), { code: 404, message: '/missing was not found on this server' });
  } finally {
    await s.stop();
  }
});

test('a handler that throws gives 500, with the traceback only in debug mode', async () => {
  const s = await startKernel((k) => {
    k.mount('/', async () => {
      throw new Error('boom secret');
    });
  }, {});
  try {
    const r = await request(`${s.url}/`, { headers: { accept: 'application/json' } });
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.body.toString(), /boom secret/);
    s.kernel.debug = true;
    const d = await request(`${s.url}/`, { headers: { accept: 'application/json' } });
    assert.equal(d.status, 500);
    assert.match(JSON.parse(d.body.toString()).detail, /Error: boom secret\n\s+at /);
  } finally {
    await s.stop();
  }
});

test('two Host headers are refused with 400 and the connection closed', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('served')));
  try {
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n');
    assert.equal(r.status, 400);
    assert.doesNotMatch(r.body.toString(), /served/);
    assert.ok(r.closed);
  } finally {
    await s.stop();
  }
});

test('two Host headers in any case, among other headers, are refused with 400', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('served')));
  try {
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nhOsT: a.example\r\nAccept: */*\r\nHOST: b.example\r\n\r\n');
    assert.equal(r.status, 400);
    assert.doesNotMatch(r.body.toString(), /served/);
  } finally {
    await s.stop();
  }
});

test('a Host value is checked on every request: a valid one seen before does not let an invalid one through', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('served')));
  try {
    const good = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: good.example:8080\r\n\r\n');
    assert.equal(good.status, 200);
    const again = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: good.example:8080\r\n\r\n');
    assert.equal(again.status, 200);
    const bad = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: good.example:80x\r\n\r\n');
    assert.equal(bad.status, 400);
    assert.doesNotMatch(bad.body.toString(), /served/);
  } finally {
    await s.stop();
  }
});

test('Content-Length beside Transfer-Encoding is refused with 400', async () => {
  let reached = false;
  const s = await startKernel((k) =>
    k.mount('/', (_req, res) => {
      reached = true;
      res.end('served');
    }),
  );
  try {
    const r = await rawRequest(
      s.port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    assert.equal(r.status, 400);
    assert.ok(r.closed);
    assert.equal(reached, false);
    assert.doesNotMatch(r.raw.toString(), /served/);
  } finally {
    await s.stop();
  }
});

test('a request without Host is refused with 400', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('served')));
  try {
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(r.status, 400);
  } finally {
    await s.stop();
  }
});

test('a body over maxClientBodySize: 413 before reading it, and the connection closed', async () => {
  let reached = 0;
  const s = await startKernel((k) => {
    k.setMaxClientBodySize(1000);
    k.mount('/', (req, res) => {
      reached++;
      req.resume();
      req.on('end', () => res.end('took it'));
    });
  });
  try {
    const ok = await request(`${s.url}/`, { method: 'POST', body: 'a'.repeat(1000) });
    assert.equal(ok.status, 200);
    // Declared too large: answered from the head alone.
    const declared = await rawRequest(s.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n');
    assert.equal(declared.status, 413);
    assert.ok(declared.closed, 'connection closed after 413');
    // Chunked: counted as it arrives.
    const chunk = 'a'.repeat(600);
    const chunked = await rawRequest(
      s.port,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.equal(chunked.status, 413);
    assert.ok(chunked.closed);
    // The chunked request reached its handler, but its body never ended there.
    assert.equal(reached, 2);
  } finally {
    await s.stop();
  }
});

test('a chunked body that grows without end is not buffered: 413 and close', async () => {
  const s = await startKernel((k) => {
    k.setMaxClientBodySize(64 * 1024);
    k.mount('/', (req, res) => {
      req.resume();
      req.on('end', () => res.end('done'));
    });
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    let answer = '';
    let closed = false;
    socket.on('data', (d) => {
      answer += d.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    const gone = once(socket, 'close', 5000, 'the server closing the connection');
    const piece = `4000\r\n${'z'.repeat(0x4000)}\r\n`;
    // Each piece once the last one left (a write's callback), until the server closes.
    for (let i = 0; i < 200 && !closed; i++) await new Promise((r) => socket.write(piece, r));
    await gone;
    assert.match(answer, /^HTTP\/1\.1 413/);
    assert.ok(closed, 'the server closed the connection');
    socket.destroy();
  } finally {
    await s.stop();
  }
});

test('Expect: 100-continue: 100 then the answer; over the limit 413 without 100', async () => {
  const s = await startKernel((k) => {
    k.setMaxClientBodySize(100);
    k.mount('/', (req, res) => {
      let n = 0;
      req.on('data', (c) => {
        n += c.length;
      });
      req.on('end', () => res.end(`got ${n}`));
    });
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await waitForLine(socket, /100 Continue/, 5000);
    assert.match(text, /^HTTP\/1\.1 100 Continue/);
    socket.write('hello');
    await waitForLine(socket, /got 5/, 5000);
    assert.match(text, /HTTP\/1\.1 200 OK[\s\S]*got 5/);
    socket.destroy();
    const refused = await rawRequest(
      s.port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n',
    );
    assert.equal(refused.status, 413);
    assert.doesNotMatch(refused.raw.toString(), /100 Continue/);
  } finally {
    await s.stop();
  }
});

test('HEAD gets the head of GET without a body', async () => {
  const s = await startKernel((k) =>
    k.mount('/', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end('twelve bytes');
    }),
  );
  try {
    const r = await rawRequest(s.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '12');
    assert.equal(r.raw.toString().split('\r\n\r\n')[1], '');
  } finally {
    await s.stop();
  }
});

test('gzip for text and JSON over 2 KiB when accepted; not for small bodies, other types, or without Accept-Encoding', async () => {
  const s = await startKernel((k) => {
    k.mount('/', (req, res) => {
      if (req.url === '/json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ big }));
      } else if (req.url === '/small') {
        res.setHeader('content-type', 'text/plain');
        res.end('tiny');
      } else if (req.url === '/typed') {
        // A ready head: writeHead gets a flat [name, value, ...] list.
        sendTyped(req, res, 202, 'text/plain', 'typed');
      } else if (req.url === '/list') {
        res.writeHead(200, [
          ['Content-Type', 'text/plain'],
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
        ]);
        res.end(big);
      } else if (req.url === '/png') {
        res.setHeader('content-type', 'image/png');
        res.end(big);
      } else {
        res.setHeader('content-type', 'text/plain');
        res.write(big.slice(0, 2500));
        res.end(big.slice(2500));
      }
    });
  });
  try {
    const gz = { 'accept-encoding': 'gzip, deflate' };
    const json = await request(`${s.url}/json`, { headers: gz });
    assert.equal(json.headers['content-encoding'], 'gzip');
    assert.match(String(json.headers.vary), /Accept-Encoding/i);
    assert.deepEqual(JSON.parse(zlib.gunzipSync(json.body).toString()), { big });
    const streamed = await request(`${s.url}/text`, { headers: gz });
    assert.equal(streamed.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(streamed.body).toString(), big);
    // A head given as a list keeps its fields through the gzip decision.
    const typed = await request(`${s.url}/typed`, { headers: gz });
    assert.equal(typed.status, 202);
    assert.equal(typed.headers['content-type'], 'text/plain');
    assert.equal(typed.headers['content-length'], '5');
    assert.equal(typed.headers['content-encoding'], undefined);
    assert.equal(typed.body.toString(), 'typed');
    const list = await request(`${s.url}/list`, { headers: gz });
    assert.equal(list.headers['content-encoding'], 'gzip');
    assert.equal(list.headers['content-type'], 'text/plain');
    assert.deepEqual(list.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(zlib.gunzipSync(list.body).toString(), big);
    const small = await request(`${s.url}/small`, { headers: gz });
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.body.toString(), 'tiny');
    const png = await request(`${s.url}/png`, { headers: gz });
    assert.equal(png.headers['content-encoding'], undefined);
    const plain = await request(`${s.url}/json`);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(JSON.parse(plain.body.toString()).big, big);
    const refused = await request(`${s.url}/json`, { headers: { 'accept-encoding': 'gzip;q=0' } });
    assert.equal(refused.headers['content-encoding'], undefined);
  } finally {
    await s.stop();
  }
});

test('error pages over 2 KiB are gzipped too (the kernel writes them)', async () => {
  const s = await startKernel((k) =>
    k.mount('/', async () => {
      throw new Error('e'.repeat(3000));
    }),
  );
  try {
    s.kernel.debug = true;
    const r = await request(`${s.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 500);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(zlib.gunzipSync(r.body).toString(), /e{3000}/);
  } finally {
    await s.stop();
  }
});

test('keep-alive: one connection serves several requests, then closes when idle past setKeepAlive', async () => {
  const s = await startKernel((k) => {
    k.setKeepAlive(1);
    k.mount('/', (req, res) => res.end(`n${req.url}`));
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    let text = '';
    let closedAt = 0;
    socket.on('data', (d) => {
      text += d.toString();
    });
    const gone = once(socket, 'close', 3000, 'the keep-alive timeout closing the connection');
    socket.on('close', () => {
      closedAt = Date.now();
    });
    socket.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitForLine(socket, /n\/1$/, 5000);
    socket.write('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitForLine(socket, /n\/2$/, 5000);
    assert.equal(text.match(/HTTP\/1\.1 200/g)?.length, 2);
    assert.match(text, /Keep-Alive: timeout=1/);
    const idleFrom = Date.now();
    await gone;
    assert.ok(closedAt > 0, 'closed after the keep-alive timeout');
    assert.ok(closedAt - idleFrom >= 800 && closedAt - idleFrom < 2900, `closed after ${closedAt - idleFrom} ms`);
  } finally {
    await s.stop();
  }
});

test('Connection: close is honoured', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('bye')));
  try {
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2000);
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    assert.ok(r.closed);
  } finally {
    await s.stop();
  }
});

test('slowloris: headers that never finish get 408 and the connection closed after the headers timeout', async () => {
  const s = await startKernel((k) => {
    k.setHeadersTimeout(1);
    k.mount('/', (_req, res) => res.end('ok'));
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    let text = '';
    let closed = false;
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const began = Date.now();
    // Trickle a header line now and then, as a slowloris client does (pacing, not waiting).
    for (let i = 0; i < 70 && !closed; i++) {
      if (i % 5 === 0 && socket.writable) socket.write(`X-Slow-${i}: 1\r\n`);
      await sleep(50);
    }
    assert.ok(closed, 'closed');
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - began < 3500);
  } finally {
    await s.stop();
  }
});

test('a body that arrives too slowly is cut at the request timeout', async () => {
  const s = await startKernel((k) => {
    k.setRequestTimeout(1);
    k.setHeadersTimeout(1);
    k.mount('/', (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    let text = '';
    let closed = false;
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    const gone = once(socket, 'close', 3500, 'the request timeout closing the connection');
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    await gone;
    assert.ok(closed, 'closed');
    assert.match(text, /^HTTP\/1\.1 408/);
  } finally {
    await s.stop();
  }
});

test('graceful stop: in-flight requests finish, idle keep-alive sockets close, new connections are refused', async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => {
    release = r;
  });
  let arrived!: () => void;
  const slowArrived = new Promise<void>((r) => {
    arrived = r;
  });
  const s = await startKernel((k) => {
    k.mount('/', async (req, res) => {
      if (req.url === '/slow') {
        arrived();
        await slow;
      }
      res.end(`done ${req.url}`);
    });
  });
  // An idle keep-alive connection.
  const idle = net.connect(s.port, '127.0.0.1');
  let idleClosed = false;
  idle.on('close', () => {
    idleClosed = true;
  });
  const idleGone = once(idle, 'close', 5000, 'the idle keep-alive connection closing');
  idle.resume();
  idle.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitForLine(idle, /done \/quick$/, 5000);
  const inflight = request(`${s.url}/slow`);
  await slowArrived;
  const stopped = s.stop();
  await idleGone;
  assert.ok(idleClosed, 'the idle keep-alive connection was closed');
  await assert.rejects(request(`${s.url}/new`), /ECONNREFUSED/);
  release();
  const r = await inflight;
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'done /slow');
  assert.equal(r.headers.connection, 'close');
  await stopped;
  assert.equal(s.kernel.state, 'stopped');
});

test('graceful stop: what is still running after the deadline is destroyed', async () => {
  const s = await startKernel((k) => {
    k.setStopDeadline(0.3);
    k.mount('/', () => {
      arrived(); /* never answers */
    });
  });
  let arrived!: () => void;
  const hanging = new Promise<void>((r) => {
    arrived = r;
  });
  const pending = request(`${s.url}/hang`).then(
    () => 'answered',
    (err) => err.code,
  );
  await hanging;
  const began = Date.now();
  await s.stop();
  assert.ok(Date.now() - began < 2000);
  assert.equal(await pending, 'ECONNRESET');
});

test('a port already in use fails start with a clear message', async () => {
  const s = await startKernel(() => {});
  try {
    const { Kernel } = await import('../../src/index.js');
    const other = new Kernel();
    await assert.rejects(other.start({ address: '127.0.0.1', port: s.port }), {
      code: 'SKT_LISTEN_FAILED',
      message: `cannot listen on 127.0.0.1:${s.port}: the address is already in use`,
    });
  } finally {
    await s.stop();
  }
});

test('an upgrade nobody takes gets 404; one with two Host headers 400; the server lives on', async () => {
  const s = await startKernel((k) => k.mount('/', (_req, res) => res.end('alive')));
  try {
    const nobody = await rawRequest(
      s.port,
      'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(nobody.status, 404);
    const twoHosts = await rawRequest(
      s.port,
      'GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(twoHosts.status, 400);
    assert.equal((await request(`${s.url}/`)).body.toString(), 'alive');
  } finally {
    await s.stop();
  }
});

test('an upgrade tap that takes the socket owns it', async () => {
  const s = await startKernel((k) => {
    k.hooks.upgrade.tap('echo', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      socket.on('data', (d) => socket.write(d));
      return true;
    });
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.write('GET /e HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitForLine(socket, /\r\n\r\n$/, 5000);
    socket.write('ping');
    await waitForLine(socket, /ping$/, 5000);
    assert.match(text, /^HTTP\/1\.1 101[\s\S]*ping$/);
    socket.destroy();
  } finally {
    await s.stop();
  }
});

test('CONNECT nobody takes gets 405 and the server lives on; a connect tap owns the socket', async () => {
  const plain = await startKernel((k) => k.mount('/', (_req, res) => res.end('alive')));
  try {
    const refused = await rawRequest(plain.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assert.equal(refused.status, 405);
    assert.equal(refused.closed, true);
    assert.equal((await request(`${plain.url}/`)).body.toString(), 'alive');
  } finally {
    await plain.stop();
  }

  const seen: string[] = [];
  const s = await startKernel((k) => {
    k.hooks.connect.tap('tunnel', (req, socket, head) => {
      seen.push(req.url!);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) socket.write(head);
      socket.on('data', (d) => socket.write(d));
      return true;
    });
  });
  try {
    const socket = net.connect(s.port, '127.0.0.1');
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      socket.on('error', reject);
      socket.on('data', (d) => {
        got += d.toString();
        if (got.includes('\r\n\r\n') && !got.endsWith('ping')) socket.write('ping');
        if (got.endsWith('ping')) resolve(got);
      });
      socket.write('CONNECT backend.test:443 HTTP/1.1\r\nHost: backend.test:443\r\n\r\n');
    });
    assert.match(text, /^HTTP\/1\.1 200 Connection Established\r\n\r\nping$/);
    assert.deepEqual(seen, ['backend.test:443']);
    socket.destroy();
  } finally {
    await s.stop();
  }
});
