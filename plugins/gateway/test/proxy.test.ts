import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { servicesOf } from '@skitai/services';
import { request } from '@skitai/test-support';
import { deadPort, describe, startBackend, startGateway } from '../test-support/helpers.js';

test('GET and POST reach a member with the mount prefix off, hop-by-hop headers off, forwarding headers on', async () => {
  const b = await startBackend();
  const g = await startGateway({ members: [b.member] });
  try {
    const r = await request(`${g.url}/members/users/42?x=1`, {
      headers: {
        connection: 'keep-alive, x-drop',
        'x-drop': 'secret',
        'keep-alive': 'timeout=9',
        te: 'trailers',
        'proxy-authorization': 'Basic eA==',
        'x-keep': 'kept',
        'x-gtxn-id': 'GT-1',
        'x-ltxn-id': '1000',
        'x-forwarded-for': '10.9.8.7',
      },
    });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body.toString());
    assert.equal(seen.url, '/users/42?x=1');
    assert.equal(seen.headers['x-keep'], 'kept');
    for (const h of ['x-drop', 'te', 'proxy-authorization', 'keep-alive']) assert.equal(seen.headers[h], undefined, h);
    assert.equal(seen.headers['x-forwarded-for'], '10.9.8.7, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${g.port}`);
    assert.equal(seen.headers.via, '1.1 skitai');
    assert.equal(seen.headers.host, b.member);
    assert.equal(seen.headers['x-gtxn-id'], 'GT-1');
    assert.equal(seen.headers['x-ltxn-id'], '2001');
    // The member's hop-by-hop headers stay on its side too.
    assert.equal(r.headers['x-private'], undefined);
    assert.equal(r.headers['x-backend'], 'yes');
    assert.match(String(r.headers.via), /1\.1 skitai$/);

    const body = 'a=1&b=2';
    const p = await request(`${g.url}/members/form`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    });
    const posted = JSON.parse(p.body.toString());
    assert.equal(posted.method, 'POST');
    assert.equal(posted.body, body);
    assert.equal(posted.headers['content-length'], String(body.length));

    // A chunked upload goes on chunked, whatever the method.
    const chunked = await new Promise<any>((resolve, reject) => {
      const req = http.request(`${g.url}/members/chunked`, { method: 'PUT', agent: false }, (res) => {
        let t = '';
        res.on('data', (d) => {
          t += d;
        });
        res.on('end', () => resolve(JSON.parse(t)));
      });
      req.on('error', reject);
      req.write('part one, ');
      req.end('part two');
    });
    assert.equal(chunked.body, 'part one, part two');
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    // A new global id when none came in.
    assert.match(b.seen[2]!.headers['x-gtxn-id'] as string, /^[0-9a-f]{32}$/);
  } finally {
    await g.stop();
    await b.close();
  }
});

test('keep-alive to the members: many requests, few backend connections; load spread over members', async () => {
  const a = await startBackend();
  const b = await startBackend();
  let connections = 0;
  for (const s of [a, b])
    s.server.on('connection', () => {
      connections++;
    });
  const g = await startGateway({ members: [a.member, b.member] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => request(`${g.url}/members/n/${i}`, { agent })),
    );
    assert.ok(replies.every((r) => r.status === 200));
    assert.ok(connections <= 8, `backend connections: ${connections}`);
    assert.ok(a.seen.length > 50 && b.seen.length > 50, `split ${a.seen.length}/${b.seen.length}`);
  } finally {
    agent.destroy();
    await g.stop();
    await a.close();
    await b.close();
  }
});

test('a member that refuses connections is set aside and the request fails over, POST included', async () => {
  const b = await startBackend();
  const dead = await deadPort();
  const g = await startGateway({ members: [`127.0.0.1:${dead}`, b.member] });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await request(`${g.url}/members/x`, {
        method: 'POST',
        body: 'payload',
        headers: { 'content-length': 7 },
      });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body.toString()).body, 'payload');
    }
    assert.equal(b.seen.length, 5);
  } finally {
    await g.stop();
    await b.close();
  }
});

