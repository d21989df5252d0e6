// The memory tier: items in a Map in least-recently-used order, bounded by bytes.
import type { Item } from './entry.js';

export class MemoryTier {
  private readonly items = new Map<string, Item>();
  bytes = 0;
  hits = 0;
  evictions = 0;

  /** `removed` hears of every item that leaves (evicted, deleted, replaced). */
  constructor(
    readonly max: number,
    private readonly removed?: (item: Item) => void,
  ) {}

  get entries(): number {
    return this.items.size;
  }

  /** The item used last: already at the end of the order, nothing to move. */
  private newest: Item | undefined = undefined;

  get(key: string): Item | undefined {
    const item = this.items.get(key);
    if (item === undefined || item === this.newest) return item;
    // Most recently used last.
    this.items.delete(key);
    this.items.set(key, item);
    this.newest = item;
    return item;
  }

  /** Keeps `item`, evicting the least recently used until it fits; false when it is larger than the tier. */
  set(key: string, item: Item): boolean {
    this.delete(key);
    if (item.size > this.max) return false;
    for (const [k, old] of this.items) {
      if (this.bytes + item.size <= this.max) break;
      this.items.delete(k);
      this.bytes -= old.size;
      this.evictions++;
      if (old === this.newest) this.newest = undefined;
      this.removed?.(old);
    }
    this.items.set(key, item);
    this.newest = item;
    this.bytes += item.size;
    return true;
  }

  delete(key: string): void {
    const old = this.items.get(key);
    if (old === undefined) return;
    this.items.delete(key);
    this.bytes -= old.size;
    if (old === this.newest) this.newest = undefined;
    this.removed?.(old);
  }

  /** Marks `item`, kept under `key`, as used now (what get() does, without the lookup when it is the newest). */
  touch(key: string, item: Item): void {
    if (item !== this.newest) this.get(key);
  }
}
