import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BackendServices,
  parseMember,
  registerAliasType,
  parsePathMember,
  services,
  servicesOf,
} from '../src/index.js';
import { Kernel, SkitaiError } from '@skitai/kernel';

test('member strings: user, password, host, port, db and weight', () => {
  assert.deepEqual(parseMember('postgres:1234@192.168.1.1:5432/mydb 20'), {
    text: 'postgres:1234@192.168.1.1:5432/mydb 20',
    user: 'postgres',
    password: '1234',
    host: '192.168.1.1',
    port: 5432,
    db: 'mydb',
    weight: 20,
  });
  const plain = parseMember('  example.com  ', 80);
  assert.equal(plain.host, 'example.com');
  assert.equal(plain.port, 80);
  assert.equal(plain.weight, 1);
  assert.equal(plain.user, undefined);
  const v6 = parseMember('[::1]:5000 3');
  assert.equal(v6.host, '::1');
  assert.equal(v6.port, 5000);
  assert.equal(v6.weight, 3);
  const escaped = parseMember('me%40corp:p%40ss%3Aw@db.local/my%20db\t2');
  assert.equal(escaped.user, 'me@corp');
  assert.equal(escaped.password, 'p@ss:w');
  assert.equal(escaped.db, 'my db');
  assert.equal(escaped.weight, 2);
  assert.equal(parseMember('user@host').password, undefined);
  assert.equal(parsePathMember('/var/db/app.sqlite3 2').db, '/var/db/app.sqlite3');
});

test('bad member strings fail with the offending text and the reason', () => {
  const services = new BackendServices();
  const bad: Array<[unknown, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['host:99999', /port "99999"/],
    ['host:0', /port "0"/],
    ['host:abc', /port "abc"/],
    ['host:5000 0', /weight "0"/],
    ['host:5000 -2', /weight "-2"/],
    ['host:5000 2.5', /weight "2.5"/],
    ['host:5000 heavy', /weight "heavy"/],
    ['host:5000 2 3', /too many words/],
    ['http://host:5000', /no scheme/],
    ['::1:5000', /IPv6 address in brackets/],
    ['[::1:5000', /closing "\]"/],
    ['[::1]x', /only ":port"/],
    ['a@b@host', /%40/],
    [':pw@host', /user before "@" is empty/],
    ['ho st:80', /weight "st:80"/],
    ['bad_host!:80', /not a host name/],
    ['-leading.dash', /not a host name/],
    ['user:%zz@host', /percent escape/],
    [':5000', /host is empty/],
    [42, /a member is a string, not number/],
  ];
  for (const [text, why] of bad) {
    const err = assert.throws(
      () => services.alias('@bad', 'http', [text as string]),
      (e: unknown) => {
        assert.ok(e instanceof SkitaiError, String(e));
        assert.equal(e.code, 'SKT_ALIAS_MEMBER');
        assert.match(e.message, why, `${JSON.stringify(text)}: ${e.message}`);
        assert.ok(e.message.includes(JSON.stringify(typeof text === 'string' ? text : text)), e.message);
        assert.ok(e.message.includes('@bad'));
        return true;
      },
    );
    void err;
  }
  // None of the failed aliases was registered.
  assert.equal(services.aliases.size, 0);
});

test('alias names, types, duplicates and options are checked', () => {
  const services = new BackendServices();
  for (const name of ['api', '@', '@a b', '', '@/x']) {
    assert.throws(() => services.alias(name, 'http', ['h:1']), { code: 'SKT_ALIAS_NAME' });
  }
  assert.throws(
    () => services.alias('@x', 'gopher', ['h:1']),
    (e: SkitaiError) => e.code === 'SKT_ALIAS_TYPE' && /http, https, ws, wss/.test(e.message),
  );
  assert.throws(() => services.alias('@x', 'http', []), { code: 'SKT_ALIAS_MEMBER' });
  assert.throws(() => services.alias('@x', 'http', 12 as any), { code: 'SKT_ALIAS_MEMBER' });
  assert.throws(() => services.alias('@x', 'http', ['h:1'], { source: '10.0.0.0/40' }), { code: 'SKT_ALIAS_OPTION' });
  assert.throws(() => services.alias('@x', 'http', ['h:1'], { source: '300.1.1.1' }), { code: 'SKT_ALIAS_OPTION' });
  assert.throws(() => services.alias('@x', 'http', ['h:1'], { setAside: { first: -1 } }), { code: 'SKT_ALIAS_OPTION' });
  const a = services.alias('@x', 'https', 'api.example.com', {
    role: 'admin, ops',
    source: ',192.168.1/24,10.0.0.0/8',
  });
  assert.throws(() => services.alias('@x', 'http', ['h:1']), { code: 'SKT_ALIAS_DUPLICATE' });
  assert.equal(a.ssl, true);
  assert.equal(a.members[0]!.port, 443);
  assert.deepEqual(a.roles, ['admin', 'ops']);
  assert.equal(a.allowsSource('192.168.1.77'), true);
  assert.equal(a.allowsSource('::ffff:10.2.3.4'), true);
  assert.equal(a.allowsSource('192.168.2.1'), false);
  assert.equal(a.allowsSource('8.8.8.8'), false);
  assert.equal(services.alias('@plain', 'http', 'h').members[0]!.port, 80);
  assert.equal(services.alias('@tls', 'http', 'h', { ssl: true }).members[0]!.port, 443);
});

