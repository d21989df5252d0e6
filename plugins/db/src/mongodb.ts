// MongoDB members on the official driver: one MongoClient per member (its own connection pool,
// `maxConnections` wide, default 10; idle connections closed after the backend keep-alive).
// The database is `was.mongodb('@alias', 'dbname')`'s, else the member's `/db`, else 'test'.
import type { MongoClient, MongoClientOptions } from 'mongodb';
import type { Member } from '@skitai/services';
import { codes } from './errors.js';
import { failure, withGrace, withTimeout, type Engine } from './engine.js';

type MongoCtor = new (url: string, options?: MongoClientOptions) => MongoClient;
let Client: MongoCtor | undefined;

export interface MongoPool {
  client: MongoClient;
  closed: boolean;
}

const CONNECT_ERRORS = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
]);

function classify(member: Member, err: unknown, timeout: number) {
  if (err instanceof Error && 'kind' in err) return err;
  const name = (err as Error)?.name ?? '';
  if (name === 'MongoNetworkTimeoutError' || name === 'MongoOperationTimeoutError')
    return failure('timeout', member, err, timeout);
  if (name === 'MongoServerSelectionError') return failure('connect', member, err);
  if (CONNECT_ERRORS.has(name)) return failure('reset', member, err);
  return failure('query', member, err);
}

function object(op: string, what: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw codes.SKT_DB_ARGUMENT(op, what, value);
  return value as Record<string, unknown>;
}

export const mongodb: Engine = {
  type: 'mongodb',
  family: 'mongodb',
  driver: 'mongodb',
  async load() {
    if (Client) return;
    const mod = (await import('mongodb')) as unknown as { MongoClient: MongoCtor };
    Client = mod.MongoClient;
  },
  definition: {
    protocol: 'db',
    defaultPort: 27017,
    createPool(member, services): MongoPool {
      if (!Client) throw new Error('the mongodb driver is not loaded');
      const host = member.host.includes(':') ? `[${member.host}]` : member.host;
      const options: MongoClientOptions = {
        maxPoolSize: (member.alias.options.maxConnections as number | undefined) ?? 10,
        maxIdleTimeMS: services.backendKeepAlive,
        serverSelectionTimeoutMS: services.defaults.connectTimeout,
        connectTimeoutMS: services.defaults.connectTimeout,
        directConnection: true,
        tls: member.ssl || undefined,
        ...(member.user !== undefined ? { auth: { username: member.user, password: member.password ?? '' } } : {}),
        ...(member.ssl && member.alias.options.tls ? (member.alias.options.tls as MongoClientOptions) : {}),
      };
      return { client: new Client(`mongodb://${host}:${member.port}/`, options), closed: false };
    },
    async closePool(pool) {
      const p = pool as MongoPool;
      p.closed = true;
      await withGrace(p.client.close());
    },
    poolStatus(pool) {
      return { closed: (pool as MongoPool).closed };
    },
  },

  async run(member, services, op, timeout) {
    if (op.kind !== 'mongo') throw new Error('mongodb runs collection operations');
    const pool = member.getPool<MongoPool>(services);
    if (pool.closed) throw failure('connect', member, new Error('the pool is closed'));
    const dbName = op.db || member.db || 'test';
    try {
      const collection = pool.client.db(dbName).collection(op.collection);
      const [a, b, c] = op.args;
      const maxTimeMS = timeout > 0 ? timeout : undefined;
      const work = (async () => {
        switch (op.op) {
          case 'find': {
            const docs = await collection
              .find(object('find', 'the filter is an object', a), {
                maxTimeMS,
                ...object('find', 'the options are an object', b),
              })
              .toArray();
            return { data: docs, rowCount: docs.length };
          }
          case 'findOne': {
            const doc = await collection.findOne(object('findOne', 'the filter is an object', a), {
              maxTimeMS,
              ...object('findOne', 'the options are an object', b),
            });
            return { data: doc === null ? [] : [doc], rowCount: doc === null ? 0 : 1 };
          }
          case 'count': {
            const n = await collection.countDocuments(object('count', 'the filter is an object', a), { maxTimeMS });
            return { data: [{ count: n }], rowCount: n };
          }
          case 'aggregate': {
            if (!Array.isArray(a)) throw codes.SKT_DB_ARGUMENT('aggregate', 'the pipeline is an array of stages', a);
            const docs = await collection
              .aggregate(a as never[], { maxTimeMS, ...object('aggregate', 'the options are an object', b) })
              .toArray();
            return { data: docs, rowCount: docs.length };
          }
          case 'insert': {
            if (Array.isArray(a)) {
              const r = await collection.insertMany(a as never[]);
              return { data: [r], rowCount: r.insertedCount, lastInsertId: Object.values(r.insertedIds) };
            }
            const r = await collection.insertOne(
              object('insert', 'a document is an object (or a list of them)', a) as never,
            );
            return { data: [r], rowCount: 1, lastInsertId: r.insertedId };
          }
          case 'update': {
            const filter = object('update', 'the filter is an object', a);
            const update = b as Record<string, unknown> | unknown[];
            if (typeof update !== 'object' || update === null)
              throw codes.SKT_DB_ARGUMENT('update', 'the update is an object or a pipeline', update);
            const opts = object('update', 'the options are an object', c) as { multi?: boolean };
            const { multi, ...rest } = opts;
            const r = multi
              ? await collection.updateMany(filter, update as never, rest)
              : await collection.updateOne(filter, update as never, rest);
            return { data: [r], rowCount: r.modifiedCount };
          }
          case 'delete': {
            const filter = object('delete', 'the filter is an object', a);
            const { multi } = object('delete', 'the options are an object', b) as { multi?: boolean };
            const r = multi ? await collection.deleteMany(filter) : await collection.deleteOne(filter);
            return { data: [r], rowCount: r.deletedCount };
          }
        }
      })();
      return { ...(await withTimeout(work, timeout, member)), command: op.op };
    } catch (err) {
      throw classify(member, err, timeout);
    }
  },
};
