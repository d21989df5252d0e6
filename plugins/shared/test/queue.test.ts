// Broadcasts made while Redis is away: kept (up to the queue option, the oldest dropped
// beyond it), sent in order when Redis returns; with queue: 0, lost. Two kernels of one process
// stand for two instances (each has its own instance id and connections).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Kernel } from '@skitai/kernel';
import { shared, sharedBridge } from '@skitai/shared';
import { tempDir, waitUntil } from '@skitai/test-support';
import { redisMissing, TestRedis } from '../test-support/redis.js';

describe('broadcasts while Redis is away', { skip: redisMissing() }, () => {
  const dir = tempDir('skitai-shared-queue-');
  const redis = new TestRedis(dir);
  const kernels: Kernel[] = [];

  before(() => redis.start());
  after(async () => {
    await Promise.all(kernels.map((k) => k.stop()));
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function instance(queue?: number): Promise<{ kernel: Kernel; heard: string[] }> {
    const kernel = new Kernel();
    kernel.use(shared({ redis: redis.socket, queue, startWait: 5000 }));
    const heard: string[] = [];
    kernel.onBroadcast((event, args) => {
      if (event === 'note') heard.push(args[0] as string);
    });
    await kernel.start({ address: '127.0.0.1', port: 0 });
    kernels.push(kernel);
    assert.equal(sharedBridge(kernel)!.up, true);
    return { kernel, heard };
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
});
