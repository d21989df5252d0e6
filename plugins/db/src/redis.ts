// Redis members on `ioredis`: a member's pool is `maxConnections` connections (default 1:
// Redis answers in order on one connection, so one carries many calls at once), used in turn.
// A connection idle longer than the backend keep-alive is closed and a new one opened on use.
// Connections never retry by themselves: a broken one fails its calls (so `.lb` can go to
// another member) and is replaced on the next call.
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { MemberSyntaxError, parseMember, type BackendServices, type Member } from '@skitai/services';
import { failure, withGrace, withTimeout, type Engine } from './engine.js';

type RedisCtor = new (options: RedisOptions) => RedisClient;
let Redis: RedisCtor | undefined;

interface Slot {
  client: RedisClient;
  lastUsed: number;
  connecting: Promise<void> | undefined;
  /** The connection's last error event (ECONNREFUSED ...): a failed connect() only says "Connection is closed". */
  error: Error | undefined;
}

export interface RedisPool {
  slots: Array<Slot | undefined>;
  next: number;
  closed: boolean;
}

function open(member: Member, services: BackendServices): Slot {
  const tls = member.ssl ? ((member.alias.options.tls ?? {}) as RedisOptions['tls']) : undefined;
  const client = new Redis!({
    host: member.host,
    port: member.port,
    username: member.user,
    password: member.password,
    db: member.db === '' ? 0 : Number(member.db),
    tls,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: services.defaults.connectTimeout,
    enableReadyCheck: false,
  });
  const slot: Slot = { client, lastUsed: Date.now(), connecting: undefined, error: undefined };
  // Connection errors reach the calls; the event needs a listener (else the process ends).
  client.on('error', (err: Error) => {
    member.lastError = err.message;
    slot.error = err;
  });
  return slot;
}

/** A ready connection of the member: reuses a live one, replaces a broken or stale one. */
async function connection(member: Member, services: BackendServices): Promise<RedisClient> {
  const pool = member.getPool<RedisPool>(services);
  if (pool.closed) throw failure('connect', member, new Error('the pool is closed'));
  const i = pool.next;
  pool.next = (i + 1) % pool.slots.length;
  let slot = pool.slots[i];
  const now = Date.now();
  if (
    slot !== undefined &&
    (slot.client.status === 'end' ||
      slot.client.status === 'close' ||
      (slot.connecting === undefined && now - slot.lastUsed > services.backendKeepAlive))
  ) {
    slot.client.disconnect();
    slot = undefined;
  }
  if (slot === undefined) {
    slot = open(member, services);
    pool.slots[i] = slot;
    const s = slot;
    s.connecting = s.client.connect().then(
      () => {
        s.connecting = undefined;
      },
      (err: unknown) => {
        if (pool.slots[i] === s) pool.slots[i] = undefined;
        s.client.disconnect();
        throw failure('connect', member, s.error ?? err);
      },
    );
  }
  if (slot.connecting !== undefined) await slot.connecting;
  slot.lastUsed = now;
  return slot.client;
}

export const redis: Engine = {
  type: 'redis',
  family: 'redis',
  driver: 'ioredis',
  async load() {
    if (Redis) return;
    const mod = (await import('ioredis')) as unknown as { Redis?: RedisCtor; default?: RedisCtor };
    Redis = mod.Redis ?? mod.default;
  },
  definition: {
    protocol: 'db',
    defaultPort: 6379,
    parseMember(text) {
      const address = parseMember(text, 6379);
      if (address.db !== '' && !/^[0-9]{1,5}$/.test(address.db)) {
        throw new MemberSyntaxError(`the database ${JSON.stringify(address.db)} must be a number (host:port/0)`);
      }
      return address;
    },
    createPool(member): RedisPool {
      if (!Redis) throw new Error('the ioredis driver is not loaded');
      const size = (member.alias.options.maxConnections as number | undefined) ?? 1;
      return { slots: new Array<Slot | undefined>(size).fill(undefined), next: 0, closed: false };
    },
    async closePool(pool) {
      const p = pool as RedisPool;
      p.closed = true;
      await Promise.allSettled(
        p.slots.map(async (slot) => {
          if (slot === undefined) return;
          // QUIT answers after the replies pending on the connection; a blocked one is cut at the grace.
          if (slot.client.status === 'ready') await withGrace(slot.client.quit()).catch(() => undefined);
          slot.client.disconnect();
        }),
      );
      p.slots.fill(undefined);
    },
    poolStatus(pool) {
      const p = pool as RedisPool;
      return { connections: p.slots.length, open: p.slots.filter((s) => s?.client.status === 'ready').length };
    },
  },

  async run(member, services, op, timeout) {
    if (op.kind !== 'redis') throw new Error('redis runs commands');
    const client = await connection(member, services);
    try {
      // Past the timeout the connection goes (a blocked command would hold it): the next call opens another.
      const reply = await withTimeout(
        client.call(op.command, ...(op.args as (string | number | Buffer)[])),
        timeout,
        member,
        () => client.disconnect(),
      );
      return {
        data: reply,
        rowCount: Array.isArray(reply) ? reply.length : reply === null ? 0 : 1,
        command: op.command.toUpperCase(),
      };
    } catch (err) {
      if (err instanceof Error && 'kind' in err) throw err;
      // A reply error (wrong type, unknown command) comes from the server; anything else is the connection.
      throw failure((err as Error)?.name === 'ReplyError' ? 'query' : 'reset', member, err);
    }
  },
};
