// The plugin: `kernel.use(websocket(options))`.
import { checkOptionKeys, definePlugin, type Kernel, type Plugin, type SkitaiRequest } from '@skitai/kernel';
import { connect, type WsClient, type WsClientOptions } from './client.js';
import { pendingOf, serverOf, setServer, WsServer } from './server.js';
import { WebSocketService } from './service.js';
import { onUpgrade } from './upgrade.js';
import type { WebSocketOptions } from './types.js';

export const NAME = '@skitai/websocket';
export const VERSION = '0.1.0';

declare module '@skitai/kernel' {
  interface Was {
    /** The WebSocket connection of this request (in WebSocket routes), or sends to client ids from anywhere. */
    readonly websocket: WebSocketService;
    /** This WebSocket client's id (Skitai's was.wsclient()); undefined outside WebSocket routes. */
    readonly wsclient: number | undefined;
    /** Connects to a backend WebSocket server: `ws://host/path` or `@alias/path`. */
    readonly ws: (url: string, options?: WsClientOptions) => Promise<WsClient>;
    /** As was.ws, over TLS. */
    readonly wss: (url: string, options?: WsClientOptions) => Promise<WsClient>;
  }
}

// Every key WebSocketOptions has (TypeScript keeps the two in step).
const OPTION_KEYS: Record<keyof WebSocketOptions, true> = {
  maxMessageSize: true,
  maxFragments: true,
  failFastUtf8: true,
  perMessageDeflate: true,
  keepAlive: true,
  pingTimeout: true,
  maxBufferedAmount: true,
  backpressure: true,
  maxPendingMessages: true,
  handshakeTimeout: true,
  closeTimeout: true,
  allowOrigins: true,
  wasContext: true,
  roomParam: true,
  adapter: true,
};

function apply(kernel: Kernel, options: WebSocketOptions = {}): void {
  if (serverOf(kernel)) throw new Error(`${NAME}: used twice on one kernel`);
  const server = new WsServer(kernel, options ?? {});
  setServer(kernel, server);
  const clients = new Set<WsClient>();

  kernel.hooks.upgrade.tap(NAME, (req, socket, head) => onUpgrade(server, req as SkitaiRequest, socket, head));

  kernel.extendWas(
    'websocket',
    (was) => {
      const p = pendingOf(was.req);
      return new WebSocketService(server, p === undefined ? undefined : () => p.connection);
    },
    NAME,
  );
  kernel.extendWas('wsclient', (was) => pendingOf(was.req)?.clientId, NAME);
  const client = (secure: boolean) => async (url: string, o?: WsClientOptions) => {
    const c = await connect(url, o, kernel, secure);
    clients.add(c);
    void c.closed.then(() => clients.delete(c));
    return c;
  };
  kernel.extendWas('ws', () => client(false), NAME);
  kernel.extendWas('wss', () => client(true), NAME);

  kernel.hooks.status.tap(NAME, (sections) => {
    if (kernel.processRole === 'master') return;
    const rooms = [...server.rooms].map(([room, members]) => ({ room, connections: members.size }));
    sections.push({
      name: 'websocket',
      title: 'WebSocket',
      data: {
        connections: server.connections.size,
        handshaking: server.pending.size,
        clients: clients.size,
        rooms: rooms.length === 0 ? '-' : rooms,
      },
      metrics: [
        {
          name: 'skitai_websocket_connections',
          help: 'Open WebSocket connections served.',
          type: 'gauge',
          samples: [{ value: server.connections.size }],
        },
        {
          name: 'skitai_websocket_clients',
          help: 'Open WebSocket client connections (was.ws).',
          type: 'gauge',
          samples: [{ value: clients.size }],
        },
      ],
    });
  });

  kernel.hooks.listening.tapPromise(NAME, async () => {
    // The process role is known by now: workers carry rooms through the master.
    server.attachAdapter(options?.adapter);
  });
  // Registered once the apps have registered theirs: shutdown taps run in reverse order, so
  // the sockets close (and their close handlers run) before the apps shut down.
  kernel.hooks.mounted.tapPromise(NAME, async () => {
    kernel.hooks.shutdown.tapPromise(NAME, async () => {
      await Promise.all([server.close(), ...[...clients].map((c) => c.close(1001, 'server shutting down'))]);
    });
  });
}

/** `kernel.use(websocket({ maxMessageSize, keepAlive, ... }))`. */
export function websocket(options: WebSocketOptions = {}): Plugin<WebSocketOptions> {
  checkOptionKeys(NAME, options, Object.keys(OPTION_KEYS));
  const plugin = definePlugin<WebSocketOptions>({
    name: NAME,
    version: VERSION,
    kernel: '^0.1.0',
    was: ['websocket', 'wsclient', 'ws', 'wss'],
    apply: (kernel, o) => {
      checkOptionKeys(NAME, o, Object.keys(OPTION_KEYS));
      apply(kernel, { ...options, ...(o ?? {}) });
    },
  });
  return plugin;
}

/** The WebSocket server of a kernel (stats, connections), once the plugin is applied. */
export function websocketServer(kernel: Kernel): WsServer | undefined {
  return serverOf(kernel);
}
