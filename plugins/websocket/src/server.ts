// One kernel's WebSocket server: the handshake, connections, rooms, keep-alive, limits, shutdown.
import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { runWithWas } from '@skitai/services';
import { type Args } from '@skitai/app';
import { type Kernel, type SkitaiRequest, type SkitaiResponse, type Was } from '@skitai/kernel';
import { asBuffer, asText, decode, DecodeError, encode, encodeFault, type Frame } from './encoding.js';
import { defaultAdapter, type RoomAdapter, type WireMessage } from './rooms.js';
import type { PlainWsHandlers, WebSocketOptions, WsConfig, WsEncoding, WsHandlers, WsMode } from './types.js';
import { WebSocketService } from './service.js';
import { guardUtf8 } from './utf8-guard.js';

export interface ResolvedOptions {
  maxMessageSize: number;
  maxFragments: number;
  failFastUtf8: boolean;
  perMessageDeflate: WebSocketOptions['perMessageDeflate'];
  keepAlive: number;
  pingTimeout: number;
  maxBufferedAmount: number;
  backpressure: 'close' | 'drop';
  maxPendingMessages: number;
  handshakeTimeout: number;
  closeTimeout: number;
  roomParam: string;
  wasContext: boolean;
  allowOrigin: ((origin: string, req: SkitaiRequest) => boolean) | undefined;
}

