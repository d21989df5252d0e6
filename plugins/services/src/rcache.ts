import type { SharedCache } from '@skitai/kernel';

// The result cache (Skitai's rcache): results kept by `result.cache(seconds)`, bounded by
// `kernel.setMaxRcache(n)`. When full, expired entries go first, then those closest to expiry.

export interface CacheEntry<V> {
  value: V;
  /** Date.now() when stored: compared with a last-updated time given as `useCache`. */
  storedAt: number;
  expiresAt: number;
}

/** A tier shared by instances behind this cache, with how values cross to it. */
export interface SharedTier<V> {
  cache(): SharedCache | undefined;
  key(key: string): string;
  encode(value: V, storedAt: number, expiresAt: number): Buffer | undefined;
  decode(buf: Buffer): CacheEntry<V> | undefined;
}

export class ResultCache<V = unknown> {
  private readonly entries = new Map<string, CacheEntry<V>>();
  hits = 0;
  misses = 0;
  evictions = 0;
  sharedHits = 0;
  /** Set by the services of a kernel: reads the kernel's instance bridge when used. */
  shared: SharedTier<V> | undefined = undefined;

  constructor(private max = 300) {}

  get size(): number {
    return this.entries.size;
  }

  get capacity(): number {
    return this.max;
  }

  setMax(max: number): void {
    this.max = max;
    while (this.entries.size > this.max) this.evictOne(Date.now());
  }

  /**
   * A live entry, or undefined. `lastUpdated` (ms) drops an entry stored at or before it: the
   * data it was made from changed since (`useCache: was.getlu('tables.users')`).
   */
  get(key: string, lastUpdated = 0): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    const now = Date.now();
    if (entry.expiresAt <= now || (lastUpdated > 0 && entry.storedAt <= lastUpdated)) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.value;
  }

  set(key: string, value: V, seconds: number): void {
    if (this.max <= 0) return;
    const now = Date.now();
    const entry = { value, storedAt: now, expiresAt: now + seconds * 1000 };
    this.keep(key, entry, now);
    const tier = this.shared?.cache();
    if (tier !== undefined) {
      const buf = this.shared!.encode(value, entry.storedAt, entry.expiresAt);
      if (buf !== undefined) tier.set(this.shared!.key(key), buf, seconds * 1000);
    }
  }

  private keep(key: string, entry: CacheEntry<V>, now: number): void {
    if (this.max <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.max) this.evictOne(now);
    this.entries.set(key, entry);
  }

  /** Whether a shared tier is there to ask after a miss here. */
  get hasShared(): boolean {
    return this.shared?.cache() !== undefined;
  }

  /**
   * After a miss here: the shared tier's entry (kept here too until it expires), or undefined;
   * never rejects (an unreachable tier is a miss).
   */
  async getShared(key: string, lastUpdated = 0): Promise<V | undefined> {
    const tier = this.shared?.cache();
    if (tier === undefined) return undefined;
    const buf = await tier.get(this.shared!.key(key));
    const entry = buf === undefined ? undefined : this.shared!.decode(buf);
    const now = Date.now();
    if (entry === undefined || entry.expiresAt <= now || (lastUpdated > 0 && entry.storedAt <= lastUpdated))
      return undefined;
    this.sharedHits++;
    this.keep(key, entry, now);
    return entry.value;
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  has(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.expiresAt > Date.now();
  }

  /** One pass: drops every expired entry, or else the one closest to expiry (O(n), n is small). */
  private evictOne(now: number): void {
    let victim: string | undefined;
    let soonest = Infinity;
    let expired = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
        expired++;
      } else if (entry.expiresAt < soonest) {
        soonest = entry.expiresAt;
        victim = key;
      }
    }
    this.evictions += expired;
    if (expired === 0 && victim !== undefined) {
      this.entries.delete(victim);
      this.evictions++;
    }
  }

  status(): Record<string, number> {
    return {
      size: this.entries.size,
      max: this.max,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      sharedHits: this.sharedHits,
    };
  }
}
