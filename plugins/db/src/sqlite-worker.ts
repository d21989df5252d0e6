// The worker thread of a SQLite member opened with `{ worker: true }`: it owns the member's
// better-sqlite3 connection, so a slow statement blocks this thread, not the event loop.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { runStatement } from './sqlite-statement.js';

interface Call {
  id: number;
  sql: string;
  params: unknown;
}

const port = parentPort!;
const { path } = workerData as { path: string };
let db: Database.Database | undefined;
let openError: { message: string; code?: string } | undefined;
try {
  db = new Database(path);
} catch (err) {
  openError = { message: (err as Error).message, code: (err as { code?: string }).code };
}

port.on('message', (call: Call) => {
  if (db === undefined) {
    port.postMessage({ id: call.id, error: openError, open: true });
    return;
  }
  try {
    const out = runStatement(db, call.sql, call.params);
    port.postMessage({
      id: call.id,
      ...out,
      lastInsertId: typeof out.lastInsertId === 'bigint' ? Number(out.lastInsertId) : out.lastInsertId,
    });
  } catch (err) {
    port.postMessage({
      id: call.id,
      error: { message: (err as Error).message, code: (err as { code?: string }).code },
    });
  }
});

port.on('close', () => db?.close());
