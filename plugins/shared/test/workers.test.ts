// Two instances of two workers each (kernel.run with workers: 2), sharing through a real
// redis-server: every worker has its own connections, so a setlu or a broadcast made in one
// worker must reach each worker of every instance once (its own instance's through the master,
// the others' through Redis), and the cron job, scheduled in each master, must run once a tick.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir, waitUntil } from '@skitai/test-support';
import { redisMissing, TestRedis } from '../test-support/redis.js';
import { cronRuns, runsByTick } from '../test-support/cron-file.js';
import { json } from '../test-support/http.js';
import { Instance, type InstanceLine } from '../test-support/instances.js';

describe('two instances of two workers each', { skip: redisMissing() }, () => {
  const dir = tempDir('skitai-shared-workers-');
  const redis = new TestRedis(dir);
  const cronFile = path.join(dir, 'ticks.txt');
  const backend = http.createServer((_req, res) => res.end('{}'));
  let inst: Instance[] = [];

  before(async () => {
    await redis.start();
    backend.listen(0, '127.0.0.1');
    await new Promise((r) => backend.once('listening', r));
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    inst = ['A', 'B'].map(
      (name) => new Instance(name, { redis: redis.socket, backend: backendUrl, cronFile, workers: 2 }),
    );
    // "workers listening" comes once every worker started, and a worker's start waits until its
    // subscription is confirmed: from here every worker hears every message.
    await Promise.all(inst.map((i) => i.started()));
    assert.notEqual(inst[0]!.id, inst[1]!.id);
  });

  after(async () => {
    await Promise.all(inst.map((i) => i.stop()));
    await redis.stop();
    backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The lines workers wrote for `match`, once each of the four workers wrote one. */
  async function heardByEveryWorker(match: (l: InstanceLine) => boolean, what: string) {
    const byInstance = await Promise.all(
      inst.map((i) =>
        i.when(
          () => {
            const got = i.lines.filter((l) => l.role === 'worker' && match(l));
            return new Set(got.map((l) => l.worker)).size >= 2 && got;
          },
          10_000,
          `${what} heard by both workers of ${i.name}`,
        ),
      ),
    );
    return byInstance;
  }

  it('a broadcast made in one worker reaches each of the four workers once', async () => {
    for (const [n, from] of [inst[0]!, inst[1]!, inst[0]!].entries()) {
      const token = `t${n}`;
      const { worker } = await json(from.url(`/broadcast?token=${token}`));
      await heardByEveryWorker((l) => l.event === 'hello-all' && l.token === token, `broadcast ${token}`);
      // A second broadcast, made after the first was heard everywhere, is a barrier: a copy of the
      // first would have come before it (one channel, delivered in order by Redis and the master).
      const barrier = `${token}-after`;
      await json(from.url(`/broadcast?token=${barrier}`));
      await heardByEveryWorker((l) => l.event === 'hello-all' && l.token === barrier, `broadcast ${barrier}`);
      for (const i of inst) {
        const got = i.lines.filter((l) => l.role === 'worker' && l.event === 'hello-all' && l.token === token);
        assert.deepEqual(
          got.map((l) => l.worker).sort(),
          ['W0', 'W1'],
          `${token} from ${from.name}/${worker}: once on each worker of ${i.name}`,
        );
        const expectedFrom = i === from ? /^W[01]$/ : new RegExp(`^${from.id}/W[01]$`);
        for (const l of got) assert.match(l.from!, expectedFrom);
      }
    }
  });

  it("a setlu in one worker of A is seen by both workers of B (getlu already new), each once, and A's other worker", async () => {
    for (const [n, from] of [inst[0]!, inst[1]!].entries()) {
      const { t, worker } = await json(from.url('/setlu'), 'POST');
      const lines = await heardByEveryWorker(
        (l) => l.event === 'model-changed' && l.key === 'k' && l.getlu === t,
        `setlu ${n}`,
      );
      const barrier = `lu${n}-after`;
      await json(from.url(`/broadcast?token=${barrier}`));
      await heardByEveryWorker((l) => l.event === 'hello-all' && l.token === barrier, `broadcast ${barrier}`);
      for (const [m, i] of inst.entries()) {
        const got = i.lines.filter((l) => l.role === 'worker' && l.event === 'model-changed' && l.getlu === t);
        assert.deepEqual(got.map((l) => l.worker).sort(), ['W0', 'W1'], `setlu of ${from.name}/${worker} on ${i.name}`);
        assert.equal(lines[m]!.length, 2);
        if (i !== from) for (const l of got) assert.match(l.from!, new RegExp(`^${from.id}/${worker}$`));
      }
      // Both workers of the other instance answer getlu with the new time (four asks: both served).
      const other = inst[1 - n]!;
      for (let k = 0; k < 4; k++) assert.equal((await json(other.url('/lu'))).t, t);
    }
  });

  it('the cron job of both instances runs once per tick for 5 ticks (one scheduler per instance, in its master)', async () => {
    await waitUntil(() => cronRuns(cronFile).length > 0, 30_000, 'a first run');
    const firstTick = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await waitUntil(() => cronRuns(cronFile).some(([t]) => t >= firstTick + 5000), 30_000, 'six ticks');
    const byTick = runsByTick(cronFile);
    for (let n = 0; n < 5; n++) {
      const t = firstTick + n * 1000;
      assert.equal(byTick.get(t)?.length, 1, `tick ${new Date(t).toISOString()} ran once: ${byTick.get(t)}`);
    }
    for (const [t, who] of byTick)
      assert.equal(who.length, 1, `tick ${new Date(t).toISOString()} ran ${who.length} times`);
  });
});
