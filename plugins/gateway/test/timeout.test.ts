// Head timeouts. Its own file (its own process): the sweep's interval must be the mocked one,
// not a real one left running by an earlier test's exchanges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from '@skitai/test-support';
import { startBackend, startGateway } from '../test-support/helpers.js';

test('504 when the member sends no head within the timeout', async (t) => {
  const arrived: Array<() => void> = [];
  const b = await startBackend((_req, res) => {
    arrived.shift()?.();
    res.on('close', () => {});
  });
  const g = await startGateway({ members: [b.member], options: { timeout: 5 } });
  try {
    // A 5 s head timeout is swept every 250 ms (@skitai/services' call deadlines): never early, at most a sweep late.
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const reached = new Promise<void>((r) => arrived.push(r));
    let settled = false;
    const reply = request(`${g.url}/members/slow`, { headers: { accept: 'application/json' } });
    void reply.then(() => (settled = true));
    await reached;
    for (let ms = 0; ms < 5000; ms += 250) {
      t.mock.timers.tick(250);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(settled, false, 'answered before its 5 s');
    t.mock.timers.tick(250);
    t.mock.timers.tick(250);
    const r = await reply;
    assert.equal(r.status, 504);
    assert.match(JSON.parse(r.body.toString()).message, /@members did not answer within 5000 ms/);
  } finally {
    t.mock.timers.reset();
    await g.stop();
    await b.close();
  }
});

test('504 after a sub-second timeout, timed by a timer of its own', async (t) => {
  const arrived: Array<() => void> = [];
  const b = await startBackend((_req, res) => {
    arrived.shift()?.();
    res.on('close', () => {});
  });
  const g = await startGateway({ members: [b.member], options: { timeout: 0.5 } });
  try {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const reached = new Promise<void>((r) => arrived.push(r));
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
  } finally {
    t.mock.timers.reset();
    await g.stop();
    await b.close();
  }
});

test('a member silent mid-body for the timeout: the client connection is cut after the part sent', async (t) => {
  const b = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('partial');
    res.on('close', () => {});
  });
  const g = await startGateway({ members: [b.member], options: { timeout: 5 } });
  try {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
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
    for (let ms = 0; ms < 5000; ms += 250) {
      t.mock.timers.tick(250);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(settled, false, 'cut before 5 s of silence');
    t.mock.timers.tick(250);
    t.mock.timers.tick(250);
    assert.equal(await ended, 'aborted');
    assert.equal(body, 'partial');
  } finally {
    t.mock.timers.reset();
    await g.stop();
    await b.close();
  }
});
