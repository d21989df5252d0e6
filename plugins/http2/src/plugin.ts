import { definePlugin, type Kernel, type Plugin, type SkitaiRequest, type TransportContext } from '@skitai/kernel';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import { checkOptions, resolveOptions, type Http2Options } from './options.js';
import { createTransport, type Http2Transport } from './transport.js';
import { spliceUpgrade, upgradeError, wantsH2c } from './upgrade.js';
import { startForward } from './forward.js';
import { hintPromise } from './hints.js';
import { Buffer } from 'node:buffer';

const NAME = '@skitai/http2';
const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

const REASONS: Record<number, string> = { 400: 'Bad Request', 411: 'Length Required', 413: 'Content Too Large' };

function refuse(socket: Duplex, status: number, why: string): void {
  const body = `${why}\n`;
  // Nothing more is read from this client: the socket ends once the answer is out.
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

export interface Http2Plugin extends Plugin {
  /** The port of the HTTPS redirect (`forward`) once the server listens. */
  readonly forwardPort: number | undefined;
}

/**
 * HTTP/2 and TLS on the kernel's port: `kernel.use(http2({ cert, key, passphrase }))` serves h2
 * and HTTP/1.1 (ALPN) over TLS; `kernel.use(http2())` serves h2c (prior knowledge and
 * `Upgrade: h2c`) beside HTTP/1.1 in clear text; `forward: 80` adds a plain port that
 * redirects every request to HTTPS.
 */
export function http2(options: Http2Options = {}): Http2Plugin {
  checkOptions(options);
  let forwardPort: number | undefined;
  const plugin = definePlugin({
    name: NAME,
    version: pkg.version,
    kernel: '^0.1.0',
    apply(kernel: Kernel) {
      const resolved = resolveOptions(kernel, options);
      let transport: Http2Transport | undefined;
      let context: TransportContext | undefined;
      kernel.setTransport((ctx) => {
        context = ctx;
        transport = createTransport(ctx, resolved);
        return transport;
      }, NAME);

      // Frameworks hint through the kernel (the App's was.response.hintPromise).
      kernel.hooks.hint.tap(NAME, (req, res, paths) => hintPromise(req, res, ...paths));

      if (resolved.tls === undefined && resolved.h2c) {
        kernel.hooks.upgrade.tap(NAME, (req: SkitaiRequest, socket: Duplex, head: Buffer) => {
          if (transport === undefined || !wantsH2c(req)) return undefined;
          const error = upgradeError(req);
          if (error !== undefined) refuse(socket, error.status, error.why);
          else spliceUpgrade(req, socket, head, context!.settings.headersTimeout, transport.serveH2);
          return true;
        });
      }

      if (resolved.forward !== undefined) {
        let forward: Awaited<ReturnType<typeof startForward>> | undefined;
        kernel.hooks.listening.tapPromise(NAME, async (info) => {
          forward = await startForward(
            resolved.forward!.address ?? info.address,
            resolved.forward!.port,
            info.port,
            context!.settings,
          );
          forwardPort = forward.port;
          kernel.logs.log('server', 'info', `${NAME}: port ${forward.port} redirects to https on port ${info.port}`);
        });
        kernel.hooks.shutdown.tapPromise(NAME, async () => {
          await forward?.close();
        });
      }
    },
  });
  return Object.freeze(
    Object.defineProperty({ ...plugin }, 'forwardPort', { get: () => forwardPort, enumerable: true }),
  ) as Http2Plugin;
}