function positive(name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new TypeError(
      `@skitai/websocket: ${name} must be a number ${allowZero ? '0 or more' : 'over 0'}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function originCheck(allow: WebSocketOptions['allowOrigins']): ResolvedOptions['allowOrigin'] {
  if (allow === undefined) return undefined;
  if (typeof allow === 'function') return allow;
  if (!Array.isArray(allow))
    throw new TypeError('@skitai/websocket: allowOrigins must be a list of origins or a function');
  const set = new Set(allow.map((o) => String(o).toLowerCase().replace(/\/+$/, '')));
  return (origin) => set.has('*') || set.has(origin.toLowerCase());
}

export function resolveOptions(o: WebSocketOptions = {}): ResolvedOptions {
  if (o.backpressure !== undefined && o.backpressure !== 'close' && o.backpressure !== 'drop') {
    throw new TypeError(
      `@skitai/websocket: backpressure must be 'close' or 'drop', not ${JSON.stringify(o.backpressure)}`,
    );
  }
  return {
    maxMessageSize: positive('maxMessageSize', o.maxMessageSize, 1024 * 1024),
    maxFragments: positive('maxFragments', o.maxFragments, 1024),
    failFastUtf8: o.failFastUtf8 !== false,
    perMessageDeflate: o.perMessageDeflate ?? false,
    keepAlive: positive('keepAlive', o.keepAlive, 60, true) * 1000,
    pingTimeout: positive('pingTimeout', o.pingTimeout, 10) * 1000,
    maxBufferedAmount: positive('maxBufferedAmount', o.maxBufferedAmount, 4 * 1024 * 1024),
    backpressure: o.backpressure ?? 'close',
    maxPendingMessages: positive('maxPendingMessages', o.maxPendingMessages, 64),
    handshakeTimeout: positive('handshakeTimeout', o.handshakeTimeout, 10) * 1000,
    closeTimeout: positive('closeTimeout', o.closeTimeout, 3) * 1000,
    roomParam: o.roomParam ?? 'roomid',
    wasContext: o.wasContext === true,
    allowOrigin: originCheck(o.allowOrigins),
  };
}

// ---- the upgrade's response and its socket --------------------------------------------------
// The response of an upgrade request gets the socket only when something is written to it (a
// refusal: 401, 403, 404 ...); an accepted upgrade never hands the socket to it. An upgraded
// socket that had been given a response and taken back left V8's property loads in node's
// stream code (Readable.read, clearBuffer) megamorphic: about 0.9k instructions per echoed
// message under callgrind, 3-4% of an echo. The response's public writing methods (write,
// end, flushHeaders) hand it the socket on first use: own properties, so that they stay when
// a framework swaps the prototype (Express does), removed once the socket is handed over.

const heldSockets = new WeakMap<object, Socket>();
const WRITERS = ['write', 'end', 'flushHeaders'] as const;

function writeHeld(this: SkitaiResponse, ...args: unknown[]): unknown {
  takeSocket(this);
  return (this.write as (...a: unknown[]) => unknown).apply(this, args);
}
function endHeld(this: SkitaiResponse, ...args: unknown[]): unknown {
  takeSocket(this);
  return (this.end as (...a: unknown[]) => unknown).apply(this, args);
}
function flushHeadersHeld(this: SkitaiResponse): void {
  takeSocket(this);
  this.flushHeaders();
}

/** Holds the socket back from the response until it first writes. */
export function holdSocket(res: SkitaiResponse, socket: Socket): void {
  heldSockets.set(res, socket);
  const own = res as unknown as Record<string, unknown>;
  own.write = writeHeld;
  own.end = endHeld;
  own.flushHeaders = flushHeadersHeld;
}

function unhold(res: SkitaiResponse): boolean {
  if (!heldSockets.delete(res)) return false;
  const own = res as unknown as Record<string, unknown>;
  for (const name of WRITERS) delete own[name];
  return true;
}

/** Hands the held socket to the response (assignSocket). False when it had none held. */
export function takeSocket(res: SkitaiResponse): boolean {
  const socket = heldSockets.get(res);
  if (socket === undefined || !unhold(res)) return false;
  res.assignSocket(socket);
  return true;
}

/** The 101 takes the socket, or the client went away: the response never gets it. */
export function releaseSocket(res: SkitaiResponse): boolean {
  return unhold(res);
}

/** An upgrade between the request and the 101 (or the refusal). */
export class PendingUpgrade {
  state: 'pending' | 'accepted' | 'refused' = 'pending';
  clientId = 0;
  connection: Connection | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  constructor(
    readonly server: WsServer,
    readonly req: SkitaiRequest,
    readonly socket: Duplex,
    readonly head: Buffer,
    readonly res: SkitaiResponse,
  ) {}
}

/** How a connection calls back into its route: App handlers (was, message, args) or plain ones. */
export interface Dispatch {
  open(conn: Connection): unknown;
  message(conn: Connection, message: unknown): unknown;
  close(conn: Connection, code: number, reason: string): unknown;
  /**
   * The App's message handler, called straight as `direct(was, message, args)` instead of
   * through `message` (one call less per message); unset where `message` does more (the was
   * context, plain handlers).
   */
  direct?: ((was: Was, message: unknown, args: Args) => unknown) | undefined;
  was?: Was;
  args?: Args;
}

/**
 * App handlers: open and close run inside the request's `was` context (the imported `was`
 * works in them); message handlers too with the `wasContext` option.
 */
export function appDispatch(handlers: WsHandlers, was: Was, args: Args, wasContext: boolean): Dispatch {
  const message = handlers.message;
  return {
    open: handlers.open ? () => runWithWas(was, () => handlers.open!(was, args)) : () => undefined,
    message: wasContext ? (_c, m) => runWithWas(was, () => message(was, m, args)) : (_c, m) => message(was, m, args),
    close: handlers.close
      ? (_c, code, reason) => runWithWas(was, () => handlers.close!(was, args, code, reason))
      : () => undefined,
    direct: wasContext ? undefined : message,
    was,
    args,
  };
}

export function plainDispatch(handlers: PlainWsHandlers): Dispatch {
  return {
    open: handlers.open ? (c) => handlers.open!(c.service) : () => undefined,
    message: (c, m) => handlers.message(m, c.service),
    close: handlers.close ? (c, code, reason) => handlers.close!(c.service, code, reason) : () => undefined,
  };
}

/** A value returned to go to one client: `return toClient(id, 'Hi')` (Skitai's `return 'Hi', id`). */
export class Directed {
  constructor(
    readonly clientId: number,
    readonly message: unknown,
  ) {}
}
export function toClient(clientId: number, message: unknown): Directed {
  return new Directed(clientId, message);
}

const TEXT = { binary: false };
const BINARY = { binary: true };

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** One open WebSocket. */
export class Connection {
  readonly service: WebSocketService;
  readonly sequential: boolean;
  room: Set<Connection> | undefined = undefined;
  closed = false;
  private busy = false;
  private queue: Array<[RawData, boolean]> = [];
  private pending = 0;
  private paused = false;
  private lastSeen = Date.now();
  /** A message came since the last keep-alive check (a flag per message, not a clock read). */
  private seen = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private pinged = false;
  /** Per message, read once here: the App handler called straight, its was and args, the send limit. */
  private readonly direct: Dispatch['direct'];
  private readonly directWas: Was | undefined;
  private readonly directArgs: Args | undefined;
  private readonly maxBuffered: number;

  constructor(
    readonly server: WsServer,
    readonly id: number,
    readonly ws: WebSocket,
    readonly req: SkitaiRequest,
    readonly mode: WsMode,
    readonly encoding: WsEncoding,
    readonly keepAlive: number,
    readonly roomKey: string | undefined,
    readonly roomName: string | undefined,
    private readonly dispatch: Dispatch,
    readonly was: Was | undefined,
  ) {
    this.sequential = mode !== 'threadsafe';
    this.service = new WebSocketService(server, this);
    this.direct = dispatch.direct;
    this.directWas = dispatch.was;
    this.directArgs = dispatch.args;
    this.maxBuffered = server.options.maxBufferedAmount;
  }

  start(): void {
    const ws = this.ws;
    ws.on('message', this.onMessage);
    ws.on('pong', () => this.onPong());
    ws.on('ping', () => {
      this.lastSeen = Date.now();
    });
    ws.on('error', (err) => this.server.log('info', `websocket #${this.id}: ${err.message}`));
    ws.once('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    if (this.keepAlive > 0) this.timer = setTimeout(() => this.checkIdle(), this.keepAlive);
    this.callAndDeliver(() => this.dispatch.open(this));
  }

  // ---- receiving ---------------------------------------------------------------------------

  /** ws' 'message' listener itself (an arrow: no closure around a method call per message). */
  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    this.seen = true;
    if (this.busy) {
      // only ever set in the sequential modes
      this.queue.push([data, isBinary]);
      this.throttle();
      return;
    }
    this.handle(data, isBinary);
    if (this.pending > 0) this.throttle();
  };

  private handle(data: RawData, isBinary: boolean): void {
    let message: unknown;
    if (this.encoding === 'none') {
      message = isBinary ? asBuffer(data) : asText(data);
    } else {
      try {
        message = decode(this.encoding, data, isBinary);
      } catch (err) {
        if (err instanceof DecodeError) {
          this.close(1007, err.message.slice(0, 120));
          return;
        }
        throw err;
      }
    }
    let out: unknown;
    try {
      const direct = this.direct;
      out =
        direct !== undefined
          ? direct(this.directWas!, message, this.directArgs!)
          : this.dispatch.message(this, message);
    } catch (err) {
      this.failed(err);
      return;
    }
    // An echo: the handler gave back the text it was handed. Its UTF-8 is the bytes that came
    // in (ws validates text messages as UTF-8: skipUTF8Validation is never set here), so those
    // go out as they are, in a text frame, not encoded again.
    if (
      out === message &&
      typeof out === 'string' &&
      this.encoding === 'none' &&
      this.room === undefined &&
      Buffer.isBuffer(data)
    ) {
      this.write(data, false);
      return;
    }
    this.result(out);
  }

  /** Calls a handler (open) and sends what it returns. */
  private callAndDeliver(call: () => unknown): void {
    let out: unknown;
    try {
      out = call();
    } catch (err) {
      this.failed(err);
      return;
    }
    this.result(out);
  }

  /** Sends a handler's value; an async one holds the next message back in the sequential modes. */
  private result(out: unknown): void {
    if (!isThenable(out)) {
      this.deliver(out);
      return;
    }
    if (this.sequential) this.busy = true;
    this.pending++;
    out.then(
      (value) => {
        this.deliver(value);
        this.settled();
      },
      (err) => {
        this.failed(err);
        this.settled();
      },
    );
  }

  private settled(): void {
    this.pending--;
    this.busy = false;
    while (!this.busy && this.queue.length > 0 && !this.closed) {
      const [data, isBinary] = this.queue.shift()!;
      this.handle(data, isBinary);
    }
    this.throttle();
  }

  /** Inbound backpressure: stop reading while too many messages wait for their handler. */
  private throttle(): void {
    const waiting = this.queue.length + this.pending;
    const max = this.server.options.maxPendingMessages;
    if (!this.paused && waiting >= max) {
      this.paused = true;
      this.ws.pause();
    } else if (this.paused && waiting < max / 2) {
      this.paused = false;
      this.ws.resume();
    }
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    if (this.encoding === 'xmlrpc') {
      this.sendFrame(encodeFault(err));
      return;
    }
    this.server.log('error', `websocket #${this.id} ${this.req.originalUrl}: ${(err as Error)?.stack ?? err}`);
    this.close(1011, 'the handler failed');
  }

  private deliver(value: unknown): void {
    if (value === undefined || value === null || this.closed) return;
    if (value instanceof Directed) {
      this.server.sendTo(value.clientId, value.message, this.encoding);
      return;
    }
    if (this.room !== undefined) this.server.sendRoom(this.roomKey!, value, this.encoding);
    else this.send(value);
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Encodes and sends to this client. False when nothing was sent (closed, over the limit, nothing to send). */
  send(value: unknown): boolean {
    // The common case first: a string reply with no encoding, no frame object.
    if (typeof value === 'string' && this.encoding === 'none') return this.write(value, false);
    const frame = encode(this.encoding, value);
    return frame === undefined ? false : this.write(frame.data, frame.binary);
  }

  sendFrame(frame: Frame): boolean {
    return this.write(frame.data, frame.binary);
  }

  private write(data: string | Buffer, binary: boolean): boolean {
    const ws = this.ws;
    if (this.closed || ws.readyState !== 1 /* OPEN */) return false;
    if (ws.bufferedAmount > this.maxBuffered) {
      this.overflow();
      return false;
    }
    ws.send(data, binary ? BINARY : TEXT);
    return true;
  }

  /** Outbound backpressure: the client reads slower than we write. */
  private overflow(): void {
    if (this.server.options.backpressure === 'drop') {
      this.server.stats.dropped++;
      return;
    }
    this.server.stats.cut++;
    this.server.log(
      'warn',
      `websocket #${this.id}: over ${this.server.options.maxBufferedAmount} bytes queued for a slow reader: connection cut`,
    );
    this.closed = true;
    this.ws.terminate();
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(code, reason);
  }

  // ---- keep-alive --------------------------------------------------------------------------

  private checkIdle(): void {
    if (this.closed) return;
    if (this.pinged) {
      // No pong in time: the peer is gone or stuck.
      this.server.stats.idleClosed++;
      this.ws.close(1001, 'keep-alive timeout');
      this.timer = setTimeout(() => this.ws.terminate(), this.server.options.pingTimeout);
      this.timer.unref();
      return;
    }
    const now = Date.now();
    if (this.seen) {
      // Messages came since the last check: the last one at most a check interval ago.
      this.seen = false;
      this.lastSeen = now;
    }
    const idle = now - this.lastSeen;
    if (idle < this.keepAlive) {
      // While messages come, checks run every quarter of the keep-alive, so that a ping
      // follows the last frame after 1 to 1.25 keep-alives.
      this.timer = setTimeout(() => this.checkIdle(), Math.min(this.keepAlive - idle, Math.ceil(this.keepAlive / 4)));
      return;
    }
    this.pinged = true;
    this.ws.ping();
    this.timer = setTimeout(() => this.checkIdle(), this.server.options.pingTimeout);
  }

  private onPong(): void {
    this.lastSeen = Date.now();
    if (this.pinged) {
      this.pinged = false;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.checkIdle(), this.keepAlive);
    }
  }

  private onClose(code: number, reason: string): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.server.remove(this);
    let out: unknown;
    try {
      out = this.dispatch.close(this, code, reason);
    } catch (err) {
      this.server.log('error', `websocket #${this.id} close handler: ${(err as Error)?.stack ?? err}`);
      return;
    }
    const leave = (value: unknown) => {
      if (value === undefined || value === null || this.roomKey === undefined) return;
      if (value instanceof Directed) this.server.sendTo(value.clientId, value.message, this.encoding);
      else this.server.sendRoom(this.roomKey, value, this.encoding);
    };
    if (isThenable(out))
      out.then(leave, (err) =>
        this.server.log('error', `websocket #${this.id} close handler: ${(err as Error)?.stack ?? err}`),
      );
    else leave(out);
  }
}

