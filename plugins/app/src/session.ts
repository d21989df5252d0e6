// was.session and was.mbox: state kept in the client, in sealed cookies (secure-cookie.ts).
// Nothing is parsed until a handler touches them; nothing is written unless they changed.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { codes } from './errors.js';
import { open, seal } from './secure-cookie.js';
import { appendSetCookie, parseCookies, serializeCookie, type CookieOptions } from './cookie.js';

export interface MountCookieOptions {
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  /** Seconds (sessions only; default app.sessionTimeout). */
  sessionTimeout?: number;
}

interface Sealed<T> {
  d: T;
  e: number;
  i?: string | undefined;
}

/** What a state object needs from its request. */
export interface StateHost {
  req: IncomingMessage;
  res: ServerResponse;
  /** The app's mount point, the default cookie path. */
  basePath: string;
  securekey: string | undefined;
  sessionTimeout: number;
  cookies(): Map<string, string>;
}

abstract class CookieState<T> {
  protected loaded = false;
  protected dirty = false;
  protected data!: T;
  protected expires = 0;
  protected ip: string | undefined;
  constructor(
    protected readonly host: StateHost,
    readonly cookieName: string,
    protected readonly key: string,
    protected readonly purpose: string,
    protected readonly cookie: CookieOptions,
  ) {}

  protected abstract empty(): T;

  protected load(): void {
    if (this.loaded) return;
    this.loaded = true;
    this.data = this.empty();
    const raw = this.host.cookies().get(this.cookieName);
    if (!raw) return;
    const v = open(this.key, this.purpose, raw) as Sealed<T> | undefined;
    // Tampered, foreign or expired: ignored, as if there were no cookie.
    if (!v || typeof v !== 'object' || typeof v.e !== 'number' || v.e * 1000 < Date.now()) return;
    this.data = v.d;
    this.expires = v.e;
    this.ip = v.i;
  }

  /** True when the client that last wrote this state has the current address. */
  sourceVerified(): boolean {
    this.load();
    return this.ip !== undefined && this.ip === this.host.req.socket.remoteAddress;
  }

  /** Whether a valid cookie for this state came with the request. */
  exists(): boolean {
    this.load();
    return this.expires > 0;
  }

  protected writeCookie(value: T, expires: number): void {
    const maxAge = expires - Math.floor(Date.now() / 1000);
    const sealed = seal(this.key, this.purpose, {
      d: value,
      e: expires,
      i: this.host.req.socket.remoteAddress,
    } satisfies Sealed<T>);
    appendSetCookie(this.host.res, serializeCookie(this.cookieName, sealed, { ...this.cookie, maxAge }));
  }

  protected deleteCookie(): void {
    appendSetCookie(
      this.host.res,
      serializeCookie(this.cookieName, '', { ...this.cookie, maxAge: 0, expires: new Date(0) }),
    );
  }

  abstract commit(success: boolean): void;
}

export class Session extends CookieState<Record<string, unknown>> {
  private explicitExpiry: number | undefined;
  private expired = false;
  constructor(
    host: StateHost,
    cookieName: string,
    key: string,
    cookie: CookieOptions,
    private readonly timeout: number,
  ) {
    super(host, cookieName, key, 'session', cookie);
  }
  protected empty(): Record<string, unknown> {
    return {};
  }

  get<T = any>(key: string, fallback?: T): T | undefined {
    this.load();
    return Object.hasOwn(this.data, key) ? (this.data[key] as T) : fallback;
  }
  /** get(), but only when sourceVerified(). */
  getv<T = any>(key: string, fallback?: T): T | undefined {
    return this.sourceVerified() ? this.get(key, fallback) : fallback;
  }
  set(key: string, value: unknown): void {
    this.load();
    this.data[key] = value;
    this.dirty = true;
  }
  has(key: string): boolean {
    this.load();
    return Object.hasOwn(this.data, key);
  }
  remove(key: string): void {
    this.load();
    if (Object.hasOwn(this.data, key)) {
      delete this.data[key];
      this.dirty = true;
    }
  }
  clear(): void {
    this.load();
    this.data = {};
    this.dirty = true;
  }
  keys(): string[] {
    this.load();
    return Object.keys(this.data);
  }
  values(): unknown[] {
    this.load();
    return Object.values(this.data);
  }
  items(): [string, unknown][] {
    this.load();
    return Object.entries(this.data);
  }
  /** Extends the expiry by the session timeout without changing a value. */
  touch(): void {
    this.load();
    this.dirty = true;
  }
  /** Expires in `timeout` seconds from now; later writes do not shorten it. */
  setExpiry(timeout: number): void {
    this.load();
    this.explicitExpiry = Math.floor(Date.now() / 1000) + timeout;
    this.dirty = true;
  }
  /** Ends the session: the cookie is deleted. */
  expire(): void {
    this.load();
    this.data = {};
    this.expired = true;
    this.dirty = true;
  }
  /** Seconds since the epoch when it expires (0: no session). */
  getExpiry(): number {
    this.load();
    return this.explicitExpiry ?? this.expires;
  }

