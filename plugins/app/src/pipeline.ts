// The request pipeline of an App: route selection (redirect, 404, 405, CORS, 415), HTTP
// authentication, body parsing into args, the hooks around the handler, sending, error pages.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '@skitai/kernel';
import type { SkitaiRequest } from '@skitai/kernel';
import type { SkitaiResponse } from '@skitai/kernel';
import { codes } from './errors.js';
import type { App, ErrorInfo } from './app.js';
import { authenticate } from './auth.js';
import { hasBody, mediaType, readBody } from './body.js';
import { kCtx, RequestContext } from './context.js';
import { answerPreflight, applyCors, corsPolicy, isPreflight, type CorsPolicy } from './cors.js';
import { AppEvents } from './events.js';
import { HttpError, statusOf } from './http-error.js';
import { addArg, checkParams, createArgs, parseUrlEncoded } from './params.js';
import { ResponseValue, sendValue } from './response.js';
import type { Route } from './route.js';
import { NO_PARAMS, type Match } from './router.js';
import { dispatchRpc, rpcKind } from './rpc.js';
import { cleanupUploads, parseMultipart } from './upload.js';

type Found = Match<Route>;

function corsFor(app: App, route: Route): CorsPolicy | undefined {
  if (route.options.accessControlAllowOrigin === undefined && app.accessControlAllowOrigin === undefined)
    return undefined;
  if (route.options.accessControlAllowOrigin)
    return corsPolicy(
      route.options.accessControlAllowOrigin,
      route.options.accessControlMaxAge ?? app.accessControlMaxAge,
    );
  const c = app.appCors;
  if (c.origins !== app.accessControlAllowOrigin || c.maxAge !== app.accessControlMaxAge) {
    app.appCors = {
      policy: corsPolicy(app.accessControlAllowOrigin, app.accessControlMaxAge),
      origins: app.accessControlAllowOrigin,
      maxAge: app.accessControlMaxAge,
    };
  }
  return app.appCors.policy;
}

/**
 * Serves one request (req.url relative to the mount point). The common request (no hooks, no
 * body, no authentication) runs without an async frame of its own: a promise is returned only
 * when the handler or the sending returned one. `detached` (the kernel's mount handler): an
 * async handler's value is sent by the App's own promise callbacks, which never reject (see
 * settle), and nothing is returned, so the kernel chains no promise of its own on it (a
 * reaction, a closure and a microtask fewer per request).
 */
export function handleRequest(
  app: App,
  req: SkitaiRequest,
  res: SkitaiResponse,
  next?: () => void,
  detached = false,
): Promise<void> | undefined {
  if (app.reloader !== undefined && app.reloader.changed()) return reloadThenHandle(app, req, res, next);
  const url = req.url ?? '/';
  const q = queryStart(url);
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  // One route lookup per request: a literal path is one Map get; its result serves the
  // static-folder fallback, the RPC check and the routing below.
  const found = app.router.find(path);
  // Mounted beside a static folder at the same point: what no route takes goes to the folder.
  if (next !== undefined && found === undefined && (path.endsWith('/') || app.router.find(`${path}/`) === undefined)) {
    next();
    return undefined;
  }
  const was = app.kernel!.createWas(req, res);
  // A rule with parameters gives a fresh params object per match: it is the args object.
  const ctx = new RequestContext(
    app,
    req,
    res,
    path,
    query,
    found === undefined || found.params === NO_PARAMS ? createArgs() : found.params,
    was,
  );
  (was as any)[kCtx] = ctx;
  try {
    if (req.method === 'POST') {
      const rpc = rpcKind(req);
      if (rpc !== undefined && (rpc !== 'json-loose' || found === undefined))
        return serveRpc(app, ctx, rpc, found, path, query);
    }
    // The common match (one route that takes the method, no CORS, no content types) is taken
    // here: a call fewer, and this function, hot from the first requests, is optimized early
    // with it, where a small function of its own runs unoptimized for its first few thousand
    // calls. Everything else goes through select.
    let route: Route | undefined;
    if (found !== undefined && found.routes.length === 1 && app.accessControlAllowOrigin === undefined) {
      const only = found.routes[0]!;
      if (only.plain && (only.methods === undefined || only.methods.has(req.method ?? 'GET'))) route = only;
    }
    if (route === undefined) {
      route = select(app, ctx, found, path, query);
      if (route === undefined) return undefined;
    }
    ctx.route = route;
    // An await costs a turn of the microtask queue: taken only where there is work.
    if (
      (route.options.authenticate ?? app.authenticate) ||
      (route.options.stream !== true && hasBody(req)) ||
      hasHooks(app)
    ) {
      return serveRoute(app, ctx, route, query);
    }
    if (query !== '') parseUrlEncoded(query, ctx.args, false);
    if (route.params !== undefined) checkParams(route.params, ctx.args);
    const value = route.handler(was, ctx.args);
    if (isThenable(value)) return awaitValue(ctx, value as Promise<unknown>, detached);
    return sendResult(ctx, value);
  } catch (err) {
    return answerError(app, ctx, err);
  }
}

