// The two connections of one process to Redis (commands, and the subscriber a pub/sub channel
// needs to itself), and whether they are up. Redis going away is one warning; its return is one
// info line and a resynchronisation. Commands never queue while Redis is away: they fail at
// once, so nothing waits on a link that is down.
import type { Redis } from 'ioredis';
import { describeTarget, redisOptions, retryDelay, type RedisCtor, type RedisTarget } from './target.js';

export interface LinkEvents {
  /** Both connections are ready (at start, and after each outage). */
  up(): void;
  /** They no longer are (Redis went away). */
  down?(): void;
  /** A message on the channel. */
  message(text: string): void;
  log(level: 'info' | 'warn', message: string): void;
}

export class RedisLink {
  readonly cmd: Redis;
  readonly sub: Redis;
  private cmdReady = false;
  private subReady = false;
  private wasUp = false;
  private warned = false;
  private lastError = '';
  private closed = false;
  /** waitUp()'s callers, told when both connections are up. */
  private readonly waiters = new Set<() => void>();

  constructor(
    Ctor: RedisCtor,
    private readonly target: RedisTarget,
    channel: string,
    timeoutMs: number,
    private readonly events: LinkEvents,
  ) {
    const base = { ...redisOptions(target), retryStrategy: retryDelay, lazyConnect: false };
    this.cmd = new Ctor({ ...base, enableOfflineQueue: false, commandTimeout: timeoutMs, maxRetriesPerRequest: 0 });
    // The subscriber subscribes at each connection (the first and after each outage), and
    // counts as up once Redis confirmed it: from then on every message published is heard.
    this.sub = new Ctor({ ...base, autoResubscribe: false, maxRetriesPerRequest: null });
    this.watch(this.cmd, (ready) => {
      this.cmdReady = ready;
    });
    this.watch(this.sub, (ready) => {
      if (!ready) {
        this.subReady = false;
        return;
      }
      const connection = this.sub.stream;
      this.sub.subscribe(channel).then(
        () => {
          if (this.sub.stream !== connection || this.sub.status !== 'ready') return; // lost meanwhile
          this.subReady = true;
          this.changed();
        },
        () => {
          /* the connection broke: subscribed at the next one */
        },
      );
    });
    this.sub.on('message', (_channel: string, text: string) => this.events.message(text));
  }

  /** Both connections ready: commands are sent, messages heard. */
  get up(): boolean {
    return this.cmdReady && this.subReady;
  }

  private watch(client: Redis, set: (ready: boolean) => void): void {
    client.on('ready', () => {
      set(true);
      this.changed();
    });
    client.on('error', (err: Error & { code?: string }) => {
      this.lastError = err.code ?? err.message;
    });
    client.on('close', () => {
      set(false);
      this.changed();
    });
  }

  private changed(): void {
    if (this.closed) return;
    const up = this.up;
    if (up) for (const w of [...this.waiters]) w();
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (up) {
      if (this.warned)
        this.events.log('info', `@skitai/shared: Redis at ${describeTarget(this.target)} is back: sharing again`);
      this.warned = false;
      this.lastError = '';
      this.events.up();
    } else {
      this.warn();
      this.events.down?.();
    }
  }

  /** Once per outage, however many reconnection attempts fail meanwhile. */
  private warn(): void {
    if (this.warned) return;
    this.warned = true;
    const why = this.lastError || 'connection closed';
    this.events.log(
      'warn',
      `@skitai/shared: Redis at ${describeTarget(this.target)} is unreachable (${why}): this instance serves from its own state until it returns`,
    );
  }

  /** Resolves when both connections are up, or after `ms` (start does not wait on Redis for longer). */
  waitUp(ms: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.up) done(true);
      };
      this.waiters.add(check);
      const timer = setTimeout(() => {
        // Still down: say so now rather than at the first failed reconnection.
        if (!this.up) {
          this.lastError ||= `no answer in ${ms} ms`;
          this.warn();
        }
        done(false);
      }, ms);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [this.cmd, this.sub].map(async (c) => {
        if (c.status === 'ready') {
          try {
            await c.quit();
            return;
          } catch {
            /* gone meanwhile */
          }
        }
        c.disconnect();
      }),
    );
  }
}
