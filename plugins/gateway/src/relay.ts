// One proxied exchange: the client's request streamed to an upstream over a keep-alive agent,
// the answer streamed back, both with back-pressure (pipe); nothing is buffered whole. Framing
// is never copied: node:http parsed and verified the client's (the kernel refused CL+TE and
// two Content-Length), and the upstream request gets Content-Length or chunked from that.
import http, { type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Writable } from 'node:stream';
import { sendError, type SkitaiRequest, type SkitaiResponse } from '@skitai/kernel';
import { endToEnd, via } from './hop.js';

/** Where one attempt goes. */
export interface Upstream {
  host: string;
  port: number;
  ssl: boolean;
  agent: http.Agent;
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
  headers: OutgoingHttpHeaders;
  /** Time for the upstream's head, ms (0: none). */
  timeoutMs: number;
  /** The name shown in error pages (`@members`, a host). */
  name: string;
  /** Where the answer's body is copied to as well (a response cache), chosen at the head. */
  tee?(status: number, headers: OutgoingHttpHeaders): Writable | undefined;
}

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Errors that mean no byte reached the upstream. */
const connectErrors = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ECONNABORTED']);

/** Bodiless statuses and HEAD: the answer has no body to pipe. */
function noBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

export function hasRequestBody(req: SkitaiRequest): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
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
  else if (withBody) headers['transfer-encoding'] = 'chunked';
  const replayable = !withBody && idempotent.has(method);
  let lastError: Error | undefined;
  let done = false;
  let bodyStarted = false;
  let current: http.ClientRequest | undefined;

  const attempt = (): void => {
    const upstream = plan.next();
    if (upstream === undefined) {
      done = true;
      sendError(req, res, 502, `no member of ${plan.name} answered${lastError ? `: ${lastError.message}` : ''}`);
      return;
    }
    headers.host = upstream.hostHeader;
    const up = (upstream.ssl ? https : http).request({
      host: upstream.host, port: upstream.port, method, path: upstream.path, headers, agent: upstream.agent,
    });
    let released = false;
    const release = () => {
      if (!released) { released = true; plan.released?.(upstream); }
    };
    let timer: NodeJS.Timeout | undefined;
    if (plan.timeoutMs > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        if (done) return;
        done = true;
        up.destroy();
        release();
        sendError(req, res, 504, `${plan.name} did not answer within ${plan.timeoutMs} ms`);
      }, plan.timeoutMs);
    }
    let answered = false;
    current = up;
    up.on('close', release);

    up.on('response', (r: http.IncomingMessage) => {
      answered = true;
      if (timer !== undefined) clearTimeout(timer);
      if (done) { r.destroy(); return; }
      done = true;
      plan.answered?.(upstream);
      const status = r.statusCode!;
      const out = endToEnd(r.headers);
      const length = r.headers['content-length'];
      if (length !== undefined) out['content-length'] = length;
      out.via = via(r.headers.via, r.httpVersion);
      const copy = plan.tee?.(status, out);
      res.writeHead(status, out);
      r.on('error', (err) => { copy?.destroy(err); res.destroy(); });
      r.on('aborted', () => { copy?.destroy(new Error('the upstream closed before the end of its body')); res.destroy(); });
      if (noBody(method, status)) {
        r.resume();
        res.end();
        copy?.end();
        return;
      }
      if (copy !== undefined) r.pipe(copy);
      r.pipe(res);
    });

    up.on('error', (err: NodeJS.ErrnoException) => {
      if (timer !== undefined) clearTimeout(timer);
      release();
      if (done) {
        // Broke off mid-answer: the client sees a cut connection, never a spliced one.
        if (answered && !res.writableEnded) res.destroy();
        return;
      }
      const code = err.code ?? '';
      const noByteSent = connectErrors.has(code);
      if (noByteSent) plan.failed?.(upstream, err);
      lastError = err;
      if ((noByteSent && !bodyStarted) || replayable) attempt();
      else { done = true; sendError(req, res, 502, `${upstream.label} failed: ${err.message}`); }
    });

    if (!withBody) {
      up.end();
      return;
    }
    // The body goes once the connection stands, so a member that refuses it loses no byte.
    const startBody = () => {
      if (bodyStarted || done) return;
      bodyStarted = true;
      req.pipe(up);
    };
    up.once('socket', (socket) => {
      if (socket.connecting) socket.once('connect', startBody);
      else startBody();
    });
  };

  // The client went away: stop the upstream exchange too.
  res.once('close', () => {
    if (!res.writableFinished) {
      done = true;
      req.unpipe();
      current?.destroy();
    }
  });
  attempt();
}
