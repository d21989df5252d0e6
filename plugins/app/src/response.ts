// was.response and the values a handler may return, and how each is sent.
// Buffer from node:buffer: the global one is an accessor on globalThis (a getter call per use).
import { Buffer } from 'node:buffer';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { acceptsGzip, isCompressible, mimeType, sendTyped } from '@skitai/kernel';
import { ApiResponse } from './api.js';
import { HttpError } from './http-error.js';

export type HeaderList = Record<string, string | number | string[]> | [string, string | number][];

/** What was.response(status, body, headers) returns: a status and headers around a body. */
export class ResponseValue {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: HeaderList | undefined,
  ) {}
}

/** was.response.file(path): a file sent with its MIME type and length. */
export class FileValue {
  constructor(
    readonly path: string,
    readonly mimetype: string | undefined,
    readonly filename: string | undefined,
  ) {}
}

export function parseStatus(status: number | string): number {
  const n = typeof status === 'number' ? status : Number.parseInt(status, 10);
  if (!Number.isInteger(n) || n < 100 || n > 999) throw new TypeError(`invalid status ${JSON.stringify(status)}`);
  return n;
}

export interface ResponseFn {
  (status?: number | string, body?: unknown, headers?: HeaderList): ResponseValue;
  setStatus(status: number | string): void;
  getStatus(): number;
  setHeader(name: string, value: string | number | readonly string[]): void;
  getHeader(name: string): string | number | string[] | undefined;
  delHeader(name: string): void;
  setHeaders(headers: HeaderList): void;
  getHeaders(): OutgoingHttpHeaders;
  api(data?: Record<string, unknown>): ApiResponse;
  fault(message: string, code?: number, debug?: unknown, moreInfo?: unknown): ApiResponse;
  file(path: string, options?: { mimetype?: string; filename?: string }): FileValue;
  /**
   * Skitai's hint_promise: resources the page will need. With a plugin on the kernel's `hint`
   * tap point (@skitai/http2) they are pushed or sent in a 103 Early Hints response now (give
   * them all in one call: browsers read the first 103 only); the final response also carries
   * them as `Link: <uri>; rel=preload`.
   */
  hintPromise(...uris: string[]): void;
  /** The raw Node response. */
  readonly raw: ServerResponse;
}

export function applyHeaders(res: ServerResponse, headers: HeaderList | undefined): void {
  if (!headers) return;
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [k, v] of entries) {
    if (k.toLowerCase() === 'set-cookie' && res.hasHeader('set-cookie')) {
      const prev = res.getHeader('set-cookie');
      res.setHeader('Set-Cookie', [
        ...(Array.isArray(prev) ? prev : [String(prev)]),
        ...(Array.isArray(v) ? v : [String(v)]),
      ]);
    } else res.setHeader(k, v as string);
  }
}

export function createResponseFn(res: ServerResponse, hint?: (uris: string[]) => unknown): ResponseFn {
  const fn = ((status: number | string = 200, body?: unknown, headers?: HeaderList) =>
    new ResponseValue(parseStatus(status), body, headers)) as ResponseFn;
  fn.setStatus = (status) => {
    res.statusCode = parseStatus(status);
  };
  fn.getStatus = () => res.statusCode;
  fn.setHeader = (name, value) => {
    res.setHeader(name, value);
  };
  fn.getHeader = (name) => res.getHeader(name);
  fn.delHeader = (name) => {
    res.removeHeader(name);
  };
  fn.setHeaders = (headers) => applyHeaders(res, headers);
  fn.getHeaders = () => res.getHeaders();
  fn.api = (data) => new ApiResponse(data);
  fn.fault = (message, code, debug, moreInfo) => new ApiResponse().error(message, code, debug, moreInfo);
  fn.file = (p, o = {}) => new FileValue(p, o.mimetype, o.filename);
  fn.hintPromise = (...uris) => {
    if (res.headersSent || uris.length === 0) return;
    if (hint !== undefined) hint(uris);
    const prev = res.getHeader('link');
    const link = uris.map((uri) => `<${uri}>; rel=preload`).join(', ');
    res.setHeader('Link', prev ? `${prev}, ${link}` : link);
  };
  Object.defineProperty(fn, 'raw', { value: res });
  return fn;
}

/** A plain object or an array. (`constructor`, not Object.getPrototypeOf: that one is a runtime call.) */
function isPlainData(v: any): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    ((v.constructor === Object && !isIterator(v) && !isAsyncIterable(v)) || Array.isArray(v))
  );
}

function isReadable(v: any): v is NodeJS.ReadableStream {
  return v !== null && typeof v === 'object' && typeof v.pipe === 'function' && typeof v.on === 'function';
}
function isAsyncIterable(v: any): v is AsyncIterable<unknown> {
  return v !== null && typeof v === 'object' && typeof v[Symbol.asyncIterator] === 'function';
}
function isIterator(v: any): v is Iterable<unknown> {
  // Generators (not arrays: those are JSON).
  return (
    v !== null && typeof v === 'object' && typeof v[Symbol.iterator] === 'function' && typeof v.next === 'function'
  );
}

/** The body as text or bytes with its default type; undefined for the streaming kinds. */
function toChunk(v: unknown): string | Buffer {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v === undefined || v === null) return '';
  return JSON.stringify(v);
}

/** What sendValue tells right before a head goes out (the App's request: session and mbox cookies). */
export interface HeadListener {
  commit(success: boolean): void;
}

