// The result cache (Skitai's rcache): results kept by `result.cache(seconds)`, bounded by
// `kernel.setMaxRcache(n)`. When full, expired entries go first, then those closest to expiry.

export interface CacheEntry<V> {
  value: V;
  /** Date.now() when stored: compared with a last-updated time given as `useCache`. */
  storedAt: number;
  expiresAt: number;
}

export class ResultCache<V = unknown> {
  private readonly entries = new Map<string, CacheEntry<V>>();
  hits = 0;
  misses = 0;
  evictions = 0;

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
    this.entries.delete(key);
    while (this.entries.size >= this.max) this.evictOne(now);
    this.entries.set(key, { value, storedAt: now, expiresAt: now + seconds * 1000 });
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
    return { size: this.entries.size, max: this.max, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
