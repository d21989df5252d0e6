// The members that the backend services add to every `was` (Was.prototype): the HTTP and RPC
// callers as lazy getters (built once per was, on first use: a request that calls no backend
// pays nothing), and the utilities tojson, fromjson, toxml, fromxml, log, traceback, status,
// getlu, setlu.
import { Kernel } from '../kernel.js';
import type { LogLevel } from '../log/logger.js';
import { Was } from '../was.js';
import { CallContext, type HttpBodyCaller, type HttpCaller, type RpcCaller } from './caller.js';
import { BackendServices } from './manager.js';
import { parseParams, serializeParams } from './xmlrpc.js';

declare module '../was.js' {
  interface Was {
    /** `await was.get(url, options)`; `was.get.lb('@alias/path')`, `was.get.map('@alias/path')`. */
    readonly get: HttpCaller;
    readonly delete: HttpCaller;
    readonly options: HttpCaller;
    readonly head: HttpCaller;
    /** `await was.post(url, data, options)`: data sent as a form (an object), or as is. */
    readonly post: HttpBodyCaller;
    readonly put: HttpBodyCaller;
    readonly patch: HttpBodyCaller;
    /** JSON variants: data sent as JSON, JSON accepted. */
    readonly getjson: HttpCaller;
    readonly deletejson: HttpCaller;
    readonly postjson: HttpBodyCaller;
    readonly putjson: HttpBodyCaller;
    readonly patchjson: HttpBodyCaller;
    /** XML variants: data sent as XML-RPC params (an object) or as is, XML accepted. */
    readonly getxml: HttpCaller;
    readonly deletexml: HttpCaller;
    readonly postxml: HttpBodyCaller;
    readonly putxml: HttpBodyCaller;
    readonly patchxml: HttpBodyCaller;
    /** XML-RPC: `await was.rpc('@search/rpc2').search(q)`; `.lb`, `.map`. */
    readonly rpc: RpcCaller;
    /** JSON-RPC 2.0: `await was.jsonrpc(url).method(...args)`; `.lb`, `.map`. */
    readonly jsonrpc: RpcCaller;
    /** The backend services of this was's kernel. */
    readonly services: BackendServices;
    tojson(value: unknown, space?: number): string;
    fromjson(text: string | Buffer): any;
    /** XML-RPC `<params>` of the values (Python's xmlrpc.client.dumps). */
    toxml(...values: unknown[]): string;
    /** The values of XML-RPC `<params>`, a methodCall or a methodResponse. */
    fromxml(xml: string | Buffer): unknown[];
    /** Writes to the app log: category 'info' (default), 'debug', 'warn', 'error', or any word (logged as info). */
    log(message: unknown, category?: string): void;
    /** Logs an error's stack to the app log with the transaction ids; returns the id written. */
    traceback(err?: unknown, id?: string): string;
    /** Status numbers of the backend services (aliases, members, result cache, last-updated keys). */
    status(): Record<string, unknown>;
    /** The latest last-updated time (ms) of the keys: give it as `useCache`. */
    getlu(...keys: string[]): number;
    /** Stamps a key as updated now; emits 'model-changed' (and 'model-changed:<key>') with the arguments. */
    setlu(key: string, ...args: unknown[]): number;
  }
}

const CONTEXT = Symbol('skitai.was.calls');
type WithContext = Was & { [CONTEXT]?: CallContext };

/** The call context of a was (built on first use). */
export function callContextOf(was: Was): CallContext {
  const w = was as WithContext;
  let ctx = w[CONTEXT];
  if (ctx === undefined) {
    ctx = new CallContext(servicesOf(was.kernel), was.req);
    Object.defineProperty(w, CONTEXT, { value: ctx, configurable: true });
  }
  return ctx;
}

/** The services of a kernel (built on first use), or of none for a kernel-less was. */
const detached = new WeakMap<object, BackendServices>();
export function servicesOf(kernel: Kernel | undefined): BackendServices {
  if (kernel instanceof Kernel) return kernel.services;
  const key = (kernel ?? detached) as object;
  let s = detached.get(key);
  if (s === undefined) detached.set(key, (s = new BackendServices()));
  return s;
}

function lazy<T>(name: string, build: (was: Was) => T): void {
  Object.defineProperty(Was.prototype, name, {
    configurable: true,
    enumerable: false,
    get(this: Was) {
      const value = build(this);
      Object.defineProperty(this, name, { value, configurable: true, enumerable: false, writable: true });
      return value;
    },
  });
}

function method(name: string, fn: (this: Was, ...args: any[]) => unknown): void {
  Object.defineProperty(Was.prototype, name, { value: fn, configurable: true, enumerable: false, writable: true });
}

const levels = new Set<string>(['debug', 'info', 'warn', 'error']);

function writeLog(was: Was, level: LogLevel, text: string): void {
  const logs = was.kernel instanceof Kernel ? was.kernel.logs : undefined;
  if (logs) logs.log('app', level, text);
  else process.stderr.write(`[${level}] ${text}\n`);
}

let installed = false;

/** Adds the members to Was.prototype (once; the package index does it when loaded). */
export function installWasMembers(): void {
  if (installed) return;
  installed = true;
  for (const m of ['get', 'delete', 'options', 'head'] as const) {
    const METHOD = m.toUpperCase();
    lazy(m, (w) => callContextOf(w).http(METHOD, 'plain'));
  }
  for (const m of ['post', 'put', 'patch'] as const) {
    const METHOD = m.toUpperCase();
    lazy(m, (w) => callContextOf(w).httpWithBody(METHOD, 'plain'));
  }
  for (const variant of ['json', 'xml'] as const) {
    for (const m of ['get', 'delete'] as const) lazy(m + variant, (w) => callContextOf(w).http(m.toUpperCase(), variant));
    for (const m of ['post', 'put', 'patch'] as const) lazy(m + variant, (w) => callContextOf(w).httpWithBody(m.toUpperCase(), variant));
  }
  lazy('rpc', (w) => callContextOf(w).rpc('xmlrpc'));
  lazy('jsonrpc', (w) => callContextOf(w).rpc('jsonrpc'));
  lazy('services', (w) => servicesOf(w.kernel));

  method('tojson', (value: unknown, space?: number) => JSON.stringify(value, null, space));
  method('fromjson', (text: string | Buffer) => JSON.parse(typeof text === 'string' ? text : text.toString('utf8')));
  method('toxml', (...values: unknown[]) => serializeParams(values));
  method('fromxml', (xml: string | Buffer) => parseParams(xml));
  method('log', function (this: Was, message: unknown, category = 'info') {
    const text = typeof message === 'string' ? message : message instanceof Error ? (message.stack ?? message.message) : JSON.stringify(message);
    if (levels.has(category)) writeLog(this, category as LogLevel, text);
    else writeLog(this, 'info', `[${category}] ${text}`);
  });
  method('traceback', function (this: Was, err?: unknown, id?: string) {
    const req = this.req as { gtxnId?: string; ltxnId?: string } | undefined;
    const tag = id ?? (req?.gtxnId ? `${req.gtxnId}/${req.ltxnId}` : 'no-txn');
    const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : err === undefined ? new Error('traceback').stack ?? '' : String(err);
    writeLog(this, 'error', `[${tag}] ${text}`);
    return tag;
  });
  method('status', function (this: Was) {
    return servicesOf(this.kernel).status();
  });
  method('getlu', function (this: Was, ...keys: string[]) {
    return servicesOf(this.kernel).getlu(...keys);
  });
  method('setlu', function (this: Was, key: string, ...args: unknown[]) {
    return servicesOf(this.kernel).setlu(key, ...args);
  });
}
