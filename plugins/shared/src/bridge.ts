// The kernel's instance bridge over Redis: broadcasts and last-updated keys on one pub/sub
// channel, the times also kept in a hash, a shared cache tier, a process number, and the cron
// lock's reference. Every call is fire-and-forget or bounded: a request never waits on Redis.
import crypto from 'node:crypto';
import type { InstanceBridge, Kernel, SharedCache } from '@skitai/kernel';
import type { Redis } from 'ioredis';
import { RedisLink } from './link.js';
import { RESYNC, SETLU } from './scripts.js';
import type { RedisCtor, RedisTarget } from './target.js';

/** What crosses instances on the channel (JSON). */
type BusMessage =
  { i: string; k: 'b'; e: string; a: unknown[]; f: string } | { i: string; k: 'lu'; key: string; t: number };

interface Scripted extends Redis {
  skitaiSetlu(hash: string, channel: string, key: string, time: string, message: string): Promise<number>;
  skitaiResync(hash: string, channel: string, ...argv: string[]): Promise<string[]>;
}

/** Client ids of WebSocket connections are processNumber * 1e9 + n: under 2^53 up to this. */
const MAX_PROCESS_NUMBER = 8_000_000;

export interface BridgeSettings {
  redis: RedisTarget;
  prefix: string;
  cache: boolean;
  timeoutMs: number;
  startWaitMs: number;
}

export class RedisBridge implements InstanceBridge {
  private link: RedisLink | undefined;
  private number: number | undefined;
  readonly cache: SharedCache | undefined;
  readonly lock: { module: string; export: string; args: unknown };
  private readonly channel: string;
  private readonly luHash: string;
  private unsent = 0;

  constructor(
    private readonly kernel: Kernel,
    private readonly settings: BridgeSettings,
  ) {
    this.channel = `${settings.prefix}:bus`;
    this.luHash = `${settings.prefix}:lu`;
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

  /** Connects (in a worker or a single process, at start); waits for Redis a moment at most. */
  async connect(Ctor: RedisCtor): Promise<void> {
    const kernel = this.kernel;
    this.link = new RedisLink(Ctor, this.settings.redis, this.channel, this.settings.timeoutMs, {
      up: () => {
        void this.resync();
      },
      message: (text) => this.receive(text),
      log: (level, message) => kernel.logs.log('server', level, message),
    });
    this.link.cmd.defineCommand('skitaiSetlu', { numberOfKeys: 2, lua: SETLU });
    this.link.cmd.defineCommand('skitaiResync', { numberOfKeys: 2, lua: RESYNC });
    if (await this.link.waitUp(this.settings.startWaitMs)) {
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

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    await link?.close();
  }

  private get cmd(): Scripted | undefined {
    const link = this.link;
    return link !== undefined && link.up ? (link.cmd as Scripted) : undefined;
  }

  broadcast(event: string, args: unknown[], from: string): void {
    const cmd = this.cmd;
    if (cmd === undefined) return;
    let text: string;
    try {
      text = JSON.stringify({ i: this.kernel.instanceId, k: 'b', e: event, a: args, f: from } satisfies BusMessage);
    } catch (err) {
      // Arguments JSON cannot carry (a cycle, a BigInt): this instance's workers still got them.
      if (this.unsent++ === 0)
        this.kernel.logs.log(
          'app',
          'error',
          `@skitai/shared: broadcast ${event} not sent to other instances: ${(err as Error).message}`,
        );
      return;
    }
    cmd.publish(this.channel, text).catch(() => {
      /* Redis went away: the link says so */
    });
  }

  setlu(key: string, time: number): void {
    const cmd = this.cmd;
    if (cmd === undefined) return; // kept here; the resynchronisation sends it when Redis returns
    const text = JSON.stringify({ i: this.kernel.instanceId, k: 'lu', key, t: time } satisfies BusMessage);
    cmd.skitaiSetlu(this.luHash, this.channel, key, String(time), text).catch(() => {
      /* resent at resync */
    });
  }

  private receive(text: string): void {
    let m: BusMessage;
    try {
      m = JSON.parse(text) as BusMessage;
    } catch {
      return; // not ours
    }
    if (m === null || typeof m !== 'object' || m.i === this.kernel.instanceId) return;
    if (m.k === 'b' && typeof m.e === 'string' && Array.isArray(m.a))
      this.kernel.receiveBroadcast(m.e, m.a, `${m.i}/${m.f}`);
    else if (m.k === 'lu' && typeof m.key === 'string') this.kernel.mergelu(m.key, m.t);
  }

  /** Sends the times set here while Redis was away, takes those set elsewhere meanwhile. */
  private async resync(): Promise<void> {
    const cmd = this.cmd;
    if (cmd === undefined) return;
    const argv = [this.kernel.instanceId];
    for (const [key, time] of this.kernel.lus()) if (time > 0) argv.push(key, String(time));
    let all: string[];
    try {
      all = await cmd.skitaiResync(this.luHash, this.channel, ...argv);
    } catch {
      return; // down again: the next return resynchronises
    }
    for (let i = 0; i + 1 < all.length; i += 2) {
      const key = all[i]!;
      if (this.kernel.mergelu(key, Number(all[i + 1]))) {
        // What a setlu elsewhere would have announced here, had Redis been there.
        this.kernel.receiveBroadcast(`model-changed:${key}`, [], 'shared/resync');
        this.kernel.receiveBroadcast('model-changed', [key], 'shared/resync');
      }
    }
  }

  private cacheTier(): SharedCache {
    const prefix = `${this.settings.prefix}:cache:`;
    return {
      get: async (key) => {
        const cmd = this.cmd;
        if (cmd === undefined) return undefined;
        try {
          return (await cmd.getBuffer(prefix + key)) ?? undefined;
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
