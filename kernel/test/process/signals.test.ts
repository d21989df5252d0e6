import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  startServer,
  get,
  killAll,
  sleep,
  waitUntil,
  pidAlive,
  tempDir,
  workersSeen,
  childPids,
} from '../../test-support/process-helpers.js';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (opts: object, cb?: (err: Error | null, result: any) => void) => any;

after(killAll);

test('SIGTERM stops every worker gracefully: an in-flight slow request completes', { timeout: 30_000 }, async () => {
  const server = await startServer({ args: ['--workers', '2'] });
  const pids = [...(await workersSeen(server.port)).values()];
  const slow = get(server.port, '/slow?ms=1500');
  await server.waitFor(/fixture: \/slow in W\d/);
  const t0 = Date.now();
  process.kill(server.pid, 'SIGTERM');
  const reply = await slow;
  assert.equal(reply.status, 200);
  assert.equal(reply.json.slept, true);
  assert.equal(reply.headers.connection, 'close');
  const exit = await server.exited;
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - t0 >= 1000, 'the master waited for the request');
  for (const pid of pids) assert.ok(!pidAlive(pid));
  assert.match(server.output(), /master: SIGTERM: stopping 2 workers gracefully/);
  // Nothing listens any more.
  await assert.rejects(get(server.port, '/id'));
});

test(
  'SIGHUP: a rolling reload under a steady load, with zero failed requests and every worker replaced',
  { timeout: 60_000 },
  async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    const before = await workersSeen(server.port);
    assert.equal(before.size, 2);
    // The load runs until stopped: 300 responses before the HUP, 300 after the reload is done.
    let responses = 0;
    let onResponse = () => {};
    const responded = (n: number) =>
      new Promise<void>((resolve) => {
        const target = responses + n;
        onResponse = () => {
          if (responses >= target) resolve();
        };
      });
    let instance: { on: (event: string, fn: () => void) => void; stop: () => void } | undefined;
    const run = new Promise<any>((resolve, reject) => {
      instance = autocannon(
        { url: `http://127.0.0.1:${server.port}/id`, connections: 8, duration: 120 },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
    });
    instance!.on('response', () => {
      responses++;
      onResponse();
    });
    await responded(300);
    process.kill(server.pid, 'SIGHUP');
    await server.waitFor(/SIGHUP: rolling reload done/, 30_000);
    const atReloadDone = responses;
    // The reload happened under load only if the load goes on after it: fails if the load ended first.
    await Promise.race([
      responded(300),
      run.then(() => assert.fail(`the load ended before the reload was done (${responses} responses)`)),
    ]);
    instance!.stop();
    const result = await run;
    const after = await workersSeen(server.port);
    const total = result.requests.total as number;
    console.log(
      `# rolling reload under load: ${total} requests, ${result['2xx']} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.resets ?? 0} resets`,
    );
    assert.ok(total >= atReloadDone + 300, `${total} requests, ${atReloadDone} when the reload was done`);
    assert.equal(result.errors, 0);
    assert.equal(result.timeouts, 0);
    assert.equal(result.non2xx, 0);
    assert.equal(result['2xx'], total);
    assert.deepEqual([...after.keys()].sort(), ['W0', 'W1']);
    for (const [id, pid] of before) {
      assert.notEqual(after.get(id), pid, `${id} was replaced`);
      assert.ok(!pidAlive(pid), `old ${id} (pid ${pid}) exited`);
    }
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
  },
);

test('SIGUSR1 reopens the log files in the master and every worker', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  // With a logpath nothing goes to the console: the port is read from server.log.
  const server = await startServer({ args: ['--workers', '2'], env: { FX_LOGPATH: dir }, listening: false });
  const m = await waitUntil(
    () => {
      const text = fs.existsSync(path.join(dir, 'server.log'))
        ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8')
        : '';
      return text.match(/master: 2 workers listening on http:\/\/[^\s]+:(\d+)/) ?? undefined;
    },
    15_000,
    "the master's listening line in server.log",
  );
  server.port = Number(m![1]);
  await workersSeen(server.port, 6);
  await waitUntil(
    () =>
      fs.existsSync(path.join(dir, 'request.log')) &&
      fs.readFileSync(path.join(dir, 'request.log'), 'utf8').includes(' W1 '),
    5000,
    'requests logged',
  );
  // An outside rotation (logrotate): move the files away, then SIGUSR1.
  fs.renameSync(path.join(dir, 'request.log'), path.join(dir, 'request.log.1'));
  fs.renameSync(path.join(dir, 'server.log'), path.join(dir, 'server.log.1'));
  process.kill(server.pid, 'SIGUSR1');
  await waitUntil(
    () =>
      fs.existsSync(path.join(dir, 'server.log')) &&
      fs.readFileSync(path.join(dir, 'server.log'), 'utf8').includes('SIGUSR1'),
    5000,
    'a new server.log',
  );
  // The workers reopen when the master's message reaches them: requests until both wrote there.
  const fresh = await waitUntil(
    async () => {
      assert.equal((await workersSeen(server.port, 4)).size, 2);
      const text = fs.existsSync(path.join(dir, 'request.log'))
        ? fs.readFileSync(path.join(dir, 'request.log'), 'utf8')
        : '';
      return text.includes(' W0 ') && text.includes(' W1 ') ? text : undefined;
    },
    5000,
    'both workers write the new request.log',
  );
  assert.ok(fresh!.split('\n').filter(Boolean).length >= 2);
  process.kill(server.pid, 'SIGTERM');
  assert.equal((await server.exited).code, 0);
});

