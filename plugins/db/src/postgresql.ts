// PostgreSQL members on `pg`: one pg.Pool per member, sized by the alias's maxConnections
// (default 10); idle connections are closed after the backend keep-alive and reopened on use.
import type { Pool, PoolClient, QueryResult } from 'pg';
import type { BackendServices, Member } from '@skitai/services';
import { failure, withGrace, type Answer, type Engine, type Operation, type Payload, type Session } from './engine.js';
import { clearDeadline, Timed, watchDeadline } from '@skitai/services';

type PgModule = typeof import('pg');
let pg: PgModule | undefined;

/** A member's pool, with what closing it needs to know. */
export interface PgPool {
  pool: Pool;
  closed: boolean;
}

/** A statement past its timeout (our own deadline; pg's per-query timer is not used). */
class StatementTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'StatementTimeout';
  }
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
  if (err instanceof StatementTimeout) return failure('timeout', member, err, timeout);
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
 * Sends one statement in pg's plain (text, values, callback) form: pg neither copies a config
 * object nor wraps a promise for it. Its timeout is a deadline of ours (@skitai/services'
 * watchDeadline), not pg's query_timeout, which arms a timer per query: past it `cb` gets a
 * StatementTimeout and the
 * statement's own answer, whenever it comes, is dropped. The caller then gives the connection
 * back as broken, which ends it (the statement cannot be taken back otherwise).
 */
function send(
  client: PoolClient,
  sql: string,
  params: unknown[] | undefined,
  timeout: number,
  cb: QueryCallback,
): void {
  // void: given a callback, pg returns nothing (the casts pick its promise overload's type).
  if (!(timeout > 0)) {
    void client.query(sql, params as unknown[], cb as never);
    return;
  }
  const statement = new Statement(timeout, cb);
  watchDeadline(statement, timeout);
  void client.query(
    sql,
    params as unknown[],
    ((err: Error | null, r: QueryResult | QueryResult[]) => {
      // Answered in time: the answer; after its deadline: dropped (the timeout was given).
      if (clearDeadline(statement)) cb(err, r);
    }) as never,
  );
}

/** A statement waiting for its answer, with its deadline (@skitai/services' deadlines). */
class Statement extends Timed {
  constructor(
    private readonly ms: number,
    private readonly cb: QueryCallback,
  ) {
    super();
  }

  timedOut(): void {
    this.cb(new StatementTimeout(this.ms), undefined as never);
  }
}

function query(client: PoolClient, member: Member, op: Operation, timeout: number): Promise<Payload> {
  return new Promise<Payload>((resolve, reject) => {
    let params: unknown[] | undefined;
    try {
      params = values(member, op);
    } catch (err) {
      reject(err);
      return;
    }
    send(client, (op as { sql: string }).sql, params, timeout, (err, r) => {
      if (err) reject(queryFailure(member, err, timeout));
      else resolve(payload(r));
    });
  });
}

function connect(member: Member, services: BackendServices): Promise<PoolClient> {
  const p = member.getPool<PgPool>(services);
  if (p.closed) return Promise.reject(failure('connect', member, new Error('the pool is closed')));
  return new Promise((resolve, reject) => {
    p.pool.connect((err, client) => {
      if (err || client === undefined) reject(connectFailure(member, err));
      else resolve(client);
    });
  });
}

/** One statement on a connection of the member's pool, given back (or dropped when broken) after. */
function call(member: Member, services: BackendServices, op: Operation, timeout: number, answer: Answer): void {
  const p = member.getPool<PgPool>(services);
  if (p.closed) {
    answer(failure('connect', member, new Error('the pool is closed')));
    return;
  }
  p.pool.connect((connectErr, client) => {
    if (connectErr || client === undefined) {
      answer(connectFailure(member, connectErr));
      return;
    }
    let params: unknown[] | undefined;
    try {
      params = values(member, op);
    } catch (err) {
      client.release();
      answer(err);
      return;
    }
    send(client, (op as { sql: string }).sql, params, timeout, (err, r) => {
      if (err) {
        const f = queryFailure(member, err, timeout);
        // A connection that broke or timed out (its query may still run) is not reused.
        client.release(f.kind === 'query' ? undefined : f);
        answer(f);
      } else {
        client.release();
        answer(null, payload(r));
      }
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

  call,
  run(member, services, op, timeout) {
    return new Promise<Payload>((resolve, reject) =>
      call(member, services, op, timeout, (err, payload) =>
        // call() answers with DbCallErrors (or values()'s) only.
        err ? reject(err as Error) : resolve(payload!),
      ),
    );
  },

  async begin(member, services, timeout): Promise<Session> {
    const client = await connect(member, services);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      client.release(err);
    };
    const statement = (sql: string, t: number) =>
      new Promise<void>((resolve, reject) => {
        send(client, sql, undefined, t, (err) => (err ? reject(err) : resolve()));
      });
    try {
      await statement('BEGIN', timeout);
    } catch (err) {
      const f = queryFailure(member, err, timeout);
      finish(f);
      throw f.kind === 'reset' ? failure('connect', member, err) : f;
    }
    return {
      run: (op, t) => query(client, member, op, t),
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
