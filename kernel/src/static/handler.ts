import fs from 'node:fs';
import path from 'node:path';
import type { OutgoingHttpHeaders } from 'node:http';
import type { SkitaiRequest } from '../http/request.js';
import { getServerHeader, type SkitaiResponse } from '../http/response.js';
import { writeReadyHead } from '../http/ready-head.js';
import { sendError } from '../http/error-page.js';
import { acceptsGzip, COMPRESS_THRESHOLD, isCompressible } from '../http/compress.js';
import { mimeType } from './mime.js';
import { safeRelativePath } from './safe-path.js';
import { FileCache, type CachedFile, type FileFacts } from './file-cache.js';
import { sendFile } from './send-file.js';

export interface StaticOptions {
  /** Cache-Control max-age for a URL path, from kernel.setMaxAge(). */
  maxAge?: (urlPath: string) => number | undefined;
  /** Files up to this size are served from memory (default 1 MiB). */
  memoryFileSize?: number;
  /** Memory for cached files in all (default 32 MiB). */
  memoryTotalSize?: number;
  /** The file served for a directory (default index.html). */
  index?: string;
}

function describe(file: string, real: string, stat: fs.Stats, body: Buffer | undefined): FileFacts {
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  return {
    body,
    real,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    etag,
    bareEtag: etag.slice(2),
    lastModified: stat.mtime.toUTCString(),
    type: mimeType(file),
  };
}

