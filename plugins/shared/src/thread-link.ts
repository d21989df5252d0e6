// The main thread's side of the Redis thread (redis-thread.ts): whether Redis is up (as the
// thread last said), the commands as promises, and the thread's messages handed to the bridge.
// Nothing runs here between messages: an idle link costs a request nothing.
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

export class ThreadLink {
  /** Both connections up, as the thread last said. */
  up = false;
  /** Commands whose answer is awaited. */
  readonly cmd: Commands;
  /** The same, for commands whose answer nobody reads (no answer crosses back). */
  readonly send: { [K in keyof Commands]: (...args: Parameters<Commands[K]>) => void };
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly started: Promise<boolean>;
  private gone = false;

  constructor(settings: ThreadSettings, events: LinkEvents) {
    this.worker = new Worker(new URL('./redis-thread.js', import.meta.url), { workerData: settings });
    // The server's own handles decide when the process ends, not this thread.
    this.worker.unref();
    let started: (up: boolean) => void;
    this.started = new Promise((resolve) => (started = resolve));
    this.worker.on('message', (m: FromThread) => {
      switch (m.t) {
        case 'msg':
          events.message(m.text);
          break;
        case 'state':
          this.up = m.up;
          if (m.up) events.up();
          else events.down?.();
          break;
        case 'log':
          events.log(m.level, m.message);
          break;
        case 'started':
          started(m.up);
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
    this.worker.on('error', (err) =>
      events.log('warn', `@skitai/shared: the Redis thread failed: ${err.stack ?? err}`),
    );
    this.worker.on('exit', () => {
      this.gone = true;
      this.up = false;
      started(false);
      for (const p of this.pending.values()) p.reject(new Error('the Redis thread is gone'));
      this.pending.clear();
    });
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
