// One proxied exchange: the client's request streamed to an upstream over a keep-alive pool,
// the answer streamed back, both with back-pressure; nothing is buffered whole. Framing is
// never copied: node's parser verified the client's (the kernel refused CL+TE and two
// Content-Length), the upstream request gets that Content-Length or undici's chunked framing,
// and the answer is framed again by node:http.
//
// Per request there is one Exchange (it is undici's handler too) and one Upstream per attempt;
// the Route it follows is made once per mount, so a request allocates no closures of its own.
// A response cache's CacheMiss rides on the Exchange (no cache: nothing of it is looked at).
import { Readable, type Writable } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { sendError, type MountInfo, type SkitaiRequest, type SkitaiResponse } from '@skitai/kernel';
import { isCacheMiss, isPromise, sendCached, type CachedResponse, type CacheMiss, type ProxyCache } from './cache.js';
import { responseHeaders, setRequestHeaders, upstreamHeaderList, type HeaderList } from './hop.js';
import { relayed } from './young-gc.js';
import { clearDeadline, renewDeadline, SWEPT_FROM_MS, watchDeadline, type Deadline } from '@skitai/services';

/** Where one attempt goes. */
export interface Upstream {
  dispatcher: Dispatcher;
  /** `http://host:port`. */
  origin: string;
  /** Path and query to ask for. */
  path: string;
  /** For the Host header. */
  hostHeader: string;
  /** For messages: `@alias#0 host:port`. */
  label: string;
}

/** Where a relay goes and what it tells its owner (a proxied mount, the forward proxy). */
export interface Route<M = unknown> {
  /** The name shown in error pages (`@members`, a host). */
  readonly name: string;
  /** Time for the upstream's head, and the longest silence in its body, ms. */
  readonly timeoutMs: number;
  /** The next upstream to try for this exchange (undefined when none is left). */
  next(ex: Exchange<M>): Upstream | undefined;
  /** The current attempt could not connect (nothing was sent): set it aside. */
  failed?(ex: Exchange<M>, err: Error): void;
  /** The current attempt's head arrived. */
  answered?(ex: Exchange<M>): void;
  /** The current attempt is over (answered, failed or abandoned): release its load count. */
  released?(ex: Exchange<M>): void;
  /**
   * Where the answer's body is copied to as well (a response cache's `store`), chosen at the
   * head; not asked when the exchange follows a CacheMiss (its `head` is).
   */
  tee?(ex: Exchange<M>, status: number, headers: OutgoingHttpHeaders): Writable | undefined;
  /** A `Location` or `Refresh` value of the answer as the client should see it. */
  redirect?(ex: Exchange<M>, value: string, refresh: boolean): string;
}

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Errors that mean no byte reached the upstream. */
const connectErrors = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function hasRequestBody(req: SkitaiRequest): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The request body as undici reads it: nothing is taken from the client until the upstream
 * connection stands and undici asks (so a member that refuses costs no byte), and destroying
 * this wrapper (an upstream failure) leaves the client's request alone.
 */
function lazyBody(ex: Exchange<any>): Readable {
  const req = ex.req;
  let flowing = false;
  const body = new Readable({
    read() {
      if (flowing) {
        req.resume();
        return;
      }
      flowing = true;
      ex.bodyStarted = true;
      req.on('data', (chunk: Buffer) => {
        relayed?.(chunk.length);
        if (!body.push(chunk)) req.pause();
      });
      req.on('end', () => body.push(null));
      req.on('error', (err) => body.destroy(err));
    },
  });
  return body;
}

/** One client request relayed to the route's upstreams; undici's dispatch handler for each attempt. */
export class Exchange<M = unknown> implements Dispatcher.DispatchHandlers, Deadline {
  /** The owner's state for this exchange: the member being asked, the members tried. */
  member: M | undefined = undefined;
  tried: Set<M> | undefined = undefined;
  upstream: Upstream | undefined = undefined;
  // The route's timeout, watched by @skitai/services' call deadlines (one sweep every 250 ms for
  // a second or more, a timer of its own for less): these fields are the deadlines' own.
  deadlineSweep = 0;
  deadlinePrev: Deadline | undefined = undefined;
  deadlineNext: Deadline | undefined = undefined;
  deadlineTimer: NodeJS.Timeout | undefined = undefined;
  deadlineWatched = false;
  abort: ((err?: Error) => void) | undefined = undefined;
  /** The client got (or is getting) an answer: late events of an attempt are ignored. */
  done = false;
  bodyStarted = false;
  private readonly withBody: boolean;
  private lastError: Error | undefined = undefined;
  private attemptId = 0;
  private releasedId = -1;
  private answered = false;
  /** A 304 was answered with the cache's refreshed copy: the member's (empty) body is not relayed. */
  private replaced = false;
  private copy: Writable | undefined = undefined;
  private resumeUpstream: (() => void) | undefined = undefined;
  private waiting = 0;
  private drainListener: (() => void) | undefined = undefined;

