// The cron lock against a real redis-server: one taker per tick, held for the run, released by
// its owner only, and no tick taken again once released.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { tempDir } from '@skitai/test-support';
import { acquire, disconnect } from '../src/cron-lock.js';
import { CRON_RELEASE } from '../src/scripts.js';
import { redisMissing, TestRedis } from '../test-support/redis.js';

describe('the cron lock', { skip: redisMissing() }, () => {
  const dir = tempDir('skitai-cronlock-');
  const redis = new TestRedis(dir);
  let client: Redis;

  before(async () => {
    await redis.start();
    client = new Redis({ path: redis.socket });
  });
  after(async () => {
    client.disconnect();
    await disconnect();
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const args = () => ({ redis: redis.socket, prefix: 't' });
  const ask = (tick: number, pid: number) =>
    acquire({ job: 'j', scheduledAt: new Date(tick), host: 'h', pid, args: args() });

  it('one scheduler takes a tick; the lock holds its token and is released by its owner only', async () => {
    const tick = 1_000_000;
    const held = await ask(tick, 1);
    assert.ok(held, 'the first takes it');
    assert.equal(await ask(tick, 2), false, 'the same tick is taken');
    const token = await client.get('t:cron:j');
    assert.match(token!, /^h:1:1000000:[0-9a-f]{16}$/);
    assert.ok((await client.pttl('t:cron:j')) > 290_000, 'PX: the default 300 s');
    // Another scheduler's release (another token) leaves it.
    assert.equal(await client.eval(CRON_RELEASE, 1, 't:cron:j', 'h:2:1000000:0000000000000000'), 0);
    assert.equal(await client.get('t:cron:j'), token);
    // The next tick waits while the run holds the lock.
    assert.equal(await ask(tick + 1000, 2), false, 'a run of the job still holds it');
    await held.release();
    assert.equal(await client.get('t:cron:j'), null, 'released by its owner');
    assert.equal(await ask(tick, 3), false, 'a late scheduler never takes a tick already taken');
    const next = await ask(tick + 1000, 2);
    assert.ok(next, 'the next tick is taken');
    await next.release();
  });

  it('throws when Redis cannot be reached (the scheduler then runs nothing)', async () => {
    await assert.rejects(
      acquire({ job: 'j', scheduledAt: new Date(5_000_000), host: 'h', pid: 1, args: { redis: `${dir}/none.sock` } }),
    );
    await assert.rejects(acquire({ job: 'j', scheduledAt: new Date(5_000_000), host: 'h', pid: 1 }), /no Redis/);
  });
});
