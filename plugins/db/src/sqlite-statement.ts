// One SQLite statement on a better-sqlite3 connection, shared by the event-loop path
// (sqlite.ts) and the worker thread (sqlite-worker.ts). Prepared statements are kept per
// connection (up to 200, the oldest dropped first).
import type { Database, Statement } from 'better-sqlite3';
import { namedParams, toSqliteParams } from './placeholders.js';

export interface SqliteOutcome {
  data: unknown[];
  rowCount: number;
  command: string;
  fields?: string[];
  lastInsertId?: unknown;
}

const MAX_STATEMENTS = 200;
const cache = new WeakMap<Database, Map<string, Statement>>();

function prepare(db: Database, sql: string): Statement {
  let statements = cache.get(db);
  if (statements === undefined) cache.set(db, (statements = new Map()));
  let stmt = statements.get(sql);
  if (stmt === undefined) {
    stmt = db.prepare(toSqliteParams(sql));
    if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value!);
    statements.set(sql, stmt);
  }
  return stmt;
}

/** Runs one statement: rows for those that return rows, the change count for the others. */
export function runStatement(db: Database, sql: string, params: unknown): SqliteOutcome {
  const trimmed = sql.trimStart();
  const command = (/^[A-Za-z]+/.exec(trimmed)?.[0] ?? '').toUpperCase();
  let stmt: Statement;
  try {
    stmt = prepare(db, sql);
  } catch (err) {
    // Several statements in one string (a schema script): run them all, without parameters.
    if (params !== undefined || !/more than one statement/.test((err as Error).message)) throw err;
    db.exec(sql);
    return { data: [], rowCount: 0, command };
  }
  const bound = params === undefined ? [] : Array.isArray(params) ? [namedOrList(sql, params)] : [params];
  if (stmt.reader) {
    const rows = stmt.all(...bound) as unknown[];
    return { data: rows, rowCount: rows.length, command, fields: stmt.columns().map((c) => c.name) };
  }
  const info = stmt.run(...bound);
  return { data: [], rowCount: info.changes, command, lastInsertId: info.lastInsertRowid };
}

/** `$n` statements take the list by name (`@pN`); `?` statements take it as it is. */
function namedOrList(sql: string, values: unknown[]): unknown {
  return toSqliteParams(sql) === sql ? values : namedParams(values);
}
