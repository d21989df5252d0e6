// The wire layer of `was` HTTP calls: one request over a keep-alive node:http(s) Agent, with a
// timeout for the whole exchange, a connect timeout, streaming request and response bodies,
// decompression, and errors classified for fail-over.
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { SkitaiError } from '@skitai/kernel';
import { codes } from './errors.js';

export type Body = string | Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array | string>;

export interface WireTarget {
  ssl: boolean;
  host: string;
  port: number;
  agent: http.Agent;
  /** For messages: '@alias#0 127.0.0.1:5001' or '127.0.0.1:5001'. */
  label: string;
  /** TLS client options (servername, ca, rejectUnauthorized). */
  tls?: Record<string, unknown>;
}

export interface WireRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: http.OutgoingHttpHeaders;
  body: Body | undefined;
  /** Whole exchange, ms (0: none). */
  timeout: number;
  /** Until the TCP (and TLS) connection is up, ms: past it the member counts as unreachable. */
  connectTimeout: number;
  /** Resolve at the response head with the body as a stream. */
  stream: boolean;
  /** Most body bytes buffered (after decompression). */
  maxResponseSize: number;
  signal?: AbortSignal;
}

export interface WireResponse {
  statusCode: number;
  reason: string;
  headers: http.IncomingHttpHeaders;
  content: Buffer | undefined;
  body: Readable | undefined;
}

/** How a call failed: decides fail-over. */
export type FailureKind =
  /** The member could not be reached: nothing was sent. Any method may go to another member. */
  | 'connect'
  /** A kept-alive socket was closed by the peer before our request got an answer. */
  | 'stale'
  /** The connection broke after the request was sent, before an answer: safe to retry only if idempotent. */
  | 'reset'
  | 'timeout'
  /** The answer itself was bad (too large, broken body). */
  | 'response'
  | 'aborted';

export class CallError extends SkitaiError {
  constructor(readonly kind: FailureKind, err: SkitaiError, cause?: unknown) {
    super(err.code, err.message, err.statusCode, { cause });
    this.name = 'CallError';
  }
}

const connectCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'ECONNTIMEOUT']);
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function isStream(body: unknown): body is Readable | AsyncIterable<Uint8Array | string> {
  return typeof body === 'object' && body !== null && !(body instanceof Uint8Array) &&
    (typeof (body as Readable).pipe === 'function' || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function');
}

export function isReplayable(body: Body | undefined): boolean {
  return body === undefined || !isStream(body);
}

function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip': case 'x-gzip': return zlib.createGunzip();
    case 'deflate': return zlib.createInflate();
    case 'br': return zlib.createBrotliDecompress();
    default: return undefined;
  }
}

