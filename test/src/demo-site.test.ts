// The App framework part of the demo, mounted alone and driven as a browser would (cookies kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kernel } from '@skitai/kernel';
import { repo } from '../support/net.js';

test('the demo\'s App site (examples/demo/site.mjs): pages, session login with CSRF, upload, JSON API', async () => {
  const uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-up-'));
  const { createSiteApp } = await import(pathToFileURL(path.join(repo, 'examples/demo/site.mjs')).href) as any;
  const kernel = new Kernel();
  kernel.mount('/site', createSiteApp({ uploadDir, securekey: 'test key' }));
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  const s = { base: `http://127.0.0.1:${port}`, close: () => kernel.stop() };
  const jar = new Map<string, string>();
  const go = async (p: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(s.base + p, { redirect: 'manual', ...init, headers: { ...(init.headers as object), cookie } });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (v === '' || /Max-Age=0/.test(c)) jar.delete(k);
      else jar.set(k, v);
    }
    return r;
  };
  try {
    let r = await go('/site/');
    let html = await r.text();
    assert.match(html, /<h1>Welcome<\/h1>/);
    assert.match(html, /href="\/site\/login">Sign in/);

    // The upload page needs a login: redirected to the form with next=.
    r = await go('/site/upload');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/site/login?next=%2Fsite%2Fupload');

    html = await (await go('/site/login?next=%2Fsite%2Fupload')).text();
    const token = /name="csrf_token" value="([\w-]+)"/.exec(html)![1]!;
    const form = (body: Record<string, string>) => go('/site/login', { method: 'POST', body: new URLSearchParams(body), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal((await form({ username: 'demo', password: 'demo', csrf_token: 'forged' })).status, 400);
    r = await form({ username: 'demo', password: 'wrong', csrf_token: token });
    assert.match(await r.text(), /Invalid user name or password/);
    r = await form({ username: 'demo', password: 'demo', csrf_token: token, next: '/site/upload' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/site/upload');

    html = await (await go('/site/upload')).text();
    assert.match(html, /Signed in as demo/);
    const upToken = /name="csrf_token" value="([\w-]+)"/.exec(html)![1]!;
    const fd = new FormData();
    fd.set('csrf_token', upToken);
    fd.set('file', new Blob(['hello file']), 'hello.txt');
    r = await go('/site/upload', { method: 'POST', body: fd });
    assert.equal(r.status, 302);
    assert.equal(fs.readFileSync(path.join(uploadDir, 'hello.txt'), 'utf8'), 'hello file');
    html = await (await go('/site/')).text();
    assert.match(html, /Hello, demo/);
    assert.match(html, /Uploaded hello.txt \(10 bytes\)/);
    assert.match(html, /<li>hello.txt<\/li>/);

    // JSON API
    assert.deepEqual(await (await go('/site/api/notes')).json(), { notes: [{ id: 1, text: 'Skitai for Node.js' }] });
    r = await go('/site/api/notes', { method: 'POST', body: JSON.stringify({ text: 'second' }), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 201);
    assert.deepEqual(await r.json(), { note: { id: 2, text: 'second' }, url: '/site/api/notes/2' });
    assert.deepEqual(await (await go('/site/api/notes/2')).json(), { id: 2, text: 'second' });
    r = await go('/site/api/notes/9');
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { message: 'no note 9', code: 40401 });
    r = await go('/site/api/notes', { method: 'POST', body: JSON.stringify({ text: 'x', extra: 1 }), headers: { 'content-type': 'application/json', accept: 'application/json' } });
    assert.equal(r.status, 400);

    r = await go('/site/logout');
    assert.equal(r.status, 302);
    html = await (await go('/site/')).text();
    assert.match(html, /Welcome/);
    assert.match(html, /Signed out/);
  } finally {
    await s.close();
  }
});
