// The place a response cache plugs into the reverse and forward proxies (the cachefs plugin
// uses it). The gateway itself keeps nothing: without a `cache` option no lookup is made.
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import type { MountInfo, SkitaiRequest, SkitaiResponse } from '@skitai/kernel';

/** A stored answer, sent instead of asking a member. */
export interface CachedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  /** The whole body, or a stream of it (piped with back-pressure). */
  body: Buffer | string | Readable;
}

/**
 * What a lookup that found nothing to send gives when it wants to follow the exchange: the
 * upstream request gets `headers` added, and the cache hears of the head, of a 304, and of an
 * exchange that ended with neither (so that requests it holds back for this one can go on).
 */
export interface CacheMiss {
  readonly miss: true;
  /** Headers added to the upstream request (`If-None-Match`, `If-Modified-Since` to revalidate a stored answer). */
  headers?: Record<string, string>;
  /**
   * The member's head arrived (hop-by-hop headers removed): a Writable for a copy of the body
   * (with back-pressure; `destroy(err)` if the body breaks off), or undefined. `headers` is the
   * object then sent to the client: the cache may add to it (`X-Cache`).
   */
  head(status: number, headers: OutgoingHttpHeaders): Writable | undefined;
  /**
   * A 304 answered the headers this miss added: the answer to send instead (the stored one,
   * refreshed), or undefined to pass the 304 on.
   */
  notModified?(headers: OutgoingHttpHeaders): CachedResponse | undefined;
  /** The exchange is over (called once, also after head()). */
  done?(): void;
}

export interface ProxyCache {
  /**
   * Asked first, when given: answers the request at once from what the cache holds (the head
   * and body written on `res`, in this tick, no promise) and returns true; false to go on with
   * lookup(). For the common HIT: nothing is built for the exchange when it answers.
   */
  serve?(req: SkitaiRequest, res: SkitaiResponse, mount: MountInfo | undefined): boolean;
  /**
   * Called after the source, token and role checks, before anything goes upstream: a stored
   * answer, a CacheMiss to follow the exchange, or undefined to ask a member. May be async.
   * `mount` is undefined for the forward proxy (its requests have `req.absoluteUrl`).
   */
  lookup(
    req: SkitaiRequest,
    mount: MountInfo | undefined,
  ): CachedResponse | CacheMiss | undefined | Promise<CachedResponse | CacheMiss | undefined>;
  /**
   * Called when a member's head arrived (hop-by-hop headers already removed) for a lookup that
   * gave undefined: a Writable to copy the body into (it gets the same bytes the client gets,
   * with back-pressure from both), or undefined to keep nothing. Its `destroy(err)` is called
   * if the body breaks off.
   */
  store?(
    req: SkitaiRequest,
    mount: MountInfo | undefined,
    status: number,
    headers: OutgoingHttpHeaders,
  ): Writable | undefined;
}

export function isProxyCache(value: unknown): value is ProxyCache {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ProxyCache).lookup === 'function' &&
    ((value as ProxyCache).serve === undefined || typeof (value as ProxyCache).serve === 'function') &&
    ((value as ProxyCache).store === undefined || typeof (value as ProxyCache).store === 'function')
  );
}

export function isCacheMiss(value: CachedResponse | CacheMiss): value is CacheMiss {
  return (value as CacheMiss).miss === true;
}

/** Sends a stored answer. */
export function sendCached(res: SkitaiResponse, cached: CachedResponse): void {
  res.writeHead(cached.status, cached.headers);
  const body = cached.body;
  if (body instanceof Readable) {
    body.on('error', () => res.destroy());
    body.pipe(res);
  } else {
    res.end(body);
  }
}

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>).then === 'function';
}
