// Members, types and bad targets: what needs no database server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { App } from '@skitai/app';
import { Kernel } from '@skitai/kernel';
import { services, servicesOf } from '@skitai/services';
import { db, toSqliteParams } from '../src/index.js';
import { deadPort, getJson, start } from '../test-support/db-env.js';

function kernel(): Kernel {
  return new Kernel().use(services({ connectTimeout: 0.5 })).use(db());
}

test('members in Skitai form: %40 in a password, default ports, a weight, a file path for sqlite3', async () => {
  const k = kernel()
    .alias('@pg', 'postgresql', ['app:p%40ss%3Aword@db1.example:6543/main 3', 'db2.example/main'])
    .alias('@r', 'redis', '127.0.0.1/2')
    .alias('@m', 'mongodb', 'reader:secret@[::1]/docs')
    .alias('@lite', 'sqlite3', ['/var/tmp/app.sqlite3 2', ':memory:']);
  await start(k);
  const s = servicesOf(k);
  const [a, b] = s.getAlias('@pg').members;
  assert.deepEqual(
    [a!.user, a!.password, a!.host, a!.port, a!.db, a!.weight],
    ['app', 'p@ss:word', 'db1.example', 6543, 'main', 3],
  );
  assert.deepEqual([b!.host, b!.port, b!.db, b!.weight], ['db2.example', 5432, 'main', 1]);
  const r = s.getAlias('@r').members[0]!;
  assert.deepEqual([r.port, r.db], [6379, '2']);
  const m = s.getAlias('@m').members[0]!;
  assert.deepEqual([m.host, m.port, m.db, m.user], ['::1', 27017, 'docs', 'reader']);
  assert.deepEqual(
    s.getAlias('@lite').members.map((x) => [x.db, x.weight]),
    [
      ['/var/tmp/app.sqlite3', 2],
      [':memory:', 1],
    ],
  );
});

test('a bad member stops the start with the text that was wrong', async () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'postgresql',
      'user@pass@host/db',
      /bad member "user@pass@host\/db": a "@" in the user or password must be written %40/,
    ],
    ['postgresql', 'db.example:99999/x', /bad member "db\.example:99999\/x": the port "99999"/],
    ['redis', '127.0.0.1:6379/users', /bad member "127\.0\.0\.1:6379\/users": the database "users" must be a number/],
    ['mongodb', 'mongodb://host/db', /write no scheme/],
    ['sqlite3', '', /it is empty/],
  ];
  for (const [type, member, message] of cases) {
    const k = kernel().alias('@bad', type, [member]);
    await assert.rejects(k.start({ address: '127.0.0.1', port: 0 }), (err: any) => {
      assert.equal(err.code, 'SKT_ALIAS_MEMBER', `${type} ${member}: ${err.message}`);
      assert.match(err.message, /^alias @bad: /);
      assert.match(err.message, message);
      return true;
    });
    await k.stop();
  }
});

test('the worker option belongs to sqlite3 aliases, and is a boolean', async () => {
  const k = kernel().alias('@pg', 'postgresql', ['db.example/x'], { worker: true });
  await assert.rejects(
    k.start({ address: '127.0.0.1', port: 0 }),
    /alias @pg: bad worker true: a sqlite3 alias option/,
  );
  await k.stop();
  const k2 = kernel().alias('@lite', 'sqlite3', [':memory:'], { worker: 'yes' });
  await assert.rejects(k2.start({ address: '127.0.0.1', port: 0 }), /alias @lite: bad worker "yes"/);
  await k2.stop();
});

test('a db alias without the db plugin stops the start, naming the plugin', async () => {
  const k = new Kernel().use(services()).alias('@pg', 'postgresql', ['db.example/x']);
  await assert.rejects(k.start({ address: '127.0.0.1', port: 0 }), /@skitai\/db/);
  await k.stop();
});

