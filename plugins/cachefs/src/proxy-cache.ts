// The cache as the gateway's `cache` option sees it (its ProxyCache contract): reverse-proxied
// requests are keyed by Host, mount and path, forward-proxied ones by their absolute URL.
// Answers carry `X-Cache: HIT` (sent from the cache, with `Age`) or `X-Cache: MISS`.
import { validateHeaderName, validateHeaderValue, type OutgoingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import {
  getServerHeader,
  writeReadyHead,
  type MountInfo,
  type SkitaiRequest,
  type SkitaiResponse,
} from '@skitai/kernel';
import { etagMatches, headerText, httpDate } from './directives.js';
import { currentAge, type Entry } from './entry.js';
import { isPromise, type Fill, type HttpCache, type Lookup } from './http-cache.js';
import { Buffer } from 'node:buffer';

/** The gateway's CachedResponse (`@skitai/gateway`), structurally. */
export interface CachedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer | string;
}

/** The gateway's CacheMiss (`@skitai/gateway`), structurally. */
export interface CacheMiss {
  readonly miss: true;
  headers?: Record<string, string>;
  head(status: number, headers: OutgoingHttpHeaders): Writable | undefined;
  notModified?(headers: OutgoingHttpHeaders): CachedResponse | undefined;
  done?(): void;
}

/** The gateway's ProxyCache (`@skitai/gateway`), structurally: `gateway({ cache })`. */
export interface ProxyCacheLike {
  serve(req: SkitaiRequest, res: SkitaiResponse, mount: MountInfo | undefined): boolean;
  lookup(
    req: SkitaiRequest,
    mount: MountInfo | undefined,
  ): CachedResponse | CacheMiss | undefined | Promise<CachedResponse | CacheMiss | undefined>;
}

export const X_CACHE = 'x-cache';

/** The fields a stored entry is sent with: its own, `Age`, `Content-Length`, `X-Cache`. */
export function servedHeaders(entry: Entry, age: number, state: 'HIT' | 'MISS'): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  // Server first, as the kernel would add it: with it present the kernel passes the object on as is.
  out.server = getServerHeader();
  const stored = entry.headers;
  for (const name in stored) out[name] = stored[name];
  out.age = String(Math.floor(age));
  out['content-length'] = entry.body.length;
  out[X_CACHE] = state;
  return out;
}

/**
 * The head of a HIT: made once per entry and handed to writeHead as it is (writeHead reads it
 * at once and keeps nothing of it); when the age has moved on a second, only its Age is
 * rewritten in place. A HIT costs no header object of its own.
 */
function hitHead(entry: Entry, age: number): OutgoingHttpHeaders {
  const seconds = Math.floor(age);
  const head = entry.hitHead;
  if (head === undefined) {
    entry.hitAge = seconds;
    return (entry.hitHead = servedHeaders(entry, seconds, 'HIT') as Entry['hitHead'])!;
  }
  if (entry.hitAge !== seconds) setHitAge(entry, head, seconds);
  return head;
}

function setHitAge(entry: Entry, head: NonNullable<Entry['hitHead']>, seconds: number): void {
  const text = String(seconds);
  head.age = text;
  const flat = entry.hitFlat;
  if (flat != null) flat[entry.hitFlatAge!] = text;
  entry.hitAge = seconds;
}

/**
 * The head of a HIT as a flat list (hitHead's fields, Age kept in step with it), made and
 * checked once per entry with node's own field checks; null when a stored field could not be
 * written (then the general path answers, as before).
 */
function hitFlat(entry: Entry, age: number): Array<string | string[]> | null {
  const seconds = Math.floor(age);
  const known = entry.hitFlat;
  if (known !== undefined) {
    if (entry.hitAge !== seconds) setHitAge(entry, entry.hitHead!, seconds);
    return known;
  }
  const head = hitHead(entry, age);
  const flat: Array<string | string[]> = [];
  try {
    for (const name in head) {
      const v = head[name]!;
      const value = typeof v === 'number' ? String(v) : v;
      validateHeaderName(name);
      if (typeof value === 'string') validateHeaderValue(name, value);
      else for (const item of value) validateHeaderValue(name, item);
      if (name === 'age') entry.hitFlatAge = flat.length + 1;
      flat.push(name, value);
    }
  } catch {
    return (entry.hitFlat = null);
  }
  return (entry.hitFlat = flat);
}

/** The scope of forward-proxied entries in the hot index (a reverse-proxied one's is its mount). */
const FORWARD = {};

/** The key of a proxied request's resource: the mount, Host and path, or the absolute URL. */
function proxyKey(req: SkitaiRequest, mount: MountInfo | undefined): string {
  return mount === undefined
    ? `F ${req.absoluteUrl ?? req.url}`
    : `P ${mount.host}${mount.point} ${req.headers.host ?? ''} ${req.url}`;
}

/**
 * A GET or HEAD without Cache-Control, Pragma, Range, Authorization or validators: nothing in
 * it can change what a fresh stored entry gives.
 */
function isPlain(req: SkitaiRequest): boolean {
  const method = req.method;
  if (method !== 'GET' && method !== 'HEAD') return false;
  const h = req.headers;
  return (
    h['cache-control'] === undefined &&
    h.pragma === undefined &&
    h.range === undefined &&
    h.authorization === undefined &&
    h['if-none-match'] === undefined &&
    h['if-modified-since'] === undefined
  );
}

