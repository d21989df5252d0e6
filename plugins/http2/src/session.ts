import http2 from 'node:http2';
import { sendError, type TransportContext } from '@skitai/kernel';
import { Http2Request, Http2Response } from './compat.js';
import { setPushTarget } from './hints.js';
import { createIdleSweep } from './idle.js';
import type { ResolvedOptions } from './options.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

/**
 * The node:http2 server that sessions are made on, for TLS sockets that chose h2 and plain
 * sockets that opened with the preface or upgraded. It never listens itself: connections are
 * handed to it ('connection'). Requests go through the kernel's request path.
 */
export function createSessionServer(ctx: TransportContext, options: ResolvedOptions) {
  const { settings } = ctx;
  const server = http2.createServer({
    Http2ServerRequest: Http2Request as any,
    Http2ServerResponse: Http2Response as any,
    settings: {
      maxConcurrentStreams: options.maxConcurrentStreams,
      maxHeaderListSize: options.maxHeaderListSize ?? settings.maxHeaderSize,
      enablePush: false, // a server's own setting: clients may not push (RFC 9113 section 8.4)
    },
    maxSessionMemory: options.maxSessionMemory,
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  const idle = settings.keepAliveTimeout > 0 ? createIdleSweep(settings.keepAliveTimeout) : undefined;

  const onRequest = (req: Http2Request, res: Http2Response) => {
    const stream = req.stream;
    // A request with a body must arrive whole in the request timeout, as over HTTP/1.1.
    if (!stream.endAfterHeaders && settings.requestTimeout > 0) {
      const timer = setTimeout(() => {
        if (!res.headersSent) {
          sendError(req as any, res as any, 408, 'the request body did not arrive in time');
          res.once('finish', () => {
            if (!stream.closed) stream.close(NGHTTP2_NO_ERROR);
          });
        } else if (!stream.closed) {
          stream.close(NGHTTP2_CANCEL);
        }
      }, settings.requestTimeout);
      const clear = () => clearTimeout(timer);
      req.once('end', clear);
      stream.once('close', clear);
    }
    ctx.dispatch(req as any, res as any);
  };
  server.on('request', onRequest);
  server.on('checkContinue', (req: Http2Request, res: Http2Response) => ctx.checkContinue(req as any, res as any));

  const pushTarget = {
    enabled: options.push,
    serve: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      // A pushed GET goes the way a client's would: 'stream' makes the compatibility request.
      const raw: string[] = [];
      for (const name of Object.keys(headers)) raw.push(name, String(headers[name]));
      server.emit('stream', stream, headers, 0, raw);
    },
  };

  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // A session error is the peer's fault (bad frames, floods): node already sent GOAWAY.
    session.on('error', () => {});
    setPushTarget(session, pushTarget);
    if (ctx.stopping()) session.close();
    else idle?.watch(session);
  });
  server.on('sessionError', () => {});
  server.on('sessionError', () => {});

  return {
    server,
    sessions: () => sessions.size,
    close: () => {
      idle?.stop();
      for (const s of sessions) if (!s.closed) s.close();
    },
    destroy: () => {
      idle?.stop();
      for (const s of sessions) s.destroy();
    },
  };
}
