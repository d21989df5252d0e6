// The disk tier: one file per item under `dir` (`dir/ab/abcdef...`, the SHA-256 of its key),
// written to a temporary file and renamed, so a reader sees a whole record or none. An index
// in memory (file sizes in least-recently-used order, rebuilt from the folder at start) bounds
// the bytes and answers misses without touching the disk. A record that does not decode
// (truncated, corrupted, of another key) is deleted and counted, never served. A write that
// fails for want of space or rights turns the tier off with one warning: the cache goes on in
// memory only.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { decode, encode, type Item } from './entry.js';
import process from 'node:process';

/** Write errors that mean the disk will not take entries (full, read-only, not ours). */
const FATAL = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EFBIG', 'EIO']);

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');

export class DiskTier {
  /** File name (hash) -> bytes on disk, least recently used first. */
  private readonly index = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  /** Items being written (by file name): read from here until the file is whole. */
  private readonly writing = new Map<string, Item>();
  private seq = 0;
  bytes = 0;
  hits = 0;
  evictions = 0;
  writes = 0;
  /** Records found damaged and deleted. */
  corrupt = 0;
  /** Why the tier is off (a full disk), or undefined while it works. */
  off: string | undefined = undefined;

  constructor(
    readonly dir: string,
    readonly max: number,
    private readonly warn: (message: string) => void,
  ) {}

  get entries(): number {
    return this.index.size;
  }

  private file(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), hash);
  }

  /** Creates the folder and reads what a previous run left (oldest first), over the bound evicted. */
  async open(): Promise<void> {
    try {
      await fs.mkdir(path.join(this.dir, 'tmp'), { recursive: true });
      for (const name of await fs.readdir(path.join(this.dir, 'tmp')))
        await fs.rm(path.join(this.dir, 'tmp', name), { force: true });
      const found: Array<{ hash: string; size: number; mtime: number }> = [];
      for (const sub of await fs.readdir(this.dir)) {
        if (!/^[0-9a-f]{2}$/.test(sub)) continue;
        for (const name of await fs.readdir(path.join(this.dir, sub))) {
          if (!/^[0-9a-f]{64}$/.test(name) || !name.startsWith(sub)) continue;
          const st = await fs.stat(path.join(this.dir, sub, name)).catch(() => undefined);
          if (st?.isFile()) found.push({ hash: name, size: st.size, mtime: st.mtimeMs });
        }
      }
      found.sort((a, b) => a.mtime - b.mtime);
      for (const f of found) {
        this.index.set(f.hash, f.size);
        this.bytes += f.size;
      }
      this.evictOver(0);
    } catch (err) {
      this.turnOff(err as NodeJS.ErrnoException);
    }
  }

  has(key: string): boolean {
    if (this.off !== undefined) return false;
    const hash = hashOf(key);
    return this.index.has(hash) || this.writing.has(hash);
  }

  /** The item under `key`, or undefined (not there, or damaged: then deleted). */
  async get(key: string): Promise<Item | undefined> {
    if (this.off !== undefined) return undefined;
    const hash = hashOf(key);
    const inFlight = this.writing.get(hash);
    if (inFlight !== undefined) {
      this.hits++;
      return inFlight;
    }
    const size = this.index.get(hash);
    if (size === undefined) return undefined;
    let buf: Buffer;
    try {
      buf = await fs.readFile(this.file(hash));
    } catch {
      this.forget(hash);
      return undefined;
    }
    const item = decode(buf, key);
    if (item === undefined) {
      this.corrupt++;
      this.drop(hash);
      return undefined;
    }
    if (this.index.has(hash)) {
      this.index.delete(hash);
      this.index.set(hash, size);
    }
    this.hits++;
    return item;
  }

  /** Writes `item` (in the background: `flush()` waits for it). */
  set(key: string, item: Item): void {
    if (this.off !== undefined) return;
    const hash = hashOf(key);
    const record = encode(item);
    if (record.length > this.max) {
      this.drop(hash);
      return;
    }
    const tmp = path.join(this.dir, 'tmp', `${hash}.${process.pid}.${++this.seq}`);
    const target = this.file(hash);
    this.writing.set(hash, item);
    const job = (async () => {
      try {
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(tmp, record);
        await fs.rename(tmp, target);
      } catch (err) {
        if (this.writing.get(hash) === item) this.writing.delete(hash);
        await fs.rm(tmp, { force: true }).catch(() => {});
        if (FATAL.has((err as NodeJS.ErrnoException).code ?? '')) this.turnOff(err as NodeJS.ErrnoException);
        return;
      }
      const current = this.writing.get(hash);
      if (current !== item) {
        // Deleted while it was written (an invalidation): the file goes too; superseded: the newer write counts.
        if (current === undefined) await fs.rm(target, { force: true }).catch(() => {});
        return;
      }
      this.writing.delete(hash);
      if (this.off !== undefined) return;
      this.writes++;
      this.forget(hash);
      this.evictOver(record.length);
      this.index.set(hash, record.length);
      this.bytes += record.length;
    })();
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  delete(key: string): void {
    if (this.off !== undefined) return;
    const hash = hashOf(key);
    this.writing.delete(hash);
    this.drop(hash);
  }

  /** Waits for the writes in progress. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private forget(hash: string): void {
    const size = this.index.get(hash);
    if (size === undefined) return;
    this.index.delete(hash);
    this.bytes -= size;
  }

  private drop(hash: string): void {
    this.forget(hash);
    void fs.rm(this.file(hash), { force: true }).catch(() => {});
  }

  /** Evicts the least recently used files until `room` more bytes fit. */
  private evictOver(room: number): void {
    for (const hash of this.index.keys()) {
      if (this.bytes + room <= this.max) break;
      this.drop(hash);
      this.evictions++;
    }
  }

  private turnOff(err: NodeJS.ErrnoException): void {
    if (this.off !== undefined) return;
    this.off = `${err.code ?? 'error'}: ${err.message}`;
    this.index.clear();
    this.writing.clear();
    this.bytes = 0;
    this.warn(`cachefs: the disk tier at ${this.dir} is off (${this.off}): caching in memory only`);
  }
}
