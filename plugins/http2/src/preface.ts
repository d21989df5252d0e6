import type { Socket } from 'node:net';
import { Buffer } from 'node:buffer';
import process from 'node:process';

/** The client connection preface of HTTP/2 (RFC 9113 section 3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Reads a plain connection's first bytes and says whether it opens with the HTTP/2 preface
 * (h2c by prior knowledge) or is HTTP/1.x. The bytes read go back to the socket (unshift), so
 * whichever server gets it next reads them first. A client that sends nothing is dropped
 * after `timeoutMs`.
 */
export function sniffPreface(socket: Socket, timeoutMs: number, route: (socket: Socket, h2: boolean) => void): void {
  let seen: Buffer | undefined;
  const cleanup = () => {
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
  };
  const decide = (h2: boolean) => {
    cleanup();
    socket.pause();
    socket.unshift(seen!);
    route(socket, h2);
    // node:http reads the unshifted bytes once the stream flows again, before any new I/O;
    // an HTTP/2 session reads them from the buffer itself.
    if (!h2) process.nextTick(() => socket.resume());
  };
  const onData = (chunk: Buffer) => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    if (seen.compare(PREFACE, 0, n, 0, n) !== 0) decide(false);
    else if (seen.length >= PREFACE.length) decide(true);
    // Otherwise a prefix of the preface: wait for the rest.
  };
  const onError = () => {
    cleanup();
    socket.destroy();
  };
  const onTimeout = () => {
    cleanup();
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('timeout', onTimeout);
  if (timeoutMs > 0) socket.setTimeout(timeoutMs);
}