/** Fields a 304 to the client carries (RFC 9110 15.4.5). */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified'];

function clientHasIt(req: SkitaiRequest, entry: Entry): boolean {
  const inm = headerText(req.headers['if-none-match']);
  const etag = headerText(entry.headers.etag);
  if (inm !== undefined) return etag !== undefined && etagMatches(inm, etag);
  const ims = httpDate(req.headers['if-modified-since']);
  const lm = httpDate(entry.headers['last-modified']);
  return !Number.isNaN(ims) && !Number.isNaN(lm) && lm <= ims;
}

/** The answer of a HIT, made once per entry and reused: a HIT builds no object. */
function hitAnswer(entry: Entry, age: number): CachedResponse {
  const headers = hitHead(entry, age);
  const answer = entry.hitAnswer;
  if (answer !== undefined && answer.headers === headers) return answer;
  return (entry.hitAnswer = { status: entry.status, headers, body: entry.body });
}

function hit(req: SkitaiRequest, entry: Entry, age: number): CachedResponse {
  if ((req.method === 'GET' || req.method === 'HEAD') && clientHasIt(req, entry)) {
    const headers: OutgoingHttpHeaders = {};
    for (const name of NOT_MODIFIED_FIELDS) if (entry.headers[name] !== undefined) headers[name] = entry.headers[name];
    headers.age = String(Math.floor(age));
    headers[X_CACHE] = 'HIT';
    return { status: 304, headers, body: '' };
  }
  return hitAnswer(entry, age);
}

/** Copies a proxied body for the cache, up to what the cache keeps. */
class Collector extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  private over = false;

  constructor(
    private readonly fill: Fill,
    private readonly reason: string,
  ) {
    super();
    // The relay destroys it with the upstream's error when a body breaks off: nothing to report.
    this.on('error', () => {});
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (!this.over) {
      this.size += chunk.length;
      if (this.size > this.fill.maxBody) {
        this.over = true;
        this.chunks = [];
        this.fill.overflow();
      } else {
        this.chunks.push(chunk);
      }
    }
    callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.over)
      this.fill.complete(
        this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size),
        this.reason,
      );
    this.chunks = [];
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.chunks = [];
    this.fill.abandon();
    callback(err);
  }
}

function miss(fill: Fill | undefined): CacheMiss {
  let collector: Collector | undefined;
  return {
    miss: true,
    headers: fill?.conditional,
    head(status, headers) {
      headers[X_CACHE] = 'MISS';
      if (fill === undefined || !fill.head(status, headers)) return undefined;
      return (collector = new Collector(fill, ''));
    },
    notModified:
      fill?.conditional === undefined
        ? undefined
        : (headers) => {
            const entry = fill.notModified(headers);
            return entry === undefined
              ? undefined
              : { status: entry.status, headers: servedHeaders(entry, 0, 'MISS'), body: entry.body };
          },
    done() {
      if (fill === undefined) return;
      // A body being copied ends the fill itself (finished or destroyed).
      if (collector !== undefined && !collector.closed) collector.once('close', () => fill.abandon());
      else fill.abandon();
    },
  };
}

function answer(req: SkitaiRequest, found: Lookup): CachedResponse | CacheMiss {
  return found.kind === 'hit' ? hit(req, found.entry, found.age) : miss(found.fill);
}

/** `gateway({ cache })` for this cache. */
export function proxyCache(cache: HttpCache): ProxyCacheLike {
  return {
    /**
     * A plain GET or HEAD whose fresh entry is in memory is answered here, in this tick: found
     * by its path in the hot index (no key built) when it was asked that way before, else by
     * its key (and indexed), and written as one flat head and one end(body).
     */
    serve(req, res, mount) {
      if (cache.memory === undefined || !isPlain(req)) return false;
      const scope = mount ?? FORWARD;
      const path = mount === undefined ? (req.absoluteUrl ?? req.url!) : req.url!;
      const host = mount === undefined ? '' : (req.headers.host ?? '');
      let entry = cache.hot.get(path);
      let age: number;
      if (entry !== undefined && entry.hotScope === scope && entry.hotHost === host) {
        age = currentAge(entry, Date.now());
        // Stale: the general lookup revalidates it.
        if (age >= entry.lifetime) return false;
        cache.hotHit(entry);
      } else {
        entry = cache.freshInMemory(proxyKey(req, mount));
        if (entry === undefined) return false;
        age = cache.lastAge;
        cache.makeHot(entry, path, scope, host);
      }
      const flat = hitFlat(entry, age);
      if (flat === null) return false;
      writeReadyHead(res, entry.status, flat, entry.hitHead);
      res.end(entry.body);
      return true;
    },
    lookup(req, mount) {
      if (!cache.enabled) return undefined;
      const key = proxyKey(req, mount);
      const h = req.headers;
      const method = req.method ?? 'GET';
      // A plain GET or HEAD (the usual one) asks the memory tier directly.
      if (isPlain(req)) {
        const entry = cache.freshInMemory(key);
        if (entry !== undefined) return hitAnswer(entry, cache.lastAge);
      }
      const found = cache.lookup({ method, key, headers: h });
      return isPromise(found) ? found.then((f) => answer(req, f)) : answer(req, found);
    },
  };
}
