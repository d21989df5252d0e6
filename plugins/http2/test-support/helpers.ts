// Test helpers for @skitai/http2 (not under test/: node's runner would run them as tests).
import fs from 'node:fs';
import net from 'node:net';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { Kernel, type MountOptions, type MountTarget } from '@skitai/kernel';
import { selfSignedCert, tempDir } from '@skitai/test-support';
import { http2 as http2Plugin, type Http2Options, type Http2Plugin } from '../src/index.js';

export interface Certs {
  dir: string;
  cert: string;
  key: string;
  /** The same key encrypted with the passphrase 'test-secret'. */
  encryptedKey: string;
}

let certs: Certs | undefined;

/** A self-signed certificate for localhost and 127.0.0.1, made for this run (test fixture, never reused). */
export function testCerts(): Certs {
  if (certs) return certs;
  const dir = tempDir('skitai-h2-');
  const made = selfSignedCert(dir, { passphrase: 'test-secret' });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  certs = { dir, cert: made.certFile, key: made.keyFile, encryptedKey: made.encryptedKeyFile! };
  return certs;
}

export interface Served {
  kernel: Kernel;
  plugin: Http2Plugin;
  port: number;
  /** What start() resolved: 'https' over TLS, else 'http'. */
  scheme: string;
  origin: string;
  close(): Promise<void>;
}

/** A kernel with the plugin and the mounts, on 127.0.0.1 and a free port. */
export async function serve(
  options: Http2Options,
  mounts: Array<[string, MountTarget, MountOptions?]>,
  setup?: (k: Kernel) => void,
  start: { logpath?: string } = {},
): Promise<Served> {
  const kernel = new Kernel();
  const plugin = http2Plugin(options);
  kernel.use(plugin);
  for (const [point, target, o] of mounts) kernel.mount(point, target, o);
  setup?.(kernel);
  const { port, scheme } = await kernel.start({ address: '127.0.0.1', port: 0, ...start });
  const origin = `${options.cert ? 'https' : 'http'}://127.0.0.1:${port}`;
  return { kernel, plugin, port, scheme, origin, close: () => kernel.stop() };
}

export interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** 1xx heads received before the answer (103 Early Hints). */
  informational: http2.IncomingHttpHeaders[];
  /** Pushed streams: the request's headers, the answer's headers and body. */
  pushed: Array<{ request: http2.IncomingHttpHeaders; headers: http2.IncomingHttpHeaders; body: Buffer }>;
}

/** One request on a node:http2 client session; resolves when the answer and every push have ended. */
export function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const answer: H2Answer = { status: 0, headers: {}, body: Buffer.alloc(0), informational: [], pushed: [] };
    const pending: Array<Promise<void>> = [];
    const onPush = (stream: http2.ClientHttp2Stream, request: http2.IncomingHttpHeaders) => {
      pending.push(
        new Promise((done) => {
          const entry = { request, headers: {} as http2.IncomingHttpHeaders, body: Buffer.alloc(0) };
          const chunks: Buffer[] = [];
          stream.on('push', (h) => {
            entry.headers = h;
          });
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entry.body = Buffer.concat(chunks);
            answer.pushed.push(entry);
            done();
          });
          stream.on('error', () => done());
        }),
      );
    };
    session.on('stream', onPush);
    const req = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    req.on('headers', (h) => answer.informational.push(h));
    req.on('response', (h) => {
      answer.headers = h;
      answer.status = Number(h[':status']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      answer.body = Buffer.concat(chunks);
      Promise.all(pending).then(() => {
        session.off('stream', onPush);
        resolve(answer);
      }, reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** A node:http2 client session (self-signed certificates accepted). */
export function connect(origin: string, settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, { rejectUnauthorized: false, settings });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command line tool (curl, nghttp) and resolves with what it printed. */
export function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A raw TCP (or already connected) socket that collects what it receives. */
export class RawClient {
  readonly received: Buffer[] = [];
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.received.push(c);
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) =>
      socket.once('close', () => {
        this.wake();
        r();
      }),
    );
  }
  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  get text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }
  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }
  /** Resolves once `test` holds on what was received (or the socket closed). */
  async until(test: (all: Buffer) => boolean): Promise<Buffer> {
    for (;;) {
      const all = this.bytes;
      if (test(all) || this.socket.destroyed || this.socket.readableEnded) return all;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}
