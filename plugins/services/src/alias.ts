// Aliases (`kernel.alias('@name', type, members, options)`) as this package serves them: their
// members, pools and the load balancer over them. A type's definition says how to parse a
// member and build its pool; plugins register theirs with the kernel (registerAliasType), so
// the db plugin's postgresql, redis, mongodb and sqlite3 share `.lb`, `.map` and fail-over.
import type { AliasOptions } from '@skitai/kernel';
import { codes } from './errors.js';
import { hostPort, memberError, parseMember, parsePathMember, type MemberAddress } from './member.js';
import type { Pool } from 'undici';
import { createPool } from './dispatcher.js';
import type { WireTarget } from './http-client.js';
import type { BackendServices } from './manager.js';

export interface AliasTypeDefinition {
  /** 'http' types are served by the kernel's HTTP/RPC client; 'ws', 'db' or others by plugins. */
  protocol: string;
  /** TLS by default (https, wss); the alias option `ssl` can turn it on for the others. */
  ssl?: boolean;
  /** Port when a member gives none (http 80, https 443, postgresql 5432 ...). */
  defaultPort?: number;
  /** Parses one member string; throw MemberSyntaxError (or any Error) with the reason. */
  parseMember?(text: string, definition: AliasTypeDefinition): MemberAddress;
  /** Builds the connection pool of a member, on its first use. */
  createPool?(member: Member, services: BackendServices): unknown;
  /** Closes a pool when the kernel stops. */
  closePool?(pool: unknown, member: Member): void | Promise<void>;
  /** Numbers for `was.status()` (open and idle connections ...). */
  poolStatus?(pool: unknown, member: Member): Record<string, unknown>;
}

/** The pool of an http(s) member: one undici keep-alive Pool. */
export interface HttpPool {
  pool: Pool;
  target: WireTarget;
}

const httpPools: Pick<AliasTypeDefinition, 'createPool' | 'closePool' | 'poolStatus'> = {
  createPool(member, services): HttpPool {
    const { tls, maxConnections } = member.alias.options;
    const origin = `${member.ssl ? 'https' : 'http'}://${member.hostPort}`;
    const pool = createPool(origin, {
      keepAlive: services.backendKeepAlive,
      connections: maxConnections,
      connectTimeout: services.handshakeTimeout,
      tls: member.ssl ? tls : undefined,
    });
    return { pool, target: { ssl: member.ssl, origin, dispatcher: pool, label: member.label } };
  },
  closePool(pool) {
    return (pool as HttpPool).pool.destroy();
  },
  poolStatus(pool) {
    const stats = (pool as HttpPool).pool.stats;
    // busy and idle as counted before (connections in use, connections waiting for a call)
    return { busy: stats.connected - stats.free, idle: stats.free, queued: stats.pending };
  },
};

/** The types this package serves itself. */
export const BUILTIN_TYPES: ReadonlyMap<string, AliasTypeDefinition> = new Map<string, AliasTypeDefinition>([
  ['http', { protocol: 'http', ssl: false, ...httpPools }],
  ['https', { protocol: 'http', ssl: true, ...httpPools }],
  ['ws', { protocol: 'ws', ssl: false }],
  ['wss', { protocol: 'ws', ssl: true }],
]);

/** Whether a type's definition (registered with the kernel by any plugin) is one this package can serve. */
export function isAliasTypeDefinition(value: unknown): value is AliasTypeDefinition {
  return typeof value === 'object' && value !== null && typeof (value as AliasTypeDefinition).protocol === 'string';
}
export { parseMember, parsePathMember };

export interface SourceRule {
  readonly text: string;
  readonly network: number;
  readonly mask: number;
}

function parseSource(alias: string, item: string): SourceRule {
  const m = /^(\d{1,3}(?:\.\d{1,3}){0,3})(?:\/(\d{1,2}))?$/.exec(item);
  if (!m) throw codes.SKT_ALIAS_OPTION(alias, 'source', item, 'an IPv4 network is written a.b.c.d/bits');
  const octets = m[1]!.split('.').map(Number);
  if (octets.some((o) => o > 255)) throw codes.SKT_ALIAS_OPTION(alias, 'source', item, 'an octet is over 255');
  const bits = m[2] === undefined ? octets.length * 8 : Number(m[2]);
  if (bits > 32) throw codes.SKT_ALIAS_OPTION(alias, 'source', item, 'the mask is over 32 bits');
  while (octets.length < 4) octets.push(0);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const network = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { text: item, network: (network & mask) >>> 0, mask };
}