/** 304 when the client's copy is current (If-None-Match wins over If-Modified-Since). */
function notModified(req: SkitaiRequest, info: FileFacts): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    // A browser sends back the one tag it was given: that needs no parsing.
    if (inm === info.etag || inm === info.bareEtag) return true;
    if (inm.trim() === '*') return true;
    return inm.split(',').some((tag) => {
      const t = tag.trim();
      return t === info.etag || t === info.bareEtag;
    });
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    // ... and the date it was given, as it was given.
    if (ims === info.lastModified) return true;
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Math.floor(info.mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/** A single `bytes=` range; several ranges or a stale If-Range give the whole file. */
function parseRange(req: SkitaiRequest, size: number, etag: string, lastModified: string): Range {
  const header = req.headers.range;
  if (header === undefined) return undefined;
  const ifRange = req.headers['if-range'];
  // A weak tag never matches If-Range (RFC 9110 13.1.5): the whole file then.
  if (ifRange !== undefined && (String(ifRange).startsWith('W/') || (ifRange !== etag && ifRange !== lastModified)))
    return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return header.includes(',') || !header.startsWith('bytes=') ? undefined : 'unsatisfiable';
  const [, a, b] = m;
  if (a === '' && b === '') return 'unsatisfiable';
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serves one directory. Every path is checked before it reaches the file system
 * (safe-path.ts), and a file found through a symbolic link is served only if its real
 * path is inside the real root.
 */
export function createStaticHandler(rootDir: string, options: StaticOptions = {}) {
  const root = path.resolve(rootDir);
  const realRoot = fs.realpathSync(root);
  const index = options.index ?? 'index.html';
  const cache = new FileCache({
    maxFileSize: options.memoryFileSize ?? 1024 * 1024,
    maxTotalSize: options.memoryTotalSize ?? 32 * 1024 * 1024,
  });

  function baseHeaders(req: SkitaiRequest, info: FileFacts): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      'Content-Type': info.type,
      'Last-Modified': info.lastModified,
      ETag: info.etag,
      'Accept-Ranges': 'bytes',
    };
    const maxAge = options.maxAge?.((req.originalUrl || req.url || '/').split('?', 1)[0]!);
    if (maxAge !== undefined) headers['Cache-Control'] = `max-age=${maxAge}`;
    return headers;
  }

  /**
   * A cached file, from memory or streamed from disk. The common answers (a plain 200, a 304
   * to a validator the client was given) use a head made once per file (and URL, which a cache
   * key stands for) and handed to writeHead as it is.
   */
  function serveCached(req: SkitaiRequest, res: SkitaiResponse, file: CachedFile): void {
    const h = req.headers;
    if ((h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) && notModified(req, file)) {
      let head = file.notModifiedHead;
      if (head === undefined) {
        head = file.notModifiedHead = baseHeaders(req, file);
        head.Server = getServerHeader();
      }
      res.writeHead(304, head);
      res.end();
      return;
    }
    if (h.range !== undefined) {
      const range = parseRange(req, file.size, file.etag, file.lastModified);
      if (range === 'unsatisfiable') return unsatisfiable(req, res, file.size);
      // Several ranges, or a stale If-Range: the whole file, as below.
      if (range !== undefined) return servePart(req, res, file, range.start, range.end);
    }
    const body = file.body;
    const compressible = body !== undefined && file.size > COMPRESS_THRESHOLD && isCompressible(file.type);
    const gzip = compressible && acceptsGzip(req);
    let head = gzip ? file.gzipHead : file.head;
    if (head === undefined) {
      head = baseHeaders(req, file);
      head.Server = getServerHeader();
      if (compressible) head.Vary = 'Accept-Encoding';
      if (gzip) head['Content-Encoding'] = 'gzip';
      head['Content-Length'] = gzip ? cache.gzip(file).length : file.size;
      if (gzip) {
        file.gzipHead = head;
        file.gzipFlat = flatten(head);
      } else {
        file.head = head;
        file.flat = flatten(head);
      }
    }
    writeReadyHead(res, 200, gzip ? file.gzipFlat! : file.flat!, head);
    if (body !== undefined) res.end(req.method === 'HEAD' ? undefined : gzip ? cache.gzip(file) : body);
    else if (req.method === 'HEAD' || file.size === 0) res.end();
    else sendFile(res, file.real, 0, file.size - 1);
  }

  function servePart(req: SkitaiRequest, res: SkitaiResponse, file: CachedFile, start: number, end: number): void {
    const headers = baseHeaders(req, file);
    headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
    headers['Content-Length'] = end - start + 1;
    res.writeHead(206, headers);
    if (req.method === 'HEAD') res.end();
    else if (file.body !== undefined) res.end(file.body.subarray(start, end + 1));
    else sendFile(res, file.real, start, end);
  }

  function unsatisfiable(req: SkitaiRequest, res: SkitaiResponse, size: number): void {
    sendError(req, res, 416, 'the requested range is not satisfiable', {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }

  /** `key` is the URL path the answer is cached under ('/docs/' for '/docs/index.html'). */
  async function lookup(req: SkitaiRequest, res: SkitaiResponse, rel: string, key: string): Promise<void> {
    const file = root + rel;
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch {
      return sendError(req, res, 404, `${req.originalUrl.split('?', 1)[0]} was not found on this server`);
    }
    if (stat.isDirectory()) {
      if (!rel.endsWith('/')) {
        const [p, q] = splitQuery(req.originalUrl || req.url || '/');
        // '//sub/' would be read as another host (a protocol-relative URL): one leading slash.
        res.writeHead(301, { Location: `${p.replace(/^\/{2,}/, '/')}/${q}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      return lookup(req, res, rel + index, key);
    }
    if (!stat.isFile()) return sendError(req, res, 404, 'not a regular file');
    let real: string;
    try {
      real = await fs.promises.realpath(file);
    } catch {
      return sendError(req, res, 404);
    }
    if (!real.startsWith(realRoot + path.sep))
      return sendError(req, res, 403, 'this path leads outside the served folder');
    if (stat.size > cache.options.maxFileSize) {
      const facts = describe(file, real, stat, undefined);
      return serveCached(req, res, cache.add(key, facts) ?? { ...facts, gzipped: undefined, watcher: undefined });
    }
    let body: Buffer;
    try {
      body = await fs.promises.readFile(real);
    } catch {
      return sendError(req, res, 404);
    }
    const facts = describe(file, real, stat, body);
    // Read while it changed: serve what was read, and cache only a consistent copy.
    const entry = body.length === stat.size ? cache.add(key, facts) : undefined;
    serveCached(req, res, entry ?? { ...facts, size: body.length, gzipped: undefined, watcher: undefined });
  }

  function handler(req: SkitaiRequest, res: SkitaiResponse): void | Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendError(req, res, 405, `${req.method} is not allowed here`, { headers: { Allow: 'GET, HEAD' } });
    }
    const url = req.url || '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    // Fast path: a plain path (nothing encoded) that passed every check when it was cached.
    if (rawPath.indexOf('%') === -1) {
      const cached = cache.get(rawPath);
      if (cached) return serveCached(req, res, cached);
    }
    const safe = safeRelativePath(rawPath);
    if (!safe.ok) return sendError(req, res, safe.status, safe.reason);
    // Hidden files (.env, .git) are never served; /.well-known is the one public dot folder.
    if (/\/\.(?!well-known\/)/.test(safe.path))
      return sendError(req, res, 404, `${safe.path} was not found on this server`);
    const hit = cache.get(safe.path);
    if (hit) return serveCached(req, res, hit);
    return lookup(req, res, safe.path, safe.path);
  }

  return Object.assign(handler, { cache, root });
}

function flatten(head: OutgoingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in head) out.push(name, String(head[name]));
  return out;
}

function splitQuery(url: string): [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}