test("plugins register types with their own member syntax and pools (the db plugin's way)", async () => {
  const closed: string[] = [];
  const kernel = new Kernel().use(services());
  registerAliasType(kernel, 'testdb', 'test', {
    protocol: 'db',
    defaultPort: 7777,
    createPool: (member) => ({ name: member.label, queries: 0 }),
    closePool: (pool) => {
      closed.push((pool as { name: string }).name);
    },
  });
  registerAliasType(kernel, 'testfile', 'test', { protocol: 'db', parseMember: (text) => parsePathMember(text) });
  assert.throws(() => registerAliasType(kernel, 'testdb', 'someone else', { protocol: 'db' }), {
    code: 'SKT_ALIAS_TYPE_DUPLICATE',
  });
  kernel.alias('@db', 'testdb', ['u:p@one/main 3', 'u:p@two:7000/main']);
  kernel.alias('@files', 'testfile', ['/tmp/a.db', ':memory: 2']);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  const s = servicesOf(kernel);
  const db = s.getAlias('@db');
  assert.equal(db.members[0]!.port, 7777);
  assert.equal(db.members[1]!.port, 7000);
  const files = s.getAlias('@files');
  assert.equal(files.members[1]!.db, ':memory:');
  assert.equal(files.members[1]!.weight, 2);
  // the same load balancer and fail-over as HTTP
  const used: string[] = [];
  const value = await db.lb(
    async (member) => {
      const pool = member.getPool<{ name: string; queries: number }>(s);
      pool.queries++;
      used.push(member.host);
      if (member.host === 'one') throw Object.assign(new Error('ECONNREFUSED'), { connection: true });
      return member.host;
    },
    { isConnectionError: (e) => (e as { connection?: boolean }).connection === true },
  );
  assert.equal(value, 'two');
  assert.deepEqual(used, ['one', 'two']);
  assert.ok(db.members[0]!.asideUntil > Date.now(), 'the failing member is set aside');
  // HTTP calls on a db alias are refused by type
  const r = await s.context().http('GET')('@db/x');
  assert.equal(r.status, 'error');
  assert.equal((r.error as SkitaiError).code, 'SKT_ALIAS_WRONG_TYPE');
  await kernel.stop();
  assert.deepEqual(closed.sort(), [db.members[0]!.label, db.members[1]!.label].sort());
});

test('lbCall: lb on callbacks, with the same fail-over, set-aside and last failure', async () => {
  const kernel = new Kernel().use(services());
  registerAliasType(kernel, 'cbdb', 'test', { protocol: 'db', createPool: () => ({}) });
  kernel.alias('@cb', 'cbdb', ['u@one/main', 'u@two/main', 'u@three/main']);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  const alias = servicesOf(kernel).getAlias('@cb');
  const isConnectionError = (e: unknown) => (e as { connection?: boolean }).connection === true;
  const refused = (host: string) => Object.assign(new Error(`${host}: ECONNREFUSED`), { connection: true });
  type Outcome = { err: unknown; value: string | undefined; member: string | undefined };
  const call = (fn: (host: string, answer: (err: unknown, value?: string) => void) => void) =>
    new Promise<Outcome>((resolve) =>
      alias.lbCall<string>(
        (member, answer) => fn(member.host, answer),
        { isConnectionError },
        (err, value, member) => resolve({ err, value, member: member?.host }),
      ),
    );
  // 'one' refuses (answering later, as a driver does), 'two' throws: 'three' answers.
  const used: string[] = [];
  const ok = await call((host, answer) => {
    used.push(host);
    if (host === 'one') setImmediate(() => answer(refused(host)));
    else if (host === 'two') throw refused(host);
    else answer(null, `from ${host}`);
  });
  assert.deepEqual(ok, { err: undefined, value: 'from three', member: 'three' });
  assert.deepEqual(used, ['one', 'two', 'three']);
  assert.ok(alias.members[0]!.asideUntil > Date.now() && alias.members[1]!.asideUntil > Date.now());
  assert.deepEqual(
    alias.members.map((m) => m.inFlight),
    [0, 0, 0],
  );
  // Not a connection error: no other member is tried, the error comes back as it is.
  const sqlError = new Error('syntax error');
  const refusedQuery = await call((_host, answer) => answer(sqlError));
  assert.deepEqual(refusedQuery, { err: sqlError, value: undefined, member: 'three' });
  // Every member refuses: the last failure is named, and each is tried once (answer twice is ignored).
  alias.members[2]!.asideUntil = 0;
  const none = await call((host, answer) => {
    answer(refused(host));
    answer(null, 'too late');
  });
  assert.equal((none.err as SkitaiError).code, 'SKT_BACKEND_UNAVAILABLE');
  assert.match((none.err as Error).message, /ECONNREFUSED/);
  assert.ok(none.member !== undefined);
  await kernel.stop();
});

test('a bad member fails at start with its text; a good alias is served', async () => {
  const bad = new Kernel().use(services()).alias('@api', 'http', ['127.0.0.1:5000', '127.0.0.1:port']);
  await assert.rejects(
    bad.start({ address: '127.0.0.1', port: 0 }),
    (e: SkitaiError) => e.code === 'SKT_ALIAS_MEMBER' && e.message.includes('"127.0.0.1:port"'),
  );
  const kernel = new Kernel().use(services()).alias('@api2', 'http', ['127.0.0.1:5000 2']);
  await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    assert.equal(servicesOf(kernel).getAlias('@api2').members[0]!.weight, 2);
    assert.throws(() => servicesOf(kernel).getAlias('@nope'), { code: 'SKT_ALIAS_UNKNOWN' });
  } finally {
    await kernel.stop();
  }
});

test('an http alias without the services plugin fails at start, naming the plugin', async () => {
  const kernel = new Kernel().alias('@api', 'http', '127.0.0.1:5000');
  await assert.rejects(
    kernel.start({ address: '127.0.0.1', port: 0 }),
    (e: SkitaiError) => e.code === 'SKT_ALIAS_TYPE' && e.message.includes('@skitai/services'),
  );
});