/** The WebSocket side of one kernel. */
export class WsServer {
  readonly options: ResolvedOptions;
  readonly wss: WebSocketServer;
  readonly connections = new Map<number, Connection>();
  readonly rooms = new Map<string, Set<Connection>>();
  readonly pending = new Set<PendingUpgrade>();
  readonly stats = { accepted: 0, refused: 0, dropped: 0, cut: 0, idleClosed: 0 };
  adapter: RoomAdapter | undefined = undefined;
  private unsubscribe: (() => void) | undefined = undefined;
  private seq = 0;
  private idBase = -1;
  stopping = false;

  constructor(
    readonly kernel: Kernel,
    rawOptions: WebSocketOptions,
  ) {
    this.options = resolveOptions(rawOptions);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.options.maxMessageSize,
      maxFragments: this.options.maxFragments,
      perMessageDeflate: this.options.perMessageDeflate,
    });
    // Cookies set before the accept (a session started in beforeRequest) go out with the 101.
    this.wss.on('headers', (headers, req) => {
      const pending = pendingOf(req as SkitaiRequest);
      const cookies = pending?.res.getHeader('set-cookie');
      if (cookies !== undefined)
        for (const c of Array.isArray(cookies) ? cookies : [String(cookies)]) headers.push(`Set-Cookie: ${c}`);
    });
  }

  attachAdapter(option: WebSocketOptions['adapter']): void {
    this.adapter = typeof option === 'function' ? option(this.kernel) : (option ?? defaultAdapter(this.kernel));
    this.unsubscribe = this.adapter?.subscribe((m) => this.receive(m));
  }

  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.kernel.logs.log(level === 'error' ? 'app' : 'server', level, message);
  }

  /**
   * Client ids: 1, 2, 3 ... in a single process; 1000000001 ... in W0, 2000000001 ... in W1
   * (unique across workers); with state shared across instances, N000000001 ... where N is the
   * process number the instance bridge holds (unique across instances).
   */
  nextId(): number {
    if (this.idBase < 0) {
      const shared = this.kernel.instanceBridge?.processNumber;
      const m = /^W(\d+)$/.exec(this.kernel.workerId);
      this.idBase = shared !== undefined ? shared * 1_000_000_000 : m ? (Number(m[1]) + 1) * 1_000_000_000 : 0;
    }
    return this.idBase + ++this.seq;
  }

  /** The handshake: 101 and a Connection, or undefined when the client went away meanwhile. */
  accept(
    pending: PendingUpgrade,
    config: Required<Pick<WsConfig, 'mode' | 'encoding' | 'keepAlive'>> & { room?: string },
    dispatch: Dispatch,
    was: Was | undefined,
  ): Connection | undefined {
    if (pending.state !== 'pending') throw new Error('@skitai/websocket: this upgrade was already accepted or refused');
    const { req, socket, head, res } = pending;
    clearTimeout(pending.timer);
    this.pending.delete(pending);
    pending.state = 'accepted';
    // The response object never writes now: the socket belongs to ws. (An upgrade's response
    // only has the socket if something was written to it.)
    if (!releaseSocket(res) && res.socket === socket) res.detachSocket(socket as Socket);
    res.end();
    if (this.stopping) {
      socket.destroy();
      return undefined;
    }
    let ws: WebSocket | undefined;
    this.wss.handleUpgrade(req, socket, head, (w) => {
      ws = w;
    });
    if (ws === undefined) return undefined;
    const id = pending.clientId || this.nextId();
    const url = req.originalUrl || req.url || '/';
    const q = url.indexOf('?');
    const roomKey =
      config.mode === 'groupchat' && config.room !== undefined
        ? `${q === -1 ? url : url.slice(0, q)}#${config.room}`
        : undefined;
    const conn = new Connection(
      this,
      id,
      ws,
      req,
      config.mode,
      config.encoding,
      config.keepAlive * 1000,
      roomKey,
      config.room,
      dispatch,
      was,
    );
    pending.connection = conn;
    this.connections.set(id, conn);
    if (roomKey !== undefined) {
      let room = this.rooms.get(roomKey);
      if (room === undefined) this.rooms.set(roomKey, (room = new Set()));
      room.add(conn);
      conn.room = room;
    }
    this.stats.accepted++;
    if (this.options.failFastUtf8)
      guardUtf8(socket as Socket, () => conn.close(1007, 'invalid UTF-8 in a text message'));
    conn.start();
    return conn;
  }

  remove(conn: Connection): void {
    this.connections.delete(conn.id);
    if (conn.room !== undefined) {
      conn.room.delete(conn);
      if (conn.room.size === 0 && this.rooms.get(conn.roomKey!) === conn.room) this.rooms.delete(conn.roomKey!);
    }
  }

  // ---- delivery, here and in other processes ------------------------------------------------

  /** To every member of a room, in every process. */
  sendRoom(roomKey: string, value: unknown, encoding: WsEncoding, except?: number): number {
    const frame = encode(encoding, value);
    if (frame === undefined) return 0;
    const n = this.deliverRoom(roomKey, frame, except);
    this.adapter?.publish({ t: 'room', room: roomKey, except, ...toWire(frame) });
    return n;
  }

  private deliverRoom(roomKey: string, frame: Frame, except?: number): number {
    const room = this.rooms.get(roomKey);
    if (room === undefined) return 0;
    // Encode text once for the whole room, not once per member.
    if (room.size > 1 && typeof frame.data === 'string')
      frame = { data: Buffer.from(frame.data), binary: frame.binary };
    let n = 0;
    for (const c of room) if (c.id !== except && c.sendFrame(frame)) n++;
    return n;
  }

  /** To one client id, here or in another process. True when sent here or handed to the adapter. */
  sendTo(clientId: number, value: unknown, encoding: WsEncoding): boolean {
    const frame = encode(encoding, value);
    if (frame === undefined) return false;
    const local = this.connections.get(clientId);
    if (local !== undefined) return local.sendFrame(frame);
    if (this.adapter === undefined) return false;
    this.adapter.publish({ t: 'client', id: clientId, ...toWire(frame) });
    return true;
  }

  private receive(m: WireMessage): void {
    const frame: Frame = { data: m.b64 ? Buffer.from(m.data, 'base64') : m.data, binary: m.b64 === true };
    if (m.t === 'room') this.deliverRoom(m.room, frame, m.except);
    else if (m.t === 'client') this.connections.get(m.id)?.sendFrame(frame);
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /** 1001 to every socket; whatever has not closed after closeTimeout is cut. */
  async close(): Promise<void> {
    this.stopping = true;
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.socket.destroy();
    }
    this.pending.clear();
    const open = [...this.connections.values()];
    const closed = open.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
        }),
    );
    for (const c of open) c.close(1001, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.closeTimeout);
    });
    const outcome = await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      for (const c of this.connections.values()) c.ws.terminate();
      await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 200))]);
    }
    this.unsubscribe?.();
    await this.adapter?.close?.();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function toWire(frame: Frame): { data: string; b64?: true } {
  return typeof frame.data === 'string' ? { data: frame.data } : { data: frame.data.toString('base64'), b64: true };
}

// ---- pending upgrades by request (the route handler finds its upgrade here) -----------------

const pendingByReq = new WeakMap<object, PendingUpgrade>();
export function pendingOf(req: SkitaiRequest | undefined): PendingUpgrade | undefined {
  return req === undefined ? undefined : pendingByReq.get(req);
}
export function setPending(req: SkitaiRequest, p: PendingUpgrade): void {
  pendingByReq.set(req, p);
}

const servers = new WeakMap<object, WsServer>();
export function serverOf(kernel: Kernel): WsServer | undefined {
  return servers.get(kernel);
}
export function setServer(kernel: Kernel, server: WsServer): void {
  servers.set(kernel, server);
}