/**
 * An async handler's value: sent when it settles. The callbacks keep the context only (their
 * closure is made here, so a synchronous handler's request allocates none).
 */
function awaitValue(ctx: RequestContext, value: Promise<unknown>, detached: boolean): Promise<void> | undefined {
  if (detached) {
    // V8 optimizes a function after some ticks of ~130 KB of its bytecode run each, and one
    // under 81 bytes at its first tick. A callback that only called on ran a dozen bytes a
    // request and stayed unoptimized (calling unoptimized code) past the 4000th request; this
    // one (67 bytes) is optimized before the 3000th (node --trace-opt), the sending inlined.
    const sent = (v: unknown): void => {
      try {
        const sending = sendChecked(ctx, v);
        if (sending !== undefined) settleSending(ctx, sending);
      } catch (err) {
        failDetached(ctx, err);
      }
    };
    value.then(sent, (err) => failDetached(ctx, err));
    return undefined;
  }
  return value.then(
    (v) => sendResult(ctx, v),
    (err) => answerError(ctx.app, ctx, err),
  );
}

/** Sends a handler's value (error statuses without a body throw, for the error page). */
function sendChecked(ctx: RequestContext, value: unknown): Promise<void> | undefined {
  checkErrorValue(value);
  return sendValue(ctx.req, ctx.res, value, ctx.res.statusCode, ctx);
}

/** A streaming answer's end, detached: a failure of the sending answered (see settle). */
function settleSending(ctx: RequestContext, sending: Promise<void>): void {
  settle(
    ctx,
    sending.then(undefined, (err) => answerError(ctx.app, ctx, err)),
  );
}

/** An async handler's rejection, detached: its error page, a failure of that answered (see settle). */
function failDetached(ctx: RequestContext, err: unknown): void {
  settle(ctx, answerError(ctx.app, ctx, err));
}

/**
 * Where the query starts in a request target, or -1. Most targets are short: a loop over their
 * characters costs less than the call into String.prototype.indexOf (~150 instructions).
 */
function queryStart(url: string): number {
  const n = url.length;
  if (n > 32) return url.indexOf('?');
  for (let i = 0; i < n; i++) if (url.charCodeAt(i) === 63 /* ? */) return i;
  return -1;
}

/**
 * The end of a detached request: nobody awaits it, so a failure of the error page itself (a
 * header node refuses, say) is answered here as the kernel answers a handler's rejection: logged,
 * then the kernel's 500 page, or the connection cut when a head is out already. It never
 * becomes an unhandled rejection.
 */
function settle(ctx: RequestContext, sending: Promise<void> | undefined): void {
  if (sending !== undefined) sending.then(undefined, (err) => lastResort(ctx.app, ctx, err));
}

