// Head timeouts. Its own file (its own process): the sweep's interval must be the mocked one,
// not a real one left running by an earlier test's exchanges.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from '@skitai/test-support';
import { startBackend, startGateway } from '../test-support/helpers.js';

type Started = Awaited<ReturnType<typeof startGateway>>;

/**
 * A member answering with `handler` behind a gateway with `timeout` seconds, node's timers
 * mocked while `body` runs; `arrived()` resolves when the member has the next request.
 */
async function withMember(
  t: TestContext,
  timeout: number,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  body: (g: Started, arrived: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const waiting: Array<() => void> = [];
  const b = await startBackend((req, res) => {
    waiting.shift()?.();
    res.on('close', () => {});
    handler(req, res);
  });
  const g = await startGateway({ members: [b.member], options: { timeout } });
  try {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    await body(g, () => new Promise<void>((r) => waiting.push(r)));
  } finally {
    t.mock.timers.reset();
    await g.stop();
    await b.close();
  }
}

/** Ticks the mocked clock through `ms` in sweeps, letting I/O run between them. */
async function sweepThrough(t: TestContext, ms: number): Promise<void> {
  for (let at = 0; at < ms; at += 250) {
    t.mock.timers.tick(250);
    await new Promise((r) => setImmediate(r));
  }
}

test('504 when the member sends no head within the timeout', (t) =>
  withMember(
    t,
    5,
    () => {},
    async (g, arrived) => {
      // A 5 s head timeout is swept every 250 ms (@skitai/services' call deadlines): never early, at most a sweep late.
      const reached = arrived();
      let settled = false;
      const reply = request(`${g.url}/members/slow`, { headers: { accept: 'application/json' } });
      void reply.then(() => (settled = true));
      await reached;
      await sweepThrough(t, 5000);
      assert.equal(settled, false, 'answered before its 5 s');
      t.mock.timers.tick(250);
      t.mock.timers.tick(250);
      const r = await reply;
      assert.equal(r.status, 504);
      assert.match(JSON.parse(r.body.toString()).message, /@members did not answer within 5000 ms/);
    },
  ));

test('504 after a sub-second timeout, timed by a timer of its own', (t) =>
  withMember(
    t,
    0.5,
    () => {},
    async (g, arrived) => {
      const reached = arrived();
      let settled = false;
      const reply = request(`${g.url}/members/slow`, { headers: { accept: 'application/json' } });
      void reply.then(() => (settled = true));
      await reached;
      t.mock.timers.tick(499);
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, 'answered before its 500 ms');
      t.mock.timers.tick(1);
      const r = await reply;
      assert.equal(r.status, 504);
      assert.match(JSON.parse(r.body.toString()).message, /@members did not answer within 500 ms/);
    },
  ));

test('a member silent mid-body for the timeout: the client connection is cut after the part sent', (t) =>
  withMember(
    t,
    5,
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
    },
    async (g) => {
      let body = '';
      let firstChunk!: () => void;
      const gotChunk = new Promise<void>((r) => (firstChunk = r));
      const ended = new Promise<string>((resolve) => {
        http.get(`${g.url}/members/silent`, { agent: false }, (res) => {
          res.setEncoding('latin1');
          res.on('data', (c: string) => {
            body += c;
            firstChunk();
          });
          res.on('end', () => resolve('end'));
          res.on('aborted', () => resolve('aborted'));
          res.on('error', () => resolve('aborted'));
        });
      });
      let settled = false;
      void ended.then(() => (settled = true));
      await gotChunk;
      await sweepThrough(t, 5000);
      assert.equal(settled, false, 'cut before 5 s of silence');
      t.mock.timers.tick(250);
      t.mock.timers.tick(250);
      assert.equal(await ended, 'aborted');
      assert.equal(body, 'partial');
    },
  ));
