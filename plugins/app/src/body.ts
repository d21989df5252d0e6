// Reading request bodies under a byte limit. Over the limit: 413 with the connection closed,
// and reading stops at once, so nothing past the limit is buffered.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';
import { Buffer } from 'node:buffer';

export function tooLarge(limit: number): HttpError {
  return new HttpError(413, `the request body is larger than ${limit} bytes`, { close: true });
}

/** True when the request announces a body (Content-Length > 0 or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** Refuses early on a Content-Length over the limit, before a byte is read. */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const cl = req.headers['content-length'];
  if (cl !== undefined && Number(cl) > limit) throw tooLarge(limit);
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError(400, 'the request body was not received', { cause: err, close: true }));
    };
    const onAborted = () => {
      cleanup();
      reject(new HttpError(400, 'the client aborted the request', { close: true }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** The media type without parameters, lower case: 'application/json'. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
