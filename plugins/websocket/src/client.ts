// `was.ws(url)` / `was.wss(url)`: WebSocket calls to backend servers and aliases.
import { WebSocket, type RawData } from 'ws';
import type { Kernel } from '@skitai/kernel';
import { decode, encode } from './encoding.js';
import type { WsEncoding } from './types.js';

export interface WsClientOptions {
  /** Messages are encoded and decoded like a route's (default 'none'). */
  encoding?: WsEncoding;
  /** Seconds to connect (default 10). */
  timeout?: number;
  /** Seconds receive() waits by default (default 10). */
  receiveTimeout?: number;
  headers?: Record<string, string>;
  protocols?: string | string[];
  /** Largest message accepted, bytes (default 16 MiB). */
  maxMessageSize?: number;
  /** Per-message deflate (default off). */
  perMessageDeflate?: boolean;
  /** TLS client options for wss (ca, rejectUnauthorized, servername ...); for an alias, its own `tls` option by default. */
  tls?: Record<string, unknown>;
}

/** A receive() or connect that ran out of time. */
export class WsTimeoutError extends Error {
  readonly code = 'SKT_WS_TIMEOUT';
}
/** The connection closed before a message came. */
export class WsClosedError extends Error {
  readonly code = 'SKT_WS_CLOSED';
  constructor(
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(`the WebSocket closed (${closeCode}${reason ? ` ${reason}` : ''})`);
  }
}

type Waiter = { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout | undefined };

/** A connected backend WebSocket: send, receive with a timeout, close. Also an async iterable of messages. */
export class WsClient {
  private inbox: unknown[] = [];
  private waiters: Waiter[] = [];
  private closedWith: WsClosedError | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(
    readonly socket: WebSocket,
    readonly url: string,
    private readonly encoding: WsEncoding,
    private readonly receiveTimeout: number,
  ) {
    socket.on('message', (data: RawData, isBinary: boolean) => {
      let value: unknown;
      try {
        value = decode(encoding, data, isBinary);
      } catch (err) {
        value = err;
      }
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        if (value instanceof Error) w.reject(value);
        else w.resolve(value);
      } else this.inbox.push(value);
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => {
        const text = reason.toString('utf8');
        this.closedWith = new WsClosedError(code, text);
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(this.closedWith);
        }
        resolve({ code, reason: text });
      });
    });
    socket.on('error', () => {
      /* reported through close */
    });
  }

  /** Sends a message (encoded); resolves once written to the socket. */
  send(message: unknown): Promise<void> {
    const frame = encode(this.encoding, message);
    if (frame === undefined) return Promise.resolve();
    if (this.socket.readyState !== WebSocket.OPEN)
      return Promise.reject(this.closedWith ?? new WsClosedError(1006, 'not open'));
    return new Promise((resolve, reject) =>
      this.socket.send(frame.data, { binary: frame.binary }, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The next message; rejects with WsTimeoutError after `timeout` seconds, WsClosedError when closed. */
  receive<T = any>(timeout = this.receiveTimeout): Promise<T> {
    if (this.inbox.length > 0) {
      const v = this.inbox.shift();
      return v instanceof Error ? Promise.reject(v) : Promise.resolve(v as T);
    }
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { resolve: resolve as (v: unknown) => void, reject, timer: undefined };
      if (timeout > 0) {
        waiter.timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new WsTimeoutError(`no message from ${this.url} within ${timeout} s`));
        }, timeout * 1000);
      }
      this.waiters.push(waiter);
    });
  }

  /** A send and the next message. */
  async request<T = any>(message: unknown, timeout?: number): Promise<T> {
    const reply = this.receive<T>(timeout);
    await this.send(message);
    return reply;
  }

  /** Closes (1000 by default) and resolves once closed (cut after 5 s). */
  async close(code = 1000, reason = ''): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close(code, reason);
    const t = setTimeout(() => this.socket.terminate(), 5000);
    await this.closed;
    clearTimeout(t);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<unknown> {
    for (;;) {
      try {
        yield await this.receive(0);
      } catch (err) {
        if (err instanceof WsClosedError) return;
        throw err;
      }
    }
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Connects: `ws://host:port/path`, `wss://...`, or `@alias/path` (a member of a ws/wss or
 * http/https alias picked by load; a member that cannot be reached is set aside and the next
 * one is tried). `secure` forces wss (was.wss).
 */
export async function connect(
  url: string,
  options: WsClientOptions = {},
  kernel?: Kernel,
  secure = false,
): Promise<WsClient> {
  const encoding = options.encoding ?? 'none';
  const receiveTimeout = options.receiveTimeout ?? 10;
  if (url.startsWith('@')) {
    if (!kernel) throw new TypeError(`${url}: an alias needs a kernel`);
    const slash = url.indexOf('/');
    const name = slash === -1 ? url : url.slice(0, slash);
    const path = slash === -1 ? '/' : url.slice(slash);
    // Aliases are served by @skitai/services: loaded only when a call names one.
    const { servicesOf } = await import('@skitai/services');
    const alias = servicesOf(kernel).getAlias(name);
    const protocol = alias.definition.protocol;
    if (protocol !== 'ws' && protocol !== 'http')
      throw new TypeError(`${name} is a ${alias.type} alias: was.ws needs ws, wss, http or https`);
    const scheme = secure || alias.ssl ? 'wss' : 'ws';
    let target = '';
    const withTls =
      options.tls === undefined && alias.options.tls !== undefined ? { ...options, tls: alias.options.tls } : options;
    const socket = await alias.lb(
      (m: { host: string; port: number }) => open((target = `${scheme}://${hostPort(m.host, m.port)}${path}`), withTls),
      {
        isConnectionError: (err: unknown) => (err as { connection?: boolean }).connection === true,
      },
    );
    return new WsClient(socket, target, encoding, receiveTimeout);
  }
  let u = url;
  if (/^https?:\/\//i.test(u)) u = u.replace(/^http/i, 'ws');
  else if (!/^wss?:\/\//i.test(u)) u = `ws://${u}`;
  if (secure) u = u.replace(/^ws:/i, 'wss:');
  return new WsClient(await open(u, options), u, encoding, receiveTimeout);
}

function open(url: string, options: WsClientOptions): Promise<WebSocket> {
  const timeout = (options.timeout ?? 10) * 1000;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols, {
      ...(options.tls ?? {}),
      headers: options.headers,
      handshakeTimeout: timeout,
      maxPayload: options.maxMessageSize ?? 16 * 1024 * 1024,
      perMessageDeflate: options.perMessageDeflate ?? false,
    });
    const fail = (err: Error & { connection?: boolean }) => {
      socket.removeAllListeners('open');
      socket.on('error', () => undefined);
      socket.terminate();
      // ECONNREFUSED and the like: another member may answer.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT')
        err.connection = true;
      reject(err);
    };
    socket.once('error', fail);
    socket.once('unexpected-response', (_req, res) => {
      res.resume();
      fail(new Error(`${url}: the server answered ${res.statusCode} instead of switching to WebSocket`));
    });
    socket.once('open', () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
