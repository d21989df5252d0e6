// The members this package adds to `was` (kernel.extendWas): the HTTP and RPC callers as lazy
// members (built once per was, on first use: a request that calls no backend pays nothing),
// and toxml, fromxml (the services' numbers are `was.services.status()`; `was.status()` is
// @skitai/status's page). The kernel's own `was` has log, traceback, tojson, fromjson,
// getlu and setlu.
import type { Kernel, Was } from '@skitai/kernel';
import { parseParams, serializeParams } from '@skitai/xmlrpc';
import { callContextFor } from './context.js';
import { type CallContext, type HttpBodyCaller, type HttpCaller, type RpcCaller } from './caller.js';
import { BackendServices } from './manager.js';

declare module '@skitai/kernel' {
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
    /** XML-RPC `<params>` of the values (Python's xmlrpc.client.dumps). */
    readonly toxml: (...values: unknown[]) => string;
    /** The values of XML-RPC `<params>`, a methodCall or a methodResponse. */
    readonly fromxml: (xml: string | Buffer) => unknown[];
  }
}

const CALLERS = ['get', 'delete', 'options', 'head'] as const;
const BODY_CALLERS = ['post', 'put', 'patch'] as const;
const VARIANTS = ['json', 'xml'] as const;

/** Every `was` member this package defines. */
export const WAS_MEMBERS: readonly string[] = Object.freeze([
  ...CALLERS,
  ...BODY_CALLERS,
  ...VARIANTS.flatMap((v) => [...['get', 'delete'], ...BODY_CALLERS].map((m) => m + v)),
  'rpc',
  'jsonrpc',
  'services',
  'toxml',
  'fromxml',
]);

const CONTEXT = Symbol('skitai.was.calls');
type WithContext = Was & { [CONTEXT]?: CallContext };

const byKernel = new WeakMap<Kernel, BackendServices>();

/** Ties a kernel to its services (the plugin's apply does it). */
export function attachServices(kernel: Kernel, services: BackendServices): void {
  byKernel.set(kernel, services);
}

/**
 * The backend services of a kernel that uses the plugin. Without a kernel (a kernel-less was,
 * scripts and tests), one shared stand-alone instance.
 */
let standalone: BackendServices | undefined;
export function servicesOf(kernel: Kernel | undefined): BackendServices {
  if (kernel === undefined) return (standalone ??= new BackendServices());
  const services = byKernel.get(kernel);
  if (services === undefined)
    throw new Error(
      "@skitai/services: this kernel does not use the services plugin: add kernel.use(services()) from '@skitai/services'",
    );
  return services;
}

/** The call context of a was (built on first use). */
export function callContextOf(was: Was): CallContext {
  const w = was as WithContext;
  let ctx = w[CONTEXT];
  if (ctx === undefined) {
    ctx = callContextFor(servicesOf(was.kernel), was.req);
    // A plain store: a symbol key is never enumerated, and defineProperty per request cost
    // a property-descriptor conversion on every call's path.
    w[CONTEXT] = ctx;
  }
  return ctx;
}

/** Defines the members on one kernel's `was`. */
export function defineWasMembers(kernel: Kernel, owner: string): void {
  const def = <T>(name: string, build: (was: Was) => T) => kernel.extendWas(name, build, owner);
  for (const m of CALLERS) {
    const METHOD = m.toUpperCase();
    def(m, (w) => callContextOf(w).http(METHOD, 'plain'));
  }
  for (const m of BODY_CALLERS) {
    const METHOD = m.toUpperCase();
    def(m, (w) => callContextOf(w).httpWithBody(METHOD, 'plain'));
  }
  for (const variant of VARIANTS) {
    for (const m of ['get', 'delete'] as const)
      def(m + variant, (w) => callContextOf(w).http(m.toUpperCase(), variant));
    for (const m of BODY_CALLERS) def(m + variant, (w) => callContextOf(w).httpWithBody(m.toUpperCase(), variant));
  }
  def('rpc', (w) => callContextOf(w).rpc('xmlrpc'));
  def('jsonrpc', (w) => callContextOf(w).rpc('jsonrpc'));
  def('services', (w) => servicesOf(w.kernel));
  def(
    'toxml',
    () =>
      (...values: unknown[]) =>
        serializeParams(values),
  );
  def('fromxml', () => (xml: string | Buffer) => parseParams(xml));
}