/** Sends one request; rejects with a CallError whose `kind` says whether it may be retried. */
export function send(target: WireTarget, wire: WireRequest): Promise<WireResponse> {
  return new Promise<WireResponse>((resolve, reject) => {
    const options: https.RequestOptions = {
      host: target.host,
      port: target.port,
      method: wire.method,
      path: wire.path,
      headers: wire.headers,
      agent: target.agent,
    };
    if (target.ssl && target.tls) Object.assign(options, target.tls);
    const req = (target.ssl ? https : http).request(options);
    let settled = false;
    let answered = false;
    let connected = false;
    let failure: CallError | undefined;
    let timer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;

    const done = (err: CallError | undefined, value?: WireResponse) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      if (connectTimer !== undefined) clearTimeout(connectTimer);
      if (wire.signal) wire.signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const abortWith = (err: CallError) => {
      failure ??= err;
      req.destroy(err);
      done(err);
    };
    const onAbort = () => abortWith(new CallError('aborted', codes.SKT_BACKEND_CONNECTION(target.label, 'the call was aborted')));

    if (wire.timeout > 0) {
      timer = setTimeout(() => {
        const kind: FailureKind = connected || answered ? 'timeout' : 'connect';
        abortWith(kind === 'connect'
          ? new CallError('connect', codes.SKT_BACKEND_CONNECTION(target.label, `no connection within ${wire.timeout} ms`))
          : new CallError('timeout', codes.SKT_BACKEND_TIMEOUT(`${wire.method} ${target.label}${wire.path}`, wire.timeout)));
      }, wire.timeout);
    }
    if (wire.signal) {
      if (wire.signal.aborted) return onAbort();
      wire.signal.addEventListener('abort', onAbort, { once: true });
    }

    req.on('socket', (socket: Socket) => {
      const onConnect = () => {
        connected = true;
        if (connectTimer !== undefined) clearTimeout(connectTimer);
      };
      if (socket.connecting) {
        if (wire.connectTimeout > 0 && wire.connectTimeout < (wire.timeout || Infinity)) {
          connectTimer = setTimeout(() => {
            abortWith(new CallError('connect', codes.SKT_BACKEND_CONNECTION(target.label, `no connection within ${wire.connectTimeout} ms`)));
          }, wire.connectTimeout);
        }
        socket.once(target.ssl ? 'secureConnect' : 'connect', onConnect);
      } else {
        onConnect();
      }
    });

    req.on('error', (err: NodeJS.ErrnoException) => {
      if (failure) return done(failure);
      const code = err.code ?? '';
      let kind: FailureKind;
      if (answered) kind = 'response';
      else if (connectCodes.has(code) || (!connected && !req.reusedSocket)) kind = 'connect';
      else if (req.reusedSocket && resetCodes.has(code)) kind = 'stale';
      else if (resetCodes.has(code)) kind = 'reset';
      else kind = 'connect';
      const message = kind === 'response' ? codes.SKT_BACKEND_RESPONSE(target.label, err.message) : codes.SKT_BACKEND_CONNECTION(target.label, `${code ? code + ' ' : ''}${err.message}`);
      done(new CallError(kind, message, err));
    });

    req.on('response', (res: http.IncomingMessage) => {
      answered = true;
      const decoder = wire.method === 'HEAD' ? undefined : decoderFor(res.headers['content-encoding'] as string | undefined);
      let source: Readable = res;
      if (decoder) {
        source = res.pipe(decoder);
        res.on('error', (err) => decoder.destroy(err));
      }
      const head = { statusCode: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers };
      if (wire.stream) {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        done(undefined, { ...head, content: undefined, body: source });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length']);
      if (!decoder && declared > wire.maxResponseSize) {
        return abortWith(new CallError('response', codes.SKT_BACKEND_RESPONSE(target.label, `the body (${declared} bytes) is over ${wire.maxResponseSize} bytes`)));
      }
      source.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > wire.maxResponseSize) {
          abortWith(new CallError('response', codes.SKT_BACKEND_RESPONSE(target.label, `the body is over ${wire.maxResponseSize} bytes`)));
          source.destroy();
          return;
        }
        chunks.push(chunk);
      });
      source.on('end', () => {
        done(undefined, { ...head, content: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), body: undefined });
      });
      source.on('error', (err) => {
        done(failure ?? new CallError('response', codes.SKT_BACKEND_RESPONSE(target.label, err.message), err));
      });
      res.on('aborted', () => {
        done(failure ?? new CallError('response', codes.SKT_BACKEND_RESPONSE(target.label, 'the connection closed before the body ended')));
      });
    });

    const body = wire.body;
    if (body === undefined) {
      req.end();
    } else if (typeof body === 'string' || body instanceof Uint8Array) {
      req.end(body);
    } else {
      const stream = typeof (body as Readable).pipe === 'function' ? body as Readable : Readable.from(body as AsyncIterable<Uint8Array | string>);
      stream.on('error', (err) => abortWith(new CallError('aborted', codes.SKT_BACKEND_CONNECTION(target.label, `the request body failed: ${err.message}`), err)));
      stream.pipe(req);
    }
  });
}

/** A keep-alive agent: an idle connection older than `keepAlive` ms is closed (and reopened on use). */
export function createAgent(ssl: boolean, keepAlive: number, maxSockets?: number, tls?: Record<string, unknown>): http.Agent {
  const options: https.AgentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    scheduling: 'lifo',
    timeout: keepAlive,
    maxSockets: maxSockets ?? Infinity,
    maxFreeSockets: 256,
    ...(ssl && tls ? tls : {}),
  };
  return ssl ? new https.Agent(options) : new http.Agent(options);
}
