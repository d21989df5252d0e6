// The README's demo, started as a user starts it (node examples/demo/serve.mjs), over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { freePort, repo, sleep } from '../support/net.js';
import path from 'node:path';

const demo = path.join(repo, 'examples/demo/serve.mjs');


test('the demo serves its static site and its Express API on one port, and stops on SIGTERM', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const store = path.join(repo, 'examples/demo/var/notes.json');
  const saved = fs.existsSync(store) ? fs.readFileSync(store) : undefined;
  const child = spawn(process.execPath, [demo, '--port', String(port), '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    for (let i = 0; i < 100 && !out.includes('listening on'); i++) await sleep(50);
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
    const base = `http://127.0.0.1:${port}`;

    const home = await fetch(`${base}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /<title>Skitai demo: notes<\/title>/);
    const about = await fetch(`${base}/about`, { redirect: 'manual' });
    assert.equal(about.status, 301);
    assert.equal(about.headers.get('location'), '/about/');
    const css = await fetch(`${base}/assets/site.css`);
    assert.equal(css.headers.get('cache-control'), 'max-age=3600');

    const status = await (await fetch(`${base}/api/status`)).json() as any;
    assert.match(status.server, /^Skitai\//);
    assert.equal(status.url, '/api/status');

    const created = await fetch(`${base}/api/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'from the test' }) });
    assert.equal(created.status, 201);
    const note = await created.json() as any;
    const list = await (await fetch(`${base}/api/notes`)).json() as any;
    assert.ok(list.some((n: { id: number; text: string }) => n.id === note.id && n.text === 'from the test'));
    const bad = await fetch(`${base}/api/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":""}' });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${base}/api/notes/${note.id}`, { method: 'DELETE' })).status, 204);

    // Under 2 KiB, a script goes out as it is, even to a client that accepts gzip.
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      s.write('GET /assets/notes.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
    });
    const split = raw.indexOf('\r\n\r\n');
    assert.doesNotMatch(raw.subarray(0, split).toString(), /Content-Encoding/i);
    assert.match(raw.subarray(split + 4).toString(), /function render/);

    // The App framework site at /site: templates and its JSON API.
    const site = await fetch(`${base}/site/`);
    assert.equal(site.status, 200);
    assert.match(await site.text(), /<h1>Welcome<\/h1>/);
    const api = await fetch(`${base}/site/api/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"via the App"}' });
    assert.equal(api.status, 201);
    assert.equal(((await api.json()) as any).note.text, 'via the App');

    // The chat at /chat: a WebSocket joins a room and hears its own arrival.
    const { WebSocket } = await import('ws');
    const socket = new WebSocket(`ws://127.0.0.1:${port}/chat/chat?roomid=test&name=tester`);
    const first = await new Promise<any>((resolve, reject) => {
      socket.once('message', (data) => resolve(JSON.parse(String(data))));
      socket.once('error', reject);
    });
    assert.equal(first.type, 'enter');
    assert.equal(first.name, 'tester');
    socket.close();

    assert.match(out, /GET \/api\/status HTTP\/1\.1 0 200/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    if (saved) fs.writeFileSync(store, saved);
  }
});
