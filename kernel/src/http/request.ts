import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { MountEntry } from '../mount/table.js';

/**
 * The kernel's request: node's IncomingMessage with the fields below, every one of them
 * present from the constructor on (one hidden class for every request). Express and others
 * may swap the prototype (Express does): keep state in fields, never rely on methods added here.
 */
export interface SkitaiRequest extends IncomingMessage {
  /** The URL as the client sent it; `url` becomes relative to the mount point. */
  originalUrl: string;
  /** The mount point that took the request, without its trailing slash ('' at the root). */
  baseUrl: string;
  /** The mount entry that took the request (undefined before dispatch). */
  mount: MountEntry | undefined;
  /** clockMs() (performance.now()'s scale) when the request reached the kernel (kept only while a log is kept). */
  startedAt: number;
  /** Global and local transaction ids (X-Gtxn-Id, X-Ltxn-Id). */
  gtxnId: string;
  ltxnId: string;
  /** Body bytes received, counted when the body has no Content-Length. */
  bodyBytes: number;
  /** The target as sent when it was absolute-form (`GET http://host/path`); undefined otherwise. */
  absoluteUrl: string | undefined;
  /** The authenticated user, set by auth code, written to the request log. */
  user: string | undefined;
}

export interface SkitaiRequestConstructor {
  new (socket: Socket): SkitaiRequest;
  readonly prototype: SkitaiRequest;
}

/**
 * The class node:http constructs for each request (the server's IncomingMessage option).
 * A function constructor rather than `class extends IncomingMessage`, as node's own are: V8
 * inlines it, and node's constructor inside it, where node builds the request (callgrind: a
 * derived class went through V8's generic construct stub, its `super` through a call to
 * Object.getPrototypeOf; with the response's, 0.2-0.8k instructions per request more). It is
 * still a subclass (`instanceof IncomingMessage`, `class X extends SkitaiRequest` both work).
 */
export const SkitaiRequest = function SkitaiRequest(this: SkitaiRequest, socket: Socket): void {
  IncomingMessage.call(this, socket);
  initRequestFields(this);
} as unknown as SkitaiRequestConstructor;
Object.setPrototypeOf(SkitaiRequest.prototype, IncomingMessage.prototype);
Object.setPrototypeOf(SkitaiRequest, IncomingMessage);

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
