// Public option and handler types of @skitai/websocket.
import type { Was, Kernel } from '@skitai/kernel';
import type { Args } from '@skitai/app';
import type { PerMessageDeflateOptions } from 'ws';
import type { RoomAdapter } from './rooms.js';
import type { WebSocketService } from './service.js';

/**
 * Skitai's design specs:
 * - 'simple': one handler call per message, in arrival order; the return value goes back.
 * - 'threadsafe': messages are handled as they arrive (concurrently when handlers are async);
 *   `was.websocket.send` may be called at any time, from timers or other async work.
 * - 'groupchat': rooms by a query parameter (`roomid`); a return value goes to the whole room.
 */
export type WsMode = 'simple' | 'threadsafe' | 'groupchat';
/** Message encodings: as is (text or bytes), JSON, XML-RPC. */
export type WsEncoding = 'none' | 'json' | 'xmlrpc';
/** Skitai's events: in the handshake, once the socket is open, once it is closed. */
export type WsEvent = 'init' | 'open' | 'close';

// Skitai's names, for code ported from Python.
export const WS_SIMPLE = 'simple' as const;
export const WS_THREADSAFE = 'threadsafe' as const;
export const WS_GROUPCHAT = 'groupchat' as const;
export const WS_MSG_NONE = 'none' as const;
export const WS_MSG_JSON = 'json' as const;
export const WS_MSG_XMLRPC = 'xmlrpc' as const;
export const WS_EVT_INIT = 'init' as const;
export const WS_EVT_OPEN = 'open' as const;
export const WS_EVT_CLOSE = 'close' as const;

/** Per-route configuration (Skitai's `was.wsconfig(spec, timeout, encoding)`). */
export interface WsConfig {
  /** Default 'simple'. */
  mode?: WsMode;
  /** Seconds without a frame from the client before it is pinged (default: the plugin's keepAlive, 60). */
  keepAlive?: number;
  /** Default 'none'. */
  encoding?: WsEncoding;
  /** Groupchat: the query/args parameter naming the room (default 'roomid'). */
  roomParam?: string;
  /** Groupchat: the room, when not taken from the request. */
  room?: string;
}

/** Plugin options: `kernel.use(websocket({ ... }))`. */
export interface WebSocketOptions {
  /** Largest message in bytes, all fragments together; larger ones close the socket with 1009 (default 1 MiB). */
  maxMessageSize?: number;
  /** Most fragments in one message; more close the socket with 1008 (default 1024; ws itself allows 16384). */
  maxFragments?: number;
  /**
   * Refuse invalid UTF-8 in a text message at the frame (or read) where it appears, with 1007,
   * instead of once the whole message is in (default true; ws alone checks at the end).
   */
  failFastUtf8?: boolean;
  /** Per-message deflate (RFC 7692): off by default; true or ws's options to turn it on. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Default keep-alive, seconds (default 60). 0 turns the pings off. */
  keepAlive?: number;
  /** Seconds to wait for the pong after a keep-alive ping before closing (default 10). */
  pingTimeout?: number;
  /**
   * Bytes queued for one client beyond which a send is refused (default 4 MiB): with
   * backpressure 'close' the connection is cut at once, with 'drop' the message is dropped.
   */
  maxBufferedAmount?: number;
  /** What happens to a slow reader: 'close' (default) or 'drop'. */
  backpressure?: 'close' | 'drop';
  /** Messages waiting for their handler beyond which reading from the client pauses (default 64). */
  maxPendingMessages?: number;
  /** Seconds an upgrade may take from the request to the 101 (default 10). */
  handshakeTimeout?: number;
  /** Seconds given to clients to answer the 1001 close at shutdown before the sockets are cut (default 3). */
  closeTimeout?: number;
  /**
   * Origins allowed to open WebSockets on any mount (against cross-site WebSocket hijacking):
   * a list ('https://example.com') or a function. Others get 403 before any handler runs;
   * a request without Origin (not a browser) passes. App routes also apply their own CORS
   * origin rules (accessControlAllowOrigin). Default: no plugin-wide check.
   */
  allowOrigins?: readonly string[] | ((origin: string, req: import('@skitai/kernel').SkitaiRequest) => boolean);
  /**
   * Run App message handlers inside the request's `was` context, so that the imported `was`
   * (`import { was } from '@skitai/kernel'`) works there too (default false: it costs an
   * AsyncLocalStorage.run per message, about 1-2 us on Node 20; the `was` argument always
   * works). init, open and close handlers always run in the context.
   */
  wasContext?: boolean;
  /** Default room parameter for groupchat routes (default 'roomid'). */
  roomParam?: string;
  /**
   * Carries room messages and sends to client ids between processes. Default: the process
   * model's messenger in workers, nothing in a single process. A Redis adapter would span machines.
   */
  adapter?: RoomAdapter | ((kernel: Kernel) => RoomAdapter | undefined);
}

/** App route handlers (`wsRoute(config, handlers)`). `was` is the upgrade request's, for the whole connection. */
export interface WsHandlers<M = any> {
  /**
   * In the handshake, after beforeRequest and authentication: return settings to change the
   * route's config, throw an HttpError (or return was.response(4xx, ...)) to refuse.
   */
  init?(was: Was, args: Args): unknown;
  /** Once open: the value returned is sent (in groupchat, to the room: "X has entered"). */
  open?(was: Was, args: Args): unknown;
  /** One message: the value returned is sent (in groupchat, to the room). */
  message(was: Was, message: M, args: Args): unknown;
  /** Once closed: in groupchat the value returned goes to the rest of the room ("X has left"). */
  close?(was: Was, args: Args, code: number, reason: string): unknown;
}

/** Handlers for plain Node handlers and Express (`req.websocket.accept(config, handlers)`). */
export interface PlainWsHandlers<M = any> {
  open?(ws: WebSocketService): unknown;
  message(message: M, ws: WebSocketService): unknown;
  close?(ws: WebSocketService, code: number, reason: string): unknown;
}
