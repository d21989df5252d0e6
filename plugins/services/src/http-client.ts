// The wire layer of `was` HTTP calls: one request through an undici dispatcher (dispatcher.ts),
// with a timeout for the whole exchange, a connect timeout, streaming request and response
// bodies, decompression, and errors classified for fail-over. It speaks undici's dispatch
// handler API directly: the body is collected as it comes, with no stream in between unless
// the caller asked for one.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { SkitaiError } from '@skitai/kernel';
import { undici, type AssignedHandler, type TrackedClient } from './dispatcher.js';
import { codes } from './errors.js';
import { clearDeadline, watchDeadline, type Deadline } from './deadlines.js';
import { Buffer } from 'node:buffer';

export type Body = string | Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array | string>;

export interface WireTarget {
  ssl: boolean;
  /** 'http://host:port' or 'https://host:port'. */
  origin: string;
  /** The member's Pool, or the services' Agent for plain URLs. */
  dispatcher: Dispatcher;
  /** For messages: '@alias#0 127.0.0.1:5001' or '127.0.0.1:5001'. */
  label: string;
}

export interface WireRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** An object, or undici's flat list of lowercase names and string values. */
  headers: OutgoingHttpHeaders | string[];
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
  headers: IncomingHttpHeaders;
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
  /** The answer itself was bad (too large, broken body, not HTTP). */
  | 'response'
  | 'aborted'
  /** The request could not be sent as given (a bad header value): nothing was sent, no member is to blame. */
  | 'request';

export class CallError extends SkitaiError {
  constructor(
    readonly kind: FailureKind,
    err: SkitaiError,
    cause?: unknown,
  ) {
    super(err.code, err.message, err.statusCode, { cause });
    this.name = 'CallError';
  }
}

