// Hop-by-hop headers (RFC 9110 7.6.1) and the headers a proxy adds: what may cross the proxy.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { util as undiciUtil } from 'undici';
import { ensureTxn, getServerHeader, type SkitaiRequest } from '@skitai/kernel';

/** A header name Buffer as a lower-case string: a well-known name is looked up, not decoded. */
const headerName = undiciUtil.headerNameToString as (value: Buffer) => string;

/** Headers that belong to one connection, never forwarded (framing is re-made by node:http). */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** Names the Connection header lists are hop-by-hop too (`Connection: close, x-secret`). */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let tokens: Set<string> | undefined;
  for (const part of text.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    (tokens ??= new Set()).add(t);
  }
  return tokens;
}

/**
 * The end-to-end headers of a message: hop-by-hop ones and those the Connection header names
 * are dropped; Host and Content-Length are left to the caller (it sets what it verified).
 */
/** Request headers as they go upstream (string values only, as undici takes them). */
export type HeaderMap = Record<string, string | string[] | undefined>;

export function endToEnd(headers: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  const listed = connectionTokens(headers.connection);
  for (const name in headers) {
    if (HOP.has(name)) continue;
    if (listed !== undefined && listed.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

/** `X-Forwarded-For` with the client appended to what earlier proxies said. */
export function forwardedFor(headers: IncomingHttpHeaders, clientIp: string | undefined): string {
  const ip = clientIp === undefined ? 'unknown' : clientIp.startsWith('::ffff:') ? clientIp.slice(7) : clientIp;
  const prior = headers['x-forwarded-for'];
  return prior ? `${prior}, ${ip}` : ip;
}

/** `Via` with this hop appended (`1.1 skitai`). */
export function via(prior: string | string[] | undefined, version: string): string {
  const hop = `${version} skitai`;
  if (prior === undefined) return hop;
  return `${Array.isArray(prior) ? prior.join(', ') : prior}, ${hop}`;
}

/** Adds X-Forwarded-For/Proto/Host and Via to outgoing headers. */
export function addForwarded(
  out: HeaderMap,
  headers: IncomingHttpHeaders,
  clientIp: string | undefined,
  encrypted: boolean,
  httpVersion: string,
): void {
  out['x-forwarded-for'] = forwardedFor(headers, clientIp);
  out['x-forwarded-proto'] = encrypted ? 'https' : 'http';
  if (headers.host !== undefined) out['x-forwarded-host'] = headers.host;
  out.via = via(headers.via, httpVersion);
}

/** Request headers the proxy sets itself: a client's own values of these are not passed on. */
const REPLACED = new Set([
  ...HOP,
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'via',
  'x-gtxn-id',
  'x-ltxn-id',
]);

/** Request headers as undici takes them: name, value, name, value ... */
export type HeaderList = Array<string | string[]>;

const VIA_11 = '1.1 skitai';

/** The local transaction id an upstream call carries: one level deeper than the request's. */
export function deeperLtxn(ltxnId: string): string {
  if (ltxnId === '1000') return '2001';
  const base = Number.parseInt(ltxnId, 10);
  return String((Number.isFinite(base) ? base : 1000) + 1001);
}

/**
 * The upstream request's headers in one pass: `host` first (its value is set per attempt),
 * the end-to-end headers (hop-by-hop ones, those Connection names, `Expect` (the kernel
 * answered it) and HTTP/2 pseudo-headers left out), X-Forwarded-For/Proto/Host, Via, the
 * transaction ids and the verified Content-Length.
 */
export function upstreamHeaderList(req: SkitaiRequest): HeaderList {
  const h = req.headers;
  const out: HeaderList = ['host', ''];
  const listed = h.connection === undefined ? undefined : connectionTokens(h.connection);
  for (const name in h) {
    if (REPLACED.has(name) || name.charCodeAt(0) === 58 /* : */) continue;
    if (listed !== undefined && listed.has(name)) continue;
    const value = h[name];
    if (value !== undefined) out.push(name, value);
  }
  out.push(
    'x-forwarded-for',
    forwardedFor(h, req.socket.remoteAddress),
    'x-forwarded-proto',
    (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
  );
  if (h.host !== undefined) out.push('x-forwarded-host', h.host);
  out.push('via', h.via === undefined && req.httpVersion === '1.1' ? VIA_11 : via(h.via, req.httpVersion));
  ensureTxn(req);
  out.push('x-gtxn-id', req.gtxnId, 'x-ltxn-id', deeperLtxn(req.ltxnId));
  const cl = h['content-length'];
  if (cl !== undefined) out.push('content-length', cl);
  return out;
}

/**
 * Sets `extra` (lower-case names) in an upstream header list: a name already there gets the new
 * value, any other is added (a response cache's If-None-Match / If-Modified-Since).
 */
export function setRequestHeaders(list: HeaderList, extra: Record<string, string>): void {
  for (const key in extra) {
    const value = extra[key]!;
    const name = key.toLowerCase();
    let i = 2;
    while (i < list.length && list[i] !== name) i += 2;
    if (i < list.length) list[i + 1] = value;
    else list.push(name, value);
  }
}

/** An upstream answer's raw headers (undici's name/value Buffers) as node:http wants them, hop-by-hop ones removed and Via appended. */
export function responseHeaders(raw: Buffer[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  let connection: string | undefined;
  let prior: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = headerName(raw[i]!);
    if (name === 'connection') {
      const value = raw[i + 1]!.toString('latin1');
      connection = connection === undefined ? value : `${connection}, ${value}`;
      continue;
    }
    // Content-Length is kept: undici checked the body against it, node:http frames with it.
    // A dropped header's value is not decoded at all.
    if (name !== 'content-length' && HOP.has(name)) continue;
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'via') {
      prior = prior === undefined ? value : `${prior}, ${value}`;
      continue;
    }
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = name === 'set-cookie' ? [had as string, value] : `${had}, ${value}`;
  }
  if (connection !== undefined) {
    const listed = connectionTokens(connection);
    if (listed !== undefined) for (const name of listed) if (name !== 'content-length') delete out[name];
  }
  out.via = prior === undefined ? VIA_11 : via(prior, '1.1');
  // The kernel would add its Server header by copying the whole object: add it here.
  if (out.server === undefined) out.server = getServerHeader();
  return out;
}
