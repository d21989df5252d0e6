// Buffer from node:buffer: the global one is an accessor on globalThis (a getter call per use).
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { writeReadyHead, type ReadyHead } from './ready-head.js';
import { getServerHeader, type SkitaiResponse } from './response.js';

/** Bodies at or under this size are sent as they are: only text over 2 KiB is gzipped. */
export const COMPRESS_THRESHOLD = 2048;
/** Up to this size a body is gzipped in one synchronous call; larger ones are streamed. */
const SYNC_LIMIT = 64 * 1024;

export function acceptsGzip(req: IncomingMessage): boolean {
  const ae = req.headers['accept-encoding'];
  return ae !== undefined && ae.includes('gzip') && !/gzip\s*;\s*q=0(?:\.0*)?\s*(?:,|$)/.test(ae);
}

/** Text and JSON (and their relatives: JavaScript, XML, SVG) are worth compressing. */
export function isCompressible(type: string | number | string[] | undefined): boolean {
  if (typeof type !== 'string') return false;
  return (
    type.startsWith('text/') ||
    type.includes('json') ||
    type.includes('javascript') ||
    type.includes('xml') ||
    type.startsWith('image/svg')
  );
}

function headerValue(headers: OutgoingHttpHeaders, name: string): string | number | string[] | undefined {
  for (const key in headers) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** Adds Accept-Encoding to Vary, in `headers` when given (about to be written) or on `res`. */
function addVary(res: ServerResponse, headers?: OutgoingHttpHeaders): void {
  const vary = res.getHeader('vary') ?? (headers && headerValue(headers, 'vary'));
  const value =
    vary === undefined
      ? 'Accept-Encoding'
      : String(vary).toLowerCase().includes('accept-encoding')
        ? undefined
        : `${vary}, Accept-Encoding`;
  if (value === undefined) return;
  if (headers) {
    for (const key in headers) if (key.toLowerCase() === 'vary') delete headers[key];
    headers['Vary'] = value;
  } else {
    res.setHeader('Vary', value);
  }
}

/**
 * Sends a complete body with Content-Length, gzipped when it is compressible, over the
 * threshold and accepted. HEAD gets the same head without a body.
 */
export function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string | Buffer,
): void {
  let data: Buffer | string = body;
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  const type = headerValue(headers, 'content-type') ?? res.getHeader('content-type');
  if (
    length > COMPRESS_THRESHOLD &&
    isCompressible(type) &&
    acceptsGzip(req) &&
    headerValue(headers, 'content-encoding') === undefined &&
    !res.hasHeader('content-encoding')
  ) {
    addVary(res, headers);
    headers['Content-Encoding'] = 'gzip';
    if (length > SYNC_LIMIT) {
      res.writeHead(status, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const gz = zlib.createGzip();
      gz.pipe(res);
      gz.end(body);
      return;
    }
    data = zlib.gzipSync(body);
  }
  headers['Content-Length'] = data === body ? length : (data as Buffer).length;
  // Server goes in with the rest (no copy of the headers in SkitaiResponse.writeHead).
  if (headers.Server === undefined && headers.server === undefined && !res.hasHeader('server'))
    headers.Server = getServerHeader();
  res.writeHead(status, headers);
  if (req.method === 'HEAD') res.end();
  else res.end(data);
}

// Heads filled in per response, never allocated: writeReadyHead hands them to node's own
// writeHead, which turns them into the head's text at once and keeps no reference (any other
// writeHead gets a copy).
const TYPED_HEAD: ReadyHead = ['content-type', '', 'content-length', 0, 'server', ''];
const UNTYPED_HEAD: ReadyHead = ['content-length', 0, 'server', ''];

/**
 * sendBody for a body with a default Content-Type (`type`, used unless the response has one
 * set; undefined: none). A body too small to compress on a response with no header set yet,
 * the common answer, goes out with its whole head as one flat list of lower-case names, Server
 * in it, through writeReadyHead: node walks a list without a key walk and lower-cases nothing
 * (~1k instructions less than an object with capitalised names, callgrind), and one
 * getHeaderNames() stands for the Content-Type and Server lookups.
 */
export function sendTyped(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string | undefined,
  body: string | Buffer,
): void {
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (length > COMPRESS_THRESHOLD || res.getHeaderNames().length !== 0) {
    sendBody(
      req,
      res,
      status,
      type === undefined || res.hasHeader('content-type') ? {} : { 'Content-Type': type },
      body,
    );
    return;
  }
  let head;
  if (type === undefined) {
    head = UNTYPED_HEAD;
    head[1] = length;
    head[3] = getServerHeader();
  } else {
    head = TYPED_HEAD;
    head[1] = type;
    head[3] = length;
    head[5] = getServerHeader();
  }
  writeReadyHead(res as SkitaiResponse, status, head);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

const wrapped = new WeakSet<ServerResponse>();

/**
 * A head given to writeHead as a list (`[name, value, ...]`, or `[[name, value], ...]`, as
 * writeReadyHead and sendTyped give it) set on the response: a name given twice keeps both.
 */
function foldHeadList(res: ServerResponse, list: unknown[]): void {
  const pairs = Array.isArray(list[0]);
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i += pairs ? 1 : 2) {
    const name = String(pairs ? (list[i] as unknown[])[0] : list[i]);
    const value = (pairs ? (list[i] as unknown[])[1] : list[i + 1]) as string | number | string[];
    const key = name.toLowerCase();
    if (seen.has(key)) res.appendHeader(name, value as string | string[]);
    else res.setHeader(name, value);
    seen.add(key);
  }
}

// The one call shape of each method that the wrapper makes (node's are overloaded).
type Callback = (err?: Error | null) => void;
type Write = (chunk: unknown, encoding?: BufferEncoding | Callback, cb?: Callback) => boolean;
type End = (chunk?: unknown, encoding?: BufferEncoding | Callback, cb?: Callback) => ServerResponse;
type WriteHead = (status: number) => ServerResponse;

/**
 * For handlers the kernel does not write itself (Express, plain functions): decide at the
 * moment the head goes out, and if the response is compressible and has no encoding yet,
 * route write()/end() through gzip. Applied only when the client accepts gzip.
 */
export function compressResponse(req: IncomingMessage, res: ServerResponse): void {
  if (wrapped.has(res) || req.method === 'HEAD') return;
  wrapped.add(res);
  const write = res.write as Write;
  const end = res.end as End;
  const writeHead = res.writeHead as WriteHead;
  let gz: zlib.Gzip | undefined;
  let decided = false;

  const decide = (): void => {
    if (decided) return;
    decided = true;
    const status = res.statusCode;
    const length = Number(res.getHeader('content-length') ?? NaN);
    if (status < 200 || status === 204 || status === 206 || status === 304) return;
    if (res.getHeader('content-encoding') !== undefined) return;
    if (!isCompressible(res.getHeader('content-type'))) return;
    if (!Number.isNaN(length) && length <= COMPRESS_THRESHOLD) return;
    const cc = res.getHeader('cache-control');
    if (typeof cc === 'string' && /no-transform/i.test(cc)) return;
    res.removeHeader('content-length');
    res.setHeader('Content-Encoding', 'gzip');
    addVary(res);
    gz = zlib.createGzip();
    gz.on('data', (chunk: Buffer) => {
      if (!write.call(res, chunk)) gz!.pause();
    });
    res.on('drain', () => gz!.resume());
    gz.on('end', () => end.call(res));
  };

  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    // writeHead(status, headers) may carry the headers: fold them in before deciding.
    const [status, a, b] = args;
    const headers = (typeof a === 'object' && a !== null ? a : b) as
      Record<string, string | number | string[]> | undefined;
    if (typeof status === 'number') res.statusCode = status;
    if (Array.isArray(headers)) foldHeadList(res, headers);
    else if (headers && typeof headers === 'object') {
      for (const key of Object.keys(headers)) res.setHeader(key, headers[key]);
    }
    decide();
    return writeHead.call(res, res.statusCode);
  } as ServerResponse['writeHead'];

  res.write = function (this: ServerResponse, chunk: unknown, encoding?: BufferEncoding | Callback, cb?: Callback) {
    if (!res.headersSent) res.writeHead(res.statusCode);
    if (!gz) return write.call(res, chunk, encoding, cb);
    const done = typeof encoding === 'function' ? encoding : cb;
    return typeof encoding === 'string' ? gz.write(chunk, encoding, done) : gz.write(chunk, done);
  } as ServerResponse['write'];

  res.end = function (this: ServerResponse, chunk?: unknown, encoding?: BufferEncoding | Callback, cb?: Callback) {
    if (typeof chunk === 'function') {
      cb = chunk as Callback;
      chunk = undefined;
    }
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (!res.headersSent) {
      // A whole body given at once: its length decides, as with sendBody().
      if (chunk !== undefined && chunk !== null && !res.hasHeader('content-length')) {
        const size =
          typeof chunk === 'string'
            ? Buffer.byteLength(chunk, encoding as BufferEncoding | undefined)
            : (chunk as Uint8Array).length;
        if (size <= COMPRESS_THRESHOLD) res.setHeader('Content-Length', size);
      }
      res.writeHead(res.statusCode);
    }
    if (!gz) return end.call(res, chunk, encoding, cb);
    if (cb) res.once('finish', cb);
    if (chunk !== undefined && chunk !== null) gz.end(chunk, encoding as BufferEncoding);
    else gz.end();
    return res;
  } as ServerResponse['end'];
}
