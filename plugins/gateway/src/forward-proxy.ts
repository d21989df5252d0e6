// The forward proxy (Skitai's enable_proxy): absolute-form requests (`GET http://host/path`)
// and CONNECT tunnels. Never open by default: a request is served only when its client is in
// `sources` (loopback unless configured) and its target host and port are on the allow-list;
// CONNECT reaches port 443 only unless `connectPorts` says more. Refusals get 403 and a line
// in the server log.
import type { Agent } from 'undici';
import { forwardAgent } from './agents.js';
import net from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { sendError, type Kernel, type SkitaiRequest, type SkitaiResponse } from '@skitai/kernel';
import type { ProxyCache } from './cache.js';
import { parseSources, type SourceList } from './cidr.js';
import { codes } from './errors.js';
import { upstreamHeaderList } from './hop.js';
import { relay, relayThroughCache, type Exchange, type Route, type Upstream } from './relay.js';
import { join, refuseSocket, trackTunnel } from './tunnel.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

export interface ForwardProxyOptions {
  /**
   * Targets it may reach: `'example.com'`, `'*.example.com'` (sub-domains), `'10.0.0.5'`, each
   * optionally with `:port`; `'*'` for any host (an explicit choice). Required.
   */
  hosts: readonly string[];
  /** Client networks it serves (default loopback only: `127.0.0.0/8`, `::1`). */
  sources?: readonly string[];
  /** Ports a host without its own `:port` may be reached on by absolute-form requests (default [80]). */
  ports?: readonly number[];
  /** Ports a host without its own `:port` may be reached on by CONNECT (default [443]). */
  connectPorts?: readonly number[];
  /** Idle seconds of a proxied request's upstream connection (Skitai's channel keep-alive, default 60). */
  channelTimeout?: number;
  /** Idle seconds of a CONNECT tunnel (Skitai's tunnel keep-alive, default 600). */
  tunnelTimeout?: number;
  /** Seconds to wait for an upstream's head on absolute-form requests (default 30). */
  timeout?: number;
}

interface HostRule {
  host: string;
  suffix: boolean;
  any: boolean;
  port: number | undefined;
}

function parsePorts(option: string, value: unknown, fallback: number[]): Set<number> {
  if (value === undefined) return new Set(fallback);
  if (!Array.isArray(value) || !value.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) {
    throw codes.SKT_GATEWAY_OPTION(option, value, 'a list of port numbers');
  }
  return new Set(value as number[]);
}

function seconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw codes.SKT_GATEWAY_OPTION(option, value, 'seconds over 0');
  return value * 1000;
}

function parseHostRule(item: unknown): HostRule {
  if (typeof item !== 'string' || item.trim() === '')
    throw codes.SKT_GATEWAY_OPTION('forwardProxy.hosts', item, 'a host name, *.domain or *, with an optional :port');
  const text = item.trim().toLowerCase();
  if (text === '*') return { host: '', suffix: false, any: true, port: undefined };
  const m = /^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m)
    throw codes.SKT_GATEWAY_OPTION('forwardProxy.hosts', item, 'a host name, *.domain or *, with an optional :port');
  return {
    host: m[2]!.replace(/^\[|\]$/g, ''),
    suffix: m[1] !== undefined,
    any: false,
    port: m[3] === undefined ? undefined : Number(m[3]),
  };
}

/** Splits `host:port` / `[v6]:port` (CONNECT's authority form). */
export function splitAuthority(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2]!).toLowerCase(), port };
}

/** Checks the options (throws SKT_GATEWAY_OPTION) and reads them. */
export function parseForwardOptions(options: ForwardProxyOptions) {
  if (typeof options !== 'object' || options === null)
    throw codes.SKT_GATEWAY_OPTION('forwardProxy', options, 'an object with hosts');
  if (!Array.isArray(options.hosts) || options.hosts.length === 0) {
    throw codes.SKT_GATEWAY_OPTION(
      'forwardProxy.hosts',
      options.hosts,
      "list the hosts the proxy may reach ('*' for any): it is never open by default",
    );
  }
  return {
    rules: options.hosts.map(parseHostRule),
    sources: parseSources('forwardProxy.sources', options.sources ?? ['127.0.0.0/8', '::1']),
    ports: parsePorts('forwardProxy.ports', options.ports, [80]),
    connectPorts: parsePorts('forwardProxy.connectPorts', options.connectPorts, [443]),
    channelMs: seconds('forwardProxy.channelTimeout', options.channelTimeout, 60),
    tunnelMs: seconds('forwardProxy.tunnelTimeout', options.tunnelTimeout, 600),
    timeoutMs: seconds('forwardProxy.timeout', options.timeout, 30),
  };
}

export class ForwardProxy {
  private readonly rules: HostRule[];
  private readonly sources: SourceList;
  private readonly ports: Set<number>;
  private readonly connectPorts: Set<number>;
  private readonly channelMs: number;
  private readonly tunnelMs: number;
  private readonly timeoutMs: number;
  private readonly agent: Agent;
  private readonly tunnels = new Set<Duplex>();
  /** The cache's store() as a Route's tee, made once (undefined without a cache or a store). */
  private readonly tee: Route['tee'];

