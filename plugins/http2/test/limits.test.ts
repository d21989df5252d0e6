// Limits: the SETTINGS the plugin announces, a header list over the limit, and connections
// nghttp2 refused (bad frames), which node:http2 leaves half-open, closed at the idle timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, h2request, RawClient, serve } from '../test-support/helpers.js';
import { E, PREFACE, T, frame, goaway, parseFrames, request, settings } from '../test-support/frames.js';

const ok = (_req: any, res: any) => res.end('ok');

test("SETTINGS: max concurrent streams (100 or the option) and the header list size (the kernel's 16 KiB)", async (t) => {
  const s = await serve({}, [['/', ok]]);
  t.after(() => s.close());
  const session = await connect(s.origin);
  t.after(() => session.close());
  await h2request(session, { ':path': '/' });
  assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
  assert.equal(session.remoteSettings.maxHeaderListSize, 16 * 1024);
  assert.equal(session.remoteSettings.enablePush, false);

  const s2 = await serve({ maxConcurrentStreams: 7, maxHeaderListSize: 4096 }, [['/', ok]]);
  t.after(() => s2.close());
  const session2 = await connect(s2.origin);
  t.after(() => session2.close());
  await h2request(session2, { ':path': '/' });
  assert.equal(session2.remoteSettings.maxConcurrentStreams, 7);
  assert.equal(session2.remoteSettings.maxHeaderListSize, 4096);
});

test('a header list over the limit is refused on its stream; the connection goes on', async (t) => {
  const s = await serve({ maxHeaderListSize: 4096 }, [['/', ok]]);
  t.after(() => s.close());
  const raw = await RawClient.connect(s.port);
  t.after(() => raw.socket.destroy());
  raw.socket.write(
    Buffer.concat([PREFACE, settings(), request(1, '/', 'GET', true, [['x-big', 'y'.repeat(8000)]]), request(3, '/')]),
  );
  const frames = parseFrames(await raw.until((b) => parseFrames(b).some((f) => f.type === T.DATA && f.stream === 3)));
  const one = frames.find((f) => f.stream === 1 && (f.type === T.RST_STREAM || f.type === T.HEADERS));
  assert.ok(one, 'stream 1 got an answer or a reset');
  if (one.type === T.RST_STREAM)
    assert.ok([E.REFUSED_STREAM, E.PROTOCOL_ERROR, E.ENHANCE_YOUR_CALM].includes(one.payload.readUInt32BE(0) as any));
  assert.equal(goaway(frames), undefined);
  assert.ok(
    frames.some((f) => f.type === T.DATA && f.stream === 3),
    'stream 3 answered',
  );
});

test('an idle connection gets GOAWAY NO_ERROR after the keep-alive timeout, then closes; a busy one is not cut', async (t) => {
  const s = await serve(
    {},
    [
      ['/', ok],
      [
        '/slow',
        (_req: any, res: any) => {
          res.write('a');
          setImmediate(() => slowEnd.push(() => res.end('b')));
        },
      ],
    ],
    (k) => k.setKeepAlive(0.2),
  );
  const slowEnd: Array<() => void> = [];
  t.after(() => s.close());
  const session = await connect(s.origin);
  const gone = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  assert.equal((await h2request(session, { ':path': '/' })).status, 200);
  assert.equal(await gone, 0, 'GOAWAY NO_ERROR');
  await closed;
  // A stream still open when the session goes idle finishes after the GOAWAY.
  const busy = await connect(s.origin);
  const answer = h2request(busy, { ':path': '/slow/' });
  const goaway2 = new Promise<void>((resolve) => busy.once('goaway', () => resolve()));
  await goaway2;
  assert.equal(slowEnd.length, 1, 'the slow answer is still open');
  for (const end of slowEnd.splice(0)) end();
  assert.equal((await answer).body.toString(), 'ab');
  busy.close();
});

test('a connection refused by nghttp2 (GOAWAY) is closed at the idle timeout, not left open', async (t) => {
  const s = await serve({}, [['/', ok]], (k) => k.setKeepAlive(0.2));
  t.after(() => s.close());
  const raw = await RawClient.connect(s.port);
  // DATA on an idle stream: a connection error; the client then stays silent, socket open.
  raw.socket.write(Buffer.concat([PREFACE, settings(), frame(T.DATA, 0, 1, Buffer.from('x'))]));
  await raw.until((b) => goaway(parseFrames(b)) !== undefined);
  await raw.closed;
  assert.equal(goaway(parseFrames(raw.bytes)), E.PROTOCOL_ERROR);
});

test('rapid reset: 5,000 streams opened and cancelled at once reach few handlers, and the server stays up', async (t) => {
  let handled = 0;
  const s = await serve({}, [
    [
      '/',
      (_req: any, res: any) => {
        handled++;
        res.end('ok');
      },
    ],
  ]);
  t.after(() => s.close());
  const raw = await RawClient.connect(s.port);
  const burst: Buffer[] = [PREFACE, settings()];
  for (let id = 1; id < 10_000; id += 2)
    burst.push(request(id, '/'), frame(T.RST_STREAM, 0, id, Buffer.from([0, 0, 0, E.CANCEL])));
  raw.socket.write(Buffer.concat(burst));
  raw.socket.write(frame(T.PING, 0, 0, Buffer.from('after!!!')));
  await raw.until((b) =>
    parseFrames(b).some((f) => (f.type === T.PING && f.payload.toString() === 'after!!!') || f.type === T.GOAWAY),
  );
  raw.socket.destroy();
  const session = await connect(s.origin);
  assert.equal((await h2request(session, { ':path': '/' })).status, 200);
  session.close();
  t.diagnostic(
    `handlers run for 5,000 cancelled streams: ${handled - 1}; the flooding connection got ${goaway(parseFrames(raw.bytes)) === undefined ? 'no GOAWAY' : `GOAWAY ${goaway(parseFrames(raw.bytes))}`}`,
  );
  // nghttp2's stream reset rate limit (node 20 bundles nghttp2 1.61) ends the connection.
  assert.notEqual(goaway(parseFrames(raw.bytes)), undefined, 'the flooding connection was told to go away');
  assert.ok(handled - 1 < 5000, 'not every cancelled stream reached a handler');
});
