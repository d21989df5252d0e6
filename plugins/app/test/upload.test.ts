import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { App, UploadedFile } from '../src/index.js';
import { waitUntil } from '@skitai/test-support';
import { serve, raw, type Served } from '../test-support/app-server.js';

const run = promisify(execFile);
let s: Served;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'app-up-tmp-'));
const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'app-up-dest-'));
const src = fs.mkdtempSync(path.join(os.tmpdir(), 'app-up-src-'));
fs.writeFileSync(path.join(src, 'photo.png'), Buffer.alloc(3000, 7));
fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(50_000, 1));

const app = new App({ uploadTmpdir: tmp, maxUploadFileSize: 10_000, maxMultipartBodySize: 30_000 });
let lastTmp = '';
app.route('/upload', { methods: ['POST'] }, async (_was, args) => {
  const file = args.file as UploadedFile;
  lastTmp = file.path;
  const info = {
    name: file.name,
    size: file.size,
    mimetype: file.mimetype,
    field: args['submit-name'],
    tmpExists: fs.existsSync(file.path),
  };
  const saved = await file.save(dest, { dup: args.dup === 'o' ? 'overwrite' : 'unique' });
  return { ...info, saved: path.basename(saved) };
});
app.route('/ignore', { methods: ['POST'] }, (_was, args) => {
  lastTmp = (args.file as UploadedFile).path;
  return 'ignored';
});
app.route('/remove', { methods: ['POST'] }, async (_was, args) => {
  const f = args.file as UploadedFile;
  await f.remove();
  return String(fs.existsSync(f.path));
});
app.route('/fails', { methods: ['POST'] }, (_was, args) => {
  lastTmp = (args.file as UploadedFile).path;
  throw new Error('after upload');
});
app.route('/named', { methods: ['POST'] }, async (_was, args) =>
  path.basename(await (args.file as UploadedFile).save(path.join(dest, 'sub'), { name: 'x.png', mkdir: true })),
);

const small = new App({ maxPostBodySize: 1000 });
small.route('/', { methods: ['POST'] }, (_was, args) => String(args.f.length));

before(async () => {
  s = await serve([
    ['/small', small],
    ['/', app],
  ]);
});
after(() => s.close());

/** Resolves once `dir` is empty (temporary files are removed as their writes settle). */
async function waitEmpty(dir: string): Promise<void> {
  while (fs.readdirSync(dir).length > 0) await new Promise((r) => setImmediate(r));
}

const curl = async (...args: string[]) => (await run('curl', ['-s', ...args])).stdout;

test('curl -F: fields and a file; save() with unique names and overwrite', async () => {
  const out = JSON.parse(
    await curl(
      '-F',
      'submit-name=Hans',
      '-F',
      `file=@${path.join(src, 'photo.png')};type=image/png`,
      `${s.base}/upload`,
    ),
  );
  assert.deepEqual(out, {
    name: 'photo.png',
    size: 3000,
    mimetype: 'image/png',
    field: 'Hans',
    tmpExists: true,
    saved: 'photo.png',
  });
  assert.equal(path.dirname(lastTmp), tmp);
  assert.equal(fs.readFileSync(path.join(dest, 'photo.png')).length, 3000);
  const again = JSON.parse(await curl('-F', `file=@${path.join(src, 'photo.png')}`, `${s.base}/upload`));
  assert.equal(again.saved, 'photo.1.png');
  const over = JSON.parse(await curl('-F', 'dup=o', '-F', `file=@${path.join(src, 'photo.png')}`, `${s.base}/upload`));
  assert.equal(over.saved, 'photo.png');
  assert.equal(await curl('-F', `file=@${path.join(src, 'photo.png')}`, `${s.base}/named`), 'x.png');
  assert.ok(fs.existsSync(path.join(dest, 'sub', 'x.png')));
});

test('temporary files are removed after the request, whatever happens', async () => {
  assert.equal(await curl('-F', `file=@${path.join(src, 'photo.png')}`, `${s.base}/ignore`), 'ignored');
  assert.equal(fs.existsSync(lastTmp), false);
  const code = await curl(
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-F',
    `file=@${path.join(src, 'photo.png')}`,
    `${s.base}/fails`,
  );
  assert.equal(code, '500');
  assert.equal(fs.existsSync(lastTmp), false);
  assert.equal(await curl('-F', `file=@${path.join(src, 'photo.png')}`, `${s.base}/remove`), 'false');
  assert.deepEqual(fs.readdirSync(tmp), []);
});

test('a file over maxUploadFileSize in a body under maxMultipartBodySize: 413 at once, connection closed', async () => {
  const boundary = 'b0undary';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n` +
    `${'a'.repeat(20_000)}\r\n--${boundary}--\r\n`;
  assert.ok(body.length > app.maxUploadFileSize && body.length < app.maxMultipartBodySize);
  for (const framing of ['length', 'chunked']) {
    const head = `POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n`;
    const req =
      framing === 'length'
        ? `${head}Content-Length: ${body.length}\r\n\r\n${body}`
        : `${head}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    // Answered and closed well before raw()'s own 5 s limit (it waited for ever before).
    const began = Date.now();
    const res = await raw(s.port, req, { timeout: 5000 });
    assert.match(res.text, /^HTTP\/1.1 413 /, framing);
    assert.match(res.text, /an uploaded file is larger than 10000 bytes/);
    assert.equal(res.closed, true);
    assert.ok(Date.now() - began < 4000);
  }
  await waitEmpty(tmp);
});

test('maxUploadFileSize and maxMultipartBodySize: 413, connection closed, no file left', async () => {
  const r = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-F',
    `file=@${path.join(src, 'big.bin')}`,
    `${s.base}/ignore`,
  ]).catch((e) => e);
  assert.equal(r.stdout, '413');
  // A chunked multipart body over the total limit, fields only (no Content-Length to refuse early).
  const boundary = 'XyZ';
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\n${'v'.repeat(8000)}\r\n`;
  const body = part.repeat(5) + `--${boundary}--\r\n`;
  const req =
    `POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const res = await raw(s.port, req);
  assert.match(res.text, /^HTTP\/1.1 413 /);
  assert.equal(res.closed, true);
  // A part already on disk is removed as the request is torn down, a moment after the answer.
  await waitUntil(() => fs.readdirSync(tmp).length === 0, 2000, `no file left in ${tmp}`, 10);
  assert.equal(await curl('-F', 'f=abc', `${s.base}/small/`), '3');
  // A text field over maxPostBodySize is refused, not cut short.
  const long = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-F',
    `f=${'x'.repeat(small.maxPostBodySize + 10)}`,
    `${s.base}/small/`,
  ]).catch((e) => e);
  assert.equal(long.stdout, '413');
});
