import fs from 'node:fs';
import zlib from 'node:zlib';
import type { OutgoingHttpHeaders } from 'node:http';

/**
 * A file the handler has found, checked and described, kept under its URL path: small files
 * with their bytes (`body`), larger ones as their real path only (streamed from disk per
 * request, as nginx's open_file_cache keeps descriptors and stat results). Either way no
 * stat() or realpath() is made again until the file changes.
 */
export interface CachedFile {
  /** The file's bytes; undefined for a file streamed from disk. */
  readonly body: Buffer | undefined;
  /** The real path (symbolic links resolved, checked to be inside the root). */
  readonly real: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly etag: string;
  /** The ETag without its W/ (If-None-Match compares weakly). */
  readonly bareEtag: string;
  readonly lastModified: string;
  readonly type: string;
  /** gzip of body, made on first demand for compressible files over 2 KiB. */
  gzipped: Buffer | undefined;
  /** Ready-made heads, made on first use and handed to writeHead as they are. */
  head?: OutgoingHttpHeaders;
  gzipHead?: OutgoingHttpHeaders;
  /** The same two heads as flat [name, value, ...] lists. */
  flat?: string[];
  gzipFlat?: string[];
  notModifiedHead?: OutgoingHttpHeaders;
  watcher: fs.FSWatcher | undefined;
}

export type FileFacts = Omit<
  CachedFile,
  'watcher' | 'gzipped' | 'head' | 'gzipHead' | 'flat' | 'gzipFlat' | 'notModifiedHead'
>;

export interface FileCacheOptions {
  /** Largest file kept in memory (bytes). */
  maxFileSize: number;
  /** All cached bodies together (bytes). */
  maxTotalSize: number;
  /** Files streamed from disk whose facts are kept (default 1000). */
  maxStreamed?: number;
}

/**
 * Files served without asking the file system again. Each entry has an inotify watch
 * (fs.watch) and is dropped on the first change or rename, so an edited file is looked up
 * again on the next request. A file that cannot be watched is never cached: stale bytes are
 * worse than a read.
 */
export class FileCache {
  private readonly files = new Map<string, CachedFile>();
  private total = 0;
  private streamed = 0;
  private readonly maxStreamed: number;

  constructor(readonly options: FileCacheOptions) {
    this.maxStreamed = options.maxStreamed ?? 1000;
  }

  get(path: string): CachedFile | undefined {
    return this.files.get(path);
  }

  get size(): number {
    return this.files.size;
  }

  /** Caches a file under `key` (its URL path), watching its real path on disk. */
  add(key: string, entry: FileFacts): CachedFile | undefined {
    const body = entry.body;
    if (body !== undefined && (body.length > this.options.maxFileSize || body.length > this.options.maxTotalSize))
      return undefined;
    if (body === undefined && this.maxStreamed <= 0) return undefined;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(entry.real, { persistent: false }, () => this.drop(key));
      watcher.on('error', () => this.drop(key));
    } catch {
      return undefined;
    }
    this.drop(key);
    // Oldest first out: Map keeps insertion order.
    for (const [old, e] of this.files) {
      if (body === undefined ? this.streamed < this.maxStreamed : this.total + body.length <= this.options.maxTotalSize)
        break;
      if ((e.body === undefined) === (body === undefined)) this.drop(old);
    }
    const cached: CachedFile = { ...entry, gzipped: undefined, watcher };
    this.files.set(key, cached);
    if (body === undefined) this.streamed++;
    else this.total += body.length;
    return cached;
  }

  gzip(entry: CachedFile): Buffer {
    if (!entry.gzipped) entry.gzipped = zlib.gzipSync(entry.body!);
    return entry.gzipped;
  }

  drop(path: string): void {
    const entry = this.files.get(path);
    if (!entry) return;
    this.files.delete(path);
    if (entry.body === undefined) this.streamed--;
    else this.total -= entry.body.length;
    entry.watcher?.close();
  }

  clear(): void {
    for (const path of [...this.files.keys()]) this.drop(path);
  }
}