function lastResort(app: App, ctx: RequestContext, err: unknown): void {
  const { req, res } = ctx;
  app.log('error', `${req.method} ${req.originalUrl}: ${(err as Error)?.stack ?? err}`);
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  try {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    sendError(req as IncomingMessage, res as ServerResponse, 500, 'the server failed to answer this request');
  } catch {
    res.destroy();
  }
}

async function reloadThenHandle(app: App, req: SkitaiRequest, res: SkitaiResponse, next?: () => void): Promise<void> {
  await app.reloadNow().catch((err) => app.log('error', `reload failed: ${(err as Error).stack ?? err}`));
  await handleRequest(app, req, res, next);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** True when the app has request hooks or event listeners: then the full runRoute. */
function hasHooks(app: App): boolean {
  return (
    app.before.length !== 0 ||
    app.finish.length !== 0 ||
    app.failed.length !== 0 ||
    app.teardown.length !== 0 ||
    app.events.size !== 0
  );
}

/** A JSON-RPC or XML-RPC call: its body is read first, then the calls go through the routes. */
async function serveRpc(
  app: App,
  ctx: RequestContext,
  rpc: NonNullable<ReturnType<typeof rpcKind>>,
  found: Found | undefined,
  path: string,
  query: string,
): Promise<void> {
  try {
    await readArgs(app, ctx, undefined);
    if (await dispatchRpc(app, ctx, rpc)) return;
    // Not a call after all (no such method route): an ordinary POST.
    const route = select(app, ctx, found, path, query);
    if (!route) return;
    ctx.route = route;
    await serveRoute(app, ctx, route, query, true);
  } catch (err) {
    await answerError(app, ctx, err);
  }
}

/** Authentication, query and body into args, hooks, handler, sending: the whole pipeline. */
async function serveRoute(app: App, ctx: RequestContext, route: Route, query: string, rpc = false): Promise<void> {
  const { req, res } = ctx;
  try {
    if (route.options.authenticate ?? app.authenticate) await checkAuth(app, ctx, route);
    if (query !== '') parseUrlEncoded(query, ctx.args, false);
    if (!rpc && !route.options.stream && hasBody(req)) await readArgs(app, ctx, route);
    // A request's args are its match's params already (handleRequest): nothing to merge.
    const value = await runRoute(app, ctx, route, undefined);
    // Temporary uploads go before the answer, so a client never sees them linger.
    if (ctx.files) await cleanupUploads(ctx.files);
    const sending = sendValue(req, res, value, res.statusCode, ctx);
    if (sending !== undefined) await sending;
  } catch (err) {
    if (ctx.files) await cleanupUploads(ctx.files);
    await answerError(app, ctx, err);
  }
}

/** Sends a handler's value (the hook-free path): error pages for error statuses without a body. */
function sendResult(ctx: RequestContext, value: unknown): Promise<void> | undefined {
  try {
    checkErrorValue(value);
    const sending = sendValue(ctx.req, ctx.res, value, ctx.res.statusCode, ctx);
    if (sending !== undefined) return sending.then(undefined, (err) => answerError(ctx.app, ctx, err));
  } catch (err) {
    return answerError(ctx.app, ctx, err);
  }
  return undefined;
}

/** Routes a request: the route, or undefined when an answer (redirect, 404, 405, 415, preflight) is sent. */
function select(
  app: App,
  ctx: RequestContext,
  found: Found | undefined,
  path: string,
  query: string,
): Route | undefined {
  const { req, res } = ctx;
  if (found === undefined) {
    if (!path.endsWith('/') && app.router.find(`${path}/`)) {
      const location = `${req.baseUrl}${path}/${query ? `?${query}` : ''}`;
      res.writeHead(301, { Location: location, 'Content-Length': 0 });
      res.end();
      return undefined;
    }
    throw new HttpError(404, `${req.originalUrl || path} was not found on this server`);
  }
  const method = req.method ?? 'GET';
  const routes = found.routes;
  const route =
    routes.length === 1 ? (routes[0]!.allows(method) ? routes[0] : undefined) : routes.find((r) => r.allows(method));
  const first = route ?? found.routes[0]!;
  const cors = corsFor(app, first);
  if (cors && isPreflight(req)) {
    answerPreflight(cors, req, res, allowed(found.routes));
    return undefined;
  }
  if (!route)
    throw new HttpError(405, `${method} is not allowed here`, { headers: { Allow: allowed(found.routes).join(', ') } });
  if (cors && !applyCors(cors, req, res)) throw new HttpError(403, 'this origin is not allowed');
  if (route.contentTypes && hasBody(req)) {
    const type = mediaType(req.headers['content-type']);
    if (!route.contentTypes.includes(type)) throw new HttpError(415, `unsupported content type: ${type || 'none'}`);
  }
  return route;
}

/** Throws a 401 with a challenge unless the route needs no authentication or it passes. */
export async function checkAuth(app: App, ctx: RequestContext, route: Route): Promise<void> {
  if (!(route.options.authenticate ?? app.authenticate)) return;
  if (!app.users) throw codes.SKT_APP_NO_USERS();
  const result = authenticate(ctx.req, app.authorization, app.realm, app.users);
  if ('challenge' in result)
    throw new HttpError(401, 'authorization required', { headers: { 'WWW-Authenticate': result.challenge } });
  ctx.user = result.user;
  ctx.req.user = result.user.name;
}

/** Reads and parses the body into args by content type (multipart streams to files). */
async function readArgs(app: App, ctx: RequestContext, route: Route | undefined): Promise<void> {
  if (ctx.bodyRead) return;
  ctx.bodyRead = true;
  const { req } = ctx;
  const type = mediaType(req.headers['content-type']);
  if (type === 'multipart/form-data') {
    ctx.files = [];
    await parseMultipart(req, ctx.args, ctx.files, {
      maxMultipartBodySize: app.maxMultipartBodySize,
      maxUploadFileSize: app.maxUploadFileSize,
      maxFieldSize: app.maxPostBodySize,
      tmpdir: app.uploadTmpdir,
    });
    return;
  }
  ctx.body = await readBody(req, app.maxPostBodySize);
  if (route === undefined && ctx.body.length === 0) return;
  if (type === 'application/x-www-form-urlencoded') {
    parseUrlEncoded(ctx.body.toString('utf8'), ctx.args, true);
  } else if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))) {
    if (ctx.body.length === 0) return;
    let data: unknown;
    try {
      data = JSON.parse(ctx.body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `malformed JSON body: ${(err as Error).message}`);
    }
    if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
      for (const [k, v] of Object.entries(data)) addArg(ctx.args, k, v);
    }
  }
}

