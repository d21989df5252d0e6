import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getServerHeader, writeReadyHead } from '../../src/index.js';
import { rawRequest, startKernel } from '../../test-support/http.js';

const FLAT = () => [
  'server',
  getServerHeader(),
  'content-type',
  'text/plain',
  'x-two',
  ['a', 'b'],
  'content-length',
  '2',
];

test('writeReadyHead writes a flat head (a list value one field line per item), Server from the list, fields set before kept', async () => {
  const s = await startKernel((k) => {
    k.mount('/', (req, res) => {
      if (req.url === '/set') res.setHeader('x-before', '1');
      writeReadyHead(res, 203, FLAT());
      res.end('ok');
    });
  });
  try {
    for (const p of ['/', '/set']) {
      const r = await rawRequest(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(r.status, 203);
      const head = r.raw.toString('latin1');
      assert.equal(head.match(/^server: /gim)?.length, 1, head);
      assert.match(head, new RegExp(`^server: ${getServerHeader()}\\r$`, 'im'));
      assert.match(head, /^x-two: a\r\nx-two: b\r$/m);
      assert.match(head, /^content-type: text\/plain\r$/m);
      assert.equal(r.body.toString(), 'ok');
      if (p === '/set') assert.match(head, /^x-before: 1\r$/m);
      else assert.doesNotMatch(head, /x-before/);
    }
  } finally {
    await s.stop();
  }
});

test('writeReadyHead through the request log writeHead: the object head when given, else the list, one Server', async () => {
  const logpath = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-ready-head-'));
  const s = await startKernel(
    (k) => {
      k.mount('/', (req, res) => {
        const flat = FLAT();
        if (req.url === '/object')
          writeReadyHead(res, 200, flat, {
            server: getServerHeader(),
            'content-type': 'text/plain',
            'x-two': ['a', 'b'],
            'content-length': 2,
          });
        else writeReadyHead(res, 200, flat);
        res.end('ok');
      });
    },
    { logpath },
  );
  try {
    for (const p of ['/object', '/list']) {
      const r = await rawRequest(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(r.status, 200);
      const head = r.raw.toString('latin1');
      assert.equal(head.match(/^server: /gim)?.length, 1, head);
      assert.match(head, /^x-two: a\r\nx-two: b\r$/m);
      assert.equal(r.body.toString(), 'ok');
    }
  } finally {
    await s.stop();
    fs.rmSync(logpath, { recursive: true, force: true });
  }
});

test('writeReadyHead refuses a bad field as node does (a list of odd length, a value with CR LF)', async () => {
  const errors: string[] = [];
  const s = await startKernel((k) => {
    k.mount('/', (req, res) => {
      try {
        writeReadyHead(
          res,
          200,
          req.url === '/odd' ? ['server', 'x', 'x-a'] : ['server', 'x', 'x-a', 'b\r\nx-evil: 1'],
        );
      } catch (err) {
        errors.push((err as NodeJS.ErrnoException).code ?? String(err));
      }
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  try {
    for (const p of ['/odd', '/crlf']) {
      const r = await rawRequest(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(r.status, 500);
      assert.doesNotMatch(r.raw.toString('latin1'), /x-evil/);
    }
    assert.deepEqual(errors, ['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_CHAR']);
  } finally {
    await s.stop();
  }
});

test('writeReadyHead takes a number (Content-Length) and one list filled in again for every response, with and without the request log', async () => {
  const logpath = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-ready-head-'));
  // One list for every response, as sendTyped keeps it: refilled right after each write.
  const shared: (string | number)[] = ['server', getServerHeader(), 'content-length', 0];
  const handler = (req: { url?: string }, res: Parameters<typeof writeReadyHead>[0]): void => {
    const body = req.url === '/long' ? 'a longer body' : 'ok';
    shared[3] = body.length;
    writeReadyHead(res, 200, shared);
    shared[3] = 999;
    res.end(body);
  };
  const plain = await startKernel((k) => k.mount('/', handler));
  const logged = await startKernel((k) => k.mount('/', handler), { logpath });
  try {
    for (const s of [plain, logged]) {
      for (const [p, body] of [
        ['/', 'ok'],
        ['/long', 'a longer body'],
      ]) {
        const r = await rawRequest(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.equal(r.status, 200);
        const head = r.raw.toString('latin1');
        assert.match(head, new RegExp(`^content-length: ${body!.length}\\r$`, 'im'), head);
        assert.equal(head.match(/^server: /gim)?.length, 1, head);
        assert.equal(r.body.toString(), body);
      }
    }
  } finally {
    await plain.stop();
    await logged.stop();
    fs.rmSync(logpath, { recursive: true, force: true });
  }
});
