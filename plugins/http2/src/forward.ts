import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TransportSettings } from '@skitai/kernel';
import { codes } from './errors.js';
import { Buffer } from 'node:buffer';

/** The Location of the HTTPS twin of a plain request: same host (its port replaced), same path. */
export function httpsLocation(host: string, url: string, httpsPort: number): string | undefined {
  // Host is host[:port] or [v6]:port; anything with a path, a user or a space is not a host.
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/.exec(host);
  if (m === null || !url.startsWith('/')) return undefined;
  return `https://${m[1]!.toLowerCase()}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`;
}

/**
 * Skitai's enable_forward: a plain port where every request gets 301 to the HTTPS port, same
 * host and path. Keep-alive and timeouts as the kernel's HTTP/1.1 server has them.
 */
export async function startForward(address: string, port: number, httpsPort: number, settings: TransportSettings) {
  const open = new Set<Socket>();
  const server = http.createServer(
    {
      requestTimeout: settings.requestTimeout,
      headersTimeout: Math.min(settings.headersTimeout, settings.requestTimeout || Infinity),
      maxHeaderSize: settings.maxHeaderSize,
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      const location = httpsLocation(req.headers.host ?? '', req.url ?? '', httpsPort);
      // The body (if any) is not read: the connection ends after the answer.
      if (location === undefined) {
        res.writeHead(400, { 'Content-Type': 'text/plain', 'Content-Length': 12, Connection: 'close' });
        res.end('bad request\n');
        return;
      }
      const body = `Moved to ${location}\n`;
      res.writeHead(301, {
        Location: location,
        'Content-Type': 'text/plain',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  );
  server.keepAliveTimeout = settings.keepAliveTimeout;
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  });
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroySoon();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        codes.SKT_HTTP2_FORWARD(
          `${address}:${port}`,
          err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message,
        ),
      ),
    );
    server.listen({ host: address, port }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const t = setTimeout(() => server.closeAllConnections(), settings.stopDeadline);
        server.once('close', () => clearTimeout(t));
      }),
  };
}
