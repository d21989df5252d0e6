// XML-RPC (text/xml) and JSON-RPC (application/json-rpc) served by the app's routes: the
// method name, dots as slashes, is a path under the one the call was posted to.
import type { IncomingMessage } from 'node:http';
import { parseMethodCall, serializeFault, serializeMethodResponse } from '@skitai/xmlrpc';
import { sendBody } from '@skitai/kernel';
import type { App } from './app.js';
import { ApiResponse } from './api.js';
import type { RequestContext } from './context.js';
import { mediaType } from './body.js';
import { HttpError, statusOf } from './http-error.js';
import { createArgs, type Args } from './params.js';
import { ResponseValue } from './response.js';
import type { Route } from './route.js';
import { Buffer } from 'node:buffer';

/** 'json-loose': an application/json body posted where no route is, a JSON-RPC call if it says so. */
export type RpcKind = 'xml' | 'json' | 'json-loose';

export function rpcKind(req: IncomingMessage): RpcKind | undefined {
  const ct = req.headers['content-type'];
  if (ct === undefined) return undefined;
  const type = mediaType(ct);
  if (type === 'text/xml') return 'xml';
  if (type === 'application/json-rpc') return 'json';
  // Most JSON-RPC clients (was.jsonrpc too) send application/json: the pipeline tries such a
  // body as a call where no route takes the path.
  if (type === 'application/json') return 'json-loose';
  return undefined;
}

interface Call {
  method: string;
  params: unknown[] | Record<string, unknown>;
  id?: unknown;
}

function targetPath(base: string, method: string): string {
  return `${base.endsWith('/') ? base : `${base}/`}${method.replace(/\./g, '/')}`;
}

/** Positional parameters get the names the route declares, in order. */
function argsFor(
  route: Route,
  routeParams: Record<string, unknown>,
  params: unknown[] | Record<string, unknown>,
): Args {
  const args = createArgs();
  for (const k in routeParams) args[k] = routeParams[k];
  if (!Array.isArray(params)) {
    for (const [k, v] of Object.entries(params)) args[k] = v;
    return args;
  }
  const names = (route.options.params ?? [])
    .filter((p) => !p.startsWith('...'))
    .map((p) => (p.endsWith('?') ? p.slice(0, -1) : p))
    .filter((n) => !(n in routeParams));
  for (const name of Object.keys(route.options.defaults ?? {})) if (!names.includes(name)) names.push(name);
  if (params.length > names.length && !route.options.params?.some((p) => p.startsWith('...'))) {
    throw new HttpError(400, `${route.name} takes ${names.length} parameter(s), ${params.length} given`);
  }
  params.forEach((v, i) => {
    args[names[i] ?? `_${i}`] = v;
  });
  return args;
}

function unwrap(value: unknown): unknown {
  if (value instanceof ResponseValue) return unwrap(value.body);
  if (value instanceof ApiResponse) return value.data;
  if (Buffer.isBuffer(value)) return value;
  return value;
}

/** Runs one call through the route pipeline: [result] or a thrown error. */
async function call(app: App, ctx: RequestContext, base: string, c: Call): Promise<unknown> {
  const found = app.router.find(targetPath(base, c.method));
  if (!found) throw new RpcMissing(c.method);
  const route = found.routes[0]!;
  ctx.route = route;
  ctx.args = argsFor(route, found.params, c.params);
  ctx.rpcParams = Array.isArray(c.params) ? c.params : undefined;
  return unwrap(await app.run(ctx, route, undefined));
}

class RpcMissing extends Error {
  constructor(readonly method: string) {
    super(`no such method: ${method}`);
  }
}

function isCall(item: unknown): boolean {
  return (
    typeof item === 'object' &&
    item !== null &&
    (item as { jsonrpc?: unknown }).jsonrpc === '2.0' &&
    typeof (item as { method?: unknown }).method === 'string'
  );
}

/** Answers an RPC call; false when the body is not a call after all (routed as usual then). */
export async function dispatchRpc(app: App, ctx: RequestContext, kind: RpcKind): Promise<boolean> {
  const { req, res, path } = ctx;
  const text = ctx.body.toString('utf8');
  const debug = app.isDebug;
  if (kind === 'xml') {
    let parsed: { method: string; params: unknown[] };
    try {
      parsed = parseMethodCall(text);
    } catch {
      // text/xml that is not a methodCall: an ordinary request to the route.
      return false;
    }
    // A methodCall for no route, posted to a route of its own: that route takes the XML.
    if (!app.router.find(targetPath(path, parsed.method)) && app.router.find(path)) return false;
    let body: string;
    try {
      await authFor(app, ctx, path, parsed.method);
      body = serializeMethodResponse(await call(app, ctx, path, parsed));
    } catch (err) {
      if (statusOf(err) === 401) throw err;
      if (!(err instanceof RpcMissing) && statusOf(err) >= 500)
        app.log('error', `XML-RPC ${parsed.method}: ${(err as Error)?.stack ?? err}`);
      const code = err instanceof RpcMissing ? -32601 : statusOf(err) === 400 ? -32602 : statusOf(err);
      body = serializeFault(code, faultMessage(err, debug));
    }
    ctx.commit(true);
    sendBody(req, res, 200, { 'Content-Type': 'text/xml; charset=utf-8' }, body);
    return true;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    if (kind === 'json-loose') return false;
    sendBody(
      req,
      res,
      200,
      { 'Content-Type': 'application/json-rpc' },
      JSON.stringify({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: `parse error: ${(err as Error).message}` },
      }),
    );
    return true;
  }
  const batch = Array.isArray(payload);
  if (
    kind === 'json-loose' &&
    !(batch ? (payload as unknown[]).length > 0 && (payload as unknown[]).every(isCall) : isCall(payload))
  )
    return false;
  const out: unknown[] = [];
  for (const item of batch ? (payload as unknown[]) : [payload]) {
    const c = item as Partial<Call> & { jsonrpc?: string };
    const id = c?.id ?? null;
    if (!c || typeof c !== 'object' || typeof c.method !== 'string') {
      out.push({ jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } });
      continue;
    }
    try {
      await authFor(app, ctx, path, c.method);
      const result = await call(app, ctx, path, { method: c.method, params: c.params ?? [] });
      if (c.id !== undefined) out.push({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
    } catch (err) {
      if (statusOf(err) === 401) throw err;
      if (!(err instanceof RpcMissing) && statusOf(err) >= 500)
        app.log('error', `JSON-RPC ${c.method}: ${(err as Error)?.stack ?? err}`);
      const code = err instanceof RpcMissing ? -32601 : statusOf(err) === 400 ? -32602 : -32603;
      out.push({ jsonrpc: '2.0', id, error: { code, message: faultMessage(err, debug) } });
    }
  }
  ctx.commit(true);
  if (out.length === 0) {
    res.writeHead(204, { 'Content-Length': 0 });
    res.end();
    return true;
  }
  sendBody(req, res, 200, { 'Content-Type': 'application/json-rpc' }, JSON.stringify(batch ? out : out[0]));
  return true;
}

async function authFor(app: App, ctx: RequestContext, base: string, method: string): Promise<void> {
  const found = app.router.find(targetPath(base, method));
  if (found) await app.checkAuthFor(ctx, found.routes[0]!);
}

function faultMessage(err: unknown, debug: boolean): string {
  if (err instanceof RpcMissing) return err.message;
  const status = statusOf(err);
  if (status >= 500 && !(err instanceof HttpError) && !debug) return 'the server failed to answer this call';
  const message = String((err as Error)?.message ?? err);
  return debug && err instanceof Error && err.stack ? `${message}\n${err.stack}` : message;
}
