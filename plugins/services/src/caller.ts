// `was.get/post/...`, `was.rpc`, `was.jsonrpc` and their `.lb` / `.map`: one call context per
// `was` (per request), holding the transaction id sequence of that request.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type http from 'node:http';
import { codes } from './errors.js';
import { ensureTxn, nextGlobalId, traceHeaders } from '@skitai/kernel';
import type { SkitaiRequest } from '@skitai/kernel';
import type { Alias, HttpPool, Member } from './alias.js';
import {
  CallError,
  isReplayable,
  send,
  type Body,
  type WireRequest,
  type WireResponse,
  type WireTarget,
} from './http-client.js';
import type { BackendServices } from './manager.js';
import type { ResultCache } from './rcache.js';
import type { HttpCacheAnswer, HttpResponseCache } from './response-cache.js';
import { Result, Results, type CacheSlot, type ResultStatus } from './result.js';
import { parseMethodResponse, RpcFault, serializeMethodCall, serializeParams } from '@skitai/xmlrpc';
import { Buffer } from 'node:buffer';

export interface CallOptions {
  /** Request headers (X-Gtxn-Id and X-Ltxn-Id are added). */
  headers?: http.OutgoingHttpHeaders;
  /** Query parameters appended to the URL. */
  params?:
    Record<string, string | number | boolean | readonly (string | number | boolean)[] | undefined> | URLSearchParams;
  /** For the whole call, ms (default `services.defaults.timeout`, 10 s): past it the status is 'timeout'. */
  timeout?: number;
  /** For the connection, ms (default 3 s): past it the member counts as unreachable and `.lb` tries another. */
  connectTimeout?: number;
  /** Read the result cache: true (default), false, or a last-updated time (`was.getlu(...)`): older entries are dropped. */
  useCache?: boolean | number;
  /** Throw instead of resolving with a failed result (as `raiseForStatus()`). */
  raise?: boolean;
  /** Follow redirects (true: up to 5; a number: up to that many). Default false. */
  followRedirects?: boolean | number;
  /** Resolve at the response head, with `result.body` to read (large bodies). */
  stream?: boolean;
  /** Most response bytes buffered (default 64 MiB). */
  maxResponseSize?: number;
  /** HTTP basic auth ('user:password' or an object); members' own credentials are used otherwise. */
  auth?: string | { user: string; password: string };
  /** The request body's content type (else set by the variant: form, JSON or XML). */
  contentType?: string;
  /** Fail over even a non-idempotent call (POST) when its connection broke after sending. */
  retry?: boolean;
  signal?: AbortSignal;
}

/** `was.get(url, options)`, `was.get.lb(...)`, `was.get.map(...)`. */
export interface HttpCaller {
  (url: string, options?: CallOptions): Promise<Result>;
  lb(url: string, options?: CallOptions): Promise<Result>;
  map(url: string, options?: CallOptions): Promise<Results>;
}

/** `was.post(url, data, options)` and the other methods with a body. */
export interface HttpBodyCaller {
  (url: string, data?: unknown, options?: CallOptions): Promise<Result>;
  lb(url: string, data?: unknown, options?: CallOptions): Promise<Result>;
  map(url: string, data?: unknown, options?: CallOptions): Promise<Results>;
}

/** A remote method: call it, or reach a dotted name (`proxy.system.listMethods()`). */
export type RpcMethod<R> = ((...args: any[]) => Promise<R>) & { readonly [name: string]: RpcMethod<R> };
export type RpcProxy<R = Result> = { readonly [name: string]: RpcMethod<R> };

/** `was.rpc(url).method(...args)`, `was.rpc.lb(url)`, `was.rpc.map(url)`; the same for `jsonrpc`. */
export interface RpcCaller {
  (url: string, options?: CallOptions): RpcProxy<Result>;
  lb(url: string, options?: CallOptions): RpcProxy<Result>;
  map(url: string, options?: CallOptions): RpcProxy<Results>;
}

export type Variant = 'plain' | 'json' | 'xml';
type Mode = 'one' | 'lb' | 'map';
type Encoding = 'form' | 'json' | 'xml' | 'xmlrpc' | 'jsonrpc';

