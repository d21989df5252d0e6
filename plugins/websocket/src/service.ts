// `was.websocket`: the current connection inside WebSocket handlers, sends to client ids anywhere.
import type { WsServer, Connection } from './server.js';
import type { WsEncoding } from './types.js';

/**
 * `was.websocket` (and the `ws` argument of plain handlers).
 *
 * Inside a WebSocket route it is the connection: `send(message)` goes to this client in the
 * simple and threadsafe modes, to the whole room in groupchat (Skitai's behaviour);
 * `send(message, clientId)` goes to one client, in this process or another worker.
 * In an ordinary HTTP route there is no connection: `send(message, clientId)` and
 * `sendRoom(path, room, message)` still reach WebSocket clients.
 *
 * Sends never throw: they return false when nothing was sent (closed socket, unknown id,
 * a slow reader over maxBufferedAmount), so timers and other async work may call them at any time.
 */
export class WebSocketService {
  constructor(
    private readonly server: WsServer | undefined,
    private readonly source: Connection | (() => Connection | undefined) | undefined,
  ) {}

  /** The connection, once accepted (undefined in an ordinary HTTP request). */
  get connection(): Connection | undefined {
    const s = this.source;
    return typeof s === 'function' ? s() : s;
  }

  /** This client's id (Skitai's was.wsclient()). */
  get client(): number | undefined {
    return this.connection?.id;
  }

  /** Whether the socket is open. */
  get open(): boolean {
    const c = this.connection;
    return c !== undefined && !c.closed && c.ws.readyState === 1;
  }

  /** Groupchat: the room's name ('1' for ?roomid=1). */
  get room(): string | undefined {
    return this.connection?.roomName;
  }

  /** Client ids in this room in this process (groupchat), or this client's own id. */
  get clients(): number[] {
    const c = this.connection;
    if (c === undefined) return [];
    if (c.room === undefined) return [c.id];
    return [...c.room].map((m) => m.id);
  }

  /** The route's encoding ('none' outside WebSocket routes). */
  get encoding(): WsEncoding {
    return this.connection?.encoding ?? 'none';
  }

  /** Sends, encoded with the route's encoding. See the class comment for where it goes. */
  send(message: unknown, clientId?: number): boolean {
    const c = this.connection;
    const server = this.server;
    if (server === undefined) return false;
    if (clientId !== undefined) {
      if (c !== undefined && clientId === c.id) return c.send(message);
      return server.sendTo(clientId, message, this.encoding);
    }
    if (c === undefined) {
      // In init (before the 101) there is no socket yet: nothing to send to.
      if (typeof this.source === 'function') return false;
      throw new TypeError('was.websocket.send: outside a WebSocket route, give the client id');
    }
    if (c.closed) return false;
    if (c.roomKey !== undefined) return server.sendRoom(c.roomKey, message, c.encoding) > 0;
    return c.send(message);
  }

  /**
   * To a groupchat room from anywhere: `sendRoom('/chat/room', '1', 'hello')` (the route's
   * path as clients request it, mount point included). Encoded with `encoding` (default 'none').
   * Returns the number of clients reached in this process.
   */
  sendRoom(path: string, room: string, message: unknown, encoding: WsEncoding = 'none'): number {
    return this.server?.sendRoom(`${path}#${room}`, message, encoding) ?? 0;
  }

  /** Closes this connection (code 1000 by default). */
  close(code = 1000, reason = ''): void {
    this.connection?.close(code, reason);
  }
}
