// The state of one request inside an app. Built for every request that reaches the app;
// everything beyond the routing result is created on first use.
import type { SkitaiRequest } from '@skitai/kernel';
import type { SkitaiResponse } from '@skitai/kernel';
import type { Was } from '@skitai/kernel';
import type { App } from './app.js';
import type { AppKernel } from './kernel-api.js';
import type { Args } from './params.js';
import { AppRequest, type AuthUser } from './request.js';
import type { Route } from './route.js';
import { MboxManager, SessionManager, parseCookies, type StateHost } from './session.js';
import type { UploadedFile } from './upload.js';
import { Buffer } from 'node:buffer';

export const kCtx = Symbol('skitai.app.context');

export class RequestContext implements StateHost {
  // Declared, then assigned in the constructor: plain stores, one hidden class, on a path
  // that runs once per request.
  declare route: Route | undefined;
  declare bodyRead: boolean;
  declare user: AuthUser | undefined;
  declare rpcParams: unknown[] | undefined;
  declare args: Args;
  declare body: Buffer;
  declare files: UploadedFile[] | undefined;
  declare was: Was;
  declare session: SessionManager | undefined;
  declare mbox: MboxManager | undefined;
  declare private request_: AppRequest | undefined;
  declare private cookieMap: Map<string, string> | undefined;
  declare committed: boolean;
  declare readonly app: App;
  declare readonly req: SkitaiRequest;
  declare readonly res: SkitaiResponse;
  declare readonly path: string;
  declare readonly query: string;

  /**
   * `args`: a route's match params when its rule has parameters (a fresh object per match, so
   * the query and body are parsed into it: no second object, no copy), else a new empty one.
   */
  constructor(app: App, req: SkitaiRequest, res: SkitaiResponse, path: string, query: string, args: Args, was: Was) {
    this.app = app;
    this.req = req;
    this.res = res;
    this.path = path;
    this.query = query;
    this.route = undefined;
    this.args = args;
    this.was = was;
    // The other fields start as the prototype's defaults (below): most requests never set
    // them, and a store per field per request is work for nothing.
  }

  /** The kernel the app is mounted on (read from the app: one store less per request). */
  get kernel(): AppKernel {
    return this.app.kernel!;
  }

  get basePath(): string {
    return this.req.baseUrl;
  }
  get securekey(): string | undefined {
    return this.app.securekey;
  }
  get sessionTimeout(): number {
    return this.app.sessionTimeout;
  }

  cookies(): Map<string, string> {
    return (this.cookieMap ??= parseCookies(this.req.headers.cookie));
  }

  get request(): AppRequest {
    return (this.request_ ??= new AppRequest(
      this.req,
      this,
      this.req.originalUrl || this.req.url || '/',
      this.path,
      this.query,
    ));
  }

  getSession(): SessionManager {
    return (this.session ??= new SessionManager(this));
  }
  getMbox(): MboxManager {
    return (this.mbox ??= new MboxManager(this));
  }

  /** Writes the session and message box cookies, once, right before the head goes out. */
  commit(success: boolean): void {
    // A request that touched neither (the common one) stores nothing here.
    if (this.committed || (this.session === undefined && this.mbox === undefined)) return;
    this.committed = true;
    this.session?.commit();
    this.mbox?.commit(success);
  }
}

const EMPTY = Buffer.alloc(0);

// Defaults of the fields a request sets only when it uses them (body, authentication, RPC,
// session, cookies): read through the prototype until then.
Object.assign(RequestContext.prototype, {
  bodyRead: false,
  user: undefined,
  rpcParams: undefined,
  body: EMPTY,
  files: undefined,
  session: undefined,
  mbox: undefined,
  request_: undefined,
  cookieMap: undefined,
  committed: false,
});

export function contextOf(was: Was, member: string): RequestContext {
  const ctx = (was as unknown as { [kCtx]?: RequestContext })[kCtx];
  if (!ctx) throw new Error(`was.${member} exists only inside the handlers of an App`);
  return ctx;
}

/**
 * Writes the session and message-box cookies of an App request onto its response now, as the
 * App does right before a head goes out. For code that answers outside the App's sending
 * (a WebSocket 101). Does nothing for a `was` that is not an App request's, or twice.
 */
export function commitState(was: Was, success = true): void {
  const ctx = (was as unknown as { [kCtx]?: RequestContext })[kCtx];
  ctx?.commit(success);
}