/** What a request carries for its transaction ids: a SkitaiRequest, or none outside requests. */
export interface TxnCarrier {
  gtxnId: string;
  ltxnId: string;
  headers: http.IncomingHttpHeaders;
}

interface Resolved {
  alias: Alias | undefined;
  /** For a plain URL. */
  origin: WireTarget | undefined;
  /** Path and query. */
  path: string;
  /** '@api' or 'http://host:port', for messages and cache keys. */
  base: string;
  /** Credentials written in a plain URL (http://user:pw@host/). */
  auth?: { user: string; password: string };
}

interface Prepared {
  method: string;
  resolved: Resolved;
  body: Body | undefined;
  headers: http.OutgoingHttpHeaders;
  encoding: Encoding;
  options: CallOptions;
  mode: Mode;
  /** What identifies the body in a cache key (a JSON-RPC call without its id). */
  cacheBody?: string;
  /** True when `headers` is empty (no body, no options.headers, no auth). */
  noHeaders: boolean;
}

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const redirectCodes = new Set([301, 302, 303, 307, 308]);
let jsonRpcId = 0;
/** The options of a call given none (never written to). */
const noOptions: CallOptions = Object.freeze({});

/** A call's place in the result cache: the key is made only when the cache is used. */
class CallSlot implements CacheSlot {
  private computed: string | undefined = undefined;
  constructor(
    readonly cache: ResultCache,
    private readonly prepared: Prepared,
  ) {}
  get key(): string {
    if (this.computed !== undefined) return this.computed;
    const p = this.prepared;
    const { resolved } = p;
    return (this.computed = `${p.mode === 'map' ? 'map' : 'one'} ${p.method} ${resolved.base}${resolved.path}\n${JSON.stringify(p.headers)}\n${p.cacheBody ?? bodyKey(p.body)}`);
  }
}

function bodyKey(body: Body | undefined): string {
  if (body === undefined) return '';
  const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body as Uint8Array);
  return buf.length <= 256 ? buf.toString('latin1') : createHash('sha1').update(buf).digest('base64');
}

function appendParams(path: string, params: CallOptions['params']): string {
  if (!params) return path;
  let search: URLSearchParams;
  if (params instanceof URLSearchParams) {
    search = params;
  } else {
    search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) search.append(k, String(item));
      else search.append(k, String(v));
    }
  }
  const qs = search.toString();
  if (qs === '') return path;
  return path + (path.includes('?') ? '&' : '?') + qs;
}

function formEncode(data: unknown): string {
  if (data instanceof URLSearchParams) return data.toString();
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) search.append(k, String(item));
    else search.append(k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  }
  return search.toString();
}

