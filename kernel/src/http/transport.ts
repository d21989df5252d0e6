import type http from 'node:http';
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logs } from '../log/logger.js';
import type { KernelSettings } from '../kernel.js';

/**
 * A transport owns the kernel's listening socket in place of the plain HTTP/1.1 server: TLS,
 * HTTP/2, protocol sniffing. It gets the kernel's request path and HTTP/1.1 engine and gives
 * back the server to bind. One per kernel, set from a plugin's apply().
 */
export interface TransportContext {
  /**
   * The kernel's request path (framing guards, body limit, request log, `request` taps, mount
   * table, handler). Takes node:http requests and node:http2 compatibility requests whose
   * classes called `initRequestFields()` in their constructor.
   */
  readonly dispatch: (req: IncomingMessage, res: ServerResponse) => void;
  /** What the kernel does for `Expect: 100-continue`: 413 at once, or 100 and dispatch. */
  readonly checkContinue: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Hands a connection to the kernel's HTTP/1.1 server (keep-alive, timeouts, upgrades) as if
   * it had accepted it: a TLS socket after ALPN chose http/1.1, a plain socket after sniffing.
   */
  readonly serveHttp1: (socket: Duplex) => void;
  /** The kernel's HTTP/1.1 server (not listening itself: the transport's server does). */
  readonly http1: http.Server;
  /** HTTP/1.1 connections open now. */
  readonly http1Connections: () => number;
  /** The kernel's settings, in milliseconds and bytes. */
  readonly settings: Readonly<TransportSettings>;
  /** True once stop() began. */
  readonly stopping: () => boolean;
  readonly logs: Logs;
}

/** The kernel settings a transport applies to its own connections (times in ms). */
export type TransportSettings = Pick<
  KernelSettings,
  'keepAliveTimeout' | 'requestTimeout' | 'headersTimeout' | 'maxHeaderSize' | 'maxClientBodySize' | 'stopDeadline'
>;

export interface Transport {
  /** Bound by the kernel on its address and port. */
  readonly server: Server;
  /** 'https' or 'http': for the startup line of the server log. */
  readonly scheme: string;
  /** Connections the transport keeps itself (HTTP/2 sessions), for the log and the stop. */
  connections(): number;
  /** Stop, gracefully: no new streams, in-flight ones finish (HTTP/2: GOAWAY). */
  close(): void;
  /** The stop deadline passed: end whatever is left. */
  destroy(): void;
}

export type TransportFactory = (ctx: TransportContext) => Transport;

export { initRequestFields } from './request.js';
