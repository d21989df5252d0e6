import fs from 'node:fs';
import { codes } from '../errors.js';
import { Buffer } from 'node:buffer';

/**
 * Last-updated times by key (Skitai's addlu/setlu/getlu). Skitai kept them in a
 * multiprocessing.Array; here the master creates a small file (8 bytes a key, in the order of
 * `addlu`) that every worker reads and writes with positioned I/O, so a `setlu` in one worker
 * is what `getlu` returns in every other one right after, with no message round trip. A
 * single process keeps them in memory. Times are milliseconds since the epoch, 0 before any set.
 */
export class LuStore {
  private readonly index = new Map<string, number>();
  private values = new Float64Array(0);
  private fd: number | undefined;
  private readonly cell = Buffer.alloc(8);
  private shared = false;

  /** Declares keys; empty strings are skipped (Skitai's `addlu('tables.users', '')`). */
  add(...keys: string[]): void {
    for (const key of keys) {
      if (typeof key !== 'string') throw codes.SKT_LU_KEY(key, 'a key is a string');
      if (key === '' || this.index.has(key)) continue;
      if (this.shared)
        throw codes.SKT_LU_KEY(
          key,
          'keys are fixed once workers run: declare every key with kernel.addlu() before run()',
        );
      this.index.set(key, this.index.size);
      const grown = new Float64Array(this.index.size);
      grown.set(this.values);
      grown[this.index.size - 1] = 0;
      this.values = grown;
    }
  }

  keys(): string[] {
    return [...this.index.keys()];
  }

  /** Master: creates the shared file holding the current values. */
  createShared(file: string): void {
    fs.writeFileSync(file, Buffer.from(this.values.buffer, this.values.byteOffset, this.values.byteLength), {
      mode: 0o600,
    });
    this.attachShared(file);
  }

  /** Worker: uses the master's file from now on. */
  attachShared(file: string): void {
    this.fd = fs.openSync(file, 'r+');
    this.shared = true;
  }

  detach(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closed */
      }
      this.fd = undefined;
    }
  }

  private slot(key: string): number {
    const i = this.index.get(key);
    if (i === undefined) throw codes.SKT_LU_KEY(key, 'not declared: call kernel.addlu(key) before run()');
    return i;
  }

  private read(i: number): number {
    if (this.fd === undefined) return this.values[i]!;
    fs.readSync(this.fd, this.cell, 0, 8, i * 8);
    return this.cell.readDoubleLE(0);
  }

  /** Marks `key` updated now; returns the time set (always later than the one before). */
  set(key: string): number {
    const i = this.slot(key);
    const value = Math.max(Date.now(), this.read(i) + 1);
    if (this.fd === undefined) this.values[i] = value;
    else {
      this.cell.writeDoubleLE(value, 0);
      fs.writeSync(this.fd, this.cell, 0, 8, i * 8);
    }
    return value;
  }

  /**
   * Takes a time set by another instance when it is later than the one here; true when it
   * was. Keys not declared here are left alone (false).
   */
  merge(key: string, time: number): boolean {
    const i = this.index.get(key);
    if (i === undefined || !(typeof time === 'number' && Number.isFinite(time))) return false;
    if (time <= this.read(i)) return false;
    if (this.fd === undefined) this.values[i] = time;
    else {
      this.cell.writeDoubleLE(time, 0);
      fs.writeSync(this.fd, this.cell, 0, 8, i * 8);
    }
    return true;
  }

  /** Every key with its time. */
  entries(): Array<[string, number]> {
    return [...this.index].map(([key, i]) => [key, this.read(i)]);
  }

  /** The latest last-updated time of the keys given (of every key when none is given). */
  get(...keys: string[]): number {
    const slots = keys.length === 0 ? [...this.index.values()] : keys.map((k) => this.slot(k));
    let latest = 0;
    for (const i of slots) latest = Math.max(latest, this.read(i));
    return latest;
  }
}
