import type { Kernel } from '../kernel.js';
import type { SkitaiRequest } from '../http/request.js';
import type { SkitaiResponse } from '../http/response.js';
import { codes } from '../errors.js';
import type { Pref } from '../process/pref.js';

/** Any Node request handler: a `(req, res)` function, an Express app, Koa's `app.callback()`. */
export type RequestHandler = (req: SkitaiRequest, res: SkitaiResponse, next?: (err?: unknown) => void) => unknown;

/** What the mount table tells a target about where it is mounted. */
export interface MountInfo {
  /** The mount point without its trailing slash: '' at the root, '/api' otherwise. */
  readonly point: string;
  /** The virtual host ('' for every host). */
  readonly host: string;
  /** A name for URL building across apps (defaults to the point). */
  readonly name: string;
}

/** An object that attaches itself to a mount point, such as an `App`: it returns its handler. */
export interface Mountable {
  mountTo(kernel: Kernel, info: MountInfo): RequestHandler | Promise<RequestHandler>;
  /** Called when the kernel stops, in reverse mount order. */
  umount?(kernel: Kernel, info: MountInfo): void | Promise<void>;
  /** The `was` members it adds when mounted, claimed at mount() so a clash shows there. */
  readonly was?: { readonly owner: string; readonly members: readonly string[] };
}

/** A static directory, a handler, a Mountable, or a module path / package name to import. */
export type MountTarget = string | RequestHandler | Mountable;

export interface MountOptions {
  /** Serve this mount only for requests whose Host is this name (port ignored). */
  host?: string;
  /** Name for cross-app URL building. */
  name?: string;
  /** gzip text and JSON bodies over 2 KiB when accepted (default true). */
  compress?: boolean;
  /** Preferences handed to a mounted App (Skitai's pref; see the process model). */
  pref?: Pref;
}

export type MountKind = 'static' | 'handler' | 'mountable' | 'module';

export interface MountEntry extends MountInfo {
  readonly target: MountTarget;
  kind: MountKind;
  readonly options: Readonly<MountOptions>;
  /** The handler that serves it, set at start. */
  handler: RequestHandler;
  /** For a static mount: the absolute folder. */
  root: string;
  /**
   * A second mount at the same point and host (Skitai's habit: `mount('/', './static')` beside
   * `mount('/', app)`): one of the two must turn out a folder, which serves what the other
   * leaves (paths no App route takes, Express's `next()`).
   */
  beside?: MountEntry;
  /** Set on the second of such a pair: it is served through the first, not by the table. */
  besideOf?: MountEntry;
}

export function normalizePoint(point: string): string {
  if (typeof point !== 'string' || !point.startsWith('/')) throw codes.SKT_MOUNT_POINT(String(point));
  let p = point;
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  const h = host.toLowerCase();
  // strip a port, but keep IPv6 brackets intact
  const close = h.lastIndexOf(']');
  const colon = h.lastIndexOf(':');
  return colon > close ? h.slice(0, colon) : h;
}

/** True when `pathname` is `entry`'s point without its trailing slash: redirected to it with one. */
export function isBarePoint(entry: MountEntry, pathname: string): boolean {
  return entry.point.length > 0 && pathname.length === entry.point.length;
}

export type Resolution = { entry: MountEntry; redirect: false } | { entry: MountEntry; redirect: true };

function notReady(): never {
  throw new Error('mount handler used before kernel start');
}

/**
 * The mount table: virtual host buckets, each sorted so that the longest point comes first.
 * Lookup walks one short array comparing prefixes: no regular expressions, no allocation.
 */
export class MountTable {
  readonly entries: MountEntry[] = [];
  private byHost = new Map<string, MountEntry[]>();
  private anyHost: MountEntry[] = [];
  private hasHosts = false;

