import http from 'node:http';
import type { Socket } from 'node:net';
import { SkitaiRequest } from './request.js';
import { SkitaiResponse } from './response.js';
import type { Transport } from './transport.js';

export interface ServerSettings {
  /** Idle time before a keep-alive connection is closed (ms). */
  keepAliveTimeout: number;
  /** Time to receive a whole request, headers and body (ms). */
  requestTimeout: number;
  /** Time to receive the headers: the slowloris guard (ms). */
  headersTimeout: number;
  maxHeaderSize: number;
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
export function createHttpServer(settings: ServerSettings, onRequest: (req: SkitaiRequest, res: SkitaiResponse) => void) {
  const server = http.createServer({
    IncomingMessage: SkitaiRequest,
    ServerResponse: SkitaiResponse as any,
    requestTimeout: settings.requestTimeout,
    headersTimeout: Math.min(settings.headersTimeout, settings.requestTimeout || Infinity),
    maxHeaderSize: settings.maxHeaderSize,
    // Timeouts are checked this often: a second keeps them honest without a busy timer.
    connectionsCheckingInterval: 1000,
    requireHostHeader: true,
    noDelay: true,
  }, onRequest as http.RequestListener);
  server.keepAliveTimeout = settings.keepAliveTimeout;

  // HTTP connections only: an upgraded socket (WebSocket) leaves the set, its owner closes it.
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  // A malformed request gets a short answer and the connection ends (node's default, plus
  // 431/408 where they say more than 400).
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !(socket as any)._httpMessage?.headersSent) {
      const status = clientErrorStatus[err.code ?? ''] ?? '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroySoon();
  });
  return { server, connections: () => open.size, untrack: (socket: Socket) => open.delete(socket) };
}

/**
 * Stops accepting, closes idle keep-alive connections at once and each busy one as soon as
 * its response is out; after `deadlineMs` whatever is left is destroyed. With a transport
 * (TLS, HTTP/2) its server is the one that accepts, and its sessions are closed gracefully too.
 */
export function drainServer(server: http.Server, connections: () => number, deadlineMs: number, transport?: Transport): Promise<{ forced: boolean }> {
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
      finish(true);
    }, deadlineMs);
  });
}
