// Groupchat rooms, the threadsafe mode, and plain Node / Express handlers (Skitai's Flask way).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { App } from '@skitai/app';
import { type SkitaiRequest, type SkitaiResponse } from '@skitai/kernel';
import { toClient, wsRoute } from '../src/index.js';
import {
  appWas,
  open,
  refusedStatus,
  serve,
  sleep,
  waitUntil,
  type Client,
  type Served,
} from '../test-support/helpers.js';

let seenByExpress = 0;
function ex2() {
  const ex = express();
  ex.get('/echo', (req) => {
    seenByExpress++;
    (req as unknown as SkitaiRequest).websocket?.accept({}, (m: string) => m);
  });
  return ex;
}

describe('groupchat, threadsafe and plain handlers', { timeout: 30_000 }, () => {
  let s: Served;
  const timers = new Set<NodeJS.Timeout>();
  const lateSends: boolean[] = [];

  before(async () => {
    const app = new App();
    app.route(
      '/chat',
      wsRoute(
        { mode: 'groupchat', keepAlive: 60 },
        {
          open: (was) => `Client ${was.wsclient} has entered`,
          message: (was, message: string) => {
            if (message === 'who') return toClient(was.wsclient!, `members: ${was.websocket.clients.sort().join(',')}`);
            const m = /^to (\d+) (.*)$/.exec(message);
            if (m) {
              was.websocket.send(`private from ${was.wsclient}: ${m[2]}`, Number(m[1]));
              return undefined;
            }
            return `Client ${was.wsclient} Said: ${message}`;
          },
          close: (was) => `Client ${was.wsclient} has left`,
        },
      ),
    );
    app.route(
      '/room/<roomid>',
      wsRoute({ mode: 'groupchat', encoding: 'json' }, (was, m: unknown) => ({ room: was.websocket.room, m })),
    );
    app.route(
      '/run',
      wsRoute(
        { mode: 'threadsafe' },
        {
          message: (was, cmd: string) => {
            if (cmd === 'start') {
              // Sends from a timer, outside any handler call.
              let n = 0;
              const t = setInterval(() => {
                const sent = was.websocket.send(`Keep running... ${++n}`);
                if (!sent) {
                  lateSends.push(sent);
                  clearInterval(t);
                  timers.delete(t);
                }
              }, 20);
              timers.add(t);
              return 'started';
            }
            if (cmd.startsWith('slow')) return sleep(200).then(() => `${cmd} done`);
            if (cmd.startsWith('fast')) return `${cmd} done`;
            return 'I cannot understand your command';
          },
        },
      ),
    );
    // An ordinary HTTP route reaching WebSocket clients by id.
    app.route('/notify', (was, args) => String(was.websocket.send(String(args.text), Number(args.id))));

    // Express, mounted like any handler: the Flask way.
    const ex = express();
    ex.use((req, res, next) => {
      if (req.headers['x-deny']) return void res.status(403).send('denied by express');
      next();
    });
    ex.get('/echo', (req, res) => {
      const ws = (req as unknown as SkitaiRequest).websocket;
      if (!ws) return void res.status(426).send('WebSocket only');
      ws.accept(
        { mode: 'simple' },
        {
          open: (conn) => `hello ${conn.client}`,
          message: (m: string) => `express echo: ${m}`,
        },
      );
    });
    ex.get('/chat', (req, res) => {
      const ws = (req as unknown as SkitaiRequest).websocket;
      if (!ws) return void res.status(426).end();
      ws.accept({ mode: 'groupchat' }, (m: string, conn) => `${conn.client}@${conn.room}: ${m}`);
    });
    const plain = (req: SkitaiRequest, res: SkitaiResponse) => {
      if (req.websocket?.event === 'init') {
        const id = req.websocket.client;
        req.websocket.accept({ encoding: 'json' }, (m: { n: number }) => ({ id, n: m.n * 2 }));
        return;
      }
      res.end('plain page');
    };
    s = await serve([
      ['/', app],
      ['/api', ex],
      ['/plain', plain],
    ]);
  });
  after(async () => {
    for (const t of timers) clearInterval(t);
    await s.close();
  });

  test('groupchat: two rooms, enter and leave messages, replies to the whole room only', async () => {
    const a = await open(`${s.url}/chat?roomid=1`);
    const aId = /Client (\d+) has entered/.exec(String(await a.nth(0)))![1];
    const b = await open(`${s.url}/chat?roomid=1`);
    const bId = /Client (\d+) has entered/.exec(String(await b.nth(0)))![1];
    assert.equal(String(await a.nth(1)), `Client ${bId} has entered`);
    const c = await open(`${s.url}/chat?roomid=1`);
    const cId = /Client (\d+) has entered/.exec(String(await c.nth(0)))![1];
    const x = await open(`${s.url}/chat?roomid=2`);
    const y = await open(`${s.url}/chat?roomid=2`);
    await x.waitFor(2);
    await y.waitFor(1);

    a.send('hi all');
    const said = `Client ${aId} Said: hi all`;
    assert.equal(String(await a.nth(3)), said);
    assert.equal(String(await b.nth(2)), said);
    assert.equal(String(await c.nth(1)), said);
    y.send('room two');
    assert.equal(String(await x.nth(2)), `Client ${/\d+/.exec(String(y.messages[0]))![0]} Said: room two`);
    // 'hi all' went out before 'room two': had x heard it, it would be here already.
    assert.ok(!x.messages.map(String).some((m) => m.includes('hi all')), 'room 2 does not hear room 1');

    // was.websocket.clients and a reply to one client (Skitai's `return 'Hi', clients[0]`).
    c.send('who');
    assert.equal(String(await c.nth(2)), `members: ${[aId, bId, cId].sort().join(',')}`);
    // Send to one client id.
    a.send(`to ${bId} psst`);
    assert.equal(String(await b.nth(3)), `private from ${aId}: psst`);
    // A reply to c after them: anything c wrongly got would have come before it.
    c.send('who');
    assert.equal(String(await c.nth(3)), `members: ${[aId, bId, cId].sort().join(',')}`);
    assert.equal(c.messages.length, 4, 'the third member saw neither the private message nor the who reply of another');

    c.ws.close();
    assert.equal(String(await a.nth(4)), `Client ${cId} has left`);
    assert.equal(String(await b.nth(4)), `Client ${cId} has left`);
    // Room 2's message went out before these: had a heard it, it would be among them.
    assert.ok(!a.messages.map(String).some((m) => m.includes('room two')), 'room 1 does not hear room 2');
    for (const k of [a, b, x, y]) k.terminate();
  });

  test('groupchat rooms from a route parameter; no room: 400 before any 101', async () => {
    const a = await open(`${s.url}/room/blue`);
    a.send('1');
    assert.deepEqual(JSON.parse(String(await a.nth(0))), { room: 'blue', m: 1 });
    assert.equal((await refusedStatus(`${s.url}/chat`)).status, 400);
    a.terminate();
  });

  test('an HTTP route sends to a WebSocket client by id', async () => {
    const a = await open(`${s.url}/chat?roomid=notify`);
    const id = /Client (\d+)/.exec(String(await a.nth(0)))![1];
    const r = await fetch(`http://127.0.0.1:${s.port}/notify?id=${id}&text=from+http`);
    assert.equal(await r.text(), 'true');
    assert.equal(String(await a.nth(1)), 'from http');
    assert.equal(await (await fetch(`http://127.0.0.1:${s.port}/notify?id=999999&text=x`)).text(), 'false');
    a.terminate();
  });

  test('threadsafe: sends from timers at any time, concurrent handlers, no throw after close', async () => {
    const c = await open(`${s.url}/run`);
    c.send('start');
    const first = await c.waitFor(4);
    assert.equal(String(first[0]), 'started');
    assert.match(String(first[3]), /^Keep running\.\.\. 3$/);
    // A slow handler does not hold back a fast one (not so in simple mode).
    const before = c.messages.length;
    c.send('slow 1');
    c.send('fast 2');
    await waitUntil(() => c.messages.map(String).includes('slow 1 done'), 3000, 'slow 1 done', 10);
    const after = c.messages
      .slice(before)
      .map(String)
      .filter((m) => !m.startsWith('Keep'));
    assert.deepEqual(after, ['fast 2 done', 'slow 1 done']);
    c.ws.close();
    await c.waitClosed();
    // The handler's interval sends again 20 ms after the close at the latest.
    await waitUntil(() => lateSends.length > 0, 2000, 'a send after the close', 10);
    assert.deepEqual(lateSends, [false], 'a send after close returns false');
  });

  test('Express: req.websocket.accept; its middleware refuses with 403 before any 101', async () => {
    const c = await open(`${s.url}/api/echo`);
    assert.match(String(await c.nth(0)), /^hello \d+$/);
    c.send('yo');
    assert.equal(String(await c.nth(1)), 'express echo: yo');
    assert.equal((await refusedStatus(`${s.url}/api/echo`, { headers: { 'X-Deny': '1' } })).status, 403);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/api/echo`)).status, 426);
    assert.equal((await refusedStatus(`${s.url}/api/nothing`)).status, 404);
    const g1 = await open(`${s.url}/api/chat?roomid=r`);
    const g2 = await open(`${s.url}/api/chat?roomid=r`);
    g2.send('hey');
    assert.match(String(await g1.nth(0)), /^\d+@r: hey$/);
    for (const k of [c, g1, g2]) k.terminate();
  });

  test('allowOrigins: a foreign origin gets 403 on every mount, before any handler; no Origin passes', async () => {
    const strict = await serve([['/api', ex2()]], { allowOrigins: ['https://app.example'] });
    try {
      assert.equal((await refusedStatus(`${strict.url}/api/echo`, { origin: 'https://evil.example' })).status, 403);
      assert.equal(seenByExpress, 0, 'the handler never saw the refused upgrade');
      const ok = await open(`${strict.url}/api/echo`, { origin: 'https://app.example' });
      const bare = await open(`${strict.url}/api/echo`);
      assert.equal(seenByExpress, 2);
      ok.terminate();
      bare.terminate();
    } finally {
      await strict.close();
    }
  });

  test('a plain (req, res) handler accepts with JSON', async () => {
    const c: Client = await open(`${s.url}/plain/anything`);
    c.send(JSON.stringify({ n: 21 }));
    const reply = JSON.parse(String(await c.nth(0)));
    assert.equal(reply.n, 42);
    assert.equal(typeof reply.id, 'number');
    assert.equal(await (await fetch(`http://127.0.0.1:${s.port}/plain/x`)).text(), 'plain page');
    c.terminate();
  });
});

void appWas;
