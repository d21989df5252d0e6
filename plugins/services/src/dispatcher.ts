// The undici dispatchers of `was` HTTP calls: a keep-alive Pool per alias member and one Agent
// for plain URLs. Their connections are TrackedClients, which count the requests written on
// each connection so that a call knows whether its socket was fresh or kept alive (a kept-alive
// socket the peer closed under a request is retried once; a fresh one that breaks is not).
import { Agent, Client, Pool, type Dispatcher } from 'undici';

/** A handler that wants to know which connection its request was given to. */
export interface AssignedHandler extends Dispatcher.DispatchHandlers {
  assigned(client: TrackedClient): void;
}

function isAssigned(handler: Dispatcher.DispatchHandlers): handler is AssignedHandler {
  return typeof (handler as AssignedHandler).assigned === 'function';
}

/** One connection of a pool (undici Client, pipelining 1: one request at a time). */
export class TrackedClient extends Client {
  /** Whether its socket is connected now. */
  live = false;
  /** Requests written on the current connection (reset at each connect). */
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

const tracked = (origin: URL | string, opts: object): Dispatcher => new TrackedClient(origin, opts as Client.Options);

/** The pool of one alias member: `origin` is 'http://host:port' or 'https://host:port'. */
export function createPool(origin: string, options: DispatcherOptions): Pool {
  return new Pool(origin, { ...clientOptions(options), connections: options.connections ?? null, factory: tracked });
}

/** The dispatcher of plain-URL calls: a Pool per origin, made on first use. */
export function createAgent(options: DispatcherOptions): Agent {
  return new Agent({
    ...clientOptions(options),
    factory: (origin, opts) => new Pool(origin, { ...(opts as Pool.Options), factory: tracked }),
  });
}
