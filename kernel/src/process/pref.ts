import type { Kernel } from '../kernel.js';

/**
 * Skitai's run-time preferences (`skitai.pref()`): given at mount, `kernel.mount('/v1', app,
 * { pref })`, every property overrides the app's (`debug`, `useReloader`, `maxPostBodySize`
 * ...), `config` entries are merged over `app.config`, and the app's `bootstrap(pref)`, when
 * it has one, runs first: it may read files into `pref.config`, mount more, register
 * background processes.
 */
export class Pref {
  config: Record<string, unknown> = {};
  [key: string]: unknown;

  constructor(init: Record<string, unknown> = {}) {
    const { config, ...rest } = init;
    Object.assign(this, rest);
    if (config && typeof config === 'object') Object.assign(this.config, config);
  }
}

interface PrefTarget {
  config?: Record<string, unknown>;
  bootstrap?: (pref: Pref) => unknown;
  [key: string]: unknown;
}

const applied = new WeakSet<object>();

/**
 * Applies each mount's `pref` to its target (once per target): bootstrap(pref), then the
 * properties, then config. Runs while the kernel is idle (from run(), before workers start
 * or the single process binds) and again at startup for mounts added since.
 */
export async function applyPrefs(kernel: Kernel): Promise<void> {
  for (const entry of [...kernel.mounts.entries]) {
    const pref = (entry.options as { pref?: unknown }).pref;
    const target = entry.target as unknown as PrefTarget;
    if (!(pref instanceof Pref) || typeof target !== 'object' || target === null || applied.has(target)) continue;
    applied.add(target);
    if (typeof target.bootstrap === 'function') await target.bootstrap(pref);
    for (const [key, value] of Object.entries(pref)) {
      if (key !== 'config') target[key] = value;
    }
    if (target.config && typeof target.config === 'object') Object.assign(target.config, pref.config);
    else target.config = { ...pref.config };
  }
}