test('kernel.restartWorkers() from a handler (was.restart) is a rolling reload', { timeout: 30_000 }, async () => {
  const server = await startServer({ args: ['--workers', '2'] });
  const before = await workersSeen(server.port);
  assert.equal((await get(server.port, '/restart')).status, 200);
  await server.waitFor(/restart asked for by W\d: rolling reload done/, 20_000);
  const after = await workersSeen(server.port);
  for (const [id, pid] of before) assert.notEqual(after.get(id), pid);
  process.kill(server.pid, 'SIGTERM');
  assert.equal((await server.exited).code, 0);
});

test(
  'kernel.shutdownServer() from a handler (was.shutdown) stops the whole server gracefully',
  { timeout: 30_000 },
  async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    const pids = [...(await workersSeen(server.port)).values()];
    assert.equal((await get(server.port, '/shutdown')).status, 200);
    assert.equal((await server.exited).code, 0);
    assert.match(server.output(), /shutdown asked for by W\d: stopping 2 workers gracefully/);
    for (const pid of pids) assert.ok(!pidAlive(pid));
  },
);

test('a single process: SIGUSR1 reopens its logs, SIGHUP does not end it', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const server = await startServer({ args: ['--workers', '1'], env: { FX_LOGPATH: dir }, listening: false });
  const m = await waitUntil(
    () => {
      const text = fs.existsSync(path.join(dir, 'server.log'))
        ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8')
        : '';
      return text.match(/\(M\) listening on http:\/\/[^\s]+:(\d+)/) ?? undefined;
    },
    15_000,
    'the listening line',
  );
  const port = Number(m![1]);
  fs.renameSync(path.join(dir, 'server.log'), path.join(dir, 'server.log.1'));
  process.kill(server.pid, 'SIGUSR1');
  await waitUntil(
    () =>
      fs.existsSync(path.join(dir, 'server.log')) &&
      fs.readFileSync(path.join(dir, 'server.log'), 'utf8').includes('SIGUSR1'),
    5000,
    'a new server.log',
  );
  process.kill(server.pid, 'SIGHUP');
  await waitUntil(
    () => fs.readFileSync(path.join(dir, 'server.log'), 'utf8').includes('SIGHUP: running the reload taps'),
    5000,
    'the SIGHUP line',
  );
  const r = await get(port, '/id');
  assert.equal(r.json.id, 'M');
  assert.equal(r.json.pid, server.pid);
  process.kill(server.pid, 'SIGTERM');
  assert.equal((await server.exited).code, 0);
});

test(
  'SIGTERM in the middle of a rolling reload stops everything promptly, the starting worker too',
  { timeout: 40_000 },
  async () => {
    const server = await startServer({ args: ['--workers', '2'] });
    const pids = [...(await workersSeen(server.port)).values()];
    process.kill(server.pid, 'SIGHUP');
    await server.waitFor(/SIGHUP: rolling reload of 2 workers/);
    // The new worker is forked: a third child of the master.
    await waitUntil(() => childPids(server.pid).length > 2, 5000, 'the new worker forked', 10);
    const t0 = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - t0 < 9000, `stopped in ${Date.now() - t0} ms`);
    assert.doesNotMatch(server.output(), /did not stop in time/);
    for (const pid of pids) assert.ok(!pidAlive(pid));
  },
);

test(
  'useReloader with workers: a changed file in the app folder is a rolling reload',
  { timeout: 40_000 },
  async () => {
    const root = tempDir('skitai-reloader-');
    fs.writeFileSync(path.join(root, 'helper.mjs'), 'export const v = 1;\n');
    const server = await startServer({ args: ['--workers', '2'], env: { FX_RELOADER_ROOT: root } });
    await server.waitFor(/useReloader: watching/);
    const before = await workersSeen(server.port);
    fs.writeFileSync(path.join(root, 'helper.mjs'), 'export const v = 2;\n');
    await server.waitFor(/helper\.mjs changed: rolling reload done/, 30_000);
    const after = await workersSeen(server.port);
    for (const [id, pid] of before) assert.notEqual(after.get(id), pid, `${id} replaced`);
    // A file that is not code changes nothing.
    // Waits for something not to happen: 800 ms is well past the watcher's 300 ms debounce.
    fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
    await sleep(800);
    assert.equal((server.output().match(/rolling reload done/g) ?? []).length, 1);
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
  },
);
