import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { parseRequestLine, REQUEST_LOG_FIELDS } from '@skitai/kernel';
import { request } from '@skitai/test-support';
import { startBackend, startGateway } from '../test-support/helpers.js';

const SECRET = '8fa06210-e109-11e6-934f-001b216d6e71';
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

test('JWT: valid HS256 and RS256 pass; expired, not yet valid, wrong key, alg none and malformed get 401; the member never sees them', async () => {
  const b = await startBackend();
  const g = await startGateway({ members: [b.member], options: { secret: SECRET, publicKey } });
  const call = (token?: string) =>
    request(`${g.url}/members/me`, {
      headers: { accept: 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    });
  try {
    const hs = await call(
      jwt.sign({ user: 'hansroh', roles: ['user'] }, SECRET, { algorithm: 'HS256', expiresIn: 60 }),
    );
    assert.equal(hs.status, 200);
    const rs = await call(jwt.sign({ sub: 'alice' }, privateKey, { algorithm: 'RS256' }));
    assert.equal(rs.status, 200);
    assert.equal(b.seen.length, 2);

    const cases: Array<[string, string | undefined, RegExp]> = [
      ['none', undefined, /a bearer token is required/],
      ['expired', jwt.sign({ user: 'a', exp: now() - 10 }, SECRET), /has expired/],
      ['not yet valid', jwt.sign({ user: 'a', nbf: now() + 3600 }, SECRET), /not valid yet/],
      ['wrong key', jwt.sign({ user: 'a' }, 'another-secret-of-enough-length'), /invalid token/],
      [
        'RS256 by another key',
        jwt.sign({ user: 'a' }, crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, {
          algorithm: 'RS256',
        }),
        /invalid token/,
      ],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ user: 'admin', roles: ['admin'] })}.`, /invalid token/],
      [
        'HS256 signed with the public key (alg confusion)',
        jwt.sign({ user: 'a' }, 'x'.repeat(32)).replace(/\..*$/, '') +
          '.' +
          b64({ user: 'a' }) +
          '.' +
          crypto
            .createHmac('sha256', publicKey)
            .update(`${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ user: 'a' })}`)
            .digest('base64url'),
        /invalid token/,
      ],
      ['malformed', 'abc.def.ghi', /invalid token/],
      ['not a JWT, no handleToken', 'opaque-token-1234', /no handleToken/],
    ];
    for (const [name, token, why] of cases) {
      const r = await call(token);
      assert.equal(r.status, 401, name);
      assert.match(JSON.parse(r.body.toString()).message, why, name);
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="skitai"/, name);
    }
    assert.equal(b.seen.length, 2, 'nothing refused reached the member');
  } finally {
    await g.stop();
    await b.close();
  }
});

test("handleToken and handleClaim decide; the alias's role gives 403 to a caller without it; user and token start in the request log", async () => {
  const b = await startBackend();
  const logpath = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-log-'));
  const tokens: Record<string, { user: string; roles: string[] }> = {
    '12345678-1234-123456': { user: 'hansroh', roles: ['user', 'admin'] },
    '99999999-0000-000000': { user: 'guest', roles: ['user'] },
  };
  const g = await startGateway({
    members: [b.member],
    aliasOptions: { role: 'admin' },
    logpath,
    options: {
      secret: SECRET,
      authorizer: {
        handleToken: async (_req, token) => tokens[token],
        handleClaim: (claim) => (claim.blocked ? false : { user: String(claim.user), roles: claim.roles as string[] }),
      },
    },
  });
  try {
    const admin = await request(`${g.url}/members/a`, { headers: { authorization: 'Bearer 12345678-1234-123456' } });
    assert.equal(admin.status, 200);
    const guest = await request(`${g.url}/members/a`, {
      headers: { authorization: 'Bearer 99999999-0000-000000', accept: 'application/json' },
    });
    assert.equal(guest.status, 403);
    assert.match(JSON.parse(guest.body.toString()).message, /needs the role admin/);
    const unknown = await request(`${g.url}/members/a`, { headers: { authorization: 'Bearer 00000000-0000-000000' } });
    assert.equal(unknown.status, 401);
    const claimAdmin = await request(`${g.url}/members/a`, {
      headers: { authorization: `Bearer ${jwt.sign({ user: 'carol', roles: ['admin'] }, SECRET)}` },
    });
    assert.equal(claimAdmin.status, 200);
    const blocked = await request(`${g.url}/members/a`, {
      headers: { authorization: `Bearer ${jwt.sign({ user: 'dave', roles: ['admin'], blocked: true }, SECRET)}` },
    });
    assert.equal(blocked.status, 401);
    assert.equal(b.seen.length, 2);
  } finally {
    await g.stop();
    await b.close();
  }
  const lines = fs.readFileSync(path.join(logpath, 'request.log'), 'utf8').trim().split('\n').map(parseRequestLine);
  const at = (name: (typeof REQUEST_LOG_FIELDS)[number]) => REQUEST_LOG_FIELDS.indexOf(name);
  assert.deepEqual(
    lines.map((f) => [f[at('status')], f[at('user')], f[at('bearer')]]),
    [
      ['200', 'hansroh', '123456...'],
      ['403', 'guest', '999999...'],
      ['401', '-', '000000...'],
      ['200', 'carol', lines[3]![at('bearer')]],
      ['401', '-', lines[4]![at('bearer')]],
    ],
  );
  assert.match(lines[3]![at('bearer')]!, /^eyJ\w{3}\.\.\.$/);
});

test("the alias's source rule: 403 outside the networks, before any token check or upstream call", async () => {
  const b = await startBackend();
  const outside = await startGateway({ members: [b.member], aliasOptions: { source: '10.0.0.0/8, 192.168.1.0/24' } });
  const inside = await startGateway({ members: [b.member], aliasOptions: { source: ['10.0.0.0/8', '127.0.0.0/8'] } });
  try {
    const r = await request(`${outside.url}/members/x`, { headers: { accept: 'application/json' } });
    assert.equal(r.status, 403);
    assert.match(JSON.parse(r.body.toString()).message, /@members does not serve this client address/);
    assert.equal(b.seen.length, 0);
    assert.equal((await request(`${inside.url}/members/x`)).status, 200);
    assert.equal(b.seen.length, 1);
  } finally {
    await outside.stop();
    await inside.stop();
    await b.close();
  }
});
