// Helpers for the cache's tests over real sockets: a backend that counts its calls and answers
// what each test scripts, and a kernel with services, the gateway and cachefs in front of it.
// Not under test/: node 20 runs every .js there.
import http from 'node:http';
import net from 'node:net';
import { Kernel } from '@skitai/kernel';
import { services } from '@skitai/services';
import { gateway, type GatewayOptions } from '@skitai/gateway';
import { cachefs, type CachefsOptions, type CachefsPlugin } from '../src/index.js';

export interface Call {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export type Script = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

export interface Backend {
  port: number;
  member: string;
  url: string;
  /** Every request it got, in order. */
  calls: Call[];
  /** Calls of one path. */
  count(path: string): number;
  /** What it answers (changeable between requests). */
  script: Script;
  close(): Promise<void>;
}

/** Answers `body` (1 KiB of 'x' by default) with the given headers. */
export function answer(
  headers: http.OutgoingHttpHeaders,
  body: string | Buffer = 'x'.repeat(1024),
  status = 200,
): Script {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
}

export async function startBackend(script: Script = answer({ 'cache-control': 'max-age=60' })): Promise<Backend> {
  const calls: Call[] = [];
  const backend = {} as Backend;
  const server = http.createServer((req, res) => {
    calls.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    req.on('end', () => backend.script(req, res, calls.length));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  Object.assign(backend, {
    port,
    member: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    calls,
    script,
    count: (path: string) => calls.filter((c) => c.url === path).length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return backend;
}

export interface Front {
  kernel: Kernel;
  port: number;
  url: string;
  cache: CachefsPlugin;
  stop(): Promise<void>;
}

export interface FrontSetup {
  backend: Backend;
  cache?: CachefsOptions;
  gateway?: GatewayOptions;
  logpath?: string;
  setup?: (kernel: Kernel, cache: CachefsPlugin) => void;
}

/** services + cachefs + gateway, the backend mounted at /b as `@backend`. */
export async function startFront(s: FrontSetup): Promise<Front> {
  const kernel = new Kernel();
  const cache = cachefs(s.cache ?? { memmax: 1 << 20 });
  kernel.use(services());
  kernel.use(cache);
  kernel.use(gateway({ cache, ...(s.gateway ?? {}) }));
  kernel.alias('@backend', 'http', [s.backend.member]);
  kernel.mount('/b', '@backend');
  s.setup?.(kernel, cache);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0, logpath: s.logpath });
  return { kernel, port, url: `http://127.0.0.1:${port}`, cache, stop: () => kernel.stop() };
}

// One request on its own connection, the body collected: the shared helper, under the name these tests use.
export { request as get, type Reply } from '@skitai/test-support';

/** An HTTP date `seconds` from now (negative: in the past). */
export const dateIn = (seconds: number) => new Date(Date.now() + seconds * 1000).toUTCString();
