import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  killAll,
  sleep,
  waitUntil,
  pidAlive,
  workersSeen,
  get,
} from '../../test-support/process-helpers.js';
import { agentOn } from '../../test-support/process-target.js';

after(killAll);

test(
  'the CPU critical point replaces a busy worker without dropping its in-flight requests',
  { timeout: 60_000 },
  async () => {
    // Over 10% of a core for 2 intervals of 0.5 s in a row: a spinning worker uses ~100% on an
    // idle machine, an idle one ~1%; 10 leaves room for a machine crowded by other tests.
    const server = await startServer({ args: ['--workers', '2'], env: { FX_CRITICAL: '10,2,0.5' } });
    const before = await workersSeen(server.port);
    const busyAgent = await agentOn(server.port, 'W0');
    const slowAgent = await agentOn(server.port, 'W0');
    const burn = get(server.port, '/burn?ms=5000', { agent: busyAgent, timeout: 30_000 });
    const slow = get(server.port, '/slow?ms=3000', { agent: slowAgent, timeout: 30_000 });
    await server.waitFor(/worker #0 \(pid \d+\) used \d+% CPU for 2 intervals of 0\.5 s: replacing it/, 25_000);
    const [burnt, slept] = await Promise.all([burn, slow]);
    assert.equal(burnt.status, 200);
    assert.equal(burnt.json.burnt, true);
    assert.equal(burnt.json.pid, before.get('W0'));
    assert.equal(slept.status, 200);
    assert.equal(slept.json.slept, true);
    await waitUntil(() => !pidAlive(before.get('W0')!), 10_000, 'the busy worker retired');
    const after = await workersSeen(server.port);
    assert.notEqual(after.get('W0'), before.get('W0'), 'W0 replaced');
    assert.equal(after.get('W1'), before.get('W1'), 'the idle W1 kept');
    busyAgent.destroy();
    slowAgent.destroy();
    // Idle now: no further replacement. Waits for something not to happen: 1.5 s is three of
    // the 0.5 s intervals, more than the two in a row that a replacement needs.
    await sleep(1500);
    assert.equal((server.output().match(/replacing it$/gm) ?? []).length, 1);
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
  },
);

test(
  'a worker whose event loop is blocked (no report at all) is replaced too; its request still completes',
  { timeout: 60_000 },
  async () => {
    const server = await startServer({ args: ['--workers', '2'], env: { FX_CRITICAL: '90,2,0.5' } });
    const before = await workersSeen(server.port);
    const agent = await agentOn(server.port, 'W1');
    const blocked = get(server.port, '/block?ms=5000', { agent, timeout: 30_000 });
    await server.waitFor(
      /worker #1 \(pid \d+\) (did not report for [\d.]+ s \(its event loop is blocked\)|used \d+% CPU for 2 intervals of 0\.5 s): replacing it/,
      25_000,
    );
    const r = await blocked;
    agent.destroy();
    assert.equal(r.status, 200);
    assert.equal(r.json.blocked, true);
    await waitUntil(() => !pidAlive(before.get('W1')!), 15_000, 'the blocked worker retired');
    const after = await workersSeen(server.port);
    assert.notEqual(after.get('W1'), before.get('W1'));
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);
  },
);

test('without setWorkerCriticalPoint a busy worker is left alone', { timeout: 30_000 }, async () => {
  const server = await startServer({ args: ['--workers', '2'] });
  const before = await workersSeen(server.port);
  const agent = await agentOn(server.port, 'W0');
  const r = await get(server.port, '/burn?ms=2000', { agent, timeout: 20_000 });
  agent.destroy();
  assert.equal(r.status, 200);
  const after = await workersSeen(server.port);
  assert.deepEqual(after, before);
  assert.doesNotMatch(server.output(), /CPU for/);
  process.kill(server.pid, 'SIGTERM');
  assert.equal((await server.exited).code, 0);
});
