// WebSocket (any HTTP upgrade) through a proxied mount: the upgrade request is re-written for
// a member (mount prefix off, hop-by-hop headers off except Connection/Upgrade, X-Forwarded-*
// and transaction ids on) and the two sockets are then joined byte for byte. The member's
// 101 (or refusal) reaches the client as the member wrote it.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

import { normalizeHostName } from './hosts.js';
import type { Kernel, MountInfo, SkitaiRequest } from '@skitai/kernel';
import type { Member } from '@skitai/services';
import { hasRole } from './auth.js';
import { addForwarded, endToEnd, type HeaderMap } from './hop.js';
import { upstreamTxn, type ProxyContext } from './reverse-proxy.js';
import { relayed } from './young-gc.js';
import { Buffer } from 'node:buffer';

export interface ProxiedMount {
  info: MountInfo;
  ctx: ProxyContext;
}

/**
 * Writes a short raw answer on a socket nobody else owns, then closes it; the refusal gets its
 * request-log line as any refused request does.
 */
export function refuseSocket(
  kernel: Kernel,
  req: SkitaiRequest,
  socket: Duplex,
  status: string,
  message = '',
  extra = '',
): void {
  const bytes = Buffer.byteLength(message);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}Content-Length: ${bytes}\r\n\r\n${message}`,
    );
  }
  (socket as { destroySoon?: () => void }).destroySoon?.();
  kernel.logRequest(req, Number.parseInt(status, 10), bytes);
}

/**
 * An established tunnel: counted among the kernel's open connections (a stop waits for it up
 * to the stop deadline, then closes it) and logged when it closes, with what reached the client.
 */
export function trackTunnel(
  kernel: Kernel,
  req: SkitaiRequest,
  socket: Duplex,
  status: () => number,
  headBytes: number,
): void {
  kernel.trackTunnel(socket);
  socket.once('close', () => {
    const written = (socket as net.Socket).bytesWritten ?? 0;
    kernel.logRequest(req, status(), Math.max(0, written - headBytes));
  });
}

function headLines(headers: HeaderMap): string {
  let text = '';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) text += `${name}: ${v}\r\n`;
    else text += `${name}: ${value}\r\n`;
  }
  return text;
}

/** Joins two sockets; either side closing or failing ends both. */
export function join(a: Duplex, b: Duplex, idleMs = 0): void {
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
  if (idleMs > 0) {
    (a as net.Socket).setTimeout?.(idleMs, end);
    (b as net.Socket).setTimeout?.(idleMs, end);
  }
  if (relayed !== undefined) {
    const count = (chunk: Buffer) => relayed!(chunk.length);
    a.on('data', count);
    b.on('data', count);
  }
  a.pipe(b);
  b.pipe(a);
}

/** The proxied mount an upgrade's path and Host fall under (longest point first), if any. */
export function findMount(
  mounts: readonly ProxiedMount[],
  url: string,
  hostHeader: string | undefined,
): { mount: ProxiedMount; rest: string } | undefined {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const host = normalizeHostName(hostHeader);
  for (const m of mounts) {
    if (m.info.host !== '' && m.info.host !== host) continue;
    const point = m.info.point;
    if (point === '') return { mount: m, rest: url };
    if (pathname.startsWith(point) && (pathname.length === point.length || pathname.charCodeAt(point.length) === 47)) {
      const rest = url.slice(point.length);
      return { mount: m, rest: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
    }
  }
  return undefined;
}

/** Tunnels an upgrade to a member of the mount's alias; refusals are answered on the socket. */
export function tunnelUpgrade(
  mount: ProxiedMount,
  rest: string,
  req: SkitaiRequest,
  socket: Duplex,
  head: Buffer,
  open: Set<Duplex>,
): void {
  const { alias, auth, preserveHost, kernel } = mount.ctx;
  socket.on('error', () => socket.destroy());
  // The gateway's own list, closed in its shutdown tap: a socket still waiting for its member
  // is not a tunnel the kernel counts yet (trackTunnel below, once joined).
  open.add(socket);
  socket.once('close', () => open.delete(socket));
  if (alias.sources.length > 0 && !alias.allowsSource(req.socket.remoteAddress ?? '')) {
    return refuseSocket(kernel, req, socket, '403 Forbidden', `${alias.name} does not serve this client address`);
  }
  const go = () => {
    const tried = new Set<Member>();
    const attempt = (lastError?: Error): void => {
      const member = tried.size < alias.members.length ? alias.pick(tried) : undefined;
      if (member === undefined) {
        return refuseSocket(
          kernel,
          req,
          socket,
          '502 Bad Gateway',
          `no member of ${alias.name} answered${lastError ? `: ${lastError.message}` : ''}`,
        );
      }
      tried.add(member);
      const out = endToEnd(req.headers);
      // The one hop-by-hop pair an upgrade carries on: it asks the member for the same protocol.
      out.connection = 'Upgrade';
      out.upgrade = req.headers.upgrade;
      addForwarded(out, req.headers, req.socket.remoteAddress, false, req.httpVersion);
      const [gtxn, ltxn] = upstreamTxn(req);
      out['x-gtxn-id'] = gtxn;
      out['x-ltxn-id'] = ltxn;
      const host = preserveHost && req.headers.host ? req.headers.host : member.hostPort;
      const path = member.db === '' ? rest : `/${member.db.replace(/^\/|\/$/g, '')}${rest}`;
      const upstream = member.ssl
        ? tls.connect({
            host: member.host,
            port: member.port,
            servername: net.isIP(member.host) ? undefined : member.host,
            ...((alias.options as { tls?: tls.ConnectionOptions }).tls ?? {}),
          })
        : net.connect({ host: member.host, port: member.port });
      const onConnectError = (err: Error) => {
        alias.fail(member, err);
        attempt(err);
      };
      upstream.once('error', onConnectError);
      upstream.once(member.ssl ? 'secureConnect' : 'connect', () => {
        upstream.off('error', onConnectError);
        if (socket.destroyed) {
          upstream.destroy();
          return;
        }
        alias.succeed(member);
        upstream.setNoDelay?.(true);
        upstream.write(`${req.method} ${path} HTTP/1.1\r\nhost: ${host}\r\n${headLines(out)}\r\n`);
        if (head.length > 0) upstream.write(head);
        // The member's status line is the first thing it sends (101, or a refusal): for the log.
        let status = 502;
        upstream.once('data', (chunk: Buffer) => {
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16));
          if (m !== null) status = Number(m[1]);
        });
        trackTunnel(kernel, req, socket, () => status, 0);
        join(socket, upstream);
      });
    };
    attempt();
  };
  if (auth === undefined) return go();
  auth.authenticate(req).then(
    (outcome) => {
      if (!outcome.ok)
        return refuseSocket(
          kernel,
          req,
          socket,
          outcome.status === 401 ? '401 Unauthorized' : '403 Forbidden',
          outcome.message,
          outcome.challenge ? `WWW-Authenticate: ${outcome.challenge}\r\n` : '',
        );
      req.user = outcome.identity.user;
      if (!hasRole(outcome.identity, alias.roles))
        return refuseSocket(
          kernel,
          req,
          socket,
          '403 Forbidden',
          `${alias.name} needs the role ${alias.roles.join(' or ')}`,
        );
      go();
    },
    () => refuseSocket(kernel, req, socket, '500 Internal Server Error'),
  );
}
