// One proxied exchange: the client's request streamed to an upstream over a keep-alive pool,
// the answer streamed back, both with back-pressure; nothing is buffered whole. Framing is
// never copied: node's parser verified the client's (the kernel refused CL+TE and two
// Content-Length), the upstream request gets that Content-Length or undici's chunked framing,
// and the answer is framed again by node:http.
import { Readable, type Writable } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { sendError, type SkitaiRequest, type SkitaiResponse } from '@skitai/kernel';
import type { CachedResponse } from './cache.js';
import { sendCached } from './cache.js';
import { responseHeaders } from './hop.js';

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

export interface RelayPlan {
  /** The next upstream to try (undefined when none is left). */
  next(): Upstream | undefined;
  /** An attempt could not connect (nothing was sent): set it aside. */
  failed?(upstream: Upstream, err: Error): void;
  /** The upstream's head arrived. */
  answered?(upstream: Upstream): void;
  /** The attempt is over (answered, failed or abandoned): release its load count. */
  released?(upstream: Upstream): void;
  /** Headers for the upstream request (end-to-end ones plus what the proxy adds), without Host. */
  headers: Record<string, string | string[] | undefined>;
  /** Time for the upstream's head, and the longest silence in its body, ms. */
  timeoutMs: number;
  /** The name shown in error pages (`@members`, a host). */
  name: string;
  /** Where the answer's body is copied to as well (a response cache), chosen at the head. */
  tee?(status: number, headers: OutgoingHttpHeaders): Writable | undefined;
  /** A 304 arrived: an answer to send instead (a cache's refreshed copy), or undefined to pass it on. */
  notModified?(headers: OutgoingHttpHeaders): CachedResponse | undefined;
}

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Errors that mean no byte reached the upstream. */
const connectErrors = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT',
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
function lazyBody(req: SkitaiRequest, started: () => void): Readable {
  let flowing = false;
  const body = new Readable({
    read() {
      if (flowing) { req.resume(); return; }
      flowing = true;
      started();
      req.on('data', (chunk: Buffer) => { if (!body.push(chunk)) req.pause(); });
      req.on('end', () => body.push(null));
      req.on('error', (err) => body.destroy(err));
    },
  });
  return body;
}

/**
 * Relays `req` to the plan's upstreams. A connection error before any byte was sent tries the
 * next upstream; so does any error before the head for an idempotent request without a body.
 * No upstream answering gives 502, no head within the timeout 504.
 */
export function relay(req: SkitaiRequest, res: SkitaiResponse, plan: RelayPlan): void {
  const method = req.method!;
  const withBody = hasRequestBody(req);
  const headers = plan.headers;
  const cl = req.headers['content-length'];
  if (cl !== undefined) headers['content-length'] = cl;
  const replayable = !withBody && idempotent.has(method);
  let lastError: Error | undefined;
  let done = false;
  let bodyStarted = false;
  let abortCurrent: ((err?: Error) => void) | undefined;

  const attempt = (): void => {
    const upstream = plan.next();
    if (upstream === undefined) {
      done = true;
      sendError(req, res, 502, `no member of ${plan.name} answered${lastError ? `: ${lastError.message}` : ''}`);
      return;
    }
    headers.host = upstream.hostHeader;
    let released = false;
    const release = () => {
      if (!released) { released = true; plan.released?.(upstream); }
    };
    let answered = false;
    /** A 304 was answered with the cache's copy: the member's (empty) body is not relayed. */
    let replaced = false;
    let copy: Writable | undefined;
    let timer: NodeJS.Timeout | undefined;
    let resume: () => void = () => {};
    // Back-pressure from the client (and the cache copy): the upstream socket pauses until both drained.
    let waiting = 0;
    const drained = () => { if (--waiting === 0) resume(); };

    const handler: Dispatcher.DispatchHandlers = {
      onConnect(abort) {
        abortCurrent = abort;
        if (done) abort();
      },
      onHeaders(status, rawHeaders, resumeUpstream) {
        if (status < 200) return true;
        answered = true;
        if (timer !== undefined) clearTimeout(timer);
        if (done) return false;
        done = true;
        resume = resumeUpstream;
        plan.answered?.(upstream);
        const out = responseHeaders(rawHeaders);
        if (status === 304 && plan.notModified !== undefined) {
          const cached = plan.notModified(out);
          if (cached !== undefined) {
            replaced = true;
            sendCached(res, cached);
            return true;
          }
        }
        copy = plan.tee?.(status, out);
        res.writeHead(status, out);
        return true;
      },
      onData(chunk) {
        if (replaced) return true;
        let ok = true;
        if (!res.write(chunk)) { waiting++; res.once('drain', drained); ok = false; }
        if (copy !== undefined && !copy.write(chunk)) { waiting++; copy.once('drain', drained); ok = false; }
        return ok;
      },
      onComplete() {
        release();
        if (replaced) return;
        copy?.end();
        res.end();
      },
      onError(err: Error & { code?: string }) {
        if (timer !== undefined) clearTimeout(timer);
        release();
        if (answered) {
          if (replaced) return;
          // Broke off mid-answer: the client sees a cut connection, never a spliced one.
          copy?.destroy(err);
          if (!res.writableEnded) res.destroy();
          return;
        }
        if (done) return;
        const noByteSent = connectErrors.has(err.code ?? '');
        if (noByteSent) plan.failed?.(upstream, err);
        lastError = err;
        if ((noByteSent && !bodyStarted) || replayable) attempt();
        else { done = true; sendError(req, res, 502, `${upstream.label} failed: ${err.message}`); }
      },
    };
    if (plan.timeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        if (done) return;
        done = true;
        abortCurrent?.(new Error('timed out'));
        release();
        sendError(req, res, 504, `${plan.name} did not answer within ${plan.timeoutMs} ms`);
      }, plan.timeoutMs);
    }
    upstream.dispatcher.dispatch({
      origin: upstream.origin,
      path: upstream.path,
      method: method as Dispatcher.HttpMethod,
      headers,
      body: withBody ? lazyBody(req, () => { bodyStarted = true; }) : null,
      bodyTimeout: plan.timeoutMs,
    }, handler);
  };

  // The client went away: stop the upstream exchange too.
  res.once('close', () => {
    if (!res.writableFinished) {
      done = true;
      abortCurrent?.(new Error('the client closed the connection'));
    }
  });
  attempt();
}
