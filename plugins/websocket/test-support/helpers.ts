// Test helpers for @skitai/websocket (not under test/: node's runner would run them as tests).
import net from 'node:net';
import { Kernel } from '@skitai/kernel';
import { type MountOptions, type MountTarget } from '@skitai/kernel';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import { websocket, type WebSocketOptions } from '../src/index.js';

export interface Served {
  kernel: Kernel;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A kernel with the plugin and the mounts, on 127.0.0.1 and a free port. */
export async function serve(
  mounts: Array<[string, MountTarget, MountOptions?]>,
  options: WebSocketOptions = {},
  setup?: (k: Kernel) => void,
): Promise<Served> {
  const kernel = new Kernel();
  kernel.use(websocket(options));
  for (const [point, target, o] of mounts) kernel.mount(point, target, o);
  setup?.(kernel);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  return { kernel, port, url: `ws://127.0.0.1:${port}`, close: () => kernel.stop() };
}

/** A ws client that buffers messages, so that none is lost between awaits. */
export class Client {
  readonly messages: Array<string | Buffer> = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.messages.push(isBinary ? (data as Buffer) : data.toString());
      this.wake();
    });
    ws.on('error', () => {
      /* seen through close */
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve({ code, reason: this.closeReason });
      }),
    );
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(
          Object.assign(new Error(`unexpected response ${res.statusCode}`), {
            status: res.statusCode,
            headers: res.headers,
          }),
        );
      });
      ws.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `n` messages have arrived in all (fails after `ms`). */
  async waitFor(n: number, ms = 3000): Promise<Array<string | Buffer>> {
    const deadline = Date.now() + ms;
    while (this.messages.length < n) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `expected ${n} messages within ${ms} ms, got ${this.messages.length}: ${JSON.stringify(this.messages.map(String))}`,
        );
      if (this.closeCode !== undefined)
        throw new Error(
          `closed (${this.closeCode} ${this.closeReason}) after ${this.messages.length} of ${n} messages: ${JSON.stringify(this.messages.map(String))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.messages.slice(0, n);
  }

  /** The next message after the ones already seen (index). */
  async nth(i: number, ms = 3000): Promise<string | Buffer> {
    await this.waitFor(i + 1, ms);
    return this.messages[i]!;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
    return withTimeout(this.closed, ms, 'close');
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Opens a client and waits for the 101. */
export async function open(url: string, options: ClientOptions = {}): Promise<Client> {
  const c = new Client(new WebSocket(url, options));
  await withTimeout(c.opened, 3000, `open ${url}`);
  return c;
}

/** Tries to open, and resolves with the HTTP status of the refusal. */
export async function refusedStatus(
  url: string,
  options: ClientOptions = {},
): Promise<{ status: number; headers: Record<string, unknown> }> {
  const c = new Client(new WebSocket(url, options));
  try {
    await withTimeout(c.opened, 3000, `open ${url}`);
  } catch (err) {
    const e = err as { status?: number; headers?: Record<string, unknown> };
    if (e.status !== undefined) return { status: e.status, headers: e.headers ?? {} };
    throw err;
  }
  c.terminate();
  throw new Error(`${url}: the upgrade was accepted`);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** Sends raw bytes, resolves with what came back until the server closed (or the timeout). */
export function raw(port: number, request: string, timeout = 2000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), timeout);
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      closed = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    });
    socket.write(request);
  });
}

export { freePort, once, sleep, waitUntil } from '@skitai/test-support';

import type { AppRequest, ResponseFn, SessionManager } from '@skitai/app';
import type { Was } from '@skitai/kernel';
/**
 * The App's was members (request, response ...) are declared in kernel/src/app/was-ext.ts,
 * which the package index does not load for types yet: this view stands in meanwhile.
 */
export type AppWas = Was & {
  readonly request: AppRequest;
  readonly response: ResponseFn;
  readonly session: SessionManager;
};
export const appWas = (was: Was) => was as AppWas;
