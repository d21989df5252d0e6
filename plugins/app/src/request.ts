// was.request: Skitai's request object over Node's IncomingMessage.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';
import { mediaType } from './body.js';
import { parseUrlEncoded, createArgs, type Args } from './params.js';
import type { Route } from './route.js';

export interface AuthUser {
  name: string;
  realm: string;
  info: unknown;
}

export interface RequestSource {
  readonly args: Args;
  readonly body: Buffer;
  readonly route: Route | undefined;
  readonly user: AuthUser | undefined;
  readonly rpcParams: unknown[] | undefined;
}

export class AppRequest {
  /** Upper case: GET, POST ... */
  readonly method: string;
  /** The URI as the client sent it (with the mount point and the query). */
  readonly uri: string;
  /** The path relative to the app's mount point. */
  readonly path: string;
  readonly query: string;
  private parsedJson: unknown = kUnset;

  constructor(
    readonly raw: IncomingMessage,
    private readonly source: RequestSource,
    originalUrl: string,
    path: string,
    query: string,
  ) {
    this.method = raw.method ?? 'GET';
    this.uri = originalUrl;
    this.path = path;
    this.query = query;
  }

  /** Every parameter: URL, query, form, JSON and multipart (repeats become arrays). */
  get args(): Args {
    return this.source.args;
  }
  /** The raw body (empty when there was none or it was multipart). */
  get body(): Buffer {
    return this.source.body;
  }
  /** The route that took the request. */
  get routed(): Route | undefined {
    return this.source.route;
  }
  /** The user that passed HTTP authentication. */
  get user(): AuthUser | undefined {
    return this.source.user;
  }
  /** Positional parameters of an XML-RPC or JSON-RPC call. */
  get rpcParams(): unknown[] | undefined {
    return this.source.rpcParams;
  }

  /** Lower case method, as Skitai's `command`. */
  get command(): string {
    return this.method.toLowerCase();
  }
  get version(): string {
    return this.raw.httpVersion;
  }
  get scheme(): string {
    const proto = this.raw.headers['x-forwarded-proto'];
    if (typeof proto === 'string' && proto !== '') return proto.split(',')[0]!.trim();
    return (this.raw.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  }
  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }
  get remoteAddress(): string | undefined {
    return this.raw.socket.remoteAddress;
  }
  get userAgent(): string | undefined {
    return this.raw.headers['user-agent'];
  }
  get contentType(): string | undefined {
    return this.raw.headers['content-type'];
  }
  get mainType(): string {
    return mediaType(this.contentType).split('/')[0] ?? '';
  }
  get subType(): string {
    return mediaType(this.contentType).split('/')[1] ?? '';
  }
  get host(): string | undefined {
    return this.raw.headers.host;
  }

  getHeader(name: string): string | undefined {
    const v = this.raw.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }
  getHeaders(): IncomingHttpHeaders {
    return this.raw.headers;
  }
  getBody(): Buffer {
    return this.body;
  }
  getRemoteAddr(): string | undefined {
    return this.remoteAddress;
  }
  getUserAgent(): string | undefined {
    return this.userAgent;
  }
  getContentType(): string | undefined {
    return this.contentType;
  }

  /** The body decoded from JSON (400 when it is not JSON). */
  json(): any {
    if (this.parsedJson !== kUnset) return this.parsedJson;
    if (this.body.length === 0) return (this.parsedJson = null);
    try {
      this.parsedJson = JSON.parse(this.body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `malformed JSON body: ${(err as Error).message}`);
    }
    return this.parsedJson;
  }

  /** The body decoded from application/x-www-form-urlencoded (400 when malformed). */
  form(): Args {
    return parseUrlEncoded(this.body.toString('utf8'), createArgs(), true);
  }

  /** The body as an object when it is a form or a JSON object, else an empty object. */
  dict(): Record<string, unknown> {
    const type = mediaType(this.contentType);
    if (type === 'application/x-www-form-urlencoded') return this.form();
    if (type.includes('json')) {
      const data = this.json();
      return data && typeof data === 'object' && !Array.isArray(data) ? data : {};
    }
    return {};
  }

  /** (path, query) as Skitai's split_uri without params and fragment. */
  splitUri(): [string, string] {
    return [this.path, this.query];
  }
}

const kUnset = Symbol('unset');
