// The README's demo (examples/demo/serve.mjs), started as a user starts it, over real sockets:
// every page, sign-in with CSRF, the JSON API with an upload, the Express service reading the
// same notes, static assets, the chat, rude clients, and a clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { WebSocket } from 'ws';
import pg from 'pg';
import { browserLike, startDemo } from '../support/demo.js';

const csrfOf = (html: string) => /name="csrf_token" value="([\w-]+)"/.exec(html)![1]!;
const form = (body: Record<string, string>): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(body),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

async function signIn(go: ReturnType<typeof browserLike>, name: string): Promise<string> {
  const token = csrfOf(await (await go('/login')).text());
  const r = await go('/login', form({ username: name, password: name, csrf_token: token }));
  assert.equal(r.status, 302);
  return csrfOf(await (await go('/')).text()); // the signed-in page's token, for the API
}

function rawRequest(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
    s.write(bytes);
  });
}

test(
  'the demo: pages, static assets, sign-in with CSRF, notes with an upload, Express on the same notes, chat, stop',
  { timeout: 60_000 },
  async () => {
    const demo = await startDemo(['-v']);
    const { base, port } = demo;
    try {
      // Pages, signed out.
      const go = browserLike(base);
      let r = await go('/');
      assert.equal(r.status, 200);
      assert.equal(
        r.headers.get('link'),
        '</assets/style.css>; rel=preload, </assets/notes.js>; rel=preload',
        'the page hints its assets',
      );
      let html = await r.text();
      assert.match(html, /<title>Notes · Skitai Notes<\/title>/);
      assert.match(html, /<link rel="stylesheet" href="\/assets\/style.css">/);
      assert.match(html, /href="\/login">Sign in<\/a>/);
      assert.doesNotMatch(html, /id="add"/, 'no note form for a signed-out reader');
      assert.match(await (await go('/about')).text(), /<h1>How this is built<\/h1>/);
      r = await go('/chat');
      assert.equal(r.status, 302);
      assert.equal(r.headers.get('location'), '/login?next=%2Fchat');
      r = await go('/no/such/page');
      assert.equal(r.status, 404);
      assert.match(await r.text(), /assets\/style.css[\s\S]*<h1>404: /, 'the 404 page has the layout');

      // Static assets: cached for an hour, with validators.
      for (const [file, type] of [
        ['style.css', 'text/css'],
        ['notes.js', 'text/javascript'],
        ['chat.js', 'text/javascript'],
        ['favicon.svg', 'image/svg+xml'],
      ]) {
        r = await fetch(`${base}/assets/${file}`);
        assert.equal(r.status, 200, file);
        assert.ok(r.headers.get('content-type')!.startsWith(type), file);
        assert.equal(r.headers.get('cache-control'), 'max-age=3600', file);
        const etag = r.headers.get('etag')!;
        assert.equal((await fetch(`${base}/assets/${file}`, { headers: { 'if-none-match': etag } })).status, 304, file);
      }

      // The API, signed out: reading is open, writing is not.
      assert.deepEqual(await (await go('/api/notes')).json(), { notes: [] });
      r = await go('/api/notes', {
        method: 'POST',
        body: JSON.stringify({ text: 'anonymous' }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 401);

      // Sign-in: a forged token, a wrong password, an open redirect, then the real thing.
      html = await (await go('/login?next=%2Fchat')).text();
      const token = csrfOf(html);
      assert.match(html, /name="next" value="\/chat"/);
      assert.equal(
        (await go('/login', form({ username: 'demo', password: 'demo', csrf_token: 'forged' }))).status,
        400,
      );
      r = await go('/login', form({ username: 'demo', password: 'wrong', csrf_token: token }));
      assert.equal(r.status, 302);
      assert.match(await (await go(r.headers.get('location')!)).text(), /Wrong user name or password/);
      r = await go('/login', form({ username: 'demo', password: 'demo', csrf_token: token, next: '//evil.example/' }));
      assert.equal(r.headers.get('location'), '/', 'only a path on this site is followed');
      r = await go('/login', form({ username: 'demo', password: 'demo', csrf_token: token, next: '/chat' }));
      assert.equal(r.headers.get('location'), '/chat');
      html = await (await go('/chat')).text();
      assert.match(html, /Signed in as demo\./);
      assert.match(html, /data-socket="\/chat\/ws"/);
      html = await (await go('/')).text();
      assert.match(html, /id="add"/);
      const csrf = /<meta name="csrf-token" content="([\w-]+)">/.exec(html)![1]!;

      // The chat: a signed-in socket joins the room under its session's name; others are refused.
      const refused = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/ws`);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode!);
          ws.terminate();
        });
        ws.on('open', () => reject(new Error('a signed-out socket was let in')));
        ws.on('error', () => {});
      });
      assert.equal(refused, 403);
      const chat = new WebSocket(`ws://127.0.0.1:${port}/chat/ws`, { headers: { cookie: go.cookies() } });
      const heard: any[] = [];
      const waiters: Array<() => void> = [];
      chat.on('message', (d) => {
        heard.push(JSON.parse(String(d)));
        waiters.splice(0).forEach((w) => w());
      });
      const hear = async (type: string) => {
        while (!heard.some((m) => m.type === type)) await new Promise<void>((resolve) => waiters.push(resolve));
        return heard.find((m) => m.type === type);
      };
      assert.deepEqual(await hear('enter'), { type: 'enter', name: 'demo' });
      chat.send(JSON.stringify({ text: '  hello room  ', name: 'someone else' }));
      assert.deepEqual(await hear('say'), { type: 'say', name: 'demo', text: 'hello room' });

      // Notes: CSRF is required, bad input is a clear 400.
      const post = (body: BodyInit, headers: Record<string, string> = {}) =>
        go('/api/notes', { method: 'POST', body, headers: { accept: 'application/json', ...headers } });
      r = await post(JSON.stringify({ text: 'no token' }), { 'content-type': 'application/json' });
      assert.equal(r.status, 403);
      assert.deepEqual(await r.json(), { message: 'The page expired: reload it.', code: 403 });
      r = await post(JSON.stringify({ text: '   ' }), { 'content-type': 'application/json', 'x-csrf-token': csrf });
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as any).message, /1 to 500 characters/);
      r = await post(JSON.stringify({ text: 'x'.repeat(501) }), {
        'content-type': 'application/json',
        'x-csrf-token': csrf,
      });
      assert.equal(r.status, 400);
      r = await post(JSON.stringify({ text: 'x', file: 'not a file' }), {
        'content-type': 'application/json',
        'x-csrf-token': csrf,
      });
      assert.equal(r.status, 400);
      r = await post(JSON.stringify({ text: 'x', extra: 1 }), {
        'content-type': 'application/json',
        'x-csrf-token': csrf,
      });
      assert.equal(r.status, 400, 'an undeclared parameter');

      r = await post(JSON.stringify({ text: 'First note' }), {
        'content-type': 'application/json',
        'x-csrf-token': csrf,
      });
      assert.equal(r.status, 201);
      const first = ((await r.json()) as any).note;
      assert.equal(first.text, 'First note');
      assert.equal(first.author, 'demo');
      assert.deepEqual(
        await hear('note'),
        { type: 'note', name: 'demo', text: 'First note' },
        'the chat hears about a new note',
      );

      // An upload, as the page's form sends it (multipart, the token as a field), served back.
      const fd = new FormData();
      fd.set('csrf_token', csrf);
      fd.set('text', 'With the agenda');
      fd.set('file', new Blob(['1. Demo\n2. Release\n'], { type: 'text/html' }), 'agenda.html');
      r = await post(fd);
      assert.equal(r.status, 201);
      const second = ((await r.json()) as any).note;
      assert.deepEqual(second.file, { name: 'agenda.html', size: 19, url: `/notes/${second.id}/file` });
      r = await go(second.file.url);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), '1. Demo\n2. Release\n');
      assert.equal(
        r.headers.get('content-type'),
        'application/octet-stream',
        'an uploaded page is not served as a page',
      );
      assert.equal(r.headers.get('content-disposition'), "attachment; filename*=UTF-8''agenda.html");
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      const png = Buffer.from(
        '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f0bd6a0000000049454e44ae426082',
        'hex',
      );
      const img = new FormData();
      img.set('csrf_token', csrf);
      img.set('text', 'A picture');
      img.set('file', new Blob([png], { type: 'image/png' }), 'dot.png');
      img.set('file2', 'x');
      assert.equal((await post(img)).status, 400, 'an undeclared field in a multipart form');
      img.delete('file2');
      const third = ((await (await post(img)).json()) as any).note;
      r = await go(third.file.url);
      assert.equal(r.headers.get('content-type'), 'image/png');
      assert.equal(r.headers.get('content-disposition'), null, 'an image is shown inline');
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), png);

      // Writes at the same moment: none is lost, no id is given twice.
      const burst = await Promise.all(
        [1, 2, 3, 4, 5].map((i) =>
          post(JSON.stringify({ text: `burst ${i}` }), {
            'content-type': 'application/json',
            'x-csrf-token': csrf,
          }).then((x) => x.json() as Promise<any>),
        ),
      );
      assert.equal(new Set(burst.map((b) => b.note.id)).size, 5);
      for (const b of burst)
        assert.equal(
          (await go(`/api/notes/${b.note.id}`, { method: 'DELETE', headers: { 'x-csrf-token': csrf } })).status,
          204,
        );

      // The App's API and the Express service read the same store.
      const listed = ((await (await go('/api/notes')).json()) as any).notes;
      assert.deepEqual(
        listed.map((n: any) => n.text),
        ['A picture', 'With the agenda', 'First note'],
      );
      assert.deepEqual(await (await go(`/api/notes/${first.id}`)).json(), first);
      r = await fetch(`${base}/legacy/notes`);
      assert.equal(r.status, 200);
      assert.deepEqual(
        ((await r.json()) as any[]).map((n) => [n.id, n.text, n.author]),
        listed.map((n: any) => [n.id, n.text, n.author]),
      );
      const status = (await (await fetch(`${base}/legacy/status`)).json()) as any;
      assert.match(status.server, /^Skitai\//);
      assert.equal(status.url, '/legacy/status', 'Express sees its mount point in originalUrl');

      // Deleting: only the author, with the token.
      const ana = browserLike(base);
      const anaCsrf = await signIn(ana, 'ana');
      r = await ana(`/api/notes/${second.id}`, { method: 'DELETE', headers: { 'x-csrf-token': anaCsrf } });
      assert.equal(r.status, 403);
      assert.equal((await fetch(`${base}/api/notes/${second.id}`, { method: 'DELETE' })).status, 403);
      assert.equal((await go(`/api/notes/${second.id}`, { method: 'DELETE' })).status, 403, 'no token');
      const stored = path.join(demo.data, 'uploads', 'agenda.html');
      assert.ok(fs.existsSync(stored));
      r = await go(`/api/notes/${second.id}`, { method: 'DELETE', headers: { 'x-csrf-token': csrf } });
      assert.equal(r.status, 204);
      assert.equal(fs.existsSync(stored), false, 'the attachment goes with its note');
      assert.equal((await go(`/api/notes/${second.id}`)).status, 404);
      assert.equal((await go(second.file.url)).status, 404);
      assert.equal(((await fetch(`${base}/legacy/notes`).then((x) => x.json())) as any[]).length, 2);

      // Signing out needs the token too (a POST form in the header).
      assert.equal((await go('/logout', form({ csrf_token: 'forged' }))).status, 400);
      r = await go('/logout', form({ csrf_token: csrf }));
      assert.equal(r.status, 302);
      assert.match(await (await go('/')).text(), /Signed out\.[\s\S]*href="\/login">Sign in/);

      // Rude clients: garbage, a request cut in the middle of an upload, a reset. Still serving.
      assert.match(await rawRequest(port, '\x16\x03\x01\x02\x00garbage\r\n\r\n'), /^HTTP\/1\.1 400/);
      const cut = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => cut.once('connect', resolve));
      cut.write(
        `POST /api/notes HTTP/1.1\r\nHost: x\r\nCookie: ${ana.cookies()}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\nabc`,
      );
      cut.end();
      const reset = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => reset.once('connect', resolve));
      reset.write('GET / HTTP/1.1\r\nHost: x\r\n');
      reset.resetAndDestroy();
      assert.equal((await fetch(`${base}/api/notes`)).status, 200);

      // The status page, for this machine only: the notes' database is one of its aliases.
      r = await fetch(`${base}/status/`, { headers: { accept: 'application/json' } });
      assert.equal(r.status, 200);
      assert.match(JSON.stringify(await r.json()), /@notes/);

      chat.close();
      assert.match(demo.log(), /GET \/legacy\/status HTTP\/1\.1 0 200/);
      assert.doesNotMatch(demo.log(), /GET \/assets\//, 'the assets are not logged');
      assert.equal(await demo.stop(), 0);
    } finally {
      await demo.stop();
    }
  },
);

