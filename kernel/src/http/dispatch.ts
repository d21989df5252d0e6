import { clockMs } from './clock.js';
import type { KernelHooks } from '../hooks.js';
import { isBarePoint, type MountTable } from '../mount/table.js';
import type { SkitaiRequest } from './request.js';
import { writeHeadStamped, type SkitaiResponse } from './response.js';
import { sendError } from './error-page.js';
import { checkBodyLimit, checkRequest } from './guard.js';
import { markInFlight } from './socket-state.js';
import { isLogOff, logRequest, type RequestLogContext } from '../log/request-log.js';
import { trackRequest, type RequestMetrics } from './metrics.js';
import { Buffer } from 'node:buffer';

export interface DispatchContext {
  mounts: MountTable;
  hooks: KernelHooks;
  maxClientBodySize: number;
  /** undefined when no request log is kept: then no per-request log work at all. */
  log: RequestLogContext | undefined;
  /** True once stop() began: responses close their connections. */
  stopping: () => boolean;
  onError: (err: unknown, req: SkitaiRequest, res: SkitaiResponse) => void;
  /** undefined unless a plugin turned metrics on (kernel.enableMetrics()). */
  metrics?: RequestMetrics;
}

/**
 * The request path, in order: framing guards, body limit, request log, the `request` tap
 * point, the mount table, the mounted handler. Built once at start from what is in use, so
 * an unused feature (no log, no request taps) is not even a branch taken per request.
 */
export function createDispatcher(ctx: DispatchContext) {
  const { mounts, maxClientBodySize, log, stopping, onError, metrics } = ctx;
  const requestHook = ctx.hooks.request.isUsed() ? ctx.hooks.request : undefined;

  // node drops a HEAD body without counting it: keep the Content-Length GET would have.
  function headEnd(this: SkitaiResponse, chunk?: any, encoding?: any, cb?: any): SkitaiResponse {
    if (chunk != null && typeof chunk !== 'function' && !this.headersSent && !this.hasHeader('content-length')) {
      this.setHeader(
        'Content-Length',
        typeof chunk === 'string'
          ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : chunk.length,
      );
    }
    return Object.getPrototypeOf(this).end.call(this, chunk, encoding, cb);
  }

  function onClose(this: SkitaiResponse): void {
    logRequest(log!, this.req, this);
  }

  // An HTTP/2 stream forgets its connection once closed: log when the stream has sent its last
  // frame (its peer and byte counts are still readable), or at close for a stream reset first.
  function logH2(req: SkitaiRequest, res: SkitaiResponse): void {
    const stream = (res as unknown as { stream: NodeJS.EventEmitter }).stream;
    const done = () => {
      stream.off('finish', done);
      res.off('close', done);
      logRequest(log!, req, res);
    };
    stream.once('finish', done);
    res.once('close', done);
  }

  function fail(req: SkitaiRequest, res: SkitaiResponse, err: unknown): void {
    onError(err, req, res);
  }

  function route(req: SkitaiRequest, res: SkitaiResponse): void {
    const url = req.url!;
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    const entry = mounts.find(pathname, req.headers.host);
    if (entry === undefined) return sendError(req, res, 404, `${pathname} was not found on this server`);
    if (isBarePoint(entry, pathname)) {
      res.writeHead(301, { Location: `${pathname}/${q === -1 ? '' : url.slice(q)}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    req.mount = entry;
    if (entry.point !== '') {
      req.baseUrl = entry.point;
      req.url = url.slice(entry.point.length);
    }
    try {
      const ret = entry.handler(req, res) as Promise<unknown> | undefined;
      if (ret !== undefined && ret !== null && typeof ret.then === 'function')
        ret.then(undefined, (err) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  }

  return function dispatch(req: SkitaiRequest, res: SkitaiResponse): void {
    // HTTP/1 only: an HTTP/2 stream's socket is its session's, shared by every stream.
    if (req.httpVersionMajor === 1) markInFlight(req.socket, res);
    req.originalUrl = req.url!;
    if (log !== undefined && !isLogOff(log, req.url!)) {
      // What only the log needs is measured only while a log is kept.
      req.startedAt = clockMs();
      res.socketBytesAtStart = req.socket.bytesWritten;
      res.writeHead = writeHeadStamped as SkitaiResponse['writeHead'];
      if (req.httpVersionMajor === 2) {
        logH2(req, res);
      } else {
        res.once('close', onClose);
      }
    }
    if (metrics !== undefined) trackRequest(metrics, req, res);
    if (stopping()) res.shouldKeepAlive = false;
    if (req.method === 'HEAD') res.end = headEnd as SkitaiResponse['end'];
    if (!checkRequest(req, res)) return;
    if (!checkBodyLimit(req, res, maxClientBodySize)) return;
    if (requestHook !== undefined) {
      requestHook.promise(req, res).then(
        (answered) => {
          if (answered !== true && !res.headersSent && !res.writableEnded) route(req, res);
        },
        (err) => fail(req, res, err),
      );
      return;
    }
    route(req, res);
  };
}