function ipv4(ip: string): number | undefined {
  const v = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  const parts = v.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** One member of an alias, with its load and health. */
export class Member implements MemberAddress {
  readonly text: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly db: string;
  readonly weight: number;
  readonly ssl: boolean;
  /** `@alias#0 host:port`, for messages. */
  readonly label: string;
  /** Calls in flight now. */
  inFlight = 0;
  /** Calls given to this member (the balancer's tie-breaker, levelled when it returns). */
  served = 0;
  /** Connection failures in a row. */
  failures = 0;
  /** Set aside until this time (Date.now() ms), 0 when in service. */
  asideUntil = 0;
  lastError: string | undefined = undefined;
  /** The type's connection pool, built on first use. */
  pool: unknown = undefined;

  constructor(
    readonly alias: Alias,
    readonly index: number,
    address: MemberAddress,
  ) {
    this.text = address.text;
    this.user = address.user;
    this.password = address.password;
    this.host = address.host;
    this.port = address.port;
    this.db = address.db;
    this.weight = address.weight;
    this.ssl = alias.ssl;
    this.label = `${alias.name}#${index} ${address.host ? hostPort(address.host, address.port) : address.db}`;
  }

  get hostPort(): string {
    return hostPort(this.host, this.port);
  }

  /** The type's pool for this member, created on first use. */
  getPool<T>(services: BackendServices): T {
    if (this.pool === undefined) {
      const create = this.alias.definition.createPool;
      if (!create) throw codes.SKT_ALIAS_WRONG_TYPE(this.alias.name, this.alias.type, 'a type with connection pools');
      this.pool = create(this, services);
    }
    return this.pool as T;
  }
}

export interface LbOptions {
  /** Whether an error means "this member cannot be reached": then the next member is tried. */
  isConnectionError(err: unknown): boolean;
  /** Members tried at most (default: all of them). */
  attempts?: number;
}

/** A named cluster of members of one type. */
export class Alias {
  readonly members: Member[];
  readonly roles: readonly string[];
  readonly sources: readonly SourceRule[];
  readonly ssl: boolean;
  readonly asideFirst: number;
  readonly asideMax: number;

  constructor(
    readonly name: string,
    readonly type: string,
    readonly definition: AliasTypeDefinition,
    members: readonly unknown[],
    readonly options: Readonly<AliasOptions> = {},
  ) {
    this.ssl = options.ssl ?? definition.ssl ?? false;
    this.roles =
      typeof options.role === 'string'
        ? options.role
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean)
        : [...(options.role ?? [])];
    const sourceItems = typeof options.source === 'string' ? options.source.split(',') : [...(options.source ?? [])];
    this.sources = sourceItems
      .map((s) => String(s).trim())
      .filter(Boolean)
      .map((s) => parseSource(name, s));
    const aside = options.setAside ?? {};
    for (const key of ['first', 'max'] as const) {
      const v = aside[key];
      if (v !== undefined && (typeof v !== 'number' || !(v >= 0)))
        throw codes.SKT_ALIAS_OPTION(name, `setAside.${key}`, v, 'seconds, 0 or more');
    }
    this.asideFirst = (aside.first ?? 5) * 1000;
    this.asideMax = Math.max(this.asideFirst, (aside.max ?? 300) * 1000);
    if (
      options.maxConnections !== undefined &&
      !(Number.isInteger(options.maxConnections) && options.maxConnections > 0)
    ) {
      throw codes.SKT_ALIAS_OPTION(name, 'maxConnections', options.maxConnections, 'a whole number over 0');
    }
    if (members.length === 0) throw codes.SKT_ALIAS_MEMBER(name, '', 'an alias needs at least one member');
    const defaultPort =
      definition.defaultPort ??
      (definition.protocol === 'http' || definition.protocol === 'ws' ? (this.ssl ? 443 : 80) : 0);
    this.members = members.map((text, i) => {
      let address: MemberAddress;
      try {
        address = definition.parseMember
          ? definition.parseMember(String(text), definition)
          : parseMember(text, defaultPort);
      } catch (err) {
        throw memberError(name, text, err);
      }
      return new Member(this, i, address);
    });
  }

  /** Whether a client address passes the alias's `source` rules (true without rules). */
  allowsSource(ip: string): boolean {
    if (this.sources.length === 0) return true;
    const n = ipv4(ip);
    if (n === undefined)
      return ip === '::1' && this.sources.some((s) => s.network === 0x7f000000 && s.mask <= 0xff000000);
    return this.sources.some((s) => (n & s.mask) >>> 0 === s.network);
  }

  /**
   * The member with the least load (calls in flight over weight); among equals, the one that
   * served least for its weight, so weights hold for calls made one after another too. A member
   * set aside is skipped until its time is up; when every candidate is aside, the one due back
   * first is tried anyway (a probe) rather than failing without trying.
   */
  pick(exclude?: ReadonlySet<Member>): Member | undefined {
    // The clock is read only when some member is set aside (not per call when all are up).
    let now = 0;
    let best: Member | undefined;
    let bestLoad = Infinity;
    let bestServed = Infinity;
    let soonest: Member | undefined;
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (exclude !== undefined && exclude.has(m)) continue;
      if (m.asideUntil !== 0) {
        if (now === 0) now = Date.now();
        if (m.asideUntil > now) {
          if (soonest === undefined || m.asideUntil < soonest.asideUntil) soonest = m;
          continue;
        }
        this.restore(m);
      }
      const load = m.inFlight / m.weight;
      const served = m.served / m.weight;
      if (load < bestLoad || (load === bestLoad && served < bestServed)) {
        best = m;
        bestLoad = load;
        bestServed = served;
      }
    }
    return best ?? soonest;
  }

  /** Back in service: level its served count so that it does not take a burst of every call. */
  private restore(member: Member): void {
    member.asideUntil = 0;
    let ratio = Infinity;
    for (const m of this.members) if (m !== member && m.asideUntil === 0) ratio = Math.min(ratio, m.served / m.weight);
    if (ratio !== Infinity) member.served = Math.max(member.served, Math.floor(ratio * member.weight));
  }

  /** A connection failure: set the member aside, longer after each failure in a row. */
  fail(member: Member, err: unknown): void {
    member.lastError = err instanceof Error ? err.message : String(err);
    // Calls that were in flight when it went down fail together: one failure, not several.
    if (member.asideUntil > Date.now()) return;
    member.failures++;
    const wait = Math.min(this.asideMax, this.asideFirst * 2 ** Math.min(member.failures - 1, 30));
    member.asideUntil = Date.now() + Math.max(wait, 1);
  }

  succeed(member: Member): void {
    if (member.failures !== 0) {
      member.failures = 0;
      member.lastError = undefined;
    }
  }

  /**
   * Runs `fn` on one member picked by load; on a connection error the member is set aside and
   * the next one is tried, until every member was tried once.
   */
  async lb<T>(fn: (member: Member) => Promise<T>, options: LbOptions): Promise<T> {
    const tried = new Set<Member>();
    const attempts = Math.min(options.attempts ?? this.members.length, this.members.length);
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const member = this.pick(tried);
      if (member === undefined) break;
      tried.add(member);
      member.inFlight++;
      member.served++;
      try {
        const value = await fn(member);
        this.succeed(member);
        return value;
      } catch (err) {
        if (!options.isConnectionError(err)) throw err;
        this.fail(member, err);
        lastError = err;
      } finally {
        member.inFlight--;
      }
    }
    const why = lastError instanceof Error ? lastError.message : 'no member to try';
    throw Object.assign(codes.SKT_BACKEND_UNAVAILABLE(this.name, why), { cause: lastError });
  }

  /**
   * `lb` for callers on callbacks (a driver's query callback): the same picking, fail-over and
   * set-aside, without a promise per attempt. `fn` calls `answer` once, with an error (null or
   * undefined for none) and the value; `done` gets the outcome and the member that gave it (the
   * last one tried, undefined when none could be).
   */
  lbCall<T>(
    fn: (member: Member, answer: (err: unknown, value?: T) => void) => void,
    options: LbOptions,
    done: (err: unknown, value: T | undefined, member: Member | undefined) => void,
  ): void {
    const attempts = Math.min(options.attempts ?? this.members.length, this.members.length);
    let attempt = 0;
    let tried: Set<Member> | undefined;
    let lastError: unknown;
    let last: Member | undefined;
    const next = (): void => {
      const member = attempt < attempts ? this.pick(tried) : undefined;
      if (member === undefined) {
        const why = lastError instanceof Error ? lastError.message : 'no member to try';
        done(Object.assign(codes.SKT_BACKEND_UNAVAILABLE(this.name, why), { cause: lastError }), undefined, last);
        return;
      }
      attempt++;
      last = member;
      member.inFlight++;
      member.served++;
      let answered = false;
      const answer = (err: unknown, value?: T): void => {
        if (answered) return;
        answered = true;
        member.inFlight--;
        if (err === undefined || err === null) {
          this.succeed(member);
          done(undefined, value, member);
        } else if (!options.isConnectionError(err)) {
          done(err, undefined, member);
        } else {
          this.fail(member, err);
          lastError = err;
          (tried ??= new Set()).add(member);
          next();
        }
      };
      try {
        fn(member, answer);
      } catch (err) {
        answer(err ?? new Error('the call threw nothing'));
      }
    };
    next();
  }

  /** Runs `fn` on every member at once; connection errors set members aside as in `lb`. */
  map<T>(fn: (member: Member) => Promise<T>, options: LbOptions): Promise<PromiseSettledResult<T>[]> {
    return Promise.allSettled(
      this.members.map(async (member) => {
        member.inFlight++;
        member.served++;
        try {
          const value = await fn(member);
          this.succeed(member);
          return value;
        } catch (err) {
          if (options.isConnectionError(err)) this.fail(member, err);
          throw err;
        } finally {
          member.inFlight--;
        }
      }),
    );
  }

  status(): Record<string, unknown> {
    const now = Date.now();
    return {
      name: this.name,
      type: this.type,
      ssl: this.ssl,
      roles: this.roles,
      sources: this.sources.map((s) => s.text),
      members: this.members.map((m) => ({
        member: m.label,
        weight: m.weight,
        inFlight: m.inFlight,
        served: m.served,
        failures: m.failures,
        available: m.asideUntil <= now,
        asideFor: m.asideUntil > now ? m.asideUntil - now : 0,
        lastError: m.lastError,
        pool: m.pool !== undefined && this.definition.poolStatus ? this.definition.poolStatus(m.pool, m) : undefined,
      })),
    };
  }
}
