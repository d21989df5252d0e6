// `kernel.mount('/members', '@members')`: a Mountable that proxies the mount to the alias's
// members. Per request, in order: the alias's `source` rule, the bearer token and the alias's
// `role` (only when configured), the response cache (only when configured), then the relay
// to a member picked by the services' balancer, with fail-over.

import {
  ensureTxn, sendError,
  type Kernel, type MountInfo, type Mountable, type RequestHandler, type SkitaiRequest, type SkitaiResponse,
} from '@skitai/kernel';
import type { Alias, Member } from '@skitai/services';
import type { MemberPools } from './agents.js';
import type { Authenticator } from './auth.js';
import { hasRole } from './auth.js';
import { throughCache, type CacheMiss, type ProxyCache } from './cache.js';
import { addForwarded, endToEnd } from './hop.js';
import { relay, type Upstream } from './relay.js';

export interface ProxyContext {
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
  const base = Number.parseInt(req.ltxnId, 10);
  return [req.gtxnId, String((Number.isFinite(base) ? base : 1000) + 1001)];
}

/** The upstream request's headers: end-to-end ones, X-Forwarded-*, Via and the transaction ids. */
export function upstreamHeaders(req: SkitaiRequest): Record<string, string | string[] | undefined> {
  const out = endToEnd(req.headers);
  // The kernel answered any Expect: 100-continue itself.
  delete out.expect;
  addForwarded(out, req.headers, req.socket.remoteAddress, (req.socket as { encrypted?: boolean }).encrypted === true, req.httpVersion);
  const [gtxn, ltxn] = upstreamTxn(req);
  out['x-gtxn-id'] = gtxn;
  out['x-ltxn-id'] = ltxn;
  return out;
}

function memberPath(member: Member, url: string): string {
  // A member written host:port/prefix serves the mount under that prefix.
  if (member.db === '') return url;
  const prefix = member.db.startsWith('/') ? member.db : `/${member.db}`;
  return (prefix.endsWith('/') ? prefix.slice(0, -1) : prefix) + url;
}

export function createProxyHandler(ctx: ProxyContext, info: MountInfo): RequestHandler {
  const { alias, pools, timeoutMs, preserveHost, auth, cache } = ctx;
  const checkSource = alias.sources.length > 0;
  const roles = alias.roles;

  function forward(req: SkitaiRequest, res: SkitaiResponse, miss?: CacheMiss): void {
    const tried = new Set<Member>();
    const upstreams = new Map<Upstream, Member>();
    const headers = upstreamHeaders(req);
    if (miss !== undefined) {
      if (miss.headers !== undefined) Object.assign(headers, miss.headers);
      if (miss.done !== undefined) res.once('close', () => miss.done!());
    }
    relay(req, res, {
      name: alias.name,
      headers,
      timeoutMs,
      next() {
        if (tried.size >= alias.members.length) return undefined;
        const member = alias.pick(tried);
        if (member === undefined) return undefined;
        tried.add(member);
        member.inFlight++;
        member.served++;
        const { pool, origin } = pools.get(member);
        const upstream: Upstream = {
          dispatcher: pool, origin,
          path: memberPath(member, req.url!),
          hostHeader: preserveHost && req.headers.host ? req.headers.host : member.hostPort,
          label: member.label,
        };
        upstreams.set(upstream, member);
        return upstream;
      },
      failed: (upstream, err) => alias.fail(upstreams.get(upstream)!, err),
      answered: (upstream) => alias.succeed(upstreams.get(upstream)!),
      released: (upstream) => { upstreams.get(upstream)!.inFlight--; },
      tee: miss !== undefined ? (status, out) => miss.head(status, out)
        : cache?.store === undefined ? undefined : (status, out) => cache.store!(req, info, status, out),
      notModified: miss?.notModified === undefined ? undefined : (out) => miss.notModified!(out),
    });
  }

  function afterAuth(req: SkitaiRequest, res: SkitaiResponse): void | Promise<void> {
    if (cache === undefined) return forward(req, res);
    return throughCache(cache, req, res, info, (miss) => forward(req, res, miss));
  }

  return function proxy(req: SkitaiRequest, res: SkitaiResponse): void | Promise<void> {
    if (checkSource && !alias.allowsSource(req.socket.remoteAddress ?? '')) {
      return sendError(req, res, 403, `${alias.name} does not serve this client address`);
    }
    if (auth === undefined) return afterAuth(req, res);
    return auth.authenticate(req).then((outcome) => {
      if (!outcome.ok) {
        return sendError(req, res, outcome.status, outcome.message, outcome.challenge ? { headers: { 'WWW-Authenticate': outcome.challenge } } : {});
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
