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
  /** The pool's query timeout (ms, 0 for none): the services' default call timeout. */
  timeout: number;
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
  if (isServerError(err))
    return failure(UNAVAILABLE.has((err as { code: string }).code) ? 'reset' : 'query', member, err);
  return failure('reset', member, err);
}

function payload(r: QueryResult | QueryResult[]): Payload {
  // Several statements in one string (no parameters) give one result each: the last one counts.
  const last = Array.isArray(r) ? r[r.length - 1]! : r;
  return {
    data: last.rows,
    rowCount: last.rowCount ?? last.rows.length,
    command: last.command,
    fields: last.fields?.map((f) => f.name),
  };
}

/** The parameter list of a SQL operation, or a failure when it is not a list. */
function values(member: Member, op: Operation): unknown[] | undefined {
  if (op.kind !== 'sql') throw new Error('postgresql runs SQL');
  if (op.params === undefined) return undefined;
  if (Array.isArray(op.params)) return op.params as unknown[];
  throw failure('query', member, new Error('PostgreSQL takes its parameters as a list for $1, $2 ...'));
}

type QueryCallback = (err: Error | null, result: QueryResult | QueryResult[]) => void;

/**
 * Sends one statement. At the pool's own timeout (the services' default, set as the pool's
 * query_timeout) the plain (text, values, callback) form is used: pg neither copies a config
 * object nor wraps a promise for it, which is most of what a query costs on our side.
 */
function send(
  p: PgPool,
  client: PoolClient,
  sql: string,
  params: unknown[] | undefined,
  timeout: number,
  cb: QueryCallback,
): void {
  // void: given a callback, pg returns nothing (the casts pick its promise overload's type).
  if (timeout === p.timeout) void client.query(sql, params as unknown[], cb as never);
  else
    void client.query(
      { text: sql, values: params, query_timeout: timeout > 0 ? timeout : undefined } as never,
      cb as never,
    );
}

function query(p: PgPool, client: PoolClient, member: Member, op: Operation, timeout: number): Promise<Payload> {
  return new Promise<Payload>((resolve, reject) => {
    let params: unknown[] | undefined;
    try {
      params = values(member, op);
    } catch (err) {
      reject(err);
      return;
    }
    send(p, client, (op as { sql: string }).sql, params, timeout, (err, r) => {
      if (err) reject(queryFailure(member, err, timeout));
      else resolve(payload(r));
    });
  });
}

function connect(member: Member, services: BackendServices): Promise<{ p: PgPool; client: PoolClient }> {
  const p = member.getPool<PgPool>(services);
  if (p.closed) return Promise.reject(failure('connect', member, new Error('the pool is closed')));
  return new Promise((resolve, reject) => {
    p.pool.connect((err, client) => {
      if (err || client === undefined) reject(connectFailure(member, err));
      else resolve({ p, client });
    });
  });
}

export const postgresql: Engine = {
  type: 'postgresql',
  family: 'sql',
  driver: 'pg',
  async load() {
    if (pg) return;
    const mod = (await import('pg')) as PgModule & { default?: PgModule };
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
        query_timeout: services.defaults.timeout > 0 ? services.defaults.timeout : undefined,
        ssl: member.ssl ? ((options.tls ?? true) as never) : undefined,
      });
      // An idle connection that breaks (server restart, network) is dropped by the pool; the
      // next call opens a new one. Without a listener the error would end the process.
      pool.on('error', (err) => {
        member.lastError = err.message;
      });
      // The same for a connection checked out between two queries (the pool listens only to idle ones).
      pool.on('connect', (client) =>
        client.on('error', (err) => {
          member.lastError = err.message;
        }),
      );
      return { pool, closed: false, timeout: services.defaults.timeout > 0 ? services.defaults.timeout : 0 };
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

  // One promise per query, callbacks inside: the checkout, the statement and the release.
  run(member, services, op, timeout) {
    const p = member.getPool<PgPool>(services);
    if (p.closed) return Promise.reject(failure('connect', member, new Error('the pool is closed')));
    return new Promise<Payload>((resolve, reject) => {
      p.pool.connect((connectErr, client) => {
        if (connectErr || client === undefined) {
          reject(connectFailure(member, connectErr));
          return;
        }
        let params: unknown[] | undefined;
        try {
          params = values(member, op);
        } catch (err) {
          client.release();
          reject(err);
          return;
        }
        send(p, client, (op as { sql: string }).sql, params, timeout, (err, r) => {
          if (err) {
            const f = queryFailure(member, err, timeout);
            // A connection that broke or timed out (its query may still run) is not reused.
            client.release(f.kind === 'query' ? undefined : f);
            reject(f);
          } else {
            client.release();
            resolve(payload(r));
          }
        });
      });
    });
  },

  async begin(member, services, timeout): Promise<Session> {
    const { p, client } = await connect(member, services);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      client.release(err);
    };
    const statement = (sql: string, t: number) =>
      new Promise<void>((resolve, reject) => {
        send(p, client, sql, undefined, t, (err) => (err ? reject(err) : resolve()));
      });
    try {
      await statement('BEGIN', timeout);
    } catch (err) {
      const f = queryFailure(member, err, timeout);
      finish(f);
      throw f.kind === 'reset' ? failure('connect', member, err) : f;
    }
    return {
      run: (op, t) => query(p, client, member, op, t),
      async end(commit, t) {
        try {
          await statement(commit ? 'COMMIT' : 'ROLLBACK', t);
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
