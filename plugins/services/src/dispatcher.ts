// The undici dispatchers of `was` HTTP calls: a keep-alive Pool per alias member and one Agent
// for plain URLs. Their connections are TrackedClients, which count the requests written on
// each connection so that a call knows whether its socket was fresh or kept alive (a kept-alive
// socket the peer closed under a request is retried once; a fresh one that breaks is not).
//
// undici (some 95 files) is loaded on the first pool or agent made, that is on the first
// outbound call, not when the package is imported: most of a server's start is loading code,
// and a server whose `was` makes no HTTP call never needs it. require(), not import(): undici
// is CommonJS, and the pools are made synchronously.
import { createRequire } from 'node:module';
import type { Agent, Client, Pool, Dispatcher } from 'undici';

type Undici = typeof import('undici');
let loaded: Undici | undefined;

/** undici, loaded on first use. */
export function undici(): Undici {
  return (loaded ??= createRequire(import.meta.url)('undici') as Undici);
}

/** A handler that wants to know which connection its request was given to. */
export interface AssignedHandler extends Dispatcher.DispatchHandlers {
  assigned(client: TrackedClient): void;
}

function isAssigned(handler: Dispatcher.DispatchHandlers): handler is AssignedHandler {
  return typeof (handler as AssignedHandler).assigned === 'function';
}

/** One connection of a pool (undici Client, pipelining 1: one request at a time). */
export interface TrackedClient extends Client {
  /** Whether its socket is connected now. */
  live: boolean;
  /** Requests written on the current connection (reset at each connect). */
  sent: number;
}

/**
 * The connection class of the pools: an undici Client subclass, made when undici loads (the
 * first createPool/createAgent call, or trackedClientClass()); undefined before.
 */
export let TrackedClient: (new (origin: string | URL, options: Client.Options) => TrackedClient) | undefined;

/** TrackedClient, made (and undici loaded) if it is not yet. */
export function trackedClientClass(): new (origin: string | URL, options: Client.Options) => TrackedClient {
  if (TrackedClient !== undefined) return TrackedClient;
  const { Client } = undici();
  class Tracked extends Client implements TrackedClient {
    live = false;
    sent = 0;

    constructor(origin: string | URL, options: Client.Options) {
      super(origin, options);
      this.on('connect', () => {
        this.live = true;
        this.sent = 0;
      });
      const down = () => {
        this.live = false;
      };
      this.on('disconnect', down);
      this.on('connectionError', down);
    }

    // The pool gives a request to a connection here, also when it leaves the pool's queue.
    override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
      if (isAssigned(handler)) handler.assigned(this);
      return super.dispatch(options, handler);
    }
  }
  Object.defineProperty(Tracked, 'name', { value: 'TrackedClient' });
  return (TrackedClient = Tracked);
}

export interface DispatcherOptions {
  /** Idle connections are closed after this, ms (a shorter `Keep-Alive: timeout` from the server wins). */
  keepAlive: number;
  /** Most connections (a Pool only; default: no bound). */
  connections?: number;
  /** Longest TCP (and TLS) handshake, ms: calls have their own, shorter, connect timeout. */
  connectTimeout: number;
  /** TLS client options (ca, servername, rejectUnauthorized ...). */
  tls?: Record<string, unknown>;
}

function clientOptions(options: DispatcherOptions): Pool.Options {
  return {
    pipelining: 1,
    keepAliveTimeout: options.keepAlive,
    keepAliveMaxTimeout: options.keepAlive,
    // Calls time themselves (a whole-call timeout and a connect timeout): no undici timers.
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { timeout: options.connectTimeout, ...(options.tls ?? {}) },
  };
}

function tracked(origin: URL | string, opts: object): Dispatcher {
  return new (trackedClientClass())(origin, opts as Client.Options);
}

/** The pool of one alias member: `origin` is 'http://host:port' or 'https://host:port'. */
export function createPool(origin: string, options: DispatcherOptions): Pool {
  const { Pool } = undici();
  return new Pool(origin, { ...clientOptions(options), connections: options.connections ?? null, factory: tracked });
}

/** The dispatcher of plain-URL calls: a Pool per origin, made on first use. */
export function createAgent(options: DispatcherOptions): Agent {
  const { Agent, Pool } = undici();
  return new Agent({
    ...clientOptions(options),
    factory: (origin, opts) => new Pool(origin, { ...(opts as Pool.Options), factory: tracked }),
  });
}
