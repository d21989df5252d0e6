// The kernel's instance bridge over Redis: broadcasts and last-updated keys on one pub/sub
// channel, the times also kept in a hash, a shared cache tier, a process number, and the cron
// lock's reference. Every call is fire-and-forget or bounded: a request never waits on Redis.
import crypto from 'node:crypto';
import type { InstanceBridge, Kernel, SharedCache } from '@skitai/kernel';
import type { RedisTarget } from './target.js';
import { ThreadLink, type Commands } from './thread-link.js';
import { Buffer } from 'node:buffer';

/**
 * What crosses instances on the channel (JSON): a broadcast, or a setlu with the arguments of
 * its events (a resynchronisation publishes the time alone, without `a` and `f`).
 */
type BusMessage =
  | { i: string; k: 'b'; e: string; a: unknown[]; f: string; u?: string }
  | { i: string; k: 'lu'; key: string; t: number; a?: unknown[]; f?: string };

/** How long the broadcasts of an outage stay in Redis for the instances that return later. */
const REPLAY_MS = 60_000;
/** Ids of replayed broadcasts remembered, so that one heard live is not delivered again from the list. */
const SEEN_MAX = 10_000;

/** Client ids of WebSocket connections are processNumber * 1e9 + n: under 2^53 up to this. */
const MAX_PROCESS_NUMBER = 8_000_000;

export interface BridgeSettings {
  redis: RedisTarget;
  prefix: string;
  cache: boolean;
  timeoutMs: number;
  startWaitMs: number;
  /** Broadcasts kept while Redis is away, sent when it returns (0: none kept). */
  queue: number;
}

export class RedisBridge implements InstanceBridge {
  private link: ThreadLink | undefined;
  private number: number | undefined;
  readonly cache: SharedCache | undefined;
  readonly lock: { module: string; export: string; args: unknown };
  private readonly channel: string;
  private readonly luHash: string;
  private readonly replayList: string;
  /** Ids (`u`) of the outage broadcasts heard, oldest first; and this process's own count. */
  private readonly seen = new Set<string>();
  private queuedSeq = 0;
  private everUp = false;
  private unsent = 0;
  /** Broadcasts made while Redis was away (JSON texts, oldest first), and how many were dropped. */
  private queued: string[] = [];
  private dropped = 0;

  constructor(
    private readonly kernel: Kernel,
    private readonly settings: BridgeSettings,
  ) {
    this.channel = `${settings.prefix}:bus`;
    this.luHash = `${settings.prefix}:lu`;
    this.replayList = `${settings.prefix}:replay`;
    this.cache = settings.cache ? this.cacheTier() : undefined;
    this.lock = {
      module: new URL('./cron-lock.js', import.meta.url).href,
      export: 'acquire',
      args: { redis: settings.redis, prefix: settings.prefix },
    };
  }

  get processNumber(): number | undefined {
    return this.number;
  }

  /** Whether Redis is reachable now (both connections up). */
  get up(): boolean {
    return this.link?.up ?? false;
  }

  /**
   * Connects (in a worker or a single process, at start): the connections live in a thread of
   * their own (redis-thread.ts). Waits for Redis a moment at most.
   */
  async connect(): Promise<void> {
    const kernel = this.kernel;
    const { redis, timeoutMs, startWaitMs } = this.settings;
    this.link = new ThreadLink(
      { redis, channel: this.channel, timeoutMs, startWaitMs },
      {
        up: () => {
          void this.resync();
        },
        message: (text) => this.receive(text),
        log: (level, message) => kernel.logs.log('server', level, message),
      },
    );
    if (await this.link.waitUp()) {
      try {
        this.number =
          (Number(await this.link.cmd.incr(`${this.settings.prefix}:process-seq`)) % MAX_PROCESS_NUMBER) + 1;
      } catch {
        /* below */
      }
    }
    // Redis away at start: a random number, unlikely to meet another's.
    this.number ??= crypto.randomInt(1, MAX_PROCESS_NUMBER + 1);
  }

  /**
   * Ends the Redis thread as a crash would (for tests): it is restarted after the back-off, and
   * sharing resumes as after an outage of Redis.
   */
  terminateThread(): Promise<void> {
    return this.link?.terminate() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    await link?.close();
  }

  /** The commands, when Redis is up. */
  private get cmd(): Commands | undefined {
    const link = this.link;
    return link !== undefined && link.up ? link.cmd : undefined;
  }

  broadcast(event: string, args: unknown[], from: string): void {
    const link = this.link;
    if (link === undefined) return; // not connected here (a master): its workers have their own
    // While Redis is away, and until what was kept then is sent, into the queue: order is kept.
    if (link.up && this.queued.length === 0) {
      const text = this.encode(event, { i: this.kernel.instanceId, k: 'b', e: event, a: args, f: from });
      if (text === undefined) return;
      // No answer awaited: a PUBLISH lost with a connection that broke is not retried.
      link.send.publish(this.channel, text);
      return;
    }
    // Kept ones carry an id: an instance hears each once, live or from the replay list.
    const u = `${this.kernel.instanceId}/${from}/${++this.queuedSeq}`;
    const text = this.encode(event, { i: this.kernel.instanceId, k: 'b', e: event, a: args, f: from, u });
    if (text !== undefined) this.keep(text);
  }

  setlu(key: string, time: number, args: unknown[], from: string): void {
    const link = this.link;
    if (link === undefined || !link.up) return; // kept here; the resynchronisation sends it when Redis returns
    const text =
      this.encode(`model-changed:${key}`, { i: this.kernel.instanceId, k: 'lu', key, t: time, a: args, f: from }) ??
      JSON.stringify({ i: this.kernel.instanceId, k: 'lu', key, t: time, a: [], f: from } satisfies BusMessage);
    // One script: the time stored, and the message published, in one round trip.
    // No answer awaited (a failure is made good at the resynchronisation).
    link.send.skitaiSetlu(this.luHash, this.channel, key, String(time), text);
  }

