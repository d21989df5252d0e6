import type { Http2Stream } from 'node:http2';
import type { SkitaiRequest } from './request.js';
import type { SkitaiResponse } from './response.js';
import { sendError } from './error-page.js';

export interface Refusal {
  status: number;
  why: string;
}

// RFC 3986 host (IP literal, IPv4 or reg-name) and an optional port; empty is allowed (RFC 9112 3.2).
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[-A-Za-z0-9._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;
// An absolute-form target: scheme, authority, then the path and query (RFC 9112 3.2.2).
const ABSOLUTE = /^https?:\/\/([^/?#]*)([^#]*)/i;

// The characters of a reg-name or IPv4 address (RFC 3986), by char code.
const REG_NAME = new Uint8Array(128);
for (const c of "-._~!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) REG_NAME[c] = 1;
for (let c = 65; c <= 90; c++) REG_NAME[c] = REG_NAME[c + 32] = 1;

/** host[:port]; a plain name or address by a char loop (every request), the rest by HOST. */
function validHost(host: string): boolean {
  const n = host.length;
  if (n > 0 && host.charCodeAt(0) === 91 /* [ */) return HOST.test(host);
  let i = 0;
  for (; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c === 58 /* : */) break;
    if (c > 127 || REG_NAME[c] === 0) return c === 37 /* % */ ? HOST.test(host) : false;
  }
  for (i++; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** True for a header name that is `Host` in any case (no lowercased copy made). */
function isHostName(name: string): boolean {
  return (
    name.length === 4 &&
    (name.charCodeAt(0) | 32) === 104 /* h */ &&
    (name.charCodeAt(1) | 32) === 111 /* o */ &&
    (name.charCodeAt(2) | 32) === 115 /* s */ &&
    (name.charCodeAt(3) | 32) === 116 /* t */
  );
}

// The last Host value found valid: a keep-alive client sends the same one with every request,
// so a string comparison stands in for the character walk.
let lastValidHost = '';

/** Host values compared as a server would: case-insensitive, default port or none alike. */
function sameAuthority(a: string, b: string, https: boolean): boolean {
  a = a.toLowerCase();
  b = b.toLowerCase();
  if (a === b) return true;
  const port = https ? ':443' : ':80';
  return (a.endsWith(port) ? a.slice(0, -port.length) : a) === (b.endsWith(port) ? b.slice(0, -port.length) : b);
}

/**
 * The request-level checks node:http leaves to us, run on every request before anything
 * else sees it: the HTTP version (505 for anything but 1.x), request smuggling (two Host
 * headers, Content-Length beside Transfer-Encoding, a transfer coding other than chunked:
 * 501), the Host value (400 unless host[:port]) and the request target. An absolute-form
 * target (`GET http://host/path`) is accepted as RFC 9112 requires: its authority must
 * match Host, and `req.url` becomes its path and query. Returns the refusal, or undefined.
 */
export function requestError(req: SkitaiRequest): Refusal | undefined {
  // An HTTP/2 transport's requests (they have a `stream`) come this way too; a request line
  // of another version on an HTTP/1 connection (`GET / HTTP/2.0`) does not belong here.
  if (req.httpVersionMajor !== 1 && (req as { stream?: unknown }).stream === undefined) {
    return { status: 505, why: `HTTP/${req.httpVersion} is not supported here: use HTTP/1.1` };
  }
  const h = req.headers;
  const te = h['transfer-encoding'];
  if (te !== undefined) {
    if (h['content-length'] !== undefined)
      return { status: 400, why: 'a request may not carry both Content-Length and Transfer-Encoding' };
    // node decodes chunked only; anything else would reach the handler still encoded.
    if (te.length !== 7 || te.toLowerCase() !== 'chunked')
      return { status: 501, why: `the transfer coding ${JSON.stringify(te)} is not implemented: use chunked` };
  }
  // Two Host lines need two header lines at least (node keeps the first and drops the other).
  const raw = req.rawHeaders;
  if (raw.length > 2) {
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) {
      if (isHostName(raw[i]!) && ++hosts > 1) return { status: 400, why: 'a request may carry one Host header only' };
    }
  }
  const host = h.host;
  if (host !== undefined && host !== lastValidHost) {
    if (!validHost(host)) return { status: 400, why: 'the Host header is not a valid host[:port]' };
    lastValidHost = host;
  }
  const url = req.url!;
  return url.charCodeAt(0) === 47 /* / */ ? undefined : otherTarget(req, url, host);
}

/** A target that is not a path: absolute-form, or `*` for OPTIONS (apart: rare, and it keeps requestError small). */
function otherTarget(req: SkitaiRequest, url: string, host: string | undefined): Refusal | undefined {
  const m = ABSOLUTE.exec(url);
  if (m === null) {
    if (url === '*' && req.method === 'OPTIONS') return undefined;
    return { status: 400, why: 'the request target must be a path or an absolute http(s) URI' };
  }
  const authority = m[1]!;
  if (authority.includes('@') || !validHost(authority))
    return { status: 400, why: 'the request target has an invalid authority' };
  if (host === undefined || !sameAuthority(authority, host, url.charCodeAt(4) === 115 || url.charCodeAt(4) === 83)) {
    return { status: 400, why: 'the request target and the Host header name different hosts' };
  }
  const rest = m[2]!;
  // Kept for a forward proxy (a `request` tap); set only here, so other requests keep their shape.
  req.absoluteUrl = url;
  req.url = rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  req.originalUrl = req.url;
  return undefined;
}

/** Answers the refusal and closes when a request is refused; returns false then. */
export function checkRequest(req: SkitaiRequest, res: SkitaiResponse): boolean {
  const refusal = requestError(req);
  if (refusal === undefined) return true;
  sendError(req, res, refusal.status, refusal.why, { close: true });
  return false;
}

/** The stream of an HTTP/2 request (node:http2's compatibility API), undefined for HTTP/1.x. */
function h2Stream(req: SkitaiRequest): Http2Stream | undefined {
  return req.httpVersionMajor === 2 ? (req as unknown as { stream: Http2Stream }).stream : undefined;
}

function closeAfter(req: SkitaiRequest, res: SkitaiResponse): void {
  const stream = h2Stream(req);
  // Whatever the client still sends is not read: end the connection once the 413 is out. On
  // HTTP/2 only the stream ends: RST_STREAM NO_ERROR after a complete response asks the client
  // to stop sending the body (RFC 9113 section 8.1); the connection's other streams go on.
  if (stream !== undefined)
    res.once('finish', () => {
      if (!stream.closed) stream.close(0);
    });
  else res.once('finish', () => res.socket?.destroySoon());
}

/** 413 for a declared length over the limit, before a byte of the body is read. */
export function refuseLargeBody(req: SkitaiRequest, res: SkitaiResponse, limit: number): void {
  sendError(req, res, 413, `the request body is larger than ${limit} bytes`, { close: true });
  closeAfter(req, res);
}

/**
 * A body without Content-Length (chunked) is counted as the parser hands it over; past the
 * limit the chunks are dropped instead of buffered, 413 goes out and the connection closes.
 */
export function limitChunkedBody(req: SkitaiRequest, res: SkitaiResponse, limit: number): void {
  const push = req.push;
  req.push = function countedPush(this: SkitaiRequest, chunk: any, encoding?: BufferEncoding): boolean {
    if (chunk === null) return push.call(this, chunk, encoding);
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > limit) {
      if (!res.headersSent) {
        refuseLargeBody(req, res, limit);
      }
      this.push = () => false;
      this.pause();
      return false;
    }
    return push.call(this, chunk, encoding);
  };
}

/** Applies maxClientBodySize; returns false after answering 413. */
export function checkBodyLimit(req: SkitaiRequest, res: SkitaiResponse, limit: number): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    if (Number(length) > limit) {
      refuseLargeBody(req, res, limit);
      return false;
    }
    return true;
  }
  // HTTP/2 bodies need no Content-Length: count them unless the request ended with its headers.
  if (req.headers['transfer-encoding'] !== undefined || h2Stream(req)?.endAfterHeaders === false)
    limitChunkedBody(req, res, limit);
  return true;
}
