import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { Kernel, type Mountable } from '../../src/index.js';
import { request, startKernel, tempDir } from '../../test-support/http.js';

const echo = (name: string) => (req: any, res: any) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name, url: req.url, originalUrl: req.originalUrl, baseUrl: req.baseUrl }));
};

async function json(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { headers });
  return {
    status: r.status,
    headers: r.headers,
    data: r.status === 200 ? JSON.parse(r.body.toString()) : r.body.toString(),
  };
}

test('an Express app mounted at /api works unchanged: relative paths, originalUrl kept, its own 404s and redirects', async () => {
  const api = express();
  api.use(express.json());
  api.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id, url: req.url, originalUrl: req.originalUrl, baseUrl: req.baseUrl });
  });
  api.post('/echo', (req, res) => {
    res.status(201).json(req.body);
  });
  api.get('/go', (_req, res) => res.redirect('users/7'));
  const s = await startKernel((k) => k.mount('/api', api));
  try {
    const user = await json(`${s.url}/api/users/42?x=1`);
    // Express swaps the response's prototype: the Server header must survive it.
    assert.match(String(user.headers.server), /^Skitai\//);
    assert.deepEqual(user.data, { id: '42', url: '/users/42?x=1', originalUrl: '/api/users/42?x=1', baseUrl: '/api' });
    const posted = await request(`${s.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    });
    assert.equal(posted.status, 201);
    assert.deepEqual(JSON.parse(posted.body.toString()), { hello: 'world' });
    assert.equal((await request(`${s.url}/api/nothing`)).status, 404);
    assert.equal((await request(`${s.url}/elsewhere`)).status, 404);
  } finally {
    await s.stop();
  }
});

test('the longest prefix wins; a prefix matches whole segments only', async () => {
  const s = await startKernel((k) => {
    k.mount('/', echo('root'));
    k.mount('/a', echo('a'));
    k.mount('/a/b/', echo('ab'));
  });
  try {
    assert.equal((await json(`${s.url}/a/b/c`)).data.name, 'ab');
    assert.equal((await json(`${s.url}/a/b/c`)).data.url, '/c');
    assert.equal((await json(`${s.url}/a/x`)).data.name, 'a');
    assert.equal((await json(`${s.url}/ab`)).data.name, 'root');
    assert.equal((await json(`${s.url}/zzz`)).data.url, '/zzz');
  } finally {
    await s.stop();
  }
});

test('a non-root mount asked without its trailing slash redirects, keeping the query', async () => {
  const s = await startKernel((k) => k.mount('/app', echo('app')));
  try {
    const r = await request(`${s.url}/app?q=1`);
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/app/?q=1');
    assert.equal((await json(`${s.url}/app/`)).data.url, '/');
  } finally {
    await s.stop();
  }
});

test('virtual hosts by the Host header (port ignored, case ignored); others fall back to mounts for every host', async () => {
  const s = await startKernel((k) => {
    k.mount('/', echo('default'));
    k.mount('/', echo('blog'), { host: 'blog.example.com' });
    k.mount('/admin', echo('admin'), { host: 'Admin.Example.com' });
  });
  try {
    assert.equal((await json(`${s.url}/`, { host: 'blog.example.com:8080' })).data.name, 'blog');
    assert.equal((await json(`${s.url}/`, { host: 'ADMIN.example.com' })).data.name, 'default');
    assert.equal((await json(`${s.url}/admin/x`, { host: 'admin.example.com' })).data.name, 'admin');
    assert.equal((await json(`${s.url}/admin/x`, { host: 'other.example.com' })).data.name, 'default');
  } finally {
    await s.stop();
  }
});

test('nothing mounted for a path: 404', async () => {
  const s = await startKernel((k) => k.mount('/only', echo('only')));
  try {
    assert.equal((await request(`${s.url}/other`)).status, 404);
  } finally {
    await s.stop();
  }
});

test('a Mountable attaches at start with its mount info and is unmounted at stop', async () => {
  const calls: string[] = [];
  const app: Mountable = {
    mountTo(_kernel, info) {
      calls.push(`mount ${info.point} ${info.name}`);
      return (req, res) => {
        res.end(`app at ${req.baseUrl} sees ${req.url}`);
      };
    },
    umount(_kernel, info) {
      calls.push(`umount ${info.point}`);
    },
  };
  const s = await startKernel((k) => k.mount('/v1', app, { name: 'api' }));
  assert.equal((await request(`${s.url}/v1/x`)).body.toString(), 'app at /v1 sees /x');
  await s.stop();
  assert.deepEqual(calls, ['mount /v1 api', 'umount /v1']);
});

test('a module path or an installed package name is imported and mounted (default, app or handler export)', async () => {
  const swd = tempDir('skitai-mount-');
  fs.writeFileSync(path.join(swd, 'local.mjs'), `export default (req, res) => res.end('local ' + req.url);\n`);
  const pkg = path.join(swd, 'node_modules', 'some-api');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: 'some-api', type: 'module', exports: './index.js' }),
  );
  fs.writeFileSync(
    path.join(pkg, 'index.js'),
    `export const app = { mountTo: () => (req, res) => res.end('package ' + req.url) };\n`,
  );
  fs.mkdirSync(path.join(swd, 'static'));
  fs.writeFileSync(path.join(swd, 'static', 'a.txt'), 'static file');
  const s = await startKernel((k) => {
    k.setswd(swd);
    k.mount('/local', './local.mjs');
    k.mount('/v1', 'some-api');
    k.mount('/static', './static');
  });
  try {
    assert.equal((await request(`${s.url}/local/x`)).body.toString(), 'local /x');
    assert.equal((await request(`${s.url}/v1/y`)).body.toString(), 'package /y');
    assert.equal((await request(`${s.url}/static/a.txt`)).body.toString(), 'static file');
    assert.equal(s.kernel.abspath('static'), path.join(swd, 'static'));
  } finally {
    await s.stop();
    fs.rmSync(swd, { recursive: true, force: true });
  }
});

test('bad mounts are refused with the reason', async () => {
  const k = new Kernel();
  assert.throws(() => k.mount('api', () => {}), { code: 'SKT_MOUNT_POINT' });
  assert.throws(() => k.mount('/x', 42 as any), { code: 'SKT_MOUNT_TARGET' });
  k.mount('/x', () => {});
  assert.throws(() => k.mount('/x/', () => {}), { code: 'SKT_MOUNT_DUPLICATE' });
  const k2 = new Kernel().setswd(tempDir());
  k2.mount('/gone', 'no-such-package-anywhere');
  await assert.rejects(
    k2.start({ address: '127.0.0.1', port: 0 }),
    (err: any) => err.code === 'SKT_MOUNT_TARGET' && /no-such-package-anywhere/.test(err.message),
  );
  const swd = tempDir();
  fs.writeFileSync(path.join(swd, 'nothing.mjs'), 'export const x = 1;\n');
  const k3 = new Kernel().setswd(swd);
  k3.mount('/n', './nothing.mjs');
  await assert.rejects(k3.start({ address: '127.0.0.1', port: 0 }), /exports no App or \(req, res\) handler/);
});

test('a folder and a handler at the same point: the handler first, the folder for what it passes on', async () => {
  const swd = tempDir();
  fs.mkdirSync(path.join(swd, 'static'));
  fs.writeFileSync(path.join(swd, 'static', 'logo.txt'), 'the logo');
  const api = express();
  api.get('/hello', (_req, res) => {
    res.type('text').send('from express');
  });
  const s = await startKernel((k) => {
    k.setswd(swd);
    k.mount('/', './static'); // Skitai's habit: the folder first...
    k.mount('/', api); // ...and an app at the same point
  });
  try {
    assert.equal((await request(`${s.url}/hello`)).body.toString(), 'from express');
    const file = await request(`${s.url}/logo.txt`);
    assert.equal(file.status, 200);
    assert.equal(file.body.toString(), 'the logo');
    assert.equal((await request(`${s.url}/missing.txt`)).status, 404);
  } finally {
    await s.stop();
    fs.rmSync(swd, { recursive: true, force: true });
  }
});

test('only a folder may share a point: two handlers are refused at mount(), two modules at start', async () => {
  const k = new Kernel();
  k.mount('/', () => {});
  assert.throws(() => k.mount('/', () => {}), { code: 'SKT_MOUNT_DUPLICATE' });
  const swd = tempDir();
  fs.writeFileSync(path.join(swd, 'a.mjs'), 'export default (req, res) => res.end("a");\n');
  const k2 = new Kernel().setswd(swd);
  k2.mount('/', './a.mjs');
  k2.mount('/', (_req, res) => {
    res.end('b');
  });
  await assert.rejects(
    k2.start({ address: '127.0.0.1', port: 0 }),
    (err: any) =>
      err.code === 'SKT_MOUNT_TARGET' && /only a folder of static files may share a point/.test(err.message),
  );
  assert.throws(() => new Kernel().mount('/', './x').mount('/', './y').mount('/', './z'), {
    code: 'SKT_MOUNT_DUPLICATE',
  });
});