  constructor(
    readonly req: SkitaiRequest,
    readonly res: SkitaiResponse,
    readonly route: Route<M>,
    /** Request headers for undici (name, value ...), `host` first: its value is set per attempt. */
    readonly headers: HeaderList,
    /** The response cache follows this exchange (its lookup gave a CacheMiss). */
    readonly miss: CacheMiss | undefined = undefined,
  ) {
    this.withBody = hasRequestBody(req);
  }

  /** Starts the first attempt; the client going away stops the upstream exchange too. */
  start(): void {
    this.res.on('close', () => {
      if (!this.res.writableFinished) {
        this.done = true;
        this.abort?.(new Error('the client closed the connection'));
      }
      // However it ended (answered, 502, 504, the client left): the cache may let waiting requests go.
      this.miss?.done?.();
    });
    this.attempt();
  }

  /** No head within the route's timeout: 504; a body silent as long: the answer is cut. */
  timedOut(): void {
    if (this.answered) {
      // Waiting for the client to drain is the client's slowness, not the member's silence.
      if (this.waiting > 0) watchDeadline(this, this.route.timeoutMs);
      else this.abort?.(new Error(`${this.route.name} sent nothing for ${this.route.timeoutMs} ms`));
      return;
    }
    if (this.done) return;
    this.done = true;
    this.abort?.(new Error('timed out'));
    this.release();
    sendError(this.req, this.res, 504, `${this.route.name} did not answer within ${this.route.timeoutMs} ms`);
  }

  private stopWaiting(): void {
    clearDeadline(this);
  }

  /** Releases the current attempt's load count, once. */
  release(): void {
    if (this.releasedId !== this.attemptId) {
      this.releasedId = this.attemptId;
      this.route.released?.(this);
    }
  }