const resetCodes = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function isStream(body: unknown): body is Readable | AsyncIterable<Uint8Array | string> {
  return (
    typeof body === 'object' &&
    body !== null &&
    !(body instanceof Uint8Array) &&
    (typeof (body as Readable).pipe === 'function' ||
      typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

export function isReplayable(body: Body | undefined): boolean {
  return body === undefined || !isStream(body);
}

type Decoder = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;

function decoderFor(encoding: string | string[] | undefined): Decoder | undefined {
  if (typeof encoding !== 'string') return undefined;
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

// As node:http's IncomingMessage: a repeated header of these keeps its first value,
// set-cookie gives an array, any other is joined with ', '.
const single = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

// undici's lookup of well-known names, taken on first use (undici loads with the first pool).
let headerName: ((value: Buffer) => string) | undefined;

/** undici's raw header list (name, value, name, value ... as Buffers) as node:http gives headers. */
export function headersOf(raw: Buffer[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // undici's lookup gives a well-known name's lowercase string without decoding the bytes.
    const name = (headerName ??= undici().util.headerNameToString as (value: Buffer) => string)(raw[i]!);
    const value = raw[i + 1]!.toString('latin1');
    const seen = headers[name];
    if (seen === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (seen as string[]).push(value);
    else if (!single.has(name)) headers[name] = `${seen as string}, ${value}`;
  }
  return headers as IncomingHttpHeaders;
}

/**
 * One exchange, as undici's dispatch handler. It settles once: resolved at the end of the body
 * (or at the head when streaming), rejected with a CallError; whatever happens afterwards on
 * the connection is dropped (or, when streaming, goes to the body stream).
 */
class Exchange implements AssignedHandler, Deadline {
  // The whole-call deadline's own fields (deadlines.ts).
  deadlineSweep = 0;
  deadlinePrev: Deadline | undefined = undefined;
  deadlineNext: Deadline | undefined = undefined;
  deadlineTimer: NodeJS.Timeout | undefined = undefined;
  deadlineWatched = false;
  private settled = false;
  /** The request was given a connected socket (undici's onConnect): from here on it may have been sent. */
  private connected = false;
  /** That socket had carried a request before. */
  private reused = false;
  private answered = false;
  private failure: CallError | undefined = undefined;
  private abortRequest: ((err?: Error) => void) | undefined = undefined;
  private connectTimer: NodeJS.Timeout | undefined = undefined;
  private statusCode = 0;
  private reason = '';
  private headers: IncomingHttpHeaders | undefined = undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  private decoder: Decoder | undefined = undefined;
  /** The raw body stream when streaming. */
  private source: Readable | undefined = undefined;
  private resumeBody: (() => void) | undefined = undefined;
  private bodyFailed: Error | undefined = undefined;
  private client: TrackedClient | undefined = undefined;
  /** Only with a signal. */
  private onAbort: (() => void) | undefined = undefined;

  constructor(
    private readonly target: WireTarget,
    private readonly wire: WireRequest,
    private readonly resolve: (value: WireResponse) => void,
    private readonly reject: (err: CallError) => void,
  ) {}

  start(): void {
    const wire = this.wire;
    const timeout = wire.timeout;
    if (timeout > 0) watchDeadline(this, timeout);
    if (wire.signal) {
      this.onAbort = () =>
        this.fail(new CallError('aborted', codes.SKT_BACKEND_CONNECTION(this.target.label, 'the call was aborted')));
      if (wire.signal.aborted) return this.onAbort();
      wire.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    const body = wire.body;
    if (
      body !== undefined &&
      typeof (body as Readable).on === 'function' &&
      typeof (body as Readable).pipe === 'function'
    ) {
      (body as Readable).once('error', (err: Error) => {
        this.bodyFailed = err;
      });
    }
    this.target.dispatcher.dispatch(
      {
        origin: this.target.origin,
        path: wire.path,
        method: wire.method as Dispatcher.HttpMethod,
        headers: wire.headers as Dispatcher.DispatchOptions['headers'],
        body: (body ?? null) as Dispatcher.DispatchOptions['body'],
      },
      this,
    );
  }

  // ---- settling ----------------------------------------------------------------------------

  private finish(): void {
    this.settled = true;
    if (this.deadlineWatched) clearDeadline(this);
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.onAbort !== undefined) this.wire.signal!.removeEventListener('abort', this.onAbort);
  }

  private succeed(value: WireResponse): void {
    if (this.settled) return;
    this.finish();
    this.resolve(value);
  }

  /** Ends the call with `err`, and the request with it (its connection is closed). */
  fail(err: CallError): void {
    if (this.settled) return;
    this.failure = err;
    this.finish();
    this.reject(err);
    // Not connected yet: onConnect aborts it when (if ever) it gets a socket.
    this.abortRequest?.(err);
  }

  /** The whole-call deadline passed. */
  timedOut(): void {
    const { wire, target } = this;
    this.fail(
      this.connected
        ? new CallError(
            'timeout',
            codes.SKT_BACKEND_TIMEOUT(`${wire.method} ${target.label}${wire.path}`, wire.timeout),
          )
        : new CallError(
            'connect',
            codes.SKT_BACKEND_CONNECTION(target.label, `no connection within ${wire.timeout} ms`),
          ),
    );
  }

  /** The connect timer ran out. */
  connectTimedOut(): void {
    this.connectTimer = undefined;
    this.fail(
      new CallError(
        'connect',
        codes.SKT_BACKEND_CONNECTION(this.target.label, `no connection within ${this.wire.connectTimeout} ms`),
      ),
    );
  }

  private responseError(why: string, cause?: unknown): CallError {
    return new CallError('response', codes.SKT_BACKEND_RESPONSE(this.target.label, why), cause);
  }

  // ---- undici's handler --------------------------------------------------------------------

  /** The pool gave the request to a connection: a fresh one must connect within connectTimeout. */
  assigned(client: TrackedClient): void {
    this.client = client;
    if (client.live || this.settled || this.connectTimer !== undefined) return;
    const { connectTimeout, timeout } = this.wire;
    if (connectTimeout > 0 && connectTimeout < (timeout || Infinity))
      this.connectTimer = setTimeout(onConnectTimeout, connectTimeout, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled && this.failure !== undefined) return abort(this.failure);
    this.abortRequest = abort;
    this.connected = true;
    if (this.connectTimer !== undefined) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    // undici writes the request right after this: count it on its connection.
    const client = this.client;
    if (client !== undefined) this.reused = client.sent++ > 0;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: the answer is still to come
    if (this.settled) return false;
    this.answered = true;
    this.statusCode = statusCode;
    this.reason = statusText;
    const headers = (this.headers = headersOf(raw));
    const wire = this.wire;
    const decoder = wire.method === 'HEAD' ? undefined : decoderFor(headers['content-encoding']);
    if (wire.stream) {
      this.resumeBody = resume;
      const source = (this.source = new Readable({
        read: () => this.resumeBody?.(),
        destroy: (err, callback) => {
          // The reader gave up before the end: close the connection rather than drain it.
          if (this.source !== undefined) this.abortRequest?.(err ?? undefined);
          callback(err);
        },
      }));
      let body: Readable = source;
      if (decoder) {
        body = source.pipe(decoder);
        source.on('error', (err) => decoder.destroy(err));
        // A reader that drops the decoded stream drops the connection's too.
        decoder.on('close', () => {
          if (!source.destroyed && !source.readableEnded) source.destroy();
        });
      }
      if (this.deadlineWatched) clearDeadline(this);
      this.succeed({ statusCode, reason: statusText, headers, content: undefined, body });
      return true;
    }
    if (decoder) {
      this.decoder = decoder;
      decoder.on('data', (chunk: Buffer) => this.collect(chunk));
      decoder.on('end', () => this.done());
      decoder.on('error', (err) => this.fail(this.responseError(err.message, err)));
      return true;
    }
    const declared = Number(headers['content-length']);
    if (declared > wire.maxResponseSize) {
      this.fail(this.responseError(`the body (${declared} bytes) is over ${wire.maxResponseSize} bytes`));
      return false;
    }
    return true;
  }

  private collect(chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.wire.maxResponseSize) {
      this.decoder?.destroy();
      this.fail(this.responseError(`the body is over ${this.wire.maxResponseSize} bytes`));
      return;
    }
    this.chunks.push(chunk);
  }

  private done(): void {
    const chunks = this.chunks;
    const content = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
    this.succeed({
      statusCode: this.statusCode,
      reason: this.reason,
      headers: this.headers!,
      content,
      body: undefined,
    });
  }

  onData(chunk: Buffer): boolean {
    const source = this.source;
    if (source !== undefined) return source.push(chunk);
    if (this.decoder !== undefined) {
      this.decoder.write(chunk);
      return true;
    }
    this.collect(chunk);
    return !this.settled;
  }

  onComplete(): void {
    const source = this.source;
    if (source !== undefined) {
      this.source = undefined;
      source.push(null);
      return;
    }
    if (this.decoder !== undefined) return void this.decoder.end();
    if (this.headers === undefined) return; // settled already, without an answer
    this.done();
  }

  onError(err: Error): void {
    const source = this.source;
    if (source !== undefined) {
      // The body broke while it was being read.
      this.source = undefined;
      source.destroy(this.responseError(err.message, err));
      return;
    }
    if (this.settled) return;
    this.fail(this.classify(err as NodeJS.ErrnoException));
  }

  private classify(err: NodeJS.ErrnoException): CallError {
    const label = this.target.label;
    const code = err.code ?? '';
    if (this.bodyFailed !== undefined) {
      return new CallError(
        'aborted',
        codes.SKT_BACKEND_CONNECTION(label, `the request body failed: ${this.bodyFailed.message}`),
        this.bodyFailed,
      );
    }
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED')
      return new CallError('request', codes.SKT_BACKEND_REQUEST(label, err.message), err);
    if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
      return new CallError('aborted', codes.SKT_BACKEND_CONNECTION(label, 'the connection pool was closed'), err);
    }
    if (this.answered) return this.responseError(err.message, err);
    const message = codes.SKT_BACKEND_CONNECTION(label, `${code ? code + ' ' : ''}${err.message}`);
    // Nothing was written yet: the member could not be reached (refused, DNS, TLS, connect timeout).
    if (!this.connected) return new CallError('connect', message, err);
    if (
      code.startsWith('HPE_') ||
      code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
      code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE'
    ) {
      return this.responseError(err.message, err);
    }
    if (resetCodes.has(code) || code === '') return new CallError(this.reused ? 'stale' : 'reset', message, err);
    return new CallError('reset', message, err);
  }
}

// Timer callbacks shared by every exchange (no closure per call).
const onConnectTimeout = (exchange: Exchange) => exchange.connectTimedOut();

/** Sends one request; rejects with a CallError whose `kind` says whether it may be retried. */
export function send(target: WireTarget, wire: WireRequest): Promise<WireResponse> {
  return new Promise<WireResponse>((resolve, reject) => new Exchange(target, wire, resolve, reject).start());
}
