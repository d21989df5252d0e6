// A database call's result: the same Result as an HTTP call of `was` (status, `data`, `ok`,
// `raiseForStatus()`, `cache(seconds)`), with the rows and the helpers of a database cursor.
import { Result, type ResultInit } from '@skitai/services';
import { codes } from './errors.js';
import type { Payload } from './engine.js';

export interface DbResultInit extends ResultInit {
  rowCount?: number;
  command?: string;
  fields?: string[];
  lastInsertId?: unknown;
}

/** A database answer has no headers: one shared empty set. */
const NO_HEADERS = Object.freeze({});

export class DbResult extends Result {
  /** Rows returned (a query) or changed (INSERT, UPDATE, DELETE; a MongoDB write). */
  readonly rowCount: number;
  /** The SQL command tag (SELECT, INSERT ...), the Redis command, or the MongoDB operation. */
  readonly command: string | undefined;
  /** Column names of a SQL query. */
  readonly fields: string[] | undefined;
  /** SQLite's last inserted row id; MongoDB's inserted id(s). */
  readonly lastInsertId: unknown;

  constructor(init: DbResultInit) {
    super(init);
    this.rowCount = init.rowCount ?? 0;
    this.command = init.command;
    this.fields = init.fields;
    this.lastInsertId = init.lastInsertId;
  }

  /** Every row (an empty list when the call failed or returned none). */
  get rows(): any[] {
    return Array.isArray(this.data) ? this.data : [];
  }

  /** Every row (Skitai's and DB-API's name). */
  fetchall(): any[] {
    return this.rows;
  }

  /** The first `n` rows. */
  fetchmany(n: number): any[] {
    return this.rows.slice(0, n);
  }

  /** The first row, or undefined. */
  fetchone(): any {
    return this.rows[0];
  }

  /** The only row: throws SKT_DB_ROWS unless the call returned exactly one (and the call's failure, if it failed). */
  one(): any {
    this.raiseForStatus();
    if (this.rows.length !== 1) throw codes.SKT_DB_ROWS(this.url, this.rows.length);
    return this.rows[0];
  }

  /** The first column of the first row, or undefined. */
  scalar(): any {
    const row = this.rows[0];
    if (row === null || typeof row !== 'object') return row;
    const key = this.fields?.[0] ?? Object.keys(row)[0];
    return key === undefined ? undefined : (row as Record<string, unknown>)[key];
  }

  static from(payload: Payload, url: string, method: string, member: string, elapsed: number): DbResult {
    return new DbResult({
      status: 'done',
      statusCode: 200,
      reason: 'OK',
      url,
      method,
      member,
      elapsed,
      headers: NO_HEADERS,
      data: payload.data,
      rowCount: payload.rowCount,
      command: payload.command,
      fields: payload.fields,
      lastInsertId: payload.lastInsertId,
    });
  }

  static failed(
    error: Error,
    url: string,
    method: string,
    member: string | undefined,
    elapsed: number,
    timeout: boolean,
  ): DbResult {
    return new DbResult({ status: timeout ? 'timeout' : 'error', url, method, member, elapsed, error });
  }
}
