// h2c on the plain port: by prior knowledge (the preface) and by `Upgrade: h2c` (the request
// answered on stream 1), beside HTTP/1.1 on the same port; rude clients end only their socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect, h2request, RawClient, run, serve } from '../test-support/helpers.js';
import { E, F, PREFACE, T, frame, goaway, parseFrames, request, settings } from '../test-support/frames.js';
import { hintPromise } from '../src/index.js';

const echo = (req: any, res: any) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`${req.method} ${req.httpVersion} ${req.url} ${req.headers.host} ${Buffer.concat(chunks).length}`);
  });
};

test('h2c by prior knowledge (curl, node:http2) and HTTP/1.1 on the same port', async (t) => {
  const s = await serve({}, [['/', echo]]);
  t.after(() => s.close());
  assert.equal(s.scheme, 'http');
  const pk = await run('curl', ['-s', '--http2-prior-knowledge', '-w', ' %{http_version}', `${s.origin}/pk`]);
  assert.equal(pk.stdout, `GET 2.0 /pk 127.0.0.1:${s.port} 0 2`);
  const session = await connect(s.origin);
  const answers = await Promise.all(
    [1, 2, 3].map((i) => h2request(session, { ':path': `/n${i}`, ':method': 'POST' }, 'x'.repeat(i * 1000))),
  );
  assert.deepEqual(
    answers.map((a) => a.body.toString()),
    [1, 2, 3].map((i) => `POST 2.0 /n${i} 127.0.0.1:${s.port} ${i * 1000}`),
  );
  session.close();
  const h1 = await run('curl', ['-s', '--http1.1', '-w', ' %{http_version}', `${s.origin}/h1`]);
  assert.equal(h1.stdout, `GET 1.1 /h1 127.0.0.1:${s.port} 0 1.1`);
});

test('Upgrade: h2c with curl --http2: 101, then the request answered on stream 1 over HTTP/2', async (t) => {
  const s = await serve({}, [['/', echo]]);
  t.after(() => s.close());
  const r = await run('curl', ['-sv', '--http2', '-w', ' %{http_version}', `${s.origin}/up?q=1`, `${s.origin}/second`]);
  assert.match(r.stderr, /< HTTP\/1\.1 101 Switching Protocols/);
  assert.match(r.stderr, /< Upgrade: h2c/i);
  assert.equal(r.stdout, `GET 2.0 /up?q=1 127.0.0.1:${s.port} 0 2GET 2.0 /second 127.0.0.1:${s.port} 0 2`);
  // A body travels with the upgrade (RFC 9113 section 3.2: sent whole before the switch).
  const post = await run('curl', [
    '-s',
    '--http2',
    '--data-binary',
    'a'.repeat(5000),
    '-w',
    ' %{http_version}',
    `${s.origin}/post`,
  ]);
  assert.equal(post.stdout, `POST 2.0 /post 127.0.0.1:${s.port} 5000 2`);
});

/** An HTTP/1.1 upgrade request on a raw socket; the HTTP2-Settings payload is empty (no settings). */
function upgradeRequest(path: string, extra = '', body = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
    `HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nAccept: text/plain\r\n${extra}\r\n${body}`
  );
}

test('the upgraded request is answered on stream 1 (raw frames after the 101)', async (t) => {
  const s = await serve({}, [['/', echo]]);
  t.after(() => s.close());
  const raw = await RawClient.connect(s.port);
  raw.socket.write(upgradeRequest('/raw?x=1', 'Content-Length: 3\r\n', 'abc'));
  const head = await raw.until((all) => all.includes('\r\n\r\n'));
  const text = head.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n/);
  const start = text.indexOf('\r\n\r\n') + 4;
  // The client's preface and SETTINGS, as RFC 9113 section 3.2 has it after the 101.
  raw.socket.write(Buffer.concat([PREFACE, settings()]));
  const isDone = (all: Buffer) =>
    parseFrames(all.subarray(start)).some((f) => f.type === T.DATA && f.stream === 1 && (f.flags & F.END_STREAM) !== 0);
  const all = await raw.until(isDone);
  const frames = parseFrames(all.subarray(start));
  assert.equal(frames[0]!.type, T.SETTINGS, 'the server preface comes first');
  assert.ok(
    frames.some((f) => f.type === T.HEADERS && f.stream === 1),
    'a HEADERS frame answers stream 1',
  );
  const body = Buffer.concat(
    frames.filter((f) => f.type === T.DATA && f.stream === 1).map((f) => f.payload),
  ).toString();
  assert.equal(body, 'GET 2.0 /raw?x=1 example.test 3');
  // The client's own streams start at 3 on the switched connection.
  raw.socket.write(request(3, '/next'));
  const after = await raw.until((b) =>
    parseFrames(b.subarray(start)).some((f) => f.type === T.DATA && f.stream === 3 && (f.flags & F.END_STREAM) !== 0),
  );
  const body3 = Buffer.concat(
    parseFrames(after.subarray(start))
      .filter((f) => f.type === T.DATA && f.stream === 3)
      .map((f) => f.payload),
  ).toString();
  assert.equal(body3, 'GET 2.0 /next localhost 0');
  raw.socket.destroy();
});

