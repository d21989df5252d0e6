import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { waitUntil } from '@skitai/test-support';
import { rawRequest, request, startKernel, tempDir, type Started } from '../../test-support/http.js';

// A site folder inside a parent that also holds a secret: nothing of the secret may leak.
const base = tempDir('skitai-static-');
const root = path.join(base, 'site');
const SECRET = 'TOP-SECRET-7f3a9c';
let s: Started;

before(async () => {
  fs.mkdirSync(path.join(root, 'docs', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(base, 'secret.txt'), SECRET);
  fs.writeFileSync(path.join(base, 'site-secret.txt'), SECRET);
  fs.mkdirSync(path.join(base, 'outside'));
  fs.writeFileSync(path.join(base, 'outside', 'x.txt'), SECRET);
  fs.writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>');
  fs.writeFileSync(path.join(root, 'docs', 'index.html'), '<h1>docs</h1>');
  fs.writeFileSync(path.join(root, 'docs', 'deep', 'a b.txt'), 'space name');
  fs.writeFileSync(path.join(root, 'style.css'), 'body{}'.repeat(1000));
  fs.writeFileSync(path.join(root, 'data.json'), '{"a":1}');
  fs.writeFileSync(path.join(root, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  fs.writeFileSync(path.join(root, 'unknown.zzz'), 'zzz');
  fs.writeFileSync(path.join(root, '.env'), SECRET);
  fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(1024 * 1024, 7));
  fs.writeFileSync(path.join(root, 'huge.bin'), Buffer.alloc(3 * 1024 * 1024, 9));
  fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link-out.txt'));
  fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'dir-out'));
  fs.symlinkSync(path.join(root, 'data.json'), path.join(root, 'link-in.json'));
  s = await startKernel((k) => {
    k.mount('/', root);
    k.setMaxAge('/docs/', 60);
    k.setMaxAge('/docs/deep/', 3600);
  });
});

after(async () => {
  await s.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

test('index.html for a folder; a folder without its slash is redirected', async () => {
  const home = await request(`${s.url}/`);
  assert.equal(home.status, 200);
  assert.equal(home.body.toString(), '<h1>home</h1>');
  const redirect = await request(`${s.url}/docs?x=1`);
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/docs/?x=1');
  const docs = await request(`${s.url}/docs/`);
  assert.equal(docs.body.toString(), '<h1>docs</h1>');
  assert.equal((await request(`${s.url}/docs/deep/a%20b.txt`)).body.toString(), 'space name');
});

test('MIME types by extension', async () => {
  const types: Record<string, RegExp> = {
    '/': /^text\/html/,
    '/style.css': /^text\/css/,
    '/data.json': /^application\/json/,
    '/image.png': /^image\/png$/,
    '/unknown.zzz': /^application\/octet-stream$/,
  };
  for (const [p, type] of Object.entries(types)) {
    assert.match(String((await request(`${s.url}${p}`)).headers['content-type']), type, p);
  }
});

test('ETag and Last-Modified, with 304 for If-None-Match and If-Modified-Since', async () => {
  const first = await request(`${s.url}/data.json`);
  const etag = String(first.headers.etag);
  const lastModified = String(first.headers['last-modified']);
  assert.match(etag, /^W\/".+"$/);
  assert.ok(Date.parse(lastModified) > 0);
  assert.equal((await request(`${s.url}/data.json`, { headers: { 'if-none-match': etag } })).status, 304);
  assert.equal((await request(`${s.url}/data.json`, { headers: { 'if-none-match': '"other", ' + etag } })).status, 304);
  assert.equal((await request(`${s.url}/data.json`, { headers: { 'if-none-match': '"other"' } })).status, 200);
  assert.equal((await request(`${s.url}/data.json`, { headers: { 'if-modified-since': lastModified } })).status, 304);
  assert.equal(
    (
      await request(`${s.url}/data.json`, {
        headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 5000).toUTCString() },
      })
    ).status,
    200,
  );
  // Files over the memory limit (streamed, not cached) honour them too.
  const huge = await request(`${s.url}/huge.bin`, { method: 'HEAD' });
  assert.equal(huge.headers['content-length'], String(3 * 1024 * 1024));
  assert.equal(
    (await request(`${s.url}/huge.bin`, { headers: { 'if-none-match': String(huge.headers.etag) } })).status,
    304,
  );
  assert.equal(
    (await request(`${s.url}/huge.bin`, { headers: { 'if-modified-since': String(huge.headers['last-modified']) } }))
      .status,
    304,
  );
});

