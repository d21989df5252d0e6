// Who may read the status page: client addresses in the allowed networks and, when users
// are given, HTTP Basic credentials.
import { BlockList, isIP } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { SkitaiRequest } from '@skitai/kernel';
import { codes } from './errors.js';
import { Buffer } from 'node:buffer';

/** Loopback only, unless told otherwise. */
export const DEFAULT_ALLOW: readonly string[] = Object.freeze(['127.0.0.1/8', '::1/128']);

/** The allowed networks: 'a.b.c.d/n', 'x::y/n' or a single address. */
export function parseAllow(allow: readonly string[]): BlockList {
  if (!Array.isArray(allow))
    throw codes.SKT_STATUS_OPTION('allow', allow, "a list of networks, e.g. ['127.0.0.1/32', '10.0.0.0/8']");
  const list = new BlockList();
  for (const item of allow) {
    const [address, bits, extra] = typeof item === 'string' ? item.trim().split('/') : [];
    const family = address === undefined ? 0 : isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (
      family === 0 ||
      extra !== undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > max ||
      (bits !== undefined && !/^\d+$/.test(bits))
    ) {
      throw codes.SKT_STATUS_OPTION('each allow entry', item, "an address or network, e.g. '127.0.0.1/32' or '::1'");
    }
    list.addSubnet(address!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** True when the client's address is in an allowed network (IPv4-mapped IPv6 counts as IPv4). */
export function allowedSource(list: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : undefined;
  if (v4 !== undefined) return list.check(v4, 'ipv4');
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

export type Users = Readonly<Record<string, string>>;

export function checkUsers(users: unknown): Users | undefined {
  if (users === undefined) return undefined;
  if (
    typeof users !== 'object' ||
    users === null ||
    Array.isArray(users) ||
    Object.keys(users).length === 0 ||
    Object.entries(users).some(([name, pw]) => name === '' || name.includes(':') || typeof pw !== 'string' || pw === '')
  ) {
    throw codes.SKT_STATUS_OPTION('users', users, "an object of user names and passwords, e.g. { admin: 'secret' }");
  }
  return Object.freeze({ ...(users as Record<string, string>) });
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The user name when the request carries Basic credentials of one of the users, else undefined. */
export function authenticated(users: Users, req: SkitaiRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const name = decoded.slice(0, colon);
  const expected = Object.hasOwn(users, name) ? users[name]! : undefined;
  // Compared as digests of equal length, whether or not the user exists.
  const ok = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected ?? '\u0000no such user'));
  return ok && expected !== undefined ? name : undefined;
}
