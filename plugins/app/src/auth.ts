// HTTP basic and digest authentication (RFC 7617, RFC 7616 with MD5 and qop=auth).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthUser } from './request.js';
import { Buffer } from 'node:buffer';

/**
 * What app.users.get(name) may give: a password, [password, encrypted, info] or
 * [password, encrypted]. An encrypted password is md5(`${user}:${realm}:${password}`) in hex.
 */
export type UserEntry = string | [string, boolean?, unknown?];
export interface UserCollection {
  get(name: string): UserEntry | undefined | null;
}

export function toUsers(users: UserCollection | Record<string, UserEntry> | Map<string, UserEntry>): UserCollection {
  if (users instanceof Map || typeof (users as UserCollection).get === 'function') return users as UserCollection;
  const record = users as Record<string, UserEntry>;
  return { get: (name) => (Object.hasOwn(record, name) ? record[name] : undefined) };
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function entry(
  users: UserCollection,
  name: string,
): { password: string; encrypted: boolean; info: unknown } | undefined {
  const e = users.get(name);
  if (e === undefined || e === null) return undefined;
  if (typeof e === 'string') return { password: e, encrypted: false, info: undefined };
  return { password: e[0], encrypted: e[1] ?? false, info: e[2] };
}

/** Nonces are an HMAC of their time, so any worker can check them; they live NONCE_TTL ms. */
const NONCE_TTL = 300_000;
const nonceKey = randomBytes(32);

function makeNonce(now = Date.now()): string {
  const t = now.toString(36);
  return `${t}.${createHmac('sha256', nonceKey).update(t).digest('base64url').slice(0, 22)}`;
}

/** 'ok', 'stale' (well made but too old), or 'bad'. */
function checkNonce(nonce: string): 'ok' | 'stale' | 'bad' {
  const dot = nonce.indexOf('.');
  if (dot === -1) return 'bad';
  const t = nonce.slice(0, dot);
  if (!same(nonce, `${t}.${createHmac('sha256', nonceKey).update(t).digest('base64url').slice(0, 22)}`)) return 'bad';
  return Date.now() - Number.parseInt(t, 36) > NONCE_TTL ? 'stale' : 'ok';
}

// Nonce counts seen, to refuse a replayed request (bounded: entries go with their nonce).
const seenCounts = new Map<string, number>();
function replayed(nonce: string, nc: number): boolean {
  const last = seenCounts.get(nonce) ?? 0;
  if (nc <= last) return true;
  seenCounts.set(nonce, nc);
  if (seenCounts.size > 10000) {
    for (const key of seenCounts.keys()) if (checkNonce(key) !== 'ok') seenCounts.delete(key);
  }
  return false;
}

export function parseDigest(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = re.exec(header); m; m = re.exec(header))
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  return out;
}

export interface Challenge {
  header: string;
}

export type AuthResult = { user: AuthUser } | { challenge: string };

export function challenge(scheme: 'basic' | 'digest', realm: string, stale = false): string {
  const r = realm.replace(/["\\]/g, '\\$&');
  if (scheme === 'basic') return `Basic realm="${r}", charset="UTF-8"`;
  return `Digest realm="${r}", qop="auth", algorithm=MD5, nonce="${makeNonce()}", opaque="${md5(realm)}"${stale ? ', stale=true' : ''}`;
}

export function authenticate(
  req: IncomingMessage,
  scheme: 'basic' | 'digest',
  realm: string,
  users: UserCollection,
): AuthResult {
  const header = req.headers.authorization;
  if (!header) return { challenge: challenge(scheme, realm) };
  const space = header.indexOf(' ');
  const kind = header.slice(0, space).toLowerCase();
  if (scheme === 'basic') {
    if (kind !== 'basic') return { challenge: challenge(scheme, realm) };
    const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return { challenge: challenge(scheme, realm) };
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const e = entry(users, name);
    if (!e) return { challenge: challenge(scheme, realm) };
    const ok = e.encrypted ? same(md5(`${name}:${realm}:${password}`), e.password) : same(password, e.password);
    return ok ? { user: { name, realm, info: e.info } } : { challenge: challenge(scheme, realm) };
  }
  if (kind !== 'digest') return { challenge: challenge(scheme, realm) };
  const p = parseDigest(header.slice(space + 1));
  const { username, nonce, uri, response, qop, nc, cnonce } = p;
  if (!username || !nonce || !uri || !response || p.realm !== realm) return { challenge: challenge(scheme, realm) };
  // The digest covers the URI the client asked for: it must be this request's.
  if (uri !== ((req as { originalUrl?: string }).originalUrl || req.url))
    return { challenge: challenge(scheme, realm) };
  const nonceState = checkNonce(nonce);
  if (nonceState === 'bad') return { challenge: challenge(scheme, realm) };
  const e = entry(users, username);
  if (!e) return { challenge: challenge(scheme, realm) };
  const ha1 = e.encrypted ? e.password : md5(`${username}:${realm}:${e.password}`);
  const ha2 = md5(`${req.method}:${uri}`);
  let expected: string;
  if (qop === 'auth') {
    if (!nc || !cnonce) return { challenge: challenge(scheme, realm) };
    expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  } else if (qop === undefined) {
    expected = md5(`${ha1}:${nonce}:${ha2}`);
  } else {
    return { challenge: challenge(scheme, realm) };
  }
  if (!same(expected, response)) return { challenge: challenge(scheme, realm) };
  // Right password, old nonce: ask again with stale=true so the client retries silently.
  if (nonceState === 'stale') return { challenge: challenge(scheme, realm, true) };
  if (qop === 'auth' && replayed(nonce, Number.parseInt(nc!, 16))) return { challenge: challenge(scheme, realm) };
  return { user: { name: username, realm, info: e.info } };
}
