// The cache as `@skitai/services` sees it (`services.setResponseCache`): `was` HTTP calls keyed
// by alias (or origin) and path; results carry `X-Cache: HIT` / `MISS` in their headers.
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpCacheAnswer, HttpCacheTicket, HttpResponseCache } from '@skitai/services';
import type { Entry } from './entry.js';
import { isPromise, type Fill, type HttpCache, type Lookup } from './http-cache.js';
import { X_CACHE } from './proxy-cache.js';
import { Buffer } from 'node:buffer';

const EMPTY = Buffer.alloc(0);

function fromEntry(entry: Entry, age: number, state: 'HIT' | 'MISS', head: boolean): HttpCacheAnswer {
  const headers = { ...entry.headers, age: String(Math.floor(age)), [X_CACHE]: state } as IncomingHttpHeaders;
  return { statusCode: entry.status, reason: entry.reason, headers, content: head ? EMPTY : entry.body };
}

function ticket(fill: Fill | undefined): HttpCacheTicket {
  return {
    headers: fill?.conditional,
    answered(answer) {
      if (fill !== undefined) {
        if (answer.statusCode === 304 && fill.conditional !== undefined) {
          const entry = fill.notModified(answer.headers);
          if (entry !== undefined) return fromEntry(entry, 0, 'MISS', false);
        }
        if (fill.head(answer.statusCode, answer.headers)) fill.complete(answer.content, answer.reason);
      }
      return { ...answer, headers: { ...answer.headers, [X_CACHE]: 'MISS' } };
    },
    failed() {
      fill?.abandon();
    },
  };
}

/** `services.setResponseCache(...)` for this cache. */
export function wasCache(cache: HttpCache): HttpResponseCache {
  const answer = (method: string, found: Lookup) =>
    found.kind === 'hit' ? { hit: fromEntry(found.entry, found.age, 'HIT', method === 'HEAD') } : ticket(found.fill);
  return {
    lookup(call) {
      const found = cache.lookup({ method: call.method, key: `W ${call.base}${call.path}`, headers: call.headers });
      return isPromise(found) ? found.then((f) => answer(call.method, f)) : answer(call.method, found);
    },
  };
}
