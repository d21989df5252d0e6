import type { Http2Stream } from 'node:http2';
import type { SkitaiRequest } from './request.js';
import type { SkitaiResponse } from './response.js';
import { sendError } from './error-page.js';

/**
 * Request smuggling guards that node:http leaves to us: two Host headers (node keeps the
 * first and drops the rest silently) and Content-Length beside Transfer-Encoding.
 * Returns why the request is refused, or undefined.
 */
export function framingError(req: SkitaiRequest): string | undefined {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined && h['content-length'] !== undefined) {
    return 'a request may not carry both Content-Length and Transfer-Encoding';
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'a request may carry one Host header only';
  }
  return undefined;
}

/** Answers 400 and closes when the framing is refused; returns false then. */
export function checkFraming(req: SkitaiRequest, res: SkitaiResponse): boolean {
  const why = framingError(req);
  if (why === undefined) return true;
  sendError(req, res, 400, why, { close: true });
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
  if (stream !== undefined) res.once('finish', () => { if (!stream.closed) stream.close(0); });
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
  if (req.headers['transfer-encoding'] !== undefined || h2Stream(req)?.endAfterHeaders === false) limitChunkedBody(req, res, limit);
  return true;
}
