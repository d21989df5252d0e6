// Alias members: `user:password@host:port/db weight`, one string per member.
import { codes } from './errors.js';

/** What a member string says. Types may parse their own form (sqlite3: a file path). */
export interface MemberAddress {
  /** The text as written (trimmed), for messages and the status page. */
  readonly text: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Host name or IP address, without IPv6 brackets ('' when the type has no host, e.g. a file). */
  readonly host: string;
  /** 0 when the member gave none and the type has no default. */
  readonly port: number;
  /** The part after '/', percent-decoded ('' when none): a database name, or a path. */
  readonly db: string;
  /** A positive integer (default 1). */
  readonly weight: number;
}

/** Thrown by parsers; the alias registry turns it into SKT_ALIAS_MEMBER with the alias name. */
export class MemberSyntaxError extends Error {}

const hostName = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const ipv6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new MemberSyntaxError(`the ${what} has a bad percent escape`);
  }
}

/** Splits off the trailing weight: `host:port 20` (one or more spaces or tabs). */
export function splitWeight(text: string): { address: string; weight: number } {
  const m = /^(.*?)(?:\s+(\S+))?$/s.exec(text.trim())!;
  const address = m[1]!;
  if (m[2] === undefined) return { address, weight: 1 };
  if (/\s/.test(address)) throw new MemberSyntaxError('too many words: only the address and a weight may be given');
  if (!/^[0-9]+$/.test(m[2]) || Number(m[2]) < 1 || Number(m[2]) > 1_000_000) {
    throw new MemberSyntaxError(`the weight ${JSON.stringify(m[2])} must be a whole number from 1 to 1000000`);
  }
  return { address, weight: Number(m[2]) };
}

/**
 * The default member parser: `[user[:password]@]host[:port][/db] [weight]`. A '@' or ':' inside
 * the user or password is written %40 / %3A (Skitai's rule); IPv6 hosts in brackets.
 */
export function parseMember(input: unknown, defaultPort = 0): MemberAddress {
  if (typeof input !== 'string')
    throw new MemberSyntaxError(`a member is a string, not ${input === null ? 'null' : typeof input}`);
  const text = input.trim();
  if (text === '') throw new MemberSyntaxError('it is empty');
  const { address, weight } = splitWeight(text);
  if (/[\u0000-\u001f\u007f]/.test(address)) throw new MemberSyntaxError('it holds a control character');
  if (address.includes('://')) throw new MemberSyntaxError('write no scheme: the alias type says the protocol');
  let rest = address;
  let user: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (credentials.includes('@')) throw new MemberSyntaxError('a "@" in the user or password must be written %40');
    const colon = credentials.indexOf(':');
    user = decode(colon === -1 ? credentials : credentials.slice(0, colon), 'user');
    password = colon === -1 ? undefined : decode(credentials.slice(colon + 1), 'password');
    if (user === '') throw new MemberSyntaxError('the user before "@" is empty');
  }
  let db = '';
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    db = decode(rest.slice(slash + 1), 'database');
    rest = rest.slice(0, slash);
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw new MemberSyntaxError('an IPv6 address lacks its closing "]"');
    host = rest.slice(1, close);
    if (!ipv6.test(host) || !host.includes(':'))
      throw new MemberSyntaxError(`${JSON.stringify(host)} is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new MemberSyntaxError('only ":port" may follow an IPv6 address');
      portText = after.slice(1);
    }
  } else {
    const colon = rest.indexOf(':');
    if (colon !== -1 && rest.indexOf(':', colon + 1) !== -1)
      throw new MemberSyntaxError('write an IPv6 address in brackets: [::1]:5000');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
    if (host === '') throw new MemberSyntaxError('the host is empty');
    if (!hostName.test(host)) throw new MemberSyntaxError(`${JSON.stringify(host)} is not a host name or IPv4 address`);
  }
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new MemberSyntaxError(`the port ${JSON.stringify(portText)} must be a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  return { text, user, password, host, port, db, weight };
}

/** For file-based types (sqlite3): the whole address is a path (or ':memory:'), with a weight. */
export function parsePathMember(input: unknown): MemberAddress {
  if (typeof input !== 'string')
    throw new MemberSyntaxError(`a member is a string, not ${input === null ? 'null' : typeof input}`);
  const text = input.trim();
  if (text === '') throw new MemberSyntaxError('it is empty');
  const { address, weight } = splitWeight(text);
  if (address.includes('\u0000')) throw new MemberSyntaxError('it holds a NUL byte');
  return { text, user: undefined, password: undefined, host: '', port: 0, db: address, weight };
}

/** Formats `host:port` with brackets for IPv6, as URLs and messages want it. */
export function hostPort(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port ? `${h}:${port}` : h;
}

export function memberError(alias: string, text: unknown, err: unknown): Error {
  if (err instanceof MemberSyntaxError) return codes.SKT_ALIAS_MEMBER(alias, text, err.message);
  return err as Error;
}
