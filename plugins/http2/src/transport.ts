import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Transport, TransportContext } from '@skitai/kernel';
import type { ResolvedOptions } from './options.js';
import { createSessionServer } from './session.js';
import { sniffPreface } from './preface.js';

export interface Http2Transport extends Transport {
  /** Hands a connection to the HTTP/2 server (an upgraded h2c socket). */
  serveH2(socket: Duplex): void;
}

/**
 * The kernel's listening socket with TLS (ALPN h2, then http/1.1) or, in clear text, with
 * the h2c preface sniffed on each new connection. HTTP/1.1 connections go to the kernel's own
 * HTTP/1.1 server; h2 ones to a node:http2 server; both reach the same request path.
 */
export function createTransport(ctx: TransportContext, options: ResolvedOptions): Http2Transport {
  const h2 = createSessionServer(ctx, options);
  const serveH2 = (socket: Duplex) => {
    h2.server.emit('connection', socket);
  };
  let server: net.Server;
  if (options.tls !== undefined) {
    const secure = tls.createServer({
      // The key material itself (not options.tls.context): tls.Server builds its own context from it.
      cert: options.tls.cert,
      key: options.tls.key,
      passphrase: options.tls.passphrase,
      ALPNProtocols: ['h2', 'http/1.1'],
      // A handshake is the first thing a client sends: the headers timeout covers it (slowloris).
      handshakeTimeout: ctx.settings.headersTimeout || 120_000,
      noDelay: true,
    });
    secure.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol === 'h2') serveH2(socket);
      else ctx.serveHttp1(socket); // http/1.1, or a client that offered no ALPN
    });
    // A failed handshake (garbage, a plain HTTP request, a closed socket) only ends that socket.
    secure.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => socket.destroy());
    server = secure;
  } else if (options.h2c) {
    server = net.createServer({ noDelay: true }, (socket) => {
      sniffPreface(socket, ctx.settings.headersTimeout, (s, isH2) => (isH2 ? serveH2(s) : ctx.serveHttp1(s)));
    });
  } else {
    server = net.createServer({ noDelay: true }, (socket) => ctx.serveHttp1(socket));
  }
  return {
    server,
    scheme: options.tls !== undefined ? 'https' : 'http',
    connections: h2.sessions,
    close: h2.close,
    destroy: h2.destroy,
    serveH2,
  };
}
