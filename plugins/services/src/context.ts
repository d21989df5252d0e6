// `import { was } from '@skitai/kernel'` for plain Node handlers (Express, Koa's callback ...),
// as Skitai's `from skitai import was` for Flask: a proxy to the `was` of the request being
// handled, found through AsyncLocalStorage.
//
// Cost: on Node 20 AsyncLocalStorage runs on async hooks, which slow every promise of the
// process once a store has been entered. So nothing here runs unless asked: the kernel's
// `wrapHandler` tap wraps mounts in `als.run(...)` only when the backend services were set up
// before start (kernel.alias, setBackendKeepAlive, setMaxRcache, addlu, or enableWasContext).
// The `was` object itself is built only when the handler first touches the proxy.
import { AsyncLocalStorage } from 'node:async_hooks';
import { codes } from './errors.js';
import { CallContext } from './caller.js';
import type { BackendServices } from './manager.js';
import type { Kernel } from '@skitai/kernel';
import type { SkitaiRequest } from '@skitai/kernel';
import type { SkitaiResponse } from '@skitai/kernel';
import type { RequestHandler } from '@skitai/kernel';
import { Was } from '@skitai/kernel';

interface Slot {
  kernel: Kernel;
  req: SkitaiRequest;
  res: SkitaiResponse;
  was: Was | undefined;
  /** The request's call context, shared by every `was` of the request (the App's and the imported one). */
  calls: CallContext | undefined;
}

const als = new AsyncLocalStorage<Slot>();

/** The `was` of the request being handled, or undefined outside a request (or without the context). */
export function currentWas(): Was | undefined {
  const slot = als.getStore();
  if (slot === undefined) return undefined;
  return (slot.was ??= slot.kernel.createWas(slot.req, slot.res));
}

/**
 * The call context of a new `was` of `req`: inside the context, one per request, so that two
 * `was` objects of one request (the App's and the imported one) number their calls in one
 * sequence; outside it, the `was`'s own. (No store was ever entered: getStore is a flag test.)
 */
export function callContextFor(services: BackendServices, req: SkitaiRequest): CallContext {
  const slot = als.getStore();
  if (slot !== undefined && slot.req === req) return (slot.calls ??= new CallContext(services, req));
  return new CallContext(services, req);
}

/**
 * Makes the imported `was` resolve to this object for the current request (the App framework
 * calls it with the `was` it gives to handlers, so both are one object). No-op outside the context.
 */
export function bindWas(was: Was): void {
  const slot = als.getStore();
  if (slot !== undefined && slot.req === was.req) slot.was = was;
}

/** Runs `fn` with the imported `was` bound to `was` (tests, background jobs, other frameworks). */
export function runWithWas<T>(was: Was, fn: () => T): T {
  return als.run({ kernel: was.kernel, req: was.req, res: was.res, was, calls: undefined }, fn);
}

/** Wraps a mount's handler so that the imported `was` works inside it (the kernel's wrapHandler tap). */
export function wrapWithWasContext(kernel: Kernel, handler: RequestHandler): RequestHandler {
  return function wasContext(req: SkitaiRequest, res: SkitaiResponse, next?: (err?: unknown) => void) {
    return als.run({ kernel, req, res, was: undefined, calls: undefined }, handler, req, res, next);
  };
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The request's `was`, for code that does not receive it as an argument. Outside a request it
 * throws SKT_WAS_CONTEXT (naming the member asked for).
 */
export const was: Was = new Proxy(Object.create(null) as Was, {
  get(_target, prop) {
    const current = currentWas();
    if (current === undefined) {
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      throw codes.SKT_WAS_CONTEXT(prop);
    }
    const value = Reflect.get(current, prop, current);
    // The kernel's methods (log, traceback ...) are bound (they may use private fields); the
    // members plugins add — the lazy callers such as `get`, with their `.lb` and `.map` — are
    // already bound to their was, and a bound copy would lose those properties.
    if (typeof value === 'function' && hasOwn.call(Was.prototype, prop)) return value.bind(current);
    return value;
  },
  set(_target, prop, value) {
    const current = currentWas();
    if (current === undefined) throw codes.SKT_WAS_CONTEXT(String(prop));
    return Reflect.set(current, prop, value, current);
  },
  has(_target, prop) {
    const current = currentWas();
    return current !== undefined && prop in current;
  },
  getPrototypeOf() {
    const current = currentWas();
    return current === undefined ? null : Object.getPrototypeOf(current);
  },
});
