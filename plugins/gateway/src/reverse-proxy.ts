// `kernel.mount('/members', '@members')`: a Mountable that proxies the mount to the alias's
// members. Per request, in order: the alias's `source` rule, the bearer token and the alias's
// `role` (only when configured), the response cache (only when configured), then the relay
// to a member picked by the services' balancer, with fail-over.

import {
  ensureTxn,
  sendError,
  type Kernel,
  type MountInfo,
  type Mountable,
  type RequestHandler,
  type SkitaiRequest,
  type SkitaiResponse,
} from '@skitai/kernel';
import type { Alias, Member } from '@skitai/services';
import type { MemberPools } from './agents.js';
import type { Authenticator } from './auth.js';
import { hasRole } from './auth.js';
import type { ProxyCache } from './cache.js';
import { deeperLtxn, upstreamHeaderList } from './hop.js';
import { relay, relayThroughCache, type Route } from './relay.js';

export interface ProxyContext {
  kernel: Kernel;
  alias: Alias;
  pools: MemberPools;
  timeoutMs: number;
  /** Keep the client's Host header instead of the member's host:port. */
  preserveHost: boolean;
  auth: Authenticator | undefined;
  cache: ProxyCache | undefined;
}

/** The transaction ids an upstream call carries: the global one as is, the local one a level deeper. */
export function upstreamTxn(req: SkitaiRequest): [string, string] {
  ensureTxn(req);
  return [req.gtxnId, deeperLtxn(req.ltxnId)];
}

/** A member written host:port/prefix serves the mount under that prefix ('' when none). */
function memberPrefix(member: Member): string {
  if (member.db === '') return '';
  const prefix = member.db.startsWith('/') ? member.db : `/${member.db}`;
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/**
 * A redirect from a member, as the client should see it (nginx's `proxy_redirect default`,
 * and absolute paths too): a URL on the host the member was asked as
 * (`http://10.0.0.5:8000/prefix/x`, `//10.0.0.5:8000/prefix/x`) or an absolute path
 * (`/prefix/x`) under the member's prefix becomes the same place under the mount point
 * (`/members/x`). Anything else (another host, a relative reference, a path outside the
 * member's prefix) is left as the member sent it.
 */
export function rewriteLocation(value: string, sentHost: string, prefix: string, point: string): string {
  let path = value;
  if (value.charCodeAt(0) !== 47 /* / */ || value.charCodeAt(1) === 47) {
    // scheme://authority or //authority: only the host the member was asked as is ours.
    const m = /^(?:https?:)?\/\/([^/?#]*)/i.exec(value);
    if (m === null || m[1]!.toLowerCase() !== sentHost.toLowerCase()) return value;
    path = value.slice(m[0].length);
    if (path === '' || path.charCodeAt(0) !== 47) path = `/${path}`;
  }
  if (prefix !== '') {
    if (!path.startsWith(prefix)) return value;
    const next = path.charCodeAt(prefix.length);
    if (!(Number.isNaN(next) || next === 47 || next === 63 /* ? */ || next === 35 /* # */)) return value;
    path = path.slice(prefix.length);
    if (path === '' || path.charCodeAt(0) !== 47) path = `/${path}`;
  }
  return point === '' ? path : point + path;
}

/** `Refresh: 5; url=...`: the URL part rewritten as a Location is. */
export function rewriteRefresh(value: string, rewrite: (url: string) => string): string {
  const m = /(;\s*url\s*=\s*)(["']?)([^"']*)\2\s*$/i.exec(value);
  if (m === null) return value;
  const url = rewrite(m[3]!);
  return url === m[3] ? value : `${value.slice(0, m.index)}${m[1]}${m[2]}${url}${m[2]}`;
}

export function createProxyHandler(ctx: ProxyContext, info: MountInfo): RequestHandler {
  const { alias, pools, timeoutMs, preserveHost, auth, cache } = ctx;
  const checkSource = alias.sources.length > 0;
  const roles = alias.roles;
  const point = info.point;
  const prefixes = alias.members.map(memberPrefix);

  // Made once per mount: a request carries its own state in its Exchange.
  const route: Route<Member> = {
    name: alias.name,
    timeoutMs,
    next(ex) {
      let member: Member | undefined;
      if (ex.member === undefined) {
        member = alias.pick();
      } else {
        const tried = (ex.tried ??= new Set());
        tried.add(ex.member);
        if (tried.size >= alias.members.length) return undefined;
        member = alias.pick(tried);
      }
      if (member === undefined) return undefined;
      ex.member = member;
      member.inFlight++;
      member.served++;
      const { pool, origin } = pools.get(member);
      const prefix = prefixes[member.index]!;
      const req = ex.req;
      return {
        dispatcher: pool,
        origin,
        path: prefix === '' ? req.url! : prefix + req.url!,
        hostHeader: preserveHost && req.headers.host ? req.headers.host : member.hostPort,
        label: member.label,
      };
    },
    failed: (ex, err) => alias.fail(ex.member!, err),
    answered: (ex) => alias.succeed(ex.member!),
    released: (ex) => {
      ex.member!.inFlight--;
    },
    tee: cache?.store === undefined ? undefined : (ex, status, out) => cache.store!(ex.req, info, status, out),
    redirect(ex, value, refresh) {
      const sentHost = ex.upstream!.hostHeader;
      const prefix = prefixes[ex.member!.index]!;
      const rewrite = (url: string) => rewriteLocation(url, sentHost, prefix, point);
      return refresh ? rewriteRefresh(value, rewrite) : rewrite(value);
    },
  };

  function afterAuth(req: SkitaiRequest, res: SkitaiResponse): void | Promise<void> {
    if (cache === undefined) {
      relay(req, res, route, upstreamHeaderList(req));
      return;
    }
    return relayThroughCache(cache, req, res, info, route);
  }

  return function proxy(req: SkitaiRequest, res: SkitaiResponse): void | Promise<void> {
    if (checkSource && !alias.allowsSource(req.socket.remoteAddress ?? '')) {
      return sendError(req, res, 403, `${alias.name} does not serve this client address`);
    }
    if (auth === undefined) return afterAuth(req, res);
    return auth.authenticate(req).then((outcome) => {
      if (!outcome.ok) {
        return sendError(
          req,
          res,
          outcome.status,
          outcome.message,
          outcome.challenge ? { headers: { 'WWW-Authenticate': outcome.challenge } } : {},
        );
      }
      req.user = outcome.identity.user;
      if (!hasRole(outcome.identity, roles)) {
        return sendError(req, res, 403, `${alias.name} needs the role ${roles.join(' or ')}`);
      }
      return afterAuth(req, res);
    });
  };
}

/** The Mountable a `resolveMount` tap returns for an `@alias` mount. */
export function proxyMountable(ctx: ProxyContext, onMount: (info: MountInfo) => void): Mountable {
  return {
    mountTo(_kernel: Kernel, info: MountInfo) {
      onMount(info);
      return createProxyHandler(ctx, info);
    },
  };
}
