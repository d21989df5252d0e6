import fs from 'node:fs';
import zlib from 'node:zlib';
import type { OutgoingHttpHeaders } from 'node:http';

/** A small file held in memory with its ready-made headers. */
export interface CachedFile {
  readonly body: Buffer;
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly type: string;
  /** gzip of body, made on first demand for compressible files over 2 KiB. */
  gzipped: Buffer | undefined;
  /** The head of a plain 200 (and of its gzip variant), made on the first one: reused as is. */
  head?: OutgoingHttpHeaders;
  gzipHead?: OutgoingHttpHeaders;
  watcher: fs.FSWatcher | undefined;
}

export interface FileCacheOptions {
  /** Largest file kept in memory (bytes). */
  maxFileSize: number;
  /** All cached bodies together (bytes). */
  maxTotalSize: number;
}

/**
 * Small hot files served from memory. Each entry has an inotify watch (fs.watch) and is
 * dropped on the first change or rename, so an edited file is read again on the next
 * request. A file that cannot be watched is never cached: stale bytes are worse than a read.
 */
export class FileCache {
  private readonly files = new Map<string, CachedFile>();
  private total = 0;

  constructor(readonly options: FileCacheOptions) {}

  get(path: string): CachedFile | undefined {
    return this.files.get(path);
  }

  get size(): number {
    return this.files.size;
  }

  /** Caches a file under `key` (its URL path), watching `file` on disk. */
  add(key: string, file: string, entry: Omit<CachedFile, 'watcher' | 'gzipped'>): CachedFile | undefined {
    if (entry.size > this.options.maxFileSize || entry.size > this.options.maxTotalSize) return undefined;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(file, { persistent: false }, () => this.drop(key));
      watcher.on('error', () => this.drop(key));
    } catch {
      return undefined;
    }
    this.drop(key);
    // Oldest first out: Map keeps insertion order.
    for (const [old] of this.files) {
      if (this.total + entry.size <= this.options.maxTotalSize) break;
      this.drop(old);
    }
    const cached: CachedFile = { ...entry, gzipped: undefined, watcher };
    this.files.set(key, cached);
    this.total += entry.size;
    return cached;
  }

  gzip(entry: CachedFile): Buffer {
    if (!entry.gzipped) entry.gzipped = zlib.gzipSync(entry.body);
    return entry.gzipped;
  }

  drop(path: string): void {
    const entry = this.files.get(path);
    if (!entry) return;
    this.files.delete(path);
    this.total -= entry.size;
    entry.watcher?.close();
  }

  clear(): void {
    for (const path of [...this.files.keys()]) this.drop(path);
  }
}
