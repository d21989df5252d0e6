// Last-updated times (Skitai's addlu / setlu / getlu) for stand-alone services (no kernel).
// With a kernel, `was.getlu/setlu` use the kernel's own table (the process model,
// shares it between workers).
import { EventEmitter } from 'node:events';
import { codes } from './errors.js';

/**
 * Keys are declared up front with `kernel.addlu(...keys)` (as Skitai does, so that workers can
 * share a fixed table). `set` stamps a key with the time and emits 'model-changed' and
 * 'model-changed:<key>' (with the extra arguments); `get` returns the latest time of its keys
 * in ms, 0 when none was set: give it as `useCache` to drop results cached before the change.
 */
export class LastUpdated extends EventEmitter {
  private readonly keys = new Set<string>();
  private readonly times = new Map<string, number>();

  add(...keys: string[]): void {
    for (const key of keys.flat()) {
      if (typeof key !== 'string' || key === '') throw codes.SKT_LU_KEY(key, 'a key is a non-empty string');
      this.keys.add(key);
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  list(): string[] {
    return [...this.keys];
  }

  private check(key: string): void {
    if (!this.keys.has(key))
      throw codes.SKT_LU_KEY(key, `not declared: call kernel.addlu(${JSON.stringify(key)}) before start`);
  }

  set(key: string, ...args: unknown[]): number {
    this.check(key);
    // Strictly increasing, so that a result cached in the same millisecond before the change is dropped.
    const now = Math.max(Date.now(), (this.times.get(key) ?? 0) + 1);
    this.times.set(key, now);
    this.emit('model-changed', key, ...args);
    this.emit(`model-changed:${key}`, ...args);
    return now;
  }

  get(...keys: string[]): number {
    let latest = 0;
    for (const key of keys) {
      this.check(key);
      const t = this.times.get(key) ?? 0;
      if (t > latest) latest = t;
    }
    return latest;
  }

  status(): Record<string, number> {
    return Object.fromEntries(this.list().map((k) => [k, this.times.get(k) ?? 0]));
  }
}
