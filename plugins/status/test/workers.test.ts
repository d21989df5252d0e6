import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetrics, request, sampleValue } from '../test-support/helpers.js';
import { startWorkersServer } from '../test-support/workers.js';

test(
  'two workers: every process and plugin reports through the master; request counts add up; a killed worker shows its restart',
  { timeout: 100_000 },
  async () => {
    const server = await startWorkersServer();
    try {
      const { port } = server;
      // The master says "2 workers listening" once both serve (node's cluster hands connections round-robin).
      const first = parseMetrics((await request(port, '/status/metrics')).body);
      const before = ['W0', 'W1'].map(
        (w) => sampleValue(first, 'skitai_http_responses_total', { process: w, code: '200' }) ?? 0,
      );
      for (let i = 0; i < 20; i++) assert.equal((await request(port, '/')).status, 200);
      for (let i = 0; i < 4; i++) assert.equal(JSON.parse((await request(port, '/call')).body).status, 'done');
      assert.equal((await request(port, '/mail')).status, 200);
      assert.equal((await request(port, '/nothing-here')).status, 404);

      const m = parseMetrics((await request(port, '/status/metrics')).body);
      const ok = ['W0', 'W1'].map(
        (w, i) => (sampleValue(m, 'skitai_http_responses_total', { process: w, code: '200' }) ?? 0) - before[i]!,
      );
      // 25 answered with 200, plus the first metrics request (answered after its own snapshot).
      assert.equal(ok[0]! + ok[1]!, 26, `W0 ${ok[0]}, W1 ${ok[1]}`);
      assert.ok(ok[0]! > 0 && ok[1]! > 0, 'both workers served');
      assert.equal(
        (sampleValue(m, 'skitai_http_responses_total', { process: 'W0', code: '404' }) ?? 0) +
          (sampleValue(m, 'skitai_http_responses_total', { process: 'W1', code: '404' }) ?? 0),
        1,
      );
      for (const p of ['M', 'W0', 'W1', 'cron', 'smtpda'])
        assert.equal(sampleValue(m, 'skitai_process_up', { process: p }), 1, p);
      // The agent moves it to active for each try (the SMTP server is unreachable) and back.
      const spool = ['queued', 'active'].map((state) =>
        sampleValue(m, 'skitai_smtpda_spool_messages', { process: 'M', state })!,
      );
      assert.equal(spool[0]! + spool[1]!, 1, 'the mail waits in the spool');
      assert.ok(m.get('skitai_cron_job_runs_total')!.metrics.some((s) => s.labels?.job === 'nightly-archive'));
      const calls = ['W0', 'W1'].map((w) =>
        sampleValue(m, 'skitai_backend_member_calls_total', {
          process: w,
          alias: '@api',
          member: '@api#1 127.0.0.1:9',
        }),
      );
      assert.ok(
        calls.every((c) => c !== undefined),
        'each worker reports its own pools',
      );

      const status = await server.status();
      const [master, w0, w1, ...background] = status.processes;
      assert.equal(master!.role, 'master');
      assert.deepEqual([w0!.id, w1!.id], ['W0', 'W1']);
      assert.notEqual(w0!.pid, w1!.pid);
      assert.deepEqual(background.map((p) => p.id).sort(), ['cron', 'smtpda']);
      const cronJobs = background.find((p) => p.id === 'cron')!.sections.find((s) => s.name === 'cron')!.data as any[];
      assert.deepEqual(
        cronJobs.map((j) => j.job),
        ['heartbeat', 'nightly-archive'],
      );
      assert.match(cronJobs[1].nextRun, /T03:00:00/);
      assert.ok(w1!.sections.some((s) => s.name === 'websocket') && w1!.sections.some((s) => s.name === 'services'));
      assert.equal(w1!.restarts, 0);

      // A worker killed: the master replaces it, and says so.
      process.kill(w1!.pid, 'SIGKILL');
      await server.serverLog(new RegExp(`worker #1 \\(pid ${w1!.pid}\\) died`));
      await server.serverLog(/\(W1\) listening on/, 2);
      // The replacement's own log line comes before the master marks it ready: read until it serves.
      let fresh = (await server.status()).processes.find((p) => p.id === 'W1');
      while (fresh === undefined || fresh.pid === w1!.pid)
        fresh = (await server.status()).processes.find((p) => p.id === 'W1');
      assert.equal(fresh.restarts, 1);
      assert.match(fresh.lastRestart!.reason, new RegExp(`pid ${w1!.pid} died \\(killed by SIGKILL\\)`));
      const html = (await request(port, '/status/')).body;
      assert.match(html, /killed by SIGKILL/);
      for (const title of [
        'Processes',
        'Cron jobs',
        'Mail spool (smtpda)',
        'WebSocket',
        'Backend aliases and result cache',
      ])
        assert.ok(html.includes(title), title);
    } finally {
      await server.stop();
    }
  },
);
