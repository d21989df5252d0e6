// The response cache itself, as RFC 9111 has a shared cache behave, over a memory tier and a
// disk tier: what may be stored, when a stored response may be sent without asking (fresh,
// by its age), revalidation of a stale one with its validators, Vary, and request collapsing
// (concurrent misses for one URL wait for the first one's answer). The proxy and `was`
// adapters (proxy-cache.ts, was-cache.ts) translate their exchanges to lookup() and Fill.
import { createHash } from 'node:crypto';
import {
  deltaSeconds,
  freshnessLifetime,
  headerText,
  httpDate,
  parseCacheControl,
  varyNames,
  type Directives,
} from './directives.js';
import { currentAge, overhead, type Entry, type Item, type StoredHeaders } from './entry.js';
import type { DiskTier } from './disk-tier.js';
import { MemoryTier } from './memory-tier.js';

export type HeaderBag = Record<string, string | string[] | number | undefined>;

export interface CacheRequest {
  method: string;
  /** What names the resource in this cache: a scope and the URL (`P host /path?q`). */
  key: string;
  /** The request's header fields, lower-case names. */
  headers: HeaderBag;
}

export type Lookup =
  /** A fresh stored response, `age` seconds old. */
  | { kind: 'hit'; entry: Entry; age: number }
  /** Ask the backend; `fill` follows the exchange (undefined: nothing will be stored). */
  | { kind: 'miss'; fill: Fill | undefined };

/** Statuses a response may be stored with (RFC 9110 15.1's heuristically cacheable ones, and 302/307 with explicit freshness). */
const STATUSES = new Set([200, 203, 204, 300, 301, 302, 307, 308, 404, 405, 410, 414, 501]);
/** Methods that do not change the resource; any other invalidates the stored response on success (RFC 9111 4.4). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Never stored with a response: the connection's fields, and what this cache sets itself. */
const NOT_STORED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'content-length',
  'age',
  'x-cache',
]);

export interface CacheStats {
  hits: number;
  misses: number;
  /** Stale responses a 304 refreshed. */
  revalidated: number;
  stored: number;
  /** Requests that waited for another request's answer instead of asking the backend. */
  collapsed: number;
  /** Answers that could not be kept (no-store, private, Set-Cookie, no freshness, too large ...). */
  uncacheable: number;
}

/** One miss in flight per key, when collapsing: the others wait for it. */
class Flight {
  private settle!: () => void;
  readonly done = new Promise<void>((resolve) => {
    this.settle = resolve;
  });
  end(): void {
    this.settle();
  }
  /** Resolves when the flight ends, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      void this.done.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

interface Plan {
  names: string[];
  dateValue: number;
  ageValue: number;
  lifetime: number;
  noCache: boolean;
}

export class HttpCache {
  readonly memory: MemoryTier | undefined;
  disk: DiskTier | undefined = undefined;
  readonly stats: CacheStats = { hits: 0, misses: 0, revalidated: 0, stored: 0, collapsed: 0, uncacheable: 0 };
  private readonly flights = new Map<string, Flight>();

  constructor(
    memmax: number,
    readonly collapse: boolean,
    readonly collapseMs: number,
  ) {
    this.memory = memmax > 0 ? new MemoryTier(memmax, (item) => this.unhot(item)) : undefined;
  }

  /**
   * The proxy's plain-GET index (proxy-cache.ts): fresh-looking entries by path alone, so that
   * a HIT builds no key. Each is in the memory tier under its own key and leaves this index
   * when it leaves the tier; the caller checks its scope, Host and age.
   */
  readonly hot = new Map<string, Entry>();

  /** Indexes `entry` (in memory under its own key, no Vary, no credentials) by `path`. */
  makeHot(entry: Entry, path: string, scope: object, host: string): void {
    const old = entry.hotPath;
    if (old !== undefined && old !== path && this.hot.get(old) === entry) this.hot.delete(old);
    entry.hotPath = path;
    entry.hotScope = scope;
    entry.hotHost = host;
    this.hot.set(path, entry);
  }

  private unhot(item: Item): void {
    if (item.kind === 'entry' && item.hotPath !== undefined && this.hot.get(item.hotPath) === item)
      this.hot.delete(item.hotPath);
  }

