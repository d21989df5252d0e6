// The chat example (`@skitai/websocket/chat`): a page that joins a room (?roomid=) and a
// groupchat route, JSON messages. Mount it anywhere: kernel.mount('/chat', createChatApp())
// serves the page at /chat/ and the WebSocket at /chat/chat?roomid=...&name=... (the page
// connects relative to itself).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from '@skitai/app';
import { wsRoute } from './route.js';

/** The page: chat.html at the package's root (this file runs from dist/src). */
export const CHAT_PAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../chat.html');

export function createChatApp(): App {
  const app = new App();
  const page = fs.readFileSync(CHAT_PAGE, 'utf8');
  app.route('/', () => page);
  app.route(
    '/chat',
    wsRoute(
      { mode: 'groupchat', encoding: 'json', keepAlive: 60 },
      {
        open: (was, args) => ({
          type: 'enter',
          client: was.wsclient,
          name: String(args.name ?? `client ${was.wsclient}`),
        }),
        message: (was, message: { text?: unknown; to?: unknown }, args) => {
          const say = {
            type: 'say',
            client: was.wsclient,
            name: String(args.name ?? `client ${was.wsclient}`),
            text: String(message?.text ?? ''),
          };
          // { to: clientId }: to that client only, in whichever worker it is.
          if (typeof message?.to === 'number') {
            was.websocket.send({ ...say, private: true }, message.to);
            return undefined;
          }
          return say;
        },
        close: (was, args) => ({
          type: 'leave',
          client: was.wsclient,
          name: String(args.name ?? `client ${was.wsclient}`),
        }),
      },
    ),
  );
  return app;
}
