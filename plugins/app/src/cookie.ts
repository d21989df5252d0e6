// Request cookies (parsed on first use) and Set-Cookie headers for the response.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CookieOptions {
  path?: string;
  domain?: string;
  /** Seconds; 0 or negative deletes the cookie. */
  maxAge?: number;
  expires?: Date;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name === '' || out.has(name)) continue;
    try {
      out.set(name, value.includes('%') ? decodeURIComponent(value) : value);
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

export function serializeCookie(name: string, value: string, o: CookieOptions = {}): string {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  let s = `${name}=${encodeURIComponent(value)}`;
  s += `; Path=${o.path ?? '/'}`;
  if (o.domain) s += `; Domain=${o.domain}`;
  if (o.maxAge !== undefined) s += `; Max-Age=${Math.floor(o.maxAge)}`;
  if (o.expires) s += `; Expires=${o.expires.toUTCString()}`;
  if (o.secure) s += '; Secure';
  if (o.httpOnly !== false) s += '; HttpOnly';
  s += `; SameSite=${o.sameSite ?? 'Lax'}`;
  return s;
}

export function appendSetCookie(res: ServerResponse, cookie: string): void {
  const prev = res.getHeader('set-cookie');
  if (prev === undefined) res.setHeader('Set-Cookie', cookie);
  else res.setHeader('Set-Cookie', Array.isArray(prev) ? [...prev, cookie] : [String(prev), cookie]);
}

/** was.cookie: read the request's cookies, set and remove cookies on the response. */
export class Cookies {
  private parsed: Map<string, string> | undefined;
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly defaultPath: string,
  ) {}

  private get map(): Map<string, string> {
    return (this.parsed ??= parseCookies(this.req.headers.cookie));
  }
  get(name: string, fallback?: string): string | undefined {
    return this.map.get(name) ?? fallback;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  /** The cookies as a plain object (for templates: was.cookie.all.username). */
  get all(): Record<string, string> {
    return Object.fromEntries(this.map);
  }
  set(name: string, value: string, options: CookieOptions = {}): void {
    appendSetCookie(this.res, serializeCookie(name, value, { path: this.defaultPath, httpOnly: false, ...options }));
    this.map.set(name, value);
  }
  remove(name: string, options: CookieOptions = {}): void {
    appendSetCookie(
      this.res,
      serializeCookie(name, '', { path: this.defaultPath, ...options, maxAge: 0, expires: new Date(0) }),
    );
    this.map.delete(name);
  }
}
