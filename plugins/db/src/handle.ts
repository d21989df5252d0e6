// The object `was.backend('@db')` returns (Skitai's "dbo"): execute() for SQL and Redis, the
// MongoDB collection operations, transactions. Every call resolves to a DbResult (a Results
// of them for `.map`); failures are results too — a SQL error, a refused connection, a
// timeout — unless `raise: true`.
import { performance } from 'node:perf_hooks';
import { cachedResult, Results, type BackendServices, type CacheSlot, type Member } from '@skitai/services';
import { codes } from './errors.js';
import {
  DbCallError,
  isReadOnly,
  type Answer,
  type Engine,
  type MongoOp,
  type Operation,
  type Payload,
  type Session,
  type SqlParams,
} from './engine.js';
import { DbResult } from './result.js';
import type { Target } from './targets.js';
import { Buffer } from 'node:buffer';

export interface DbOptions {
  /** Read the result cache: true (default), false, or a last-updated time (`was.getlu(...)`): older entries are dropped. */
  useCache?: boolean | number;
  /** For the whole call, ms (default: the services' timeout, 10 s). Past it the result's status is 'timeout'. */
  timeout?: number;
  /** Throw the failure instead of resolving with a failed result. */
  raise?: boolean;
  /** Send a writing statement again to another member when its connection broke mid-call (reads always are). */
  retry?: boolean;
}

export type Mode = 'one' | 'map';

function safeJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('base64') : v,
  );
}

function retryable(kind: 'any' | 'connect') {
  return (err: unknown) =>
    err instanceof DbCallError && (err.kind === 'connect' || (kind === 'any' && err.kind === 'reset'));
}
const ON_CONNECT = retryable('connect');
const ON_CONNECT_OR_RESET = retryable('any');

/** An engine's run() promise on a callback. */
function runAsCall(
  engine: Engine,
  member: Member,
  services: BackendServices,
  op: Operation,
  timeout: number,
  answer: Answer,
): void {
  engine.run(member, services, op, timeout).then(
    (payload) => answer(null, payload),
    (err: unknown) => answer(err ?? new Error('the call failed without a reason')),
  );
}

/** The calls on one target: `was.backend('@db')`, `was.backend.map('@db')`. */
export class DbClient<R extends DbResult | Results = DbResult> {
  constructor(
    private readonly services: BackendServices,
    private readonly target: Target | Error,
    private readonly mode: Mode,
    private readonly options: DbOptions,
    private readonly database = '',
  ) {}

  /** SQL: `execute('SELECT * FROM t WHERE id = $1', [id])`. Redis: `execute('SET', ['k', 'v'])`. */
  execute(statement: string, params?: SqlParams, options?: DbOptions): Promise<R> {
    if (this.target instanceof Error) return this.refuse('execute', this.target, options);
    const family = this.target.engine.family;
    if (family === 'redis') return this.redis(statement, params, options);
    if (typeof statement !== 'string' || statement.trim() === '')
      return this.refuse(
        'execute',
        codes.SKT_DB_ARGUMENT('execute', 'the statement is a non-empty string', statement),
        options,
      );
    if (params !== undefined && (typeof params !== 'object' || params === null)) {
      return this.refuse(
        'execute',
        codes.SKT_DB_ARGUMENT('execute', 'parameters are a list ($1, $2 ...) or, on SQLite, an object', params),
        options,
      );
    }
    if (family === 'mongodb')
      return this.refuse(
        'execute',
        codes.SKT_DB_OPERATION('mongodb', 'execute()', 'use find, findOne, insert, update, delete or aggregate'),
        options,
      );
    return this.call('execute', { kind: 'sql', sql: statement, params }, options);
  }

  /** Redis: `command('HSET', 'user:1', 'name', 'Ann')`. */
  command(name: string, ...args: unknown[]): Promise<R> {
    return this.redis(name, args, undefined);
  }

