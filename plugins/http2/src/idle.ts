import type { ServerHttp2Session } from 'node:http2';

/** Sweeps a keep-alive timeout takes: a session is closed after idling 1 to 1.25 timeouts. */
const SWEEPS = 4;

interface Watched {
  read: number;
  written: number;
  /** Sweeps in a row that saw no byte either way. */
  quiet: number;
}

/**
 * Closes HTTP/2 sessions that stayed idle (no byte read or written) for the keep-alive timeout:
 * GOAWAY, streams in flight finish. A session still there one timeout later is destroyed: that
 * is also the end of a session nghttp2 refused with a GOAWAY of its own (bad frames), which
 * node:http2 stops reading without closing, so the peer's close goes unseen.
 *
 * node:http2's own session timeout (server.setTimeout) does this by refreshing a timer on every
 * frame read or written, a timer-list insert each time, several per request; this looks at each
 * session's byte counts a few times per timeout instead, so a request costs nothing here.
 */
export function createIdleSweep(timeoutMs: number) {
  const watched = new Map<ServerHttp2Session, Watched>();
  let timer: NodeJS.Timeout | undefined;

  const counts = (session: ServerHttp2Session): [number, number] | undefined => {
    // session.socket is node's proxy of the connection's socket: its byte counts, TLS or not.
    // It throws once the session let its socket go (destroyed): undefined then.
    try {
      const socket = session.socket;
      return [socket.bytesRead, socket.bytesWritten];
    } catch {
      return undefined;
    }
  };

  const sweep = () => {
    for (const [session, w] of watched) {
      const now = session.destroyed ? undefined : counts(session);
      if (now === undefined) {
        watched.delete(session);
        continue;
      }
      const [read, written] = now;
      if (read !== w.read || written !== w.written) {
        w.read = read;
        w.written = written;
        w.quiet = 0;
        continue;
      }
      if (++w.quiet < SWEEPS) continue;
      w.quiet = 0;
      if (session.closed) session.destroy();
      else session.close();
    }
    if (watched.size === 0) stop();
  };

  function stop(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  }

  return {
    watch(session: ServerHttp2Session): void {
      const [read, written] = counts(session) ?? [0, 0];
      watched.set(session, { read, written, quiet: 0 });
      session.once('close', () => watched.delete(session));
      if (timer === undefined) {
        timer = setInterval(sweep, Math.max(1, Math.floor(timeoutMs / SWEEPS)));
        timer.unref();
      }
    },
    stop,
  };
}
