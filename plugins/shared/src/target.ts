// Where Redis is: a URL (redis://, rediss://, unix://), a socket path, or ioredis's own
// connection fields. Plain JSON, so that a background process (the cron scheduler) gets it too.
import type { RedisOptions } from 'ioredis';
import { codes } from './errors.js';

export type RedisTarget =
  | string
  | { host?: string; port?: number; path?: string; username?: string; password?: string; db?: number; tls?: boolean };

/** ioredis options for a target; throws SKT_SHARED_OPTION for one it cannot read. */
export function redisOptions(target: RedisTarget): RedisOptions {
  if (typeof target === 'string') {
    if (target.startsWith('/')) return { path: target };
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw codes.SKT_SHARED_OPTION(
        'redis',
        target,
        'redis://[user:password@]host[:port][/db], rediss://..., unix:///path or a socket path',
      );
    }
    if (url.protocol === 'unix:') return { path: decodeURIComponent(url.pathname) };
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw codes.SKT_SHARED_OPTION('redis', target, 'a redis:, rediss: or unix: URL');
    }
    const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
    if (!Number.isInteger(db) || db < 0)
      throw codes.SKT_SHARED_OPTION('redis', target, 'a database number after the host (/0)');
    return {
      host: url.hostname || '127.0.0.1',
      port: url.port ? Number(url.port) : 6379,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      db,
      tls: url.protocol === 'rediss:' ? {} : undefined,
    };
  }
  if (target && typeof target === 'object') {
    const { tls, ...rest } = target;
    return { ...rest, tls: tls ? {} : undefined };
  }
  throw codes.SKT_SHARED_OPTION('redis', target, 'a URL, a socket path or { host, port, path, password, db }');
}

/** For log lines: where, without the password. */
export function describeTarget(target: RedisTarget): string {
  const o = redisOptions(target);
  return o.path ?? `${o.host}:${o.port}`;
}

/** Reconnects quickly at first, then once a second: sharing resumes about a second after Redis does. */
export function retryDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

/** ioredis's constructor, loaded only when sharing is turned on. */
export type RedisCtor = new (options: RedisOptions) => import('ioredis').Redis;

export async function loadRedis(): Promise<RedisCtor> {
  const mod = (await import('ioredis')) as unknown as { Redis?: RedisCtor; default?: RedisCtor };
  return (mod.Redis ?? mod.default)!;
}
