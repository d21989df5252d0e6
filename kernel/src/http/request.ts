import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { MountEntry } from '../mount/table.js';

// The kernel's request class, given to node:http so that every field below exists from the
// constructor on (one hidden class for every request). Express and others may swap the
// prototype (Express does): keep state in fields, never rely on methods added here.
export class SkitaiRequest extends IncomingMessage {
  // Declared, then assigned in the constructor: plain stores are cheaper than class-field
  // definitions in a constructor that runs once per request.
  /** The URL as the client sent it; `url` becomes relative to the mount point. */
  declare originalUrl: string;
  /** The mount point that took the request, without its trailing slash ('' at the root). */
  declare baseUrl: string;
  /** The mount entry that took the request (undefined before dispatch). */
  declare mount: MountEntry | undefined;
  /** clockMs() (performance.now()'s scale) when the request reached the kernel (kept only while a log is kept). */
  declare startedAt: number;
  /** Global and local transaction ids (X-Gtxn-Id, X-Ltxn-Id). */
  declare gtxnId: string;
  declare ltxnId: string;
  /** Body bytes received, counted when the body has no Content-Length. */
  declare bodyBytes: number;
  /** The target as sent when it was absolute-form (`GET http://host/path`); undefined otherwise. */
  declare absoluteUrl: string | undefined;
  /** The authenticated user, set by auth code, written to the request log. */
  declare user: string | undefined;

  constructor(socket: Socket) {
    super(socket);
    initRequestFields(this);
  }
}

/**
 * The fields the kernel's request path reads and writes on a request, with their initial
 * values, always in this order (one object shape). SkitaiRequest's constructor calls it, and so
 * does a transport's request class (HTTP/2), so that every request has the same fields.
 */
export function initRequestFields(req: object): void {
  const r = req as SkitaiRequest;
  r.originalUrl = '';
  r.baseUrl = '';
  r.mount = undefined;
  r.startedAt = 0;
  r.gtxnId = '';
  r.ltxnId = '';
  r.bodyBytes = 0;
  r.user = undefined;
}
