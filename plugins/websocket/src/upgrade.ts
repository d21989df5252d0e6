// The upgrade path: an upgrade request goes through the mount table, the `request` tap point
// and the mounted handler like any request, with a real response object on the socket, so
// that whatever refuses it (beforeRequest, authentication, CORS origins, a 404) answers with
// its own status before any 101. A WebSocket route (or a plain handler) accepts it.
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { sendError, SkitaiResponse, type SkitaiRequest } from '@skitai/kernel';
import { holdSocket, PendingUpgrade, plainDispatch, releaseSocket, setPending, type WsServer } from './server.js';
import { WebSocketService } from './service.js';
import type { PlainWsHandlers, WsConfig } from './types.js';
import { Buffer } from 'node:buffer';

const KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

function refuse(socket: Duplex, status: string, reason: string, headers: Record<string, string> = {}): true {
  if (socket.writable) {
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
    );
  }
  (socket as Socket).destroySoon?.();
  return true;
}

/**
 * `req.websocket` in every upgrade request a mounted handler sees: Skitai's `websocket.*`
 * environ values for plain Node handlers and Express (the Flask way).
 *
 *   app.get('/ws', (req, res) => {
 *     if (!req.websocket) return res.status(426).end();
 *     req.websocket.accept({ mode: 'simple' }, { message: (m, ws) => `echo: ${m}` });
 *   });
 */
export class UpgradeRequest {
  /** Skitai's websocket.event: 'init' while the handshake is in progress. */
  readonly event = 'init' as const;

  constructor(private readonly pending: PendingUpgrade) {}

  /** The id the client gets (Skitai's websocket.client). */
  get client(): number {
    return this.pending.clientId;
  }

  /**
   * Completes the handshake (the 101) and attaches the handlers. `handlers` may be a bare
   * message handler. Groupchat rooms come from `config.room`, else the query parameter
   * `config.roomParam` ('roomid'). Returns the connection's service, or undefined when the
   * client went away during the handshake.
   */
  accept(config: WsConfig, handlers: PlainWsHandlers | PlainWsHandlers['message']): WebSocketService | undefined {
    const p = this.pending;
    const server = p.server;
    const h: PlainWsHandlers = typeof handlers === 'function' ? { message: handlers } : handlers;
    if (typeof h?.message !== 'function') throw new TypeError('req.websocket.accept: a message handler is required');
    const mode = config.mode ?? 'simple';
    let room = config.room;
    if (mode === 'groupchat' && room === undefined) {
      const url = p.req.originalUrl || p.req.url || '';
      const q = url.indexOf('?');
      room =
        new URLSearchParams(q === -1 ? '' : url.slice(q + 1)).get(config.roomParam ?? server.options.roomParam) ??
        undefined;
      if (room === undefined || room === '') {
        refuseRequest(
          p,
          400,
          `a groupchat WebSocket needs the ${config.roomParam ?? server.options.roomParam} parameter`,
        );
        return undefined;
      }
    }
    const conn = server.accept(
      p,
      {
        mode,
        encoding: config.encoding ?? 'none',
        keepAlive: config.keepAlive ?? server.options.keepAlive / 1000,
        room,
      },
      plainDispatch(h),
      undefined,
    );
    return conn?.service;
  }
}

/** Answers an upgrade with an error status (used when accept() finds the request lacking). */
export function refuseRequest(p: PendingUpgrade, status: number, message: string): void {
  if (p.state !== 'pending') return;
  sendError(p.req, p.res, status, message, { close: true });
}

declare module '@skitai/kernel' {
  interface SkitaiRequest {
    /** Set on WebSocket upgrade requests only (@skitai/websocket). */
    websocket?: UpgradeRequest;
  }
}

