// The kernel's request and response classes, as node:http constructs them: subclasses of
// node's, every kernel field present from the constructor on, and open to subclassing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createHttpServer } from '../../src/http/server.js';
import { SkitaiRequest } from '../../src/http/request.js';
import { SkitaiResponse, getServerHeader } from '../../src/http/response.js';
import { request, testServerSettings } from '../../test-support/http.js';

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

test('node:http builds a SkitaiRequest and a SkitaiResponse per request, with every kernel field and the Server header', async () => {
  const seen: { req: SkitaiRequest; res: SkitaiResponse }[] = [];
  const { server } = createHttpServer(testServerSettings, (req, res) => {
    seen.push({ req, res });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  const port = await listen(server);
  try {
    const a = await request(`http://127.0.0.1:${port}/a`);
    const b = await request(`http://127.0.0.1:${port}/b?x=1`);
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'ok');
    assert.equal(a.headers.server, getServerHeader());
    assert.equal(b.headers.server, getServerHeader());
    assert.equal(seen.length, 2);
    for (const { req, res } of seen) {
      assert.ok(req instanceof SkitaiRequest && req instanceof IncomingMessage);
      assert.ok(res instanceof SkitaiResponse && res instanceof ServerResponse);
      assert.equal(req.constructor, SkitaiRequest);
      assert.equal(res.constructor, SkitaiResponse);
      for (const field of ['originalUrl', 'baseUrl', 'mount', 'startedAt', 'gtxnId', 'ltxnId', 'bodyBytes', 'user'])
        assert.ok(Object.hasOwn(req, field), `request field ${field}`);
    }
    // The same own fields in the same order on every request (one hidden class).
    assert.deepEqual(Reflect.ownKeys(seen[0]!.req).map(String), Reflect.ownKeys(seen[1]!.req).map(String));
    assert.equal(seen[1]!.req.url, '/b?x=1');
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

test('a class may extend SkitaiRequest and SkitaiResponse; node:http constructs it and the kernel behaviour stays', async () => {
  class TaggedRequest extends SkitaiRequest {
    tag: string;
    constructor(socket: Socket) {
      super(socket);
      this.tag = 'tagged';
    }
  }
  class TaggedResponse extends SkitaiResponse {
    stamped(): string {
      return 'response';
    }
  }
  const server = http.createServer(
    {
      IncomingMessage: TaggedRequest as unknown as typeof IncomingMessage,
      ServerResponse: TaggedResponse as unknown as typeof ServerResponse,
    },
    (req, res) => {
      const r = req as unknown as TaggedRequest;
      const s = res as unknown as TaggedResponse;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${r.tag} ${r.originalUrl === '' ? 'fields' : 'no fields'} ${s.stamped()}`);
    },
  );
  const port = await listen(server);
  try {
    const got = await request(`http://127.0.0.1:${port}/`);
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), 'tagged fields response');
    assert.equal(got.headers.server, getServerHeader(), 'SkitaiResponse.writeHead adds Server');
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
