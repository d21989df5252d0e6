// The Redis connections of one process, in a thread of their own: ioredis is loaded, run and
// read there, so a request of the main thread never shares a line of code (nor a JIT inline
// cache) with the Redis client, and costs the same with sharing on as off. The main thread
// talks to it over the thread's port (thread-link.ts): commands one way, state, messages of
// the channel, log lines and answers the other.
import { parentPort, workerData } from 'node:worker_threads';
import { RedisLink } from './link.js';
import { REPLAY, RESYNC, SETLU } from './scripts.js';
import { loadRedis, type RedisTarget } from './target.js';
import { Buffer } from 'node:buffer';

export interface ThreadSettings {
  redis: RedisTarget;
  channel: string;
  timeoutMs: number;
  startWaitMs: number;
}

/** From the main thread: a command (`id` 0: no answer wanted), or close. */
export type ToThread = { t: 'cmd'; id: number; name: string; args: unknown[] } | { t: 'close'; id: number };
/** To the main thread. */
export type FromThread =
  | { t: 'state'; up: boolean }
  | { t: 'msg'; text: string }
  | { t: 'log'; level: 'info' | 'warn'; message: string }
  | { t: 'started'; up: boolean }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: string };

const port = parentPort!;
const settings = workerData as ThreadSettings;
const post = (m: FromThread) => port.postMessage(m);

const link = new RedisLink(await loadRedis(), settings.redis, settings.channel, settings.timeoutMs, {
  up: () => post({ t: 'state', up: true }),
  down: () => post({ t: 'state', up: false }),
  message: (text) => post({ t: 'msg', text }),
  log: (level, message) => post({ t: 'log', level, message }),
});
link.cmd.defineCommand('skitaiSetlu', { numberOfKeys: 2, lua: SETLU });
link.cmd.defineCommand('skitaiResync', { numberOfKeys: 2, lua: RESYNC });
link.cmd.defineCommand('skitaiReplay', { numberOfKeys: 2, lua: REPLAY });

/** A structured clone turns a Buffer into a Uint8Array: ioredis wants Buffers. */
const asBuffer = (a: unknown) =>
  a instanceof Uint8Array && !Buffer.isBuffer(a) ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : a;

port.on('message', (m: ToThread) => {
  if (m.t === 'close') {
    void link.close().finally(() => post({ t: 'reply', id: m.id, ok: true, value: undefined }));
    return;
  }
  const fn = (link.cmd as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[m.name];
  let result: Promise<unknown>;
  try {
    result = fn!.apply(link.cmd, m.args.map(asBuffer));
  } catch (err) {
    result = Promise.reject(err);
  }
  result.then(
    (value) => {
      // A Buffer read from the socket is a view of a larger one: its bytes only cross.
      if (m.id !== 0)
        post({ t: 'reply', id: m.id, ok: true, value: value instanceof Uint8Array ? new Uint8Array(value) : value });
    },
    (err: Error) => {
      if (m.id !== 0) post({ t: 'reply', id: m.id, ok: false, error: err?.message ?? String(err) });
    },
  );
});

post({ t: 'started', up: await link.waitUp(settings.startWaitMs) });
