import { clockMs } from './clock.js';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SkitaiRequest } from './request.js';
import { releaseInFlight } from './socket-state.js';

let serverHeader = 'Skitai';

/** The `Server` header value every response carries (set by the kernel at start). */
export function setServerHeader(value: string): void {
  serverHeader = value;
}

export function getServerHeader(): string {
  return serverHeader;
}

/**
 * The kernel's response: node's ServerResponse, with `Server` added on the way out and the
 * connection's in-flight mark dropped when node detaches the response.
 */
export interface SkitaiResponse extends ServerResponse<SkitaiRequest> {
  // Log-only fields, set only while a request log is kept (dispatch, writeHeadStamped): a
  // store in the constructor cost ~1k instructions per response (callgrind), log or not.
  /** clockMs() when the head went out. */
  headAt: number | undefined;
  /** socket.bytesWritten when this response began. */
  socketBytesAtStart: number | undefined;
}

export interface SkitaiResponseConstructor {
  new (req: SkitaiRequest, options?: object): SkitaiResponse;
  readonly prototype: SkitaiResponse;
}

// node's ServerResponse as node constructs it: (req, { highWaterMark, rejectNonStandardBodyWrites }).
const NodeServerResponse = ServerResponse as unknown as {
  prototype: ServerResponse<SkitaiRequest>;
  call(self: object, req: SkitaiRequest, options?: object): void;
};
const nodeWriteHead = NodeServerResponse.prototype.writeHead as (
  this: SkitaiResponse,
  ...args: any[]
) => SkitaiResponse;
const nodeDetachSocket = NodeServerResponse.prototype.detachSocket;

/**
 * The class node:http constructs for each response (the server's ServerResponse option). A
 * function constructor, as SkitaiRequest is and for the same reason: V8 inlines it where node
 * builds the response.
 */
export const SkitaiResponse = function SkitaiResponse(
  this: SkitaiResponse,
  req: SkitaiRequest,
  options?: object,
): void {
  NodeServerResponse.call(this, req, options);
} as unknown as SkitaiResponseConstructor;
Object.setPrototypeOf(SkitaiResponse.prototype, NodeServerResponse.prototype);
Object.setPrototypeOf(SkitaiResponse, ServerResponse);

/**
 * Adds `Server` on the way out. Folding it into the headers object (instead of a
 * setHeader() per request) keeps node on its fast path for writeHead(status, headers).
 */
SkitaiResponse.prototype.writeHead = function writeHead(
  this: SkitaiResponse,
  statusCode: number,
  reason?: any,
  headers?: any,
): SkitaiResponse {
  const obj = typeof reason === 'string' ? headers : reason;
  if (obj === undefined || obj === null) {
    if (!this.hasHeader('server')) this.setHeader('Server', serverHeader);
  } else if (Array.isArray(obj)) {
    // A list ([name, value, ...] or [[name, value], ...]) gets Server appended to a copy: a
    // setHeader() here would send node down its slow path, a setHeader() per entry.
    if (!listHasServer(obj) && !this.hasHeader('server')) {
      const withServer = Array.isArray(obj[0]) ? [...obj, ['Server', serverHeader]] : [...obj, 'Server', serverHeader];
      return typeof reason === 'string'
        ? nodeWriteHead.call(this, statusCode, reason, withServer)
        : nodeWriteHead.call(this, statusCode, withServer);
    }
  } else if (obj.Server === undefined && obj.server === undefined && !this.hasHeader('server')) {
    const withServer = { Server: serverHeader, ...obj };
    return typeof reason === 'string'
      ? nodeWriteHead.call(this, statusCode, reason, withServer)
      : nodeWriteHead.call(this, statusCode, withServer);
  }
  return nodeWriteHead.call(this, statusCode, reason, headers);
} as SkitaiResponse['writeHead'];

/**
 * node detaches every finished response from its connection: the connection's in-flight
 * mark goes with it, so no finished request and response stay reachable from an idle
 * keep-alive socket. (Under a prototype-swapping framework node's own detachSocket runs and
 * the mark stays until the connection's next request, as it is harmless: finished is never
 * in flight.)
 */
SkitaiResponse.prototype.detachSocket = function detachSocket(this: SkitaiResponse, socket: Socket): void {
  releaseInFlight(socket, this);
  nodeDetachSocket.call(this, socket);
};

/** True when a header list given to writeHead names Server (in any case). */
function listHasServer(list: unknown[]): boolean {
  const pairs = Array.isArray(list[0]);
  for (let i = 0; i < list.length; i += pairs ? 1 : 2) {
    const name: unknown = pairs ? (list[i] as unknown[])[0] : list[i];
    if (typeof name === 'string' && name.length === 6 && name.toLowerCase() === 'server') return true;
  }
  return false;
}

/**
 * Installed per response only while a request log is kept: stamps when the head went out,
 * so the log can split handling from sending time. An own property, so it survives
 * frameworks that swap the response's prototype (Express does).
 */
export function writeHeadStamped(this: SkitaiResponse, ...args: any[]): SkitaiResponse {
  if (this.headAt === undefined) this.headAt = clockMs();
  return Object.getPrototypeOf(this).writeHead.apply(this, args);
}
