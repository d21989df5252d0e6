import type {
  AsyncSeriesBailHook as AsyncSeriesBailHookType,
  AsyncSeriesHook as AsyncSeriesHookType,
  SyncBailHook as SyncBailHookType,
  SyncHook as SyncHookType,
  SyncWaterfallHook as SyncWaterfallHookType,
} from 'tapable';
import type { Duplex } from 'node:stream';
import type { Kernel } from './kernel.js';
import type { SkitaiRequest } from './http/request.js';
import type { SkitaiResponse } from './http/response.js';
import type { Mountable, MountEntry, RequestHandler } from './mount/table.js';
import type { LogRecord } from './log/request-log.js';
import type { StatusSection } from './process/status.js';
import process from 'node:process';

// tapable is CommonJS. require() of the five hook classes used here costs about a quarter of
// `import ... from 'tapable'` at start: no ESM wrapper, and 7 of its files instead of 15.
const load = process.getBuiltinModule('node:module').createRequire(import.meta.url);
const AsyncSeriesHook = load('tapable/lib/AsyncSeriesHook.js') as typeof AsyncSeriesHookType;
const AsyncSeriesBailHook = load('tapable/lib/AsyncSeriesBailHook.js') as typeof AsyncSeriesBailHookType;
const SyncHook = load('tapable/lib/SyncHook.js') as typeof SyncHookType;
const SyncBailHook = load('tapable/lib/SyncBailHook.js') as typeof SyncBailHookType;
const SyncWaterfallHook = load('tapable/lib/SyncWaterfallHook.js') as typeof SyncWaterfallHookType;
type AsyncSeriesHook<T> = AsyncSeriesHookType<T>;
type AsyncSeriesBailHook<T, R> = AsyncSeriesBailHookType<T, R>;
type SyncHook<T> = SyncHookType<T>;
type SyncBailHook<T, R> = SyncBailHookType<T, R>;
type SyncWaterfallHook<T> = SyncWaterfallHookType<T>;

export interface ListeningInfo {
  address: string;
  port: number;
  /** 'M' in a single process, 'W0', 'W1' ... in workers. */
  workerId: string;
}

/**
 * The kernel's tap points, frozen at construction (as webpack's Compiler.hooks).
 * The request path asks `hook.isUsed()` before calling a hook, so an untapped hook costs
 * nothing per request.
 */
export interface KernelHooks {
  /** Before the socket is bound: open pools, load data. */
  readonly startup: AsyncSeriesHook<[Kernel]>;
  /** After every mount target is resolved and attached. */
  readonly mounted: AsyncSeriesHook<[Kernel]>;
  /** Once the server listens. */
  readonly listening: AsyncSeriesHook<[ListeningInfo]>;
  /** Every request, before the mount table. Return true once the tap has answered. */
  readonly request: AsyncSeriesBailHook<[SkitaiRequest, SkitaiResponse], boolean | void>;
  /** An HTTP upgrade (WebSocket, h2c). Return true once the tap owns the socket. */
  readonly upgrade: SyncBailHook<[SkitaiRequest, Duplex, Buffer], boolean | void>;
  /**
   * Resources a response's page will need (paths on this origin), told to the client before
   * the response: server push or 103 Early Hints, by the plugin that taps it (@skitai/http2).
   * Frameworks call it (the App's `was.response.hintPromise`); untapped, nothing is sent.
   */
  readonly hint: SyncBailHook<[SkitaiRequest, SkitaiResponse, string[]], unknown>;
  /**
   * A CONNECT request (a forward proxy's tunnel). Return true once the tap owns the socket.
   * Untapped, CONNECT is refused with 405 and the connection closed.
   */
  readonly connect: SyncBailHook<[SkitaiRequest, Duplex, Buffer], boolean | void>;
  /**
   * At start, for a mount whose target is a string the kernel does not serve itself (an
   * `@alias`, a scheme of a plugin's): a tap returns the handler or Mountable that serves it.
   */
  readonly resolveMount: AsyncSeriesBailHook<[MountEntry], RequestHandler | Mountable | void>;
  /** At start, once per mount: a feature may wrap the handler (no per-request cost otherwise). */
  readonly wrapHandler: SyncWaterfallHook<[RequestHandler, MountEntry]>;
  /** A reload was asked for (SIGHUP in a worker, or kernel.reload()). */
  readonly reload: AsyncSeriesHook<[Kernel]>;
  /** A worker process starts (process model). */
  readonly workerStart: AsyncSeriesHook<[string]>;
  /** After a request log line was written (called only when tapped). */
  readonly responseLogged: SyncHook<[LogRecord]>;
  /**
   * A status page asks this process for its state: each tap pushes its plugin's sections
   * (called only when a status is read; see `kernel.collectStatus()`).
   */
  readonly status: AsyncSeriesHook<[StatusSection[]]>;
  /** Stop: taps run in the reverse order of registration, as resources close after their users. */
  readonly shutdown: AsyncSeriesHook<[Kernel]>;
}

export function createHooks(): KernelHooks {
  const shutdown = new AsyncSeriesHook<[Kernel]>(['kernel']);
  let order = 0;
  // A later tap gets a lower stage, so it runs first: close in reverse order.
  shutdown.intercept({ register: (tap) => ({ ...tap, stage: (tap.stage ?? 0) - ++order }) });
  return Object.freeze({
    startup: new AsyncSeriesHook<[Kernel]>(['kernel']),
    mounted: new AsyncSeriesHook<[Kernel]>(['kernel']),
    listening: new AsyncSeriesHook<[ListeningInfo]>(['info']),
    request: new AsyncSeriesBailHook<[SkitaiRequest, SkitaiResponse], boolean | void>(['req', 'res']),
    upgrade: new SyncBailHook<[SkitaiRequest, Duplex, Buffer], boolean | void>(['req', 'socket', 'head']),
    hint: new SyncBailHook<[SkitaiRequest, SkitaiResponse, string[]], unknown>(['req', 'res', 'paths']),
    connect: new SyncBailHook<[SkitaiRequest, Duplex, Buffer], boolean | void>(['req', 'socket', 'head']),
    resolveMount: new AsyncSeriesBailHook<[MountEntry], RequestHandler | Mountable | void>(['mount']),
    wrapHandler: new SyncWaterfallHook<[RequestHandler, MountEntry]>(['handler', 'mount']),
    reload: new AsyncSeriesHook<[Kernel]>(['kernel']),
    workerStart: new AsyncSeriesHook<[string]>(['workerId']),
    responseLogged: new SyncHook<[LogRecord]>(['record']),
    status: new AsyncSeriesHook<[StatusSection[]]>(['sections']),
    shutdown,
  });
}