/** Parameters check, hooks and handler: the value to send. Throws for an error page. */
export async function runRoute(
  app: App,
  ctx: RequestContext,
  route: Route,
  routeParams: Record<string, unknown> | undefined,
): Promise<unknown> {
  const was = ctx.was;
  prepareArgs(ctx, route, routeParams);
  // Without any listener, the event checks below are skipped as a whole.
  const events = app.events.size === 0 ? undefined : app.events;
  let value: unknown;
  try {
    if (events?.has(AppEvents.requestStarting)) await events.emit(AppEvents.requestStarting, [was]);
    for (const fn of app.before) {
      value = await fn(was);
      if (value !== undefined && value !== null) break;
    }
    // An answer from beforeRequest skips the handler and finishRequest, as in Skitai.
    if (value === undefined || value === null) {
      value = route.handler(was, ctx.args);
      // A synchronous handler's value is used as it is: no await, no extra microtask.
      if (isThenable(value)) value = await value;
      for (const fn of app.finish) await fn(was);
    }
    if (events?.has(AppEvents.requestSuccess)) await events.emit(AppEvents.requestSuccess, [was]);
  } catch (err) {
    if (events?.has(AppEvents.requestFailed)) await events.emit(AppEvents.requestFailed, [was, err]);
    let handled: unknown;
    for (const fn of app.failed) {
      handled = await fn(was, err);
      if (handled !== undefined && handled !== null) break;
    }
    if (handled === undefined || handled === null) throw err;
    value = handled instanceof ResponseValue ? handled : new ResponseValue(statusOf(err), handled, undefined);
  } finally {
    if (events?.has(AppEvents.requestTearingDown))
      await events.emit(AppEvents.requestTearingDown, [was]).catch((e) => app.log('error', String(e?.stack ?? e)));
    for (const fn of app.teardown) {
      try {
        await fn(was);
      } catch (e) {
        app.log('error', `teardownRequest failed: ${(e as Error)?.stack ?? e}`);
      }
    }
    if (events?.has(AppEvents.requestFinished))
      await events.emit(AppEvents.requestFinished, [was]).catch(() => undefined);
  }
  checkErrorValue(value);
  return value;
}