/** base64url of a SETTINGS payload, as HTTP2-Settings carries it. */
function settingsValue(values: Array<[number, number]>): string {
  return settings(values).subarray(9).toString('base64url');
}

test('HTTP2-Settings applies as if received on the connection: its window and push settings hold for stream 1', async (t) => {
  const page = 'p'.repeat(100);
  const s = await serve({}, [
    [
      '/',
      (req: any, res: any) => {
        const hinted = hintPromise(req, res, '/app.css');
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Pushed': String(hinted.pushed.length) });
        res.end(page);
      },
    ],
  ]);
  t.after(() => s.close());
  const raw = await RawClient.connect(s.port);
  // SETTINGS_ENABLE_PUSH 0 and SETTINGS_INITIAL_WINDOW_SIZE 10, in HTTP2-Settings only: the
  // client's own SETTINGS frame after the preface is empty.
  raw.socket.write(
    upgradeRequest('/page').replace(
      'AAMAAABkAAQAoAAAAAIAAAAA',
      settingsValue([
        [0x2, 0],
        [0x4, 10],
      ]),
    ),
  );
  const head = await raw.until((all) => all.includes('\r\n\r\n'));
  assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
  const start = head.indexOf('\r\n\r\n') + 4;
  raw.socket.write(Buffer.concat([PREFACE, settings()]));
  const frames = (all: Buffer) => parseFrames(all.subarray(start));
  const firstData = parseFrames(
    (await raw.until((b) => frames(b).some((f) => f.type === T.DATA && f.stream === 1))).subarray(start),
  );
  const data = firstData.find((f) => f.type === T.DATA && f.stream === 1)!;
  // A window of 10 bytes: the first DATA frame carries 10 of the 100 bytes, and the stream stays open.
  assert.equal(data.payload.length, 10);
  assert.equal(data.flags & F.END_STREAM, 0);
  assert.ok(!firstData.some((f) => f.type === T.PUSH_PROMISE), 'no push: HTTP2-Settings turned it off');
  assert.equal(
    firstData.filter((f) => f.type === T.HEADERS && f.stream === 1).length,
    2,
    'a 103 Early Hints, then the 200',
  );
  // One SETTINGS ACK, for the one SETTINGS frame the client sent (the 101 acknowledged HTTP2-Settings).
  const more = Buffer.alloc(4);
  more.writeUInt32BE(1000);
  raw.socket.write(frame(T.WINDOW_UPDATE, 0, 1, more));
  const all = frames(
    await raw.until((b) =>
      frames(b).some((f) => f.type === T.DATA && f.stream === 1 && (f.flags & F.END_STREAM) !== 0),
    ),
  );
  assert.equal(
    Buffer.concat(all.filter((f) => f.type === T.DATA && f.stream === 1).map((f) => f.payload)).toString(),
    page,
  );
  assert.equal(all.filter((f) => f.type === T.SETTINGS && (f.flags & F.ACK) !== 0).length, 1);
  assert.equal(goaway(all), undefined);
  raw.socket.destroy();
});

