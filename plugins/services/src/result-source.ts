// The result cache for calls that are not HTTP (the db plugin's queries): one lookup before the
// call and the slot `result.cache(seconds)` writes to after it, under a key the caller gives.
import type { BackendServices } from './manager.js';
import type { CacheSlot, Result, Results } from './result.js';

/** A cache slot under a key computed on first use (most results are never cached). */
export class KeySlot implements CacheSlot {
  private computed: string | undefined;
  constructor(
    readonly cache: CacheSlot['cache'],
    private readonly parts: () => string,
  ) {}
  get key(): string {
    return (this.computed ??= this.parts());
  }
}

/**
 * Runs `produce(slot)` unless the result cache holds a live result under `key()`; the result it
 * makes carries the slot (`result.slot = slot`, set by the producer as it builds the result, so
 * no promise is chained here), so that `result.cache(seconds)` keeps it. `useCache`: true
 * (default) reads the cache, false skips it, a last-updated time (`was.getlu(...)`) drops
 * entries stored before it.
 */
export function cachedResult<R extends Result | Results>(
  services: BackendServices,
  key: () => string,
  useCache: boolean | number | undefined,
  produce: (slot: CacheSlot) => Promise<R>,
): Promise<R> {
  const cache = services.rcache;
  const slot = new KeySlot(cache, key);
  const use = useCache ?? true;
  if (use !== false && cache.size > 0) {
    const hit = cache.get(slot.key, typeof use === 'number' ? use : 0) as R | undefined;
    if (hit !== undefined) return Promise.resolve(hit.fromCache() as R);
  }
  return produce(slot);
}
