// The backend services of one kernel (or of none, stand-alone): aliases, connection pools,
// the result cache and the last-updated table. The plugin (plugin.ts) builds one per kernel.
import type { Agent } from 'undici';
import { codes } from './errors.js';
import { checkAliasName, type AliasOptions, type Kernel } from '@skitai/kernel';
import { Alias, BUILTIN_TYPES, type AliasTypeDefinition } from './alias.js';
import { CallContext, type TxnCarrier } from './caller.js';
import { createAgent } from './dispatcher.js';
import { LastUpdated } from './lu.js';
import { ResultCache } from './rcache.js';
import { isHttpResponseCache, type HttpResponseCache } from './response-cache.js';
import { decodeResult, encodeResult, tierKey } from './shared-tier.js';

export interface ServiceDefaults {
  /** A call's timeout, ms (default 10 000). */
  timeout: number;
  /** A connection's timeout, ms (default 3 000): past it `.lb` tries another member. */
  connectTimeout: number;
  /** Most response bytes buffered, unless `stream: true` (default 64 MiB). */
  maxResponseSize: number;
}

export class BackendServices {
  readonly aliases = new Map<string, Alias>();
  /** The result cache (Skitai's rcache), bounded by setMaxRcache (default 300 results). */
  readonly rcache = new ResultCache(300);
  /** Last-updated times (addlu / setlu / getlu) when there is no kernel (else the kernel's are used). */
  readonly lu = new LastUpdated();
  readonly defaults: ServiceDefaults = { timeout: 10_000, connectTimeout: 3_000, maxResponseSize: 64 * 1024 * 1024 };
  private keepAlive: number | undefined = undefined;
  /** The alias types this instance serves: its own, and those plugins registered with the kernel. */
  readonly types = new Map<string, AliasTypeDefinition>(BUILTIN_TYPES);
  private agent: Agent | undefined = undefined;
  private closed = false;
  /** The HTTP response cache of `was` calls (`setResponseCache`), or undefined: no lookup is made. */
  responseCache: HttpResponseCache | undefined = undefined;

  constructor(readonly kernel?: Kernel) {
    if (kernel) {
      this.rcache.setMax(kernel.getSettings().maxRcache);
      // With an instance bridge that offers a cache (@skitai/shared), results are shared too.
      this.rcache.shared = {
        cache: () => kernel.instanceBridge?.cache,
        key: tierKey,
        encode: (value, storedAt, expiresAt) => encodeResult(value as never, storedAt, expiresAt),
        decode: (buf) => decodeResult(buf),
      };
    }
  }

  /** `kernel.alias('@name', type, members, { role, source, ssl })`. */
  alias(name: string, type: string, members: string | readonly string[], options: AliasOptions = {}): Alias {
    checkAliasName(name);
    if (this.aliases.has(name)) throw codes.SKT_ALIAS_DUPLICATE(name);
    const definition = typeof type === 'string' ? this.types.get(type) : undefined;
    if (!definition) throw codes.SKT_ALIAS_TYPE(name, type, `types served here: ${[...this.types.keys()].join(', ')}`);
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

  /**
   * Idle backend connections older than this are closed and reopened on use, ms: the kernel's
   * setting (kernel.setBackendKeepAlive), or this instance's own (default 1200 s). Read when a
   * pool is made.
   */
  get backendKeepAlive(): number {
    return this.keepAlive ?? this.kernel?.getSettings().backendKeepAlive ?? 1_200_000;
  }

  set backendKeepAlive(ms: number) {
    this.keepAlive = ms;
  }

  /** How long a pool lets a TCP (and TLS) handshake take, ms: calls time out on their own earlier. */
  get handshakeTimeout(): number {
    return Math.max(this.defaults.connectTimeout, this.defaults.timeout);
  }

  setBackendKeepAlive(seconds: number): void {
    if (typeof seconds !== 'number' || !(seconds > 0) || !Number.isFinite(seconds))
      throw codes.SKT_INVALID_OPTION('backend keep-alive', seconds, 'seconds over 0');
    this.backendKeepAlive = seconds * 1000;
  }

  /**
   * An HTTP response cache for `was` HTTP calls (one member or `.lb`, not `.map`, not streamed):
   * looked up before each call, told how each call it did not answer went. One per services
   * instance; `undefined` takes it off.
   */
  setResponseCache(cache: HttpResponseCache | undefined): void {
    if (cache !== undefined && !isHttpResponseCache(cache))
      throw codes.SKT_INVALID_OPTION('response cache', typeof cache, 'an object with lookup(call)');
    this.responseCache = cache;
  }

  setMaxRcache(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw codes.SKT_INVALID_OPTION('max rcache', n, 'a whole number, 0 or more');
    this.rcache.setMax(n);
  }

  /** Last-updated keys: the kernel's (shared by its workers), or this instance's own without a kernel. */
  addlu(...keys: string[]): void {
    if (this.kernel) this.kernel.addlu(...keys);
    else this.lu.add(...keys);
  }

  /** The latest last-updated time (ms) of the keys. */
  getlu(...keys: string[]): number {
    return this.kernel ? this.kernel.getlu(...keys) : this.lu.get(...keys);
  }

  /** Stamps a key as updated now (emits model-changed events). */
  setlu(key: string, ...args: unknown[]): number {
    return this.kernel ? this.kernel.setlu(key, ...args) : this.lu.set(key, ...args);
  }

  /** The undici Agent of calls to plain URLs (not aliases): a keep-alive Pool per origin. */
  sharedAgent(): Agent {
    return (this.agent ??= createAgent({ keepAlive: this.backendKeepAlive, connectTimeout: this.handshakeTimeout }));
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
      ...(this.kernel ? {} : { lu: this.lu.status() }),
    };
  }

  /** Closes every pool (the kernel's shutdown tap). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing: Array<void | Promise<void>> = [];
    if (this.agent !== undefined) closing.push(this.agent.destroy());
    this.agent = undefined;
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
    const results = await Promise.allSettled(closing.map(async (c) => c));
    for (const r of results) {
      if (r.status === 'rejected')
        this.kernel?.logs.log(
          'server',
          'warn',
          `closing a backend pool failed: ${(r.reason as Error)?.message ?? r.reason}`,
        );
    }
    this.closed = false;
  }
}