test(
  'the notes are in SQLite: they survive a restart, and a notes.json of an older demo is imported once',
  { timeout: 60_000 },
  async () => {
    const old = [
      { id: 4, text: 'Written in May', author: 'demo', at: '2026-05-01T08:00:00.000Z' },
      {
        id: 9,
        text: 'With a file',
        author: 'ana',
        at: '2026-06-01T08:00:00.000Z',
        file: { name: 'a.txt', size: 3, type: 'text/plain', stored: 'a.txt' },
      },
    ];
    let data = '';
    const first = await startDemo([], {
      before: (dir) => {
        data = dir;
        fs.writeFileSync(path.join(dir, 'notes.json'), JSON.stringify(old));
      },
    });
    try {
      const notes = ((await (await fetch(`${first.base}/api/notes`)).json()) as any).notes;
      assert.deepEqual(
        notes.map((n: any) => [n.text, n.author, n.at]),
        old.reverse().map((n) => [n.text, n.author, n.at]),
        'newest first, times kept',
      );
      assert.deepEqual(notes[0].file, { name: 'a.txt', size: 3, url: `/notes/${notes[0].id}/file` });
      assert.ok(fs.existsSync(path.join(data, 'notes.sqlite3')));
      assert.ok(fs.existsSync(path.join(data, 'notes.json.imported')), 'the old file is kept, renamed');
      assert.ok(!fs.existsSync(path.join(data, 'notes.json')));
    } finally {
      assert.equal(await first.stop(true), 0);
    }
    // Started again on the same folder: the same notes, nothing imported twice.
    const again = await startDemo([], { before: (dir) => fs.cpSync(data, dir, { recursive: true }) });
    try {
      const notes = (await (await fetch(`${again.base}/legacy/notes`)).json()) as any[];
      assert.deepEqual(
        notes.map((n) => n.text),
        ['With a file', 'Written in May'],
      );
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
      await again.stop();
    }
  },
);

