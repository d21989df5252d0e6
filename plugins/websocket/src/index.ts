// @skitai/websocket: WebSocket on the kernel's routes and hooks, on `ws`.
export { websocket, websocketServer, NAME, VERSION } from './plugin.js';
export { wsRoute } from './route.js';
export { toClient, Directed, Connection, WsServer } from './server.js';
export { WebSocketService } from './service.js';
export { UpgradeRequest } from './upgrade.js';
export { connect, WsClient, WsTimeoutError, WsClosedError, type WsClientOptions } from './client.js';
export { processAdapter, BROADCAST_EVENT, type RoomAdapter, type WireMessage } from './rooms.js';
export type { XmlRpcMessage } from './encoding.js';
export * from './types.js';
