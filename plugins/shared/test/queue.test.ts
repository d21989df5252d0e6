// Broadcasts made while Redis is away: kept (up to the queue option, the oldest dropped
// beyond it), sent in order when Redis returns; with queue: 0, lost. The same when the Redis
// thread crashed: ended as a crash would end it (worker.terminate through the bridge's
// terminateThread), it comes back after the back-off, subscribes again, sends the broadcasts
// made meanwhile, and sharing goes on both ways; one warning for each such outage. Two kernels
// of one process stand for two instances (each has its own instance id and connections).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Kernel } from '@skitai/kernel';
import { shared, sharedBridge } from '@skitai/shared';
import { tempDir, waitUntil } from '@skitai/test-support';
import { redisMissing, TestRedis } from '../test-support/redis.js';
import { restartDelay } from '../src/thread-link.js';

describe('broadcasts while Redis or its thread is away', { skip: redisMissing() }, () => {
  const dir = tempDir('skitai-shared-queue-');
  const redis = new TestRedis(dir);
  const kernels: Kernel[] = [];

  before(() => redis.start());
  after(async () => {
    await Promise.all(kernels.map((k) => k.stop()));
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let made = 0;
  async function instance(queue?: number) {
    const kernel = new Kernel();
    kernel.use(shared({ redis: redis.socket, queue, startWait: 5000 }));
    kernel.addlu('k');
    const heard: string[] = [];
    kernel.onBroadcast((event, args) => {
      if (event === 'note') heard.push(args[0] as string);
    });
    const logpath = path.join(dir, `logs-${++made}`);
    await kernel.start({ address: '127.0.0.1', port: 0, logpath });
    kernels.push(kernel);
    assert.equal(sharedBridge(kernel)!.up, true);
    const log = () => {
      try {
        return fs.readFileSync(path.join(logpath, 'server.log'), 'utf8');
      } catch {
        return '';
      }
    };
    return { kernel, heard, log };
  }

  it('keeps the last `queue` of them, sends them in order when Redis returns, then goes on live', async () => {
    const a = await instance(2);
    const quiet = await instance(0);
    const b = await instance();
    // Connected, subscribed, and the main thread has not loaded the client: it runs in its own thread.
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/ioredis/'));
    assert.deepEqual(loaded, [], 'ioredis is not loaded on the main thread');
    a.kernel.broadcast('note', 'live');
    await waitUntil(() => b.heard.includes('live'), 5000, 'a live broadcast');

    await redis.stop();
    await waitUntil(() => !sharedBridge(a.kernel)!.up && !sharedBridge(quiet.kernel)!.up, 5000, 'Redis seen gone');
    for (const note of ['one', 'two', 'three']) a.kernel.broadcast('note', note);
    quiet.kernel.broadcast('note', 'unqueued');
    assert.deepEqual(a.heard, ['live', 'one', 'two', 'three'], 'its own listeners hear them at once');

    await redis.start();
    await waitUntil(() => b.heard.includes('three'), 10_000, 'the queued broadcasts');
    a.kernel.broadcast('note', 'after');
    await waitUntil(() => b.heard.includes('after'), 5000, 'a broadcast after the return');
    // 'one' was dropped (queue 2), the rest in order, once; queue: 0 kept nothing.
    assert.deepEqual(b.heard, ['live', 'two', 'three', 'after']);
    assert.deepEqual(quiet.heard, ['live', 'unqueued', 'two', 'three', 'after']);
  });

  it('comes back after a crash, twice: broadcasts of the outage sent, live sharing both ways, one warning per outage', async () => {
    const a = await instance();
    const b = await instance();
    a.kernel.broadcast('note', 'live');
    await waitUntil(() => b.heard.includes('live'), 5000, 'a live broadcast');

    for (const round of [1, 2]) {
      const bridge = sharedBridge(a.kernel)!;
      await bridge.terminateThread();
      assert.equal(bridge.up, false, 'no sharing while the thread is down');
      a.kernel.broadcast('note', `during-${round}`);
      await waitUntil(() => bridge.up, 10_000, `the thread back (round ${round})`);
      await waitUntil(() => b.heard.includes(`during-${round}`), 5000, `the outage's broadcast (round ${round})`);
      // Subscribed again: it hears b; and b hears it live.
      b.kernel.broadcast('note', `to-a-${round}`);
      await waitUntil(
        () => a.heard.includes(`to-a-${round}`),
        5000,
        `a broadcast to the restarted one (round ${round})`,
      );
      a.kernel.broadcast('note', `from-a-${round}`);
      await waitUntil(() => b.heard.includes(`from-a-${round}`), 5000, `a live broadcast after (round ${round})`);
      const t = a.kernel.setlu('k');
      await waitUntil(() => b.kernel.getlu('k') === t, 5000, `a setlu after (round ${round})`);
      await waitUntil(() => (a.log().match(/the Redis thread is back/g) ?? []).length === round, 5000, 'the info line');
      assert.equal((a.log().match(/the Redis thread stopped/g) ?? []).length, round, 'one warning per outage');
    }
    assert.deepEqual(
      b.heard,
      ['live', 'during-1', 'to-a-1', 'from-a-1', 'during-2', 'to-a-2', 'from-a-2'],
      'each once, in order (its own broadcasts too)',
    );
    assert.match(a.log(), /\[warn\] @skitai\/shared: the Redis thread stopped \(.*\): restarting it/);
  });
});

it('restarts back off, doubling to 10 s, and come five a minute at most', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 7, 20].map((n) => restartDelay(n, [], 0)),
    [100, 200, 400, 800, 10_000, 10_000],
  );
  // Five restarts in the last minute: the next waits until the oldest is a minute old.
  const five = [1000, 2000, 3000, 4000, 5000];
  assert.equal(restartDelay(0, [...five], 6000), 55_000);
  assert.equal(restartDelay(9, [...five], 6000), 55_000);
  // Those older than a minute no longer count (and are dropped).
  const restarts = [0, 2000, 3000, 4000, 5000];
  assert.equal(restartDelay(0, restarts, 60_500), 100);
  assert.deepEqual(restarts, [2000, 3000, 4000, 5000]);
});