test('502 when no member answers, as an HTML page or JSON by Accept', async () => {
  const g = await startGateway({ members: [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`] });
  try {
    const html = await request(`${g.url}/members/x`);
    assert.equal(html.status, 502);
    assert.match(html.body.toString(), /<h1>502 Bad Gateway<\/h1>[\s\S]*no member of @members answered/);
    const json = await request(`${g.url}/members/x`, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 502);
    assert.equal(JSON.parse(json.body.toString()).code, 502);
  } finally {
    await g.stop();
  }
});

test('a member killed under load: 0 failed idempotent requests', async () => {
  const members = await Promise.all([startBackend(), startBackend(), startBackend()]);
  const g = await startGateway({ members: members.map((m) => m.member) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  try {
    let failed = 0;
    let ok = 0;
    let killed = false;
    const worker = async (n: number) => {
      for (let i = 0; i < 60; i++) {
        const r = await request(`${g.url}/members/load/${n}/${i}`, { agent }).catch(() => undefined);
        if (r?.status === 200) ok++;
        else failed++;
        if (!killed && ok >= 200) {
          killed = true;
          // Gone at once: open connections reset, the port refuses.
          const victim = members[1]!;
          victim.server.close();
          victim.server.closeAllConnections();
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, n) => worker(n)));
    assert.equal(killed, true);
    assert.equal(failed, 0);
    assert.equal(ok, 960);
    // The killed member was in use and then refused: it was set aside.
    const victim = servicesOf(g.kernel).getAlias('@members').members[1]!;
    assert.ok(members[1]!.seen.length > 0);
    assert.ok(victim.failures > 0, 'the killed member was set aside');
  } finally {
    agent.destroy();
    await g.stop();
    for (const m of members) await m.close();
  }
});

test('a member answering mid-body and dying cuts the client connection (no spliced answer)', async () => {
  const b = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-length': 1000 });
    res.write('x'.repeat(100), () => res.socket?.destroy());
  });
  const g = await startGateway({ members: [b.member] });
  try {
    await assert.rejects(request(`${g.url}/members/cut`));
    const again = await request(`${g.url}/members/`).catch((e) => e);
    assert.ok(again instanceof Error || again.status === 200);
  } finally {
    await g.stop();
    await b.close();
  }
});

test('start refuses an unknown alias and a role without token checks', async () => {
  const { Kernel } = await import('@skitai/kernel');
  const { services } = await import('@skitai/services');
  const { gateway } = await import('../src/index.js');
  const k1 = new Kernel();
  k1.use(services());
  k1.use(gateway());
  k1.mount('/x', '@nothere');
  await assert.rejects(k1.start({ address: '127.0.0.1', port: 0 }), /no alias @nothere/);
  const k2 = new Kernel();
  k2.use(services());
  k2.use(gateway());
  k2.alias('@admin', 'http', ['127.0.0.1:1'], { role: 'admin' });
  k2.mount('/x', '@admin');
  await assert.rejects(
    k2.start({ address: '127.0.0.1', port: 0 }),
    /asks for the role admin but the gateway checks no tokens/,
  );
  assert.throws(() => gateway({ bogus: 1 } as any), /gateway option bogus: bad value 1: unknown option/);
  assert.throws(() => gateway({ secret: 'short' }), /gateway option secret/);
  assert.throws(() => gateway({ forwardProxy: {} as any }), /never open by default/);
});

void describe;

test('redirects from a member come back under the mount: Location and Refresh rewritten as nginx proxy_redirect default does, absolute paths too', async () => {
  // The member redirects to whatever ?to= says.
  const b = await startBackend((req, res) => {
    const to = new URL(req.url!, 'http://member').searchParams.get('to')!;
    res.writeHead(302, { location: to, refresh: `0; url=${to}`, 'content-length': 0 });
    res.end();
  });
  const prefixed = await startGateway({ members: [`${b.member}/app`] });
  const plain = await startGateway({ members: [b.member], point: '/api' });
  const ask = async (url: string, to: string) => {
    const r = await request(`${url}?to=${encodeURIComponent(to)}`);
    assert.equal(r.status, 302);
    return [r.headers.location, r.headers.refresh];
  };
  try {
    const cases: Array<[string, string]> = [
      [`http://${b.member}/app/users/1`, '/members/users/1'],
      [`http://${b.member}/app?x=1`, '/members/?x=1'],
      [`HTTPS://${b.member}/app/users/1#top`, '/members/users/1#top'],
      [`//${b.member}/app/x`, '/members/x'],
      ['/app/login?next=%2Fapp%2F', '/members/login?next=%2Fapp%2F'],
      // Not the member's: another host, a path outside its prefix, relative references.
      ['https://elsewhere.example/app/x', 'https://elsewhere.example/app/x'],
      ['/application/x', '/application/x'],
      ['/other', '/other'],
      ['login', 'login'],
      ['../up', '../up'],
    ];
    for (const [to, expected] of cases) {
      assert.deepEqual(await ask(`${prefixed.url}/members/r`, to), [expected, `0; url=${expected}`], to);
    }
    assert.deepEqual(await ask(`${plain.url}/api/r`, '/login'), ['/api/login', '0; url=/api/login']);
    assert.deepEqual(await ask(`${plain.url}/api/r`, `http://${b.member}/`), ['/api/', '0; url=/api/']);
    assert.deepEqual(await ask(`${plain.url}/api/r`, 'http://127.0.0.2:1/x'), [
      'http://127.0.0.2:1/x',
      '0; url=http://127.0.0.2:1/x',
    ]);
  } finally {
    await prefixed.stop();
    await plain.stop();
    await b.close();
  }
});
