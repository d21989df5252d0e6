// App routes that take WebSocket connections: `app.route('/chat', wsRoute(config, handlers))`.
import { commitState, HttpError, ResponseValue, type Handler } from '@skitai/app';
import { type Args } from '@skitai/app';
import { type Was } from '@skitai/kernel';
import { appDispatch, pendingOf } from './server.js';
import type { WsConfig, WsHandlers } from './types.js';

/**
 * An App route handler for WebSocket connections. The upgrade request passes the app's
 * beforeRequest hooks, authentication, CORS origin rules and parameter checks like any
 * request, then `init` runs (it may change the config or refuse), then the 101 goes out and
 * `open`, `message` and `close` follow. `handlers` may be a bare message handler.
 *
 *   app.route('/echo', wsRoute({ mode: 'simple', keepAlive: 60 }, (was, message) => `ECHO:${message}`));
 *
 * A plain HTTP request to the route gets 426 Upgrade Required.
 */
export function wsRoute<M = any>(config: WsConfig, handlers: WsHandlers<M> | WsHandlers<M>['message']): Handler {
  const h: WsHandlers<M> = typeof handlers === 'function' ? { message: handlers } : handlers;
  if (typeof h?.message !== 'function') throw new TypeError('wsRoute: a message handler is required');
  return async function websocketRoute(was: Was, args: Args): Promise<unknown> {
    const pending = pendingOf(was.req);
    if (pending === undefined || pending.state !== 'pending') {
      throw new HttpError(426, 'this URL takes WebSocket connections', { headers: { Upgrade: 'websocket' } });
    }
    const server = pending.server;
    let cfg: WsConfig = config;
    if (h.init) {
      const out = await h.init(was, args);
      if (out instanceof ResponseValue) return out;
      if (out === false) throw new HttpError(403, 'this WebSocket was refused');
      if (out !== null && typeof out === 'object') cfg = { ...cfg, ...(out as WsConfig) };
    }
    const mode = cfg.mode ?? 'simple';
    let room: string | undefined;
    if (mode === 'groupchat') {
      const param = cfg.roomParam ?? server.options.roomParam;
      let value: unknown = cfg.room ?? args[param];
      if (Array.isArray(value)) value = value[0];
      if (value === undefined || value === null || value === '')
        throw new HttpError(400, `a groupchat WebSocket needs the ${param} parameter`);
      room = String(value);
    }
    commitAppState(was);
    server.accept(
      pending,
      {
        mode,
        encoding: cfg.encoding ?? 'none',
        keepAlive: cfg.keepAlive ?? server.options.keepAlive / 1000,
        room,
      },
      appDispatch(h as WsHandlers, was, args, server.options.wasContext),
      was,
    );
    return undefined;
  };
}

/**
 * Writes the App's session and message-box cookies onto the response before the 101, as the
 * App does right before a page's head goes out; the 101 carries the response's Set-Cookie.
 */
function commitAppState(was: Was): void {
  commitState(was, true);
}
