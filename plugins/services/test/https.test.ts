import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import fs from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { BackendServices } from '../src/index.js';
import { SkitaiError } from '@skitai/kernel';
import { selfSignedCert, tempDir } from '@skitai/test-support';

let dir = '';
let cert = '';
let key = '';
let server: https.Server;
let port = 0;
let connections = 0;
const open = new Set<Socket>();
const services = new BackendServices();

before(async () => {
  dir = tempDir('skitai-tls-');
  ({ cert, key } = selfSignedCert(dir));
  server = https.createServer({ cert, key }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ secure: true, url: req.url, ltxn: req.headers['x-ltxn-id'] }));
  });
  server.keepAliveTimeout = 60_000;
  server.on('secureConnection', (s: Socket) => {
    connections++;
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await services.close();
  for (const s of open) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("https aliases: verified TLS with the alias's CA, keep-alive over TLS", async () => {
  services.alias('@secure', 'https', `127.0.0.1:${port}`, { tls: { ca: cert } });
  const get = services.context().http('GET');
  for (let i = 0; i < 10; i++) {
    const r = await get('@secure/x');
    assert.equal(r.status, 'done', r.error?.message);
    assert.deepEqual(r.data, { secure: true, url: '/x', ltxn: String(2001 + i) });
  }
  // at most two: undici reuses a socket one event-loop turn after its response (http.test.ts)
  assert.ok(connections <= 2, `${connections} TLS connections for ten calls`);
});

test('an https alias refuses a certificate it cannot verify: the member counts as unreachable', async () => {
  services.alias('@untrusted', 'https', `127.0.0.1:${port}`);
  const r = await services.context().http('GET')('@untrusted/x');
  assert.equal(r.status, 'error');
  assert.match(r.error!.message, /self[- ]signed|certificate/i);
  assert.equal(services.getAlias('@untrusted').members[0]!.failures, 1);
  services.alias('@insecure', 'http', `127.0.0.1:${port}`, { ssl: true, tls: { rejectUnauthorized: false } });
  const ok = await services.context().http('GET')('@insecure/y');
  assert.equal(ok.statusCode, 200);
});

test('plain https URLs go through the shared TLS agent', async () => {
  const r = await services.context().http('GET')(`https://127.0.0.1:${port}/plain`);
  // not trusted by default: the shared agent verifies against the system CAs
  assert.equal(r.status, 'error');
  assert.equal((r.error as SkitaiError).code, 'SKT_BACKEND_CONNECTION');
});
