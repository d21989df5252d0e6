// Helpers for the gateway's tests over real sockets. Not under test/: node 20 runs every .js there.
import http from 'node:http';
import net from 'node:net';
import { Kernel, type AliasOptions } from '@skitai/kernel';
import { services } from '@skitai/services';
import { gateway, type GatewayOptions } from '../src/index.js';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Backend {
  server: http.Server;
  port: number;
  member: string;
  /** Requests as node parsed them. */
  seen: Seen[];
  /** Every byte received on every connection, in order: what a smuggled request would show up in. */
  raw: () => string;
  close: () => Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** Answers JSON describing what arrived. */
export const describe: Handler = (req, res, body) => {
  const text = JSON.stringify({
    method: req.method,
    url: req.url,
    headers: req.headers,
    body: body.toString('latin1'),
    port: (req.socket.address() as net.AddressInfo).port,
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-backend': 'yes',
    connection: 'keep-alive, x-private',
    'x-private': 'hop',
    'keep-alive': 'timeout=5',
  });
  res.end(text);
};

/** A node:http backend on 127.0.0.1 that records what it received, parsed and raw. */
export function startBackend(handler: Handler = describe, options: { collect?: boolean } = {}): Promise<Backend> {
  const seen: Seen[] = [];
  const rawChunks: Buffer[] = [];
  const server = http.createServer((req, res) => {
    if (options.collect === false) {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0) });
      handler(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    if (options.collect !== false) socket.on('data', (d: Buffer) => rawChunks.push(d));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        server,
        port,
        member: `127.0.0.1:${port}`,
        seen,
        raw: () => Buffer.concat(rawChunks).toString('latin1'),
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** A port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Gateway {
  kernel: Kernel;
  port: number;
  url: string;
  stop: () => Promise<void>;
}

export interface GatewaySetup {
  members: string[];
  point?: string;
  aliasOptions?: AliasOptions;
  options?: GatewayOptions;
  setup?: (kernel: Kernel) => void;
  logpath?: string;
}

/** A kernel with services and the gateway, `@members` mounted at `point` (default /members). */
export async function startGateway(s: GatewaySetup): Promise<Gateway> {
  const kernel = new Kernel();
  kernel.use(services());
  kernel.use(gateway(s.options ?? {}));
  kernel.alias('@members', 'http', s.members, s.aliasOptions ?? {});
  kernel.mount(s.point ?? '/members', '@members');
  s.setup?.(kernel);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0, logpath: s.logpath });
  return { kernel, port, url: `http://127.0.0.1:${port}`, stop: () => kernel.stop() };
}

/**
 * Writes bytes as they are on a fresh connection and reads until the server closes it, or
 * until `complete(bytes so far)` says the answer is whole.
 */
export function raw(
  port: number,
  data: string | Buffer,
  complete: (text: string) => boolean = () => false,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (complete(text)) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (text ? finish(true) : reject(err)));
    socket.write(data);
  });
}

/** Whether `text` holds `n` whole HTTP responses with Content-Length bodies. */
export function responses(text: string): number[] {
  const statuses: number[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const head = rest.slice(0, end);
    const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
    if (!m) break;
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    const length = cl ? Number(cl[1]) : 0;
    if (rest.length < end + 4 + length) break;
    statuses.push(Number(m[1]));
    rest = rest.slice(end + 4 + length);
  }
  return statuses;
}
