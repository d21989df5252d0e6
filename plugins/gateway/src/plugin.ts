// The plugin: `kernel.use(gateway(options))`. Serves `kernel.mount(point, '@alias')` as a
// reverse proxy (resolveMount tap), tunnels upgrades on those mounts (upgrade tap), checks
// bearer tokens / JWTs and the alias's role and source rules, and, with `forwardProxy`, serves
// absolute-form requests (request tap) and CONNECT (connect tap). A tap is added only for what
// is configured: without forwardProxy no request goes through the gateway's code but its mounts'.
import type { Duplex } from 'node:stream';
import { definePlugin, type Kernel, type MountEntry, type Plugin } from '@skitai/kernel';
import { servicesOf } from '@skitai/services';
import { MemberPools } from './agents.js';
import { Authenticator, type Authorizer } from './auth.js';
import { isProxyCache, type ProxyCache } from './cache.js';
import { codes } from './errors.js';
import { ForwardProxy, parseForwardOptions, type ForwardProxyOptions } from './forward-proxy.js';
import { proxyMountable } from './reverse-proxy.js';
import { findMount, tunnelUpgrade, type ProxiedMount } from './tunnel.js';

export const NAME = '@skitai/gateway';
export const VERSION = '0.1.0';

export interface GatewayOptions {
  /** HS256 secret for JWTs (Skitai's enable_gateway secret): turns token checks on. */
  secret?: string | Buffer;
  /** RS256 public key (PEM) for JWTs: turns token checks on. */
  publicKey?: string | Buffer;
  /** `handleToken(req, token)` / `handleClaim(claim, req)`: turns token checks on. */
  authorizer?: Authorizer;
  /** Seconds of clock skew allowed on a JWT's exp and nbf (default 0). */
  clockTolerance?: number;
  /** Seconds a member has to send its head before the client gets 504 (default 30). */
  timeout?: number;
  /** Send the client's Host to members instead of the member's host:port (default false). */
  preserveHost?: boolean;
  /** A response cache for proxied answers (lookup before a member is asked, store after). */
  cache?: ProxyCache;
  /** The forward proxy: off unless given, and then only to the hosts listed. */
  forwardProxy?: ForwardProxyOptions;
}

const OPTION_KEYS = new Set([
  'secret',
  'publicKey',
  'authorizer',
  'clockTolerance',
  'timeout',
  'preserveHost',
  'cache',
  'forwardProxy',
]);

function checkKeys(options: GatewayOptions): void {
  if (typeof options !== 'object' || options === null) throw codes.SKT_GATEWAY_OPTION('options', options, 'an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw codes.SKT_GATEWAY_OPTION(
        key,
        options[key as keyof GatewayOptions],
        `unknown option; known: ${[...OPTION_KEYS].join(', ')}`,
      );
  }
}

function apply(kernel: Kernel, options: GatewayOptions): void {
  checkKeys(options);
  const { secret, publicKey, authorizer, clockTolerance, cache, forwardProxy } = options;
  const auth =
    secret !== undefined || publicKey !== undefined || authorizer !== undefined
      ? new Authenticator({ secret, publicKey, authorizer, clockTolerance })
      : undefined;
  const timeout = options.timeout ?? 30;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout))
    throw codes.SKT_GATEWAY_OPTION('timeout', timeout, 'seconds over 0');
  if (cache !== undefined && !isProxyCache(cache))
    throw codes.SKT_GATEWAY_OPTION(
      'cache',
      typeof cache,
      'an object with lookup(req, mount) and optionally store(req, mount, status, headers)',
    );
  const preserveHost = options.preserveHost === true;

  const pools = new MemberPools(kernel.getSettings().backendKeepAlive);
  const mounts: ProxiedMount[] = [];
  const tunnels = new Set<Duplex>();

  kernel.hooks.resolveMount.tapPromise(NAME, async (entry: MountEntry) => {
    const target = entry.target;
    if (typeof target !== 'string' || !target.startsWith('@')) return undefined;
    const where = entry.point || '/';
    const alias = servicesOf(kernel).aliases.get(target);
    if (alias === undefined)
      throw codes.SKT_GATEWAY_ALIAS(
        where,
        target,
        `no alias ${target}: declare it with kernel.alias('${target}', 'http', members)`,
      );
    if (alias.definition.protocol !== 'http') {
      throw codes.SKT_GATEWAY_ALIAS(
        where,
        target,
        `an alias of type ${alias.type} cannot be proxied (use an http or https alias)`,
      );
    }
    if (alias.roles.length > 0 && auth === undefined) {
      throw codes.SKT_GATEWAY_ALIAS(
        where,
        target,
        `the alias asks for the role ${alias.roles.join(',')} but the gateway checks no tokens (give gateway({ secret, publicKey or authorizer }))`,
      );
    }
    const ctx = { kernel, alias, pools, timeoutMs: timeout * 1000, preserveHost, auth, cache };
    return proxyMountable(ctx, (info) => {
      mounts.push({ info, ctx });
      // Longest point first, a host's own mounts before the ones for every host.
      mounts.sort(
        (a, b) =>
          (b.info.host !== '' ? 1 : 0) - (a.info.host !== '' ? 1 : 0) || b.info.point.length - a.info.point.length,
      );
    });
  });

  kernel.hooks.upgrade.tap(NAME, (req, socket, head) => {
    if (mounts.length === 0) return undefined;
    const found = findMount(mounts, req.url!, req.headers.host);
    if (found === undefined) return undefined;
    tunnelUpgrade(found.mount, found.rest, req, socket, head, tunnels);
    return true;
  });

  let forward: ForwardProxy | undefined;
  if (forwardProxy !== undefined) {
    forward = new ForwardProxy(kernel, forwardProxy, cache);
    const fp = forward;
    kernel.hooks.request.tap(NAME, (req, res) => (fp.handleRequest(req, res) ? true : undefined));
    kernel.hooks.connect.tap(NAME, (req, socket, head) => fp.handleConnect(req, socket, head));
  }

  kernel.hooks.shutdown.tapPromise(NAME, async () => {
    forward?.close();
    for (const t of tunnels) t.destroy();
    await pools.close();
  });
}

/** `kernel.use(gateway({ secret, authorizer, timeout, forwardProxy, cache }))`. */
export function gateway(options: GatewayOptions = {}): Plugin<GatewayOptions | undefined> {
  // Mistakes show where gateway() is called; the rest is checked when the kernel applies it.
  checkKeys(options);
  if (options.secret !== undefined || options.publicKey !== undefined || options.authorizer !== undefined) {
    new Authenticator({
      secret: options.secret,
      publicKey: options.publicKey,
      authorizer: options.authorizer,
      clockTolerance: options.clockTolerance,
    });
  }
  if (options.forwardProxy !== undefined) parseForwardOptions(options.forwardProxy);
  return definePlugin<GatewayOptions | undefined>({
    name: NAME,
    version: VERSION,
    kernel: '^0.1.0',
    dependencies: ['@skitai/services'],
    apply: (kernel, o) => apply(kernel, { ...options, ...(o ?? {}) }),
  });
}