  find(collection: string, filter?: object, options?: object): Promise<R> {
    return this.mongo('find', collection, [filter, options]);
  }
  findOne(collection: string, filter?: object, options?: object): Promise<R> {
    return this.mongo('findOne', collection, [filter, options]);
  }
  /** Skitai's spelling of findOne. */
  findone(collection: string, filter?: object, options?: object): Promise<R> {
    return this.mongo('findOne', collection, [filter, options]);
  }
  count(collection: string, filter?: object): Promise<R> {
    return this.mongo('count', collection, [filter]);
  }
  /** One document, or a list of them. */
  insert(collection: string, documents: object | object[]): Promise<R> {
    return this.mongo('insert', collection, [documents]);
  }
  /** `{ multi: true }` updates every match (else the first). */
  update(
    collection: string,
    filter: object,
    update: object,
    options?: { multi?: boolean; upsert?: boolean },
  ): Promise<R> {
    return this.mongo('update', collection, [filter, update, options]);
  }
  /** `{ multi: true }` deletes every match (else the first). */
  delete(collection: string, filter: object, options?: { multi?: boolean }): Promise<R> {
    return this.mongo('delete', collection, [filter, options]);
  }
  aggregate(collection: string, pipeline: object[], options?: object): Promise<R> {
    return this.mongo('aggregate', collection, [pipeline, options]);
  }

  /**
   * Opens a transaction on one member's connection (SQL types): its statements run there until
   * `commit()` or `rollback()`. A statement that fails rolls it back and gives the connection back.
   */
  async begin(options?: DbOptions): Promise<Transaction> {
    const o = options ? { ...this.options, ...options } : this.options;
    const t = this.target;
    if (t instanceof Error) return Transaction.failed(t, '?', o);
    const refuse =
      this.mode === 'map'
        ? 'a transaction runs on one member, not on .map'
        : t.engine.begin === undefined
          ? `${t.alias.type} has no transactions here`
          : undefined;
    if (refuse) return Transaction.failed(codes.SKT_DB_TRANSACTION(t.name, refuse), t.name, o);
    const timeout = o.timeout ?? this.services.defaults.timeout;
    let member: Member | undefined;
    try {
      if (t.loading) await t.loading;
      const session = await t.alias.lb(
        (m) => {
          member = m;
          return t.engine.begin!(m, this.services, timeout);
        },
        { isConnectionError: ON_CONNECT },
      );
      return new Transaction(session, t.name, member!.label, o, timeout);
    } catch (err) {
      const tx = Transaction.failed(err as Error, t.name, o, member?.label);
      if (o.raise) throw err;
      return tx;
    }
  }

  /**
   * Runs `fn` in a transaction: committed when it returns (the result's `data` is what it
   * returned), rolled back when it throws or one of its statements failed (an error result).
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: DbOptions): Promise<DbResult> {
    const o = options ? { ...this.options, ...options } : this.options;
    const tx = await this.begin({ ...o, raise: false });
    let out: DbResult;
    if (!tx.open) {
      out = tx.failure('BEGIN');
    } else {
      let value: T | undefined;
      let thrown: unknown;
      try {
        value = await fn(tx);
      } catch (err) {
        thrown = err;
      }
      if (thrown !== undefined) {
        await tx.rollback();
        out = DbResult.failed(
          thrown instanceof Error ? thrown : new Error(String(thrown)),
          tx.target,
          'transaction',
          tx.member,
          tx.elapsed,
          false,
        );
      } else if (!tx.open) {
        out = tx.failure('COMMIT');
      } else {
        const committed = await tx.commit();
        out = committed.ok
          ? new DbResult({
              status: 'done',
              statusCode: 200,
              reason: 'OK',
              url: tx.target,
              method: 'transaction',
              member: tx.member,
              elapsed: tx.elapsed,
              data: value,
              command: 'COMMIT',
            })
          : committed;
      }
    }
    if (o.raise) out.raiseForStatus();
    return out;
  }

  // ---- the call ------------------------------------------------------------------------

  private redis(command: unknown, args: unknown, options: DbOptions | undefined): Promise<R> {
    if (this.target instanceof Error) return this.refuse(String(command), this.target, options);
    if (this.target.engine.family !== 'redis') {
      return this.refuse(
        'command',
        codes.SKT_DB_OPERATION(this.target.alias.type, 'command()', 'Redis commands go to a redis alias'),
        options,
      );
    }
    if (typeof command !== 'string' || !/^[A-Za-z][A-Za-z0-9_.|-]*$/.test(command)) {
      return this.refuse(
        'command',
        codes.SKT_DB_ARGUMENT('redis', 'a command is a word such as "GET"', command),
        options,
      );
    }
    if (args !== undefined && !Array.isArray(args))
      return this.refuse(command, codes.SKT_DB_ARGUMENT(command, 'Redis arguments are a list', args), options);
    return this.call(
      command.toUpperCase(),
      { kind: 'redis', command, args: (args as unknown[] | undefined) ?? [] },
      options,
    );
  }

  private mongo(op: MongoOp, collection: unknown, args: unknown[]): Promise<R> {
    if (this.target instanceof Error) return this.refuse(op, this.target, undefined);
    if (this.target.engine.family !== 'mongodb') {
      return this.refuse(
        op,
        codes.SKT_DB_OPERATION(this.target.alias.type, `${op}()`, 'it is a MongoDB operation'),
        undefined,
      );
    }
    if (typeof collection !== 'string' || collection === '')
      return this.refuse(op, codes.SKT_DB_ARGUMENT(op, 'the collection is a non-empty string', collection), undefined);
    return this.call(op, { kind: 'mongo', db: this.database, op, collection, args }, undefined);
  }

  /** A failed result without a call (bad arguments, a bad target). */
  private refuse(method: string, err: Error, options: DbOptions | undefined): Promise<R> {
    if ((options ?? this.options).raise) return Promise.reject(err);
    const url = this.target instanceof Error ? '?' : this.target.name;
    const r = DbResult.failed(err, url, method, undefined, 0, false);
    return Promise.resolve((this.mode === 'map' ? Results.wrap([r]) : r) as R);
  }