test('a malformed HTTP2-Settings gets 400 in HTTP/1.1, saying why', async (t) => {
  const s = await serve({}, [['/', echo]]);
  t.after(() => s.close());
  const ask = async (value: string) => {
    const raw = await RawClient.connect(s.port);
    raw.socket.write(upgradeRequest('/').replace('AAMAAABkAAQAoAAAAAIAAAAA', value));
    await raw.closed;
    return raw.text;
  };
  assert.match(await ask(settingsValue([[0x2, 2]])), /^HTTP\/1\.1 400 .*SETTINGS_ENABLE_PUSH is 2/s);
  assert.match(await ask(settingsValue([[0x4, 2 ** 31]])), /^HTTP\/1\.1 400 .*SETTINGS_INITIAL_WINDOW_SIZE/s);
  assert.match(await ask(settingsValue([[0x5, 100]])), /^HTTP\/1\.1 400 .*SETTINGS_MAX_FRAME_SIZE is 100/s);
  assert.match(await ask('AAMAAABkAA'), /^HTTP\/1\.1 400 .*6 bytes a setting/s);
  assert.match(
    await ask(settingsValue(Array.from({ length: 65 }, () => [0x3, 100] as [number, number]))),
    /^HTTP\/1\.1 400 .*more than 64 settings/s,
  );
  // An unknown setting is ignored, as in a SETTINGS frame.
  const ok = await RawClient.connect(s.port);
  ok.socket.write(upgradeRequest('/unknown').replace('AAMAAABkAAQAoAAAAAIAAAAA', settingsValue([[0xf0, 7]])));
  assert.match((await ok.until((all) => all.includes('\r\n\r\n'))).toString('latin1'), /^HTTP\/1\.1 101 /);
  ok.socket.destroy();
});

test('upgrades that cannot be made get an HTTP/1.1 answer; rude clients end only their socket', async (t) => {
  const s = await serve({}, [['/', echo]]);
  t.after(() => s.close());
  const ask = async (text: string) => {
    const raw = await RawClient.connect(s.port);
    raw.socket.write(text);
    await raw.closed;
    return raw.text;
  };
  assert.match(
    await ask(upgradeRequest('/', 'HTTP2-Settings: AAAA\r\n')),
    /^HTTP\/1\.1 400 .*exactly one HTTP2-Settings/s,
  );
  assert.match(
    await ask(upgradeRequest('/').replace('AAMAAABkAAQAoAAAAAIAAAAA', '!!!')),
    /^HTTP\/1\.1 400 .*base64url/s,
  );
  assert.match(await ask(upgradeRequest('/', 'Content-Length: 70000\r\n')), /^HTTP\/1\.1 413 /);
  assert.match(await ask(upgradeRequest('/', 'Transfer-Encoding: chunked\r\n', '0\r\n\r\n')), /^HTTP\/1\.1 (411|400) /);
  // After 101, bytes that are not a preface: the HTTP/2 session refuses them with GOAWAY.
  const raw = await RawClient.connect(s.port);
  raw.socket.write(upgradeRequest('/'));
  await raw.until((all) => all.includes('\r\n\r\n'));
  raw.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await raw.closed;
  // After 101, a SETTINGS frame that claims 16 MiB: handed to the session at once (not buffered), which refuses it.
  const huge = await RawClient.connect(s.port);
  huge.socket.write(upgradeRequest('/'));
  await huge.until((all) => all.includes('\r\n\r\n'));
  huge.socket.write(
    Buffer.concat([PREFACE, Buffer.from([0xff, 0xff, 0xff, T.SETTINGS, 0, 0, 0, 0, 0]), Buffer.alloc(100)]),
  );
  const afterHead = (b: Buffer) => b.subarray(b.indexOf('\r\n\r\n') + 4);
  const refused = await huge.until((b) => goaway(parseFrames(afterHead(b))) !== undefined);
  assert.equal(goaway(parseFrames(afterHead(refused))), E.FRAME_SIZE_ERROR, 'GOAWAY for the oversized SETTINGS frame');
  huge.socket.destroy();
  // A partial preface, then silence; a partial preface, then close; garbage.
  const partial = await RawClient.connect(s.port);
  partial.socket.end('PRI * HTTP/2.0\r\n');
  await partial.closed;
  const garbage = await RawClient.connect(s.port);
  garbage.socket.write(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]));
  await garbage.closed;
  const reset = await RawClient.connect(s.port);
  reset.socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  reset.socket.resetAndDestroy();
  await reset.closed;
  // The server still answers both ways.
  const ok = await new Promise<string>((resolve, reject) => {
    http
      .get(`${s.origin}/alive`, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
  assert.equal(ok, `GET 1.1 /alive 127.0.0.1:${s.port} 0`);
  const session = await connect(s.origin);
  assert.equal((await h2request(session, { ':path': '/alive' })).status, 200);
  session.close();
});

test('h2c: false leaves the plain port HTTP/1.1 only', async (t) => {
  const s = await serve({ h2c: false }, [['/', echo]]);
  t.after(() => s.close());
  const pk = await run('curl', ['-s', '--http2-prior-knowledge', `${s.origin}/pk`]);
  assert.notEqual(pk.code, 0);
  const up = await run('curl', ['-s', '--http2', '-w', ' %{http_version}', `${s.origin}/up`]);
  assert.match(up.stdout, / 1\.1$/);
});
