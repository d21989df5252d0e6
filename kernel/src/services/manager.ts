// The backend services of one kernel (or of none, stand-alone): aliases, connection pools,
// the result cache and the last-updated table. Built on first use: a kernel that never calls
// `alias`, `setBackendKeepAlive`, `setMaxRcache`, `addlu` or `was.get` never builds one.
import type http from 'node:http';
import { codes } from '../errors.js';
import type { Kernel } from '../kernel.js';
import type { MountEntry, RequestHandler } from '../mount/table.js';
import { Alias, aliasTypes, checkAliasName, getAliasType, type AliasOptions } from './alias.js';
import { CallContext, type TxnCarrier } from './caller.js';
import { wrapWithWasContext } from './context.js';
import { createAgent } from './http-client.js';
import { LastUpdated } from './lu.js';
import { ResultCache } from './rcache.js';

export interface ServiceDefaults {
  /** A call's timeout, ms (default 10 000). */
  timeout: number;
  /** A connection's timeout, ms (default 3 000): past it `.lb` tries another member. */
  connectTimeout: number;
  /** Most response bytes buffered, unless `stream: true` (default 64 MiB). */
  maxResponseSize: number;
}

export interface BackendServicesOptions {
  /**
   * Bind the imported `was` to each request of the kernel's mounts (AsyncLocalStorage), for
   * plain Node handlers (Express ...). Default true: it is set up when the services are built
   * before start. False saves the AsyncLocalStorage cost when only App handlers use `was`.
   */
  wasContext?: boolean;
}

interface LuKernel {
  addlu(...keys: string[]): unknown;
  getlu(...keys: string[]): number;
  setlu(key: string, ...args: unknown[]): number;
}

export class BackendServices {
  readonly aliases = new Map<string, Alias>();
  /** The result cache (Skitai's rcache), bounded by setMaxRcache (default 300 results). */
  readonly rcache = new ResultCache(300);
  /** Last-updated times (addlu / setlu / getlu) when there is no kernel (else the kernel's are used). */
  readonly lu = new LastUpdated();
  readonly defaults: ServiceDefaults = { timeout: 10_000, connectTimeout: 3_000, maxResponseSize: 64 * 1024 * 1024 };
  /** Idle backend connections older than this are closed and reopened on use, ms (default 1200 s). */
  backendKeepAlive = 1_200_000;
  /** Whether mounts run inside the `was` context (see BackendServicesOptions). */
  wasContext: boolean;
  private agents: { http?: http.Agent; https?: http.Agent } = {};
  private closed = false;

  constructor(readonly kernel?: Kernel, options: BackendServicesOptions = {}) {
    this.wasContext = options.wasContext ?? true;
    if (kernel) {
      kernel.hooks.shutdown.tapPromise('@skitai/kernel:backend-services', () => this.close());
      kernel.hooks.wrapHandler.tap('@skitai/kernel:was-context', (handler: RequestHandler, entry: MountEntry) =>
        this.wasContext && entry.kind !== 'static' ? wrapWithWasContext(kernel, handler) : handler);
    }
  }

  /** `kernel.alias('@name', type, members, { role, source, ssl })`. */
  alias(name: string, type: string, members: string | readonly string[], options: AliasOptions = {}): Alias {
    checkAliasName(name);
    if (this.aliases.has(name)) throw codes.SKT_ALIAS_DUPLICATE(name);
    const definition = typeof type === 'string' ? getAliasType(type) : undefined;
    if (!definition) throw codes.SKT_ALIAS_TYPE(name, type, aliasTypes().join(', '));
    const list = typeof members === 'string' ? [members] : Array.isArray(members) ? members : undefined;
    if (list === undefined) throw codes.SKT_ALIAS_MEMBER(name, members, 'members are a string or a list of strings');
    const alias = new Alias(name, type, definition, list, options ?? {});
    this.aliases.set(name, alias);
    return alias;
  }

  /** The alias, or SKT_ALIAS_UNKNOWN. */
  getAlias(name: string): Alias {
    const alias = this.aliases.get(name);
    if (alias === undefined) throw codes.SKT_ALIAS_UNKNOWN(name);
    return alias;
  }

  setBackendKeepAlive(seconds: number): void {
    if (typeof seconds !== 'number' || !(seconds > 0) || !Number.isFinite(seconds)) throw codes.SKT_INVALID_OPTION('backend keep-alive', seconds, 'seconds over 0');
    this.backendKeepAlive = seconds * 1000;
  }

  setMaxRcache(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw codes.SKT_INVALID_OPTION('max rcache', n, 'a whole number, 0 or more');
    this.rcache.setMax(n);
  }

  /** The kernel's last-updated table (the process model's, shared by workers), when it has one. */
  private luKernel(): LuKernel | undefined {
    const k = this.kernel as unknown as Partial<LuKernel> | undefined;
    return k !== undefined && typeof k.getlu === 'function' && typeof k.setlu === 'function' && typeof k.addlu === 'function' ? k as LuKernel : undefined;
  }

  addlu(...keys: string[]): void {
    const k = this.luKernel();
    if (k) k.addlu(...keys);
    else this.lu.add(...keys);
  }

  /** The latest last-updated time (ms) of the keys. */
  getlu(...keys: string[]): number {
    const k = this.luKernel();
    return k ? k.getlu(...keys) : this.lu.get(...keys);
  }

  /** Stamps a key as updated now (emits model-changed events). */
  setlu(key: string, ...args: unknown[]): number {
    const k = this.luKernel();
    return k ? k.setlu(key, ...args) : this.lu.set(key, ...args);
  }

  /** The keep-alive agent for calls to plain URLs (not aliases). */
  sharedAgent(ssl: boolean): http.Agent {
    const key = ssl ? 'https' : 'http';
    return (this.agents[key] ??= createAgent(ssl, this.backendKeepAlive));
  }

  /** A call context: the `was.get/post/rpc...` callers for one request (or none, outside requests). */
  context(req?: TxnCarrier): CallContext {
    return new CallContext(this, req);
  }

  /** Numbers for `was.status()`: aliases and members, the result cache, last-updated keys. */
  status(): Record<string, unknown> {
    return {
      backendKeepAlive: this.backendKeepAlive / 1000,
      aliases: [...this.aliases.values()].map((a) => a.status()),
      rcache: this.rcache.status(),
      ...(this.luKernel() ? {} : { lu: this.lu.status() }),
    };
  }

  /** Closes every pool (the kernel's shutdown tap). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.agents.http?.destroy();
    this.agents.https?.destroy();
    this.agents = {};
    const closing: Array<void | Promise<void>> = [];
    for (const alias of this.aliases.values()) {
      for (const member of alias.members) {
        if (member.pool === undefined) continue;
        const pool = member.pool;
        member.pool = undefined;
        try {
          closing.push(alias.definition.closePool?.(pool, member));
        } catch (err) {
          closing.push(Promise.reject(err));
        }
      }
    }
    const results = await Promise.allSettled(closing);
    for (const r of results) {
      if (r.status === 'rejected') this.kernel?.logs.log('server', 'warn', `closing a backend pool failed: ${(r.reason as Error)?.message ?? r.reason}`);
    }
    this.closed = false;
  }
}