  /** The message as JSON, or undefined (logged once) when its arguments cannot be JSON. */
  private encode(event: string, m: BusMessage): string | undefined {
    try {
      return JSON.stringify(m);
    } catch (err) {
      // A cycle, a BigInt: this instance's workers still got them.
      if (this.unsent++ === 0)
        this.kernel.logs.log(
          'app',
          'error',
          `@skitai/shared: ${event} not sent to other instances: ${(err as Error).message}`,
        );
      return undefined;
    }
  }

  /** Redis is away: the broadcast waits for its return, the oldest dropped beyond `queue`. */
  private keep(text: string): void {
    if (this.settings.queue === 0) {
      this.dropped++;
      return;
    }
    if (this.queued.length >= this.settings.queue) {
      this.queued.shift();
      this.dropped++;
    }
    this.queued.push(text);
  }

  /**
   * Sends what was kept during the outage, in order, now that Redis is back: published, and
   * kept in Redis a minute for the instances that return after this one.
   */
  private flush(cmd: Commands): void {
    const texts = this.queued;
    this.queued = [];
    const dropped = this.dropped;
    this.dropped = 0;
    if (texts.length > 0)
      cmd
        .skitaiReplay(this.replayList, this.channel, String(this.settings.queue), String(REPLAY_MS), ...texts)
        .catch(() => {
          /* down again at once: these are lost */
        });
    if (this.settings.queue === 0 && dropped > 0)
      this.kernel.logs.log(
        'server',
        'warn',
        `@skitai/shared: ${dropped} broadcast(s) made while Redis was away were not sent (queue: 0)`,
      );
    else if (dropped > 0 || texts.length > 0)
      this.kernel.logs.log(
        'server',
        dropped > 0 ? 'warn' : 'info',
        `@skitai/shared: ${texts.length} broadcast(s) made while Redis was away sent now` +
          (dropped > 0 ? `; ${dropped} older one(s) dropped (the queue option keeps ${this.settings.queue})` : ''),
      );
  }

  /** True the first time an outage broadcast's id comes (live or from the replay list). */
  private firstSight(u: string): boolean {
    if (this.seen.has(u)) return false;
    this.seen.add(u);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  private receive(text: string): void {
    let m: BusMessage;
    try {
      m = JSON.parse(text) as BusMessage;
    } catch {
      return; // not ours
    }
    if (m === null || typeof m !== 'object' || m.i === this.kernel.instanceId) return;
    if (m.k === 'b') {
      if (typeof m.u === 'string' && !this.firstSight(m.u)) return;
      if (typeof m.e === 'string' && Array.isArray(m.a)) this.kernel.receiveBroadcast(m.e, m.a, `${m.i}/${m.f}`);
    } else if (m.k === 'lu' && typeof m.key === 'string' && typeof m.t === 'number') {
      // A setlu: the time and its events at once. A time alone (another's resynchronisation)
      // is announced when it is news here, as a setlu would have been.
      if (Array.isArray(m.a)) this.kernel.receivelu(m.key, m.t, m.a, `${m.i}/${m.f}`);
      else if (this.kernel.mergelu(m.key, m.t)) this.announce(m.key, `${m.i}/resync`);
    }
  }

  /** model-changed events for a time taken without its setlu's message (a resynchronisation). */
  private announce(key: string, from: string): void {
    this.kernel.receiveBroadcast(`model-changed:${key}`, [], from);
    this.kernel.receiveBroadcast('model-changed', [key], from);
  }

  /** Sends the times set here while Redis was away, takes those set elsewhere meanwhile. */
  private async resync(): Promise<void> {
    const cmd = this.cmd;
    if (cmd === undefined) return;
    const argv = [this.kernel.instanceId];
    for (const [key, time] of this.kernel.lus()) if (time > 0) argv.push(key, String(time));
    let all: string[] | undefined;
    try {
      all = await cmd.skitaiResync(this.luHash, this.channel, ...argv);
    } catch {
      /* down again: the next return resynchronises */
    }
    // The outage broadcasts of instances that came back before this one (at the first
    // connection, only noted: they are from before this process ran).
    const first = !this.everUp;
    this.everUp = true;
    try {
      for (const text of await cmd.lrange(this.replayList, 0, -1)) {
        if (!first) this.receive(text);
        else {
          const u = (JSON.parse(text) as { u?: unknown }).u;
          if (typeof u === 'string') this.firstSight(u);
        }
      }
    } catch {
      /* down again, or not ours */
    }
    // Then this process's own, in order (those made meanwhile joined the queue).
    const now = this.cmd;
    if (now !== undefined) this.flush(now);
    if (all === undefined) return;
    for (let i = 0; i + 1 < all.length; i += 2) {
      const key = all[i]!;
      // What a setlu elsewhere would have announced here, had Redis been there.
      if (this.kernel.mergelu(key, Number(all[i + 1]))) this.announce(key, 'shared/resync');
    }
  }

  private cacheTier(): SharedCache {
    const prefix = `${this.settings.prefix}:cache:`;
    return {
      get: async (key) => {
        const cmd = this.cmd;
        if (cmd === undefined) return undefined;
        try {
          const v = await cmd.getBuffer(prefix + key);
          return v ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : undefined;
        } catch {
          return undefined;
        }
      },
      set: (key, value, ttlMs) => {
        const cmd = this.cmd;
        if (cmd === undefined || !(ttlMs > 0)) return;
        cmd.set(prefix + key, value, 'PX', Math.ceil(ttlMs)).catch(() => {
          /* a cache: dropped */
        });
      },
    };
  }
}