  private call(method: string, op: Operation, options: DbOptions | undefined): Promise<R> {
    const o = options ? { ...this.options, ...options } : this.options;
    const t = this.target as Target;
    const mode = this.mode;
    const result = cachedResult(
      this.services,
      () => `db ${mode} ${t.alias.type} ${t.name} ${this.database} ${method}\n${safeJson(op)}`,
      o.useCache,
      (slot) => (mode === 'map' ? this.map(t, method, op, o, slot) : this.one(t, method, op, o, slot)) as Promise<R>,
    );
    return o.raise
      ? result.then((r) => {
          r.raiseForStatus();
          return r;
        })
      : result;
  }

  /**
   * One member picked by load, fail-over on connection failures: one promise for the whole
   * call, resolved with the result from the driver's callback (an engine without call() runs
   * through its run() promise).
   */
  private one(t: Target, method: string, op: Operation, o: DbOptions, slot: CacheSlot): Promise<DbResult> {
    if (t.loading)
      return t.loading.then(
        () => this.one(t, method, op, o, slot),
        (err: unknown) => DbResult.failed(err as Error, t.name, method, undefined, 0, false),
      );
    const started = performance.now();
    const timeout = o.timeout ?? this.services.defaults.timeout;
    const services = this.services;
    const engine = t.engine;
    return new Promise<DbResult>((resolve) => {
      t.alias.lbCall<Payload>(
        engine.call === undefined
          ? (m, answer) => runAsCall(engine, m, services, op, timeout, answer)
          : (m, answer) => engine.call!(m, services, op, timeout, answer),
        {
          // Whether the statement only reads is asked only when a connection broke.
          isConnectionError: (err) =>
            err instanceof DbCallError &&
            (err.kind === 'connect' || (err.kind === 'reset' && (o.retry === true || isReadOnly(op)))),
        },
        (err, payload, member) => {
          const elapsed = performance.now() - started;
          const r =
            err === undefined
              ? DbResult.from(payload!, t.name, method, member!.label, elapsed)
              : DbResult.failed(
                  err instanceof Error ? err : new Error(String(err)),
                  t.name,
                  method,
                  member?.label,
                  elapsed,
                  err instanceof DbCallError && err.kind === 'timeout',
                );
          r.slot = slot;
          resolve(r);
        },
      );
    });
  }

  private async map(t: Target, method: string, op: Operation, o: DbOptions, slot: CacheSlot): Promise<Results> {
    const started = performance.now();
    const timeout = o.timeout ?? this.services.defaults.timeout;
    try {
      if (t.loading) await t.loading;
    } catch (err) {
      const failed = Results.wrap([DbResult.failed(err as Error, t.name, method, undefined, 0, false)]);
      failed.slot = slot;
      return failed;
    }
    const settled = await t.alias.map((m) => t.engine.run(m, this.services, op, timeout), {
      isConnectionError: ON_CONNECT_OR_RESET,
    });
    const members = t.alias.members;
    const results = Results.wrap(
      settled.map((s, i) => {
        const label = members[i]!.label;
        if (s.status === 'fulfilled') return DbResult.from(s.value, t.name, method, label, performance.now() - started);
        const err = s.reason instanceof Error ? s.reason : new Error(String(s.reason));
        return DbResult.failed(
          err,
          t.name,
          method,
          label,
          performance.now() - started,
          err instanceof DbCallError && err.kind === 'timeout',
        );
      }),
    );
    results.slot = slot;
    return results;
  }
}

