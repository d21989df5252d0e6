// PostgreSQL members on `pg`: one pg.Pool per member, sized by the alias's maxConnections
// (default 10); idle connections are closed after the backend keep-alive and reopened on use.
import type { Pool, PoolClient, QueryResult } from 'pg';
import type { BackendServices, Member } from '@skitai/services';
import { failure, withGrace, type Engine, type Operation, type Payload, type Session } from './engine.js';

type PgModule = typeof import('pg');
let pg: PgModule | undefined;

/** A member's pool, with what closing it needs to know. */
export interface PgPool {
  pool: Pool;
  closed: boolean;
}

// Errors from the server that say the member cannot serve now (starting, shutting down, full).
const UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);

function isServerError(err: unknown): boolean {
  // pg's DatabaseError carries a five-character SQLSTATE and a severity.
  const e = err as { code?: unknown; severity?: unknown };
  return typeof e?.code === 'string' && e.code.length === 5 && typeof e.severity === 'string';
}

/** A failure while getting a connection: the member is unreachable, unless the server refused us. */
function connectFailure(member: Member, err: unknown) {
  if (isServerError(err) && !UNAVAILABLE.has((err as { code: string }).code)) return failure('query', member, err);
  return failure('connect', member, err);
}

function queryFailure(member: Member, err: unknown, timeout: number) {
  if ((err as Error)?.message === 'Query read timeout') return failure('timeout', member, err, timeout);
  if (isServerError(err)) return failure(UNAVAILABLE.has((err as { code: string }).code) ? 'reset' : 'query', member, err);
  return failure('reset', member, err);
}

function payload(r: QueryResult | QueryResult[]): Payload {
  // Several statements in one string (no parameters) give one result each: the last one counts.
  const last = Array.isArray(r) ? r[r.length - 1]! : r;
  return { data: last.rows, rowCount: last.rowCount ?? last.rows.length, command: last.command, fields: last.fields?.map((f) => f.name) };
}

async function query(client: PoolClient, member: Member, op: Operation, timeout: number): Promise<Payload> {
  if (op.kind !== 'sql') throw new Error('postgresql runs SQL');
  const values = op.params === undefined ? undefined : Array.isArray(op.params) ? op.params as unknown[] : undefined;
  if (op.params !== undefined && values === undefined) {
    throw failure('query', member, new Error('PostgreSQL takes its parameters as a list for $1, $2 ...'));
  }
  return payload(await client.query({ text: op.sql, values, query_timeout: timeout > 0 ? timeout : undefined } as never));
}

async function connect(member: Member, services: BackendServices): Promise<PoolClient> {
  const p = member.getPool<PgPool>(services);
  if (p.closed) throw failure('connect', member, new Error('the pool is closed'));
  try {
    return await p.pool.connect();
  } catch (err) {
    throw connectFailure(member, err);
  }
}

export const postgresql: Engine = {
  type: 'postgresql',
  family: 'sql',
  driver: 'pg',
  async load() {
    if (pg) return;
    const mod = await import('pg') as PgModule & { default?: PgModule };
    pg = mod.default ?? mod;
  },
  definition: {
    protocol: 'db',
    defaultPort: 5432,
    createPool(member, services): PgPool {
      if (!pg) throw new Error('the pg driver is not loaded');
      const options = member.alias.options;
      const pool = new pg.Pool({
        host: member.host,
        port: member.port,
        user: member.user,
        password: member.password,
        database: member.db || undefined,
        max: (options.maxConnections as number | undefined) ?? 10,
        idleTimeoutMillis: services.backendKeepAlive,
        connectionTimeoutMillis: services.defaults.connectTimeout,
        ssl: member.ssl ? (options.tls ?? true) as never : undefined,
      });
      // An idle connection that breaks (server restart, network) is dropped by the pool; the
      // next call opens a new one. Without a listener the error would end the process.
      pool.on('error', (err) => { member.lastError = err.message; });
      // The same for a connection checked out between two queries (the pool listens only to idle ones).
      pool.on('connect', (client) => client.on('error', (err) => { member.lastError = err.message; }));
      return { pool, closed: false };
    },
    async closePool(pool) {
      const p = pool as PgPool;
      if (p.closed) return;
      p.closed = true;
      // Waits for the connections checked out (calls, transactions) to come back, within the grace.
      await withGrace(p.pool.end());
    },
    poolStatus(pool) {
      const p = (pool as PgPool).pool;
      return { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
    },
  },

  async run(member, services, op, timeout) {
    const client = await connect(member, services);
    try {
      const result = await query(client, member, op, timeout);
      client.release();
      return result;
    } catch (err) {
      const f = err instanceof Error && 'kind' in err ? err as ReturnType<typeof failure> : queryFailure(member, err, timeout);
      // A connection that broke or timed out (its query may still run) is not reused.
      client.release(f.kind === 'query' ? undefined : f);
      throw f;
    }
  },

  async begin(member, services, timeout): Promise<Session> {
    const client = await connect(member, services);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      client.release(err);
    };
    try {
      await client.query({ text: 'BEGIN', query_timeout: timeout > 0 ? timeout : undefined } as never);
    } catch (err) {
      const f = queryFailure(member, err, timeout);
      finish(f);
      throw f.kind === 'reset' ? failure('connect', member, err) : f;
    }
    return {
      async run(op, t) {
        try {
          return await query(client, member, op, t);
        } catch (err) {
          throw err instanceof Error && 'kind' in err ? err : queryFailure(member, err, t);
        }
      },
      async end(commit, t) {
        try {
          await client.query({ text: commit ? 'COMMIT' : 'ROLLBACK', query_timeout: t > 0 ? t : undefined } as never);
          finish();
        } catch (err) {
          const f = queryFailure(member, err, t);
          finish(f.kind === 'query' ? undefined : f);
          throw f;
        }
      },
      abandon(err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      },
    };
  },
};
