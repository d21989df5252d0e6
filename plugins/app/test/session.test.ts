import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../src/index.js';
import { serve, type Served } from '../test-support/app-server.js';

let s: Served;
const app = new App({ securekey: 'ds8fdsflksdjf9879dsf;?<>Asda', sessionTimeout: 2 });
app.route('/set', (was, args) => {
  was.session.set('user', args.user);
  return 'set';
});
app.route('/get', (was) => ({
  user: was.session.get('user') ?? null,
  exists: was.session.exists(),
  verified: was.session.sourceVerified(),
}));
app.route('/nothing', () => 'no session touched');
app.route('/read-only', (was) => String(was.session.get('user')));
app.route('/touch', (was) => {
  was.session.touch();
  return 'touched';
});
app.route('/long', (was) => {
  was.session.setExpiry(3600);
  return String(was.session.getExpiry());
});
app.route('/logout', (was) => {
  was.session.expire();
  return 'bye';
});
app.route('/adm/set', (was) => {
  was.session.mount('ADM', 'another key', { path: '/adm' });
  was.session.set('admin', true);
  return 'adm';
});
app.route('/adm/get', (was) => {
  const hadDefault = was.session.get('user') ?? null;
  was.session.mount('ADM', 'another key', { path: '/adm' });
  return { admin: was.session.get('admin') ?? null, hadDefault, exists: was.session.exists('ADM') };
});
app.route('/msg', (was) => {
  was.mbox.send('flash message', 'flash');
  was.mbox.send('kept a minute', 'alarm', 60);
  return was.redirect('/show');
});
app.route('/show', (was) => was.mbox.get().map((m) => `${m[1]}:${m[4]}`));
app.route('/show-fail', (was) => {
  was.mbox.get();
  throw new Error('fails');
});
app.route('/show-400', (was) => {
  was.mbox.get();
  return was.response(400, 'refused page');
});
app.route('/form', (was) => `<form>${was.csrfTokenInput}</form>`);
app.route('/submit', { methods: ['POST'] }, (was) => (was.csrfVerify() ? 'verified' : was.response(400, 'bad token')));
app.route('/cookie', (was) => {
  was.cookie.set('theme', 'dark');
  return String(was.cookie.get('lang') ?? 'none');
});

const nokey = new App();
nokey.route('/', (was) => {
  was.session.set('a', 1);
  return 'x';
});

before(async () => {
  s = await serve([
    ['/', app],
    ['/nokey', nokey],
  ]);
});
after(() => s.close());

/** A tiny cookie jar. */
class Jar {
  cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const r = await fetch(s.base + path, {
      redirect: 'manual',
      ...init,
      headers: { ...(init.headers as object), cookie: this.header() },
    });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /Max-Age=0/.test(c) || /Max-Age=-/.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return r;
  }
}

test('sessions live in a sealed cookie; untouched sessions write nothing', async () => {
  const jar = new Jar();
  let r = await jar.fetch('/set?user=hans');
  const sc = r.headers.getSetCookie();
  assert.equal(sc.length, 1);
  assert.match(sc[0]!, /^SESSION=[\w-]+; Path=\/; Max-Age=\d; HttpOnly; SameSite=Lax$/);
  assert.doesNotMatch(sc[0]!, /hans/);
  r = await jar.fetch('/get');
  assert.deepEqual(await r.json(), { user: 'hans', exists: true, verified: true });
  assert.equal((await jar.fetch('/nothing')).headers.getSetCookie().length, 0);
  // Reading does not extend the session.
  assert.equal((await jar.fetch('/read-only')).headers.getSetCookie().length, 0);
  assert.equal((await jar.fetch('/touch')).headers.getSetCookie().length, 1);
});

test('a tampered or foreign cookie is ignored, never trusted and never an error', async () => {
  const jar = new Jar();
  await jar.fetch('/set?user=hans');
  const value = jar.cookies.get('SESSION')!;
  const flipped = value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21);
  jar.cookies.set('SESSION', flipped);
  let r = await jar.fetch('/get');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { user: null, exists: false, verified: false });
  jar.cookies.set('SESSION', 'garbage!!');
  r = await jar.fetch('/get');
  assert.deepEqual(await r.json(), { user: null, exists: false, verified: false });
});

test('timeout, setExpiry and expire', async (t) => {
  // Expiry reads the clock: the test moves Date forward instead of waiting for it.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const jar = new Jar();
  await jar.fetch('/set?user=short');
  t.mock.timers.tick(3100);
  assert.deepEqual(await (await jar.fetch('/get')).json(), { user: null, exists: false, verified: false });
  await jar.fetch('/set?user=long');
  const expiry = Number(await (await jar.fetch('/long')).text());
  assert.ok(expiry > Date.now() / 1000 + 3000);
  // A later write does not shorten an explicit expiry.
  await jar.fetch('/set?user=long2');
  t.mock.timers.tick(2100);
  assert.equal(((await (await jar.fetch('/get')).json()) as any).user, 'long2');
  await jar.fetch('/logout');
  assert.equal(jar.cookies.has('SESSION'), false);
});

test('named sessions have their own cookie, key and path', async () => {
  const jar = new Jar();
  await jar.fetch('/set?user=hans');
  const r = await jar.fetch('/adm/set');
  const adm = r.headers.getSetCookie().find((c) => c.startsWith('SESSION_ADM='));
  assert.ok(adm);
  assert.match(adm!, /Path=\/adm/);
  assert.deepEqual(await (await jar.fetch('/adm/get')).json(), { admin: true, hadDefault: 'hans', exists: true });
});

test('message box: shown once, kept while valid, kept when the page fails', async () => {
  const jar = new Jar();
  const r = await jar.fetch('/msg');
  assert.equal(r.status, 302);
  assert.ok(jar.cookies.has('NOTIS'));
  assert.equal((await jar.fetch('/show-fail')).status, 500);
  assert.equal((await jar.fetch('/show-400')).status, 400);
  assert.deepEqual(await (await jar.fetch('/show')).json(), ['flash:flash message', 'alarm:kept a minute']);
  assert.deepEqual(await (await jar.fetch('/show')).json(), ['alarm:kept a minute']);
});

test('CSRF token in a form and its verification', async () => {
  const jar = new Jar();
  const html = await (await jar.fetch('/form')).text();
  const token = /name="csrf_token" value="([\w-]+)"/.exec(html)![1]!;
  const post = (body: string) =>
    jar.fetch('/submit', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(await (await post(`csrf_token=${token}`)).text(), 'verified');
  const bad = await post('csrf_token=forged');
  assert.equal(bad.status, 400);
  assert.equal((await post('')).status, 400);
  // A token from another session does not verify.
  const other = new Jar();
  await other.fetch('/form');
  assert.equal(
    (
      await other.fetch('/submit', {
        method: 'POST',
        body: `csrf_token=${token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    ).status,
    400,
  );
});

test('was.cookie reads and sets plain cookies', async () => {
  const r = await fetch(`${s.base}/cookie`, { headers: { cookie: 'lang=ko' } });
  assert.equal(await r.text(), 'ko');
  assert.match(r.headers.getSetCookie()[0]!, /^theme=dark; Path=\//);
});

test('a session without a securekey is a server error that says so', async () => {
  const r = await fetch(`${s.base}/nokey/`);
  assert.equal(r.status, 500);
  assert.doesNotMatch(await r.text(), /secure key/, 'no detail without debug');
});
