// skitai-cron, the scheduler alone, driven by a Skitai config file: start (daemon), status,
// stop, restart, the foreground, command-line options over the file, bad specs refused.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  CLI,
  FIXTURES,
  cmdline,
  finishedRuns,
  cleanup,
  lines,
  pidAlive,
  readText,
  runProc,
  sleep,
  spawnProc,
  tempDir,
  waitUntil,
  within,
} from '../test-support/helpers.js';

function config(dir: string, body: { pname: string; crontab: string[]; extra?: string }): string {
  const file = path.join(dir, 'skitai.conf');
  fs.writeFileSync(
    file,
    [
      '# made by cli.test',
      '[common]',
      'log-path = logs',
      '',
      '[smtpda]',
      'max-retry = 10',
      '',
      '[cron]',
      'verbose = false',
      `process-display-name = ${body.pname}`,
      'var-path = var',
      'seconds = true',
      body.extra ?? '',
      '',
      '[:crontab]',
      "# every second, in the config file's folder",
      ...body.crontab,
      '',
    ].join('\n'),
  );
  return file;
}

const cli = (args: string[], cwd?: string) => runProc([CLI, ...args], { cwd, timeout: 30_000 });
const uniq = () => `cron-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

after(cleanup);

describe('skitai-cron', () => {
  it(
    'start, status, stop with a config file ([common] log-path, [cron] options, [:crontab] lines)',
    { timeout: 40_000 },
    async () => {
      const dir = tempDir();
      const pname = uniq();
      const conf = config(dir, { pname, crontab: ['* * * * * * echo "$$ $SKITAI_CRON_DUE" >> ticks.txt'] });
      const ticks = path.join(dir, 'ticks.txt');
      const pidFile = path.join(dir, 'var', `${pname}.pid`);
      let daemon = 0;
      try {
        const started = await cli(['-f', conf, 'start']);
        assert.equal(started.code, 0, started.output);
        const m = /started \(pid (\d+)\)/.exec(started.output);
        assert.ok(m, started.output);
        daemon = Number(m[1]);
        assert.equal(readText(pidFile).trim(), String(daemon));
        assert.match(cmdline(daemon), new RegExp(pname), 'process-display-name is the title');

        const status = await cli(['-f', conf, 'status']);
        assert.equal(status.code, 0);
        assert.match(status.output, new RegExp(`${pname}: running \\(pid ${daemon}\\)`));

        const again = await cli(['-f', conf, '-d']);
        assert.equal(again.code, 1);
        assert.match(again.output, /already running/);

        await waitUntil(() => lines(ticks).length >= 3, 10_000, 'three runs');
        const log = readText(path.join(dir, 'logs', 'cron.log'));
        assert.match(log, new RegExp(`cron: scheduler started \\(pid ${daemon}\\)`));
        const runs = finishedRuns(log);
        const rows = lines(ticks)
          .map((l) => l.split(' '))
          .map(([pid, due]) => [Number(pid), Date.parse(due!) / 1000]);
        assert.ok(runs.length >= 2);
        for (const r of runs)
          assert.ok(
            rows.some((row) => row[0] === r.pid),
            `the logged pid ${r.pid} wrote a tick`,
          );
        assert.equal(new Set(rows.map((r) => r[1])).size, rows.length, 'once a second');

        const stopped = await cli(['-f', conf, 'stop']);
        assert.equal(stopped.code, 0, stopped.output);
        assert.match(stopped.output, new RegExp(`stopped \\(pid ${daemon}\\)`));
        assert.equal(pidAlive(daemon), false);
        assert.equal(fs.existsSync(pidFile), false);
        const count = lines(ticks).length;
        // Waits for something not to happen: 1.5 s would have seen a run of the every-second job.
        await sleep(1500);
        assert.equal(lines(ticks).length, count, 'no run after stop');

        const status2 = await cli(['-f', conf, 'status']);
        assert.equal(status2.code, 3);
        assert.match(status2.output, /stopped/);
        const stop2 = await cli(['-f', conf, '-s']);
        assert.equal(stop2.code, 0);
        assert.match(stop2.output, /not running/);
      } finally {
        if (daemon && pidAlive(daemon)) process.kill(daemon, 'SIGKILL');
      }
    },
  );

  it('restart gives a new daemon with the config read again', { timeout: 40_000 }, async () => {
    const dir = tempDir();
    const pname = uniq();
    const conf = config(dir, { pname, crontab: ['* * * * * * echo one >> out.txt'] });
    const pids: number[] = [];
    try {
      const a = await cli(['-f', conf, 'start']);
      assert.equal(a.code, 0, a.output);
      pids.push(Number(/started \(pid (\d+)\)/.exec(a.output)![1]));
      await waitUntil(() => lines(path.join(dir, 'out.txt')).length >= 1, 10_000, 'a run');
      config(dir, { pname, crontab: ['* * * * * * echo two >> out.txt'] });
      const b = await cli(['-f', conf, 'restart']);
      assert.equal(b.code, 0, b.output);
      assert.match(b.output, new RegExp(`stopped \\(pid ${pids[0]}\\)`));
      pids.push(Number(/started \(pid (\d+)\)/.exec(b.output)![1]));
      assert.notEqual(pids[1], pids[0]);
      assert.equal(pidAlive(pids[0]!), false);
      await waitUntil(() => lines(path.join(dir, 'out.txt')).includes('two'), 10_000, 'a run of the new table');
      const c = await cli(['-f', conf, 'stop']);
      assert.equal(c.code, 0, c.output);
      assert.equal(pidAlive(pids[1]!), false);
    } finally {
      for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it(
    'runs in the foreground; command-line options and jobs override and add to the file',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir();
      const pname = uniq();
      const conf = config(dir, { pname, crontab: ['* * * * * * echo file >> from-file.txt'] });
      const other = path.join(dir, 'other-logs');
      const p = spawnProc([
        CLI,
        '-f',
        conf,
        '--log-path',
        other,
        '--pname',
        `${pname}-x`,
        '-v',
        `* * * * * * echo argv >> ${path.join(dir, 'from-argv.txt')}`,
      ]);
      try {
        await waitUntil(
          () =>
            lines(path.join(dir, 'from-file.txt')).length >= 2 && lines(path.join(dir, 'from-argv.txt')).length >= 2,
          10_000,
          'runs of both jobs',
        );
        // A run is logged as finished after its command exits, a moment after it wrote its line.
        await waitUntil(
          () => finishedRuns(readText(path.join(other, 'cron.log'))).length >= 4,
          10_000,
          'four finished runs in the log',
        );
        await waitUntil(() => /cron: job #2 finished/.test(p.output()), 10_000, 'the console log (-v)');
        // --log-path over the file's log-path; -v over verbose = false; --pname over process-display-name.
        assert.equal(fs.existsSync(path.join(dir, 'logs')), false);
        assert.equal(readText(path.join(dir, 'var', `${pname}-x.pid`)).trim(), String(p.pid));
        const status = await cli(['-f', conf, '--pname', `${pname}-x`, 'status']);
        assert.match(status.output, new RegExp(`running \\(pid ${p.pid}\\)`));
        process.kill(p.pid, 'SIGTERM');
        const exit = await within(p.exited, 10_000);
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.match(readText(path.join(other, 'cron.log')), /SIGTERM: stopping[\s\S]*scheduler stopped/);
        assert.equal(fs.existsSync(path.join(dir, 'var', `${pname}-x.pid`)), false);
      } finally {
        p.kill();
      }
    },
  );

  it(
    'with a shared lock, two schedulers (two machines) run each due run once between them',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir();
      const lockDir = tempDir();
      const conf = config(dir, {
        pname: uniq(),
        crontab: ['* * * * * * echo "$PPID $SKITAI_CRON_JOB $SKITAI_CRON_DUE" >> ticks.txt'],
      });
      const lock = `${path.join(FIXTURES, 'dir-lock.mjs')}#acquire`;
      const env = { CRON_LOCK_DIR: lockDir };
      const a = spawnProc(
        [CLI, '-f', conf, '--pname', `${uniq()}-a`, '--lock', lock, '--log-path', path.join(dir, 'a')],
        { env },
      );
      const b = spawnProc(
        [CLI, '-f', conf, '--pname', `${uniq()}-b`, '--lock', lock, '--log-path', path.join(dir, 'b')],
        { env },
      );
      try {
        const ticks = path.join(dir, 'ticks.txt');
        await waitUntil(() => lines(ticks).length >= 4, 12_000, 'four runs');
        process.kill(a.pid, 'SIGTERM');
        process.kill(b.pid, 'SIGTERM');
        await within(Promise.all([a.exited, b.exited]), 10_000);
        const rows = lines(ticks).map((l) => l.split(' '));
        const dues = rows.map((r) => r[2]);
        assert.equal(new Set(dues).size, dues.length, `each due run once: ${dues.join(' ')}`);
        for (const r of rows) {
          assert.ok([a.pid, b.pid].includes(Number(r[0])), `run by one of the two schedulers: ${r.join(' ')}`);
          assert.equal(r[1], '#1');
          assert.match(r[2]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/, 'due on a whole second');
        }
        // Both saw those runs due; the one that lost each logged it.
        const logs = readText(path.join(dir, 'a', 'cron.log')) + readText(path.join(dir, 'b', 'cron.log'));
        const lost = [...logs.matchAll(/job #1: the run due (\S+) is taken by another scheduler \(lock\)/g)].map(
          (m) => m[1],
        );
        for (const due of dues.slice(1, -1))
          assert.ok(lost.includes(due), `the run due ${due} was seen by the other scheduler`);
      } finally {
        a.kill();
        b.kill();
      }
    },
  );

  it(
    'refuses a bad spec or an unknown command at start, naming the job, and starts nothing',
    { timeout: 30_000 },
    async () => {
      const dir = tempDir();
      const pname = uniq();
      const conf = config(dir, { pname, crontab: ['*/5 * * * * true', '0 61 * * * * echo never'] });
      const bad = await cli(['-f', conf, 'start']);
      assert.equal(bad.code, 1);
      assert.match(
        bad.output,
        /cron job #2 \(0 61 \* \* \* \* echo never\): bad spec "0 61 \* \* \* \*": Invalid value for minute: 61/,
      );
      assert.equal(fs.existsSync(path.join(dir, 'var', `${pname}.pid`)), false);

      const conf2 = config(dir, { pname, crontab: ['0 3 * * * /opt/nowhere/backup.sh > backup.log 2>&1'] });
      const unknown = await cli(['-f', conf2]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.output, /cron job #1 .*: unknown command "\/opt\/nowhere\/backup\.sh"/);

      const badFile = await cli(['-f', path.join(dir, 'missing.conf'), 'status']);
      assert.equal(badFile.code, 2);
      assert.match(badFile.output, /cannot read the config file .*missing\.conf: ENOENT/);

      const conf3 = config(dir, { pname, crontab: ['0 3 * * * true'] });
      const noLock = await cli(['-f', conf3, '--lock', `${path.join(FIXTURES, 'dir-lock.mjs')}#release`]);
      assert.equal(noLock.code, 1);
      assert.match(noLock.output, /cron lock \(.*dir-lock\.mjs#release\): export "release" is missing/);

      const help = await cli(['--help']);
      assert.equal(help.code, 0);
      assert.match(help.output, /Usage: skitai-cron/);
    },
  );
});
