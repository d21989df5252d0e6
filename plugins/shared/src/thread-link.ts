// The main thread's side of the Redis thread (redis-thread.ts): whether Redis is up (as the
// thread last said), the commands as promises, and the thread's messages handed to the bridge.
// A thread that stops (an uncaught error, out of memory) is started again, with a back-off.
// Nothing runs here between messages: an idle link costs a request nothing.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { LinkEvents } from './link.js';
import type { FromThread, ThreadSettings, ToThread } from './redis-thread.js';

/** The commands the bridge sends (ioredis's, and the Lua scripts defined in the thread). */
export interface Commands {
  publish(channel: string, text: string): Promise<unknown>;
  incr(key: string): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /** A Uint8Array once it crossed from the thread. */
  getBuffer(key: string): Promise<Uint8Array | null>;
  set(key: string, value: Buffer, px: 'PX', ms: number): Promise<unknown>;
  skitaiSetlu(hash: string, channel: string, key: string, time: string, message: string): Promise<number>;
  skitaiResync(hash: string, channel: string, ...argv: string[]): Promise<string[]>;
  skitaiReplay(list: string, channel: string, length: string, ms: string, ...texts: string[]): Promise<number>;
}

const NAMES: Array<keyof Commands> = [
  'publish',
  'incr',
  'lrange',
  'getBuffer',
  'set',
  'skitaiSetlu',
  'skitaiResync',
  'skitaiReplay',
];

/** Restarts of a thread that stopped: back-off from the first, doubling, up to the last. */
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 10_000;
/** At most this many restarts in any minute (a thread that dies at once does not spin). */
const RESTARTS_PER_MINUTE = 5;

/**
 * How long to wait before the next restart: doubling with each attempt of the outage, and no
 * sooner than the minute's allowance permits. `restarts` (times of the past restarts, oldest
 * first) loses those older than a minute.
 */
export function restartDelay(attempts: number, restarts: number[], now: number): number {
  while (restarts.length > 0 && restarts[0]! <= now - 60_000) restarts.shift();
  const delay = Math.min(RESTART_FIRST_MS * 2 ** attempts, RESTART_MAX_MS);
  return restarts.length >= RESTARTS_PER_MINUTE ? Math.max(delay, restarts[0]! + 60_000 - now) : delay;
}

export class ThreadLink {
  /** Both connections up, as the thread last said. */
  up = false;
  /** Commands whose answer is awaited. */
  readonly cmd: Commands;
  /** The same, for commands whose answer nobody reads (no answer crosses back). */
  readonly send: { [K in keyof Commands]: (...args: Parameters<Commands[K]>) => void };
  private worker!: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly started: Promise<boolean>;
  private resolveStarted!: (up: boolean) => void;
  /** No thread running (it stopped, and is not restarted yet). */
  private gone = false;
  private closing = false;
  /** Why the thread stopped (its uncaught error), for the warning. */
  private failure = '';
  /** The thread stopped and has not come back up since: one warning for all of it. */
  private outage = false;
  private restartTimer: NodeJS.Timeout | undefined = undefined;
  /** Restarts of this outage so far (the back-off's exponent), and the times of the last minute's. */
  private attempts = 0;
  private readonly restarts: number[] = [];

  constructor(
    private readonly settings: ThreadSettings,
    private readonly events: LinkEvents,
  ) {
    this.started = new Promise((resolve) => (this.resolveStarted = resolve));
    const cmd = {} as Record<string, unknown>;
    const send = {} as Record<string, unknown>;
    for (const name of NAMES) {
      cmd[name] = (...args: unknown[]) => this.call({ t: 'cmd', id: 0, name, args });
      send[name] = (...args: unknown[]) => {
        if (!this.gone) this.worker.postMessage({ t: 'cmd', id: 0, name, args } satisfies ToThread);
      };
    }
    this.cmd = cmd as unknown as Commands;
    this.send = send as unknown as ThreadLink['send'];
    this.spawn();
  }

  /** Starts the thread (at first, and again after it stopped). */
  private spawn(): void {
    const events = this.events;
    const worker = new Worker(new URL('./redis-thread.js', import.meta.url), { workerData: this.settings });
    this.worker = worker;
    this.gone = false;
    // The server's own handles decide when the process ends, not this thread.
    worker.unref();
    worker.on('message', (m: FromThread) => {
      switch (m.t) {
        case 'msg':
          events.message(m.text);
          break;
        case 'state':
          this.up = m.up;
          if (m.up) {
            this.back();
            events.up();
          } else events.down?.();
          break;
        case 'log':
          events.log(m.level, m.message);
          break;
        case 'started':
          this.resolveStarted(m.up);
          break;
        case 'reply': {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.ok) p?.resolve(m.value);
          else p?.reject(new Error(m.error));
          break;
        }
      }
    });
    worker.on('error', (err) => {
      this.failure = err.stack ?? String(err);
    });
    worker.on('exit', (code) => this.stopped(code));
  }

  /** The thread ended: by close(), or by a crash (then restarted, and sharing resumes). */
  private stopped(code: number): void {
    this.gone = true;
    const wasUp = this.up;
    this.up = false;
    this.resolveStarted(false);
    for (const p of this.pending.values()) p.reject(new Error('the Redis thread is gone'));
    this.pending.clear();
    if (this.closing) return;
    if (wasUp) this.events.down?.();
    if (!this.outage) {
      this.outage = true;
      const why = this.failure || `exit code ${code}`;
      this.events.log(
        'warn',
        `@skitai/shared: the Redis thread stopped (${why}): restarting it; this instance serves from its own state until it is back`,
      );
    }
    this.failure = '';
    const delay = restartDelay(this.attempts++, this.restarts, performance.now());
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing) return;
      this.restarts.push(performance.now());
      this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  /** Redis is up through the thread: an outage of the thread, if any, is over. */
  private back(): void {
    this.attempts = 0;
    if (!this.outage) return;
    this.outage = false;
    this.events.log('info', '@skitai/shared: the Redis thread is back: sharing again');
  }

  /**
   * Ends the thread as a crash would (for tests): it is restarted, with the warning, the
   * back-off and the resynchronisation of a real crash.
   */
  async terminate(): Promise<void> {
    if (!this.gone) await this.worker.terminate();
  }

  private call(m: ToThread): Promise<never> {
    if (this.gone) return Promise.reject(new Error('the Redis thread is gone'));
    m.id = ++this.seq;
    // A Buffer would cross with the whole memory it is a view of (a pool's 8 KiB): its bytes only.
    if (m.t === 'cmd') m.args = m.args.map((a) => (a instanceof Uint8Array ? new Uint8Array(a) : a));
    return new Promise((resolve, reject) => {
      this.pending.set(m.id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(m);
    });
  }

  /** Resolves once the thread connected (true) or gave up waiting for Redis at start (false). */
  waitUp(): Promise<boolean> {
    return this.started;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (!this.gone) {
      try {
        await this.call({ t: 'close', id: 0 });
      } catch {
        /* gone meanwhile */
      }
    }
    await this.worker.terminate();
  }
}