/**
 * URL parameters first in args (as in Skitai), then the query and body; the declared
 * parameters checked. A request's args start as its match's params (handleRequest), so the
 * query and body are in them already; params given apart (an App.run caller's) are merged.
 */
function prepareArgs(ctx: RequestContext, route: Route, routeParams: Record<string, unknown> | undefined): void {
  if (routeParams !== undefined && routeParams !== NO_PARAMS && routeParams !== ctx.args) {
    const body = ctx.args;
    for (const k in body) addArg(routeParams, k, body[k]);
    ctx.args = routeParams;
  }
  if (route.params) checkParams(route.params, ctx.args);
}

/** A response value with an error status and no body gets the error page: thrown as an HttpError. */
function checkErrorValue(value: unknown): void {
  if (
    value instanceof ResponseValue &&
    value.status >= 400 &&
    (value.body === undefined || value.body === null || value.body === '')
  ) {
    const headers =
      value.headers === undefined
        ? undefined
        : Object.fromEntries(
            (Array.isArray(value.headers) ? value.headers : Object.entries(value.headers)).map(([k, v]) => [
              k,
              String(v),
            ]),
          );
    throw new HttpError(value.status, undefined, { headers });
  }
}

/** An error page: the app's error handler for the status, else the kernel's page (HTML or JSON). */
export async function answerError(app: App, ctx: RequestContext, err: unknown): Promise<void> {
  const { req, res } = ctx;
  const status = statusOf(err);
  const http = err instanceof HttpError ? err : undefined;
  if (status >= 500) app.log('error', `${req.method} ${req.originalUrl || req.url}: ${(err as Error)?.stack ?? err}`);
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const debug = app.isDebug;
  const traceback = debug && status >= 500 && err instanceof Error ? err.stack : undefined;
  const message =
    status >= 500 && !http
      ? debug
        ? String((err as Error)?.message ?? err)
        : 'the server failed to answer this request'
      : String((err as Error)?.message ?? err);
  if (http?.headers) for (const [k, v] of Object.entries(http.headers)) res.setHeader(k, v);
  if (http?.close) res.shouldKeepAlive = false;
  const handler = app.errorHandlers.get(status) ?? app.errorHandlers.get(0);
  if (handler && !http?.close) {
    const info: ErrorInfo = {
      code: status,
      message,
      detail: http?.detail,
      url: req.originalUrl || req.url || '',
      time: new Date().toUTCString(),
      traceback,
      error: err,
    };
    try {
      const value = await handler(ctx.was, info);
      if (value !== undefined && value !== null) {
        await sendValue(req, res, value, status, undefined);
        return;
      }
    } catch (e) {
      app.log('error', `error handler failed: ${(e as Error)?.stack ?? e}`);
    }
  }
  sendError(req as IncomingMessage, res as ServerResponse, status, message, {
    detail: traceback ?? http?.detail,
    close: http?.close,
  });
}

function allowed(routes: Route[]): string[] {
  const out = new Set<string>();
  for (const r of routes) {
    if (!r.methods) return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    for (const m of r.methods) out.add(m);
  }
  return [...out];
}
