// Helpers for tests over real sockets. Not under test/: node 20 runs every .js there.
import net from 'node:net';
import { Kernel, type StartOptions } from '../src/index.js';
import type { ServerSettings } from '../src/http/server.js';

/** Settings for a bare createHttpServer() in a test: 5 s timeouts, 16 KiB of headers, no send timeout. */
export const testServerSettings: ServerSettings = {
  keepAliveTimeout: 5000,
  requestTimeout: 5000,
  headersTimeout: 5000,
  maxHeaderSize: 16384,
  sendTimeout: 0,
};

export interface Started {
  kernel: Kernel;
  port: number;
  url: string;
  stop: () => Promise<void>;
}

/** Starts a kernel on 127.0.0.1 and an ephemeral port after `setup` configured it. */
export async function startKernel(setup: (kernel: Kernel) => unknown, options: StartOptions = {}): Promise<Started> {
  const kernel = new Kernel();
  await setup(kernel);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0, ...options });
  return { kernel, port, url: `http://127.0.0.1:${port}`, stop: () => kernel.stop() };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  raw: Buffer;
  /** True when the server closed the connection. */
  closed: boolean;
}

/** Parses the first response in `raw` (Content-Length or to the end). */
export function parseResponse(raw: Buffer, closed: boolean): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? raw.length : end).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4);
  if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(statusLine?.split(' ')[1] ?? 0), headers, body, raw, closed };
}

/**
 * A complete final response at the start of `raw` that keeps the connection open (a 1xx is
 * interim; one saying Connection: close is complete when the server closes).
 */
function completeKeptAlive(raw: Buffer): boolean {
  let at = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end === -1) return false;
    const head = raw.subarray(at, end).toString('latin1');
    if (/^HTTP\/1\.[01] 1\d\d /.test(head)) {
      at = end + 4;
      continue;
    }
    if (/^connection:\s*close\s*$/im.test(head) || /^HTTP\/1\.0 /.test(head)) return false;
    const length = /^content-length:\s*(\d+)\s*$/im.exec(head);
    if (length) return raw.length - (end + 4) >= Number(length[1]);
    if (/^transfer-encoding:.*chunked/im.test(head))
      return raw
        .subarray(end + 4)
        .toString('latin1')
        .endsWith('0\r\n\r\n');
    return false;
  }
}

/**
 * Sends bytes as they are and collects the answer: until the server closes, until a complete
 * response that keeps the connection open is in, or else until `waitMs` passes with no more
 * data (a response with neither a length nor an end).
 */
export function rawRequest(port: number, data: string | Buffer, waitMs = 300): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks), closed));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), waitMs);
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (completeKeptAlive(Buffer.concat(chunks))) finish(false);
      else arm();
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (chunks.length ? finish(true) : reject(err)));
    socket.write(data);
    arm();
  });
}

// The shared helpers, for the tests that import them from here.
export { request, sleep, tempDir } from '@skitai/test-support';