  /** A hot entry used for a HIT: counted, and marked used in the memory tier. */
  hotHit(entry: Entry): void {
    const memory = this.memory!;
    memory.touch(entry.key, entry);
    memory.hits++;
    this.stats.hits++;
  }

  /** Whether any tier keeps anything. */
  get enabled(): boolean {
    return this.memory !== undefined || this.disk !== undefined;
  }

  /** The largest body kept. */
  get maxBody(): number {
    return Math.max(this.memory?.max ?? 0, this.disk?.off === undefined ? (this.disk?.max ?? 0) : 0);
  }

  lookup(req: CacheRequest, waited = false): Lookup | Promise<Lookup> {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return {
        kind: 'miss',
        fill: SAFE.has(method) ? undefined : new Fill(this, req, this.scoped(req), undefined, undefined, 'invalidate'),
      };
    }
    const rcc = parseCacheControl(req.headers['cache-control']);
    // A request that forbids storing, or asks for a part, goes to the backend and is not kept.
    if (rcc.has('no-store') || req.headers.range !== undefined) return { kind: 'miss', fill: undefined };
    const key = this.scoped(req);
    const found = this.find(key, req.headers);
    if (isPromise(found)) return found.then((entry) => this.decide(req, key, rcc, entry, waited));
    return this.decide(req, key, rcc, found, waited);
  }

  /** Requests with credentials never share entries with other requests: their key holds the credentials' digest. */
  private scoped(req: CacheRequest): string {
    const auth = req.headers.authorization;
    if (auth === undefined) return req.key;
    return `${req.key}\nauthorization ${createHash('sha256').update(String(auth)).digest('base64')}`;
  }

  private decide(
    req: CacheRequest,
    key: string,
    rcc: Directives,
    entry: Entry | undefined,
    waited: boolean,
  ): Lookup | Promise<Lookup> {
    if (entry !== undefined) {
      const age = currentAge(entry, Date.now());
      let fresh = !entry.noCache && age < entry.lifetime;
      if (fresh) {
        const noCache =
          rcc.has('no-cache') ||
          (req.headers['cache-control'] === undefined && /no-cache/i.test(headerText(req.headers.pragma) ?? ''));
        const maxAge = deltaSeconds(rcc, 'max-age');
        const minFresh = deltaSeconds(rcc, 'min-fresh');
        if (
          noCache ||
          (maxAge !== undefined && age > maxAge) ||
          (minFresh !== undefined && entry.lifetime - age < minFresh)
        )
          fresh = false;
      }
      if (fresh) {
        this.stats.hits++;
        return { kind: 'hit', entry, age };
      }
    }
    // HEAD is answered from a stored GET only; its own answers are not kept.
    if (req.method === 'HEAD') {
      this.stats.misses++;
      return { kind: 'miss', fill: undefined };
    }
    if (this.collapse && !waited) {
      const flight = this.flights.get(key);
      if (flight !== undefined) {
        this.stats.collapsed++;
        return flight.wait(this.collapseMs).then(() => this.lookup(req, true));
      }
    }
    this.stats.misses++;
    let flight: Flight | undefined;
    if (this.collapse && !this.flights.has(key)) this.flights.set(key, (flight = new Flight()));
    return { kind: 'miss', fill: new Fill(this, req, key, entry, flight, 'store') };
  }

  /**
   * The fresh entry kept in memory under `key`, for a plain GET or HEAD (the caller has seen no
   * Cache-Control, Pragma, Range, Authorization or validator in the request: nothing that
   * lookup() would weigh), with its age; undefined sends the request down lookup(). No object
   * is made for a hit here.
   */
  freshInMemory(key: string): Entry | undefined {
    const memory = this.memory;
    const item = memory?.get(key);
    if (item === undefined || item.kind !== 'entry' || item.noCache) return undefined;
    const age = currentAge(item, Date.now());
    if (age >= item.lifetime) return undefined;
    memory!.hits++;
    this.stats.hits++;
    this.lastAge = age;
    return item;
  }

  /** The age freshInMemory() found its entry at (s). */
  lastAge = 0;

  /** The entry for `key` and these request fields (following a vary marker), from memory or disk. */
  private find(key: string, headers: HeaderBag): Entry | undefined | Promise<Entry | undefined> {
    const item = this.item(key);
    const follow = (it: Item | undefined): Entry | undefined | Promise<Entry | undefined> => {
      if (it === undefined || it.kind === 'entry') return it;
      const variant = this.item(variantKey(key, it.names, headers));
      if (isPromise(variant)) return variant.then((v) => (v?.kind === 'entry' ? v : undefined));
      return variant?.kind === 'entry' ? variant : undefined;
    };
    return isPromise(item) ? item.then(follow) : follow(item);
  }

  private item(key: string): Item | undefined | Promise<Item | undefined> {
    const memory = this.memory;
    const found = memory?.get(key);
    if (found !== undefined) {
      if (found.kind === 'entry') memory!.hits++;
      return found;
    }
    const disk = this.disk;
    if (disk === undefined || !disk.has(key)) return undefined;
    return disk.get(key).then((it) => {
      // Read from disk: kept in memory for the next request.
      if (it !== undefined) memory?.set(key, it);
      return it;
    });
  }

  /** Keeps `entry` in every tier it fits (and the vary marker its URL needs). */
  put(primary: string, entry: Entry, names: string[]): void {
    if (names.length > 0) {
      const marker: Item = { kind: 'vary', key: primary, names, size: overhead(primary, names) };
      this.memory?.set(primary, marker);
      this.disk?.set(primary, marker);
    }
    this.memory?.set(entry.key, entry);
    this.disk?.set(entry.key, entry);
    this.stats.stored++;
  }

  delete(key: string): void {
    this.memory?.delete(key);
    this.disk?.delete(key);
  }

  /** @internal */
  landed(key: string, flight: Flight | undefined): void {
    if (flight === undefined) return;
    flight.end();
    if (this.flights.get(key) === flight) this.flights.delete(key);
  }

  /** What storing a response needs, or undefined when it may not be stored (RFC 9111 3, as a shared cache). */
  plan(status: number, h: HeaderBag, reqHeaders: HeaderBag, responseTime: number): Plan | undefined {
    if (!STATUSES.has(status)) return undefined;
    const cc = parseCacheControl(h['cache-control']);
    if (cc.has('no-store') || cc.has('private')) return undefined;
    // Credentials: stored only when the response says it may be (and then under the credentials' own key).
    if (
      reqHeaders.authorization !== undefined &&
      !(cc.has('public') || cc.has('s-maxage') || cc.has('must-revalidate'))
    )
      return undefined;
    // A response that sets a cookie is one user's.
    if (h['set-cookie'] !== undefined) return undefined;
    const names = varyNames(h.vary);
    if (names.includes('*')) return undefined;
    const declared = Number(h['content-length']);
    if (declared > this.maxBody) return undefined;
    const date = httpDate(h.date);
    const dateValue = Number.isNaN(date) ? responseTime : date;
    const explicit = freshnessLifetime(cc, h.expires, dateValue);
    const validators = h.etag !== undefined || h['last-modified'] !== undefined;
    const noCache = cc.has('no-cache');
    if (explicit === undefined && (!validators || status === 302 || status === 307)) return undefined;
    const lifetime = explicit ?? 0;
    // Never fresh and nothing to revalidate with: it could only ever be fetched again.
    if ((lifetime === 0 || noCache) && !validators) return undefined;
    const age = Number(headerText(h.age));
    return { names, dateValue, ageValue: Number.isFinite(age) && age > 0 ? age : 0, lifetime, noCache };
  }
}

