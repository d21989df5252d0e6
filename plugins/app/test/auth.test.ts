import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { App } from '../src/index.js';
import { serve, type Served } from '../test-support/app-server.js';

const run = promisify(execFile);
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
let s: Served;

const digest = new App({
  authorization: 'digest',
  realm: 'Partner App Area',
  authenticate: true,
  users: { app: ['iamyourpartnerapp', false, { role: 'root' }], enc: [md5('enc:Partner App Area:secret'), true] },
});
digest.route(
  '/hello/<name>',
  (was, args) =>
    `Hello, ${args.name} from ${was.request.user!.name} (${JSON.stringify(was.request.user!.info ?? null)})`,
);
digest.route('/post', { methods: ['POST'] }, (_was, args) => `posted ${args.x}`);

const basic = new App({ authorization: 'basic', realm: 'B', users: new Map([['admin', 'pw']]) });
basic.route('/open', () => 'open');
basic.route('/closed', { authenticate: true }, (was) => `hi ${was.request.user!.name}`);

const guarded = new App({ securekey: 'k' });
guarded.setLoginHandler((was) => (was.session.get('user') ? undefined : was.response(401, 'please sign in')));
guarded.setPermissionCheckHandler((was, perms) =>
  perms.includes(was.request.args.level) ? undefined : was.response(403, 'permission denied'),
);
guarded.route(
  '/private',
  guarded.loginRequired(() => 'private'),
);
guarded.route(
  '/admin',
  guarded.permissionRequired(['admin'], () => 'admin area'),
);
guarded.route(
  '/super',
  guarded.testpassRequired(
    (was) => (was.request.args.su === 'root' ? undefined : was.response(403, 'not super')),
    () => 'super',
  ),
);
guarded.route('/login', (was) => {
  was.session.set('user', 'u');
  return 'in';
});

before(async () => {
  s = await serve([
    ['/d', digest],
    ['/b', basic],
    ['/g', guarded],
  ]);
});
after(() => s.close());

test('digest: 401 with a qop=auth challenge, then curl --digest gets through', async () => {
  const r = await fetch(`${s.base}/d/hello/hans`);
  assert.equal(r.status, 401);
  const challenge = r.headers.get('www-authenticate')!;
  assert.match(challenge, /^Digest realm="Partner App Area", qop="auth", algorithm=MD5, nonce="[^"]+"/);
  const { stdout } = await run('curl', ['-s', '--digest', '-u', 'app:iamyourpartnerapp', `${s.base}/d/hello/hans?x=1`]);
  assert.equal(stdout, 'Hello, hans from app ({"role":"root"})');
  const enc = await run('curl', ['-s', '--digest', '-u', 'enc:secret', `${s.base}/d/hello/e`]);
  assert.equal(enc.stdout, 'Hello, e from enc (null)');
  const post = await run('curl', ['-s', '--digest', '-u', 'app:iamyourpartnerapp', '-d', 'x=5', `${s.base}/d/post`]);
  assert.equal(post.stdout, 'posted 5');
  const wrong = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--digest',
    '-u',
    'app:wrong',
    `${s.base}/d/hello/hans`,
  ]);
  assert.equal(wrong.stdout, '401');
});

test('digest: a forged nonce, a replayed nonce count and a URI mismatch are refused', async () => {
  const r = await fetch(`${s.base}/d/hello/x`);
  const nonce = /nonce="([^"]+)"/.exec(r.headers.get('www-authenticate')!)![1]!;
  const auth = (uri: string, n: string, nc: string) => {
    const ha1 = md5('app:Partner App Area:iamyourpartnerapp');
    const ha2 = md5(`GET:${uri}`);
    const response = md5(`${ha1}:${n}:${nc}:abc:auth:${ha2}`);
    return `Digest username="app", realm="Partner App Area", nonce="${n}", uri="${uri}", qop=auth, nc=${nc}, cnonce="abc", response="${response}"`;
  };
  const ok = await fetch(`${s.base}/d/hello/x`, { headers: { authorization: auth('/d/hello/x', nonce, '00000001') } });
  assert.equal(ok.status, 200);
  const replay = await fetch(`${s.base}/d/hello/x`, {
    headers: { authorization: auth('/d/hello/x', nonce, '00000001') },
  });
  assert.equal(replay.status, 401);
  const next = await fetch(`${s.base}/d/hello/x`, {
    headers: { authorization: auth('/d/hello/x', nonce, '00000002') },
  });
  assert.equal(next.status, 200);
  const forged = await fetch(`${s.base}/d/hello/x`, {
    headers: { authorization: auth('/d/hello/x', `${nonce.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA`, '00000001') },
  });
  assert.equal(forged.status, 401);
  const elsewhere = await fetch(`${s.base}/d/hello/y`, {
    headers: { authorization: auth('/d/hello/x', nonce, '00000003') },
  });
  assert.equal(elsewhere.status, 401);
});

test('basic: per route', async () => {
  assert.equal(await (await fetch(`${s.base}/b/open`)).text(), 'open');
  const r = await fetch(`${s.base}/b/closed`);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate')!, /^Basic realm="B"/);
  const ok = await fetch(`${s.base}/b/closed`, {
    headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
  });
  assert.equal(await ok.text(), 'hi admin');
  const { stdout } = await run('curl', ['-s', '-u', 'admin:pw', `${s.base}/b/closed`]);
  assert.equal(stdout, 'hi admin');
  const bad = await fetch(`${s.base}/b/closed`, {
    headers: { authorization: `Basic ${Buffer.from('admin:no').toString('base64')}` },
  });
  assert.equal(bad.status, 401);
});

test('loginRequired, permissionRequired and testpassRequired', async () => {
  let r = await fetch(`${s.base}/g/private`);
  assert.equal(r.status, 401);
  assert.equal(await r.text(), 'please sign in');
  const login = await fetch(`${s.base}/g/login`);
  const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  r = await fetch(`${s.base}/g/private`, { headers: { cookie } });
  assert.equal(await r.text(), 'private');
  assert.equal((await fetch(`${s.base}/g/admin?level=staff`)).status, 403);
  assert.equal(await (await fetch(`${s.base}/g/admin?level=admin`)).text(), 'admin area');
  assert.equal((await fetch(`${s.base}/g/super`)).status, 403);
  assert.equal(await (await fetch(`${s.base}/g/super?su=root`)).text(), 'super');
});
