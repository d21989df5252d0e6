// @skitai/db: PostgreSQL, Redis, SQLite and MongoDB backends of `was`, as aliases of
// @skitai/services (`.lb`, `.map`, fail-over, the result cache).
export { db, NAME, VERSION } from './plugin.js';
export { DbClient, Transaction, type DbOptions } from './handle.js';
export { DbResult, type DbResultInit } from './result.js';
export {
  DbCallError,
  type DbFailureKind,
  type Engine,
  type Operation,
  type Payload,
  type SqlParams,
} from './engine.js';
export { ENGINES } from './engines.js';
export { dbCallers, WAS_MEMBERS, type DbCaller, type MongoCaller } from './was-members.js';
export { toSqliteParams } from './placeholders.js';
export { codes as dbCodes } from './errors.js';
