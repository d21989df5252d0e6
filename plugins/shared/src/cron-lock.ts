// The cron lock across instances (the module @skitai/cron's scheduler imports): each run of a
// job is taken by one scheduler. SET NX PX with a token of its own, released by its owner only.
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { CRON_ACQUIRE, CRON_RELEASE } from './scripts.js';
import { loadRedis, redisOptions, retryDelay, type RedisTarget } from './target.js';
import process from 'node:process';

export interface CronLockArgs {
  redis: RedisTarget;
  /** Key prefix (default 'skitai'). */
  prefix?: string;
  /** Seconds a run holds the lock at most (default 300): a scheduler that dies holding it blocks the job no longer than this. */
  ttl?: number;
}

interface Scripted extends Redis {
  skitaiCronAcquire(lock: string, last: string, token: string, ms: string, tick: string): Promise<number>;
  skitaiCronRelease(lock: string, token: string): Promise<number>;
}

const clients = new Map<string, Promise<Scripted>>();

async function client(target: RedisTarget): Promise<Scripted> {
  const id = JSON.stringify(target);
  let c = clients.get(id);
  if (c === undefined) {
    c = loadRedis().then((Ctor) => {
      const r = new Ctor({
        ...redisOptions(target),
        retryStrategy: retryDelay,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 2000,
      }) as Scripted;
      r.on('error', () => {
        /* the failing command says why */
      });
      r.defineCommand('skitaiCronAcquire', { numberOfKeys: 2, lua: CRON_ACQUIRE });
      r.defineCommand('skitaiCronRelease', { numberOfKeys: 1, lua: CRON_RELEASE });
      return r;
    });
    clients.set(id, c);
  }
  const r = await c;
  if (r.status !== 'ready') {
    // The first run after the scheduler starts (or after an outage): a moment to connect.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000);
      function done() {
        clearTimeout(timer);
        r.off('ready', done);
        resolve();
      }
      r.once('ready', done);
    });
  }
  return r;
}

/**
 * Takes the run of `job` due at `scheduledAt` for this scheduler: false when another took it (or
 * a run of the job still holds the lock), else a lock released when the run ends. Throws when
 * Redis cannot be reached (the scheduler logs it and does not run: no run twice).
 */
export async function acquire(request: {
  job: string;
  scheduledAt: Date;
  host: string;
  pid: number;
  args?: unknown;
}): Promise<false | { release(): Promise<void> }> {
  // A stand-alone skitai-cron (a lock named in its config file, no args) reads the environment.
  const args = (request.args ??
    (process.env.SKITAI_SHARED_REDIS ? { redis: process.env.SKITAI_SHARED_REDIS } : undefined)) as
    CronLockArgs | undefined;
  if (!args || args.redis === undefined)
    throw new Error('@skitai/shared cron lock: no Redis: give args.redis, or SKITAI_SHARED_REDIS in the environment');
  const prefix = args.prefix ?? 'skitai';
  const ttlMs = Math.round((args.ttl ?? 300) * 1000);
  const r = await client(args.redis);
  const tick = request.scheduledAt.getTime();
  const key = `${prefix}:cron:${request.job}`;
  const token = `${request.host}:${request.pid}:${tick}:${crypto.randomBytes(8).toString('hex')}`;
  const got = await r.skitaiCronAcquire(key, `${key}:last`, token, String(ttlMs), String(tick));
  if (got !== 1) return false;
  return {
    release: async () => {
      await r.skitaiCronRelease(key, token);
    },
  };
}

/** Closes the lock's connections (they reconnect on their own otherwise, for as long as the process runs). */
export async function disconnect(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  for (const c of all) (await c).disconnect();
}