function isStreamLike(data: unknown): boolean {
  return (
    typeof data === 'object' &&
    data !== null &&
    !(data instanceof Uint8Array) &&
    (typeof (data as { pipe?: unknown }).pipe === 'function' ||
      typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

function encodeBody(
  data: unknown,
  encoding: Encoding,
  headers: http.OutgoingHttpHeaders,
  contentType: string | undefined,
): Body | undefined {
  if (data === undefined) return undefined;
  const set = (type: string) => {
    if (headers['content-type'] === undefined) headers['content-type'] = contentType ?? type;
  };
  if (typeof data === 'string') {
    set(
      encoding === 'json' ? 'application/json' : encoding === 'xml' ? 'text/xml' : 'application/x-www-form-urlencoded',
    );
    return data;
  }
  if (data instanceof Uint8Array) {
    set(encoding === 'json' ? 'application/json' : encoding === 'xml' ? 'text/xml' : 'application/octet-stream');
    return data;
  }
  if (isStreamLike(data)) {
    set(encoding === 'json' ? 'application/json' : encoding === 'xml' ? 'text/xml' : 'application/octet-stream');
    return data as Body;
  }
  switch (encoding) {
    case 'json':
      set('application/json');
      return JSON.stringify(data);
    case 'xml':
      set('text/xml');
      return `<?xml version="1.0"?>\n${serializeParams(Array.isArray(data) ? data : [data])}\n`;
    default:
      set('application/x-www-form-urlencoded');
      return formEncode(data);
  }
}

/** The body parsed by its content type; throws on malformed JSON or XML-RPC (a fault is an RpcFault). */
export function parseContent(headers: http.IncomingHttpHeaders, content: Buffer | undefined): unknown {
  if (content === undefined) return undefined;
  const type = (headers['content-type'] ?? '').toLowerCase();
  if (content.length === 0) return type.startsWith('text/') ? '' : undefined;
  if (type.includes('json')) return JSON.parse(content.toString('utf8'));
  if (type.includes('xml')) {
    const text = content.toString('utf8');
    return /^\s*(<\?xml[^>]*\?>\s*)?<methodResponse[\s>]/.test(text) ? parseMethodResponse(text) : text;
  }
  if (type.startsWith('text/') || type.includes('javascript') || type.includes('x-www-form-urlencoded'))
    return content.toString('utf8');
  return content;
}

interface PlainUrl {
  origin: WireTarget;
  path: string;
  base: string;
  auth: { user: string; password: string } | undefined;
}

// Plain URLs as parsed last (a handler calls the same few URLs again and again): a URL parse
// is a good part of a call's own cost. Cleared whole when full.
const plainUrls = new Map<string, PlainUrl>();
const PLAIN_URLS_MAX = 256;

function parsePlainUrl(url: string, agent: WireTarget['dispatcher']): PlainUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw codes.SKT_BACKEND_URL(url, 'a URL is "@alias/path" or "http(s)://host/path"');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw codes.SKT_BACKEND_URL(url, `${parsed.protocol} is not http: or https:`);
  const ssl = parsed.protocol === 'https:';
  const auth = parsed.username
    ? { user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
    : undefined;
  return {
    origin: { ssl, origin: parsed.origin, dispatcher: agent, label: parsed.host },
    path: parsed.pathname + parsed.search,
    base: parsed.origin,
    auth,
  };
}

function rpcProxy<R>(invoke: (method: string, args: unknown[]) => Promise<R>, path: string): any {
  return new Proxy(function rpc() {}, {
    get(_target, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      return rpcProxy(invoke, path === '' ? prop : `${path}.${prop}`);
    },
    apply(_target, _this, args) {
      if (path === '') throw codes.SKT_BACKEND_URL('rpc()', 'call a method on it: was.rpc(url).method(...args)');
      return invoke(path, args);
    },
  });
}

/**
 * The calls of one `was` (one request). Its callers are built by `was`'s lazy members, once per
 * request each (the kernel keeps a member's value on its `was`).
 */
export class CallContext {
  /** Global id of the calls made outside any request (made on the first one). */
  private ownGtxn = '';
  /** Calls made so far: the local ids' sequence. */
  private calls = 0;

  constructor(
    readonly services: BackendServices,
    readonly req?: TxnCarrier,
  ) {}

  /** The next transaction ids: the global one unchanged, the local one `ltxn + 1000 + n` (depth first digit). */
  nextTxn(): [gtxn: string, ltxn: string] {
    const req = this.req as (TxnCarrier & Partial<SkitaiRequest>) | undefined;
    const n = ++this.calls;
    if (req === undefined) {
      if (this.ownGtxn === '') this.ownGtxn = nextGlobalId();
      return [this.ownGtxn, String(2000 + n)];
    }
    if (typeof req.gtxnId !== 'string' || typeof req.ltxnId !== 'string') {
      req.gtxnId = '';
      req.ltxnId = '';
    }
    if (req.gtxnId === '') ensureTxn(req as SkitaiRequest);
    const base = Number.parseInt(req.ltxnId, 10);
    return [req.gtxnId, String((Number.isFinite(base) ? base : 1000) + 1000 + n)];
  }

  /** `was.get`, `was.getjson` ...: (url, options). */
  http(method: string, variant: Variant = 'plain'): HttpCaller {
    const encoding: Encoding = variant === 'plain' ? 'form' : variant;
    // Plain stores on a fresh function (not Object.assign): the same hidden class each time.
    const caller = ((url: string, options?: CallOptions) =>
      this.request(method, url, undefined, encoding, variant, options ?? noOptions, 'one')) as HttpCaller;
    caller.lb = (url, options) => this.request(method, url, undefined, encoding, variant, options ?? noOptions, 'lb');
    caller.map = (url, options) => this.request(method, url, undefined, encoding, variant, options ?? noOptions, 'map');
    return caller;
  }

  /** `was.post`, `was.postjson` ...: (url, data, options). */
  httpWithBody(method: string, variant: Variant = 'plain'): HttpBodyCaller {
    const encoding: Encoding = variant === 'plain' ? 'form' : variant;
    const caller = ((url: string, data?: unknown, options?: CallOptions) =>
      this.request(method, url, data, encoding, variant, options ?? noOptions, 'one')) as HttpBodyCaller;
    caller.lb = (url, data, options) => this.request(method, url, data, encoding, variant, options ?? noOptions, 'lb');
    caller.map = (url, data, options) =>
      this.request(method, url, data, encoding, variant, options ?? noOptions, 'map');
    return caller;
  }

  /** `was.rpc` (XML-RPC) or `was.jsonrpc`. */
  rpc(kind: 'xmlrpc' | 'jsonrpc'): RpcCaller {
    const make = (mode: Mode) => (url: string, options?: CallOptions) =>
      rpcProxy((method, args) => {
        let body: string;
        if (kind === 'xmlrpc') {
          body = serializeMethodCall(method, args);
        } else {
          jsonRpcId = (jsonRpcId + 1) % Number.MAX_SAFE_INTEGER;
          body = JSON.stringify({ jsonrpc: '2.0', method, params: args, id: jsonRpcId });
        }
        return this.request(
          'POST',
          url,
          body,
          kind,
          'plain',
          options ?? {},
          mode,
          kind === 'jsonrpc' ? JSON.stringify([method, args]) : undefined,
        );
      }, '');
    return Object.assign(make('one'), { lb: make('lb'), map: make('map') }) as RpcCaller;
  }

  // ---- the call ------------------------------------------------------------------------

  private resolve(url: string, options: CallOptions): Resolved {
    if (typeof url !== 'string' || url === '')
      throw codes.SKT_BACKEND_URL(url, 'a URL is "@alias/path" or "http(s)://host/path"');
    if (url.charCodeAt(0) === 64 /* @ */) {
      let end = url.length;
      for (let i = 1; i < url.length; i++) {
        const c = url.charCodeAt(i);
        if (c === 47 /* / */ || c === 63 /* ? */) {
          end = i;
          break;
        }
      }
      const name = url.slice(0, end);
      const alias = this.services.getAlias(name);
      if (alias.definition.protocol !== 'http') throw codes.SKT_ALIAS_WRONG_TYPE(name, alias.type, 'http or https');
      let path = url.slice(end);
      if (path === '' || path[0] === '?') path = '/' + path;
      return { alias, origin: undefined, path: appendParams(path, options.params), base: name };
    }
    let plain = plainUrls.get(url);
    const agent = this.services.sharedAgent();
    if (plain === undefined || plain.origin.dispatcher !== agent) {
      plain = parsePlainUrl(url, agent);
      if (plainUrls.size >= PLAIN_URLS_MAX) plainUrls.clear();
      plainUrls.set(url, plain);
    }
    return {
      alias: undefined,
      origin: plain.origin,
      path: appendParams(plain.path, options.params),
      base: plain.base,
      auth: plain.auth,
    };
  }

  private async request(
    method: string,
    url: string,
    data: unknown,
    encoding: Encoding,
    variant: Variant,
    options: CallOptions,
    mode: Mode,
    cacheBody?: string,
  ): Promise<any> {
    let prepared: Prepared;
    try {
      prepared = this.prepare(method, url, data, encoding, variant, options, mode);
      prepared.cacheBody = cacheBody;
    } catch (err) {
      if (options.raise) throw err;
      return new Result({ status: 'error', url, method, error: err as Error });
    }
    const { resolved } = prepared;
    let slot: CacheSlot | undefined;
    if (isReplayable(prepared.body)) {
      const cache = this.services.rcache;
      slot = new CallSlot(cache, prepared);
      const useCache = options.useCache ?? true;
      if (useCache !== false && cache.size > 0) {
        const hit = cache.get(slot.key, typeof useCache === 'number' ? useCache : 0) as Result | Results | undefined;
        if (hit !== undefined) return hit.fromCache();
      }
      if (useCache !== false && cache.hasShared) {
        const hit = (await cache.getShared(slot.key, typeof useCache === 'number' ? useCache : 0)) as
          Result | Results | undefined;
        if (hit !== undefined) return hit.fromCache();
      }
    }
    let result: Result | Results;
    if (mode === 'map') {
      if (resolved.alias === undefined) {
        result = Results.wrap([await this.one(prepared)]);
      } else {
        const txns = resolved.alias.members.map(() => this.nextTxn());
        const settled = await resolved.alias.map((member) => this.attempt(prepared, member, txns[member.index]!), {
          isConnectionError: (err) =>
            err instanceof CallError && (err.kind === 'connect' || err.kind === 'reset' || err.kind === 'stale'),
        });
        result = Results.wrap(
          settled.map((s, i) =>
            s.status === 'fulfilled'
              ? s.value
              : this.failed(prepared, s.reason, resolved.alias!.members[i]!.label, txns[i]![1], 0),
          ),
        );
      }
      result.slot = slot;
      if (options.raise) result.raiseForStatus();
      return result;
    }
    const responseCache = this.services.responseCache;
    result =
      responseCache !== undefined && options.stream !== true && isReplayable(prepared.body)
        ? await this.viaResponseCache(responseCache, prepared)
        : await this.one(prepared);
    const follow =
      options.followRedirects === true ? 5 : typeof options.followRedirects === 'number' ? options.followRedirects : 0;
    if (follow > 0 && redirectCodes.has(result.statusCode) && typeof result.headers.location === 'string') {
      return this.redirect(prepared, result, follow, url);
    }
    result.slot = slot;
    if (options.raise) result.raiseForStatus();
    return result;
  }

  /** One call through the HTTP response cache: a stored answer, or the call with what the cache adds to it. */
  private async viaResponseCache(cache: HttpResponseCache, prepared: Prepared): Promise<Result> {
    const { resolved } = prepared;
    const started = performance.now();
    const found = await cache.lookup({
      method: prepared.method,
      base: resolved.base,
      path: resolved.path,
      headers: prepared.headers,
    });
    if (found === undefined) return this.one(prepared);
    if ('hit' in found) {
      const hit = found.hit;
      return this.answered(prepared, { ...hit, body: undefined }, `${resolved.base} (cache)`, '', started);
    }
    // The ticket's headers (If-None-Match ...) make the call one with headers of its own.
    const sent =
      found.headers === undefined
        ? prepared
        : { ...prepared, headers: { ...prepared.headers, ...found.headers }, noHeaders: false };
    let result: Result;
    try {
      result = await this.one(sent);
    } catch (err) {
      found.failed();
      throw err;
    }
    if (result.statusCode === 0 || result.content === undefined) {
      found.failed();
      return result;
    }
    const given: HttpCacheAnswer = {
      statusCode: result.statusCode,
      reason: result.reason,
      headers: result.headers,
      content: result.content,
    };
    const answer = found.answered(given);
    if (answer === given) return result;
    return this.answered(
      prepared,
      { ...answer, body: undefined },
      result.member ?? resolved.base,
      result.ltxnId ?? '',
      started,
    );
  }

  private async redirect(prepared: Prepared, result: Result, follow: number, url: string): Promise<Result> {
    const { resolved } = prepared;
    const location = result.headers.location as string;
    // A relative Location on an alias stays on the alias (and its balancer).
    const base = resolved.alias ? `http://alias.invalid${resolved.path}` : `${resolved.base}${resolved.path}`;
    const next = new URL(location, base);
    const target =
      resolved.alias && next.host === 'alias.invalid' ? `${resolved.base}${next.pathname}${next.search}` : next.href;
    const toGet =
      result.statusCode === 303 ||
      ((result.statusCode === 301 || result.statusCode === 302) && prepared.method === 'POST');
    const body = toGet ? undefined : prepared.body;
    if (body !== undefined && !isReplayable(body)) return result;
    const options: CallOptions = { ...prepared.options, params: undefined, followRedirects: follow - 1, raise: false };
    const r: Result = await this.request(
      toGet ? 'GET' : prepared.method,
      target,
      body,
      prepared.encoding ?? 'form',
      'plain',
      options,
      'one',
    );
    if (follow - 1 === 0 && redirectCodes.has(r.statusCode) && typeof r.headers.location === 'string') {
      const error = codes.SKT_BACKEND_REDIRECTS(url, follow);
      const failed = new Result({
        status: 'error',
        url: r.url,
        method: r.method,
        statusCode: r.statusCode,
        reason: r.reason,
        headers: r.headers,
        content: r.content,
        error,
        member: r.member,
        elapsed: r.elapsed,
        ltxnId: r.ltxnId,
      });
      if (prepared.options.raise) throw error;
      return failed;
    }
    if (prepared.options.raise) r.raiseForStatus();
    return r;
  }

  private prepare(
    method: string,
    url: string,
    data: unknown,
    encoding: Encoding,
    variant: Variant,
    options: CallOptions,
    mode: Mode,
  ): Prepared {
    const resolved = this.resolve(url, options);
    const headers: http.OutgoingHttpHeaders = {};
    let noHeaders = data === undefined && encoding !== 'xmlrpc' && encoding !== 'jsonrpc' && variant === 'plain';
    if (options.headers)
      for (const [k, v] of Object.entries(options.headers)) {
        if (v === undefined) continue;
        headers[k.toLowerCase()] = v;
        noHeaders = false;
      }
    let body: Body | undefined;
    switch (encoding) {
      case 'xmlrpc':
        headers['content-type'] ??= 'text/xml';
        headers.accept ??= 'text/xml';
        body = data as string;
        break;
      case 'jsonrpc':
        headers['content-type'] ??= 'application/json';
        headers.accept ??= 'application/json';
        body = data as string;
        break;
      default:
        body = encodeBody(data, encoding, headers, options.contentType);
        if (variant === 'json') headers.accept ??= 'application/json';
        else if (variant === 'xml') headers.accept ??= 'text/xml';
    }
    if (typeof body === 'string') headers['content-length'] = Buffer.byteLength(body);
    else if (body instanceof Uint8Array) headers['content-length'] = body.byteLength;
    const auth = options.auth ?? resolved.auth;
    if (auth && headers.authorization === undefined) {
      const a = auth;
      const pair = typeof a === 'string' ? a : `${a.user}:${a.password}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      noHeaders = false;
    }
    return { method, resolved, body, headers, encoding, options, mode, cacheBody: undefined, noHeaders };
  }

  /** One logical call: on an alias, `.lb` with fail-over; on a URL, the shared keep-alive agent. */
  private async one(prepared: Prepared): Promise<Result> {
    const txn = this.nextTxn();
    const alias = prepared.resolved.alias;
    const started = performance.now();
    if (alias === undefined) {
      try {
        return await this.attempt(prepared, undefined, txn, started);
      } catch (err) {
        return this.failed(prepared, err, prepared.resolved.origin!.label, txn[1], started);
      }
    }
    const retryAny = prepared.options.retry === true || idempotent.has(prepared.method);
    const replayable = isReplayable(prepared.body);
    try {
      return await alias.lb((member) => this.attempt(prepared, member, txn), {
        isConnectionError: (err) =>
          replayable &&
          err instanceof CallError &&
          (err.kind === 'connect' || ((err.kind === 'reset' || err.kind === 'stale') && retryAny)),
      });
    } catch (err) {
      return this.failed(prepared, err, alias.name, txn[1], started);
    }
  }

  /** One member (or origin): a stale kept-alive socket is retried once on a fresh connection. */
  private async attempt(
    prepared: Prepared,
    member: Member | undefined,
    txn: [string, string],
    /** When the call started, if the caller just read the clock. */
    started = performance.now(),
  ): Promise<Result> {
    const target = member === undefined ? prepared.resolved.origin! : member.getPool<HttpPool>(this.services).target;
    const trace = traceHeaders(this.req as SkitaiRequest | undefined, txn[0], txn[1]);
    let headers: WireRequest['headers'];
    if (prepared.noHeaders && trace.tracestate === undefined && member?.user === undefined) {
      // The common call (no headers of its own): undici's flat name/value list, which it reads
      // as is (an object costs it an Object.keys array per call).
      headers = ['traceparent', trace.traceparent, 'x-gtxn-id', txn[0], 'x-ltxn-id', txn[1]];
    } else {
      const all: http.OutgoingHttpHeaders = { ...trace, ...prepared.headers, 'x-gtxn-id': txn[0], 'x-ltxn-id': txn[1] };
      if (member !== undefined && member.user !== undefined && all.authorization === undefined) {
        all.authorization = `Basic ${Buffer.from(`${member.user}:${member.password ?? ''}`).toString('base64')}`;
      }
      headers = all;
    }
    const defaults = this.services.defaults;
    const options = prepared.options;
    const wire: WireRequest = {
      method: prepared.method,
      path: prepared.resolved.path,
      headers,
      body: prepared.body,
      timeout: options.timeout ?? defaults.timeout,
      connectTimeout: options.connectTimeout ?? defaults.connectTimeout,
      stream: options.stream === true,
      maxResponseSize: options.maxResponseSize ?? defaults.maxResponseSize,
      signal: options.signal,
    };
    let response: WireResponse;
    try {
      response = await send(target, wire);
    } catch (err) {
      if (!(err instanceof CallError) || err.kind !== 'stale' || !isReplayable(prepared.body)) throw err;
      response = await send(target, wire);
    }
    return this.answered(prepared, response, target.label, txn[1], started);
  }

  private answered(
    prepared: Prepared,
    response: WireResponse,
    member: string,
    ltxnId: string,
    started: number,
  ): Result {
    const { resolved, method } = prepared;
    const url = `${resolved.base}${resolved.path}`;
    let status: ResultStatus = 'done';
    let data: unknown;
    let error: Error | undefined;
    const encoding = prepared.encoding;
    try {
      if (response.content !== undefined) {
        if (encoding === 'xmlrpc') {
          if (response.statusCode !== 200)
            throw codes.SKT_BACKEND_STATUS(`XML-RPC ${url}`, response.statusCode, response.reason);
          data = parseMethodResponse(response.content);
        } else if (encoding === 'jsonrpc') {
          const type = String(response.headers['content-type'] ?? '');
          if (!type.includes('json'))
            throw codes.SKT_BACKEND_STATUS(`JSON-RPC ${url}`, response.statusCode, response.reason);
          const reply = JSON.parse(response.content.toString('utf8')) as {
            result?: unknown;
            error?: { code?: number; message?: string; data?: unknown };
          };
          if (reply === null || typeof reply !== 'object')
            throw codes.SKT_BACKEND_RESPONSE(url, 'a JSON-RPC reply is an object');
          if (reply.error)
            throw new RpcFault(reply.error.code ?? 0, String(reply.error.message ?? ''), reply.error.data);
          data = reply.result;
        } else {
          data = parseContent(response.headers, response.content);
        }
      }
    } catch (err) {
      status = 'error';
      error =
        err instanceof RpcFault || (err as { code?: string }).code?.startsWith?.('SKT_')
          ? (err as Error)
          : codes.SKT_BACKEND_RESPONSE(url, (err as Error).message);
    }
    return new Result({
      status,
      url,
      method,
      statusCode: response.statusCode,
      reason: response.reason,
      headers: response.headers,
      content: response.content,
      body: response.body,
      data,
      error,
      member,
      elapsed: performance.now() - started,
      ltxnId,
    });
  }

  private failed(prepared: Prepared, err: unknown, member: string, ltxnId: string, started: number): Result {
    const { resolved, method } = prepared;
    const error = err instanceof Error ? err : new Error(String(err));
    const status: ResultStatus = err instanceof CallError && err.kind === 'timeout' ? 'timeout' : 'error';
    return new Result({
      status,
      url: `${resolved.base}${resolved.path}`,
      method,
      error,
      member,
      elapsed: started ? performance.now() - started : 0,
      ltxnId,
    });
  }
}
