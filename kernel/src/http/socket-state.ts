import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// The kernel's own fields on an HTTP/1 connection's socket. initSocketState sets all of them
// when the connection opens, always in this order: added later (at the first request, at the
// send timeout's first sweep) they gave the sockets of a busy server different hidden classes
// depending on when each one got them, which turns node's own socket and stream code
// polymorphic under many connections (one connection, as the instruction count runs, never
// shows it).

/** The response the connection is busy with: set at dispatch, cleared when node detaches it. */
const kResponse = Symbol('skitai.response');
/** The send timeout's view of a connection: bytes moved at the last sweep, and since when. */
export const kMoved = Symbol('skitai.moved');
export const kSince = Symbol('skitai.since');

export type SocketState = Socket & {
  [kResponse]?: ServerResponse | undefined;
  [kMoved]?: number | undefined;
  [kSince]?: number | undefined;
};

/** Gives a new connection's socket every kernel field at once (see above). */
export function initSocketState(socket: Socket): void {
  const s = socket as SocketState;
  s[kResponse] = undefined;
  s[kMoved] = undefined;
  s[kSince] = undefined;
}

/** Marks `res` as the response its connection is serving (for clientError and the send timeout). */
export function markInFlight(socket: Socket, res: ServerResponse): void {
  (socket as SocketState)[kResponse] = res;
}

/**
 * Forgets `res` once node has detached it from its connection: an idle keep-alive connection
 * then holds no finished request and response (memory per idle connection, and fewer objects
 * for the young generation's collector to copy under load).
 */
export function releaseInFlight(socket: Socket, res: ServerResponse): void {
  const s = socket as SocketState;
  if (s[kResponse] === res) s[kResponse] = undefined;
}

/** The response last marked on this connection and not yet released, if any. */
export function responseOf(socket: Socket): ServerResponse | undefined {
  return (socket as SocketState)[kResponse];
}