/** The `upgrade` tap: true when the socket is ours (a WebSocket upgrade to a mounted target). */
export function onUpgrade(server: WsServer, req: SkitaiRequest, socket: Duplex, head: Buffer): true | undefined {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') return undefined;
  const kernel = server.kernel;
  if (server.stopping) return refuse(socket, '503 Service Unavailable', 'the server is stopping');
  if (!req.headers.host) return refuse(socket, '400 Bad Request', 'a WebSocket upgrade needs a Host header');
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key.trim()))
    return refuse(socket, '400 Bad Request', 'missing or invalid Sec-WebSocket-Key header');
  if (req.method !== 'GET')
    return refuse(socket, '405 Method Not Allowed', 'a WebSocket upgrade is a GET', { Allow: 'GET' });
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8')
    return refuse(socket, '426 Upgrade Required', 'unsupported Sec-WebSocket-Version', {
      'Sec-WebSocket-Version': '13',
    });

  const origin = req.headers.origin;
  if (origin !== undefined && server.options.allowOrigin !== undefined && !server.options.allowOrigin(origin, req)) {
    server.stats.refused++;
    return refuse(socket, '403 Forbidden', 'this origin may not open WebSockets here');
  }

  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const found = kernel.mounts.resolve(pathname, req.headers.host);
  if (found === undefined || found.entry.kind === 'static') return undefined; // the kernel answers 404
  // A reverse-proxy mount of an alias (`mount('/ws', '@chat')`) is the gateway's to upgrade.
  if (typeof found.entry.target === 'string' && /^@[^/]+$/.test(found.entry.target)) return undefined;
  if (found.redirect)
    return refuse(socket, '301 Moved Permanently', '', { Location: `${pathname}/${q === -1 ? '' : url.slice(q)}` });
  const entry = found.entry;
  req.startedAt = performance.now();
  req.mount = entry;
  if (entry.point !== '') {
    req.baseUrl = entry.point;
    req.url = url.slice(entry.point.length);
  }

  const res = new SkitaiResponse(req);
  holdSocket(res, socket as Socket);
  res.shouldKeepAlive = false;
  res.setHeader('Server', `Skitai/${kernel.version}`);
  const pending = new PendingUpgrade(server, req, socket, head, res);
  pending.clientId = server.nextId();
  setPending(req, pending);
  server.pending.add(pending);
  req.websocket = new UpgradeRequest(pending);
  res.once('finish', () => {
    // An answer other than the 101: the handshake is over, and so is the connection.
    if (pending.state === 'pending') {
      pending.state = 'refused';
      server.stats.refused++;
      clearTimeout(pending.timer);
      server.pending.delete(pending);
      (socket as Socket).destroySoon?.();
    }
  });
  socket.once('close', () => {
    clearTimeout(pending.timer);
    server.pending.delete(pending);
    if (pending.state === 'pending' && releaseSocket(res)) {
      // Gone during the handshake, before anything was written: the response closes as if it
      // had had the socket all along; whatever the handler writes later goes nowhere.
      res.destroyed = true;
      res.emit('close');
    }
  });
  pending.timer = setTimeout(() => {
    if (pending.state !== 'pending') return;
    server.pending.delete(pending);
    if (!res.headersSent) sendError(req, res, 408, 'the WebSocket handshake took too long', { close: true });
    setTimeout(() => socket.destroy(), 100).unref();
  }, server.options.handshakeTimeout);
  pending.timer.unref();

  const failed = (err: unknown) => {
    server.log('error', `upgrade ${req.originalUrl}: ${(err as Error)?.stack ?? err}`);
    if (pending.state !== 'pending') return;
    if (!res.headersSent) sendError(req, res, 500, 'the server failed to answer this request', { close: true });
    else socket.destroy();
  };
  const run = () => {
    try {
      const ret = entry.handler(req, res) as PromiseLike<unknown> | undefined;
      if (ret && typeof ret.then === 'function') ret.then(undefined, failed);
    } catch (err) {
      failed(err);
    }
  };
  if (kernel.hooks.request.isUsed()) {
    kernel.hooks.request.promise(req, res).then((answered) => {
      if (answered !== true && !res.headersSent && !res.writableEnded) run();
    }, failed);
  } else {
    run();
  }
  return true;
}