test('bad targets and arguments are error results with a clear message, and the server goes on', async () => {
  const dead = await deadPort();
  const k = kernel()
    .alias('@r', 'redis', `127.0.0.1:${dead}`)
    .alias('@lite', 'sqlite3', ':memory:')
    .alias('@api', 'http', '127.0.0.1:1');
  const app = new App();
  const show = (r: any) => ({ status: r.status, ok: r.ok, code: r.error?.code, message: r.error?.message });
  app.route('/bad', async (was) => ({
    unknown: show(await was.backend('@nope').execute('select 1')),
    http: show(await was.backend('@api').execute('select 1')),
    wrongType: show(await was.postgresql('@lite').execute('select 1')),
    memberOnBackend: show(await was.backend('127.0.0.1/x').execute('select 1')),
    badMember: show(await was.postgresql('a@b@c/x').execute('select 1')),
    noSql: show(await was.backend('@lite').execute('')),
    badParams: show(await was.backend('@lite').execute('select 1', 5 as never)),
    redisOnSql: show(await was.backend('@lite').command('GET', 'k')),
    mongoOnRedis: show(await was.backend('@r').find('c', {})),
    badCommand: show(await was.redis('@r').execute('GET k', [])),
    noTx: show((await was.redis('@r').begin()).failure('BEGIN')),
  }));
  app.route('/ok', async (was) => (await was.backend('@lite').execute('select 2 as n')).scalar());
  k.mount('/', app);
  const url = await start(k);
  const { status, body } = await getJson(`${url}/bad`);
  assert.equal(status, 200);
  for (const [name, r] of Object.entries<any>(body)) {
    assert.equal(r.status, 'error', name);
    assert.equal(r.ok, false, name);
  }
  assert.match(body.unknown.message, /@nope/);
  assert.equal(body.unknown.code, 'SKT_ALIAS_UNKNOWN');
  assert.match(body.http.message, /alias @api is of type http/);
  assert.match(body.wrongType.message, /alias @lite is of type sqlite3, not postgresql/);
  assert.match(body.memberOnBackend.message, /was\.backend\(\) takes an alias/);
  assert.match(body.badMember.message, /bad member "a@b@c\/x"/);
  assert.match(body.noSql.message, /the statement is a non-empty string/);
  assert.match(body.badParams.message, /parameters are a list/);
  assert.match(body.redisOnSql.message, /Redis commands go to a redis alias/);
  assert.match(body.mongoOnRedis.message, /redis has no find\(\)/);
  assert.match(body.badCommand.message, /a command is a word/);
  assert.match(body.noTx.message, /redis has no transactions/);
  assert.deepEqual(await getJson(`${url}/ok`), { status: 200, body: 2 });
});

test('MongoDB without a server: a refused connection is an error result, within the connect timeout', async () => {
  const dead = await deadPort();
  const k = kernel().alias('@m', 'mongodb', `127.0.0.1:${dead}/docs`);
  const app = new App();
  app.route('/find', async (was) => {
    const r = await was.mongodb('@m', 'docs').find('notes', { tag: 'x' });
    return { status: r.status, message: r.error?.message, elapsed: r.elapsed };
  });
  app.route('/bad', async (was) => {
    const r = await was.mongodb('@m').aggregate('notes', { not: 'a pipeline' } as never);
    return { status: r.status, message: r.error?.message };
  });
  app.route('/ok', () => 'still here');
  k.mount('/', app);
  const url = await start(k);
  const { body } = await getJson(`${url}/find`);
  assert.equal(body.status, 'error');
  assert.match(
    body.message,
    new RegExp(`no member of @m is available: cannot reach @m#0 127\\.0\\.0\\.1:${dead}: connect ECONNREFUSED`),
  );
  assert.ok(body.elapsed < 3000, `${body.elapsed} ms`);
  const bad = (await getJson(`${url}/bad`)).body;
  assert.equal(bad.status, 'error');
  assert.match(bad.message, /aggregate: the pipeline is an array of stages, not object/);
  assert.deepEqual(await getJson(`${url}/ok`), { status: 200, body: 'still here' });
});

test('$1 placeholders become named parameters for SQLite, outside strings and comments', () => {
  assert.equal(
    toSqliteParams('select * from t where a = $1 and b = $2 or a = $1'),
    'select * from t where a = @p1 and b = @p2 or a = @p1',
  );
  assert.equal(toSqliteParams('select \'$1\', "$2" -- $3\n, $4 /* $5 */'), 'select \'$1\', "$2" -- $3\n, @p4 /* $5 */');
  assert.equal(toSqliteParams("select 'it''s $1', $10"), "select 'it''s $1', @p10");
  assert.equal(toSqliteParams('select ?'), 'select ?');
  assert.equal(toSqliteParams('select price$1 from t'), 'select price$1 from t');
});

test('a driver that cannot be loaded stops the start, naming the alias and the package', async () => {
  const hook = new URL('../test-support/hide-driver.js', import.meta.url).href;
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `
    import { Kernel } from '@skitai/kernel';
    import { services } from '@skitai/services';
    import { db } from ${JSON.stringify(index)};
    const k = new Kernel().use(services()).use(db()).alias('@pg', 'postgresql', 'db.example/x');
    try { await k.start({ address: '127.0.0.1', port: 0 }); console.log('started'); } catch (err) { console.log(err.code, err.message); }
    await k.stop();`;
  const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(hook)});`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', register, '--input-type=module', '-e', script],
      {
        cwd: new URL('..', import.meta.url).pathname,
        env: { ...process.env, HIDE_DRIVER: 'pg' },
      },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  assert.match(
    out,
    /^SKT_DB_DRIVER alias @pg \(postgresql\) needs the driver package "pg", which cannot be loaded: Cannot find package 'pg' \(npm install pg\)$/m,
  );
});