/**
 * Sends a whole body with its default Content-Type (kept out when the handler set its own on
 * `res`: sendTyped looks); `head` is told first.
 */
function sendWhole(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  head: HeadListener | undefined,
  body: string | Buffer,
): void {
  if (head !== undefined) head.commit(status < 400);
  sendTyped(req, res, status, type, body);
}

/** The Content-Type header to stream with, none when the handler set its own on `res`; `head` is told first. */
function typeHeader(
  res: ServerResponse,
  status: number,
  type: string,
  head: HeadListener | undefined,
): OutgoingHttpHeaders {
  if (head !== undefined) head.commit(status < 400);
  return res.hasHeader('content-type') ? {} : { 'Content-Type': type };
}

/**
 * Sends what a handler returned. `head` is told right before the head goes out (cookies of
 * the session and message box). Returns a promise only for the kinds that stream.
 */
export function sendValue(
  req: IncomingMessage,
  res: ServerResponse,
  value: unknown,
  status: number,
  head: HeadListener | undefined,
): Promise<void> | undefined {
  if (res.headersSent || res.writableEnded) return;
  if (typeof value === 'string') {
    sendWhole(req, res, status, 'text/html; charset=utf-8', head, value);
    return;
  }
  // A plain object or an array (the usual API answer) goes straight to JSON.
  if (isPlainData(value)) {
    sendWhole(req, res, status, 'application/json; charset=utf-8', head, JSON.stringify(value));
    return;
  }
  // The other kinds apart: this function stays small enough to be optimized early and inlined.
  return sendOther(req, res, value, status, head);
}

function sendOther(
  req: IncomingMessage,
  res: ServerResponse,
  value: unknown,
  status: number,
  head: HeadListener | undefined,
): Promise<void> | undefined {
  if (value instanceof ResponseValue) {
    applyHeaders(res, value.headers);
    return sendValue(req, res, value.body, value.status, head);
  }
  if (value === undefined || value === null) {
    sendWhole(req, res, status, 'text/html; charset=utf-8', head, '');
    return;
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    sendWhole(req, res, status, 'application/octet-stream', head, toChunk(value));
    return;
  }
  if (value instanceof FileValue) return sendFile(req, res, value, status, head);
  if (isReadable(value)) {
    const headers = typeHeader(res, status, 'application/octet-stream', head);
    return streamOut(req, res, status, headers, Readable.from(value as any));
  }
  if (isAsyncIterable(value) || isIterator(value)) {
    const headers = typeHeader(res, status, 'text/html; charset=utf-8', head);
    return streamOut(req, res, status, headers, Readable.from(mapChunks(value as AsyncIterable<unknown>)));
  }
  // Numbers, booleans, ApiResponse and other objects: JSON.
  sendWhole(req, res, status, 'application/json; charset=utf-8', head, JSON.stringify(value));
  return undefined;
}

async function* mapChunks(source: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<string | Buffer> {
  for await (const part of source as AsyncIterable<unknown>) {
    const chunk = toChunk(part);
    if (chunk.length > 0) yield chunk;
  }
}

/**
 * Writes a stream chunk by chunk, honouring back-pressure. When gzipped, each chunk is
 * flushed through, so that a part the handler yields reaches the client at once.
 */
async function streamOut(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Readable,
): Promise<void> {
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(k, v);
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  let gz: zlib.Gzip | undefined;
  if (
    acceptsGzip(req) &&
    isCompressible(res.getHeader('content-type')) &&
    !res.hasHeader('content-length') &&
    !res.hasHeader('content-encoding')
  ) {
    res.setHeader('Content-Encoding', 'gzip');
    const vary = res.getHeader('vary');
    res.setHeader('Vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
    gz = zlib.createGzip();
  }
  res.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  const write = async (chunk: Buffer | string): Promise<void> => {
    if (!res.write(chunk))
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
  };
  try {
    for await (const chunk of body) {
      if (res.destroyed) break;
      if (gz) {
        gz.write(chunk);
        await new Promise<void>((resolve) => gz!.flush(() => resolve()));
        const out = gz.read() as Buffer | null;
        if (out) await write(out);
      } else await write(chunk);
    }
    if (gz && !res.destroyed) {
      const tail: Buffer[] = [];
      gz.on('data', (c: Buffer) => tail.push(c));
      await new Promise<void>((resolve) => {
        gz!.once('end', resolve);
        gz!.end();
      });
      if (tail.length) await write(Buffer.concat(tail));
    }
  } catch (err) {
    // The head is out: the only honest signal left is to cut the connection.
    res.destroy(err as Error);
    throw err;
  }
  if (!res.destroyed) res.end();
}

async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: FileValue,
  status: number,
  head: HeadListener | undefined,
): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(file.path);
  } catch {
    throw new HttpError(404, `${path.basename(file.path)} was not found`);
  }
  if (!stat.isFile()) throw new HttpError(404, `${path.basename(file.path)} was not found`);
  head?.commit(status < 400);
  if (!res.hasHeader('content-type')) res.setHeader('Content-Type', file.mimetype ?? mimeType(file.path));
  if (file.filename)
    res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
  res.setHeader('Content-Length', stat.size);
  res.setHeader('Last-Modified', stat.mtime.toUTCString());
  res.statusCode = status;
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file.path);
  res.on('close', () => stream.destroy());
  await new Promise<void>((resolve, reject) => {
    stream.on('error', (err) => {
      res.destroy(err);
      reject(err);
    });
    res.on('finish', resolve);
    res.on('close', resolve);
    stream.pipe(res);
  });
}
