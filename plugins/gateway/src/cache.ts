// The place a response cache plugs into the reverse proxy (the cachefs plugin uses it). The
// gateway itself keeps nothing: without a `cache` option no lookup is made.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { MountInfo, SkitaiRequest } from '@skitai/kernel';

/** A stored answer, sent instead of asking a member. */
export interface CachedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  /** The whole body, or a stream of it (piped with back-pressure). */
  body: Buffer | string | Readable;
}

export interface ProxyCache {
  /**
   * Called after the source, token and role checks, before anything goes upstream: a stored
   * answer, or undefined to ask a member. May be async.
   */
  lookup(req: SkitaiRequest, mount: MountInfo): CachedResponse | undefined | Promise<CachedResponse | undefined>;
  /**
   * Called when a member's head arrived (hop-by-hop headers already removed): a Writable to
   * copy the body into (it gets the same bytes the client gets, with back-pressure from both),
   * or undefined to keep nothing. Its `destroy(err)` is called if the body breaks off.
   */
  store?(req: SkitaiRequest, mount: MountInfo, status: number, headers: OutgoingHttpHeaders): Writable | undefined;
}

export function isProxyCache(value: unknown): value is ProxyCache {
  return typeof value === 'object' && value !== null && typeof (value as ProxyCache).lookup === 'function' &&
    ((value as ProxyCache).store === undefined || typeof (value as ProxyCache).store === 'function');
}