  add(point: string, target: MountTarget, options: MountOptions = {}): MountEntry {
    const p = normalizePoint(point);
    const host = normalizeHost(options.host);
    const same = this.entries.find((e) => e.point === p && e.host === host);
    // Only a folder may share a point, and only with one other mount.
    if (
      same &&
      (same.beside !== undefined ||
        same.besideOf !== undefined ||
        (typeof same.target !== 'string' && typeof target !== 'string'))
    ) {
      throw codes.SKT_MOUNT_DUPLICATE(p || '/', host);
    }
    if (
      target === null ||
      target === undefined ||
      (typeof target !== 'string' &&
        typeof target !== 'function' &&
        typeof (target as Mountable).mountTo !== 'function')
    ) {
      throw codes.SKT_MOUNT_TARGET(
        p || '/',
        'the target must be a directory, a (req, res) handler, an App, or a module name',
      );
    }
    const entry: MountEntry = {
      point: p,
      host,
      name: options.name ?? (p || '/'),
      target,
      options,
      kind: typeof target === 'string' ? 'module' : typeof target === 'function' ? 'handler' : 'mountable',
      handler: notReady,
      root: '',
    };
    if (same) {
      same.beside = entry;
      entry.besideOf = same;
    }
    this.entries.push(entry);
    this.index();
    return entry;
  }

  private index(): void {
    const byLength = (a: MountEntry, b: MountEntry) => b.point.length - a.point.length;
    const served = this.entries.filter((e) => e.besideOf === undefined);
    this.anyHost = served.filter((e) => e.host === '').sort(byLength);
    this.byHost = new Map();
    for (const e of served) {
      if (e.host === '') continue;
      const list = this.byHost.get(e.host) ?? [];
      list.push(e);
      this.byHost.set(e.host, list);
    }
    // A virtual host also sees the mounts made for every host, after its own.
    for (const [host, list] of this.byHost) this.byHost.set(host, [...list.sort(byLength), ...this.anyHost]);
    this.hasHosts = this.byHost.size > 0;
  }

  /**
   * At start, once every target is attached: each pair at one point becomes one mount, the
   * App or handler first and the folder behind it. A pair with no folder is refused.
   */
  joinPairs(): void {
    for (const first of this.entries) {
      const second = first.beside;
      if (second === undefined || first.besideOf !== undefined) continue;
      const folder = first.kind === 'static' ? first : second.kind === 'static' ? second : undefined;
      const front = folder === first ? second : first;
      if (folder === undefined || front.kind === 'static') {
        throw codes.SKT_MOUNT_TARGET(
          first.point || '/',
          'two mounts share this point: only a folder of static files may share a point with an App or handler (mount the other elsewhere)',
        );
      }
      const serve = front.handler;
      const files = folder.handler;
      front.handler = (req, res) => serve(req, res, () => files(req, res));
      front.beside = folder;
      front.besideOf = undefined;
      folder.besideOf = front;
      folder.beside = undefined;
    }
    this.index();
  }

  /**
   * Finds the mount for a path (no query) and Host header. A path that is the point itself
   * without its slash (`/api` for `/api`) finds that mount too: the caller redirects it (see
   * isBarePoint). Returns the entry itself, so the request path's lookup allocates nothing.
   */
  find(pathname: string, hostHeader: string | undefined): MountEntry | undefined {
    const list = this.hasHosts ? (this.byHost.get(normalizeHost(hostHeader)) ?? this.anyHost) : this.anyHost;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      const point = entry.point;
      if (point === '') return entry;
      if (
        pathname.startsWith(point) &&
        (pathname.length === point.length || pathname.charCodeAt(point.length) === 47) /* / */
      )
        return entry;
    }
    return undefined;
  }

  /** find() with the redirect spelled out (for plugins that look a path up outside the request path). */
  resolve(pathname: string, hostHeader: string | undefined): Resolution | undefined {
    const entry = this.find(pathname, hostHeader);
    if (entry === undefined) return undefined;
    return isBarePoint(entry, pathname) ? { entry, redirect: true } : { entry, redirect: false };
  }

  findByName(name: string): MountEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }
}
