// The result of a `was` call (Skitai's response object with status and cache()).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { SkitaiError } from '@skitai/kernel';
import { codes } from './errors.js';
import type { ResultCache } from './rcache.js';

/** Skitai's request states: 0 pending, 1 timeout, 2 error, 3 done. */
export const STATUS = Object.freeze({ pending: 0, timeout: 1, error: 2, done: 3 } as const);
export type ResultStatus = keyof typeof STATUS;

export interface ResultInit {
  status: ResultStatus;
  url: string;
  method: string;
  statusCode?: number;
  reason?: string;
  headers?: IncomingHttpHeaders;
  content?: Buffer;
  body?: IncomingMessage | NodeJS.ReadableStream;
  data?: unknown;
  error?: Error;
  member?: string;
  elapsed?: number;
  ltxnId?: string;
}

/** Where a result goes when `cache(seconds)` is called on it (the key is computed on demand). */
export interface CacheSlot {
  cache: ResultCache;
  readonly key: string;
}

export class Result {
  /** 'done' once an answer came (whatever its HTTP status), 'timeout', or 'error'. */
  readonly status: ResultStatus;
  /** The HTTP status code (0 when no answer came). */
  readonly statusCode: number;
  readonly reason: string;
  readonly headers: IncomingHttpHeaders;
  /** The body parsed by content type: JSON, an XML-RPC value, text for text/*, else a Buffer. */
  readonly data: unknown;
  /** The raw body (undefined when streamed). */
  readonly content: Buffer | undefined;
  /** With `stream: true`: the response body to read. */
  readonly body: IncomingMessage | NodeJS.ReadableStream | undefined;
  /** Why the status is 'timeout' or 'error' (an RpcFault for an RPC fault). */
  readonly error: Error | undefined;
  readonly url: string;
  readonly method: string;
  /** The member that answered: '@alias#0 host:port', or host:port. */
  readonly member: string | undefined;
  /** Milliseconds the call took. */
  readonly elapsed: number;
  /** The X-Ltxn-Id the call carried. */
  readonly ltxnId: string | undefined;
  /** True when this came from the result cache. */
  cached = false;
  /** @internal */
  slot: CacheSlot | undefined = undefined;

  constructor(init: ResultInit) {
    this.status = init.status;
    this.statusCode = init.statusCode ?? 0;
    this.reason = init.reason ?? '';
    this.headers = init.headers ?? {};
    this.data = init.data;
    this.content = init.content;
    this.body = init.body;
    this.error = init.error;
    this.url = init.url;
    this.method = init.method;
    this.member = init.member;
    this.elapsed = init.elapsed ?? 0;
    this.ltxnId = init.ltxnId;
  }

  /** Skitai's number for the status: 3 done, 1 timeout, 2 error. */
  get code(): number {
    return STATUS[this.status];
  }

  /** Done, with a status code under 400, and no RPC fault. */
  get ok(): boolean {
    return this.status === 'done' && this.error === undefined && this.statusCode < 400;
  }

  get text(): string {
    return this.content === undefined ? '' : this.content.toString('utf8');
  }

  /** The error `raiseForStatus()` would throw, or undefined when the result is ok. */
  get failure(): Error | undefined {
    if (this.error) return this.error;
    if (this.status !== 'done') return codes.SKT_BACKEND_RESPONSE(this.url, this.status);
    if (this.statusCode >= 400) {
      const err = codes.SKT_BACKEND_STATUS(`${this.method} ${this.url}`, this.statusCode, this.reason);
      return Object.assign(err, { result: this });
    }
    return undefined;
  }

  /** Throws when the call failed, timed out, faulted or got a status of 400 or more. */
  raiseForStatus(): this {
    const failure = this.failure;
    if (failure) throw failure;
    return this;
  }

  /**
   * Keeps this result in the result cache for `seconds`: later calls of the same method, URL
   * and body get it (unless they ask `useCache: false`). Only successful results are cached.
   */
  cache(seconds: number): this {
    if (this.slot === undefined || !this.ok || this.body !== undefined || !(seconds > 0)) return this;
    this.slot.cache.set(this.slot.key, this, seconds);
    return this;
  }

  /** A copy marked as coming from the cache (of the same class: plugins' results keep their helpers). */
  fromCache(): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this);
    copy.cached = true;
    return copy;
  }
}

/** The results of `.map`, one per member, in member order. */
export class Results extends Array<Result> {
  /** @internal */
  slot: CacheSlot | undefined = undefined;
  cached = false;

  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  static wrap(items: Result[]): Results {
    const r = new Results();
    r.push(...items);
    return r;
  }

  get data(): unknown[] {
    return this.map((r) => r.data);
  }

  get statusCodes(): number[] {
    return this.map((r) => r.statusCode);
  }

  get ok(): boolean {
    return this.length > 0 && this.every((r) => r.ok);
  }

  /** Throws the first member's failure. */
  raiseForStatus(): this {
    for (const r of this) r.raiseForStatus();
    return this;
  }

  /** Caches the whole set, only when every member answered successfully. */
  cache(seconds: number): this {
    if (this.slot === undefined || !this.ok || this.some((r) => r.body !== undefined) || !(seconds > 0)) return this;
    this.slot.cache.set(this.slot.key, this, seconds);
    return this;
  }

  fromCache(): Results {
    const copy = Results.wrap(this.map((r) => r.fromCache()));
    copy.cached = true;
    return copy;
  }
}

export function isSkitaiError(err: unknown, code: string): err is SkitaiError {
  return err instanceof SkitaiError && err.code === code;
}