  commit(): void {
    if (!this.dirty) return;
    if (this.expired) {
      this.deleteCookie();
      return;
    }
    const renewed = Math.floor(Date.now() / 1000) + this.timeout;
    this.expires = this.explicitExpiry ?? Math.max(this.expires, renewed);
    this.writeCookie(this.data, this.expires);
  }
}

/** One message: [id, category, created (s), valid (s, 0: until shown once), message, extra]. */
export type MboxMessage = [string, string, number, number, string, Record<string, unknown>];

export class Mbox extends CookieState<MboxMessage[]> {
  private consumed = new Set<string>();
  constructor(host: StateHost, cookieName: string, key: string, cookie: CookieOptions) {
    super(host, cookieName, key, 'mbox', cookie);
  }
  protected empty(): MboxMessage[] {
    return [];
  }

  /** Queues a message for a later page; `valid` seconds keeps it shown on every page until then. */
  send(msg: string, category = 'info', valid = 0, extra: Record<string, unknown> = {}): string {
    this.load();
    const id = randomBytes(4).toString('hex');
    this.data.push([id, category, Math.floor(Date.now() / 1000), valid, msg, extra]);
    this.dirty = true;
    return id;
  }
  /** Skitai's alias of send(). */
  push(msg: string, category = 'info', valid = 0, extra: Record<string, unknown> = {}): string {
    return this.send(msg, category, valid, extra);
  }

  /** Messages, all or by category, or by an extra key and value; shown ones (valid 0) are consumed. */
  get(categoryOrKey?: string, value?: unknown): MboxMessage[] {
    this.load();
    const now = Math.floor(Date.now() / 1000);
    const out = this.data.filter((m) => {
      if (m[3] > 0 && m[2] + m[3] < now) return false;
      if (categoryOrKey === undefined) return true;
      if (value === undefined) return m[1] === categoryOrKey;
      return m[5][categoryOrKey] === value;
    });
    for (const m of out) if (m[3] === 0) this.consumed.add(m[0]);
    return out;
  }
  getv(categoryOrKey?: string, value?: unknown): MboxMessage[] {
    return this.sourceVerified() ? this.get(categoryOrKey, value) : [];
  }
  /** Ids of the messages whose extra has key = value, or (value undefined) whose category is key. */
  search(key: string, value?: unknown): string[] {
    this.load();
    return this.data.filter((m) => (value === undefined ? m[1] === key : m[5][key] === value)).map((m) => m[0]);
  }
  remove(id: string): void {
    this.load();
    const n = this.data.length;
    this.data = this.data.filter((m) => m[0] !== id);
    if (this.data.length !== n) this.dirty = true;
  }

  /** Consumed messages are deleted only when the page that showed them succeeded. */
  commit(success: boolean): void {
    if (!this.loaded) return;
    const now = Math.floor(Date.now() / 1000);
    const before = this.data.length;
    let keep = this.data.filter((m) => !(m[3] > 0 && m[2] + m[3] < now));
    if (success && this.consumed.size > 0) keep = keep.filter((m) => !this.consumed.has(m[0]));
    if (!this.dirty && keep.length === before) return;
    if (keep.length === 0) {
      if (this.exists() || this.dirty) this.deleteCookie();
      return;
    }
    // The cookie lives as long as the longest-lived message; 30 days for show-once ones.
    const until = Math.max(...keep.map((m) => (m[3] > 0 ? m[2] + m[3] : now + 30 * 86400)));
    this.writeCookie(keep, until);
  }
}

type Named<T> = Map<string | null, T>;

function cookieOptions(host: StateHost, o: MountCookieOptions): CookieOptions {
  // Over TLS the state cookies are Secure unless told otherwise.
  const tls = (host.req.socket as { encrypted?: boolean }).encrypted === true;
  return {
    path: o.path ?? (host.basePath || '/'),
    domain: o.domain,
    secure: o.secure ?? tls,
    httpOnly: o.httpOnly ?? true,
  };
}