// The same demo with DATABASE=postgresql://...: only the alias changes (examples/demo/serve.mjs).
const pgReady = Boolean(process.env.PGHOST && process.env.PGPORT);
if (!pgReady && process.env.CI === 'true')
  throw new Error('CI=true but PostgreSQL is not configured (scripts/services.sh start sets PGHOST, PGPORT)');
test(
  'the demo on PostgreSQL: notes written through the App are read by Express, ids never reused',
  {
    timeout: 60_000,
    skip: pgReady ? false : 'PostgreSQL not configured: run eval "$(scripts/services.sh start)"',
  },
  async () => {
    const name = `skitai_demo_${process.pid}`;
    const admin = new pg.Client({
      host: process.env.PGHOST,
      port: Number(process.env.PGPORT),
      user: process.env.PGUSER ?? 'postgres',
      database: 'postgres',
    });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = `postgresql://${process.env.PGUSER ?? 'postgres'}@${process.env.PGHOST}:${process.env.PGPORT}/${name}`;
    const demo = await startDemo([], { env: { DATABASE: url } });
    try {
      const go = browserLike(demo.base);
      const csrf = await signIn(go, 'demo');
      const add = async (text: string) => {
        const r = await go('/api/notes', {
          method: 'POST',
          body: JSON.stringify({ text }),
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        });
        assert.equal(r.status, 201);
        return ((await r.json()) as any).note;
      };
      const a = await add('on PostgreSQL');
      const b = await add('second');
      assert.equal(
        (await go(`/api/notes/${b.id}`, { method: 'DELETE', headers: { 'x-csrf-token': csrf } })).status,
        204,
      );
      const c = await add('third');
      assert.ok(c.id > b.id, 'a deleted id is not given again');
      const listed = (await (await fetch(`${demo.base}/legacy/notes`)).json()) as any[];
      assert.deepEqual(
        listed.map((n) => [n.id, n.text]),
        [
          [c.id, 'third'],
          [a.id, 'on PostgreSQL'],
        ],
      );
      const inside = new pg.Client({
        host: process.env.PGHOST,
        port: Number(process.env.PGPORT),
        user: process.env.PGUSER ?? 'postgres',
        database: name,
      });
      await inside.connect();
      assert.deepEqual(
        (await inside.query('SELECT text FROM notes ORDER BY id')).rows.map((r) => r.text),
        ['on PostgreSQL', 'third'],
        'the rows are in PostgreSQL',
      );
      await inside.end();
      assert.equal(fs.existsSync(path.join(demo.data, 'notes.sqlite3')), false, 'no SQLite file');
    } finally {
      await demo.stop();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  },
);