/** The key of one variant: the URL's key and the request's values of the fields the response varies on. */
export function variantKey(primary: string, names: string[], headers: HeaderBag): string {
  let key = `${primary}\nvary`;
  for (const name of names) key += `\n${name}: ${(headerText(headers[name]) ?? '').trim().replace(/\s+/g, ' ')}`;
  return key;
}

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

function storedHeaders(h: HeaderBag): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name in h) {
    const v = h[name];
    if (v === undefined || NOT_STORED.has(name)) continue;
    out[name] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}

/**
 * One miss followed to its end: the head decides whether the body is kept, the body (whole)
 * is stored, a 304 refreshes the stale entry it revalidated; every way it ends lets the
 * requests collapsed on it go on.
 */
export class Fill {
  /** Validators of the stale entry, to add to the backend request. */
  readonly conditional: Record<string, string> | undefined;
  private readonly requestTime = Date.now();
  private responseTime = 0;
  private plan: Plan | undefined = undefined;
  private over = false;

  constructor(
    private readonly cache: HttpCache,
    private readonly req: CacheRequest,
    private readonly key: string,
    private readonly stale: Entry | undefined,
    private flight: Flight | undefined,
    private readonly mode: 'store' | 'invalidate',
  ) {
    const h = req.headers;
    // A client's own conditional request goes on as it is (its 304 is the client's).
    if (stale !== undefined && h['if-none-match'] === undefined && h['if-modified-since'] === undefined) {
      const etag = headerText(stale.headers.etag);
      const lastModified = headerText(stale.headers['last-modified']);
      if (etag !== undefined || lastModified !== undefined) {
        const cond: Record<string, string> = {};
        if (etag !== undefined) cond['if-none-match'] = etag;
        if (lastModified !== undefined) cond['if-modified-since'] = lastModified;
        this.conditional = cond;
      }
    }
  }

