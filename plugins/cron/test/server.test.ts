// The plugin in a real server (test-support/fixtures/serve-cron.mjs): the scheduler runs once
// per server as a background process in the master's care, and stops with the server.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import {
  cmdline,
  finishedRuns,
  FIXTURES,
  cleanup,
  lines,
  pidAlive,
  readText,
  sleep,
  spawnProc,
  tempDir,
  waitUntil,
  within,
} from '../test-support/helpers.js';

const SCRIPT = path.join(FIXTURES, 'serve-cron.mjs');

function serve(fx: object, args: string[] = []) {
  return spawnProc([SCRIPT, ...args], { env: { CRON_FX: JSON.stringify(fx) } });
}

function getJson(port: number): Promise<{ id: string; pid: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}

const schedulerPids = (log: string) =>
  [...log.matchAll(/cron: scheduler started \(pid (\d+)\)/g)].map((m) => Number(m[1]));

after(cleanup);

describe('in the server', () => {
  it(
    'with 2 workers an every-second job runs once a second (not twice), and stops with the server',
    { timeout: 40_000 },
    async () => {
      const dir = tempDir();
      const ticks = path.join(dir, 'ticks.txt');
      const cronLog = path.join(dir, 'logs', 'cron.log');
      const server = serve({
        workers: 2,
        cronLogpath: path.join(dir, 'logs'),
        jobs: [`* * * * * * echo "$$ $SKITAI_CRON_DUE" >> ${ticks}`],
      });
      try {
        const m = await server.waitFor(/2 workers listening on http:\/\/[^\s]+:(\d+)/, 20_000);
        const port = Number(m[1]);
        // Two workers really serve.
        const ids = new Set<string>();
        await waitUntil(
          async () => {
            ids.add((await getJson(port)).id);
            return ids.size === 2;
          },
          10_000,
          'both workers answering',
        );

        await waitUntil(() => lines(ticks).length >= 1, 10_000, 'the first run');
        const first = Date.now();
        // Four more runs (the rate itself is what is tested: this takes four seconds).
        await waitUntil(() => lines(ticks).length >= 5, 8000, 'four more runs');
        const rows = lines(ticks)
          .map((l) => l.split(' '))
          .map(([pid, due]) => [Number(pid), Date.parse(due!) / 1000] as [number, number]);
        const elapsed = (Date.now() - first) / 1000;
        const seconds = rows.map((r) => r[1]);
        assert.equal(new Set(seconds).size, rows.length, `no due time ran twice: ${seconds.join(',')}`);
        assert.ok(
          seconds.every((x) => Number.isInteger(x)),
          'due on whole seconds',
        );
        assert.ok(
          rows.length >= Math.floor(elapsed) - 1 && rows.length <= Math.ceil(elapsed) + 1,
          `${rows.length} runs in ${elapsed.toFixed(1)} s`,
        );

        // One scheduler, in its own process titled as the master's background process.
        const log = readText(cronLog);
        const pids = schedulerPids(log);
        assert.equal(pids.length, 1, log);
        const scheduler = pids[0]!;
        assert.notEqual(scheduler, server.pid);
        assert.match(cmdline(scheduler), /skitai\(serve-cron\.mjs\): cron/);
        assert.ok(finishedRuns(log).every((r) => r.exit === '0'));

        process.kill(server.pid, 'SIGTERM');
        const exit = await within(server.exited, 20_000);
        assert.deepEqual(exit, { code: 0, signal: null }, server.output());
        await waitUntil(() => !pidAlive(scheduler), 5000, 'the scheduler gone');
        const count = lines(ticks).length;
        // Waits for something not to happen: 1.5 s would have seen a run of the every-second job.
        await sleep(1500);
        assert.equal(lines(ticks).length, count, 'no run after the server stopped');
        assert.match(readText(cronLog), /cron: scheduler stopped/);
      } finally {
        server.kill();
      }
    },
  );

  it(
    'single process: cronJob jobs, function jobs in the scheduler process, cron.log beside server.log, restarted if killed',
    { timeout: 40_000 },
    async () => {
      const dir = tempDir();
      const fnFile = path.join(dir, 'fn.txt');
      const strayFile = path.join(dir, 'stray.txt');
      const cmdFile = path.join(dir, 'cmd.txt');
      const logs = path.join(dir, 'logs');
      const server = serve(
        {
          workers: 1,
          logpath: logs,
          jobs: [{ spec: '* * * * * *', module: './jobs.mjs', export: 'tick', args: { file: fnFile }, name: 'tick' }],
          kernelCron: [
            ['* * * * * *', { module: './jobs.mjs', export: 'stray', args: { file: strayFile } }],
            ['* * * * * *', `echo ran >> ${cmdFile}`],
          ],
        },
        ['-v'],
      );
      try {
        await server.waitFor(/listening on http:\/\/[^\s]+:(\d+)/, 20_000);
        const cronLog = path.join(logs, 'cron.log');
        await waitUntil(
          () => lines(fnFile).length >= 3 && lines(strayFile).length >= 3 && lines(cmdFile).length >= 2,
          10_000,
          'three runs of each job',
        );
        const log = readText(cronLog);
        const [scheduler] = schedulerPids(log);
        assert.equal(schedulerPids(log).length, 1, 'one scheduler, not restarted by the stray errors');
        // The function ran in the scheduler process, not in the server.
        for (const line of lines(fnFile)) {
          const run = JSON.parse(line) as { pid: number; title: string };
          assert.equal(run.pid, scheduler);
          assert.equal(run.title, 'skitai(serve-cron.mjs): cron');
        }
        assert.notEqual(scheduler, server.pid);
        assert.match(log, /\[error\] cron: a job threw outside its run: Error: stray error on purpose/);
        assert.match(log, /cron: job #2 finished .*module:.*jobs\.mjs#stray/);
        assert.match(log, /cron: job #3 finished .*echo ran/);
        // Verbose: the lines reach the console too.
        assert.match(server.output(), /cron: job tick finished/);

        // Killed, the scheduler is started again by the kernel (in the master's care).
        process.kill(scheduler!, 'SIGKILL');
        await waitUntil(() => schedulerPids(readText(cronLog)).length === 2, 10_000, 'a new scheduler');
        const again = schedulerPids(readText(cronLog))[1]!;
        assert.notEqual(again, scheduler);
        const before = lines(fnFile).length;
        await waitUntil(() => lines(fnFile).length >= before + 2, 6000, 'runs from the new scheduler');

        process.kill(server.pid, 'SIGTERM');
        const exit = await within(server.exited, 20_000);
        assert.equal(exit?.code, 0, server.output());
        await waitUntil(() => !pidAlive(again), 5000, 'the scheduler gone');
      } finally {
        server.kill();
      }
    },
  );

  it('a bad spec or an unknown command stops the server at start, naming the job', { timeout: 40_000 }, async () => {
    const bad = serve({ workers: 2, jobs: ['*/5 * * * * * true', '61 * * * * true'] });
    const unknown = serve({
      workers: 1,
      seconds: false,
      jobs: [{ spec: '*/5 * * * *', command: 'no-such-tool-xyz --now', name: 'report' }],
    });
    try {
      const [a, b] = await Promise.all([within(bad.exited, 30_000), within(unknown.exited, 30_000)]);
      assert.equal(a?.code, 1, bad.output());
      assert.match(bad.output(), /cannot start: cron job #2 \(61 \* \* \* \* true\): bad spec "61 \* \* \* \*"/);
      assert.doesNotMatch(bad.output(), /listening/);
      assert.equal(b?.code, 1, unknown.output());
      assert.match(
        unknown.output(),
        /cannot start: cron job report \(\*\/5 \* \* \* \* no-such-tool-xyz --now\): unknown command "no-such-tool-xyz"/,
      );
    } finally {
      bad.kill();
      unknown.kill();
    }
  });
});
