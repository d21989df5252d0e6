// The scheduler in this process, running real shell commands and function jobs on croner's
// seconds field (the `seconds` option), so that each test lasts a few seconds.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CronLog, normalizeJobs, normalizeLock, Scheduler, type JobInput, type RunRecord } from '../src/index.js';
import {
  FIXTURES,
  finishedRuns,
  lines,
  pidAlive,
  readText,
  tempDir,
  cleanup,
  waitUntil,
} from '../test-support/helpers.js';

after(cleanup);

/** Waits for a moment when no job is running (between two every-second runs). */
const idle = (s: Scheduler) => waitUntil(() => s.status().every((j) => !j.running), 5000, 'no run going', 10);

function setup(jobs: JobInput[]) {
  const dir = tempDir();
  const log = new CronLog({ logpath: dir });
  const scheduler = new Scheduler(normalizeJobs(jobs, { cwd: dir, seconds: true }), { log, cwd: dir, seconds: true });
  const runs: RunRecord[] = [];
  const skips: string[] = [];
  scheduler.on('run', (r: RunRecord) => runs.push(r));
  scheduler.on('skip', (name: string) => skips.push(name));
  return { dir, log, scheduler, runs, skips, logText: () => readText(path.join(dir, 'cron.log')) };
}

describe('Scheduler', () => {
  it(
    'runs an every-second command once a second, logging start time, pid, exit code and duration',
    { timeout: 15_000 },
    async () => {
      const t = setup([['* * * * * *', 'echo "$$ $SKITAI_CRON_DUE" >> ticks.txt']]);
      const ticks = path.join(t.dir, 'ticks.txt');
      t.scheduler.start();
      try {
        await waitUntil(() => lines(ticks).length >= 1, 3000, 'the first run');
        const first = Date.now();
        // Three more runs (the rate itself is what is tested: this takes three seconds).
        await waitUntil(() => lines(ticks).length >= 4, 6000, 'three more runs');
        // Stop between two runs, so that no run is cut short.
        await idle(t.scheduler);
        await t.scheduler.stop();
        const elapsed = (Date.now() - first) / 1000;
        const rows = lines(ticks)
          .map((l) => l.split(' '))
          .map(([pid, due]) => [Number(pid), Date.parse(due!) / 1000] as [number, number]);
        // One run a second: no second twice, and as many runs as seconds passed.
        assert.equal(new Set(rows.map((r) => r[1])).size, rows.length, `one run a second: ${rows.join(' | ')}`);
        assert.ok(
          rows.length >= Math.floor(elapsed) - 1 && rows.length <= Math.ceil(elapsed) + 1,
          `${rows.length} runs in ${elapsed.toFixed(1)} s`,
        );
        // Each run logged: its pid is the shell's, exit 0, a duration, the start time.
        const logged = finishedRuns(t.logText());
        assert.equal(logged.length, rows.length);
        assert.deepEqual(
          logged.map((r) => r.pid),
          rows.map((r) => r[0]),
        );
        for (const r of logged) {
          assert.equal(r.exit, '0');
          assert.ok(r.ms >= 0 && r.ms < 1000);
          const lag = r.started.getTime() / 1000 - rows[logged.indexOf(r)]![1];
          assert.ok(lag >= 0 && lag < 5, `started ${lag.toFixed(3)} s after it was due`);
        }
        assert.match(t.logText(), /\[info\] cron: job #1 started \(pid \d+\): echo/);
      } finally {
        await t.scheduler.stop();
      }
    },
  );

  it('skips a run that is due while the last one is still going, and logs it', { timeout: 15_000 }, async () => {
    const t = setup([
      { spec: '* * * * * *', command: 'echo start >> runs.txt; sleep 2.2; echo end >> runs.txt', name: 'slow' },
    ]);
    t.scheduler.start();
    try {
      await waitUntil(() => t.runs.length >= 2, 12_000, 'two complete runs');
      await t.scheduler.stop();
      // Never two at once: starts and ends alternate.
      const seen = lines(path.join(t.dir, 'runs.txt'));
      for (let i = 0; i < seen.length; i++) assert.equal(seen[i], i % 2 === 0 ? 'start' : 'end', seen.join(','));
      // Between two runs of 2.2 s, the runs due at the next two seconds were skipped.
      assert.ok(t.skips.length >= 2, `skipped ${t.skips.length}`);
      const [a, b] = t.runs;
      assert.ok(
        b!.startedAt.getTime() >= a!.startedAt.getTime() + a!.durationMs,
        'the second run began after the first ended',
      );
      assert.match(t.logText(), /\[warn\] cron: job slow skipped: its run started \S+ \(pid \d+\) is still going/);
    } finally {
      await t.scheduler.stop();
    }
  });

  it(
    'runs a function job in this process; a job that fails does not stop the others',
    { timeout: 15_000 },
    async () => {
      const t = setup([]);
      const file = path.join(t.dir, 'fn.txt');
      const other = path.join(t.dir, 'other.txt');
      const module = path.join(FIXTURES, 'jobs.mjs');
      const s = new Scheduler(
        normalizeJobs(
          [
            { spec: '* * * * * *', module, export: 'tick', args: { file }, name: 'tick' },
            { spec: '* * * * * *', module, export: 'boom', args: { file: other }, name: 'boom' },
            { spec: '* * * * * *', command: 'exit 3', name: 'exit3' },
          ],
          { cwd: t.dir, seconds: true },
        ),
        { log: t.log, cwd: t.dir, seconds: true },
      );
      const runs: RunRecord[] = [];
      s.on('run', (r: RunRecord) => runs.push(r));
      s.start();
      try {
        await waitUntil(
          () => lines(file).length >= 3 && runs.filter((r) => r.job === 'exit3').length >= 2,
          8000,
          'three runs of tick',
        );
        await idle(s);
        await s.stop();
        const ticks = lines(file);
        for (const line of ticks) assert.deepEqual(JSON.parse(line).pid, process.pid, 'ran in this process');
        assert.equal(JSON.parse(ticks[0]!).name, 'tick');
        const boom = runs.filter((r) => r.job === 'boom');
        assert.ok(boom.length >= 2, `boom ran ${boom.length} times`);
        for (const r of boom) {
          assert.equal(r.exitCode, 1);
          assert.equal(r.error, 'Error: boom on purpose');
        }
        const exit3 = runs.filter((r) => r.job === 'exit3');
        assert.ok(exit3.length >= 2 && exit3.every((r) => r.exitCode === 3));
        assert.match(t.logText(), /\[error\] cron: job boom threw: Error: boom on purpose/);
        assert.match(t.logText(), /\[warn\] cron: job exit3 finished \(pid \d+\): exit 3,/);
        assert.equal(
          runs.filter((r) => r.job === 'tick').every((r) => r.exitCode === 0 && r.pid === process.pid),
          true,
        );
      } finally {
        await s.stop();
      }
    },
  );

  it('stop ends running commands (SIGTERM to their group) and aborts function jobs', { timeout: 15_000 }, async () => {
    const t = setup([]);
    const file = path.join(t.dir, 'aborted.txt');
    const s = new Scheduler(
      normalizeJobs(
        [
          { spec: '* * * * * *', command: 'sleep 30 & echo $! > bg.pid; wait', name: 'long' },
          {
            spec: '* * * * * *',
            module: path.join(FIXTURES, 'jobs.mjs'),
            export: 'waitForAbort',
            args: { file },
            name: 'wait',
          },
        ],
        { cwd: t.dir, seconds: true },
      ),
      { log: t.log, cwd: t.dir, seconds: true },
    );
    const runs: RunRecord[] = [];
    const started: number[] = [];
    s.on('run', (r: RunRecord) => runs.push(r));
    s.on('start', (_name: string, pid: number) => started.push(pid));
    s.start();
    await waitUntil(() => started.length >= 2, 4000, 'both jobs running');
    // The shell has started its background sleep once it wrote the pid (under load the 'start'
    // event can come before that line runs: stopping then would leave nothing to check).
    await waitUntil(
      () => fs.existsSync(path.join(t.dir, 'bg.pid')) && lines(path.join(t.dir, 'bg.pid')).length > 0,
      4000,
      'the background sleep started',
    );
    const t0 = Date.now();
    await s.stop(3000);
    assert.ok(Date.now() - t0 < 2500, 'stopped promptly');
    const long = runs.find((r) => r.job === 'long');
    assert.equal(long?.signal, 'SIGTERM');
    assert.deepEqual(lines(file), ['aborted']);
    assert.equal(runs.find((r) => r.job === 'wait')?.exitCode, 0);
    // What the shell started in the background went with it (the job's process group).
    const bg = Number(lines(path.join(t.dir, 'bg.pid'))[0]);
    assert.ok(bg > 0);
    await waitUntil(() => !pidAlive(bg), 2000, `the background sleep (pid ${bg}) gone`);
    assert.match(t.logText(), /cron: scheduler stopped/);
  });

  it(
    'with a lock, runs only what the lock grants; a failing lock starts nothing and says why',
    { timeout: 15_000 },
    async () => {
      const t = setup([]);
      const lockDir = tempDir();
      const lock = normalizeLock(
        { module: path.join(FIXTURES, 'dir-lock.mjs'), export: 'acquire', args: { dir: lockDir } },
        t.dir,
      )!;
      // Another machine has already taken every run of the next 3 seconds.
      const now = Math.floor(Date.now() / 1000) * 1000;
      const taken = [1000, 2000, 3000].map((d) => now + d);
      for (const at of taken) fs.mkdirSync(path.join(lockDir, `granted@${at}`));
      const s = new Scheduler(
        normalizeJobs([{ spec: '* * * * * *', command: 'echo "$SKITAI_CRON_DUE" >> runs.txt', name: 'granted' }], {
          cwd: t.dir,
          seconds: true,
        }),
        { log: t.log, cwd: t.dir, seconds: true, lock },
      );
      const locked: Date[] = [];
      s.on('locked', (_n: string, at: Date) => locked.push(at));
      s.start();
      const broken = new Scheduler(
        normalizeJobs([{ spec: '* * * * * *', command: 'echo ran >> broken.txt', name: 'b' }], {
          cwd: t.dir,
          seconds: true,
        }),
        { log: t.log, cwd: t.dir, seconds: true, lock: { ...lock, exportName: 'broken' } },
      );
      broken.start();
      try {
        await waitUntil(() => lines(path.join(t.dir, 'runs.txt')).length >= 1, 8000, 'a run after the taken ones');
        await Promise.all([s.stop(), broken.stop()]);
        const ran = lines(path.join(t.dir, 'runs.txt')).map((l) => new Date(l).getTime());
        for (const at of taken)
          assert.ok(!ran.includes(at), `the run due ${new Date(at).toISOString()} belonged to the other machine`);
        assert.ok(locked.length >= 2, `locked out ${locked.length} times`);
        assert.deepEqual(lines(path.join(t.dir, 'broken.txt')), []);
        assert.match(
          t.logText(),
          /job b: the lock failed, the run due \S+ is not started: Error: the lock backend is down/,
        );
        assert.match(t.logText(), /job granted: the run due \S+ is taken by another scheduler \(lock\)/);
      } finally {
        await Promise.all([s.stop(), broken.stop()]);
      }
    },
  );
});
