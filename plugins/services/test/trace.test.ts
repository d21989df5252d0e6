import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kernel, parseRequestLine, REQUEST_LOG_FIELDS, traceIdOf } from '@skitai/kernel';
import { services, was } from '../src/index.js';

interface Hop {
  kernel: Kernel;
  url: string;
  logpath: string;
  lines: string[];
}

/**
 * Three services, A -> B -> C, each calling the next with was.get; each answers with the
 * headers it received and what the next one answered.
 */
async function chain(): Promise<Hop[]> {
  const hops: Hop[] = [];
  let next: string | undefined;
  for (const name of ['C', 'B', 'A']) {
    const logpath = fs.mkdtempSync(path.join(os.tmpdir(), `skitai-trace-${name}-`));
    const kernel = new Kernel().use(services());
    const lines: string[] = [];
    kernel.hooks.responseLogged.tap('test', (record) => {
      lines.push(record.line);
    });
    const callee = next;
    kernel.mount('/', (req, res) => {
      void (async () => {
        const inner = callee === undefined ? undefined : (await was.get(`${callee}/hop`)).data;
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            name,
            traceparent: req.headers.traceparent ?? null,
            tracestate: req.headers.tracestate ?? null,
            gtxn: req.headers['x-gtxn-id'] ?? null,
            inner,
          }),
        );
      })();
    });
    const { port } = await kernel.start({ address: '127.0.0.1', port: 0, logpath });
    next = `http://127.0.0.1:${port}`;
    hops.unshift({ kernel, url: next, logpath, lines });
  }
  return hops;
}

const traceparentRe = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

async function stopAll(hops: Hop[]): Promise<string[][]> {
  await Promise.all(hops.map((h) => h.kernel.stop()));
  // The log files hold the same lines the taps saw.
  return hops.map((h) => fs.readFileSync(path.join(h.logpath, 'request.log'), 'utf8').trim().split('\n'));
}

test('a was.get chain of three services carries one trace id in traceparent and in every request log', async () => {
  const hops = await chain();
  const reply = (await (await fetch(`${hops[0]!.url}/start`)).json()) as any;
  const files = await stopAll(hops);
  const logged = files.map((lines) => lines.map(parseRequestLine));
  for (const fields of logged.flat())
    assert.equal(fields.length, REQUEST_LOG_FIELDS.length, 'the log keeps its 21 fields');
  const gtxn = logged[0]![0]![REQUEST_LOG_FIELDS.indexOf('gtxnId')]!;
  assert.match(gtxn, /^[0-9a-f]{32}$/, 'a fresh global id is a trace id');
  for (const fields of logged.flat())
    assert.equal(fields[REQUEST_LOG_FIELDS.indexOf('gtxnId')], gtxn, 'one global id in A, B and C');
  assert.deepEqual(
    hops.map((h) => h.lines.length),
    [1, 1, 1],
  );

  const b = reply.inner;
  const c = b.inner;
  assert.equal(reply.traceparent, null, 'the client sent none');
  const atB = traceparentRe.exec(b.traceparent)!;
  const atC = traceparentRe.exec(c.traceparent)!;
  assert.ok(atB && atC, `${b.traceparent} ${c.traceparent}`);
  assert.equal(atB[1], traceIdOf(gtxn), 'the trace id is the one the global id maps to');
  assert.equal(atB[1], gtxn, 'a fresh global id is the trace id itself');
  assert.equal(atC[1], atB[1], 'one trace id end to end');
  assert.notEqual(atB[2], atC[2], 'each call has its own parent span id');
  // The span id is the call's local transaction id, as the callee logs it.
  const ltxn = (i: number) => logged[i]![0]![REQUEST_LOG_FIELDS.indexOf('ltxnId')]!;
  assert.equal(atB[2], ltxn(1).padStart(16, '0'));
  assert.equal(atC[2], ltxn(2).padStart(16, '0'));
  assert.equal(b.gtxn, gtxn);
  assert.equal(c.gtxn, gtxn);
});

test('an incoming W3C traceparent: its trace id is the global id in every log, and tracestate and flags go along', async () => {
  const hops = await chain();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const reply = (await (
    await fetch(`${hops[0]!.url}/start`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00`, tracestate: 'vendor=abc,other=1' },
    })
  ).json()) as any;
  const files = await stopAll(hops);
  for (const line of files.flat()) {
    const fields = parseRequestLine(line);
    assert.equal(fields.length, 21);
    assert.equal(fields[REQUEST_LOG_FIELDS.indexOf('gtxnId')], traceId, line);
  }
  for (const hop of [reply.inner, reply.inner.inner]) {
    const m = traceparentRe.exec(hop.traceparent)!;
    assert.equal(m[1], traceId);
    assert.equal(m[3], '00', 'the sampled flag as it came');
    assert.equal(hop.tracestate, 'vendor=abc,other=1');
    assert.equal(hop.gtxn, traceId);
  }
});

test('a malformed traceparent is ignored: a new global id, and a trace id from it', async () => {
  const hops = await chain();
  const bad = [
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    'garbage',
  ];
  for (const traceparent of bad) {
    const reply = (await (
      await fetch(`${hops[0]!.url}/x`, { headers: { traceparent, tracestate: 'a=b' } })
    ).json()) as any;
    const m = traceparentRe.exec(reply.inner.traceparent)!;
    assert.equal(m[1], traceIdOf(reply.inner.gtxn), traceparent);
    assert.match(reply.inner.gtxn, /^[0-9a-f]{32}$/);
    assert.equal(m[1], reply.inner.gtxn);
    assert.equal(reply.inner.tracestate, null, 'tracestate goes only with a valid traceparent');
  }
  await stopAll(hops);
});
