// SQLite members on better-sqlite3: a member is a file path (or ':memory:') with one
// connection. better-sqlite3 is synchronous: by default a statement runs on the event loop
// (fast for small queries, but nothing else runs meanwhile); with the alias option
// `{ worker: true }` the member's connection lives in a worker thread and the event loop only
// passes messages. Calls on a member run one at a time; a transaction holds the member.
import { Worker } from 'node:worker_threads';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { parsePathMember, type BackendServices, type Member } from '@skitai/services';
import { failure, withGrace, type Engine, type Operation, type Payload, type Session } from './engine.js';
import { Lock } from './lock.js';
import { runStatement, type SqliteOutcome } from './sqlite-statement.js';

type SqliteCtor = new (path: string) => SqliteDatabase;
let Database: SqliteCtor | undefined;

interface WorkerConn {
  worker: Worker;
  pending: Map<number, { resolve: (v: SqliteOutcome) => void; reject: (e: unknown) => void }>;
  nextId: number;
}

export interface SqlitePool {
  path: string;
  useWorker: boolean;
  lock: Lock;
  db: SqliteDatabase | undefined;
  conn: WorkerConn | undefined;
  closed: boolean;
}

const WORKER_URL = new URL('./sqlite-worker.js', import.meta.url);

function startWorker(pool: SqlitePool): WorkerConn {
  const conn: WorkerConn = {
    worker: new Worker(WORKER_URL, { workerData: { path: pool.path } }),
    pending: new Map(),
    nextId: 0,
  };
  const failAll = (err: unknown) => {
    for (const p of conn.pending.values()) p.reject(err);
    conn.pending.clear();
    if (pool.conn === conn) pool.conn = undefined;
  };
  conn.worker.on(
    'message',
    (m: SqliteOutcome & { id: number; error?: { message: string; code?: string }; open?: boolean }) => {
      const p = conn.pending.get(m.id);
      if (p === undefined) return;
      conn.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code, open: m.open }));
      else p.resolve(m);
    },
  );
  conn.worker.on('error', (err) => failAll(Object.assign(err, { broken: true })));
  conn.worker.on('exit', () => failAll(Object.assign(new Error('the SQLite worker thread exited'), { broken: true })));
  // Idle workers do not keep the process alive.
  conn.worker.unref();
  return conn;
}

function inWorker(
  pool: SqlitePool,
  member: Member,
  sql: string,
  params: unknown,
  timeout: number,
): Promise<SqliteOutcome> {
  const conn = (pool.conn ??= startWorker(pool));
  const id = ++conn.nextId;
  return new Promise<SqliteOutcome>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
    };
    conn.pending.set(id, {
      resolve: (v) => {
        done();
        resolve(v);
      },
      reject: (e) => {
        done();
        reject(e);
      },
    });
    if (timeout > 0) {
      timer = setTimeout(() => {
        // A statement cannot be interrupted from outside: the thread goes, a new one opens on the next call.
        conn.pending.delete(id);
        if (pool.conn === conn) pool.conn = undefined;
        void conn.worker.terminate();
        reject(failure('timeout', member, undefined, timeout));
      }, timeout);
    }
    conn.worker.postMessage({ id, sql, params });
  });
}

function classify(member: Member, err: unknown, timeout: number) {
  if (err instanceof Error && 'kind' in err) return err;
  const e = err as { code?: string; open?: boolean; broken?: boolean };
  if (e?.open || e?.code === 'SQLITE_CANTOPEN' || e?.code === 'SQLITE_NOTADB') return failure('connect', member, err);
  if (e?.broken) return failure('reset', member, err, timeout);
  return failure('query', member, err);
}

async function execute(pool: SqlitePool, member: Member, op: Operation, timeout: number): Promise<Payload> {
  if (op.kind !== 'sql') throw new Error('sqlite3 runs SQL');
  if (pool.closed) throw failure('connect', member, new Error('the pool is closed'));
  if (pool.useWorker) return inWorker(pool, member, op.sql, op.params, timeout);
  if (pool.db === undefined) {
    try {
      pool.db = new Database!(pool.path);
    } catch (err) {
      throw failure('connect', member, err);
    }
  }
  return runStatement(pool.db, op.sql, op.params);
}

export const sqlite3: Engine = {
  type: 'sqlite3',
  family: 'sql',
  driver: 'better-sqlite3',
  async load() {
    if (Database) return;
    const mod = (await import('better-sqlite3')) as unknown as { default: SqliteCtor };
    Database = mod.default;
  },
  definition: {
    protocol: 'db',
    parseMember: (text) => parsePathMember(text),
    createPool(member): SqlitePool {
      if (!Database) throw new Error('the better-sqlite3 driver is not loaded');
      return {
        path: member.db,
        useWorker: member.alias.options.worker === true,
        lock: new Lock(),
        db: undefined,
        conn: undefined,
        closed: false,
      };
    },
    async closePool(pool) {
      const p = pool as SqlitePool;
      p.closed = true;
      // Waits for the statement or transaction in progress, within the grace; closing the
      // connection then rolls back a transaction left open.
      let acquired = false;
      await withGrace(
        p.lock.acquire().then(() => {
          acquired = true;
        }),
      );
      try {
        p.db?.close();
        p.db = undefined;
        if (p.conn) await p.conn.worker.terminate();
        p.conn = undefined;
      } finally {
        if (acquired) p.lock.release();
      }
    },
    poolStatus(pool) {
      const p = pool as SqlitePool;
      return { worker: p.useWorker, open: p.db !== undefined || p.conn !== undefined, waiting: p.lock.waiting };
    },
  },

  async run(member, services, op, timeout) {
    const pool = member.getPool<SqlitePool>(services);
    if (!pool.lock.tryAcquire()) await pool.lock.acquire();
    try {
      return await execute(pool, member, op, timeout);
    } catch (err) {
      throw classify(member, err, timeout);
    } finally {
      pool.lock.release();
    }
  },

  async begin(member: Member, services: BackendServices, timeout: number): Promise<Session> {
    const pool = member.getPool<SqlitePool>(services);
    await pool.lock.acquire();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      pool.lock.release();
    };
    try {
      await execute(pool, member, { kind: 'sql', sql: 'BEGIN', params: undefined }, timeout);
    } catch (err) {
      release();
      throw classify(member, err, timeout);
    }
    return {
      async run(op, t) {
        try {
          return await execute(pool, member, op, t);
        } catch (err) {
          throw classify(member, err, t);
        }
      },
      async end(commit, t) {
        try {
          await execute(pool, member, { kind: 'sql', sql: commit ? 'COMMIT' : 'ROLLBACK', params: undefined }, t);
        } catch (err) {
          // A failed COMMIT leaves the transaction open on this connection: end it before others use it.
          if (commit)
            await execute(pool, member, { kind: 'sql', sql: 'ROLLBACK', params: undefined }, t).catch(() => undefined);
          throw classify(member, err, t);
        } finally {
          release();
        }
      },
      abandon() {
        // The worker (if any) was replaced, or the statement failed: roll back what is left, then free the member.
        if (pool.db?.inTransaction) {
          try {
            pool.db.exec('ROLLBACK');
          } catch {
            /* already ended */
          }
        }
        release();
      },
    };
  },
};
