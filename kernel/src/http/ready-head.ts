// A head made ahead of time (a static file's, a cached answer's, a small body's), written the
// cheapest way node offers: as a flat [name, value, ...] list straight to node's own writeHead.
import { ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { SkitaiResponse } from './response.js';
import { countHead, stampHead, writeHeadCounted } from './metrics.js';

const kernelWriteHead = SkitaiResponse.prototype.writeHead;
const nodeWriteHead = ServerResponse.prototype.writeHead as (
  this: ServerResponse,
  status: number,
  headers: ReadyHead,
) => ServerResponse;

/** A flat `[name, value, name, value, ...]` head: a value is a string, a number (Content-Length) or a list. */
export type ReadyHead = Array<string | number | string[]>;

/**
 * Writes `status` and a ready head, a flat `[name, value, name, value, ...]` list that holds
 * `Server` itself (getServerHeader()): each name once, a value that is an array gives one
 * field line per item (node keeps only the last of a repeated name in some paths), a number
 * is written as its decimal text (Content-Length). When the response has the kernel's own
 * writeHead (HTTP/1, no request log stamping the head), the list goes to node's ServerResponse
 * writeHead as it is: node walks a list instead of an object's keys and the kernel adds nothing
 * (~1.4k instructions less for a 6-field head, callgrind); so it does under the request
 * counters' writeHead, which it runs itself. Otherwise `head` (the same fields as
 * an object, Server in it), or a copy of the list when there is none, goes through whatever
 * writeHead the response has (the request log's, HTTP/2's): the kernel's writeHead passes an
 * object holding Server on as it is. Node reads the list at once and keeps no reference, so a
 * caller may fill one list in again for its next response. Fields set before with setHeader()
 * are kept unless the head names them. Node validates every name and value as always.
 */
export function writeReadyHead(res: SkitaiResponse, status: number, flat: ReadyHead, head?: OutgoingHttpHeaders): void {
  const own = res.writeHead;
  if (own === kernelWriteHead) nodeWriteHead.call(res, status, flat);
  else if (own === writeHeadCounted && Object.getPrototypeOf(res).writeHead === kernelWriteHead) {
    // The request counters' writeHead (kernel.enableMetrics()) over the kernel's own: count
    // here and keep node's list path.
    const at = stampHead(res);
    nodeWriteHead.call(res, status, flat);
    if (at >= 0) countHead(res, status, at);
  } else res.writeHead(status, head ?? (flat.slice() as string[]));
}
