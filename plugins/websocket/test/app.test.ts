// WebSocket routes in an App: modes, encodings, events, and upgrades refused by the app's rules.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, HttpError } from '@skitai/app';
import { parseMethodResponse, serializeMethodCall, serializeParams } from '@skitai/xmlrpc';
import { was as importedWas } from '@skitai/services';
import { wsRoute, websocketServer } from '../src/index.js';
import {
  appWas,
  open,
  raw,
  refusedStatus,
  serve,
  sleep,
  waitUntil,
  type AppWas,
  type Served,
} from '../test-support/helpers.js';

describe('App WebSocket routes', { timeout: 30_000 }, () => {
  let s: Served;
  const events: string[] = [];
  let beforeSeen = 0;

  before(async () => {
    const app = new App({
      users: { admin: 'secret' },
      authorization: 'basic',
      securekey: 'k'.repeat(32),
    });
    app.beforeRequest((was) => {
      beforeSeen++;
      if (was.req.headers['x-block'] === 'yes') return appWas(was).response(403, 'blocked by beforeRequest');
      return undefined;
    });
    app.route(
      '/echo',
      wsRoute(
        { mode: 'simple', keepAlive: 60 },
        {
          open: (was) => `Welcome Client ${was.wsclient}`,
          message: (_was, message: string | Buffer) => (Buffer.isBuffer(message) ? message : `ECHO:${message}`),
          close: (was) => {
            events.push(`closed ${was.wsclient}`);
          },
        },
      ),
    );
    app.route(
      '/bare',
      wsRoute({}, (_was, m) => `bare:${m}`),
    );
    app.route(
      '/async',
      wsRoute({ mode: 'simple' }, async (_was, m: string) => {
        // Later messages wait for earlier ones in simple mode: replies keep their order.
        await sleep(Number(m) * 10);
        return `done ${m}`;
      }),
    );
    app.route(
      '/json',
      wsRoute({ encoding: 'json' }, (_was, m: { query: string; offset: number }) => ({
        found: [m.query],
        offset: m.offset + 1,
      })),
    );
    app.route(
      '/xmlrpc',
      wsRoute({ encoding: 'xmlrpc' }, (_was, m: { method: string; params: unknown[] } | unknown[]) => {
        if (Array.isArray(m)) return { params: m };
        if (m.method === 'fail') throw Object.assign(new Error('no such thing'), { faultCode: 42 });
        return { method: m.method, sum: (m.params as number[]).reduce((a, b) => a + b, 0) };
      }),
    );
    app.route(
      '/args/<name>',
      wsRoute({}, (_was, m, args) => `${args.name}/${args.client_name}: ${m}`),
    );
    app.route(
      '/secret',
      { authenticate: true },
      wsRoute({}, (was, m) => `${appWas(was).request.user?.name} said ${m}`),
    );
    app.route(
      '/origin',
      { accessControlAllowOrigin: ['http://good.example'] },
      wsRoute({}, (_was, m) => `origin ok: ${m}`),
    );
    app.route(
      '/init',
      wsRoute(
        {},
        {
          init: (_was, args) => {
            if (args.token !== 'ok') throw new HttpError(401, 'bad token');
            if (args.json) return { encoding: 'json' };
            return undefined;
          },
          message: (_was, m) => ({ got: m }),
        },
      ),
    );
    app.route(
      '/direct',
      wsRoute({ mode: 'simple' }, (was, m) => {
        was.websocket.send(`You said, ${m}`);
        was.websocket.send('I said acknowledge');
      }),
    );
    app.route(
      '/throws',
      wsRoute({}, () => {
        throw new Error('handler bug');
      }),
    );
    app.route('/page', () => 'a page');
    app.route('/login', (was) => {
      appWas(was).session.set('user', 'alice');
      return 'logged in';
    });
    app.route(
      '/members',
      wsRoute(
        {},
        {
          init: (was) => (appWas(was).session.get('user') ? undefined : appWas(was).response(401, 'log in first')),
          message: (was, m) => `${appWas(was).session.get('user')}: ${m}`,
        },
      ),
    );
    app.route(
      '/visit',
      wsRoute(
        {},
        {
          init: (was) => {
            appWas(was).session.set('visited', 'yes');
          },
          message: (was) => appWas(was).session.get('visited') ?? 'no',
        },
      ),
    );
    app.route(
      '/imported',
      wsRoute(
        {},
        {
          open: () => `open in ${(importedWas as unknown as AppWas).request.path}`,
          message: () => (importedWas as unknown as AppWas).request.path,
        },
      ),
    );
    // Echoes: the handler gives back the very message (the received bytes go back as they came).
    app.route(
      '/same',
      wsRoute({ mode: 'simple' }, (_was, m) => m),
    );
    app.route(
      '/same-async',
      wsRoute({ mode: 'simple' }, async (_was, m) => m),
    );
    app.route(
      '/slow-init',
      wsRoute(
        {},
        {
          init: async (was) => {
            was.res.once('close', () => events.push('handshake response closed'));
            was.req.socket.destroy(); // the connection is lost while init still works
            await sleep(100); // init's own time: it finishes after the loss
            events.push('slow-init returned');
            return undefined;
          },
          message: (_was, m) => m,
        },
      ),
    );
    s = await serve([['/', app]], { wasContext: true });
  });
  after(() => s.close());

  test('echo: open message, a reply per message, close event', async () => {
    const c = await open(`${s.url}/echo`);
    const welcome = String(await c.nth(0));
    assert.match(welcome, /^Welcome Client \d+$/);
    c.send('hello');
    c.send('world');
    assert.deepEqual((await c.waitFor(3)).map(String).slice(1), ['ECHO:hello', 'ECHO:world']);
    c.send(Buffer.from([1, 2, 3]));
    const bin = await c.nth(3);
    assert.ok(Buffer.isBuffer(bin), 'binary comes back binary');
    assert.deepEqual([...(bin as Buffer)], [1, 2, 3]);
    c.ws.close(1000);
    await c.waitClosed();
    const id = welcome.split(' ').pop();
    await waitUntil(() => events.includes(`closed ${id}`), 2000, 'the close handler run with was.wsclient', 10);
  });

  test('a bare message handler; async handlers keep the order in simple mode', async () => {
    const c = await open(`${s.url}/bare`);
    c.send('x');
    assert.equal(String(await c.nth(0)), 'bare:x');
    const a = await open(`${s.url}/async`);
    for (const n of ['5', '1', '3']) a.send(n);
    assert.deepEqual((await a.waitFor(3)).map(String), ['done 5', 'done 1', 'done 3']);
    c.terminate();
    a.terminate();
  });

  test('JSON messages are parsed and replies serialized; malformed JSON closes with 1007', async () => {
    const c = await open(`${s.url}/json`);
    c.send(JSON.stringify({ query: 'skitai', offset: 9 }));
    assert.deepEqual(JSON.parse(String(await c.nth(0))), { found: ['skitai'], offset: 10 });
    c.send('{not json');
    const { code } = await c.waitClosed();
    assert.equal(code, 1007);
  });

  test('XML-RPC: a methodCall gets a methodResponse, a throw a fault, <params> a list', async () => {
    const c = await open(`${s.url}/xmlrpc`);
    c.send(serializeMethodCall('add', [1, 2, 39]));
    assert.deepEqual(parseMethodResponse(String(await c.nth(0))), { method: 'add', sum: 42 });
    c.send(serializeMethodCall('fail', []));
    assert.throws(() => parseMethodResponse(String(c.messages[1] ?? '')), /./);
    const fault = String(await c.nth(1));
    assert.match(fault, /<fault>/);
    assert.match(fault, /no such thing/);
    assert.match(fault, /<int>42<\/int>|<i4>42<\/i4>/);
    c.send(serializeParams(['a', 7]));
    assert.deepEqual(parseMethodResponse(String(await c.nth(2))), { params: ['a', 7] });
    c.terminate();
  });

  test('route and query parameters reach the handler as args', async () => {
    const c = await open(`${s.url}/args/room7?client_name=stevemartine`);
    c.send('hi');
    assert.equal(String(await c.nth(0)), 'room7/stevemartine: hi');
    c.terminate();
  });

  test('was.websocket.send sends several messages from one handler call', async () => {
    const c = await open(`${s.url}/direct`);
    c.send('ok');
    assert.deepEqual((await c.waitFor(2)).map(String), ['You said, ok', 'I said acknowledge']);
    c.terminate();
  });

  test('a handler that throws closes the socket with 1011', async () => {
    const c = await open(`${s.url}/throws`);
    c.send('boom');
    assert.equal((await c.waitClosed()).code, 1011);
  });

  test('beforeRequest refuses the upgrade: 403 before any 101', async () => {
    const seen = beforeSeen;
    const r = await refusedStatus(`${s.url}/echo`, { headers: { 'X-Block': 'yes' } });
    assert.equal(r.status, 403);
    assert.ok(beforeSeen > seen, 'beforeRequest ran for the upgrade');
  });

  test('authentication: 401 with a challenge without credentials, open with them', async () => {
    const r = await refusedStatus(`${s.url}/secret`);
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /^Basic /);
    const c = await open(`${s.url}/secret`, {
      headers: { Authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` },
    });
    c.send('x');
    assert.equal(String(await c.nth(0)), 'admin said x');
    c.terminate();
  });

  test('CORS origin rules apply to the upgrade: 403 for another origin', async () => {
    assert.equal((await refusedStatus(`${s.url}/origin`, { origin: 'http://evil.example' })).status, 403);
    const c = await open(`${s.url}/origin`, { origin: 'http://good.example' });
    c.send('y');
    assert.equal(String(await c.nth(0)), 'origin ok: y');
    c.terminate();
  });

  test('init may refuse (401) or change the config (JSON)', async () => {
    assert.equal((await refusedStatus(`${s.url}/init?token=bad`)).status, 401);
    const plain = await open(`${s.url}/init?token=ok`);
    plain.send('z');
    assert.equal(String(await plain.nth(0)), '{"got":"z"}');
    const json = await open(`${s.url}/init?token=ok&json=1`);
    json.send('"quoted"');
    assert.deepEqual(JSON.parse(String(await json.nth(0))), { got: 'quoted' });
    plain.terminate();
    json.terminate();
  });

  test('404 for an unknown route and for a page that is not a WebSocket route gets 426', async () => {
    assert.equal((await refusedStatus(`${s.url}/nowhere`)).status, 404);
    const r = await fetch(`http://127.0.0.1:${s.port}/echo`);
    assert.equal(r.status, 426);
    assert.equal(r.headers.get('upgrade'), 'websocket');
    // An ordinary route never answers 101: its page goes out and the connection closes.
    assert.equal((await refusedStatus(`${s.url}/page`)).status, 200);
  });

  test('missing Host or Sec-WebSocket-Key: 400, before any 101', async () => {
    const noKey = await raw(
      s.port,
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(noKey.text, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(noKey.text, / 101 /);
    const badKey = await raw(
      s.port,
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(badKey.text, /^HTTP\/1\.1 400 /);
    const noHost = await raw(
      s.port,
      'GET /echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(noHost.text, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(noHost.text, / 101 /);
    const noHost10 = await raw(
      s.port,
      'GET /echo HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(noHost10.text, /^HTTP\/1\.1 400 /);
    const version = await raw(
      s.port,
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n',
    );
    assert.match(version.text, /^HTTP\/1\.1 426 /);
    assert.match(version.text, /Sec-WebSocket-Version: 13/i);
    const ok = await raw(
      s.port,
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      300,
    );
    assert.match(ok.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(ok.text, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
  });

  test('sessions: the session cookie of the upgrade request is read; init refuses without one', async () => {
    assert.equal((await refusedStatus(`${s.url}/members`)).status, 401);
    const login = await fetch(`http://127.0.0.1:${s.port}/login`);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    assert.ok(cookie.length > 0, 'a session cookie');
    const c = await open(`${s.url}/members`, { headers: { Cookie: cookie } });
    c.send('hi');
    assert.equal(String(await c.nth(0)), 'alice: hi');
    c.terminate();
  });

  test('sessions: a session written in init goes out with the 101 (Set-Cookie)', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${s.url}/visit`);
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('upgrade', (res) => resolve(res.headers));
      ws.once('error', reject);
    });
    ws.terminate();
    const cookies = (headers['set-cookie'] as string[] | undefined) ?? [];
    assert.equal(cookies.length, 1, `one Set-Cookie on the 101: ${JSON.stringify(headers)}`);
    // That session has no user: /members refuses it with init's own 401 (not any failure),
    // which shows the cookie names a real session, read in the handshake.
    const refused = await refusedStatus(`${s.url}/members`, { headers: { Cookie: cookies[0]!.split(';')[0]! } });
    assert.equal(refused.status, 401);
    const v = await open(`${s.url}/visit`, { headers: { Cookie: cookies[0]!.split(';')[0]! } });
    v.send('?');
    assert.equal(String(await v.nth(0)), 'yes');
    v.terminate();
  });

  test('the imported `was` works in open/close handlers, and in message handlers with wasContext', async () => {
    const c = await open(`${s.url}/imported`);
    assert.equal(String(await c.nth(0)), 'open in /imported');
    c.send('x');
    assert.equal(String(await c.nth(1)), '/imported');
    c.terminate();
    // Without the wasContext option, only init/open/close run in the context (messages: the was argument).
    const app = new App();
    app.route(
      '/imported',
      wsRoute(
        {},
        {
          open: () => `open in ${(importedWas as unknown as AppWas).request.path}`,
          message: () => (importedWas as unknown as AppWas).request.path,
        },
      ),
    );
    const plain = await serve([['/', app]]);
    try {
      const d = await open(`${plain.url}/imported`);
      assert.equal(String(await d.nth(0)), 'open in /imported');
      d.send('x');
      assert.equal((await d.waitClosed()).code, 1011, 'the imported was throws outside its context');
    } finally {
      await plain.close();
    }
  });

  test('an echo goes back as the same text (multi-byte too), binary as binary; an empty message is echoed empty', async () => {
    for (const path of ['/same', '/same-async']) {
      const c = await open(`${s.url}${path}`);
      for (const t of ['Hello World', 'héllo wörld ✓ 😀', '', 'last']) c.send(t);
      c.send(Buffer.from([0, 1, 2, 255]));
      const got = await c.waitFor(5);
      assert.deepEqual(got.slice(0, 4), ['Hello World', 'héllo wörld ✓ 😀', '', 'last'], path);
      assert.ok(Buffer.isBuffer(got[4]) && got[4].equals(Buffer.from([0, 1, 2, 255])), `${path}: binary stays binary`);
      c.terminate();
    }
  });

  test('a connection lost during the handshake: the upgrade response closes, nothing is accepted', async () => {
    const stats = websocketServer(s.kernel)!.stats;
    const accepted = stats.accepted;
    const key = Buffer.alloc(16, 7).toString('base64');
    const { text, closed } = await raw(
      s.port,
      `GET /slow-init HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assert.equal(text, '');
    assert.ok(closed);
    await waitUntil(
      () => events.includes('slow-init returned') && events.includes('handshake response closed'),
      2000,
      `init returned and the response closed: ${JSON.stringify(events)}`,
      10,
    );
    // What init's return sets going (an accept, if it wrongly happened) runs within this turn.
    await new Promise((r) => setImmediate(r));
    assert.equal(stats.accepted, accepted);
    // A refusal still answers with its status (the response gets the socket at its first write).
    assert.equal((await refusedStatus(`${s.url}/init?token=bad`)).status, 401);
  });

  test('the server counts what it accepted and refused', () => {
    const stats = websocketServer(s.kernel)!.stats;
    assert.ok(stats.accepted >= 10, `accepted ${stats.accepted}`);
    assert.ok(stats.refused >= 5, `refused ${stats.refused}`);
  });
});
