// The plugin: `kernel.use(shared({ redis: 'redis://10.0.0.5:6379' }))`.
import { checkOptionKeys, definePlugin, type Kernel, type Plugin } from '@skitai/kernel';
import { RedisBridge } from './bridge.js';
import { codes } from './errors.js';
import { redisOptions, type RedisTarget } from './target.js';

export const NAME = '@skitai/shared';
export const VERSION = '0.1.0';

export interface SharedOptions {
  /** Where Redis is: 'redis://host:6379/0', 'rediss://...', 'unix:///run/redis.sock', a socket path, or { host, port, path, password, db }. */
  redis: RedisTarget;
  /** Prefix of every key and of the channel (default 'skitai'): servers with another prefix share nothing. */
  prefix?: string;
  /** Offer Redis as the result cache's shared tier (default true). */
  cache?: boolean;
  /** Milliseconds a Redis command may take before it counts as failed (default 500): the longest a shared-cache lookup can add to a request. */
  timeout?: number;
  /** Milliseconds start waits for Redis before serving without it (default 2000). */
  startWait?: number;
  /** Broadcasts each process keeps while Redis is away, sent when it returns (default 1000; 0: none, they are lost). */
  queue?: number;
}

const OPTION_KEYS: Record<keyof SharedOptions, true> = {
  redis: true,
  prefix: true,
  cache: true,
  timeout: true,
  startWait: true,
  queue: true,
};

function check(options: SharedOptions): Required<SharedOptions> {
  checkOptionKeys(NAME, options, Object.keys(OPTION_KEYS));
  if (options === undefined || options === null || options.redis === undefined)
    throw codes.SKT_SHARED_OPTION('redis', options?.redis, 'where Redis is, e.g. redis://127.0.0.1:6379');
  redisOptions(options.redis);
  const prefix = options.prefix ?? 'skitai';
  if (typeof prefix !== 'string' || !/^[\w.:-]+$/.test(prefix))
    throw codes.SKT_SHARED_OPTION('prefix', prefix, 'letters, digits and _ . : -');
  const timeout = options.timeout ?? 500;
  if (typeof timeout !== 'number' || !(timeout > 0))
    throw codes.SKT_SHARED_OPTION('timeout', timeout, 'milliseconds over 0');
  const startWait = options.startWait ?? 2000;
  if (typeof startWait !== 'number' || !(startWait >= 0))
    throw codes.SKT_SHARED_OPTION('startWait', startWait, 'milliseconds, 0 or more');
  const queue = options.queue ?? 1000;
  if (!Number.isInteger(queue) || queue < 0)
    throw codes.SKT_SHARED_OPTION('queue', queue, 'a whole number of broadcasts, 0 or more');
  return { redis: options.redis, prefix, cache: options.cache !== false, timeout, startWait, queue };
}

function apply(kernel: Kernel, options: Required<SharedOptions>): void {
  const bridge = new RedisBridge(kernel, {
    redis: options.redis,
    prefix: options.prefix,
    cache: options.cache,
    timeoutMs: options.timeout,
    startWaitMs: options.startWait,
    queue: options.queue,
  });
  kernel.setInstanceBridge(bridge, NAME);
  bridges.set(kernel, bridge);
  // Startup taps run where requests are served (a worker, a single process): the master
  // relays between its workers and keeps no connection of its own.
  kernel.hooks.startup.tapPromise(NAME, async () => {
    await bridge.connect();
  });
  kernel.hooks.shutdown.tapPromise(NAME, async () => {
    await bridge.close();
  });
  kernel.hooks.status.tap(NAME, (sections) => {
    if (kernel.processRole === 'master') return;
    sections.push({
      name: 'shared',
      title: 'Shared state (Redis)',
      data: { instance: kernel.instanceId, redis: bridge.up ? 'up' : 'unreachable', prefix: options.prefix },
      metrics: [
        {
          name: 'skitai_shared_redis_up',
          help: 'Whether this process reaches the shared Redis.',
          type: 'gauge',
          samples: [{ value: bridge.up ? 1 : 0 }],
        },
      ],
    });
  });
}

const bridges = new WeakMap<Kernel, RedisBridge>();

/** The bridge of a kernel using the plugin (whether Redis is up, for tests and status). */
export function sharedBridge(kernel: Kernel): RedisBridge | undefined {
  return bridges.get(kernel);
}

/** `kernel.use(shared({ redis: 'redis://10.0.0.5:6379' }))`: this server shares its state with every server using the same Redis and prefix. */
export function shared(options: SharedOptions): Plugin<Partial<SharedOptions> | undefined> {
  const checked = check(options);
  return definePlugin<Partial<SharedOptions> | undefined>({
    name: NAME,
    version: VERSION,
    kernel: '^0.1.0',
    apply: (kernel, o) => apply(kernel, o ? check({ ...checked, ...o }) : checked),
  });
}
