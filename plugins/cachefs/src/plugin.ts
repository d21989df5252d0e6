// The plugin: `kernel.use(cachefs({ memmax, diskmax, path }))` (Skitai's enable_cachefs).
// It hooks `was` HTTP calls through the services' response-cache hook, and is itself the
// gateway's `cache` (`gateway({ cache })`) for the reverse and forward proxies. With both
// sizes 0 (the default, as in Skitai) it keeps nothing and adds no hook.
import path from 'node:path';
import { checkOptionKeys, definePlugin, type Kernel, type Plugin } from '@skitai/kernel';
import { servicesOf } from '@skitai/services';
import { DiskTier } from './disk-tier.js';
import { codes } from './errors.js';
import { HttpCache } from './http-cache.js';
import { proxyCache, type ProxyCacheLike } from './proxy-cache.js';
import { statusSection } from './status-section.js';
import { wasCache } from './was-cache.js';

export const NAME = '@skitai/cachefs';
export const VERSION = '0.1.0';

export interface CachefsOptions {
  /** Bytes of the memory tier (0: no memory tier). Default 0. */
  memmax?: number;
  /** Bytes of the disk tier, per serving process (0: no disk tier). Default 0. */
  diskmax?: number;
  /** The disk tier's folder (relative to the startup script's folder); required with diskmax. */
  path?: string;
  /** Concurrent misses for one URL wait for the first one's answer (default true). */
  collapse?: boolean;
  /** Seconds a collapsed request waits before it asks the backend itself (default 10). */
  collapseTimeout?: number;
  /** Cache `was` HTTP calls too (default true). */
  was?: boolean;
}

const OPTION_KEYS = ['memmax', 'diskmax', 'path', 'collapse', 'collapseTimeout', 'was'];

/** The plugin, which is also the gateway's cache: `kernel.use(c)`, `gateway({ cache: c })`. */
export type CachefsPlugin = Plugin<undefined> &
  ProxyCacheLike & {
    /** The cache (tiers and numbers), for tests and status. */
    readonly cache: HttpCache;
  };

function bytes(option: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw codes.SKT_CACHEFS_OPTION(option, value, 'a whole number of bytes, 0 or more (0 turns the tier off)');
  return value;
}

function parse(options: CachefsOptions) {
  checkOptionKeys(NAME, options, OPTION_KEYS);
  const memmax = bytes('memmax', options.memmax);
  const diskmax = bytes('diskmax', options.diskmax);
  if (diskmax > 0 && (typeof options.path !== 'string' || options.path.trim() === '')) {
    throw codes.SKT_CACHEFS_OPTION('path', options.path, 'the disk tier (diskmax > 0) needs a folder');
  }
  if (options.path !== undefined && typeof options.path !== 'string')
    throw codes.SKT_CACHEFS_OPTION('path', options.path, 'a folder');
  if (options.collapse !== undefined && typeof options.collapse !== 'boolean')
    throw codes.SKT_CACHEFS_OPTION('collapse', options.collapse, 'true or false');
  if (options.was !== undefined && typeof options.was !== 'boolean')
    throw codes.SKT_CACHEFS_OPTION('was', options.was, 'true or false');
  const timeout = options.collapseTimeout ?? 10;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout))
    throw codes.SKT_CACHEFS_OPTION('collapseTimeout', timeout, 'seconds over 0');
  return {
    memmax,
    diskmax,
    path: options.path,
    collapse: options.collapse ?? true,
    collapseMs: timeout * 1000,
    was: options.was ?? true,
  };
}

/** `kernel.use(cachefs({ memmax, diskmax, path }))`; pass the same object to `gateway({ cache })`. */
export function cachefs(options: CachefsOptions = {}): CachefsPlugin {
  const o = parse(options);
  const cache = new HttpCache(o.memmax, o.collapse, o.collapseMs);
  const proxy = proxyCache(cache);
  let applied = false;

  function apply(kernel: Kernel): void {
    if (applied)
      throw codes.SKT_CACHEFS_OPTION('kernel', NAME, 'one cachefs() serves one kernel: call cachefs() for each');
    applied = true;
    if (o.memmax === 0 && o.diskmax === 0) return;
    if (o.was) servicesOf(kernel).setResponseCache(wasCache(cache));
    if (o.diskmax > 0) {
      kernel.hooks.startup.tapPromise(NAME, async () => {
        // One folder per serving process (M, W0, W1 ...), known by now: each bounds its own and
        // finds it again after a restart.
        const dir = path.join(path.resolve(kernel.getswd(), o.path!), kernel.workerId);
        const disk = new DiskTier(dir, o.diskmax, (message) => kernel.logs.log('server', 'warn', message));
        await disk.open();
        cache.disk = disk;
      });
      kernel.hooks.shutdown.tapPromise(NAME, async () => {
        await cache.disk?.flush();
      });
    }
    kernel.hooks.status.tap(NAME, (sections) => {
      if (kernel.processRole !== 'master') sections.push(statusSection(cache));
    });
  }

  return definePlugin({
    name: NAME,
    version: VERSION,
    kernel: '^0.1.0',
    dependencies: ['@skitai/services'],
    apply,
    serve: proxy.serve,
    lookup: proxy.lookup,
    cache,
  } as Plugin<undefined>) as CachefsPlugin;
}