  constructor(
    private readonly kernel: Kernel,
    options: ForwardProxyOptions,
    private readonly cache?: ProxyCache,
  ) {
    const c = parseForwardOptions(options);
    this.rules = c.rules;
    this.sources = c.sources;
    this.ports = c.ports;
    this.connectPorts = c.connectPorts;
    this.channelMs = c.channelMs;
    this.tunnelMs = c.tunnelMs;
    this.timeoutMs = c.timeoutMs;
    this.agent = forwardAgent(this.channelMs);
    const store = cache?.store;
    this.tee =
      store === undefined
        ? undefined
        : (ex: Exchange, status: number, out: OutgoingHttpHeaders): Writable | undefined =>
            store.call(cache, ex.req, undefined, status, out);
  }

  /** Why a target is refused, or undefined when it is allowed. */
  refusal(clientIp: string | undefined, host: string, port: number, tunnel: boolean): string | undefined {
    if (!this.sources.allows(clientIp)) return `client ${clientIp} is not in the proxy's sources`;
    const defaults = tunnel ? this.connectPorts : this.ports;
    for (const r of this.rules) {
      const hostOk = r.any || host === r.host || (r.suffix && host.endsWith(`.${r.host}`));
      if (!hostOk) continue;
      if (r.port !== undefined ? r.port === port : defaults.has(port)) return undefined;
    }
    return `${tunnel ? 'CONNECT to' : 'proxying to'} ${host}:${port} is not allowed`;
  }

  private refused(what: string, clientIp: string | undefined, why: string): void {
    this.kernel.logs.log('server', 'warn', `forward proxy refused ${what} from ${clientIp}: ${why}`);
  }

  /** The `request` tap: absolute-form requests; origin-form ones go on to the mounts. */
  handleRequest(req: SkitaiRequest, res: SkitaiResponse): boolean {
    // The kernel accepted the absolute-form target (its authority matches Host) and kept it here.
    const url = req.absoluteUrl;
    if (url === undefined) return false;
    const clientIp = req.socket.remoteAddress;
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      sendError(req, res, 400, 'the request target is neither a path nor an absolute URL');
      return true;
    }
    if (target.protocol !== 'http:') {
      this.refused(`${req.method} ${url}`, clientIp, 'only http:// URLs are proxied (use CONNECT for https)');
      sendError(req, res, 403, 'only http:// URLs are proxied; use CONNECT for https');
      return true;
    }
    const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = target.port === '' ? 80 : Number(target.port);
    const why = this.refusal(clientIp, host, port, false);
    if (why !== undefined) {
      this.refused(`${req.method} ${url}`, clientIp, why);
      sendError(req, res, 403, why);
      return true;
    }
    const upstream: Upstream = {
      dispatcher: this.agent,
      origin: `http://${target.host}`,
      path: `${target.pathname}${target.search}`,
      hostHeader: target.host,
      label: target.host,
    };
    const route: Route = {
      name: target.host,
      timeoutMs: this.timeoutMs,
      next: (ex) => (ex.upstream === undefined ? upstream : undefined),
      tee: this.tee,
    };
    const cache = this.cache;
    if (cache === undefined) {
      relay(req, res, route, upstreamHeaderList(req));
      return true;
    }
    const pending = relayThroughCache(cache, req, res, undefined, route);
    // Asynchronous only with a cache: what the request tap cannot catch any more is answered here.
    pending?.catch((err: Error) => {
      if (!res.headersSent) sendError(req, res, 502, `proxying to ${target.host} failed: ${err.message}`);
      else res.destroy();
    });
    return true;
  }

  /** The `connect` tap: a tunnel to an allowed host:port. */
  handleConnect(req: SkitaiRequest, socket: Duplex, head: Buffer): boolean {
    const clientIp = req.socket.remoteAddress;
    socket.on('error', () => socket.destroy());
    const target = splitAuthority(req.url ?? '');
    if (target === undefined) {
      this.refused(`CONNECT ${req.url}`, clientIp, 'not host:port');
      refuseSocket(this.kernel, req, socket, '400 Bad Request', 'CONNECT takes host:port');
      return true;
    }
    const why = this.refusal(clientIp, target.host, target.port, true);
    if (why !== undefined) {
      this.refused(`CONNECT ${req.url}`, clientIp, why);
      refuseSocket(this.kernel, req, socket, '403 Forbidden', why);
      return true;
    }
    const upstream = net.connect({ host: target.host, port: target.port });
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    const onError = (err: Error) => {
      this.kernel.logs.log('server', 'info', `CONNECT ${req.url} from ${clientIp} failed: ${err.message}`);
      refuseSocket(this.kernel, req, socket, '502 Bad Gateway', `cannot reach ${req.url}: ${err.message}`);
    };
    upstream.once('error', onError);
    upstream.once('connect', () => {
      upstream.off('error', onError);
      if (socket.destroyed) {
        upstream.destroy();
        return;
      }
      upstream.setNoDelay(true);
      socket.write(ESTABLISHED);
      if (head.length > 0) upstream.write(head);
      trackTunnel(this.kernel, req, socket, () => 200, ESTABLISHED.length);
      join(socket, upstream, this.tunnelMs);
    });
    return true;
  }

  close(): void {
    for (const t of this.tunnels) t.destroy();
    this.tunnels.clear();
    void this.agent.destroy();
  }
}