function requireKey(key: string | undefined, what: string): string {
  if (!key) throw codes.SKT_APP_NO_SECUREKEY(what);
  return key;
}

/**
 * was.session: the default session and its named siblings. `mount(name, key, options)`
 * makes a named session current, as Skitai's does; every other method acts on the current one.
 */
export class SessionManager {
  private readonly all: Named<Session> = new Map();
  private current: Session | undefined;
  constructor(private readonly host: StateHost) {}

  private session(name: string | null, key?: string, options: MountCookieOptions = {}): Session {
    let s = this.all.get(name);
    if (!s) {
      const k = requireKey(key ?? this.host.securekey, 'was.session');
      s = new Session(
        this.host,
        name === null ? 'SESSION' : `SESSION_${name}`,
        k,
        cookieOptions(this.host, options),
        options.sessionTimeout ?? this.host.sessionTimeout,
      );
      this.all.set(name, s);
    }
    return s;
  }
  private get cur(): Session {
    return (this.current ??= this.session(null));
  }

  mount(name: string | null = null, securekey?: string, options: MountCookieOptions = {}): Session {
    this.current = this.session(name, securekey, options);
    return this.current;
  }
  /** Whether a valid session of that name came with the request (null: the default one). */
  exists(name: string | null = null): boolean {
    const s = this.all.get(name);
    if (s) return s.exists();
    const cookie = name === null ? 'SESSION' : `SESSION_${name}`;
    return (
      this.host.cookies().has(cookie) &&
      (name !== null || this.host.securekey !== undefined) &&
      this.session(name).exists()
    );
  }

  get<T = any>(key: string, fallback?: T): T | undefined {
    return this.cur.get(key, fallback);
  }
  getv<T = any>(key: string, fallback?: T): T | undefined {
    return this.cur.getv(key, fallback);
  }
  set(key: string, value: unknown): void {
    this.cur.set(key, value);
  }
  has(key: string): boolean {
    return this.cur.has(key);
  }
  remove(key: string): void {
    this.cur.remove(key);
  }
  clear(): void {
    this.cur.clear();
  }
  keys(): string[] {
    return this.cur.keys();
  }
  values(): unknown[] {
    return this.cur.values();
  }
  items(): [string, unknown][] {
    return this.cur.items();
  }
  touch(): void {
    this.cur.touch();
  }
  setExpiry(timeout: number): void {
    this.cur.setExpiry(timeout);
  }
  getExpiry(): number {
    return this.cur.getExpiry();
  }
  expire(): void {
    this.cur.expire();
  }
  sourceVerified(): boolean {
    return this.cur.sourceVerified();
  }

  commit(): void {
    for (const s of this.all.values()) s.commit();
  }
}

export class MboxManager {
  private readonly all: Named<Mbox> = new Map();
  private current: Mbox | undefined;
  constructor(private readonly host: StateHost) {}

  private box(name: string | null, key?: string, options: MountCookieOptions = {}): Mbox {
    let m = this.all.get(name);
    if (!m) {
      const k = requireKey(key ?? this.host.securekey, 'was.mbox');
      m = new Mbox(this.host, name === null ? 'NOTIS' : `NOTIS_${name}`, k, cookieOptions(this.host, options));
      this.all.set(name, m);
    }
    return m;
  }
  private get cur(): Mbox {
    return (this.current ??= this.box(null));
  }

  mount(name: string | null = null, securekey?: string, options: MountCookieOptions = {}): Mbox {
    this.current = this.box(name, securekey, options);
    return this.current;
  }
  send(msg: string, category?: string, valid?: number, extra?: Record<string, unknown>): string {
    return this.cur.send(msg, category, valid, extra);
  }
  push(msg: string, category?: string, valid?: number, extra?: Record<string, unknown>): string {
    return this.cur.send(msg, category, valid, extra);
  }
  get(categoryOrKey?: string, value?: unknown): MboxMessage[] {
    return this.cur.get(categoryOrKey, value);
  }
  getv(categoryOrKey?: string, value?: unknown): MboxMessage[] {
    return this.cur.getv(categoryOrKey, value);
  }
  search(key: string, value?: unknown): string[] {
    return this.cur.search(key, value);
  }
  remove(id: string): void {
    this.cur.remove(id);
  }
  sourceVerified(): boolean {
    return this.cur.sourceVerified();
  }

  commit(success: boolean): void {
    for (const m of this.all.values()) m.commit(success);
  }
}

export { parseCookies };