test('single Range requests: 206, suffix ranges, If-Range; 416 when unsatisfiable; several ranges give 200', async () => {
  const part = await request(`${s.url}/data.json`, { headers: { range: 'bytes=1-3' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), '"a"');
  assert.equal(part.headers['content-range'], 'bytes 1-3/7');
  const suffix = await request(`${s.url}/data.json`, { headers: { range: 'bytes=-2' } });
  assert.equal(suffix.body.toString(), '1}');
  const open = await request(`${s.url}/big.bin`, { headers: { range: 'bytes=1048570-' } });
  assert.equal(open.status, 206);
  assert.equal(open.body.length, 6);
  assert.equal(open.headers['content-range'], 'bytes 1048570-1048575/1048576');
  // A range of a streamed file.
  const streamed = await request(`${s.url}/huge.bin`, { headers: { range: 'bytes=3145720-3145727' } });
  assert.equal(streamed.status, 206);
  assert.equal(streamed.headers['content-range'], 'bytes 3145720-3145727/3145728');
  assert.deepEqual([...streamed.body], [9, 9, 9, 9, 9, 9, 9, 9]);
  assert.equal((await request(`${s.url}/huge.bin`, { headers: { range: 'bytes=3145728-' } })).status, 416);
  const bad = await request(`${s.url}/data.json`, { headers: { range: 'bytes=100-200' } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers['content-range'], 'bytes */7');
  const multi = await request(`${s.url}/data.json`, { headers: { range: 'bytes=0-1,3-4' } });
  assert.equal(multi.status, 200);
  const stale = await request(`${s.url}/data.json`, { headers: { range: 'bytes=0-1', 'if-range': '"stale"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.body.toString(), '{"a":1}');
});

test('HEAD: the same head, no body; other methods: 405 with Allow', async () => {
  const head = await rawRequest(s.port, 'HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '6000');
  assert.equal(head.raw.toString().split('\r\n\r\n')[1], '');
  const post = await request(`${s.url}/style.css`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('setMaxAge: the longest prefix gives Cache-Control', async () => {
  assert.equal((await request(`${s.url}/docs/`)).headers['cache-control'], 'max-age=60');
  assert.equal((await request(`${s.url}/docs/deep/a%20b.txt`)).headers['cache-control'], 'max-age=3600');
  assert.equal((await request(`${s.url}/data.json`)).headers['cache-control'], undefined);
});

test('compressible files over 2 KiB are gzipped when accepted', async () => {
  const gz = await request(`${s.url}/style.css`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(zlib.gunzipSync(gz.body).toString(), 'body{}'.repeat(1000));
  const plain = await request(`${s.url}/style.css`);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.length, 6000);
});

test('a 1 MiB file (from memory) and a 3 MiB file (streamed) arrive whole, twice', async () => {
  for (let i = 0; i < 2; i++) {
    const big = await request(`${s.url}/big.bin`);
    assert.equal(big.status, 200);
    assert.equal(big.body.length, 1024 * 1024);
    assert.ok(big.body.every((b) => b === 7));
    const huge = await request(`${s.url}/huge.bin`);
    assert.equal(huge.status, 200);
    assert.equal(huge.body.length, 3 * 1024 * 1024);
    assert.ok(huge.body.every((b) => b === 9));
  }
});

test("a cached file answers the same head every time, with Server and the mount's max-age", async () => {
  const first = await request(`${s.url}/docs/`);
  const second = await request(`${s.url}/docs/`);
  for (const r of [first, second]) {
    assert.equal(r.status, 200);
    assert.match(String(r.headers.server), /^Skitai\//);
    assert.equal(r.headers['cache-control'], 'max-age=60');
    assert.equal(r.headers['content-length'], String('<h1>docs</h1>'.length));
  }
  assert.equal(first.headers.etag, second.headers.etag);
  const gz = await request(`${s.url}/style.css`, { headers: { 'accept-encoding': 'gzip' } });
  const plain = await request(`${s.url}/style.css`);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers['content-length'], '6000');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.equal(plain.headers.vary, 'Accept-Encoding');
});

test('a small file served from memory is read again once it changes on disk', async () => {
  const file = path.join(root, 'hot.txt');
  fs.writeFileSync(file, 'version one');
  assert.equal((await request(`${s.url}/hot.txt`)).body.toString(), 'version one');
  assert.equal((await request(`${s.url}/hot.txt`)).body.toString(), 'version one');
  // The cache learns of a change from its inotify watch, a moment later: asked until it did.
  const served = (want: string) =>
    waitUntil(
      async () => (await request(`${s.url}/hot.txt`)).body.toString() === want,
      2000,
      `hot.txt served as "${want}"`,
      10,
    );
  fs.writeFileSync(file, 'version two, longer');
  await served('version two, longer');
  // Replaced by rename, as editors and deploy tools do.
  fs.writeFileSync(`${file}.new`, 'version three');
  fs.renameSync(`${file}.new`, file);
  await served('version three');
  fs.unlinkSync(file);
  await waitUntil(async () => (await request(`${s.url}/hot.txt`)).status === 404, 2000, 'hot.txt gone', 10);
});

test('a symbolic link inside the root is served; one that points out is refused', async () => {
  assert.equal((await request(`${s.url}/link-in.json`)).body.toString(), '{"a":1}');
  const out = await request(`${s.url}/link-out.txt`);
  assert.equal(out.status, 403);
  assert.doesNotMatch(out.body.toString(), new RegExp(SECRET));
  const dirOut = await request(`${s.url}/dir-out/x.txt`);
  assert.equal(dirOut.status, 403);
});

// Each attempt goes out byte for byte (raw socket, no client normalisation).
const traversals = [
  '/../secret.txt',
  '/../../secret.txt',
  '/docs/../../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/secret.txt',
  '/.%2e/secret.txt',
  '/%2e./secret.txt',
  '/%2e%2e%2fsecret.txt',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/%2e%2e%5csecret.txt',
  '/..%5csecret.txt',
  '/..\\secret.txt',
  '/docs/..\\..\\secret.txt',
  '/%252e%252e/secret.txt',
  '/secret.txt%00.html',
  '/index.html%00',
  '/%00../secret.txt',
  '/..%00/secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/%c0%af..%c0%afsecret.txt',
  '/..;/secret.txt',
  '/../site-secret.txt',
  '//../secret.txt',
  '/./../secret.txt',
  '/docs/./../../outside/x.txt',
  '/link-out.txt',
  '/dir-out/x.txt',
  '/.env',
  '/%2eenv',
  '/docs/%2e%2e/%2e%2e/secret.txt',
  '/%%32%65%%32%65/secret.txt',
];

test(`${traversals.length} traversal attempts: each answered 4xx with no byte from outside the root`, async () => {
  // Controls, so that a 4xx below means the guard: the same raw request serves a file inside
  // the root, and the leak check does see the secret when a mount does serve it.
  const inside = await rawRequest(s.port, 'GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 1000);
  assert.equal(inside.status, 200);
  assert.equal(inside.body.toString(), '<h1>home</h1>');
  const open = await startKernel((k) => k.mount('/', base));
  try {
    const leak = await rawRequest(open.port, 'GET /secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 1000);
    assert.ok(leak.raw.toString('latin1').includes(SECRET), 'the leak check sees a served secret');
  } finally {
    await open.stop();
  }
  const table: string[] = [];
  for (const attempt of traversals) {
    const r = await rawRequest(s.port, `GET ${attempt} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 1000);
    table.push(`${String(r.status).padEnd(4)} ${attempt}`);
    assert.ok(r.status >= 400 && r.status < 500, `${attempt} answered ${r.status}`);
    assert.ok(!r.raw.toString('latin1').includes(SECRET), `${attempt} leaked the secret`);
  }
  // Printed into the test output: the status each attempt got.
  console.log(`traversal table (status, request target):\n${table.join('\n')}`);
});

test('streamed files: many at once each arrive whole and unmixed (read buffers are reused)', async () => {
  // Two files over the memory limit with different bytes, fetched 12 at a time, interleaved.
  const a = Buffer.alloc(1536 * 1024, 0xa1);
  const b = Buffer.alloc(2560 * 1024 + 17, 0xb2);
  for (let i = 0; i < a.length; i += 4096) a[i] = i & 0xff;
  fs.writeFileSync(path.join(root, 'stream-a.bin'), a);
  fs.writeFileSync(path.join(root, 'stream-b.bin'), b);
  const got = await Promise.all(
    Array.from({ length: 12 }, (_, i) => request(`${s.url}/stream-${i % 2 === 0 ? 'a' : 'b'}.bin`)),
  );
  got.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(i % 2 === 0 ? a : b), `response ${i} has the bytes of its file`);
  });
  const etag = got[0]!.headers.etag as string;
  const revalidated = await request(`${s.url}/stream-a.bin`, { headers: { 'if-none-match': etag } });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.body.length, 0);
  const head = await rawRequest(s.port, 'HEAD /stream-b.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(head.headers['content-length'], String(b.length));
  assert.equal(head.raw.toString('latin1').split('\r\n\r\n')[1], '');
});

test('a streamed file is looked up again once it changes on disk (its facts are cached, not its bytes)', async () => {
  const file = path.join(root, 'grows.bin');
  fs.writeFileSync(file, Buffer.alloc(1024 * 1024 + 10, 1));
  const first = await request(`${s.url}/grows.bin`);
  assert.equal(first.body.length, 1024 * 1024 + 10);
  assert.equal((await request(`${s.url}/grows.bin`)).headers.etag, first.headers.etag);
  const next = Buffer.alloc(2 * 1024 * 1024 + 3, 2);
  fs.writeFileSync(`${file}.new`, next);
  fs.renameSync(`${file}.new`, file);
  const r = await waitUntil(
    async () => {
      const r = await request(`${s.url}/grows.bin`);
      return r.body.length === next.length ? r : undefined;
    },
    2000,
    'grows.bin served at its new size',
    10,
  );
  assert.ok(r?.body.equals(next));
  assert.notEqual(r?.headers.etag, first.headers.etag);
  fs.unlinkSync(file);
  await waitUntil(async () => (await request(`${s.url}/grows.bin`)).status === 404, 2000, 'grows.bin gone', 10);
});

test('clients that leave in the middle of a streamed file do not disturb the others', async () => {
  const net = await import('node:net');
  const leave = (reset: boolean) =>
    new Promise<void>((resolve) => {
      const socket = net.connect(s.port, '127.0.0.1', () => {
        socket.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      socket.once('data', () => {
        if (reset) socket.resetAndDestroy();
        else socket.destroy();
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
  await Promise.all(Array.from({ length: 20 }, (_, i) => leave(i % 2 === 0)));
  const whole = await request(`${s.url}/huge.bin`);
  assert.equal(whole.body.length, 3 * 1024 * 1024);
  assert.ok(whole.body.every((x) => x === 9));
});
