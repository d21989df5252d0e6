import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { MountEntry } from '../mount/table.js';

// The kernel's request class, given to node:http so that every field below exists from the
// constructor on (one hidden class for every request). Express and others may swap the
// prototype (Express does): keep state in fields, never rely on methods added here.
export class SkitaiRequest extends IncomingMessage {
  /** The URL as the client sent it; `url` becomes relative to the mount point. */
  originalUrl = '';
  /** The mount point that took the request, without its trailing slash ('' at the root). */
  baseUrl = '';
  /** The mount entry that took the request (undefined before dispatch). */
  mount: MountEntry | undefined = undefined;
  /** performance.now() when the request reached the kernel. */
  startedAt = 0;
  /** Global and local transaction ids (SPEC 5). */
  gtxnId = '';
  ltxnId = '';
  /** Body bytes received, counted when the body has no Content-Length. */
  bodyBytes = 0;
  /** The authenticated user, set by auth code, written to the request log. */
  user: string | undefined = undefined;

  constructor(socket: Socket) {
    super(socket);
  }
}
