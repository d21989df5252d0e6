import type { Kernel } from './kernel.js';
import type { SkitaiRequest } from './http/request.js';
import type { SkitaiResponse } from './http/response.js';
import type { LogLevel } from './log/logger.js';
import { ensureTxn } from './log/txn.js';

const levels = new Set<string>(['debug', 'info', 'warn', 'error']);

/**
 * The per-request service object. Plugins add members with `kernel.extendWas(name, factory)`
 * at run time and through declaration merging at type level:
 *
 *   declare module '@skitai/kernel' { interface Was { websocket: WebSocketService } }
 *
 * so `was.websocket` type-checks only where the plugin is imported. The kernel's own members
 * are the ones below; `WAS_RESERVED` lists them.
 */
export interface Was {}
export class Was {
  // Declared, then stored in the constructor: a class field is a define (a property
  // descriptor per field), a plain store in a constructor that runs once per request is not.
  declare readonly kernel: Kernel;
  declare readonly req: SkitaiRequest;
  declare readonly res: SkitaiResponse;

  constructor(kernel: Kernel, req: SkitaiRequest, res: SkitaiResponse) {
    (this as { kernel: Kernel }).kernel = kernel;
    (this as { req: SkitaiRequest }).req = req;
    (this as { res: SkitaiResponse }).res = res;
  }

  /** Writes to the app log: category 'info' (default), 'debug', 'warn', 'error', or any word (logged as info). */
  log(message: unknown, category = 'info'): void {
    const text =
      typeof message === 'string'
        ? message
        : message instanceof Error
          ? (message.stack ?? message.message)
          : JSON.stringify(message);
    if (levels.has(category)) this.kernel.logs.log('app', category as LogLevel, text);
    else this.kernel.logs.log('app', 'info', `[${category}] ${text}`);
  }

  /**
   * Logs an error's stack to the app log, tagged with the request's transaction ids
   * (`<global>/<local>`, or `id` when given), and returns the tag, to show the user.
   */
  traceback(err?: unknown, id?: string): string {
    const req = this.req as SkitaiRequest | undefined;
    if (req?.headers !== undefined && req.gtxnId === '') ensureTxn(req);
    const tag = id ?? (req?.gtxnId ? `${req.gtxnId}/${req.ltxnId}` : 'no-txn');
    const text =
      err instanceof Error
        ? (err.stack ?? `${err.name}: ${err.message}`)
        : err === undefined
          ? (new Error('traceback').stack ?? '')
          : String(err);
    this.kernel.logs.log('app', 'error', `[${tag}] ${text}`);
    return tag;
  }

  tojson(value: unknown, space?: number): string {
    return JSON.stringify(value, null, space);
  }

  fromjson(text: string | Buffer): any {
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  }

  /** The latest last-updated time (ms) of the keys (kernel.addlu): give it as `useCache`. */
  getlu(...keys: string[]): number {
    return this.kernel.getlu(...keys);
  }

  /** Stamps a key as updated now, in every worker; emits 'model-changed' (and 'model-changed:<key>'). */
  setlu(key: string, ...args: unknown[]): number {
    return this.kernel.setlu(key, ...args);
  }
}

/** The members of `was` that the kernel itself defines. */
export const WAS_RESERVED: readonly string[] = Object.freeze([
  'kernel',
  'req',
  'res',
  ...Object.getOwnPropertyNames(Was.prototype).filter((n) => n !== 'constructor'),
]);

export type WasFactory<T> = (was: Was) => T;

export interface WasMemberOptions {
  /**
   * The factory's value is the same for every request of the kernel (it depends on the kernel
   * only): built on first use and kept for every later request, which then pays nothing for it.
   */
  perKernel?: boolean;
}

/**
 * The `was` members of one kernel: who owns each name, and the Was class whose prototype
 * carries a lazy getter per extension, so a request pays only for the members it touches.
 * A name is claimed by its owner when a plugin is used (its `was` list), when a Mountable is
 * mounted (its `was.members`) or when extendWas defines it; two owners never share a name.
 */
export class WasRegistry {
  readonly WasClass: typeof Was;
  private readonly owners = new Map<string, string>();
  private readonly defined = new Set<string>();

  constructor(private readonly onDuplicate: (name: string, first: string, second: string) => Error) {
    // An explicit constructor: the default one of a subclass forwards `...args`, which V8
    // constructs generically (~0.27k instructions per request, callgrind).
    this.WasClass = class KernelWas extends Was {
      constructor(kernel: Kernel, req: SkitaiRequest, res: SkitaiResponse) {
        super(kernel, req, res);
      }
    };
  }

  /** Reserves names for an owner; refused when another owner (or the kernel) has one. */
  claim(names: readonly string[], owner: string): void {
    for (const name of names) this.check(name, owner);
    for (const name of names) this.owners.set(name, owner);
  }

  private check(name: string, owner: string): void {
    if (WAS_RESERVED.includes(name)) throw this.onDuplicate(name, '@skitai/kernel', owner);
    const first = this.owners.get(name);
    if (first !== undefined && first !== owner) throw this.onDuplicate(name, first, owner);
  }

  define<T>(name: string, factory: WasFactory<T>, owner: string, options?: WasMemberOptions): void {
    this.check(name, owner);
    if (this.defined.has(name)) throw this.onDuplicate(name, owner, owner);
    this.owners.set(name, owner);
    this.defined.add(name);
    const proto = this.WasClass.prototype;
    const perKernel = options?.perKernel === true;
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: false,
      get(this: Was) {
        const value = factory(this);
        // Cached on the instance (the getter runs once per request at most), or, for a value
        // that is the same for every request, on the kernel's Was class: defining a property
        // per request costs ~2k instructions (a property descriptor and a map transition).
        Object.defineProperty(perKernel ? proto : this, name, {
          value,
          configurable: true,
          enumerable: false,
          writable: true,
        });
        return value;
      },
    });
  }

  /** Every claimed or defined name with its owner. */
  list(): Map<string, string> {
    return new Map(this.owners);
  }
}
