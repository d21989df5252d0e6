// The place an HTTP response cache (the cachefs plugin) plugs into `was` HTTP calls. The
// services keep nothing themselves: without `services.setResponseCache(cache)` no lookup is
// made and a call costs what it did.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** A call about to go out, as the cache sees it (one member or `.lb`; `.map` and streamed calls never reach the cache). */
export interface HttpCacheCall {
  method: string;
  /** `@alias` or `http(s)://host:port`. */
  base: string;
  /** Path and query. */
  path: string;
  /** The request headers the call sends (lower-case names), without the transaction and trace ids. */
  headers: OutgoingHttpHeaders;
}

/** An answer: what a stored copy gives, and what the backend gave (the body whole, decoded). */
export interface HttpCacheAnswer {
  statusCode: number;
  reason: string;
  headers: IncomingHttpHeaders;
  content: Buffer;
}

/** The cache will hear how a call it did not answer went. */
export interface HttpCacheTicket {
  /** Headers added to the call (`If-None-Match`, `If-Modified-Since` to revalidate a stored copy). */
  headers?: OutgoingHttpHeaders;
  /**
   * The backend answered: returns the answer the call gets: the same (perhaps with headers
   * added), or the stored copy refreshed when a 304 answered the headers the ticket added.
   */
  answered(answer: HttpCacheAnswer): HttpCacheAnswer;
  /** The call ended without an answer (error, timeout). */
  failed(): void;
}

export interface HttpResponseCache {
  /** Before a call goes out: a stored answer (no call is made), a ticket, or undefined to call as usual. */
  lookup(
    call: HttpCacheCall,
  ):
    | { hit: HttpCacheAnswer }
    | HttpCacheTicket
    | undefined
    | Promise<{ hit: HttpCacheAnswer } | HttpCacheTicket | undefined>;
}

export function isHttpResponseCache(value: unknown): value is HttpResponseCache {
  return typeof value === 'object' && value !== null && typeof (value as HttpResponseCache).lookup === 'function';
}