  /** The largest body worth copying. */
  get maxBody(): number {
    return this.cache.maxBody;
  }

  /** The backend's head arrived: whether the body should be kept (then complete() follows). */
  head(status: number, headers: HeaderBag): boolean {
    this.responseTime = Date.now();
    if (this.mode === 'invalidate') {
      if (status < 400) this.cache.delete(this.key);
      this.end();
      return false;
    }
    const plan = this.cache.plan(status, headers, this.req.headers, this.responseTime);
    if (plan === undefined) {
      if (status !== 304) this.cache.stats.uncacheable++;
      this.end();
      return false;
    }
    this.plan = plan;
    this.status = status;
    this.headers = headers;
    return true;
  }

  private status = 0;
  private headers: HeaderBag = {};

  /** The whole body of a response head() said to keep. */
  complete(body: Buffer, reason = ''): void {
    const plan = this.plan;
    if (plan === undefined || this.over) return this.end();
    if (body.length > this.cache.maxBody) {
      this.cache.stats.uncacheable++;
      return this.end();
    }
    this.cache.put(this.key, this.entry(this.status, reason, storedHeaders(this.headers), body, plan), plan.names);
    this.end();
  }

  /** The body grew past what is kept. */
  overflow(): void {
    this.over = true;
    this.cache.stats.uncacheable++;
    this.end();
  }

  /**
   * A 304 answered the conditional request: the stale entry with the 304's fields, as it is
   * now served (and stored, unless its fields now forbid it). Undefined when there was none.
   */
  notModified(headers: HeaderBag): Entry | undefined {
    const stale = this.stale;
    if (stale === undefined || this.conditional === undefined) return undefined;
    this.responseTime = Date.now();
    const merged: StoredHeaders = { ...stale.headers, ...storedHeaders(headers) };
    const plan = this.cache.plan(stale.status, merged, this.req.headers, this.responseTime);
    const refreshed = this.entry(
      stale.status,
      stale.reason,
      merged,
      stale.body,
      plan ?? { names: [], dateValue: this.responseTime, ageValue: 0, lifetime: 0, noCache: true },
    );
    if (plan === undefined) this.cache.delete(stale.key);
    else this.cache.put(this.key, refreshed, plan.names);
    this.cache.stats.revalidated++;
    this.end();
    return refreshed;
  }

  /** The exchange ended without a body to keep (error, timeout, the client left). */
  abandon(): void {
    this.end();
  }

  private entry(status: number, reason: string, headers: StoredHeaders, body: Buffer, plan: Plan): Entry {
    const key = plan.names.length > 0 ? variantKey(this.key, plan.names, this.req.headers) : this.key;
    return {
      kind: 'entry',
      key,
      status,
      reason,
      headers,
      body,
      requestTime: this.requestTime,
      responseTime: this.responseTime,
      dateValue: plan.dateValue,
      ageValue: plan.ageValue,
      lifetime: plan.lifetime,
      noCache: plan.noCache,
      size: body.length + overhead(key, headers),
    };
  }

  private end(): void {
    const flight = this.flight;
    if (flight === undefined) return;
    this.flight = undefined;
    this.cache.landed(this.key, flight);
  }
}