/** A transaction on one connection: `execute`, then `commit()` or `rollback()`. */
export class Transaction {
  private state: 'open' | 'committed' | 'rolled back' | 'failed' = 'open';
  private readonly started = performance.now();
  /** Why the transaction ended without a commit (a statement that failed, or BEGIN itself). */
  error: Error | undefined;

  constructor(
    private readonly session: Session | undefined,
    readonly target: string,
    readonly member: string | undefined,
    private readonly options: DbOptions,
    private readonly timeout: number,
  ) {}

  static failed(err: Error, target: string, options: DbOptions, member?: string): Transaction {
    const tx = new Transaction(undefined, target, member, options, 0);
    tx.state = 'failed';
    tx.error = err;
    return tx;
  }

  /** Until commit, rollback, or a failure. */
  get open(): boolean {
    return this.state === 'open';
  }

  get elapsed(): number {
    return performance.now() - this.started;
  }

  /** The failed result a call on an ended transaction gets. */
  failure(method: string): DbResult {
    const err =
      this.state === 'failed' && this.error
        ? this.error
        : codes.SKT_DB_TRANSACTION(this.target, `it is already ${this.state}`);
    return DbResult.failed(err, this.target, method, this.member, 0, false);
  }

  async execute(sql: string, params?: SqlParams, options?: DbOptions): Promise<DbResult> {
    const o = options ? { ...this.options, ...options } : this.options;
    let result: DbResult;
    if (!this.open) {
      result = this.failure('execute');
    } else if (typeof sql !== 'string' || sql.trim() === '') {
      result = DbResult.failed(
        codes.SKT_DB_ARGUMENT('execute', 'the statement is a non-empty string', sql),
        this.target,
        'execute',
        this.member,
        0,
        false,
      );
    } else {
      const started = performance.now();
      try {
        const payload = await this.session!.run({ kind: 'sql', sql, params }, o.timeout ?? this.timeout);
        result = DbResult.from(payload, this.target, 'execute', this.member ?? '', performance.now() - started);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        await this.abort(error);
        result = DbResult.failed(
          error,
          this.target,
          'execute',
          this.member,
          performance.now() - started,
          err instanceof DbCallError && err.kind === 'timeout',
        );
      }
    }
    if (o.raise) result.raiseForStatus();
    return result;
  }

  async commit(): Promise<DbResult> {
    return this.end(true);
  }

  async rollback(): Promise<DbResult> {
    return this.end(false);
  }

  private async end(commit: boolean): Promise<DbResult> {
    const method = commit ? 'COMMIT' : 'ROLLBACK';
    let result: DbResult;
    if (!this.open) {
      // Rolling back what a failure already rolled back is fine.
      result =
        !commit && this.state !== 'committed'
          ? new DbResult({
              status: 'done',
              statusCode: 200,
              reason: 'OK',
              url: this.target,
              method,
              member: this.member,
              command: method,
            })
          : this.failure(method);
    } else {
      const started = performance.now();
      try {
        await this.session!.end(commit, this.timeout);
        this.state = commit ? 'committed' : 'rolled back';
        result = new DbResult({
          status: 'done',
          statusCode: 200,
          reason: 'OK',
          url: this.target,
          method,
          member: this.member,
          command: method,
          elapsed: performance.now() - started,
        });
      } catch (err) {
        this.state = 'failed';
        this.error = err instanceof Error ? err : new Error(String(err));
        result = DbResult.failed(
          this.error,
          this.target,
          method,
          this.member,
          performance.now() - started,
          err instanceof DbCallError && err.kind === 'timeout',
        );
      }
    }
    if (this.options.raise) result.raiseForStatus();
    return result;
  }

  /** A statement failed: roll back (or drop a broken connection) and give the connection back. */
  private async abort(error: Error): Promise<void> {
    this.state = 'failed';
    this.error = error;
    if (error instanceof DbCallError && error.kind === 'query') {
      await this.session!.end(false, this.timeout).catch((err: unknown) => this.session!.abandon(err));
    } else {
      this.session!.abandon(error);
    }
  }
}
