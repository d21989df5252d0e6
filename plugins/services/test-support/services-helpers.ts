// Helpers for the backend services tests: real node:http backends on 127.0.0.1 port 0 that
// count their connections and record what they receive, and a Python XML-RPC peer.
// (Kept out of test/: node's runner would take any .js there for a test file.)
import http from 'node:http';
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { BackendServices } from '../src/index.js';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Which connection (1, 2 ...) it came on. */
  socket: number;
}

export type BackendHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
  backend: Backend,
) => unknown;

export interface Backend {
  name: string;
  port: number;
  /** 127.0.0.1:port */
  address: string;
  server: http.Server;
  /** Connections accepted so far. */
  connections: number;
  /** Connections open now. */
  open: Set<Socket>;
  received: Received[];
  /** Stops accepting and closes every connection at once, in-flight requests included (a crash). */
  kill(): Promise<void>;
  /** Graceful close. */
  close(): Promise<void>;
}

/** Answers JSON: who answered, what was asked, the transaction ids and the body. */
export const echo: BackendHandler = (req, res, body, backend) => {
  const payload = JSON.stringify({
    backend: backend.name,
    method: req.method,
    url: req.url,
    gtxn: req.headers['x-gtxn-id'] ?? null,
    ltxn: req.headers['x-ltxn-id'] ?? null,
    contentType: req.headers['content-type'] ?? null,
    body,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
};

export async function startBackend(
  name: string,
  handler: BackendHandler = echo,
  options: { keepAliveTimeout?: number } = {},
): Promise<Backend> {
  const server = http.createServer();
  server.keepAliveTimeout = options.keepAliveTimeout ?? 60_000;
  const backend: Backend = {
    name,
    port: 0,
    address: '',
    server,
    connections: 0,
    open: new Set(),
    received: [],
    kill: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of backend.open) s.destroy();
      server.closeAllConnections();
      await closed;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const s of backend.open) s.destroySoon?.();
      await closed;
    },
  };
  const ids = new WeakMap<Socket, number>();
  server.on('connection', (socket: Socket) => {
    backend.connections++;
    ids.set(socket, backend.connections);
    backend.open.add(socket);
    socket.on('close', () => backend.open.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      backend.received.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body,
        socket: ids.get(req.socket) ?? 0,
      });
      Promise.resolve(handler(req, res, body, backend)).catch((err) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.address = `127.0.0.1:${backend.port}`;
  return backend;
}

/**
 * The backends and `BackendServices` of one test file: `backend()` starts one, `newServices()`
 * makes one, and every one of them is closed (backends killed) after the file's tests.
 */
export function fileFixtures() {
  const backends: Backend[] = [];
  const services: BackendServices[] = [];
  after(async () => {
    await Promise.all(services.map((s) => s.close()));
    await Promise.all(backends.map((b) => b.kill().catch(() => {})));
  });
  return {
    async backend(
      name: string,
      handler: BackendHandler = echo,
      options?: { keepAliveTimeout?: number },
    ): Promise<Backend> {
      const b = await startBackend(name, handler, options);
      backends.push(b);
      return b;
    },
    newServices(): BackendServices {
      const s = new BackendServices();
      services.push(s);
      return s;
    },
  };
}

/** A port nobody listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { sleep, waitUntil } from '@skitai/test-support';

export interface PythonPeer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const pythonServer = String.raw`
import sys, datetime
from xmlrpc.server import SimpleXMLRPCServer, SimpleXMLRPCRequestHandler
from xmlrpc.client import Fault

class Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ('/rpc2', '/RPC2')
    def log_message(self, *args):
        pass

server = SimpleXMLRPCServer(('127.0.0.1', 0), requestHandler=Handler, allow_none=True, use_builtin_types=True, logRequests=False)
server.register_introspection_functions()

def add(a, b):
    return a + b

def echo(value):
    return value

def describe(value):
    return type(value).__name__

def fail(code, message):
    raise Fault(code, message)

def crash():
    return 1 / 0

def txn():
    return 'none'

def shifted(d):
    return d + datetime.timedelta(days=1)

for f in (add, echo, describe, fail, crash, shifted):
    server.register_function(f)
server.register_function(lambda: None, 'nothing')

print(server.server_address[1], flush=True)
server.serve_forever()
`;

/**
 * Python's standard xmlrpc.server, on 127.0.0.1 and a port of its choosing (it prints it).
 * Undefined when there is no python3; a python3 that does not start fails with its output.
 */
export async function startPythonPeer(): Promise<PythonPeer | undefined> {
  const child = spawn('python3', ['-c', pythonServer], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const port = await new Promise<number | undefined>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python3 printed no port within 10 s:\n${out}`)), 10_000);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python3 exited (${code}) before it listened:\n${out}`));
    });
  }).catch((err) => {
    child.kill();
    throw err;
  });
  if (port === undefined) return undefined;
  return {
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
