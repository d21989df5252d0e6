import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { SkitaiRequest } from './request.js';
import { getServerHeader, SkitaiResponse } from './response.js';
import type { Transport } from './transport.js';
import { initSocketState, kMoved, kSince, responseOf, type SocketState } from './socket-state.js';

export interface ServerSettings {
  /** Idle time before a keep-alive connection is closed (ms). */
  keepAliveTimeout: number;
  /** Time to receive a whole request, headers and body (ms). */
  requestTimeout: number;
  /** Time to receive the headers: the slowloris guard (ms). */
  headersTimeout: number;
  maxHeaderSize: number;
  /** A response that makes no progress for this long closes its connection (ms, 0: never). */
  sendTimeout: number;
}

/** True while a response on this connection has not been handed whole to the socket. */
function inFlight(socket: Socket): boolean {
  const res = responseOf(socket);
  return res !== undefined && !res.writableFinished;
}

/** True when a response's head is out and its body is not: no other bytes may go out now. */
function midResponse(socket: Socket): boolean {
  const res = responseOf(socket);
  return res !== undefined && res.headersSent && !res.writableFinished;
}

/**
 * One pass of the send timeout. A connection whose bytes have not moved (read, or taken by
 * the kernel's socket buffer) for `timeoutMs`: a send stuck with bytes queued is reset
 * (nginx's reset_timedout_connection: a plain close would leave the unsent bytes in the
 * kernel's buffers until the client read them or TCP gave up); an idle connection is closed;
 * one whose handler is merely slow to answer (nothing waits to be sent) is left alone. So a
 * send is cut between one timeout and one timeout plus a sweep interval after its last
 * progress. Each such connection is first announced as node's socket timeout is, with the
 * server's 'timeout' event.
 */
export function sweepSendTimeouts(server: http.Server, open: Iterable<Socket>, timeoutMs: number, now: number): void {
  for (const socket of open as Iterable<SocketState>) {
    const queued = socket.writableLength;
    const moved = (socket.bytesRead ?? 0) + (socket.bytesWritten ?? 0) - queued;
    if (socket[kMoved] !== moved || socket[kSince] === undefined) {
      socket[kMoved] = moved;
      socket[kSince] = now;
    } else if (now - socket[kSince] >= timeoutMs) {
      server.emit('timeout', socket);
      if (socket.destroyed) continue;
      if (queued > 0) socket.resetAndDestroy();
      else if (!inFlight(socket)) socket.destroy();
      else socket[kSince] = now; // a slow handler: look again a timeout later
    }
  }
}

/** Any socket error ends that connection only; the process never sees it. */
export function ignoreSocketError(this: Socket): void {
  this.destroy();
}

const clientErrorStatus: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADERS_TIMEOUT: '408 Request Timeout',
};

/**
 * node:http with the kernel's request and response classes, the kernel's timeouts and a
 * count of open connections (for the log, and for draining on stop).
 */
export function createHttpServer(
  settings: ServerSettings,
  onRequest?: (req: SkitaiRequest, res: SkitaiResponse) => void,
) {
  const server = http.createServer(
    {
      IncomingMessage: SkitaiRequest as unknown as typeof http.IncomingMessage,
      ServerResponse: SkitaiResponse as any,
      requestTimeout: settings.requestTimeout,
      headersTimeout: Math.min(settings.headersTimeout, settings.requestTimeout || Infinity),
      maxHeaderSize: settings.maxHeaderSize,
      // Timeouts are checked this often: a second keeps them honest without a busy timer.
      connectionsCheckingInterval: 1000,
      requireHostHeader: true,
      noDelay: true,
    },
    onRequest as http.RequestListener,
  );
  server.keepAliveTimeout = settings.keepAliveTimeout;

  // HTTP connections only: an upgraded socket (WebSocket) leaves the set, its owner closes it.
  const open = new Set<Socket>();
  // One listener function for every connection ('close' comes once: no once() wrapper).
  function closed(this: Socket): void {
    open.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    initSocketState(socket);
    open.add(socket);
    socket.on('close', closed);
  });
  // A malformed request (node's parser), oversized headers or a request that took too long
  // gets a short answer with Date and Server like every other, and the connection ends. Not
  // when a response is already on its way on this connection: bytes of ours would corrupt it.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = err.code ?? '';
    if (socket.writable && code !== 'ECONNRESET' && code !== 'EPIPE' && !midResponse(socket)) {
      const status = clientErrorStatus[code] ?? '400 Bad Request';
      socket.end(
        `HTTP/1.1 ${status}\r\nDate: ${new Date().toUTCString()}\r\nServer: ${getServerHeader()}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      socket.destroySoon();
    } else {
      socket.destroy();
    }
  });
  // The send timeout (nginx's send_timeout): one sweep over the open connections every
  // quarter timeout (at most a second), not node's socket timeout, which every read and write
  // re-arms (~2.5k instructions per request under callgrind, 3 % of a hello).
  if (settings.sendTimeout > 0) {
    const timeout = settings.sendTimeout;
    const sweep = setInterval(
      () => sweepSendTimeouts(server, open, timeout, performance.now()),
      Math.min(1000, Math.max(10, timeout / 4)),
    );
    sweep.unref();
    server.once('close', () => clearInterval(sweep));
  }
  return { server, connections: () => open.size, untrack: (socket: Socket) => open.delete(socket) };
}

/**
 * Stops accepting, closes idle keep-alive connections at once and each busy one as soon as
 * its response is out; tracked tunnels are waited for like in-flight responses; after
 * `deadlineMs` whatever is left is destroyed. With a transport
 * (TLS, HTTP/2) its server is the one that accepts, and its sessions are closed gracefully too.
 */
export function drainServer(
  server: http.Server,
  connections: () => number,
  deadlineMs: number,
  transport?: Transport,
  destroyTunnels?: () => void,
): Promise<{ forced: boolean }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (forced: boolean) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(deadline);
      resolve({ forced });
    };
    if (transport === undefined) {
      server.close(() => finish(false));
    } else {
      // The HTTP/1.1 server never bound a socket: close() only stops its timeout checks.
      server.close();
      transport.server.close(() => finish(false));
      transport.close();
    }
    server.closeIdleConnections();
    // A connection becomes idle when its in-flight response ends: close it then.
    const poll = setInterval(() => {
      server.closeIdleConnections();
      if (connections() === 0) finish(false);
    }, 50);
    const deadline = setTimeout(() => {
      server.closeAllConnections();
      transport?.destroy();
      destroyTunnels?.();
      finish(true);
    }, deadlineMs);
  });
}