  private attempt(): void {
    const route = this.route;
    const upstream = route.next(this);
    if (upstream === undefined) {
      this.done = true;
      const last = this.lastError;
      sendError(this.req, this.res, 502, `no member of ${route.name} answered${last ? `: ${last.message}` : ''}`);
      return;
    }
    this.attemptId++;
    this.upstream = upstream;
    this.headers[1] = upstream.hostHeader;
    // A long timeout is swept (the head, then the body's silences); a short one is timed by the
    // deadline's own timer (the head) and undici's (the body).
    const ms = route.timeoutMs;
    const swept = ms >= SWEPT_FROM_MS;
    if (ms > 0) watchDeadline(this, ms);
    upstream.dispatcher.dispatch(
      {
        origin: upstream.origin,
        path: upstream.path,
        method: this.req.method as Dispatcher.HttpMethod,
        headers: this.headers as string[],
        body: this.withBody ? lazyBody(this) : null,
        bodyTimeout: swept ? 0 : ms,
      },
      this,
    );
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.done) abort();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (status < 200) return true;
    this.answered = true;
    const ms = this.route.timeoutMs;
    // A short timeout was the head's only (undici times the body); a swept one goes on for the
    // body's silences.
    if (this.done || ms < SWEPT_FROM_MS) this.stopWaiting();
    if (this.done) return false;
    renewDeadline(this, ms);
    this.done = true;
    this.resumeUpstream = resume;
    const route = this.route;
    route.answered?.(this);
    const out = responseHeaders(rawHeaders);
    if (route.redirect !== undefined) {
      if (out.location !== undefined) out.location = route.redirect(this, String(out.location), false);
      if (out.refresh !== undefined) out.refresh = route.redirect(this, String(out.refresh), true);
    }
    const miss = this.miss;
    if (miss !== undefined) {
      if (status === 304 && miss.notModified !== undefined) {
        const cached = miss.notModified(out);
        if (cached !== undefined) {
          this.replaced = true;
          this.stopWaiting();
          sendCached(this.res, cached);
          return true;
        }
      }
      this.copy = miss.head(status, out);
    } else if (route.tee !== undefined) {
      this.copy = route.tee(this, status, out);
    }
    this.res.writeHead(status, out);
    return true;
  }

  onData(chunk: Buffer): boolean {
    relayed?.(chunk.length);
    if (this.replaced) return true;
    renewDeadline(this, this.route.timeoutMs);
    // Back-pressure from the client (and the cache copy): the upstream socket pauses until both drained.
    let ok = true;
    if (!this.res.write(chunk)) {
      this.waitFor(this.res);
      ok = false;
    }
    if (this.copy !== undefined && !this.copy.write(chunk)) {
      this.waitFor(this.copy);
      ok = false;
    }
    return ok;
  }

  private waitFor(stream: Writable | SkitaiResponse): void {
    this.waiting++;
    this.drainListener ??= () => {
      if (--this.waiting === 0) {
        renewDeadline(this, this.route.timeoutMs);
        this.resumeUpstream!();
      }
    };
    stream.once('drain', this.drainListener);
  }

  onComplete(): void {
    this.stopWaiting();
    this.release();
    if (this.replaced) return;
    this.copy?.end();
    this.res.end();
  }

  onError(err: Error & { code?: string }): void {
    this.stopWaiting();
    this.release();
    if (this.answered) {
      if (this.replaced) return;
      // Broke off mid-answer: the client sees a cut connection, never a spliced one.
      this.copy?.destroy(err);
      if (!this.res.writableEnded) this.res.destroy();
      return;
    }
    if (this.done) return;
    const noByteSent = connectErrors.has(err.code ?? '');
    if (noByteSent) this.route.failed?.(this, err);
    this.lastError = err;
    if ((noByteSent && !this.bodyStarted) || (!this.withBody && idempotent.has(this.req.method!))) {
      this.attempt();
    } else {
      this.done = true;
      sendError(this.req, this.res, 502, `${this.upstream!.label} failed: ${err.message}`);
    }
  }
}

/**
 * Relays `req` along `route`. A connection error before any byte was sent tries the next
 * upstream; so does any error before the head for an idempotent request without a body.
 * No upstream answering gives 502, no head within the timeout 504.
 */
export function relay<M>(
  req: SkitaiRequest,
  res: SkitaiResponse,
  route: Route<M>,
  headers: HeaderList,
  miss?: CacheMiss,
): Exchange<M> {
  const ex = new Exchange(req, res, route, headers, miss);
  ex.start();
  return ex;
}

/** What a lookup found: the stored answer sent, or the relay (following a CacheMiss). */
function answerFrom<M>(
  req: SkitaiRequest,
  res: SkitaiResponse,
  route: Route<M>,
  found: CachedResponse | CacheMiss | undefined,
): void {
  if (found === undefined) {
    relay(req, res, route, upstreamHeaderList(req));
  } else if (isCacheMiss(found)) {
    const headers = upstreamHeaderList(req);
    if (found.headers !== undefined) setRequestHeaders(headers, found.headers);
    relay(req, res, route, headers, found);
  } else {
    sendCached(res, found);
  }
}

/**
 * Relays `req` along `route` through `cache`: its serve() answers, or its stored answer is sent, or the request goes
 * upstream (with what a CacheMiss adds, the cache following the exchange). Synchronous when
 * the lookup is (no closure then); a lookup that throws or rejects relays as if there were
 * no cache. `mount` is undefined for the forward proxy.
 */
export function relayThroughCache<M>(
  cache: ProxyCache,
  req: SkitaiRequest,
  res: SkitaiResponse,
  mount: MountInfo | undefined,
  route: Route<M>,
): void | Promise<void> {
  // The cache answers a plain HIT itself, before any lookup object or upstream header is made.
  if (cache.serve !== undefined && cache.serve(req, res, mount)) return;
  let found: ReturnType<ProxyCache['lookup']>;
  try {
    found = cache.lookup(req, mount);
  } catch {
    return answerFrom(req, res, route, undefined);
  }
  if (found === undefined || !isPromise(found)) return answerFrom(req, res, route, found);
  return found.then(
    (f) => answerFrom(req, res, route, f),
    () => answerFrom(req, res, route, undefined),
  );
}
