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

function closeAfter(res: SkitaiResponse): void {
  // Whatever the client still sends is not read: end the connection once the 413 is out.
  res.once('finish', () => res.socket?.destroySoon());
}

/** 413 for a declared length over the limit, before a byte of the body is read. */
export function refuseLargeBody(req: SkitaiRequest, res: SkitaiResponse, limit: number): void {
  sendError(req, res, 413, `the request body is larger than ${limit} bytes`, { close: true });
  closeAfter(res);
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
  if (req.headers['transfer-encoding'] !== undefined) limitChunkedBody(req, res, limit);
  return true;
}
