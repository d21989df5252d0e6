import process from 'node:process';

/**
 * What a plugin plugs in to carry the process model beyond one machine (`@skitai/shared` over
 * Redis): broadcasts and last-updated keys of this process go out through it, and what other
 * instances send comes back through `kernel.receiveBroadcast`, `kernel.receivelu` and
 * `kernel.mergelu`. Within one instance the master still relays between workers, so a bridge
 * only carries what crosses instances, and each process (single or worker) has its own.
 */
export interface InstanceBridge {
  /** A broadcast made in this process, to carry to the other instances (never throws, never waits). */
  broadcast(event: string, args: unknown[], from: string): void;
  /**
   * A last-updated time set in this process (`setlu(key, ...args)`), to carry to the other
   * instances with the `model-changed` events it causes (they are not passed to `broadcast`):
   * there, the bridge hands all of it to `kernel.receivelu(key, time, args, from)` at once.
   */
  setlu(key: string, time: number, args: unknown[], from: string): void;
  /** A tier shared by every instance for caches (the result cache); none when absent. */
  readonly cache?: SharedCache;
  /**
   * A number no other process of any instance holds while this one runs (WebSocket client ids
   * are built on it); undefined until the bridge has one.
   */
  readonly processNumber?: number;
  /**
   * A lock across instances for work that runs once per instance but must happen once in all
   * (a scheduler's runs): a module's exported function, as `@skitai/cron`'s `lock` option.
   */
  readonly lock?: { module: string; export: string; args?: unknown };
}

/** A key/value tier shared by instances: it answers what it can, and never makes a caller wait on a broken link. */
export interface SharedCache {
  /** The value, or undefined when absent, expired or unreachable (never rejects). */
  get(key: string): Promise<Buffer | undefined>;
  /** Stores for `ttlMs` milliseconds; a failure is dropped (never throws). */
  set(key: string, value: Buffer, ttlMs: number): void;
}

/** One id for a whole server (the master's, given to its workers): what tells instances apart. */
export function newInstanceId(): string {
  return process.getBuiltinModule('node:crypto').randomBytes(6).toString('base64url');
}
