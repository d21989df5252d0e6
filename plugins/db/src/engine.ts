// What each database type (postgresql, redis, sqlite3, mongodb) gives the shared call path in
// handle.ts: its alias type definition for @skitai/services, its driver, and how it runs one
// operation on one member, with its failures classified for fail-over.
import { SkitaiError } from '@skitai/kernel';
import type { AliasTypeDefinition, BackendServices, Member } from '@skitai/services';
import { codes } from './errors.js';

/** One operation, whatever the type. */
export type Operation =
  | { kind: 'sql'; sql: string; params: SqlParams }
  | { kind: 'redis'; command: string; args: readonly unknown[] }
  | { kind: 'mongo'; db: string; op: MongoOp; collection: string; args: readonly unknown[] };

export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>> | undefined;
export type MongoOp = 'find' | 'findOne' | 'insert' | 'update' | 'delete' | 'aggregate' | 'count';

/** What an operation gave. */
export interface Payload {
  /** Rows (SQL), the reply (Redis), documents or the driver's write result (MongoDB). */
  data: unknown;
  /** Rows returned or changed. */
  rowCount: number;
  /** The SQL command tag (SELECT, INSERT ...), when the driver says it. */
  command?: string;
  /** Column names of a SQL result. */
  fields?: string[];
  /** SQLite's lastInsertRowid, MongoDB's inserted ids. */
  lastInsertId?: unknown;
}

/**
 * How an operation failed: decides fail-over. 'connect': nothing reached the member (any
 * operation may go to another one); 'reset': the connection broke with the operation sent
 * (retried elsewhere only when it reads, or with `retry: true`); 'timeout'; 'query': the
 * database refused the operation itself (syntax, constraint, auth): never retried.
 */
export type DbFailureKind = 'connect' | 'reset' | 'timeout' | 'query';

export class DbCallError extends SkitaiError {
  constructor(
    readonly kind: DbFailureKind,
    err: SkitaiError,
    cause?: unknown,
  ) {
    super(err.code, err.message, err.statusCode, { cause });
    this.name = 'DbCallError';
  }
}

/** A DbCallError for a driver's error: the member's label, then the driver's own words. */
export function failure(kind: DbFailureKind, member: Member | string, err: unknown, timeoutMs = 0): DbCallError {
  if (err instanceof DbCallError) return err;
  const label = typeof member === 'string' ? member : member.label;
  const why = err instanceof Error ? err.message || err.name : String(err);
  const base =
    kind === 'timeout'
      ? codes.SKT_BACKEND_TIMEOUT(label, timeoutMs)
      : kind === 'connect'
        ? codes.SKT_BACKEND_CONNECTION(label, why)
        : codes.SKT_DB_QUERY(label, why);
  const out = new DbCallError(kind, base, err);
  // The driver's own code (SQLSTATE '42601', 'ECONNREFUSED', MongoDB's number) stays readable.
  const driverCode = (err as { code?: unknown } | undefined)?.code;
  if (driverCode !== undefined) Object.defineProperty(out, 'driverCode', { value: driverCode, enumerable: true });
  return out;
}

/** How an engine's call() answers: a DbCallError (or any error), or null and the payload. */
export type Answer = (err: unknown, payload?: Payload) => void;

/** One connection held for a transaction (SQL types). */
export interface Session {
  run(op: Operation, timeout: number): Promise<Payload>;
  /** COMMIT or ROLLBACK, then gives the connection back (destroyed when it broke). */
  end(commit: boolean, timeout: number): Promise<void>;
  /** Gives the connection back without a word to the server (after a broken connection). */
  abandon(err: unknown): void;
}

export interface Engine {
  readonly type: string;
  readonly family: 'sql' | 'redis' | 'mongodb';
  /** The npm package of the driver. */
  readonly driver: string;
  readonly definition: AliasTypeDefinition;
  /** Imports the driver (once); throws the import's error. */
  load(): Promise<void>;
  run(member: Member, services: BackendServices, op: Operation, timeout: number): Promise<Payload>;
  /**
   * The same as run() on a callback, for a driver that answers on one (no promise between the
   * driver and the call's result); `answer` is called once, with the failure or the payload.
   */
  call?(member: Member, services: BackendServices, op: Operation, timeout: number, answer: Answer): void;
  begin?(member: Member, services: BackendServices, timeout: number): Promise<Session>;
}

/** Rejects with a 'timeout' DbCallError when `promise` takes longer than `ms` (0: no limit). */
export function withTimeout<T>(promise: Promise<T>, ms: number, member: Member, onTimeout?: () => void): Promise<T> {
  if (!(ms > 0)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(failure('timeout', member, undefined, ms));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Statements that only read: safe to send again to another member after a broken connection. */
export function isReadOnly(op: Operation): boolean {
  switch (op.kind) {
    case 'sql':
      return /^\s*(?:select|show|values|explain|table)\b/i.test(op.sql);
    case 'redis':
      return READ_COMMANDS.has(op.command.toLowerCase());
    case 'mongo':
      return op.op === 'find' || op.op === 'findOne' || op.op === 'count' || op.op === 'aggregate';
  }
}

const READ_COMMANDS = new Set([
  'get',
  'mget',
  'exists',
  'ttl',
  'pttl',
  'type',
  'strlen',
  'getrange',
  'hget',
  'hmget',
  'hgetall',
  'hkeys',
  'hvals',
  'hlen',
  'hexists',
  'lrange',
  'llen',
  'lindex',
  'smembers',
  'sismember',
  'scard',
  'zrange',
  'zrangebyscore',
  'zscore',
  'zcard',
  'zrank',
  'keys',
  'scan',
  'dbsize',
  'ping',
  'echo',
  'info',
]);

/** How long closing a pool waits for calls and transactions in progress before it gives up on them. */
export const CLOSE_GRACE_MS = 10_000;

/** Waits for `closing`, at most `ms`: a transaction left open must not hold the kernel's stop forever. */
export function withGrace(closing: Promise<unknown>, ms = CLOSE_GRACE_MS): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    closing.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
